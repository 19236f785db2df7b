//! The recorder end to end on the memory and file stores.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use trail_core::{Event, NoteSigner};
use trail_ingest::{Mode, RecordError, Recorder, RecorderConfig, Scanner};
use trail_store::memory::MemoryStore;
use trail_store::{Durability, Store};

const ORIGIN: &str = "trail.test/recorder";

fn event(v: serde_json::Value) -> Event {
    Event::from_value(v).unwrap()
}

fn open(store: Arc<dyn Store>, config: RecorderConfig) -> Recorder {
    let signer = NoteSigner::from_seed(ORIGIN, [3; 32]).unwrap();
    Recorder::open(store, signer, Arc::new(Scanner::default()), config).unwrap()
}

#[tokio::test]
async fn records_in_order_and_checkpoints_at_close() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(ORIGIN, 10_000));
    let rec = open(store.clone(), RecorderConfig::default());
    let mut sub = rec.subscribe();
    let mut handles = Vec::new();
    for i in 0..200 {
        let rec = rec.clone();
        handles.push(tokio::spawn(async move {
            rec.record(event(json!({"kind": "tool_call", "id": format!("e{i}")}))).await.unwrap()
        }));
    }
    let mut seqs: Vec<u64> = Vec::new();
    for h in handles {
        seqs.push(h.await.unwrap().seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (0..200).collect::<Vec<_>>());
    assert_eq!(sub.recv().await.unwrap().seq, 0);
    rec.clone().close().await.unwrap();
    let cps = store.checkpoints().unwrap();
    assert_eq!(cps.last().unwrap().checkpoint.size, 200);
    assert_eq!(rec.metrics().accepted, 200);
}

#[tokio::test]
async fn an_existing_id_returns_the_existing_record() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(ORIGIN, 100));
    let rec = open(store.clone(), RecorderConfig::default());
    let a = rec.record(event(json!({"kind": "x", "id": "same", "action": "first"}))).await.unwrap();
    let b =
        rec.record(event(json!({"kind": "x", "id": "same", "action": "second"}))).await.unwrap();
    assert!(a.created && !b.created);
    assert_eq!((a.seq, a.hash), (b.seq, b.hash));
    assert_eq!(store.state().unwrap().size, 1);
    let stored = store.get(0).unwrap().unwrap();
    assert_eq!(stored.record.fields.action.as_deref(), Some("first"));
    assert_eq!(rec.metrics().duplicates, 1);
}

#[tokio::test]
async fn a_full_queue_is_an_error_for_try_record_and_counted() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(ORIGIN, 100_000));
    let config = RecorderConfig {
        queue_capacity: 1,
        batch_linger: Duration::from_millis(50),
        ..RecorderConfig::default()
    };
    let rec = open(store, config);
    let mut full = 0;
    let mut pending = Vec::new();
    for i in 0..100 {
        match rec.try_record(event(json!({"kind": "x", "id": format!("f{i}")}))) {
            Ok(fut) => pending.push(fut),
            Err(RecordError::Full { capacity: 1 }) => full += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(full > 0, "a queue of one must fill");
    assert_eq!(rec.metrics().rejected_full, full);
    for p in pending {
        p.await.unwrap();
    }
}

#[tokio::test]
async fn a_failed_write_fails_the_calls_and_loses_nothing_acknowledged() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(ORIGIN, 3));
    let rec = open(store.clone(), RecorderConfig::default());
    for i in 0..3 {
        rec.record(event(json!({"kind": "x", "id": format!("ok{i}")}))).await.unwrap();
    }
    let err = rec.record(event(json!({"kind": "x", "id": "overflow"}))).await.unwrap_err();
    assert_eq!(err.to_string(), "the event was not stored: the memory store is full (3 records)");
    assert_eq!(rec.metrics().failed_writes, 1);
    assert_eq!(store.state().unwrap().size, 3);
}

#[tokio::test]
async fn secrets_are_redacted_and_pii_detected_by_default() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(ORIGIN, 100));
    let rec = open(store.clone(), RecorderConfig::default());
    let key = "AKIA".to_owned() + "Z7Q3VN4XK2LMB5TP";
    let a = rec
        .record(event(json!({"kind": "tool_call", "body": {"args": {"cmd": format!("aws --key {key}"), "to": "jane.doe@example.com"}}})))
        .await
        .unwrap();
    let stored = store.get(a.seq).unwrap().unwrap();
    let body = String::from_utf8(stored.body.unwrap().canonical).unwrap();
    assert!(!body.contains(&key), "secret stored in clear: {body}");
    assert!(body.contains("[REDACTED:"), "{body}");
    assert!(body.contains("jane.doe@example.com"), "PII is detected, not redacted, by default");
    let kinds: Vec<&str> = stored.record.findings.iter().map(|f| f.kind.as_str()).collect();
    assert!(kinds.contains(&"email"), "{kinds:?}");
    assert!(
        stored.record.findings.iter().any(|f| f.path == "/args/cmd"),
        "{:?}",
        stored.record.findings
    );
}

#[tokio::test]
async fn block_mode_refuses_the_event_naming_type_and_path() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(ORIGIN, 100));
    let mut config = RecorderConfig::default();
    config.policy.default_pii = Mode::Block;
    let rec = open(store.clone(), config);
    let err = rec
        .record(event(
            json!({"kind": "x", "body": {"notes": ["ok", "mail me: jane.doe@example.com"]}}),
        ))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("/notes/1") && text.to_lowercase().contains("email"), "{text}");
    assert!(!text.contains("jane.doe"), "{text}");
    assert_eq!(store.state().unwrap().size, 0);
    assert_eq!(rec.metrics().rejected_blocked, 1);
}

#[tokio::test]
async fn the_same_id_twice_in_one_batch_is_stored_once() {
    for store in [Arc::new(MemoryStore::new(ORIGIN, 100)) as Arc<dyn Store>] {
        let rec = open(store.clone(), RecorderConfig::default());
        rec.record(event(json!({"kind": "x", "id": "old"}))).await.unwrap();
        let a = rec.try_record(event(json!({"kind": "x", "id": "dup", "action": "one"}))).unwrap();
        let b = rec.try_record(event(json!({"kind": "x", "id": "dup", "action": "two"}))).unwrap();
        let c = rec.try_record(event(json!({"kind": "x", "id": "old"}))).unwrap();
        let (a, b, c) = (a.await.unwrap(), b.await.unwrap(), c.await.unwrap());
        assert!(a.created && !b.created && !c.created);
        assert_eq!((a.seq, b.seq, c.seq), (1, 1, 0));
        assert_eq!(store.state().unwrap().size, 2);
        assert_eq!(store.get(1).unwrap().unwrap().record.fields.action.as_deref(), Some("one"));
    }
}

/// A memory store whose appends go through `on_append`, which gets the store behind it, and
/// whose checkpoints are stored after `before_checkpoint` returns.
struct Hooked {
    inner: MemoryStore,
    on_append: AppendHook,
    before_checkpoint: Box<dyn Fn() + Send + Sync>,
}

type AppendHook =
    Box<dyn Fn(&MemoryStore, &[trail_core::Sealed]) -> trail_store::Result<()> + Send + Sync>;

/// A store whose `fail_at`-th append fails, to exercise the sequencer's recovery. With
/// `commits`, that append stores the batch and then reports an error, as PostgreSQL does when the
/// connection drops during COMMIT.
fn flaky(fail_at: usize, commits: bool) -> Arc<Hooked> {
    let calls = std::sync::atomic::AtomicUsize::new(0);
    Arc::new(Hooked {
        inner: MemoryStore::new(ORIGIN, 100_000),
        on_append: Box::new(move |inner, batch| {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n == fail_at {
                if commits {
                    inner.append(batch)?;
                }
                return Err(trail_store::StoreError::Invalid("disk on fire".into()));
            }
            inner.append(batch)
        }),
        before_checkpoint: Box::new(|| {}),
    })
}

impl Store for Hooked {
    fn backend(&self) -> &'static str {
        "hooked"
    }
    fn origin(&self) -> &str {
        self.inner.origin()
    }
    fn state(&self) -> trail_store::Result<trail_store::TreeState> {
        self.inner.state()
    }
    fn append(&self, batch: &[trail_core::Sealed]) -> trail_store::Result<()> {
        (self.on_append)(&self.inner, batch)
    }
    fn set_durability(&self, d: trail_store::Durability) -> trail_store::Result<()> {
        self.inner.set_durability(d)
    }
    fn durability(&self) -> trail_store::Durability {
        self.inner.durability()
    }
    fn quick_appends(&self) -> bool {
        self.inner.quick_appends()
    }
    fn find_ids(&self, ids: &[&str]) -> trail_store::Result<Vec<trail_store::StoredRecord>> {
        self.inner.find_ids(ids)
    }
    fn get(&self, seq: u64) -> trail_store::Result<Option<trail_store::StoredRecord>> {
        self.inner.get(seq)
    }
    fn scan(
        &self,
        from: u64,
        to: u64,
        visit: &mut dyn FnMut(trail_store::StoredRecord) -> trail_store::Result<bool>,
    ) -> trail_store::Result<()> {
        self.inner.scan(from, to, visit)
    }
    fn node(&self, level: u32, index: u64) -> trail_store::Result<trail_core::Hash> {
        self.inner.node(level, index)
    }
    fn query(&self, q: &trail_store::Query) -> trail_store::Result<trail_store::Page> {
        self.inner.query(q)
    }
    fn sessions(
        &self,
        q: &trail_store::Query,
    ) -> trail_store::Result<Vec<trail_store::SessionSummary>> {
        self.inner.sessions(q)
    }
    fn stats(&self, q: &trail_store::Query) -> trail_store::Result<trail_store::Stats> {
        self.inner.stats(q)
    }
    fn checkpoints(&self) -> trail_store::Result<Vec<trail_core::SignedCheckpoint>> {
        self.inner.checkpoints()
    }
    fn put_checkpoint(
        &self,
        expected: Option<u64>,
        cp: &trail_core::SignedCheckpoint,
    ) -> trail_store::Result<()> {
        (self.before_checkpoint)();
        self.inner.put_checkpoint(expected, cp)
    }
    fn erase(&self, seqs: &[u64]) -> trail_store::Result<u64> {
        self.inner.erase(seqs)
    }
    fn prune(&self, anchor: &trail_core::Anchor) -> trail_store::Result<u64> {
        self.inner.prune(anchor)
    }
    fn anchor(&self) -> trail_store::Result<Option<trail_core::Anchor>> {
        self.inner.anchor()
    }
    fn disk_bytes(&self) -> trail_store::Result<u64> {
        Ok(0)
    }
}

#[tokio::test]
async fn after_a_failed_batch_later_batches_continue_the_durable_chain() {
    // Batches of up to 4 are written on the sequencer's task when appends are not synced, and on
    // a blocking thread otherwise: both recover alike.
    for (fail_at, durability, batch_max) in [0, 1, 3]
        .into_iter()
        .flat_map(|f| [(f, Durability::Commit, 16), (f, Durability::Checkpoint, 4)])
    {
        let store = flaky(fail_at, false);
        store.set_durability(durability).unwrap();
        let config = RecorderConfig { batch_max, ..RecorderConfig::default() };
        let rec = open(store.clone(), config);
        let mut pending = Vec::new();
        for i in 0..500 {
            pending.push((
                i,
                rec.try_record(event(json!({"kind": "x", "id": format!("k{i}")}))).unwrap(),
            ));
        }
        let mut ok = Vec::new();
        let mut failed = 0;
        for (i, p) in pending {
            match p.await {
                Ok(a) => ok.push((i, a)),
                Err(e) => {
                    assert!(e.to_string().contains("disk on fire"), "{e}");
                    failed += 1;
                }
            }
        }
        assert!(failed > 0 && failed <= batch_max, "fail_at {fail_at}: {failed} refused");
        // Every acknowledged event is stored where its ack says, and the chain is unbroken.
        let size = store.state().unwrap().size;
        assert_eq!(size as usize, ok.len());
        let mut prev = trail_core::Hash::ZERO;
        for seq in 0..size {
            let r = store.get(seq).unwrap().unwrap();
            assert_eq!(r.record.prev, prev, "seq {seq}");
            prev = r.hash;
        }
        for (i, a) in &ok {
            let r = store.get(a.seq).unwrap().unwrap();
            assert_eq!((r.record.id.as_str(), r.hash), (format!("k{i}").as_str(), a.hash));
        }
        // The refused events can be sent again.
        let again = rec.record(event(json!({"kind": "x", "id": "after"}))).await.unwrap();
        assert_eq!(again.seq, size);
    }
}

#[tokio::test]
async fn a_quiet_log_gets_its_tail_signed_within_the_interval() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(ORIGIN, 10_000));
    let config = RecorderConfig {
        checkpoint_every: 1_000_000,
        checkpoint_interval: Duration::from_millis(100),
        ..RecorderConfig::default()
    };
    let rec = open(store.clone(), config);
    let mut signed = rec.checkpoints();
    // One burst, then silence: no later event, flush or close triggers a checkpoint.
    for i in 0..3 {
        rec.record(event(json!({"kind": "tool_call", "id": format!("q{i}")}))).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(10), signed.wait_for(|s| *s >= 3))
        .await
        .expect("the tail was not signed while the log was quiet")
        .unwrap();
    assert_eq!(store.checkpoints().unwrap().last().unwrap().checkpoint.size, 3);
    // And nothing more is signed while nothing more arrives.
    let before = rec.metrics().checkpoints;
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(rec.metrics().checkpoints, before);
    rec.close().await.unwrap();
}

#[tokio::test]
async fn a_batch_committed_despite_an_error_is_acknowledged_and_the_chain_goes_on() {
    // Batches of up to 4 are written on the sequencer's task when appends are not synced, and on
    // a blocking thread otherwise: both recover alike.
    for (fail_at, durability, batch_max) in [0, 2]
        .into_iter()
        .flat_map(|f| [(f, Durability::Commit, 16), (f, Durability::Checkpoint, 4)])
    {
        let store = flaky(fail_at, true);
        store.set_durability(durability).unwrap();
        let config = RecorderConfig { batch_max, ..RecorderConfig::default() };
        let rec = open(store.clone(), config);
        let mut pending = Vec::new();
        for i in 0..200 {
            pending
                .push(rec.try_record(event(json!({"kind": "x", "id": format!("k{i}")}))).unwrap());
        }
        // The store holds the batch it called failed, so every event is acknowledged.
        let mut acks = Vec::new();
        for p in pending {
            acks.push(p.await.unwrap());
        }
        let size = store.state().unwrap().size;
        assert_eq!(size, 200, "fail_at {fail_at}");
        for (i, a) in acks.iter().enumerate() {
            let r = store.get(a.seq).unwrap().unwrap();
            assert_eq!((r.record.id.as_str(), r.hash), (format!("k{i}").as_str(), a.hash));
        }
        let next = rec.record(event(json!({"kind": "x", "id": "after"}))).await.unwrap();
        assert_eq!(next.seq, 200, "later events continue the durable chain");
        rec.close().await.unwrap();
        assert!(
            store.checkpoints().unwrap().last().is_some_and(|c| c.checkpoint.size == 201),
            "the closing checkpoint covers the whole log"
        );
    }
}

/// Checks the stored chain and that every ack names the record stored at its seq.
fn check_chain(store: &dyn Store, acks: &[(String, trail_ingest::Appended)]) {
    let size = store.state().unwrap().size;
    assert_eq!(size as usize, acks.len());
    let mut prev = trail_core::Hash::ZERO;
    for seq in 0..size {
        let r = store.get(seq).unwrap().unwrap();
        assert_eq!(r.record.prev, prev, "seq {seq}");
        prev = r.hash;
    }
    for (id, a) in acks {
        let r = store.get(a.seq).unwrap().unwrap();
        assert_eq!((&r.record.id, r.hash), (id, a.hash));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsynced_lone_event_is_appended_on_the_callers_task() {
    // The tokio task each append ran on.
    let tasks: Arc<std::sync::Mutex<Vec<Option<tokio::task::Id>>>> = Arc::default();
    let noted = tasks.clone();
    let store = Arc::new(Hooked {
        inner: MemoryStore::new(ORIGIN, 10_000),
        on_append: Box::new(move |inner, batch| {
            noted.lock().unwrap().push(tokio::task::try_id());
            inner.append(batch)
        }),
        before_checkpoint: Box::new(|| {}),
    });
    let config = RecorderConfig {
        checkpoint_every: 1_000_000,
        checkpoint_interval: Duration::from_millis(100),
        ..RecorderConfig::default()
    };
    for durability in [Durability::Checkpoint, Durability::Commit] {
        tasks.lock().unwrap().clear();
        store.set_durability(durability).unwrap();
        let rec = open(store.clone(), config.clone());
        let start = store.state().unwrap().size;
        let caller = tokio::spawn({
            let rec = rec.clone();
            async move {
                for i in 0..20 {
                    rec.record(event(json!({"kind": "x", "id": format!("{durability:?}-{i}")})))
                        .await
                        .unwrap();
                }
                tokio::task::id()
            }
        });
        let caller = caller.await.unwrap();
        let ran_on = tasks.lock().unwrap().clone();
        let here = ran_on.iter().filter(|t| **t == Some(caller)).count();
        match durability {
            // Nothing to wait for: no hand-off to the sequencer's task and back.
            Durability::Checkpoint => assert_eq!(here, 20, "{ran_on:?}"),
            // A synced append never blocks the caller's task.
            Durability::Commit => assert_eq!(here, 0, "{ran_on:?}"),
        }
        // The tail is signed while the log is quiet, though the sequencer's task appended none.
        let mut signed = rec.checkpoints();
        tokio::time::timeout(Duration::from_secs(10), signed.wait_for(|s| *s == start + 20))
            .await
            .expect("the tail of events appended on the caller's task was not signed")
            .unwrap();
        rec.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsynced_appends_from_many_tasks_keep_the_chain_and_each_callers_order() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(ORIGIN, 100_000));
    store.set_durability(Durability::Checkpoint).unwrap();
    let config = RecorderConfig { checkpoint_every: 500, ..RecorderConfig::default() };
    let rec = open(store.clone(), config);
    let mut tasks = Vec::new();
    // Callers appending one event at a time (the fast way when nothing else is queued)...
    for t in 0..6 {
        let rec = rec.clone();
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            for i in 0..300 {
                let id = format!("one-{t}-{i}");
                acks.push((
                    id.clone(),
                    rec.record(event(json!({"kind": "x", "id": id}))).await.unwrap(),
                ));
            }
            acks
        }));
    }
    // ...beside callers queueing bursts, then one more event after each burst, which must come
    // after the burst although the queue may be empty by then.
    for t in 0..2 {
        let rec = rec.clone();
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            for b in 0..10 {
                let ids: Vec<String> = (0..50).map(|i| format!("burst-{t}-{b}-{i}")).collect();
                let pending: Vec<_> = ids
                    .iter()
                    .map(|id| rec.try_record(event(json!({"kind": "y", "id": id}))).unwrap())
                    .collect();
                let after = format!("after-{t}-{b}");
                let last = rec.record(event(json!({"kind": "y", "id": after}))).await.unwrap();
                for (id, p) in ids.into_iter().zip(pending) {
                    let a = p.await.unwrap();
                    assert!(
                        a.seq < last.seq,
                        "{id} (seq {}) after {after} (seq {})",
                        a.seq,
                        last.seq
                    );
                    acks.push((id, a));
                }
                acks.push((after, last));
            }
            acks
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let acks = t.await.unwrap();
        // Each caller's events are stored in the order it sent them.
        let one_by_one: Vec<u64> =
            acks.iter().filter(|(id, _)| id.starts_with("one-")).map(|(_, a)| a.seq).collect();
        assert!(one_by_one.windows(2).all(|w| w[0] < w[1]), "{one_by_one:?}");
        all.extend(acks);
    }
    assert_eq!(all.len(), 6 * 300 + 2 * 10 * 51);
    check_chain(&*store, &all);
    // An id sent again is answered with the record it already has.
    let (id, first) = all[0].clone();
    let again = rec.record(event(json!({"kind": "x", "id": id}))).await.unwrap();
    assert!(!again.created);
    assert_eq!((again.seq, again.hash), (first.seq, first.hash));
    rec.close().await.unwrap();
    let cps = store.checkpoints().unwrap();
    assert_eq!(cps.last().unwrap().checkpoint.size, all.len() as u64);
    assert!(cps.len() >= 4, "checkpoints every 500 records: {}", cps.len());
}

/// Found when ids the recorder generated stopped being looked up before an append: a retry
/// carrying the id an acknowledgement gave, sent while that record was still in the SQLite
/// append journal, must be acknowledged with the stored record, never stored a second time.
#[tokio::test]
async fn a_retry_with_a_generated_id_is_acknowledged_not_stored_again() {
    for durability in [Durability::Checkpoint, Durability::Commit] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let store: Arc<dyn Store> =
            Arc::new(trail_store::sqlite::SqliteStore::create(&path, ORIGIN).unwrap());
        store.set_durability(durability).unwrap();
        let rec = open(store.clone(), RecorderConfig::default());
        let first = rec.record(event(json!({"kind": "x"}))).await.unwrap();
        let again = rec.record(event(json!({"kind": "x", "id": first.id}))).await.unwrap();
        assert!(first.created && !again.created, "{durability:?}");
        assert_eq!((again.seq, again.hash), (first.seq, first.hash));
        rec.close().await.unwrap();
        assert_eq!(store.state().unwrap().size, 1, "{durability:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_appended_while_a_checkpoint_is_being_stored() {
    // A checkpoint whose storing (a sync, on a real store) takes as long as the test says: the
    // events recorded meanwhile must not wait for it.
    let (started_tx, started) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (started_tx, released) =
        (std::sync::Mutex::new(started_tx), std::sync::Mutex::new(released));
    let store = Arc::new(Hooked {
        inner: MemoryStore::new(ORIGIN, 10_000),
        on_append: Box::new(|inner, batch| inner.append(batch)),
        before_checkpoint: Box::new(move || {
            let _ = started_tx.lock().unwrap().send(());
            let _ = released.lock().unwrap().recv_timeout(Duration::from_secs(30));
        }),
    });
    store.set_durability(Durability::Checkpoint).unwrap();
    let config = RecorderConfig {
        checkpoint_every: 5,
        checkpoint_interval: Duration::from_secs(3600),
        ..RecorderConfig::default()
    };
    let rec = open(store.clone(), config);
    let mut acks = Vec::new();
    for i in 0..5 {
        let id = format!("before-{i}");
        acks.push((id.clone(), rec.record(event(json!({"kind": "x", "id": id}))).await.unwrap()));
    }
    tokio::task::spawn_blocking(move || started.recv_timeout(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("five events did not start a checkpoint");
    // The checkpoint of 5 is being stored and does not finish until released.
    for i in 0..20 {
        let id = format!("during-{i}");
        let ack = tokio::time::timeout(
            Duration::from_secs(5),
            rec.record(event(json!({"kind": "x", "id": id}))),
        )
        .await
        .expect("an event waited for the checkpoint being stored")
        .unwrap();
        acks.push((id, ack));
    }
    // Released (and later checkpoints not held: the channel is closed).
    release.send(()).unwrap();
    drop(release);
    rec.flush().await.unwrap();
    let signed = store.checkpoints().unwrap();
    assert_eq!(
        signed.first().map(|c| c.checkpoint.size),
        Some(5),
        "the first covers the first five"
    );
    assert_eq!(signed.last().map(|c| c.checkpoint.size), Some(25));
    check_chain(&*store, &acks);
    rec.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_store_is_flushed_and_signed_while_events_are_appended() {
    // The files store takes only checkpoints of its current size: signing one while events
    // are appended beside it must still store it (found by an outside tester: `flush()` failed
    // and no checkpoint was stored for seconds under steady load).
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(trail_store::file::FileStore::create(dir.path(), ORIGIN).unwrap());
    store.set_durability(Durability::Checkpoint).unwrap();
    let config = RecorderConfig {
        checkpoint_every: 50,
        checkpoint_interval: Duration::from_millis(20),
        ..RecorderConfig::default()
    };
    let rec = open(store.clone(), config);
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let rec = rec.clone();
            tokio::spawn(async move {
                for i in 0..400 {
                    rec.record(event(json!({"kind": "x", "id": format!("w{w}-{i}")})))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for _ in 0..20 {
        rec.flush().await.expect("a flush beside appends");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for w in writers {
        w.await.unwrap();
    }
    rec.flush().await.unwrap();
    assert_eq!(rec.metrics().checkpoint_failures, 0);
    let signed = store.checkpoints().unwrap();
    assert!(signed.len() > 5, "checkpoints kept being stored: {}", signed.len());
    assert_eq!(signed.last().map(|c| c.checkpoint.size), Some(1200));
    rec.close().await.unwrap();
}

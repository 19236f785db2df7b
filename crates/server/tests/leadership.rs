//! The cluster role without the CLI: two nodes' `Leadership` loops over one PostgreSQL log, as an
//! application embedding `trail-server` would run them. One leads, the other follows and names
//! it; when the leader stops, the follower takes over under a new epoch and the log goes on
//! without a fork, verified from the store.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use trail_core::verify::Verdict;
use trail_core::{Event, NoteSigner, VerifyOptions};
use trail_ingest::{Recorder, ScanConfig, Scanner};
use trail_server::LogHandle;
use trail_server::leadership::Leadership;
use trail_server::state::Role;
use trail_store::Store;
use trail_store::postgres::{PostgresStore, scratch_schema};

mod common;

const TTL: Duration = Duration::from_millis(800);

/// A node serving the log: its handle and its leadership loop.
struct Node {
    url: &'static str,
    handle: Arc<LogHandle>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(url: &'static str, store: Arc<PostgresStore>) -> Node {
    let signer = NoteSigner::from_seed(store.origin(), [7; 32]).unwrap();
    let scanner = Arc::new(Scanner::new(&ScanConfig::default()).unwrap());
    let config = common::config();
    let handle = Arc::new(LogHandle::follower(store.clone(), scanner.clone(), &config));
    let leadership = Leadership::new(store, handle.clone(), url, TTL, signer, scanner, config);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = leadership.spawn(stopped).await;
    Node { url, handle, stop, task }
}

impl Node {
    fn recorder(&self) -> Option<Recorder> {
        match self.handle.role() {
            Role::Leader(r) => Some(r),
            Role::Follower { .. } => None,
        }
    }

    fn leader_named(&self) -> Option<String> {
        match self.handle.role() {
            Role::Follower { leader } => leader,
            Role::Leader(_) => None,
        }
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}

/// True while nobody holds a live lease, or another node does.
fn a_handle_follows(store: &PostgresStore) -> bool {
    let lease = store.lease().unwrap();
    !lease.is_live() || lease.holder.as_deref() != Some("http://node-a")
}

async fn record(r: &Recorder, id: &str) {
    let ev = Event::from_value(serde_json::json!({"kind": "tool_call", "id": id})).unwrap();
    r.record(ev).await.unwrap();
}

/// Waits (bounded) until `cond` holds.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + TTL * 10;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_takes_over_when_the_leader_stops_and_the_log_stays_one() {
    let url = std::env::var("TRAIL_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = scratch_schema("trail_leadership");
    let first = match PostgresStore::create_in(&url, &schema, "test/leadership") {
        Ok(s) => Arc::new(s.dangerous_drop_on_drop()),
        Err(e) if std::env::var("TRAIL_SKIP_POSTGRES").as_deref() == Ok("1") => {
            let loud = format!("\n*** SKIPPED: no PostgreSQL at {url} ({e}) ***\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), loud.as_bytes());
            return;
        }
        Err(e) => panic!("no PostgreSQL at {url}: {e}; start it (see .ci/test)"),
    };
    let second = Arc::new(PostgresStore::open_in(&url, &schema).unwrap());

    // The first node takes the free lease in its first step; the second follows and names it.
    let a = start("http://node-a", first.clone()).await;
    let ra = a.recorder().expect("the first node leads from its first step");
    let b = start("http://node-b", second.clone()).await;
    assert!(b.recorder().is_none(), "two leaders at once");
    assert_eq!(b.leader_named().as_deref(), Some(a.url), "the follower names the leader");
    for i in 0..10 {
        record(&ra, &format!("a{i}")).await;
    }
    let epoch_a = first.lease().unwrap().epoch;

    // The leader stops: its recorder closes (a final checkpoint) and its lease is given up, so
    // the follower leads within a step, under a new epoch. (The test drops its clone of the
    // recorder first, as the server's handle does when it stops being the leader.)
    drop(ra);
    a.stop().await;
    assert!(a_handle_follows(&first), "the stopped node's lease is released");
    eventually("the second node leads", || b.recorder().is_some()).await;
    let rb = b.recorder().unwrap();
    let lease = second.lease().unwrap();
    assert_eq!(lease.holder.as_deref(), Some(b.url));
    assert!(lease.epoch > epoch_a, "a takeover bumps the fencing epoch");
    for i in 0..10 {
        record(&rb, &format!("b{i}")).await;
    }
    b.stop().await;
    assert!(!second.lease().unwrap().is_live(), "a stopping leader releases its lease");

    // One log, both terms' events in order, every record under a signed checkpoint.
    assert_eq!(second.state().unwrap().size, 20);
    let verifier = NoteSigner::from_seed(second.origin(), [7; 32]).unwrap().verifier();
    let opts = VerifyOptions { verifiers: vec![verifier], ..VerifyOptions::default() };
    let report = trail_store::verify_store(&*second, opts, &mut |_| {}).unwrap();
    assert_eq!(report.verdict(), Verdict::Intact, "{report:?}");
    let ids: Vec<String> = (0..20).map(|seq| second.get(seq).unwrap().unwrap().record.id).collect();
    let expected: Vec<String> =
        (0..10).map(|i| format!("a{i}")).chain((0..10).map(|i| format!("b{i}"))).collect();
    assert_eq!(ids, expected);
}

//! Fault injection at the storage layer: a torn write at every byte offset of the last record
//! of a file log, a torn SQLite write-ahead log, and a torn append journal. After each, nothing half-written is taken
//! for valid, nothing acknowledged before the torn write is lost, and the log verifies.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::Path;

use trail_core::verify::{BodyInput, Location, Verifier, VerifyOptions};
use trail_store::conformance::{ORIGIN, seal};
use trail_store::file::{FileStore, LOG_FILE, TREE_FILE};
use trail_store::sqlite::SqliteStore;
use trail_store::{Durability, Store, StoreError};

fn events(from: usize, n: usize) -> Vec<serde_json::Value> {
    (from..from + n)
        .map(|i| serde_json::json!({"kind": "tool_call", "id": format!("e{i}"), "body": {"i": i, "text": "some output é"}}))
        .collect()
}

/// Verifies every stored record with the core verifier; returns the number of records.
fn verify_store(store: &dyn Store) -> u64 {
    let mut v =
        Verifier::new(VerifyOptions { origin: Some(ORIGIN.into()), ..VerifyOptions::default() });
    store
        .scan(0, u64::MAX, &mut |r| {
            let body = match &r.body {
                Some(b) => BodyInput::Present { salt: &b.salt, canonical: &b.canonical },
                None => BodyInput::Absent,
            };
            v.record(Location::seq(r.seq), &r.canonical, None, body);
            Ok(true)
        })
        .unwrap();
    let report = v.finish();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    report.records
}

#[test]
fn a_torn_last_record_of_a_file_log_is_refused_at_every_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::create(dir.path(), ORIGIN).unwrap();
    store.append(&seal(&store, &events(0, 5))).unwrap();
    let before = std::fs::read(dir.path().join(LOG_FILE)).unwrap();
    store.append(&seal(&store, &events(5, 1))).unwrap();
    drop(store);
    let full = std::fs::read(dir.path().join(LOG_FILE)).unwrap();
    let last_line = &full[before.len()..];
    assert!(last_line.len() > 200);
    for cut in 1..last_line.len() {
        let torn = dir.path().join(format!("torn-{cut}"));
        std::fs::create_dir(&torn).unwrap();
        std::fs::write(torn.join("origin"), ORIGIN).unwrap();
        std::fs::write(torn.join(LOG_FILE), &full[..before.len() + cut]).unwrap();
        match FileStore::open(&torn) {
            Err(StoreError::TornTail { line: 6, bytes, .. }) => assert_eq!(bytes, cut as u64),
            Err(e) => panic!("cut at {cut}: unexpected error {e}"),
            Ok(_) => panic!("cut at {cut}: a half-written record was taken for valid"),
        }
        // Repair moves exactly the torn bytes aside; the five whole records remain and verify.
        assert_eq!(FileStore::repair(&torn).unwrap(), cut as u64);
        let reopened = FileStore::open(&torn).unwrap();
        assert_eq!(reopened.state().unwrap().size, 5);
        assert_eq!(verify_store(&reopened), 5);
        std::fs::remove_dir_all(&torn).unwrap();
    }
}

fn copy_db(from: &Path, to: &Path, wal_len: Option<usize>) {
    // Not the append journal: each test says what the crash left in it.
    std::fs::copy(from, to).unwrap();
    let wal = from.with_extension("db-wal");
    if wal.exists() {
        let mut bytes = std::fs::read(&wal).unwrap();
        if let Some(n) = wal_len {
            bytes.truncate(n);
        }
        std::fs::write(to.with_extension("db-wal"), bytes).unwrap();
    }
}

#[test]
fn a_torn_sqlite_wal_keeps_a_verifiable_prefix_of_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let store = SqliteStore::create(&path, ORIGIN).unwrap();
    let mut batch_ends = vec![0u64];
    for b in 0..6 {
        store.append(&seal(&store, &events(b * 20, 20))).unwrap();
        // Each batch its own database transaction (they would otherwise be committed together).
        store.commit_journal().unwrap();
        batch_ends.push(store.state().unwrap().size);
    }
    // Copy the files while the store is open, as a crash would leave them (no checkpoint of
    // the WAL into the database file has happened for these small batches).
    let wal_len =
        std::fs::metadata(path.with_extension("db-wal")).map(|m| m.len() as usize).unwrap_or(0);
    assert!(wal_len > 0, "the test needs a write-ahead log to tear");
    let step = (wal_len / 150).max(1);
    let mut seen_sizes = std::collections::BTreeSet::new();
    for cut in (0..=wal_len).step_by(step) {
        let copy = dir.path().join(format!("copy-{cut}.db"));
        copy_db(&path, &copy, Some(cut));
        let reopened = SqliteStore::open(&copy).unwrap();
        let size = reopened.state().unwrap().size;
        // Only whole transactions survive: the size is one of the batch boundaries.
        assert!(batch_ends.contains(&size), "cut {cut}: size {size} is not a batch boundary");
        assert_eq!(verify_store(&reopened), size);
        seen_sizes.insert(size);
        drop(reopened);
        for ext in ["db", "db-wal", "db-shm", "db-appends"] {
            let _ = std::fs::remove_file(copy.with_extension(ext));
        }
    }
    assert!(seen_sizes.len() > 2, "tearing the WAL should expose several prefixes: {seen_sizes:?}");
}

/// A crash while acknowledged batches are in the append journal and not yet in the database:
/// the journal as the crash left it, torn at every frame boundary and inside frames. Reopening
/// commits exactly the whole frames that continue the database; every acknowledged batch whose
/// frame is whole survives, nothing half-written is taken, and the log verifies.
#[test]
fn a_torn_append_journal_keeps_every_whole_batch_and_no_part_of_one() {
    torn_journal(Durability::Commit);
}

/// The same with appends that are not synced: their frames are packed back to back in a
/// journal that grows as they are written, instead of one per 4 KiB block of a zeroed file.
#[test]
fn a_torn_packed_journal_keeps_every_whole_batch_and_no_part_of_one() {
    torn_journal(Durability::Checkpoint);
}

fn torn_journal(durability: Durability) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let store = SqliteStore::create(&path, ORIGIN).unwrap();
    store.set_durability(durability).unwrap();
    store.append(&seal(&store, &events(0, 10))).unwrap();
    store.commit_journal().unwrap();
    store.pause_drainer(true);
    let mut batch_ends = vec![10u64];
    let mut frame_ends = vec![];
    for b in 1..6 {
        store.append(&seal(&store, &events(b * 10, 10))).unwrap();
        batch_ends.push(store.state().unwrap().size);
        // Frames are written back to back; find where this one ended.
        let bytes = std::fs::read(path.with_extension("db-appends")).unwrap();
        frame_ends.push(frame_end(&bytes));
    }
    let journal = std::fs::read(path.with_extension("db-appends")).unwrap();
    let magic: &[u8] = if durability == Durability::Commit { b"TRJ1" } else { b"TRJ2" };
    assert_eq!(&journal[..4], magic, "synced frames are aligned, unsynced ones packed");
    let last = *frame_ends.last().unwrap();
    let mut cuts: Vec<usize> = frame_ends.clone();
    cuts.extend((0..last).step_by(97));
    for cut in cuts {
        let copy = dir.path().join(format!("copy-{cut}.db"));
        copy_db(&path, &copy, None);
        let mut torn = journal.clone();
        torn[cut..].fill(0);
        std::fs::write(copy.with_extension("db-appends"), &torn).unwrap();
        let reopened = SqliteStore::open(&copy).unwrap();
        let size = reopened.state().unwrap().size;
        let whole = frame_ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(size, batch_ends[whole], "cut {cut}: the whole frames and nothing else");
        assert_eq!(verify_store(&reopened), size);
        drop(reopened);
        // Recovered records are in the database itself: the journal is not needed again.
        std::fs::remove_file(copy.with_extension("db-appends")).unwrap();
        let again = SqliteStore::open(&copy).unwrap();
        assert_eq!(again.state().unwrap().size, size, "cut {cut}: recovery was committed");
        drop(again);
        for ext in ["db", "db-wal", "db-shm", "db-appends"] {
            let _ = std::fs::remove_file(copy.with_extension(ext));
        }
    }
    store.pause_drainer(false);
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert_eq!(verify_store(&reopened), 60);
}

/// The end of the last frame in a journal (frames are `TRJ1`, a u32 length, a CRC, the payload,
/// each starting on a 4 KiB boundary; or `TRJ2`, the same, packed back to back).
fn frame_end(bytes: &[u8]) -> usize {
    let (mut at, mut end) = (0, 0);
    loop {
        let aligned = match bytes.get(at..at + 4) {
            Some(b"TRJ1") => true,
            Some(b"TRJ2") => false,
            _ => return end,
        };
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        end = at + 12 + len;
        at = if aligned { end.div_ceil(4096) * 4096 } else { end };
    }
}

/// Two stores on one database: the second (another process, as far as the lock can tell) reads
/// but refuses to append, so it can never fork the log under the first one's journal.
#[test]
fn a_second_store_on_one_database_reads_and_refuses_to_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let first = SqliteStore::create(&path, ORIGIN).unwrap();
    first.append(&seal(&first, &events(0, 3))).unwrap();
    first.commit_journal().unwrap();
    let second = SqliteStore::open(&path).unwrap();
    assert_eq!(second.state().unwrap().size, 3);
    let err = second.append(&seal(&second, &events(3, 1))).unwrap_err().to_string();
    assert!(err.contains("another process is appending"), "{err}");
    first.append(&seal(&first, &events(3, 1))).unwrap();
    drop(first);
    drop(second);
    assert_eq!(SqliteStore::open(&path).unwrap().state().unwrap().size, 4);
}

/// Found by trying to break the journal: a byte changed inside an early frame made recovery
/// stop there and silently drop the acknowledged frames after it. Now a whole frame beyond the
/// damage that holds records the database lacks makes the open fail, naming file and byte.
#[test]
fn a_journal_damaged_in_the_middle_is_refused_not_cut_short() {
    damaged_journal(Durability::Commit);
    damaged_journal(Durability::Checkpoint);
}

fn damaged_journal(durability: Durability) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let store = SqliteStore::create(&path, ORIGIN).unwrap();
    store.set_durability(durability).unwrap();
    store.pause_drainer(true);
    for b in 0..3 {
        store.append(&seal(&store, &events(b * 5, 5))).unwrap();
    }
    let journal = std::fs::read(path.with_extension("db-appends")).unwrap();
    let copy = dir.path().join("copy.db");
    // The database as it was before any append (the crash left the records in the journal).
    let empty = dir.path().join("empty.db");
    drop(SqliteStore::create(&empty, ORIGIN).unwrap());
    std::fs::copy(&empty, &copy).unwrap();
    let mut damaged = journal.clone();
    damaged[40] ^= 0x01;
    std::fs::write(copy.with_extension("db-appends"), &damaged).unwrap();
    let err = SqliteStore::open(&copy).err().expect("a damaged journal is refused").to_string();
    assert!(err.contains("damaged at byte 0") && err.contains("copy.db-appends"), "{err}");
    // Undamaged, the same files open with every record.
    std::fs::write(copy.with_extension("db-appends"), &journal).unwrap();
    assert_eq!(SqliteStore::open(&copy).unwrap().state().unwrap().size, 15);
    store.pause_drainer(false);
}

/// Found by trying to break the journal: an erased body stayed readable in the journal's
/// frames. Erasing now commits the journal and zeroes it.
#[test]
fn an_erased_body_leaves_no_copy_in_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let store = SqliteStore::create(&path, ORIGIN).unwrap();
    let marker = "UNIQUE-MARKER-medical-record-4471";
    let ev = serde_json::json!({"kind": "tool_result", "id": "pii", "body": {"note": marker}});
    store.append(&seal(&store, &[ev])).unwrap();
    let journal = path.with_extension("db-appends");
    let holds = |p: &Path| {
        let bytes = std::fs::read(p).unwrap();
        bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
    };
    assert!(holds(&journal), "the test needs the body in the journal first");
    assert_eq!(store.erase(&[0]).unwrap(), 1);
    assert!(!holds(&journal), "the erased body is still in {}", journal.display());
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert!(reopened.get(0).unwrap().unwrap().body.is_none(), "the body stays erased");
}

/// Found by trying to break the journal: a symlink in its place was followed (even by
/// `trail verify`, which then wrote 4 MiB into the link's target) and a FIFO hung every
/// command. Both are refused, naming the file, and nothing outside the directory changes.
#[test]
fn a_journal_that_is_not_a_regular_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    drop(SqliteStore::create(&path, ORIGIN).unwrap());
    let journal = path.with_extension("db-appends");
    std::fs::remove_file(&journal).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"untouched").unwrap();
    std::os::unix::fs::symlink(&victim, &journal).unwrap();
    let err = SqliteStore::open(&path).err().expect("a symlink is refused").to_string();
    assert!(err.contains("symbolic link") && err.contains("log.db-appends"), "{err}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
    std::fs::remove_file(&journal).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&journal).status().unwrap();
    assert!(made.success());
    let err = SqliteStore::open(&path).err().expect("a FIFO is refused").to_string();
    assert!(err.contains("not a regular file"), "{err}");
    std::fs::remove_file(&journal).unwrap();
    // A journal others can read is made its owner's alone.
    drop(SqliteStore::open(&path).unwrap());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(SqliteStore::open(&path).unwrap());
    let mode = std::fs::metadata(&journal).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn opening_a_file_log_beside_its_writer_leaves_the_writers_tree_file_alone() {
    // A reader (`trail stats` beside a writer) may read the log between a record's line and
    // its tree nodes, and rebuild the node cache. It must not rewrite the file the writer holds
    // (found by an outside tester: the writer then read wrong nodes and signed a wrong root).
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let writer = FileStore::create(dir.path(), ORIGIN).unwrap();
    writer.append(&seal(&writer, &events(0, 5))).unwrap();
    let held = std::fs::File::open(dir.path().join(TREE_FILE)).unwrap();
    let (len, inode) = (held.metadata().unwrap().len(), held.metadata().unwrap().ino());
    // The writer mid-append: the sixth record's line is in the log, its nodes not yet.
    let next = seal(&writer, &events(5, 1));
    let s = &next[0];
    let line = trail_core::export::record_line(&s.canonical, &s.hash, s.body.as_ref()) + "\n";
    let mut log = std::fs::OpenOptions::new().append(true).open(dir.path().join(LOG_FILE)).unwrap();
    std::io::Write::write_all(&mut log, line.as_bytes()).unwrap();
    let reader = FileStore::open(dir.path()).unwrap();
    assert_eq!(verify_store(&reader), 6);
    assert_eq!((&reader as &dyn Store).root_at(6).unwrap(), reader.state().unwrap().root);
    assert_eq!(held.metadata().unwrap().len(), len, "the writer's tree file was rewritten");
    let now = std::fs::metadata(dir.path().join(TREE_FILE)).unwrap().ino();
    assert_ne!(now, inode, "the rebuilt cache replaces the file by a rename");
    // The writer still reads its own nodes: its root over its five records is unchanged.
    assert_eq!(
        (&writer as &dyn Store).root_at(5).unwrap(),
        (&reader as &dyn Store).root_at(5).unwrap()
    );
}

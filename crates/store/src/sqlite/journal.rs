//! The append journal: where a small batch becomes durable with one write and one `fdatasync`,
//! before the database holds it.
//!
//! A one-event SQLite commit writes about ten pages (the record, its four indexes, the body, two
//! rollups and an index of one) and syncs them, which costs several times one `fdatasync`. The
//! journal turns that into one short write at the journal's current offset: the batch's records
//! (their canonical bytes, leaf hash and body) in one frame, followed by one `fdatasync` when
//! durability is `commit`. The records are then applied to the database in larger transactions
//! behind the acknowledgement (see `SqliteStore`'s drain), so the pages are written once per many
//! records.
//!
//! The file (`<database>-appends`) is written full of zeros when it is created and then only
//! overwritten in place, never grown, so a sync flushes the data and no file size or extent
//! (measured on this machine's ext4: 7.5 k overwriting syncs a second against 4.6 k appending).
//! The drainer commits journaled records to the database without a sync (readers see them
//! within about 10 ms); the journal is reset to offset 0 only when every record in it is
//! committed and the database is synced: by a checkpoint, or by an append that finds the
//! journal full, which syncs the database first. A frame is `TRJ1` (written with a sync: the
//! next frame starts at the next 4 KiB block, so a one-event sync writes one block) or `TRJ2`
//! (written without one: the next frame follows it directly), its payload's length (u32, little
//! endian), the payload's CRC-32, then the payload: the number of records, and per record its
//! canonical bytes (length first), its leaf hash, and its body (a flag, the salt and the
//! canonical body, length first).
//!
//! Recovery (on open) reads frames from offset 0 and stops at the first that is not whole (a torn
//! write, or the zeros after the last frame). Frames left over from before a reset hold records
//! the database already has (a reset happens only once they are all committed), so the records
//! that continue the database are exactly the acknowledged ones that did not reach it. Every
//! recovered record is checked: its leaf hash is recomputed and the chain (`seq`, `prev`) must
//! continue the database's.
//!
//! Only one process uses a journal: the store that opens it takes an exclusive lock on the file
//! for its lifetime. A store that cannot take the lock (another process appends to this log)
//! reads the database and refuses to append. A store that cannot make or write the journal (a
//! read-only or full disk) appends straight to the database, as it would a large batch, unless
//! the journal holds acknowledged records the database lacks: then it refuses to open.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use trail_core::{Body, Record, Sealed};
use trail_merkle::{Hash, leaf_hash};

use crate::{Result, StoreError};

/// The journal's size. Frames that do not fit after the current offset wait for a reset; a batch
/// larger than a sixteenth of it (256 KiB) is committed to the database directly.
pub(super) const JOURNAL_BYTES: u64 = 4 << 20;

/// A frame written with a sync: the next frame starts at the next block boundary.
const MAGIC: &[u8; 4] = b"TRJ1";
/// A frame written without a sync: the next frame starts right after it, so a journal holds as
/// many unsynced records as its bytes allow (aligned, a 700-byte event took a 4 KiB block, and
/// the journal filled, and was synced to the database, every 1,024 events).
const MAGIC_PACKED: &[u8; 4] = b"TRJ2";
const HEADER: usize = 12;

/// An open, locked journal.
pub(super) struct Journal {
    file: File,
    path: PathBuf,
    /// Where the next frame goes.
    offset: u64,
    /// Whether the file is written full of zeros beyond `offset` (what synced frames need);
    /// unsynced frames extend an emptied file instead (see [`Journal::write`]).
    preallocated: bool,
    /// The frame being encoded, reused.
    buf: Vec<u8>,
}

/// The journal's path beside the database at `db`.
pub(super) fn journal_path(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push("-appends");
    PathBuf::from(p)
}

impl Journal {
    /// Opens the journal of the database at `db`, creating it if needed, and locks it. `None`
    /// when another process (or another store in this one) holds it.
    pub(super) fn open(db: &Path) -> Result<Option<Journal>> {
        let path = journal_path(db);
        let io = |source| StoreError::Io { path: path.clone(), source };
        // It holds bodies until they reach the database: its owner's alone, like the database.
        // Never through a symlink: the journal is written, and a link could point anywhere.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| not_a_journal(&path, e))?;
        let meta = regular_file(&file, &path)?;
        if file.try_lock().is_err() {
            return Ok(None);
        }
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        }
        let len = meta.len();
        if len < JOURNAL_BYTES {
            // Written, not just allocated: syncing a write into an unwritten extent also
            // writes the extent tree. Frames are only written once the file is whole, so a
            // crash here leaves a journal with no frame in it.
            write_zeros(&file, len, JOURNAL_BYTES).map_err(io)?;
            file.sync_all().map_err(io)?;
            if let Some(dir) = path.parent() {
                let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
                File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            }
        }
        Ok(Some(Journal { file, path, offset: 0, preallocated: true, buf: Vec::new() }))
    }

    /// Zeroes the whole journal and syncs it, so that no body it ever held can be read from it
    /// (an erasure must leave none behind). The caller has committed every record in it.
    pub(super) fn wipe(&mut self) -> Result<()> {
        let io = |source| StoreError::Io { path: self.path.clone(), source };
        write_zeros(&self.file, 0, JOURNAL_BYTES).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.offset = 0;
        self.preallocated = true;
        Ok(())
    }

    /// Every whole frame from offset 0, in order, decoded, and the frames found whole beyond
    /// the first that is not (see [`Frames`]).
    pub(super) fn read_frames(&mut self) -> Result<Frames> {
        read_frames(&self.file, &self.path)
    }

    /// The journal's path.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether more than half of the journal is written.
    pub(super) fn past_half(&self) -> bool {
        self.offset > JOURNAL_BYTES / 2
    }

    /// Whether a frame of `records` fits after the current offset.
    pub(super) fn fits(&self, records: &[Sealed]) -> bool {
        self.offset + frame_len(records) as u64 <= JOURNAL_BYTES
    }

    /// Writes `records` as one frame at the current offset, and syncs it when `sync` (a synced
    /// frame is followed by the next block boundary, an unsynced one packed).
    ///
    /// Unsynced frames are written to an emptied file, extending it: on this machine's ext4 a
    /// 700-byte write that extends a file takes 1.8 µs, one that overwrites zeros 5-6 µs. A
    /// synced frame overwrites zeros instead, so its sync writes no file size or extent.
    pub(super) fn write(&mut self, records: &[Sealed], sync: bool) -> Result<()> {
        encode(records, !sync, &mut self.buf);
        let io = |source| StoreError::Io { path: self.path.clone(), source };
        if !sync && self.preallocated && self.offset == 0 {
            // Empty (every record in it is in the synced database): nothing is lost.
            self.file.set_len(0).map_err(io)?;
            self.preallocated = false;
        } else if sync && !self.preallocated {
            write_zeros(&self.file, self.offset, JOURNAL_BYTES).map_err(io)?;
            self.file.sync_all().map_err(io)?;
            self.preallocated = true;
        }
        self.file.write_all_at(&self.buf, self.offset).map_err(io)?;
        if sync {
            self.file.sync_data().map_err(io)?;
        }
        self.offset = next_frame(self.offset + self.buf.len() as u64, !sync);
        Ok(())
    }

    /// Whether nothing was written since the last reset.
    pub(super) fn is_empty(&self) -> bool {
        self.offset == 0
    }

    /// Starts again at offset 0: every record in the journal is committed to the database.
    pub(super) fn reset(&mut self) {
        self.offset = 0;
        if !self.preallocated {
            // So the next frames extend it again. Should the truncation fail, they overwrite
            // the old frames, which recovery expects (they hold committed records).
            let _ = self.file.set_len(0);
        }
    }
}

/// The records in the journal of the database at `db` from `seq` on, read without taking it
/// (none when there is no journal): a store that cannot open the journal for writing must not
/// read a database that lacks acknowledged records.
pub(super) fn records_from(db: &Path, seq: u64) -> Result<usize> {
    let path = journal_path(db);
    let file = OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&path);
    match file {
        Ok(f) => {
            regular_file(&f, &path)?;
            let frames = read_frames(&f, &path)?;
            Ok(frames
                .records
                .iter()
                .chain(frames.beyond.iter().flat_map(|(_, r)| r))
                .filter(|s| s.record.seq >= seq)
                .count())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(not_a_journal(&path, e)),
    }
}

/// The journal's metadata, once it is known to be a regular file (not a FIFO, a device or a
/// directory, which would hang or exhaust a reader).
fn regular_file(file: &File, path: &Path) -> Result<std::fs::Metadata> {
    let meta =
        file.metadata().map_err(|source| StoreError::Io { path: path.to_owned(), source })?;
    if !meta.file_type().is_file() {
        return Err(StoreError::Invalid(format!(
            "{} is not a regular file: the append journal is a file trail makes; move it away \
             and open the log again",
            path.display()
        )));
    }
    Ok(meta)
}

/// An open error, named: a symlink where the journal should be is refused as one.
fn not_a_journal(path: &Path, e: std::io::Error) -> StoreError {
    if e.raw_os_error() == Some(libc::ELOOP) {
        return StoreError::Invalid(format!(
            "{} is a symbolic link: the append journal is a file trail makes, never followed \
             through a link; move it away and open the log again",
            path.display()
        ));
    }
    StoreError::Io { path: path.to_owned(), source: e }
}

fn write_zeros(file: &File, from: u64, to: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; 1 << 20];
    let mut at = from;
    while at < to {
        let n = zeros.len().min((to - at) as usize);
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// What a journal holds: the whole frames from offset 0 up to the first that is not whole,
/// and whole frames found after that one (at block boundaries, each with its offset). Frames
/// after a torn write are left from before the journal last started again, and hold records
/// the database has; one that holds a record the database lacks means the journal was damaged
/// in the middle, and recovery refuses it.
pub(super) struct Frames {
    pub(super) records: Vec<Sealed>,
    /// Where the whole frames from offset 0 end.
    pub(super) end: usize,
    pub(super) beyond: Vec<(usize, Vec<Sealed>)>,
}

fn read_frames(file: &File, path: &Path) -> Result<Frames> {
    let mut bytes = Vec::with_capacity(JOURNAL_BYTES as usize);
    // Never more than a journal's size: a file grown by someone else is not read whole.
    file.take(JOURNAL_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|source| StoreError::Io { path: path.to_owned(), source })?;
    let decoded = |frame: &[u8], at: usize| {
        decode(frame).map_err(|reason| {
            StoreError::Invalid(format!("append journal {} at byte {at}: {reason}", path.display()))
        })
    };
    let mut records = Vec::new();
    let mut at = 0usize;
    while let Some((frame, packed)) = frame_at(&bytes, at) {
        records.extend(decoded(frame, at)?);
        at = next_frame((at + HEADER + frame.len()) as u64, packed) as usize;
    }
    let end = at;
    // Whole frames anywhere past the first that is not: packed frames start at any byte.
    let mut beyond = Vec::new();
    let mut from = end + 1;
    while let Some(found) = bytes.get(from..).and_then(|b| memchr::memmem::find(b, b"TRJ")) {
        let p = from + found;
        if let Some((frame, _)) = frame_at(&bytes, p) {
            // A frame that does not decode here is not one trail wrote whole: skip it.
            if let Ok(r) = decode(frame) {
                beyond.push((p, r));
            }
        }
        from = p + 1;
    }
    Ok(Frames { records, end, beyond })
}

/// Frames start on a block boundary, so a one-event frame is one block for the sync to write
/// (a frame across two blocks costs a second one).
const BLOCK: u64 = 4096;

/// Where the frame after one that ends at `end` starts.
fn next_frame(end: u64, packed: bool) -> u64 {
    if packed { end } else { end.div_ceil(BLOCK) * BLOCK }
}

/// Whether a batch is small enough to go through the journal.
pub(super) fn journaled(records: &[Sealed]) -> bool {
    (frame_len(records) as u64) <= JOURNAL_BYTES / 16
}

fn record_len(s: &Sealed) -> usize {
    4 + s.canonical.len() + 32 + 1 + s.body.as_ref().map_or(0, |b| 32 + 4 + b.canonical.len())
}

fn frame_len(records: &[Sealed]) -> usize {
    HEADER + 4 + records.iter().map(record_len).sum::<usize>()
}

fn encode(records: &[Sealed], packed: bool, buf: &mut Vec<u8>) {
    buf.clear();
    buf.reserve(frame_len(records));
    buf.extend_from_slice(if packed { MAGIC_PACKED } else { MAGIC });
    buf.extend_from_slice(&[0; 8]);
    buf.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for s in records {
        buf.extend_from_slice(&(s.canonical.len() as u32).to_le_bytes());
        buf.extend_from_slice(&s.canonical);
        buf.extend_from_slice(s.hash.as_bytes());
        match &s.body {
            Some(b) => {
                buf.push(1);
                buf.extend_from_slice(&b.salt);
                buf.extend_from_slice(&(b.canonical.len() as u32).to_le_bytes());
                buf.extend_from_slice(&b.canonical);
            }
            None => buf.push(0),
        }
    }
    let payload_len = (buf.len() - HEADER) as u32;
    let crc = crc32fast::hash(&buf[HEADER..]);
    buf[4..8].copy_from_slice(&payload_len.to_le_bytes());
    buf[8..12].copy_from_slice(&crc.to_le_bytes());
}

/// The payload of the whole frame at `at`, if one is there, and whether it is packed.
fn frame_at(bytes: &[u8], at: usize) -> Option<(&[u8], bool)> {
    let header = bytes.get(at..at + HEADER)?;
    let packed = match &header[..4] {
        m if m == MAGIC => false,
        m if m == MAGIC_PACKED => true,
        _ => return None,
    };
    let len = u32::from_le_bytes(header[4..8].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[8..12].try_into().ok()?);
    let payload = bytes.get(at + HEADER..(at + HEADER).checked_add(len)?)?;
    (crc32fast::hash(payload) == crc).then_some((payload, packed))
}

fn decode(mut p: &[u8]) -> std::result::Result<Vec<Sealed>, String> {
    fn take<'a>(p: &mut &'a [u8], n: usize) -> std::result::Result<&'a [u8], String> {
        if p.len() < n {
            return Err("a frame ends inside a record".into());
        }
        let (head, rest) = p.split_at(n);
        *p = rest;
        Ok(head)
    }
    fn u32_of(p: &mut &[u8]) -> std::result::Result<usize, String> {
        let b = take(p, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    let count = u32_of(&mut p)?;
    let mut out = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let n = u32_of(&mut p)?;
        let canonical = take(&mut p, n)?.to_vec();
        let hash = Hash::from_slice(take(&mut p, 32)?).map_err(|e| e.to_string())?;
        if leaf_hash(&canonical) != hash {
            return Err("a record's leaf hash does not match its bytes".into());
        }
        let record = Record::from_canonical(&canonical).map_err(|e| e.to_string())?;
        let body = match take(&mut p, 1)?[0] {
            0 => None,
            1 => {
                let salt: [u8; 32] = take(&mut p, 32)?.try_into().map_err(|_| "short salt")?;
                let n = u32_of(&mut p)?;
                Some(Body { salt, canonical: take(&mut p, n)?.to_vec() })
            }
            other => return Err(format!("unknown body flag {other}")),
        };
        out.push(Sealed { record, canonical, hash, body, fresh_id: false });
    }
    if !p.is_empty() {
        return Err("bytes after the last record of a frame".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_or_altered_frame_is_not_read() {
        let mut buf = Vec::new();
        encode(&[], false, &mut buf);
        assert_eq!(frame_at(&buf, 0).map(|f| f.1), Some(false));
        encode(&[], true, &mut buf);
        assert_eq!(frame_at(&buf, 0).map(|f| f.1), Some(true), "packed frames read as packed");
        for cut in 0..buf.len() {
            assert!(frame_at(&buf[..cut], 0).is_none(), "a frame cut at {cut} is not whole");
        }
        let mut altered = buf.clone();
        *altered.last_mut().expect("payload") ^= 1;
        assert!(frame_at(&altered, 0).is_none(), "the CRC catches a changed byte");
        assert!(frame_at(&[0u8; 64], 0).is_none(), "zeros are no frame");
    }
}

//! The ids of journaled records, by which an append is refused before the database sees it.

use std::collections::HashMap;

/// The ids of journaled records, with their seqs: a record's id stays here at least until the
/// record is committed to the database (whose unique index answers for it from then on), and
/// at most about two drains longer.
///
/// Ids leave a generation at a time, not one by one under the head's lock: a drain commits
/// hundreds of records, and removing each id while appends wait for that lock was most of the
/// time they waited. Answering from an id already committed is still right: the id is taken.
#[derive(Default)]
pub(super) struct JournaledIds {
    newer: HashMap<String, u64>,
    older: HashMap<String, u64>,
    /// The highest seq ever inserted: in `newer`, or in `older` when `newer` is empty.
    newest: Option<u64>,
    /// The highest seq in `older`.
    older_newest: Option<u64>,
}

impl JournaledIds {
    /// The seq of the journaled (or recently committed) record with this id.
    pub(super) fn get(&self, id: &str) -> Option<u64> {
        self.newer.get(id).or_else(|| self.older.get(id)).copied()
    }

    pub(super) fn insert(&mut self, id: String, seq: u64) {
        self.newest = self.newest.max(Some(seq));
        self.newer.insert(id, seq);
    }

    /// Every record below `committed` is in the database: the older generation goes once all
    /// of it is, and the newer one becomes the older. Returns what went, for the caller to
    /// drop once it has released the head's lock.
    #[must_use = "dropped under the caller's lock otherwise"]
    pub(super) fn committed(&mut self, committed: u64) -> HashMap<String, u64> {
        if self.older_newest.is_some_and(|s| s >= committed) {
            return HashMap::new();
        }
        self.older_newest = self.newest;
        let newer = std::mem::take(&mut self.newer);
        std::mem::replace(&mut self.older, newer)
    }

    /// How many ids are held (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_answered_until_its_record_is_committed_and_leaves_within_two_drains() {
        let mut ids = JournaledIds::default();
        ids.insert("a".into(), 0);
        ids.insert("b".into(), 1);
        // Nothing committed: both stay, though a generation turns over.
        drop(ids.committed(0));
        assert_eq!((ids.get("a"), ids.get("b")), (Some(0), Some(1)));
        ids.insert("c".into(), 2);
        // Only "a" committed: the older generation (a, b) holds "b", which is not.
        drop(ids.committed(1));
        assert_eq!((ids.get("a"), ids.get("b"), ids.get("c")), (Some(0), Some(1), Some(2)));
        // a and b committed: their generation goes; c (not committed) stays.
        assert_eq!(ids.committed(2).len(), 2);
        assert_eq!((ids.get("a"), ids.get("b"), ids.get("c")), (None, None, Some(2)));
        // c committed too: its generation goes at the next drain.
        assert_eq!(ids.committed(3).len(), 1);
        assert_eq!((ids.get("c"), ids.len()), (None, 0));
    }
}

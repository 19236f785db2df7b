//! Receipts: C2SP `tlog-proof@v1` bundles that prove one event to anyone with the log's key.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the record's canonical bytes>
//! index <seq>
//! <base64 inclusion proof hash>...
//!
//! <signed checkpoint>
//! ```
//! The `extra` line is unauthenticated by the format itself; here it is authenticated by the
//! proof, because the leaf hash is computed from it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use trail_merkle::{Hash, leaf_hash, verify_inclusion};

use crate::model::Record;
use crate::note::{NoteError, NoteVerifier, SignedCheckpoint};

/// The header line of a receipt.
pub const RECEIPT_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub record: Vec<u8>,
    pub index: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: SignedCheckpoint,
}

/// Why a receipt is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("malformed receipt: {0}")]
    Malformed(String),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    #[error("record: {0}")]
    Record(String),
    #[error("inclusion proof for index {index} in tree size {size} does not verify: {reason}")]
    Proof { index: u64, size: u64, reason: String },
}

impl Receipt {
    /// Builds the receipt text.
    pub fn to_text(&self) -> String {
        let mut s =
            format!("{RECEIPT_HEADER}\nextra {}\nindex {}\n", B64.encode(&self.record), self.index);
        for h in &self.proof {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint.to_string());
        s
    }

    /// Parses receipt text without verifying it.
    pub fn parse(text: &str) -> Result<Receipt, ReceiptError> {
        let malformed = |m: &str| ReceiptError::Malformed(m.to_owned());
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(RECEIPT_HEADER) {
            return Err(malformed("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| malformed("no index line"))?;
        let mut record = None;
        if let Some(extra) = line.strip_prefix("extra ") {
            record = Some(B64.decode(extra).map_err(|_| malformed("extra line is not base64"))?);
            line = lines.next().ok_or_else(|| malformed("no index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| malformed("expected an `index <n>` line"))?;
        let mut proof = Vec::new();
        for l in lines {
            proof.push(
                Hash::from_base64(l)
                    .map_err(|_| malformed("inclusion proof line is not a base64 32-byte hash"))?,
            );
        }
        let record = record.ok_or_else(|| {
            malformed("no extra line: a trail receipt carries the record's canonical bytes")
        })?;
        let checkpoint = SignedCheckpoint::parse(checkpoint)?;
        Ok(Receipt { record, index, proof, checkpoint })
    }

    /// Verifies the checkpoint signature, the record and the inclusion proof; returns the record.
    pub fn verify(&self, verifiers: &[NoteVerifier]) -> Result<Record, ReceiptError> {
        self.checkpoint.verify(verifiers)?;
        let record = Record::from_canonical(&self.record)
            .map_err(|e| ReceiptError::Record(e.to_string()))?;
        let cp = &self.checkpoint.checkpoint;
        if record.seq != self.index {
            return Err(ReceiptError::Record(format!(
                "record seq {} is not the receipt index {}",
                record.seq, self.index
            )));
        }
        if record.origin != cp.origin {
            return Err(ReceiptError::Record(format!(
                "record origin {:?} is not the checkpoint origin {:?}",
                record.origin, cp.origin
            )));
        }
        verify_inclusion(&leaf_hash(&self.record), self.index, cp.size, &self.proof, &cp.root)
            .map_err(|e| ReceiptError::Proof {
                index: self.index,
                size: cp.size,
                reason: e.to_string(),
            })?;
        Ok(record)
    }
}

//! The `add-checkpoint` call of C2SP `tlog-witness`.
//!
//! Request body: `old <size>\n`, at most 63 base64 consistency-proof hashes one per line, an empty
//! line, then the signed checkpoint. Answers: 200 with cosignature lines; 400 a malformed request
//! or an old size above the checkpoint's; 403 no valid signature by a key the witness trusts for
//! the origin; 404 an unknown origin; 409 an old size that is not the witness's (the body is its
//! size, `text/x.tlog.size`); 422 a proof that does not verify, a same-size checkpoint with
//! another root, or an empty tree with a root that is not the empty tree's.

use std::fmt::Write as _;

use trail_merkle::Hash;

/// The most consistency-proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;
/// The content type of a 409's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the latest checkpoint the client believes the witness cosigned.
    pub old: u64,
    /// A consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, as sent (a note: body, blank line, signature lines).
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// Parses a request body; a malformed one is a 400.
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
        let body = std::str::from_utf8(body)
            .map_err(|_| Refusal::BadRequest("the request body is not UTF-8".into()))?;
        let (head, checkpoint) = body.split_once("\n\n").ok_or_else(|| {
            Refusal::BadRequest(
                "no empty line between the old size and proof and the checkpoint".into(),
            )
        })?;
        let mut lines = head.split('\n');
        let old_line = lines.next().unwrap_or_default();
        let old = old_line.strip_prefix("old ").and_then(decimal).ok_or_else(|| {
            Refusal::BadRequest(format!(
                "the first line {:?} is not \"old <size>\"",
                short(old_line)
            ))
        })?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(Refusal::BadRequest(format!(
                    "more than {MAX_PROOF_LINES} proof lines"
                )));
            }
            proof.push(Hash::from_base64(line).map_err(|_| {
                Refusal::BadRequest(format!(
                    "proof line {:?} is not a base64 32-byte hash",
                    short(line)
                ))
            })?);
        }
        Ok(AddCheckpoint { old, proof, checkpoint: checkpoint.to_owned() })
    }

    /// The request body.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            let _ = writeln!(out, "{}", h.to_base64());
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }
}

/// An ASCII decimal with no leading zeros (`0` alone for zero).
pub fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// Why a witness does not cosign, with the status the spec gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("unknown log {0:?}: this witness does not witness it")]
    UnknownLog(String),
    /// The old size is not the size this witness last cosigned, which is `size`.
    #[error("the witness last cosigned size {size} of this log")]
    Conflict { size: u64 },
    #[error("{0}")]
    Unprocessable(String),
    #[error("too many requests for log {0:?}; retry later")]
    TooMany(String),
    /// The state could not be read or saved; nothing was cosigned.
    #[error("the witness cannot keep its state: {0}")]
    Storage(String),
}

impl Refusal {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::Forbidden(_) => 403,
            Refusal::UnknownLog(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::Unprocessable(_) => 422,
            Refusal::TooMany(_) => 429,
            Refusal::Storage(_) => 503,
        }
    }

    /// The response body: the size for a 409, else the reason and a newline.
    pub fn body(&self) -> String {
        match self {
            Refusal::Conflict { size } => format!("{size}\n"),
            other => format!("{other}\n"),
        }
    }

    /// The response content type.
    pub fn content_type(&self) -> &'static str {
        match self {
            Refusal::Conflict { .. } => SIZE_CONTENT_TYPE,
            _ => "text/plain; charset=utf-8",
        }
    }
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]
    use super::*;

    #[test]
    fn request_round_trips_and_rejects_what_the_spec_forbids() {
        let req = AddCheckpoint {
            old: 20,
            proof: vec![Hash([1; 32]), Hash([2; 32])],
            checkpoint: "o\n21\nAAAA\n\n— o x\n".into(),
        };
        assert_eq!(AddCheckpoint::parse(req.to_body().as_bytes()).unwrap(), req);
        for bad in ["old 01\n\nx", "old -1\n\nx", "old 1", "new 1\n\nx", "old 1\nnot-a-hash\n\nx"] {
            let r = AddCheckpoint::parse(bad.as_bytes()).unwrap_err();
            assert_eq!(r.status(), 400, "{bad:?}: {r}");
        }
        let many = format!("old 1\n{}\nx", format!("{}\n", Hash::ZERO.to_base64()).repeat(64));
        assert_eq!(AddCheckpoint::parse(many.as_bytes()).unwrap_err().status(), 400);
        assert_eq!(Refusal::Conflict { size: 7 }.body(), "7\n");
        assert_eq!(Refusal::Conflict { size: 7 }.content_type(), "text/x.tlog.size");
    }
}

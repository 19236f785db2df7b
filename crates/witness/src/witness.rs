//! The witness: the checks of `add-checkpoint`, in the order C2SP `tlog-witness` gives them,
//! and the cosignature.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use trail_core::note::NoteError;
use trail_core::{NoteSigner, NoteVerifier, SignedCheckpoint};
use trail_merkle::{empty_root, verify_consistency};

use crate::protocol::{AddCheckpoint, Refusal};
use crate::rate::RateLimiter;
use crate::state::StateDir;

/// A witness: its key, the logs it witnesses, and what it cosigned.
pub struct Witness {
    signer: NoteSigner,
    logs: BTreeMap<String, Vec<NoteVerifier>>,
    state: StateDir,
    /// Held from reading a log's state to saving the new one: two requests for one log cannot
    /// both pass the old-size check (the spec's rollback race).
    lock: Mutex<()>,
    clock: fn() -> u64,
    /// Requests per log, counted once the log's signature has verified (so nobody else can
    /// spend a log's budget).
    rate: Option<RateLimiter>,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("name", &self.signer.name()).finish_non_exhaustive()
    }
}

impl Witness {
    /// A witness signing with `signer` (a cosigner key) for `logs` (origin → trusted log keys),
    /// keeping its state under `dir`.
    pub fn new(
        signer: NoteSigner,
        logs: BTreeMap<String, Vec<NoteVerifier>>,
        dir: &Path,
    ) -> Result<Witness, String> {
        if !signer.is_cosigner() {
            return Err(format!("{} is not a witness key (type 0x04)", signer.name()));
        }
        let state = StateDir::open(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Witness { signer, logs, state, lock: Mutex::new(()), clock: unix_now, rate: None })
    }

    /// Limits each log to `per_second` verified requests a second, in bursts of up to four
    /// seconds' worth.
    pub fn with_rate_limit(mut self, per_second: u32) -> Witness {
        self.rate = Some(RateLimiter::new(per_second));
        self
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: fn() -> u64) -> Witness {
        self.clock = clock;
        self
    }

    /// The witness's name (its key's).
    pub fn name(&self) -> &str {
        self.signer.name()
    }

    /// Whether the witness knows this log.
    pub fn knows(&self, origin: &str) -> bool {
        self.logs.contains_key(origin)
    }

    /// The origins witnessed.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// The latest checkpoint cosigned for the log whose origin hashes to `origin_hash`, with the
    /// log's signature and this witness's cosignature (the monitoring endpoint).
    pub fn latest(&self, origin_hash: &str) -> Result<Option<SignedCheckpoint>, Refusal> {
        let Some(origin) = self.logs.keys().find(|o| crate::state::origin_hash(o) == origin_hash)
        else {
            return Ok(None);
        };
        self.load(origin)
    }

    /// What this witness cosigned of `origin`, checked: the file must hold a checkpoint of that
    /// origin signed by one of its trusted keys and cosigned by this witness, so an edited state
    /// file is refused, not trusted (an edited size or root would let a fork be cosigned).
    pub fn load(&self, origin: &str) -> Result<Option<SignedCheckpoint>, Refusal> {
        let Some(cp) = self.state.load(origin).map_err(|e| Refusal::Storage(e.to_string()))? else {
            return Ok(None);
        };
        let keys = self.logs.get(origin).map(Vec::as_slice).unwrap_or_default();
        let own = self.signer.verifier();
        let mut all = keys.to_vec();
        all.push(own.clone());
        let checked = cp.verify(&all).map_err(|e| e.to_string()).and_then(|()| {
            if cp.note.cosigned_by(std::slice::from_ref(&own)).is_empty() {
                Err("it carries no cosignature of this witness".to_owned())
            } else {
                Ok(())
            }
        });
        if let Err(why) = checked {
            return Err(Refusal::Storage(format!(
                "the state of log {origin:?} ({}) does not verify ({why}): it was altered, or the \
                 log's key it was signed with is no longer in witness.toml; restore it from a \
                 backup, or remove it to cosign the log afresh from its next checkpoint",
                self.state.path(origin).display()
            )));
        }
        Ok(Some(cp))
    }

    /// Answers an `add-checkpoint` request: the cosignature lines (each ending in a newline), or
    /// why not. The new state is on disk before this returns.
    pub fn add_checkpoint(&self, req: &AddCheckpoint) -> Result<String, Refusal> {
        let signed = SignedCheckpoint::parse(&req.checkpoint)
            .map_err(|e| Refusal::BadRequest(format!("checkpoint: {e}")))?;
        let cp = &signed.checkpoint;
        let keys =
            self.logs.get(&cp.origin).ok_or_else(|| Refusal::UnknownLog(cp.origin.clone()))?;
        // Signatures by unknown keys are ignored; a bad one by a known key is a forgery.
        match signed.note.verify(keys) {
            Ok(_) => {}
            Err(e @ (NoteError::BadSignature { .. } | NoteError::NoKnownSignature { .. })) => {
                return Err(Refusal::Forbidden(format!("checkpoint of {:?}: {e}", cp.origin)));
            }
            Err(e) => return Err(Refusal::BadRequest(format!("checkpoint: {e}"))),
        }
        if let Some(rate) = &self.rate
            && !rate.take(&cp.origin, std::time::Instant::now())
        {
            return Err(Refusal::TooMany(cp.origin.clone()));
        }
        if req.old > cp.size {
            return Err(Refusal::BadRequest(format!(
                "old size {} is larger than the checkpoint's size {}",
                req.old, cp.size
            )));
        }
        let _guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let last = self.load(&cp.origin)?;
        let last_size = last.as_ref().map_or(0, |l| l.checkpoint.size);
        if req.old != last_size {
            return Err(Refusal::Conflict { size: last_size });
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(Refusal::Unprocessable(
                "a checkpoint of size 0 must have the empty tree's root".into(),
            ));
        }
        match &last {
            // The empty tree is consistent with every tree.
            _ if req.old == 0 && !req.proof.is_empty() => {
                return Err(Refusal::Unprocessable("old size 0 takes no consistency proof".into()));
            }
            _ if req.old == 0 => {}
            None => {}
            Some(last) if last.checkpoint.size == cp.size => {
                if last.checkpoint.root != cp.root {
                    // Two signed tree heads of one size: proof that the log forked. Kept.
                    let kept = self.state.keep_evidence(&signed);
                    return Err(Refusal::Unprocessable(format!(
                        "log {:?} forked: size {} was cosigned with root {}, and this checkpoint \
                         signed by the log has root {}{}",
                        cp.origin,
                        cp.size,
                        last.checkpoint.root.to_base64(),
                        cp.root.to_base64(),
                        kept.map(|p| format!(" (kept in {})", p.display())).unwrap_or_default()
                    )));
                }
                if !req.proof.is_empty() {
                    return Err(Refusal::Unprocessable(
                        "a checkpoint of the cosigned size takes no consistency proof".into(),
                    ));
                }
            }
            Some(last) => {
                verify_consistency(
                    last.checkpoint.size,
                    cp.size,
                    &req.proof,
                    &last.checkpoint.root,
                    &cp.root,
                )
                .map_err(|e| {
                    Refusal::Unprocessable(format!(
                        "log {:?}: the consistency proof from size {} (cosigned) to {} does not \
                         verify ({e}): a bad proof, or a fork",
                        cp.origin, last.checkpoint.size, cp.size
                    ))
                })?;
            }
        }
        let time = (self.clock)().max(1);
        let cosignature = self
            .signer
            .cosign(&signed.note.text, time)
            .map_err(|e| Refusal::BadRequest(format!("checkpoint: {e}")))?;
        // Keep the log's signature that verified and this witness's cosignature, nothing else a
        // client sent.
        let mut kept = signed.clone();
        kept.note
            .signatures
            .retain(|s| keys.iter().any(|k| k.name() == s.name && k.key_id() == s.key_id));
        kept.note.push_signature(cosignature.clone());
        self.state.save(&kept).map_err(|e| Refusal::Storage(e.to_string()))?;
        crate::state::abort_at("answer");
        Ok(format!("{}\n", cosignature.line()))
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs())
}

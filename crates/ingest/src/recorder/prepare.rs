//! Preparing an event on the caller's task before it is queued: validate, scan and redact the
//! body and string fields under the log's policy, canonicalize.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use trail_core::{Event, FindingSummary, Timestamp};

use super::Recorder;
use crate::queue::Job;
use crate::{Appended, RecordError};

impl Recorder {
    /// Scans every string field of the event under the log's policy, as the body is: a
    /// credential in `action` or `usage.model` is redacted in place (the field keeps the rest of
    /// its text), and findings name the field as `@action`, `@usage.model`. The `id` is never
    /// rewritten (retries find their events by it): an id holding something the policy redacts
    /// or blocks refuses the event, naming the field.
    fn scan_fields(
        &self,
        event: &mut Event,
        findings: &mut Vec<FindingSummary>,
    ) -> Result<(), RecordError> {
        let policy = &self.config.policy;
        let tag = self.config.redaction_tag_key.as_deref();
        if let Some(id) = &event.id
            && let Some(kind) = trail_scan::json::must_change(&self.scanner, policy, id)
        {
            return Err(RecordError::Blocked(format!(
                "field `id`: holds a value of type {} that the log's policy does not let it \
                 store; ids are kept exactly as sent (retries find their events by them), so \
                 choose an id without it",
                kind.as_str().to_ascii_lowercase()
            )));
        }
        let f = &mut event.fields;
        let model = f.usage.as_mut().map(|u| &mut u.model);
        let mut strings: Vec<(&str, &mut String)> = Vec::new();
        if let Some(id) = event.id.as_mut() {
            strings.push(("@id", id));
        }
        strings.push(("@kind", &mut f.kind));
        for (name, v) in [
            ("@category", &mut f.category),
            ("@action", &mut f.action),
            ("@status", &mut f.status),
            ("@agent", &mut f.agent),
            ("@session", &mut f.session),
            ("@conversation", &mut f.conversation),
            ("@actor", &mut f.actor),
            ("@source", &mut f.source),
            ("@trace_id", &mut f.trace_id),
            ("@span_id", &mut f.span_id),
        ] {
            if let Some(v) = v.as_mut() {
                strings.push((name, v));
            }
        }
        if let Some(Some(m)) = model {
            strings.push(("@usage.model", m));
        }
        for (path, value) in strings {
            let (new, found) = trail_scan::json::scan_str(&self.scanner, policy, value, path, tag)
                .map_err(|b| RecordError::Blocked(b.to_string()))?;
            if let Some(new) = new {
                *value = new;
            }
            findings.extend(found.into_iter().map(|f| FindingSummary {
                path: f.path,
                kind: f.kind.as_str().to_ascii_lowercase(),
                count: f.count,
            }));
        }
        Ok(())
    }

    /// Validates, scans and canonicalizes on the caller's task, so the sequencer only seals.
    pub(super) fn prepare(
        &self,
        mut event: Event,
    ) -> Result<(Job, oneshot::Receiver<Result<Appended, RecordError>>), RecordError> {
        let result = (|| {
            // `Event::prepare` below validates the fields and canonicalizes the body, so the
            // event is not validated twice.
            let mut findings = Vec::new();
            if self.config.drop_tool_args
                && event.fields.kind == "tool_call"
                && let Some(serde_json::Value::Object(body)) = event.body.as_mut()
            {
                body.remove("args");
            }
            if let Some(body) = event.body.as_mut().filter(|_| self.scanning) {
                let found = trail_scan::json::scan_value(
                    &self.scanner,
                    &self.config.policy,
                    body,
                    self.config.redaction_tag_key.as_deref(),
                )
                .map_err(|b| RecordError::Blocked(b.to_string()))?;
                findings = found
                    .into_iter()
                    .map(|f| FindingSummary {
                        path: f.path,
                        kind: f.kind.as_str().to_ascii_lowercase(),
                        count: f.count,
                    })
                    .collect();
            }
            if self.scanning {
                self.scan_fields(&mut event, &mut findings)?;
            }
            if !findings.is_empty() {
                self.metrics.findings.fetch_add(findings.len() as u64, Ordering::Relaxed);
                tracing::info!(findings = findings.len(), kinds = %kinds(&findings), "scanner findings in event");
            }
            let fresh_id = event.id.is_none();
            let id = event.id.clone().unwrap_or_else(new_id);
            let time = event.time.unwrap_or_else(now);
            let salt: [u8; 32] = rand::random();
            let mut prepared = event.prepare(id, time, findings, salt)?;
            prepared.fresh_id = fresh_id;
            Ok::<_, RecordError>(prepared)
        })();
        let prepared = result.inspect_err(|e| {
            let counter = match e {
                RecordError::Blocked(_) => &self.metrics.rejected_blocked,
                _ => &self.metrics.rejected_invalid,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        })?;
        let (reply, rx) = oneshot::channel();
        Ok((Job { prepared, reply }, rx))
    }
}

fn kinds(findings: &[FindingSummary]) -> String {
    let mut k: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    k.sort_unstable();
    k.dedup();
    k.join(",")
}

/// The current time from the system clock.
pub fn now() -> Timestamp {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    Timestamp::from_unix_nanos(i64::try_from(nanos).unwrap_or(i64::MAX))
}

/// A new UUIDv7: the time in milliseconds, then 74 random bits from the thread's generator (the
/// operating system's, through `Uuid::now_v7`, costs a system call per id).
fn new_id() -> String {
    let millis = u64::try_from(now().unix_nanos() / 1_000_000).unwrap_or(0);
    let random: [u8; 10] = rand::random();
    let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid();
    // Encoded into a buffer, not through `Display` and the formatting machinery.
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid.hyphenated().encode_lower(&mut buf).to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn new_ids_are_uuid_v7_in_their_usual_text() {
        let id = super::new_id();
        let parsed = uuid::Uuid::parse_str(&id).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(id, parsed.to_string(), "lower case, hyphenated");
        assert_ne!(super::new_id(), id);
    }
}

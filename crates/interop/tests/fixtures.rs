//! The importers and the Harness check on files made by the systems' own code (see
//! `testdata/README.md` for how each fixture was made).

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use trail_core::Event;
use trail_interop::harness::{self, HarnessVerdict, Verification};
use trail_interop::{ImportBatch, System};

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(rel)
}

fn verify_file(rel: &str) -> Verification {
    let path = testdata(rel);
    let bytes = std::fs::read(&path).unwrap();
    harness::verify(&bytes, path.file_name().and_then(|n| n.to_str()))
}

/// Harness's own answer, in the form `harness_tamper_cases.py` wrote it.
fn harness_text(v: &HarnessVerdict) -> String {
    match v {
        HarnessVerdict::Answer { valid, errors } => {
            let mut s = format!("valid={}\n", if *valid { "True" } else { "False" });
            for e in errors {
                s.push_str(e);
                s.push('\n');
            }
            s
        }
        HarnessVerdict::Crash { exception, .. } => format!("crash: {exception}\n"),
        HarnessVerdict::Unknown { reason, .. } => format!("unknown: {reason}\n"),
    }
}

/// Checks one tampered file: the answer Harness's verifier gave on it (recorded in
/// `<case>.verdict`) must be exactly the answer this crate predicts, and our own problem list
/// must be `expect` (line and code of each problem).
fn check_tamper(case: &str, expect: &[(u64, &str)]) {
    let v = verify_file(&format!("harness/tamper/{case}.jsonl"));
    let recorded =
        std::fs::read_to_string(testdata(&format!("harness/tamper/{case}.verdict"))).unwrap();
    assert_eq!(harness_text(&v.harness), recorded, "case {case}: Harness's verdict");
    let got: Vec<(u64, &str)> = v.problems.iter().map(|p| (p.line, p.code)).collect();
    assert_eq!(got, expect, "case {case}: {:#?}", v.problems);
    // Where Harness answers, our verdict agrees with it.
    if let HarnessVerdict::Answer { valid, .. } = v.harness {
        assert_eq!(v.is_valid(), valid, "case {case}");
    }
}

#[test]
fn harness_sample_is_valid_as_harness_says() {
    let v = verify_file("harness/audit-fixture-session.jsonl");
    assert!(v.is_valid(), "{:#?}", v.problems);
    assert_eq!((v.lines, v.events), (23, 23));
    assert_eq!(v.sessions, ["fixture-session"]);
    assert_eq!(v.harness, HarnessVerdict::Answer { valid: true, errors: vec![] });
    assert!(v.notes.is_empty(), "{:?}", v.notes);
}

#[test]
fn tamper_modify_keep_hash() {
    // The next line names the stored hash, so only the edited line is reported.
    check_tamper("modify_keep_hash", &[(4, "hash_mismatch")]);
}

#[test]
fn tamper_modify_rehash_one() {
    check_tamper("modify_rehash_one", &[(5, "prev_hash_mismatch")]);
}

#[test]
fn tamper_modify_rehash_all_passes_as_in_harness() {
    check_tamper("modify_rehash_all", &[]);
}

#[test]
fn tamper_truncation_and_empty_pass_as_in_harness() {
    check_tamper("drop_last_three", &[]);
    check_tamper("empty", &[]);
}

#[test]
fn tamper_deleted_swapped_duplicated_lines() {
    check_tamper("delete_line_5", &[(5, "prev_hash_mismatch")]);
    check_tamper("delete_first", &[(1, "prev_hash_mismatch")]);
    check_tamper(
        "swap_lines",
        &[(7, "prev_hash_mismatch"), (8, "prev_hash_mismatch"), (9, "prev_hash_mismatch")],
    );
    check_tamper("duplicate_line", &[(10, "prev_hash_mismatch")]);
}

#[test]
fn tamper_invalid_json_is_reported_and_checking_goes_on() {
    // Harness stops at the bad line; we report it and keep checking the lines after it.
    check_tamper("invalid_json", &[(6, "invalid_json")]);
    let v = verify_file("harness/tamper/invalid_json.jsonl");
    assert!(
        v.notes
            .iter()
            .any(|n| n == "line 7: prev_hash not checked: line 6 before it could not be read"),
        "{:?}",
        v.notes
    );
}

#[test]
fn tamper_missing_hash_and_changed_type() {
    check_tamper("hash_missing", &[(3, "hash_missing"), (4, "prev_hash_mismatch")]);
    check_tamper("timestamp_int", &[(5, "hash_mismatch")]);
}

#[test]
fn tamper_reformatted_file_still_verifies_as_in_harness() {
    check_tamper("reformatted", &[]);
}

#[test]
fn tamper_reopened_session_restarts_the_chain() {
    check_tamper("reopened_session", &[(3, "prev_hash_mismatch")]);
    let v = verify_file("harness/tamper/reopened_session.jsonl");
    assert!(
        v.problems[0].message.contains("a second chain starts here"),
        "{}",
        v.problems[0].message
    );
}

#[test]
fn tamper_lines_harness_crashes_on_are_reported() {
    check_tamper("not_an_object", &[(3, "not_object")]);
    check_tamper("prev_hash_number", &[(2, "hash_mismatch"), (2, "prev_hash_not_string")]);
    check_tamper("hash_number", &[(2, "hash_not_string")]);
    assert_eq!(
        verify_file("harness/tamper/not_an_object.jsonl").harness,
        HarnessVerdict::Crash { line: 3, exception: "AttributeError".into() }
    );
}

#[test]
fn tamper_nan_is_accepted_as_in_harness() {
    check_tamper("nan_value", &[]);
    let v = verify_file("harness/tamper/nan_value.jsonl");
    assert!(v.notes.iter().any(|n| n.contains("NaN")), "{:?}", v.notes);
}

#[test]
fn garbage_never_panics() {
    for input in [
        &b"\xff\xfe\n{}\n"[..],
        b"{\"hash\": [1], \"prev_hash\": {}}\n",
        b"{\"prev_hash\": null}\n{\"prev_hash\": null}\n",
        b"\n\n\r\r\n",
        b"[[[[[[[[[[",
        b"\"\\ud800\"",
        b"{\"event_id\":1,\"timestamp\":\"x\",\"data\":1e999}",
    ] {
        let v = harness::verify(input, None);
        assert!(!v.is_valid() || v.events == 0, "{input:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Importers

fn import(system: System, rel: &str) -> ImportBatch {
    trail_interop::read(system, &testdata(rel)).unwrap()
}

fn by_id<'a>(batch: &'a ImportBatch, id: &str) -> &'a Event {
    batch
        .events
        .iter()
        .find(|e| e.id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no event {id}"))
}

/// The record fields of an event as JSON (without the body), for compact comparisons.
fn fields(e: &Event) -> Value {
    let mut v = serde_json::to_value(e).unwrap();
    v.as_object_mut().unwrap().remove("body");
    v
}

#[test]
fn harness_import_maps_every_event() {
    let b = import(System::Harness, "harness/audit-fixture-session.jsonl");
    assert_eq!((b.items, b.events.len(), b.chain_valid), (23, 24, Some(true)));
    let first = &b.events[0];
    assert_eq!(first.fields.kind, "trail.import");
    let body = first.body.as_ref().unwrap();
    assert_eq!(body["verdict"], "valid");
    assert_eq!(body["harness_verdict"], json!({"outcome": "answer", "valid": true, "errors": []}));
    assert!(body["cannot_prove"].as_str().unwrap().contains("cut events off the end"));

    let lines: Vec<Value> =
        std::fs::read_to_string(testdata("harness/audit-fixture-session.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
            .collect();
    let id = |n: usize| format!("harness:{}", lines[n - 1]["event_id"].as_str().unwrap());
    // The float epoch becomes UTC with nine digits, rounded to the microsecond.
    let ts = lines[0]["timestamp"].as_f64().unwrap();
    let t = trail_core::Timestamp::from_unix_seconds_f64(ts).unwrap();
    assert_eq!(by_id(&b, &id(1)).time, Some(t));
    assert_eq!(
        fields(by_id(&b, &id(8))),
        json!({"id": id(8), "time": by_id(&b, &id(8)).time.unwrap().to_string(), "kind": "provider_call", "category": "llm", "action": "anthropic",
               "session": "fixture-session", "source": "harness",
               "usage": {"input_tokens": 2500, "output_tokens": 800, "cost_usd": 0.0195, "model": "claude-sonnet-4-20250514"}})
    );
    assert_eq!(by_id(&b, &id(7)).fields.status.as_deref(), Some("error"));
    assert_eq!(by_id(&b, &id(11)).fields.status.as_deref(), Some("denied"));
    assert_eq!(by_id(&b, &id(19)).fields.status.as_deref(), Some("pending"));
    // The whole Harness event is in the body, hashes included; the big integer is kept as text.
    let big = by_id(&b, &id(10)).body.as_ref().unwrap();
    assert_eq!(big["harness"]["data"]["args"]["count"], "1180591620717411303424");
    assert_eq!(big["harness"]["hash"], lines[9]["hash"]);
    // -0.0 is kept as text too (JCS drops its sign); integral floats are listed so a Harness
    // export can give them back their type.
    assert_eq!(
        big["import"],
        json!({"file": "audit-fixture-session.jsonl", "line": 10,
               "kept_as_text": ["/harness/data/args/count", "/harness/data/args/neg"],
               "integral_floats": ["/harness/data/args/ratio", "/harness/data/args/neg"]})
    );
    // Nothing else is lost: every other line's harness object equals the file's line.
    for (n, line) in lines.iter().enumerate() {
        if n + 1 != 10 {
            assert_eq!(
                &by_id(&b, &id(n + 1)).body.as_ref().unwrap()["harness"],
                line,
                "line {}",
                n + 1
            );
        }
    }
}

#[test]
fn harness_import_records_the_chain_verdict_of_a_tampered_file() {
    let b = import(System::Harness, "harness/tamper/modify_keep_hash.jsonl");
    assert_eq!(b.chain_valid, Some(false));
    let body = b.events[0].body.as_ref().unwrap();
    assert_eq!(body["verdict"], "invalid");
    assert_eq!(body["problems"][0]["line"], 4);
    assert_eq!(body["problems"][0]["code"], "hash_mismatch");
    let line4 = &b.events[4];
    assert_eq!(
        line4.body.as_ref().unwrap()["import"]["chain_problems"][0]["code"],
        "hash_mismatch"
    );
}

#[test]
fn harness_import_refuses_unreadable_lines_naming_them() {
    let err = trail_interop::read(System::Harness, &testdata("harness/tamper/invalid_json.jsonl"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("invalid_json.jsonl: line 6: invalid JSON — Expecting value: line 1 column 14 (char 13); nothing was imported"), "{msg}");
}

#[test]
fn agenticapi_import_splits_traces_into_stages() {
    let b = import(System::AgenticApi, "agenticapi/audit.sqlite");
    assert_eq!(b.items, 20);
    assert_eq!(b.chain_valid, None);
    let kinds = |k: &str| b.events.iter().filter(|e| e.fields.kind == k).count();
    assert_eq!(kinds("intent"), 20);
    assert_eq!(kinds("execution"), 20);
    assert_eq!(kinds("approval"), 2);
    assert_eq!(kinds("policy_evaluation"), 2 * 16);
    assert_eq!(b.events.len(), 1 + 20 + kinds("code_generation") + 32 + 20 + 2);

    // A timestamp stored without a fraction (microsecond 0) and one from a +02:00 time.
    let t3 = by_id(&b, "agenticapi:03a1b2c3d4e5f60718293a4b5c6d7e8f:intent");
    assert_eq!(t3.time.unwrap().to_string(), "2025-06-01T13:00:00.000000000Z");
    let t4 = by_id(&b, "agenticapi:04a1b2c3d4e5f60718293a4b5c6d7e8f:intent");
    assert_eq!(t4.time.unwrap().to_string(), "2025-06-01T13:30:00.250000000Z");
    assert_eq!(
        fields(t4),
        json!({"id": "agenticapi:04a1b2c3d4e5f60718293a4b5c6d7e8f:intent", "time": "2025-06-01T13:30:00.250000000Z",
               "kind": "intent", "category": "intent", "action": "write", "agent": "orders", "source": "agenticapi",
               "trace_id": "04a1b2c3d4e5f60718293a4b5c6d7e8f"})
    );
    let denied = by_id(&b, "agenticapi:02a1b2c3d4e5f60718293a4b5c6d7e8f:policy:1");
    assert_eq!(
        (denied.fields.action.as_deref(), denied.fields.status.as_deref()),
        (Some("DataPolicy"), Some("denied"))
    );
    let exec = by_id(&b, "agenticapi:02a1b2c3d4e5f60718293a4b5c6d7e8f:execution");
    assert_eq!((exec.fields.status.as_deref(), exec.fields.duration_ms), (Some("error"), Some(25)));
    let code = by_id(&b, "agenticapi:02a1b2c3d4e5f60718293a4b5c6d7e8f:code_generation");
    let usage = code.fields.usage.as_ref().unwrap();
    assert_eq!((usage.input_tokens, usage.output_tokens), (Some(102), Some(22)));
    // A Decimal result was stored as the JSON string "1.10"; a plain string stays a string.
    let dec = by_id(&b, "agenticapi:08a1b2c3d4e5f60718293a4b5c6d7e8f:execution");
    assert_eq!(dec.body.as_ref().unwrap()["agenticapi"]["execution_result"], "1.10");
    let stream = by_id(&b, "agenticapi:14a1b2c3d4e5f60718293a4b5c6d7e8f:execution");
    assert_eq!(stream.body.as_ref().unwrap()["agenticapi"]["stream_events"][2]["kind"], "final");
    // The overwritten trace holds only its second recording (INSERT OR REPLACE lost the first).
    let replaced = by_id(&b, "agenticapi:ffffffffffffffffffffffffffffffff:execution");
    assert_eq!(replaced.fields.status.as_deref(), Some("ok"));
    assert_eq!(replaced.time.unwrap().to_string(), "2025-06-02T09:00:00.000005000Z");
    // Every column of every trace lands in some stage's body.
    for trace in b.events.iter().filter(|e| e.fields.kind == "intent") {
        let tid = trace.fields.trace_id.clone().unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for e in b.events.iter().filter(|e| e.fields.trace_id.as_deref() == Some(tid.as_str())) {
            for k in e.body.as_ref().unwrap()["agenticapi"].as_object().unwrap().keys() {
                seen.insert(k.clone());
            }
        }
        for col in [
            "trace_id",
            "timestamp",
            "endpoint_name",
            "intent_raw",
            "intent_action",
            "generated_code",
            "reasoning",
            "execution_duration_ms",
            "execution_result",
            "error",
            "llm_usage",
            "approval_request_id",
            "stream_events",
        ] {
            assert!(seen.contains(col), "trace {tid}: column {col} not kept");
        }
    }
}

#[test]
fn denkeeper_import_normalises_mixed_offsets() {
    let b = import(System::Denkeeper, "denkeeper/audit.db");
    assert_eq!((b.items, b.events.len()), (12, 13));
    let time = |id: &str| by_id(&b, id).time.unwrap().to_string();
    assert_eq!(time("denkeeper:1"), "2025-01-01T00:00:00.000000000Z");
    assert_eq!(time("denkeeper:2"), "2025-01-01T00:00:00.500000000Z");
    assert_eq!(time("denkeeper:3"), "2025-01-01T00:00:00.123456789Z");
    assert_eq!(time("denkeeper:4"), "2025-01-01T00:00:01.000000000Z");
    assert_eq!(time("denkeeper:5"), "2025-01-01T00:00:02.250000000Z");
    assert_eq!(time("denkeeper:10"), "2025-01-01T00:00:06.000000000Z");
    // Normalised times sort as times: in denkeeper's text `...00.5Z` sorted before `...00Z`.
    assert!(time("denkeeper:1") < time("denkeeper:2"));
    assert!(time("denkeeper:3") < time("denkeeper:2"));

    assert_eq!(
        fields(by_id(&b, "denkeeper:3")),
        json!({"id": "denkeeper:3", "time": "2025-01-01T00:00:00.123456789Z", "kind": "tool_call", "category": "tool_call",
               "action": "web_search", "status": "ok", "agent": "main", "conversation": "conv-1", "source": "denkeeper", "duration_ms": 840})
    );
    let tool = by_id(&b, "denkeeper:3").body.as_ref().unwrap();
    assert_eq!(tool["denkeeper"]["action"], "execute");
    assert_eq!(tool["denkeeper"]["detail"]["arguments"]["query"], "weather in Köln");
    assert_eq!(tool["denkeeper"]["source"], "telegram");
    // Empty status is left out of the record; a non-JSON detail stays text.
    assert_eq!(by_id(&b, "denkeeper:7").fields.status, None);
    assert_eq!(
        by_id(&b, "denkeeper:6").body.as_ref().unwrap()["denkeeper"]["detail"],
        "not json at all"
    );
    // The byte-cut summary is kept as hex beside a lossy text.
    let cut = &by_id(&b, "denkeeper:9").body.as_ref().unwrap()["denkeeper"]["summary"];
    assert!(cut["bytes_hex"].as_str().unwrap().ends_with("2e2e2e"), "{cut}");
    assert!(b.notes.iter().any(|n| n.starts_with("ids missing: 8 ")), "{:?}", b.notes);
    assert!(
        b.notes.iter().any(|n| n.starts_with("id 9: summary is not valid UTF-8")),
        "{:?}",
        b.notes
    );
    assert_eq!(by_id(&b, "denkeeper:12").fields.duration_ms, None);
}

#[test]
fn ag2_import_reads_caller_supplied_times() {
    let b = import(System::Ag2, "ag2/audit.jsonl");
    let n = std::fs::read_to_string(testdata("ag2/audit.jsonl")).unwrap().lines().count();
    assert_eq!((b.items as usize, b.events.len()), (n, n + 1));
    let e = &b.events;
    assert_eq!(e[1].fields.kind, "agent_registered");
    assert_eq!(e[1].fields.agent.as_deref(), Some("agent-a"));
    assert_eq!(e[2].body.as_ref().unwrap()["ag2"]["name"], "Kläger 🤖");
    // A caller-supplied `at` that goes back in time, and one with an offset.
    assert_eq!(e[6].time.unwrap().to_string(), "2025-01-01T00:00:00.000000000Z");
    assert!(
        b.notes
            .iter()
            .any(|n| n
                .starts_with("line 6: at 2025-01-01T00:00:00.000000000Z is earlier than line 5")),
        "{:?}",
        b.notes
    );
    let failed = &e[9];
    assert_eq!(failed.time.unwrap().to_string(), "2025-06-01T12:00:10.500000000Z");
    assert_eq!(
        fields(failed),
        json!({"id": failed.id, "time": "2025-06-01T12:00:10.500000000Z", "kind": "task_terminated", "category": "task",
               "status": "error", "agent": "agent-b", "conversation": "ch-1", "source": "ag2"})
    );
    assert!(e.iter().any(|x| x.fields.kind == "tenant.billing_adjusted"));
    // Ids are stable: reading again gives the same ids.
    let again = import(System::Ag2, "ag2/audit.jsonl");
    let ids = |b: &ImportBatch| b.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&b), ids(&again));
}

#[test]
fn wrong_database_is_named() {
    let err =
        trail_interop::read(System::Denkeeper, &testdata("agenticapi/audit.sqlite")).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "audit.sqlite: not denkeeper audit data: the database has no table audit_events"
        ),
        "{err}"
    );
    let err = trail_interop::read(System::AgenticApi, &testdata("missing.db")).unwrap_err();
    assert!(err.to_string().starts_with("cannot read "), "{err}");
}

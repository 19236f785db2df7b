//! Authorization: every endpoint against every scope, logs a key may not touch, and bad,
//! missing and revoked keys.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use tower::ServiceExt;
use trail_server::{AppState, KeyFile, Limits, Scope};

/// (method, uri, body, the scope it needs; None = public).
const ENDPOINTS: &[(&str, &str, &str, Option<Scope>)] = &[
    ("POST", "/v1/events", r#"{"kind":"x"}"#, Some(Scope::Ingest)),
    ("POST", "/v1/traces", "{}", Some(Scope::Ingest)),
    ("POST", "/v1/logs", "{}", Some(Scope::Ingest)),
    ("GET", "/v1/events", "", Some(Scope::Read)),
    ("GET", "/v1/events/e0", "", Some(Scope::Read)),
    ("GET", "/v1/sessions", "", Some(Scope::Read)),
    ("GET", "/v1/stats", "", Some(Scope::Read)),
    ("GET", "/v1/info", "", Some(Scope::Read)),
    ("GET", "/v1/checkpoint", "", Some(Scope::Read)),
    ("GET", "/v1/proof/inclusion?seq=0", "", Some(Scope::Read)),
    ("GET", "/v1/proof/consistency?from=1", "", Some(Scope::Read)),
    ("GET", "/v1/receipt/e0", "", Some(Scope::Read)),
    ("GET", "/v1/tail", "", Some(Scope::Read)),
    ("POST", "/v1/verify", "", Some(Scope::Read)),
    ("GET", "/v1/verify", "", Some(Scope::Read)),
    ("GET", "/metrics", "", Some(Scope::Admin)),
    ("GET", "/v1/keys", "", Some(Scope::Admin)),
    ("GET", "/healthz", "", None),
    ("GET", "/openapi.json", "", None),
    ("GET", "/", "", None),
    ("GET", "/dashboard/config", "", None),
    ("GET", "/assets/app.js", "", None),
];

/// Sends a request and returns its status and error code, without reading a streaming body.
async fn status(
    s: &AppState,
    method: &str,
    uri: &str,
    body: &str,
    key: Option<&str>,
) -> (StatusCode, String) {
    let mut b =
        Request::builder().method(method).uri(uri).header("content-type", "application/json");
    if let Some(k) = key {
        b = b.header("authorization", format!("Bearer {k}"));
    }
    let resp = trail_server::app(s.clone())
        .oneshot(b.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let st = resp.status();
    if st.is_success() {
        return (st, String::new());
    }
    use http_body_util::BodyExt;
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    (st, v["error"]["code"].as_str().unwrap_or("").to_owned())
}

async fn setup() -> (TestLog, TestLog, AppState, Vec<(Vec<Scope>, String)>, String, String) {
    let a = log("test/a");
    let b = log("test/b");
    let mut keys = KeyFile::default();
    let mut by_scope = Vec::new();
    for scopes in [
        vec![Scope::Ingest],
        vec![Scope::Read],
        vec![Scope::Admin],
        vec![Scope::Ingest, Scope::Read],
    ] {
        let (k, _) = add_key(&mut keys, &scopes, &[]);
        by_scope.push((scopes, k));
    }
    let (only_a, _) = add_key(&mut keys, &[Scope::Ingest, Scope::Read], &["test/a"]);
    let (revoked, entry) = add_key(&mut keys, &[Scope::Admin], &[]);
    keys.revoke(&entry.id, "then".into()).unwrap();
    let s = state(&[&a, &b], keys, Limits::default());
    // Something to read, covered by a checkpoint, in both logs.
    for log in ["test/a", "test/b"] {
        let r = post_json(
            &s,
            &format!("/v1/events?log={log}&wait=checkpoint"),
            Some(&by_scope[2].1),
            r#"{"kind":"x","id":"e0"}"#,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    (a, b, s, by_scope, only_a, revoked)
}

#[tokio::test]
async fn every_endpoint_against_every_scope() {
    let (_a, _b, s, keys, _, _) = setup().await;
    for (method, uri, body, need) in ENDPOINTS {
        for (scopes, key) in &keys {
            let allowed = match need {
                None => true,
                Some(n) => scopes.contains(n) || scopes.contains(&Scope::Admin),
            };
            let (st, code) = status(&s, method, uri, body, Some(key)).await;
            if allowed {
                assert!(
                    st.is_success(),
                    "{method} {uri} with {scopes:?}: expected success, got {st} {code}"
                );
            } else {
                assert_eq!(
                    (st, code.as_str()),
                    (StatusCode::FORBIDDEN, "insufficient_scope"),
                    "{method} {uri} with {scopes:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn missing_bad_and_revoked_keys_are_401_with_json_errors() {
    let (_a, _b, s, keys, _, revoked) = setup().await;
    let mut tampered = keys[2].1.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for (method, uri, body, need) in ENDPOINTS {
        let cases = [
            (None, "missing_key"),
            (Some("not-a-trail-key"), "invalid_key"),
            (Some("trail_000000000000_secret"), "invalid_key"),
            (Some(tampered.as_str()), "invalid_key"),
            (Some(revoked.as_str()), "key_revoked"),
        ];
        for (key, want) in cases {
            let (st, code) = status(&s, method, uri, body, key).await;
            if need.is_none() {
                assert!(st.is_success(), "{uri} is public");
            } else {
                assert_eq!(
                    (st, code.as_str()),
                    (StatusCode::UNAUTHORIZED, want),
                    "{method} {uri} with {key:?}"
                );
            }
        }
    }
    let r = get(&s, "/v1/events", None).await;
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"trail\"");
    // x-api-key works as well as Authorization.
    let req =
        Request::get("/v1/stats").header("x-api-key", &keys[1].1).body(Body::empty()).unwrap();
    assert_eq!(call(&s, req).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_key_for_log_a_cannot_see_or_write_log_b() {
    let (_a, b, s, _, only_a, _) = setup().await;
    for (method, uri, body, need) in ENDPOINTS {
        // /v1/info lists the logs a key may see rather than naming one (checked below).
        if need.is_none() || *need == Some(Scope::Admin) || uri.starts_with("/v1/info") {
            continue;
        }
        let sep = if uri.contains('?') { '&' } else { '?' };
        let on_b = format!("{uri}{sep}log=test/b");
        let (st, code) = status(&s, method, &on_b, body, Some(&only_a)).await;
        assert_eq!(
            (st, code.as_str()),
            (StatusCode::FORBIDDEN, "log_forbidden"),
            "{method} {on_b}"
        );
        // Without ?log= the key's only log is used.
        let (st, code) = status(&s, method, uri, body, Some(&only_a)).await;
        assert!(st.is_success(), "{method} {uri} on its own log: {st} {code}");
    }
    assert_eq!(b.recorder.store().state().unwrap().size, 1, "log b untouched");
    let info = get(&s, "/v1/info", Some(&only_a)).await.json();
    assert_eq!(info["logs"].as_array().unwrap().len(), 1, "info lists only the key's logs");
}

#[tokio::test]
async fn with_keys_configured_anonymous_access_ends() {
    let a = log("test/a");
    let mut keys = KeyFile::default();
    add_key(&mut keys, &[Scope::Read], &[]);
    let s = state(&[&a], keys, Limits::default());
    assert_eq!(get(&s, "/v1/events", None).await.code(), "missing_key");
    // And an open server refuses no one.
    let open = open_state(&[&a]);
    assert_eq!(get(&open, "/metrics", None).await.status, StatusCode::OK);
    // A server that may not be open (non-loopback) and has no keys refuses everyone.
    let closed = AppState::new(
        vec![a.handle.clone()],
        trail_server::KeyRing::fixed(KeyFile::default(), false),
        Limits::default(),
    );
    assert_eq!(get(&closed, "/v1/events", None).await.code(), "missing_key");
}

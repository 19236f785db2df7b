//! The dashboard's server side without a browser: the page and its assets, `/v1/verify`, and
//! the `trail_key` cookie that opens `/v1/tail` and nothing else.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use trail_server::{KeyFile, Limits, Scope};

const EVENTS: &str = r#"[{"kind":"tool_call","session":"s1","body":{"path":"/etc/hosts"}},
                        {"kind":"llm_call","session":"s1","status":"error"}]"#;

#[tokio::test]
async fn the_page_and_its_assets_are_served_with_a_strict_csp() {
    let l = log("test/a");
    let s = open_state(&[&l]);
    let r = get(&s, "/", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("/assets/app.js"));
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    for (path, ct) in [
        ("/assets/app.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let r = get(&s, path, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.headers["content-type"].to_str().unwrap().starts_with(ct), "{path}");
    }
    assert_eq!(get(&s, "/dashboard/config", None).await.json()["auth_required"], false);
}

#[tokio::test]
async fn verify_reports_an_intact_log_and_remembers_the_result() {
    let l = log("test/verify-ok");
    let s = open_state(&[&l]);
    assert_eq!(get(&s, "/v1/verify", None).await.text(), "null");
    post_json(&s, "/v1/events", None, EVENTS).await;
    l.recorder.flush().await.unwrap();
    let r = post_json(&s, "/v1/verify", None, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["intact"], true, "{v}");
    assert_eq!(v["records"], 2);
    assert_eq!(v["verified_size"], 2);
    assert_eq!(v["checkpoints_valid"], v["checkpoints_checked"]);
    assert_eq!(get(&s, "/v1/verify", None).await.json()["at"], v["at"]);
}

#[tokio::test]
async fn verify_finds_a_body_deleted_without_an_erasure_event() {
    let l = log("test/verify-bad");
    let s = open_state(&[&l]);
    post_json(&s, "/v1/events", None, EVENTS).await;
    l.recorder.flush().await.unwrap();
    l.recorder.store().erase(&[0]).unwrap();
    let v = post_json(&s, "/v1/verify", None, "").await.json();
    assert_eq!(v["intact"], false, "{v}");
    assert_eq!(v["problems"][0]["seq"], 0);
    assert_eq!(v["problems"][0]["code"], "body_missing");
}

#[tokio::test]
async fn verify_needs_a_read_key() {
    let l = log("test/a");
    let mut keys = KeyFile::default();
    let (ingest, _) = add_key(&mut keys, &[Scope::Ingest], &[]);
    let (read, _) = add_key(&mut keys, &[Scope::Read], &[]);
    let s = state(&[&l], keys, Limits::default());
    assert_eq!(get(&s, "/dashboard/config", None).await.json()["auth_required"], true);
    assert_eq!(post_json(&s, "/v1/verify", None, "").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(post_json(&s, "/v1/verify", Some(&ingest), "").await.status, StatusCode::FORBIDDEN);
    assert_eq!(post_json(&s, "/v1/verify", Some(&read), "").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_key_cookie_opens_the_tail_and_nothing_else() {
    let l = log("test/a");
    let mut keys = KeyFile::default();
    let (read, _) = add_key(&mut keys, &[Scope::Read], &[]);
    let s = state(&[&l], keys, Limits::default());
    let with_cookie = |uri: &str| {
        Request::get(uri).header("cookie", format!("other=1; trail_key={read}")).body(Body::empty())
    };
    let (base, _stop) = spawn_server(s.clone()).await;
    // The tail streams, so only its status line is read, over a real socket.
    let r = trail_server::listen::client_builder()
        .build()
        .unwrap()
        .get(format!("{base}/v1/tail"))
        .header("cookie", format!("trail_key={read}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(r);
    for uri in ["/v1/events", "/v1/sessions", "/v1/stats", "/v1/checkpoint"] {
        let r = call(&s, with_cookie(uri).unwrap()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
    }
    let r = trail_server::listen::client_builder()
        .build()
        .unwrap()
        .get(format!("{base}/v1/tail"))
        .header("cookie", "trail_key=trail_000000000000_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

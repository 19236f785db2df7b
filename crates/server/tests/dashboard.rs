//! The dashboard in a real headless Chromium, driven over WebDriver (chromedriver): pages load
//! without script or HTTP errors, the sessions list and the timeline show what was logged
//! (errors, denials, PII findings, erased bodies), filters filter, the live tail shows a newly
//! posted event, verify-now reports the log intact, and a receipt downloads.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian `chromium`, `chromium-driver`;
//! `.ci/run` installs them). Without them the tests fail loudly, unless `TRAIL_SKIP_BROWSER=1`.
//! `TRAIL_SCREENSHOTS=1` makes `screenshots_of_the_main_pages` write `docs/dashboard-*.png`.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use trail_core::{Event, Timestamp};
use trail_server::{KeyFile, Limits, Scope};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The longest any single wait may take.
const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_filters_tails_verifies_and_downloads_receipts() {
    let Some(browser) = Browser::start(1280, 900).await else { return };
    let l = log("test/dash");
    let s = open_state(&[&l]);
    let (base, _stop) = spawn_server(s).await;
    let seeded = seed(&base, &l).await;
    let c = &browser.client;

    // Sessions: every seeded session is listed, with status colours.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_js(c, "document.querySelectorAll('#sessions-table tr.row').length === 4", "sessions list")
        .await;
    let text = c.find(Locator::Css("#sessions-table")).await.unwrap().text().await.unwrap();
    for sess in ["s-ok", "s-err", "s-deny", "s-pii"] {
        assert!(text.contains(sess), "sessions list lacks {sess}: {text}");
    }
    assert_eq!(count(c, "#sessions-table tr.is-error").await, 1, "one session with an error");
    assert_eq!(count(c, "#sessions-table tr.is-denied").await, 1, "one session with a denial");
    wait_js(c, "document.querySelectorAll('.chart svg rect.bar').length > 0", "charts").await;
    no_errors(c, "sessions page").await;

    // Timeline: clicking a session opens it; the error stands out; PII and erasure are marked.
    c.find(Locator::Css("tr[data-session='s-err']")).await.unwrap().click().await.unwrap();
    wait_js(c, "document.querySelectorAll('#timeline .tl-item').length === 2", "timeline").await;
    assert_eq!(count(c, "#timeline .tl-item.error").await, 1);
    c.goto(&format!("{base}/#/session/s-pii")).await.unwrap();
    wait_js(c, "document.querySelectorAll('#timeline .tl-item').length === 3", "pii timeline")
        .await;
    assert_eq!(count(c, "#timeline .badge.pii").await, 1, "the e-mail finding is marked");
    assert_eq!(count(c, "#timeline .badge.erased").await, 1, "the erased body is marked");
    c.find(Locator::Css(".tl-item:has(.badge.erased) .tl-card"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(c, "!!document.querySelector('.erased-box')", "erased body notice").await;
    c.find(Locator::Css(".tl-item:has(.badge.pii) .tl-card")).await.unwrap().click().await.unwrap();
    wait_js(c, "!!document.querySelector('pre.body')", "expanded body").await;
    no_errors(c, "timeline").await;

    // Filters: typing status=denied in the form shows only denied events.
    c.goto(&format!("{base}/#/events")).await.unwrap();
    wait_js(c, "document.querySelectorAll('#events-table tr.row').length > 0", "events").await;
    let all = count(c, "#events-table tr.row").await;
    assert_eq!(all, seeded.total, "every event on one page");
    c.find(Locator::Css("#filters input[name='status']"))
        .await
        .unwrap()
        .send_keys("denied")
        .await
        .unwrap();
    c.find(Locator::Css("#filters button[type='submit']")).await.unwrap().click().await.unwrap();
    wait_js(
        c,
        "location.hash.includes('status=denied') && document.querySelectorAll('#events-table tr.row').length === 2",
        "denied events",
    )
    .await;
    let statuses = c
        .execute(
            "return [...document.querySelectorAll('#events-table tr.row')].map(r => r.dataset.status)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(statuses, json!(["denied", "denied"]));
    // Full text and agent filters through the URL.
    c.goto(&format!("{base}/#/events?search=invoice")).await.unwrap();
    wait_js(c, "document.querySelectorAll('#events-table tr.row').length === 1", "search").await;
    c.goto(&format!("{base}/#/events?agent=billing-bot&kind=tool_call")).await.unwrap();
    wait_js(
        c,
        "document.getElementById('events-count') && document.querySelectorAll('#events-table tr.row').length === 2",
        "agent and kind filter",
    )
    .await;
    no_errors(c, "events page").await;

    // Receipt: open an event, download its receipt.
    wait_for_checkpoint(&base, &l, seeded.total).await;
    c.find(Locator::Css("#events-table tr.row")).await.unwrap().click().await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#events-table .receipt-btn"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(c, "!!document.querySelector('.receipt-status[data-receipt]')", "receipt").await;
    let receipt = c
        .execute("return document.querySelector('.receipt-status').dataset.receipt", vec![])
        .await
        .unwrap();
    let receipt = receipt.as_str().unwrap();
    assert!(receipt.starts_with("c2sp.org/tlog-proof@v1"), "receipt text: {receipt}");
    no_errors(c, "receipt download").await;

    // Live tail: an event posted now appears within seconds.
    c.goto(&format!("{base}/#/live")).await.unwrap();
    wait_js(c, "document.querySelector('#live-status.on') !== null", "tail connected").await;
    let r = trail_server::listen::client_builder().build().unwrap()
        .post(format!("{base}/v1/events"))
        .header("content-type", "application/json")
        .body(json!({"id": "probe-1", "kind": "tool_call", "action": "Probe", "agent": "watcher", "status": "ok"}).to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    wait_js(c, "!!document.querySelector('#live-body tr[data-id=\"probe-1\"]')", "tailed event")
        .await;
    no_errors(c, "live tail").await;

    // Integrity: the checkpoint is shown and verify-now says intact.
    wait_for_checkpoint(&base, &l, seeded.total + 1).await;
    c.goto(&format!("{base}/#/integrity")).await.unwrap();
    wait_js(c, "!!document.getElementById('cp-size')", "checkpoint panel").await;
    let size = c.find(Locator::Css("#cp-size")).await.unwrap().text().await.unwrap();
    assert!(size.parse::<u64>().unwrap() >= seeded.total as u64, "checkpoint size {size}");
    let panel = c.find(Locator::Css("#checkpoint-panel")).await.unwrap().text().await.unwrap();
    assert!(panel.contains(&l.verifier.to_string()), "signer key shown: {panel}");
    c.find(Locator::Css("#verify-now")).await.unwrap().click().await.unwrap();
    wait_js(c, "!!document.querySelector('#verdict.intact')", "verify-now intact").await;
    no_errors(c, "integrity page").await;

    // Report: made from the API, previewed from the data it embeds, offered as the file.
    c.goto(&format!("{base}/#/report")).await.unwrap();
    wait_js(c, "!!document.getElementById('report-make')", "report form").await;
    c.find(Locator::Css("#report-make")).await.unwrap().click().await.unwrap();
    wait_js(c, "!!document.getElementById('report-verdict')", "report preview").await;
    let verdict = c.find(Locator::Css("#report-verdict")).await.unwrap().text().await.unwrap();
    assert!(verdict.starts_with("INTACT"), "{verdict}");
    let href = c.find(Locator::Css("#report-download")).await.unwrap().attr("href").await.unwrap();
    assert!(href.is_some_and(|h| h.starts_with("blob:")), "the download is the file itself");
    let preview = c.find(Locator::Css("#report-preview")).await.unwrap().text().await.unwrap();
    assert!(preview.contains("denials"), "{preview}");
    no_errors(c, "report page").await;

    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_api_keys_the_page_asks_for_a_read_key_and_the_tail_uses_the_cookie() {
    let Some(browser) = Browser::start(1280, 900).await else { return };
    let l = log("test/keyed");
    let mut keys = KeyFile::default();
    let (read, _) = add_key(&mut keys, &[Scope::Read], &[]);
    let (ingest, _) = add_key(&mut keys, &[Scope::Ingest], &[]);
    let s = state(&[&l], keys, Limits::default());
    let (base, _stop) = spawn_server(s).await;
    let c = &browser.client;

    c.goto(&format!("{base}/")).await.unwrap();
    wait_js(c, "document.getElementById('login').open", "login box").await;
    no_errors(c, "login box").await;
    c.find(Locator::Css("#login-key")).await.unwrap().send_keys(&read).await.unwrap();
    c.find(Locator::Css("#login-submit")).await.unwrap().click().await.unwrap();
    wait_js(c, "document.body.dataset.ready === '1'", "signed in").await;
    c.goto(&format!("{base}/#/live")).await.unwrap();
    wait_js(c, "document.querySelector('#live-status.on') !== null", "tail connected").await;
    let r = trail_server::listen::client_builder()
        .build()
        .unwrap()
        .post(format!("{base}/v1/events"))
        .bearer_auth(&ingest)
        .header("content-type", "application/json")
        .body(json!({"id": "keyed-1", "kind": "llm_call", "status": "ok"}).to_string())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    wait_js(c, "!!document.querySelector('#live-body tr[data-id=\"keyed-1\"]')", "tailed event")
        .await;
    no_errors(c, "keyed live tail").await;
    // The cookie opens the tail only: other endpoints still want the header.
    let cookie = format!("trail_key={read}");
    let http = trail_server::listen::client_builder().build().unwrap();
    let events = http.get(format!("{base}/v1/events")).header("cookie", &cookie).send().await;
    assert_eq!(events.unwrap().status(), 401);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_main_pages() {
    let Some(browser) = Browser::start(1360, 860).await else { return };
    let l = log("acme.example/agents");
    let (base, _stop) = spawn_server(open_state(&[&l])).await;
    seed_many(&base).await;
    let seeded = seed(&base, &l).await;
    wait_for_checkpoint(&base, &l, seeded.total + 60).await;
    let c = &browser.client;
    let write = std::env::var("TRAIL_SCREENSHOTS").is_ok_and(|v| v == "1");
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");

    c.goto(&format!("{base}/")).await.unwrap();
    wait_js(c, "document.querySelectorAll('#sessions-table tr.row').length > 4", "sessions").await;
    shot(c, write, &docs.join("dashboard-sessions.png")).await;

    c.goto(&format!("{base}/#/session/run-7f3a")).await.unwrap();
    wait_js(c, "document.querySelectorAll('#timeline .tl-item').length > 4", "timeline").await;
    c.find(Locator::Css(".tl-item:has(.badge.pii) .tl-card")).await.unwrap().click().await.unwrap();
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
    shot(c, write, &docs.join("dashboard-timeline.png")).await;

    c.goto(&format!("{base}/#/integrity")).await.unwrap();
    wait_js(c, "!!document.getElementById('cp-size')", "checkpoint").await;
    c.find(Locator::Css("#verify-now")).await.unwrap().click().await.unwrap();
    wait_js(c, "!!document.querySelector('#verdict.intact')", "verified").await;
    shot(c, write, &docs.join("dashboard-integrity.png")).await;
    no_errors(c, "screenshot pages").await;
    browser.close().await;
}

/// A phone's screen (390 CSS pixels wide): no page is wider than the screen, and the sessions
/// page shows its pager once even when it is loaded twice in quick succession.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_screen() {
    let Some(browser) = Browser::start(390, 844).await else { return };
    let l = log("phone.example/agents");
    let (base, _stop) = spawn_server(open_state(&[&l])).await;
    seed(&base, &l).await;
    let c = &browser.client;
    // A hash change while the first render awaits its data: the old render must not add to
    // the new page.
    c.goto(&format!("{base}/#/sessions")).await.unwrap();
    c.execute("location.hash = '#/sessions?limit=50'", vec![]).await.unwrap();
    wait_js(c, "document.querySelectorAll('#sessions-table tr.row').length === 4", "sessions")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(c, ".pager").await, 1, "the sessions pager is shown once");
    assert_eq!(count(c, "#sessions-table").await, 1, "one sessions table");
    for page in ["sessions", "events", "live", "integrity", "session/s-err", "report?go=1"] {
        c.goto(&format!("{base}/#/{page}")).await.unwrap();
        wait_js(c, "document.querySelector('main h1') !== null", page).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let width = c
            .execute("return [window.innerWidth, document.documentElement.scrollWidth]", vec![])
            .await
            .unwrap();
        let (inner, scroll) = (width[0].as_u64().unwrap(), width[1].as_u64().unwrap());
        assert!(scroll <= inner, "#/{page} is {scroll} px wide on a {inner} px screen");
    }
    no_errors(c, "phone pages").await;
    browser.close().await;
}

// ---- the log the tests look at ---------------------------------------------------------

struct Seeded {
    total: usize,
}

/// Four sessions: an ordinary one, one with an error, one with denials, and one with an
/// e-mail in a body (a PII finding) and an erased body; plus the erasure event.
async fn seed(base: &str, l: &TestLog) -> Seeded {
    let t = |mins_ago: i64| ts(mins_ago * 60);
    let events = json!([
        {"kind": "session_start", "agent": "billing-bot", "session": "s-ok", "status": "ok", "time": t(50)},
        {"kind": "llm_call", "agent": "billing-bot", "session": "s-ok", "action": "chat", "status": "ok", "duration_ms": 820, "time": t(49),
         "usage": {"input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.011, "model": "gpt-4o"},
         "body": {"prompt": "Summarise the invoice for March"}},
        {"kind": "tool_call", "agent": "billing-bot", "session": "s-ok", "action": "Read", "status": "ok", "duration_ms": 14, "time": t(48),
         "body": {"args": {"path": "/srv/invoices/2026-03.pdf"}}},
        {"kind": "llm_call", "agent": "support-bot", "session": "s-err", "action": "chat", "status": "ok", "duration_ms": 640, "time": t(40),
         "usage": {"input_tokens": 800, "output_tokens": 120, "cost_usd": 0.004, "model": "gpt-4o-mini"}},
        {"kind": "tool_call", "agent": "support-bot", "session": "s-err", "action": "HttpGet", "status": "error", "duration_ms": 30000, "time": t(39),
         "body": {"error": "timeout after 30 s", "url": "https://crm.internal/api/orders"}},
        {"kind": "tool_call", "agent": "billing-bot", "session": "s-deny", "action": "Bash", "status": "denied", "time": t(30),
         "body": {"args": {"command": "rm -rf /srv/invoices"}, "reason": "destructive command"}},
        {"kind": "file_write", "agent": "billing-bot", "session": "s-deny", "action": "Write", "status": "denied", "time": t(29),
         "body": {"path": "/etc/passwd"}},
        {"kind": "llm_call", "agent": "support-bot", "session": "s-pii", "action": "chat", "status": "ok", "duration_ms": 910, "time": t(20),
         "usage": {"input_tokens": 1500, "output_tokens": 410, "cost_usd": 0.013, "model": "gpt-4o"},
         "body": {"prompt": "Customer jane.doe@example.com asks where her parcel is"}},
        {"id": "to-erase", "kind": "user_message", "agent": "support-bot", "session": "s-pii", "status": "ok", "time": t(19),
         "body": {"text": "please call me back tomorrow"}},
    ]);
    let total = events.as_array().unwrap().len();
    post_events(base, &events).await;
    let store = l.recorder.store().clone();
    let seq = store.find_id("to-erase").unwrap().unwrap().seq;
    assert_eq!(store.erase(&[seq]).unwrap(), 1);
    let erasure = json!({"kind": "trail.erasure", "status": "ok", "source": "test", "session": "s-pii",
                         "body": {"seqs": [seq], "selector": {"id": "to-erase"}, "erased": 1}});
    l.recorder.record(Event::from_value(erasure).unwrap()).await.unwrap();
    Seeded { total: total + 1 }
}

/// Sixty more events over the last day, for screenshots that look like a day's work.
async fn seed_many(base: &str) {
    let mut events = Vec::new();
    let agents = ["support-bot", "billing-bot", "research-agent"];
    for i in 0..12i64 {
        let session =
            if i == 5 { "run-7f3a".to_owned() } else { format!("run-{:04x}", 0x1a2b + i * 97) };
        let agent = agents[(i % 3) as usize];
        let start = (24 - i * 2) * 3600;
        events.push(json!({"kind": "session_start", "agent": agent, "session": session, "status": "ok", "time": ts(start)}));
        events.push(json!({"kind": "llm_call", "agent": agent, "session": session, "action": "chat", "status": "ok",
            "duration_ms": 700 + i * 53, "time": ts(start - 5),
            "usage": {"input_tokens": 900 + i * 140, "output_tokens": 200 + i * 31, "cost_usd": 0.004 + i as f64 * 0.0013, "model": "gpt-4o"},
            "body": {"prompt": format!("Plan step {i} of the ticket")}}));
        events.push(json!({"kind": "tool_call", "agent": agent, "session": session, "action": "Read", "status": "ok",
            "duration_ms": 12 + i, "time": ts(start - 9), "body": {"args": {"path": format!("/srv/tickets/{i}.json")}}}));
        let (status, action) = match i % 4 {
            1 => ("denied", "Bash"),
            2 => ("error", "HttpGet"),
            _ => ("ok", "Search"),
        };
        events.push(json!({"kind": "tool_call", "agent": agent, "session": session, "action": action, "status": status,
            "duration_ms": 40 + i * 7, "time": ts(start - 15), "body": {"args": {"query": "refund policy"}}}));
        events.push(json!({"kind": "llm_call", "agent": agent, "session": session, "action": "chat", "status": "ok",
            "duration_ms": 1200 + i * 11, "time": ts(start - 22),
            "usage": {"input_tokens": 2100 + i * 90, "output_tokens": 380, "cost_usd": 0.018, "model": "gpt-4o"},
            "body": {"prompt": if i == 5 { "Reply to jane.doe@example.com about the refund" } else { "Draft the reply" }}}));
    }
    post_events(base, &Value::Array(events)).await;
}

fn ts(secs_ago: i64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64;
    Timestamp::from_unix_nanos(now - secs_ago * 1_000_000_000).to_string()
}

async fn post_events(base: &str, events: &Value) {
    let r = trail_server::listen::client_builder()
        .build()
        .unwrap()
        .post(format!("{base}/v1/events"))
        .header("content-type", "application/json")
        .body(events.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    assert!(status.is_success(), "seeding: {status} {}", r.text().await.unwrap());
}

/// Flushes the recorder (which signs only when a batch commits or on flush) and waits for the
/// API to report a checkpoint of at least `size`.
async fn wait_for_checkpoint(base: &str, l: &TestLog, size: usize) {
    l.recorder.flush().await.unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let r = reqwest::get(format!("{base}/v1/stats")).await.unwrap();
        let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        if v["checkpoint_size"].as_u64().unwrap_or(0) >= size as u64 {
            return;
        }
        assert!(Instant::now() < deadline, "no checkpoint of size {size} within {WAIT:?}: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- the browser -------------------------------------------------------------------------

struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Chromedriver on a free loopback port and a headless Chromium session; `None` (after a
    /// loud message) only when they are missing and `TRAIL_SKIP_BROWSER=1`.
    async fn start(width: u32, height: u32) -> Option<Browser> {
        let missing: Vec<&str> =
            [CHROMIUM, CHROMEDRIVER].into_iter().filter(|p| !Path::new(p).exists()).collect();
        if !missing.is_empty() {
            let skip = std::env::var("TRAIL_SKIP_BROWSER").is_ok_and(|v| v == "1");
            eprintln!(
                "\n!!!!! BROWSER TESTS CANNOT RUN: {} missing; install with \
                 `apt-get install -y chromium chromium-driver` (skipped only because \
                 TRAIL_SKIP_BROWSER=1: {skip}) !!!!!\n",
                missing.join(" and ")
            );
            assert!(skip, "chromium or chromedriver missing: {missing:?}");
            return None;
        }
        // Chromium now and then exits during start-up when several start at once on a loaded
        // machine ("session not created"); that is not what these tests check, so a failed start
        // is retried with a fresh driver and profile before it fails the test.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Browser::try_start(width, height).await {
                Ok(browser) => return Some(browser),
                Err(e) => {
                    eprintln!("chromium session did not start, retrying: {e}");
                    failures.push(e);
                }
            }
        }
        panic!("\n!!!!! CHROMIUM DID NOT START: {failures:?} !!!!!\n");
    }

    async fn try_start(width: u32, height: u32) -> Result<Browser, String> {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver not listening on {port} within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                "prefs": {"download.default_directory": profile.path().join("downloads"),
                          "download.prompt_for_download": false},
            },
        });
        let serde_json::Value::Object(caps) = caps else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let started = tokio::time::timeout(
            WAIT,
            ClientBuilder::new(connector)
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}")),
        )
        .await;
        match started {
            Ok(Ok(client)) => Ok(Browser { client, driver, _profile: profile }),
            Ok(Err(e)) => {
                let _ = driver.kill();
                let _ = driver.wait();
                Err(e.to_string())
            }
            Err(_) => {
                let _ = driver.kill();
                let _ = driver.wait();
                Err(format!("no session within {WAIT:?}"))
            }
        }
    }

    async fn close(mut self) {
        let _ = tokio::time::timeout(WAIT, self.client.clone().close()).await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Polls a JavaScript expression until it is true; fails naming `what` after [`WAIT`].
async fn wait_js(c: &Client, expr: &str, what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = c.execute(&format!("return !!({expr})"), vec![]).await;
        if matches!(v, Ok(Value::Bool(true))) {
            return;
        }
        if Instant::now() >= deadline {
            let errs = errors(c).await;
            let body = c.execute("return document.body.innerText", vec![]).await;
            panic!("waited {WAIT:?} for {what} ({expr}); errors: {errs:?}; page: {body:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.unwrap().len()
}

/// Script errors, CSP violations and HTTP errors the page saw.
async fn errors(c: &Client) -> Vec<String> {
    let v = c
        .execute(
            "return (window.trailErrors || []).concat(performance.getEntriesByType('resource') \
             .filter(e => e.responseStatus >= 400).map(e => e.name + ' ' + e.responseStatus))",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

async fn no_errors(c: &Client, page: &str) {
    let errs = errors(c).await;
    assert!(errs.is_empty(), "{page}: the page saw errors: {errs:?}");
}

async fn shot(c: &Client, write: bool, path: &PathBuf) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    if write {
        std::fs::write(path, &png).unwrap();
    }
}

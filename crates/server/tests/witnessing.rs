//! The log's side of witnessing against witnesses that misbehave: an answer too large to be a
//! cosignature is refused unread (a witness is a third party, and must not be able to exhaust
//! the log server's memory), and a 422 is reported as a refusal, not a routine failure.

#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use trail_core::{Checkpoint, NoteSigner};
use trail_server::witnessing::{Outcome, submit};

/// A one-request HTTP server that answers with `head` and then `body_bytes` bytes of 'A'.
async fn fake_witness(head: &'static str, body_bytes: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 65536];
        let _ = tcp.read(&mut buf).await;
        let _ = tcp.write_all(head.as_bytes()).await;
        let chunk = vec![b'A'; 65536];
        let mut sent = 0;
        while sent < body_bytes {
            if tcp.write_all(&chunk).await.is_err() {
                return;
            }
            sent += chunk.len();
        }
    });
    url
}

fn checkpoint() -> trail_core::SignedCheckpoint {
    let log = NoteSigner::from_seed("example.com/log", [1; 32]).unwrap();
    Checkpoint { origin: "example.com/log".into(), size: 0, root: trail_merkle::empty_root() }
        .sign(&log)
}

#[tokio::test]
async fn a_huge_answer_is_refused_unread() {
    let key = NoteSigner::cosigner_from_seed("witness.example/w", [2; 32]).unwrap().verifier();
    let client = trail_server::listen::client_builder().build().unwrap();
    // Announced as 2 GiB: refused before reading.
    let url = fake_witness("HTTP/1.1 200 OK\r\nContent-Length: 2147483648\r\n\r\n", 1 << 20).await;
    match submit(&client, &url, &checkpoint(), 0, vec![], &key).await {
        Outcome::Failed(why) => assert!(why.contains("no witness answer"), "{why}"),
        _ => panic!("a 2 GiB answer was taken"),
    }
    // Not announced (chunked, endless): cut at the limit.
    let url = fake_witness(
        "HTTP/1.1 409 Conflict\r\nContent-Type: text/x.tlog.size\r\nConnection: close\r\n\r\n",
        64 << 20,
    )
    .await;
    match submit(&client, &url, &checkpoint(), 0, vec![], &key).await {
        Outcome::Failed(why) => assert!(why.contains("no witness answer"), "{why}"),
        _ => panic!("an endless answer was taken"),
    }
}

#[tokio::test]
async fn a_422_is_a_refusal() {
    let key = NoteSigner::cosigner_from_seed("witness.example/w", [2; 32]).unwrap().verifier();
    let client = trail_server::listen::client_builder().build().unwrap();
    let url =
        fake_witness("HTTP/1.1 422 Unprocessable Entity\r\nContent-Length: 6\r\n\r\nforked", 0)
            .await;
    match submit(&client, &url, &checkpoint(), 0, vec![], &key).await {
        Outcome::Refused(why) => assert!(why.contains("forked"), "{why}"),
        _ => panic!("a 422 was not a refusal"),
    }
}

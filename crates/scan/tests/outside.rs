//! What an outside tester found on 2026-12-07, given only the README and `trail scan --help`
//! and told to break the scanner: each finding fixed is kept here. The values are made up.

use std::time::Instant;
use trail_scan::{Kind, Scanner};

mod common;
use common::found;

/// Long lines of short numeric tokens (a list of PIDs, floats, IPs echoed on one line) took
/// time quadratic in the line's length: 500 KB of "1 " took 31 s, 1 MB of "1.2.3.4 " 125 s,
/// 450 KB of "password=" 10 s. Each of these megabytes now takes a fraction of a second
/// optimised; the bound only catches the quadratic cliff, in a debug build too.
#[test]
fn long_lines_of_short_tokens_scan_in_linear_time() {
    let scanner = Scanner::default();
    for unit in ["1 ", "0.5 ", "1.2.3.4 ", "1-", "+1 415 555 0134 ", "password=", "token: "] {
        let text = unit.repeat((1 << 20) / unit.len());
        let t = Instant::now();
        let _ = scanner.scan(&text);
        let secs = t.elapsed().as_secs_f64();
        assert!(secs < 20.0, "1 MB of {unit:?} took {secs:.1} s");
    }
}

/// A URL's password with `!` or `$` in it was reported as an e-mail starting after that
/// character, leaving the start of the password in clear.
#[test]
fn url_passwords_with_symbols_are_passwords() {
    assert_eq!(
        found("DATABASE_URL=postgres://app_user:q7Rz!m2Kx9vLw@db.internal.acme.io:5432/orders"),
        [(Kind::Password, "q7Rz!m2Kx9vLw".into())]
    );
    assert_eq!(
        found("git remote add origin https://jdoe:My$G1tPw@git.acme.io/x"),
        [(Kind::Password, "My$G1tPw".into())]
    );
}

/// Zero-width characters inside a key, and terminal colour codes around or inside one, hid it
/// completely. The finding covers the invisible bytes too.
#[test]
fn invisible_characters_and_colour_codes_hide_nothing() {
    let key =
        "sk_live_51NzQp\u{200b}RKt8vLmW2xYcD9fGhJ3kPqRsTuVwXyZaBcDeFgHiJkLmNoPqRsTu00aBcDeFgH";
    assert_eq!(found(&format!("STRIPE_KEY={key}")), [(Kind::StripeKey, key.into())]);
    let text = "token: \x1b[32m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\x1b[0m";
    let f = found(text);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].0, Kind::GithubToken);
    assert!(f[0].1.contains("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"));
    let f = found("\x1b[33mpassword\x1b[0m=\x1b[31mAnsiC0l0r!Pw\x1b[0m");
    assert!(f.iter().any(|(k, v)| *k == Kind::Password && v.contains("AnsiC0l0r!Pw")), "{f:?}");
}

/// Credential formats the tester found missed: SQL, PHP, Azure, chat bots, escaped JSON,
/// archive and registry logins.
#[test]
fn credential_formats_found_missing() {
    for (text, kind, value) in [
        ("CREATE USER reporting WITH PASSWORD 'Sql!Cr3ate2024';", Kind::Password, "Sql!Cr3ate2024"),
        ("ALTER USER 'app'@'%' IDENTIFIED BY 'MyS4l!Alter';", Kind::Password, "MyS4l!Alter"),
        ("define('DB_PASSWORD', 'Wp!C0nfig2024');", Kind::Password, "Wp!C0nfig2024"),
        (
            "Endpoint=sb://bus.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=Qm8xT2vLk9RzW4nYc7JbH3fG6dS1aE5uI0oKjMnBvCx=",
            Kind::GenericSecret,
            "Qm8xT2vLk9RzW4nYc7JbH3fG6dS1aE5uI0oKjMnBvCx=",
        ),
        (
            "TELEGRAM_BOT_TOKEN=6123456789:AAHk3nX8pQ2wZrT4vLm9Rz7YcJbH3fG6dS1",
            Kind::VendorApiKey,
            "6123456789:AAHk3nX8pQ2wZrT4vLm9Rz7YcJbH3fG6dS1",
        ),
        (
            r#"{"log":"connecting with {\"password\": \"Esc4ped!Pw\"}\n","stream":"stderr"}"#,
            Kind::Password,
            "Esc4ped!Pw",
        ),
        ("zip -P Z1pArch!ve secrets.zip keys.txt", Kind::Password, "Z1pArch!ve"),
        ("7z a -pSevenZ!p99 backup.7z data/", Kind::Password, "SevenZ!p99"),
        (
            "echo \"D0ckerSt!dinPw\" | docker login registry.acme.io -u ci --password-stdin",
            Kind::Password,
            "D0ckerSt!dinPw",
        ),
    ] {
        assert_eq!(found(text), [(kind, value.to_owned())], "{text}");
    }
}

/// Decimal fractions (an embedding vector) and one-digit arrays were taken for phone numbers:
/// 35,927 findings in a megabyte of embedding.
#[test]
fn embeddings_are_not_phone_numbers() {
    let text = "{\"embedding\": [-0.73127151, 0.69486747, 0.52754924, 0.30318595, 0.5774467]}\n\
                weights: 0 1 1 0 2 0 3 1 0 4 2 0 1 5 0";
    assert!(found(text).is_empty(), "{:?}", found(text));
}

/// A password on the line after its label, and YAML block scalars, were missed.
#[test]
fn values_on_the_next_line() {
    assert_eq!(
        found("Username: jdoe\nPassword:\nW1nter-Is-C0ming!\n"),
        [(Kind::Password, "W1nter-Is-C0ming!".into())]
    );
    assert_eq!(
        found(
            "stringData:\n  password: |\n    Bl0ckSc4lar!Pw\n  token: >-\n    7f3c9a1e5b2d8f4a6c0e9b7d1f3a5c8e\n"
        ),
        [
            (Kind::Password, "Bl0ckSc4lar!Pw".into()),
            (Kind::GenericSecret, "7f3c9a1e5b2d8f4a6c0e9b7d1f3a5c8e".into())
        ]
    );
    assert!(found("Password:\n\nNext section\n").is_empty());
}

/// A PuTTY key, a PEM body whose BEGIN line was cut off (`tail`), and password hashes.
#[test]
fn keys_and_hashes() {
    let ppk = "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy@acme\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIGRHen1Orpe/yYvPuduBxjUlsfd8bp0tVoTm4jShqMyc\nPrivate-Lines: 1\nAAAAIFZq8vT2mRkL9pWz4nY7cJbH3fG6dS1aE5uI0oKjMnBvCx\nPrivate-MAC: 6f2b8d1e3c5a\n";
    assert!(
        found(ppk).contains(&(
            Kind::PrivateKey,
            "AAAAIFZq8vT2mRkL9pWz4nY7cJbH3fG6dS1aE5uI0oKjMnBvCx".into()
        )),
        "{:?}",
        found(ppk)
    );
    let tail = "key body:\nMIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi6F8x1mpVX3W2Lh4dQ9sYb8pZ2\nkN7wR1xT5vC3mL8qZ0jH4fG6dS1aE5uI0oKjMnBvCxZqWeRtYuIoPaSdFgHjKlZx\n-----END RSA PRIVATE KEY-----\n";
    let f = found(tail);
    assert!(f.iter().any(|(k, v)| *k == Kind::PrivateKey && v.starts_with("MIIEpAIB")), "{f:?}");
    let shadow =
        "deploy:$6$rounds=5000$saltsalt$Xk3Lq9wZ2vR7mN1pB8cT4yH6jF0sD5aG:19000:0:99999:7:::";
    assert!(found(shadow).iter().any(|(k, _)| *k == Kind::Password), "{:?}", found(shadow));
    assert!(
        found("the grafana admin pw is Adm1n-123!x ok").iter().any(|(k, _)| *k == Kind::Password)
    );
}

/// A key split over two lines with a shell's `\` continuation was covered only up to the
/// break, leaving the rest in clear.
#[test]
fn a_line_continuation_does_not_split_a_key() {
    let text = "export STRIPE_KEY=\"sk_live_51NzQpRKt8vLmW2xYcD9fG\\\nhJ3kPqRsTuVwXyZaBcDeFgHiJkLmNoPqRsTu00aBcDeFgH\"";
    let f = found(text);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].1.ends_with("aBcDeFgH"), "{f:?}");
}

/// URL-encoded credentials and e-mail addresses (a query parameter's value) were missed.
#[test]
fn url_encoded_values() {
    let text = "GET /cb?next=https%3A%2F%2Fdeploy%3AZr8kQ2mXp7vW%40nexus.acme.io%2Frepo HTTP/1.1";
    let f = found(text);
    assert!(f.iter().any(|(k, v)| *k == Kind::Password && v.contains("Zr8kQ2mXp7vW")), "{f:?}");
    assert_eq!(
        found("POST /subscribe body: email=alice.walker%40example.org&list=news"),
        [(Kind::Email, "alice.walker%40example.org".into())]
    );
    assert!(found("GET /search?q=hello%20world%3A%20ok&page=2").is_empty());
}

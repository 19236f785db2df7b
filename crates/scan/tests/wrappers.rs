//! Credentials in the wrappers agents' tools print them in: base64 in Kubernetes `Secret`s,
//! kubeconfigs and Docker's `config.json`, and command-line flags of keytool, jarsigner and
//! openssl. Each finding covers the value as stored (the encoded text), so redacting it removes
//! the secret. The values here are made up for these tests.

use trail_scan::Kind;

mod common;
use common::found;

fn b64(s: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |a, (i, &x)| a | u32::from(x) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn docker_auth_entries_are_passwords_or_the_key_inside() {
    let plain = b64("builder:Tq8#wLm2!vRz");
    // A vendor key inside keeps its own type (a Stripe secret key, by its published shape).
    let token = b64("ci:sk_live_51Hq8ZtLm2Nx7Rb4Wv9Kc3Pd6Fg");
    let text = format!(
        "{{\"auths\": {{\"registry.example.net\": {{\"auth\": \"{plain}\"}},\n\"ghcr.io\": {{\"auth\": \"{token}\"}}}}}}"
    );
    let f = found(&text);
    assert!(f.contains(&(Kind::Password, plain)), "{f:?}");
    assert!(f.contains(&(Kind::StripeKey, token)), "{f:?}");
}

#[test]
fn a_pem_key_in_a_kubeconfig_is_found_through_its_base64() {
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAyQ3t0tP8pY3xXk2Vw9m1s0Zq7h5LbJ2c8Ty4Rn6Uo1Wd3Ke\n-----END RSA PRIVATE KEY-----\n";
    let data = b64(pem);
    let text = format!("users:\n- name: admin\n  user:\n    client-key-data: {data}\n");
    let f = found(&text);
    assert!(f.contains(&(Kind::PrivateKey, data)), "{f:?}");
}

#[test]
fn base64_of_text_without_a_secret_is_left_alone() {
    let note = b64("release notes for version 4.2 are in the wiki");
    let f = found(&format!("binaryData:\n  notes.txt: {note}\n"));
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn keystore_and_openssl_passwords_on_the_command_line() {
    let f = found(
        "$ keytool -importkeystore -srckeystore in.p12 -srcstorepass 'Pl4ne!Tree' -destkeystore out.jks -deststorepass Gr4vel#Road\n\
         $ openssl pkcs12 -in cert.p12 -passin pass:Qu1ck-Fox-77 -nodes\n",
    );
    for pw in ["Pl4ne!Tree", "Gr4vel#Road", "Qu1ck-Fox-77"] {
        assert!(f.contains(&(Kind::Password, pw.to_owned())), "{pw}: {f:?}");
    }
    // keytool reads the password from a file or a variable: that names no password.
    assert!(found("keytool -list -keystore k.jks -storepass:env STORE_PW\n").is_empty());
}

#[test]
fn an_address_after_a_colon_outside_a_url_is_an_e_mail() {
    let f = found("EMAIL;TYPE=work:nadia.rahman@example.org\nmailto:ops@example.net\n");
    assert!(f.contains(&(Kind::Email, "nadia.rahman@example.org".to_owned())), "{f:?}");
    assert!(f.contains(&(Kind::Email, "ops@example.net".to_owned())), "{f:?}");
    // In a URL the part before @ is user:password, not an address.
    let f = found("redis://cache:Xk29fLq7Wz@redis.internal:6379/0\n");
    assert!(!f.iter().any(|(k, _)| *k == Kind::Email), "{f:?}");
}

//! Masked previews for display: enough to recognise a value, never enough to use it.

use crate::{Finding, Kind};

/// A masked preview of `text[f.start..f.end]` for the CLI to print.
///
/// Reveals at most two leading and two trailing characters (an e-mail also keeps its
/// top-level domain), and nothing at all for private keys, passwords and values shorter
/// than 8 characters. Out-of-range or non-boundary spans give `"***"`.
pub fn mask(text: &str, f: &Finding) -> String {
    let Some(v) = text.get(f.start..f.end) else { return "***".to_string() };
    let chars: Vec<char> = v.chars().collect();
    let n = chars.len();
    match f.kind {
        Kind::PrivateKey => return "[private key]".to_string(),
        Kind::Password => return "********".to_string(),
        Kind::Email => {
            if let Some((local, domain)) = v.split_once('@') {
                let head: String =
                    local.chars().take(if local.chars().count() > 4 { 2 } else { 1 }).collect();
                let tld = domain.rsplit('.').next().filter(|t| t.len() <= 6).unwrap_or("");
                return format!("{head}***@***.{tld}");
            }
        }
        _ => {}
    }
    if n < 8 {
        return "*".repeat(n.max(3));
    }
    let keep = if n >= 16 { 2 } else { 1 };
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[n - keep..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(text: &str, kind: Kind) -> String {
        mask(text, &Finding { kind, start: 0, end: text.len(), confidence: 1.0 })
    }

    #[test]
    fn previews() {
        assert_eq!(m("john.doe@example.com", Kind::Email), "jo***@***.com");
        assert_eq!(m("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", Kind::GithubToken), "gh…kJ");
        assert_eq!(m("Winter2019!", Kind::Password), "********");
        assert_eq!(m("-----BEGIN PRIVATE KEY-----", Kind::PrivateKey), "[private key]");
        assert_eq!(m("10.1.2.3", Kind::IpAddress), "1…3");
        assert_eq!(m("abc", Kind::Person), "***");
    }
}

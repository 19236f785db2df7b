//! What the integration tests share.

use trail_scan::{Kind, Scanner};

/// Each finding in `text`: its type and the text it covers.
pub fn found(text: &str) -> Vec<(Kind, String)> {
    Scanner::default()
        .scan(text)
        .into_iter()
        .map(|f| (f.kind.clone(), text[f.start..f.end].to_owned()))
        .collect()
}

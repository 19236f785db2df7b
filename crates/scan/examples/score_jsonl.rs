//! Reads `{"id", "text"}` JSON lines on stdin and writes `{"id", "findings": [...]}` lines
//! for `testdata/pii/score.py`.
//!
//! ```text
//! cargo run --release -p trail-scan --example score_jsonl < dev.jsonl > out.jsonl
//! python3 testdata/pii/score.py testdata/pii/dev.jsonl out.jsonl
//! ```

use std::io::{BufRead, Write};

use serde_json::{Value, json};
use trail_scan::Scanner;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scanner = Scanner::default();
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)?;
        let text = v["text"].as_str().unwrap_or_default();
        let findings: Vec<Value> = scanner
            .scan(text)
            .iter()
            .map(|f| json!({"start": f.start, "end": f.end, "type": f.kind.as_str()}))
            .collect();
        writeln!(out, "{}", json!({"id": v["id"], "findings": findings}))?;
    }
    out.flush()?;
    Ok(())
}

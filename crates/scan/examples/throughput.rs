//! Scans every corpus text in a loop and prints MB/s (a quick check; the criterion bench
//! is the real measurement).
//!
//! `throughput [corpus.jsonl] [passes]`: under `valgrind --tool=callgrind`, the difference
//! between 3 passes and 1 pass is the steady-state cost of a pass, without the lazy DFAs'
//! first-pass state building.
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "../../testdata/pii/dev.jsonl".into());
    let passes: usize = std::env::args().nth(2).map_or(Ok(5), |n| n.parse())?;
    let texts: Vec<String> = std::fs::read_to_string(path)?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let scanner = trail_scan::Scanner::default();
    let t = Instant::now();
    let mut n = 0;
    for _ in 0..passes {
        for s in &texts {
            n += scanner.scan(s).len();
        }
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!("{n} findings, {:.1} MB/s", passes as f64 * bytes as f64 / secs / 1e6);
    Ok(())
}

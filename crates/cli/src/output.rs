//! Terminal output: colours that respect `NO_COLOR` and tables that fit the terminal.

use std::io::IsTerminal;

/// Whether to colour stdout.
pub fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Wraps `text` in an ANSI colour when colouring.
pub fn paint(text: &str, code: &str) -> String {
    if color() { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
}

pub fn red(text: &str) -> String {
    paint(text, "31")
}

pub fn green(text: &str) -> String {
    paint(text, "32")
}

pub fn yellow(text: &str) -> String {
    paint(text, "33")
}

/// The width tables must fit: `COLUMNS` when set, else the terminal's; `None` when stdout is
/// not a terminal (a pipe or file gets whole cells).
pub fn width() -> Option<usize> {
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<usize>().ok()) {
        return Some(w.max(20));
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // A terminal that reports no size (some `stty` settings) is taken as 80 columns.
    Some(terminal_size::terminal_size().map_or(80, |(w, _)| usize::from(w.0)).max(20))
}

/// The width of `s` as the terminal shows it: ANSI colour sequences take no room.
pub fn visible_len(s: &str) -> usize {
    strip_ansi(s).chars().count()
}

/// `s` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\x1b') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Columns that are never cut: a cut timestamp, seq or number reads as another value.
fn whole(header: &str) -> bool {
    [
        "SEQ", "TIME", "START", "HOUR", "EVENTS", "ERRORS", "DENIED", "DENIALS", "DURATION",
        "COST", "TOKENS",
    ]
    .iter()
    .any(|h| header.contains(h))
}

/// Prints rows as a table that fits [`width`]: the widest cuttable columns (free text: actions,
/// agents, sessions, bodies) are shortened with an ellipsis; times, seqs and numbers never are.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(visible_len(cell));
        }
    }
    if let Some(total) = width() {
        let budget = total.saturating_sub(2 * (n.saturating_sub(1)));
        while widths.iter().sum::<usize>() > budget {
            let widest = widths
                .iter()
                .enumerate()
                .filter(|(i, w)| !whole(headers[*i]) && **w > 4)
                .max_by_key(|(_, w)| **w)
                .map(|(i, _)| i);
            let Some(i) = widest else { break };
            widths[i] -= 1;
        }
    }
    let fmt_row = |cells: &[String]| {
        let mut line = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            let shown = fit(cell, *w);
            line.push_str(&shown);
            if i + 1 < n {
                // Padded by what shows, not by bytes: colour codes take no room.
                line.push_str(&" ".repeat(w.saturating_sub(visible_len(&shown)) + 2));
            }
        }
        line.trim_end().to_owned()
    };
    let mut out = fmt_row(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    out.push('\n');
    for row in rows {
        out.push_str(&fmt_row(row));
        out.push('\n');
    }
    out
}

/// Truncates to `w` visible characters with an ellipsis; a coloured cell that must be cut loses
/// its colour rather than being cut inside an escape sequence.
pub fn fit(s: &str, w: usize) -> String {
    if visible_len(s) <= w {
        return s.to_owned();
    }
    let plain = strip_ansi(s);
    let mut t: String = plain.chars().take(w.saturating_sub(1)).collect();
    t.push('…');
    t
}

pub use trail_datadir::writer::duration;

/// Replaces `path` with `bytes` so a crash leaves the old file or the new one, whole: a
/// temporary file beside it, synced, then renamed over it (cursors and kept state).
pub fn replace_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A range of seqs, inclusive, written one way everywhere: `seq 4`, `seq 0 to 9`.
pub fn seq_range(first: u64, last: u64) -> String {
    if first == last { format!("seq {first}") } else { format!("seq {first} to {last}") }
}

/// `1 record`, `2 records`, `2 bodies`: a count with its noun, singular or plural (English
/// regular plurals; every noun trail counts is regular).
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    match noun.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// Creates `path` for output, refusing to replace a file that exists: no command removes what
/// it did not create.
pub fn create_new(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use anyhow::Context;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    // What trail writes out carries bodies: readable by its owner only, like the log itself.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).with_context(|| {
        if path.exists() {
            format!(
                "{} already exists; refusing to overwrite it (remove it or choose another path)",
                path.display()
            )
        } else {
            format!("cannot create {}", path.display())
        }
    })
}

/// A progress bar on stderr for long work: `total` items (or a counter when unknown), drawn only
/// when stderr is a terminal and the output is not JSON; hidden otherwise, so pipes and scripts
/// see nothing of it. Cleared when dropped.
pub fn progress(total: Option<u64>, what: &str, json: bool) -> Progress {
    use indicatif::{ProgressBar, ProgressStyle};
    if json || !std::io::stderr().is_terminal() {
        return Progress(ProgressBar::hidden());
    }
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {human_pos}/{human_len} ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg}: {human_pos}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Progress(bar)
}

/// A progress bar that clears itself when dropped.
pub struct Progress(indicatif::ProgressBar);

impl Progress {
    pub fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    /// Clears the bar now (before a final line of output).
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod human_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_and_counts_read_as_words() {
        assert_eq!(duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(duration(Duration::from_millis(4_240)), "4.2 s");
        assert_eq!(duration(Duration::from_secs(192)), "3 min 12 s");
        assert_eq!(duration(Duration::from_secs(17_640)), "4 h 54 min");
        assert_eq!(duration(Duration::from_secs(183_600)), "2 d 3 h");
        assert_eq!(count(1, "record"), "1 record");
        assert_eq!(count(0, "record"), "0 records");
        assert_eq!(count(2, "event"), "2 events");
        assert_eq!(count(3, "body"), "3 bodies");
        assert_eq!(count(2, "key"), "2 keys");
    }
}

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

/// The terminal width, or 120 when not a terminal.
pub fn width() -> usize {
    terminal_size::terminal_size().map_or(120, |(w, _)| usize::from(w.0))
}

/// Prints rows as a table whose columns fit the terminal: the widest columns are truncated.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let budget = width().saturating_sub(2 * (n.saturating_sub(1)));
    while widths.iter().sum::<usize>() > budget {
        let (i, w) = widths
            .iter()
            .enumerate()
            .max_by_key(|(_, w)| **w)
            .map(|(i, w)| (i, *w))
            .unwrap_or((0, 0));
        if w <= 8 {
            break;
        }
        widths[i] = w - 1;
    }
    let fmt_row = |cells: &[String]| {
        let mut line = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            let shown = fit(cell, *w);
            if i + 1 == n {
                line.push_str(&shown);
            } else {
                line.push_str(&format!("{shown:<w$}  "));
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

/// Truncates to `w` characters with an ellipsis.
pub fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// A duration as a person reads it: `850 ms`, `4.2 s`, `3 min 12 s`, `4 h 54 min`, `2 d 3 h`.
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    let s = d.as_secs();
    match s {
        _ if ms < 1000 => format!("{ms} ms"),
        0..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
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

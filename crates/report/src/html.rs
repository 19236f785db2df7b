//! The report as HTML: one document, its style inline, its charts inline SVG, every value from
//! the log escaped (agent names and actions are whatever clients sent).

use std::fmt::Write as _;

use crate::{Figures, Meta, headline};

/// Text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters and bidirectional overrides (which make `evil` read `live`).
            c if (c.is_control() && c != '\n')
                || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}') =>
            {
                out.push('\u{FFFD}')
            }
            c => out.push(c),
        }
    }
    out
}

fn or_none(s: &str) -> String {
    if s.is_empty() { "<span class=\"dim\">(none)</span>".to_owned() } else { esc(s) }
}

fn time(t: Option<trail_core::Timestamp>) -> String {
    t.map_or_else(|| "<span class=\"dim\">-</span>".to_owned(), |t| esc(&t.to_string()))
}

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f24;margin:0 auto;max-width:1000px;padding:16px}
h1{font-size:1.5em;margin:.4em 0}h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid #ccd;padding-bottom:.2em}
.verdict{font-weight:700;font-size:1.1em;padding:10px 12px;border-radius:6px;margin:0}
.ok{background:#e3f4e8;color:#0d5a26}.warn{background:#fff4d6;color:#6b4b00}.bad{background:#fde2e1;color:#8a1410}
.dim{color:#667}table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e3e6ea;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}
pre,code{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;background:#f4f6f8;border-radius:4px}
pre{padding:8px;white-space:pre-wrap;word-break:break-all}code{padding:1px 4px;word-break:break-all}
svg{max-width:100%;height:auto}svg text{font:10px sans-serif;fill:#445}svg rect{fill:#4a78b5}
.kv td:first-child{width:40%;color:#445}
td{overflow-wrap:anywhere}
@media print{body{max-width:none;padding:0;font-size:10pt}h2{break-after:avoid}svg{break-inside:avoid}.scroll{overflow:visible}td,th{padding:2px 4px}}
";

pub(crate) fn document(meta: &Meta, f: &Figures, data: &str) -> String {
    let i = &meta.integrity;
    let class = match i.verdict.as_str() {
        "intact" => "ok",
        "unsigned_records" | "empty" => "warn",
        _ => "bad",
    };
    let head = headline(meta);
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{STYLE}</style></head><body>\n\
         <p class=\"verdict {class}\" id=\"verdict\">{t}</p>\n\
         <h1>Audit report: {origin}</h1>\n<table class=\"kv\">\
         <tr><td>Period</td><td>{from} to {to}</td></tr>\
         <tr><td>Computed at checkpoint</td><td>{size}</td></tr>\
         <tr><td>Read from</td><td>{source}</td></tr>\
         <tr><td>Written</td><td>{generated}</td></tr></table>\n",
        t = esc(&head),
        origin = esc(&meta.origin),
        from = meta.period_from.map_or("the first record".to_owned(), |t| esc(&t.to_string())),
        to = meta.period_to.map_or("the checkpoint".to_owned(), |t| esc(&t.to_string())),
        size = i
            .checkpoint
            .as_deref()
            .and_then(|c| trail_core::SignedCheckpoint::parse(c).ok())
            .map_or("none: no signed checkpoint".to_owned(), |c| format!(
                "size {}",
                c.checkpoint.size
            )),
        source = esc(&meta.source),
        generated = esc(&meta.generated_at.to_string()),
    );
    integrity(&mut h, meta);
    coverage(&mut h, f);
    risk(&mut h, f);
    retention(&mut h, meta);
    usage(&mut h, f);
    duties(&mut h);
    let _ = write!(
        h,
        "<h2>About this report</h2><p>This file holds the signed checkpoint its figures were \
         computed at and the SHA-256 digest of its own content. <code>trail verify --report \
         FILE --key LOG_KEY</code> tells whether it is unaltered and signed by the log's key; \
         with <code>--data DIR</code> or <code>--tiles URL</code> it also folds the log again and \
         compares every figure. The report states evidence from the log; it is not a \
         certificate of compliance.</p>\n{data}\n</body></html>\n"
    );
    h
}

fn integrity(h: &mut String, meta: &Meta) {
    let i = &meta.integrity;
    let _ = write!(
        h,
        "<h2 id=\"integrity\">1. Integrity</h2><table class=\"kv\">\
         <tr><td>Verdict</td><td>{}</td></tr>\
         <tr><td>Records in the log</td><td>{}</td></tr>\
         <tr><td>Covered by a valid signed checkpoint</td><td>{}</td></tr>\
         <tr><td>Not yet covered (newest)</td><td>{}</td></tr>\
         <tr><td>Problems found</td><td>{}</td></tr>",
        esc(match i.verdict.as_str() {
            "intact" => "intact: every record under a valid signed checkpoint",
            "unsigned_records" => "intact so far: the newest records are not yet signed",
            "no_key" => "not verified: no key to check signatures",
            "empty" => "empty log",
            _ => "not intact: problems found",
        }),
        i.records,
        i.verified_size,
        i.unsigned_tail,
        i.problem_count
    );
    if let Some(p) = &i.witness_policy {
        let met = match i.witness_quorum_met {
            Some(true) => "met",
            Some(false) => "<b>not met</b>",
            None => "not checked",
        };
        let _ = write!(h, "<tr><td>Witness policy</td><td>{}: {met}</td></tr>", esc(p));
    }
    h.push_str("</table>");
    if !i.problems.is_empty() {
        h.push_str("<p>The problems, first ones first:</p><ul>");
        for p in &i.problems {
            let _ = write!(h, "<li>{}</li>", esc(p));
        }
        h.push_str("</ul>");
    }
    match &i.checkpoint {
        Some(cp) => {
            let _ = write!(
                h,
                "<p>The checkpoint the figures rest on (a C2SP signed note):</p><pre>{}</pre>",
                esc(cp)
            );
        }
        None => h.push_str(
            "<p><b>No signed checkpoint:</b> nothing proves these records were not rewritten.</p>",
        ),
    }
    if !i.signatures.is_empty() {
        h.push_str("<div class=\"scroll\"><table><tr><th>Signed by</th><th>Key id</th><th>Role</th><th>Verified</th></tr>");
        for s in &i.signatures {
            let _ = write!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&s.name),
                esc(&s.key_id),
                esc(&s.role),
                if s.verified { "yes" } else { "no (no key given for it)" }
            );
        }
        h.push_str("</table></div>");
    }
    let _ = write!(h, "<p>Re-check it yourself:</p><pre>{}</pre>", esc(&meta.recheck));
}

/// Horizontal bars, one per row: label, count.
fn bars(rows: &[(String, u64)], what: &str) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(1).max(1);
    let (row_h, label_w, bar_w) = (16u64, 150u64, 440u64);
    let height = row_h * rows.len() as u64 + 4;
    let mut s = format!(
        "<svg viewBox=\"0 0 {} {height}\" width=\"{}\" role=\"img\" aria-label=\"{}\">",
        label_w + bar_w + 70,
        label_w + bar_w + 70,
        esc(what)
    );
    for (k, (label, n)) in rows.iter().enumerate() {
        let y = k as u64 * row_h;
        let w = (bar_w * n / max).max(1);
        let short: String = label.chars().take(24).collect();
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{label_w}\" y=\"{}\" width=\"{w}\" height=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">{n}</text>",
            label_w - 6,
            y + 12,
            esc(&short),
            y + 2,
            row_h - 4,
            label_w + w + 4,
            y + 12
        );
    }
    s.push_str("</svg>");
    s
}

fn coverage(h: &mut String, f: &Figures) {
    let _ = write!(
        h,
        "<h2 id=\"coverage\">2. Coverage</h2><p>{} events in the period from {} agents in {} sessions, \
         from {} to {}{}.</p>",
        f.events,
        f.agents.len(),
        f.sessions,
        time(f.first_time),
        time(f.last_time),
        if f.outside_period > 0 {
            format!(" ({} more records of the log lie outside the period)", f.outside_period)
        } else {
            String::new()
        }
    );
    if !f.days.is_empty() {
        let days: Vec<(String, u64)> =
            f.days.iter().rev().take(60).rev().map(|(d, n)| (d.clone(), *n)).collect();
        let _ = write!(
            h,
            "<p>Events per day (UTC){}:</p>{}",
            if f.days.len() > 60 { ", the last 60 days" } else { "" },
            bars(&days, "events per day")
        );
    }
    h.push_str("<div class=\"scroll\"><table><tr><th>Agent</th><th class=\"n\">Events</th><th class=\"n\">Sessions</th>\
                <th class=\"n\">Denials</th><th class=\"n\">Errors</th><th>First</th><th>Last</th></tr>");
    for (agent, a) in &f.agents {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            or_none(agent),
            a.events,
            a.sessions,
            a.denials,
            a.errors,
            time(a.first_time),
            time(a.last_time)
        );
    }
    h.push_str("</table></div>");
    if !f.top_sessions.is_empty() {
        let _ = write!(
            h,
            "<p>Events per session{}:</p><div class=\"scroll\"><table><tr><th>Session</th><th>Agent</th>\
             <th>First</th><th>Last</th><th class=\"n\">Events</th></tr>",
            if f.sessions > f.top_sessions.len() as u64 {
                format!(", the {} largest of {}", f.top_sessions.len(), f.sessions)
            } else {
                String::new()
            }
        );
        for s in &f.top_sessions {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&s.session),
                or_none(&s.agent),
                esc(&s.first.to_string()),
                esc(&s.last.to_string()),
                s.events
            );
        }
        h.push_str("</table></div>");
    }
    let _ = write!(
        h,
        "<p><b>Sessions without an end</b> (a <code>session_start</code> and no \
         <code>session_end</code>): {}.</p>",
        f.open_sessions_total
    );
    if !f.open_sessions.is_empty() {
        h.push_str("<div class=\"scroll\"><table><tr><th>Session</th><th>Agent</th><th>Started</th><th>Last event</th><th class=\"n\">Events</th></tr>");
        for s in &f.open_sessions {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(&s.session),
                or_none(&s.agent),
                esc(&s.started.to_string()),
                esc(&s.last_event.to_string()),
                s.events
            );
        }
        h.push_str("</table></div>");
    }
    let _ = write!(
        h,
        "<p><b>Gaps</b>: silences of at least {} minutes of an agent active before and after: {}{}.</p>",
        f.gap_minutes,
        f.gaps_total,
        if f.gaps_total > f.gaps.len() as u64 {
            format!(" (the {} longest listed)", f.gaps.len())
        } else {
            String::new()
        }
    );
    if !f.gaps.is_empty() {
        h.push_str("<div class=\"scroll\"><table><tr><th>Agent</th><th>From</th><th>To</th><th class=\"n\">Minutes</th></tr>");
        for g in &f.gaps {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                or_none(&g.agent),
                esc(&g.from.to_string()),
                esc(&g.to.to_string()),
                g.minutes
            );
        }
        h.push_str("</table></div>");
    }
}

fn risk(h: &mut String, f: &Figures) {
    let _ = write!(
        h,
        "<h2 id=\"risk\">3. Risk</h2><table class=\"kv\"><tr><td>Permission denials</td><td>{}</td></tr>\
         <tr><td>Errors</td><td>{}</td></tr><tr><td>Records in which the scanner found PII or secrets</td><td>{}</td></tr>\
         <tr><td>Erasures</td><td>{}</td></tr><tr><td>Prunes</td><td>{}</td></tr></table>",
        f.denials,
        f.errors,
        f.records_with_findings,
        f.erasures.len(),
        f.prunes.len()
    );
    if !f.findings.is_empty() {
        h.push_str("<p>Findings by type (counts only: the report never shows a finding's value, and a field in which one was found is shown as <code>[type withheld]</code>):</p>\
                    <div class=\"scroll\"><table><tr><th>Type</th><th class=\"n\">Found</th></tr>");
        for (kind, n) in &f.findings {
            let _ = write!(h, "<tr><td>{}</td><td class=\"n\">{n}</td></tr>", esc(kind));
        }
        h.push_str("</table></div>");
    }
    if !f.denial_list.is_empty() {
        let _ = write!(
            h,
            "<p>Denials{}:</p>",
            if f.denials > f.denial_list.len() as u64 { ", the first ones" } else { "" }
        );
        h.push_str("<div class=\"scroll\"><table><tr><th class=\"n\">Seq</th><th>Time</th><th>Agent</th><th>Kind</th><th>Action</th><th>Status</th></tr>");
        for d in &f.denial_list {
            let _ = write!(
                h,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                d.seq,
                esc(&d.time.to_string()),
                or_none(&d.agent),
                esc(&d.kind),
                or_none(&d.action),
                esc(&d.status)
            );
        }
        h.push_str("</table></div>");
    }
    for (title, list, count) in
        [("Erasures", &f.erasures, "Bodies erased"), ("Prunes", &f.prunes, "Records removed")]
    {
        if list.is_empty() {
            continue;
        }
        let _ = write!(
            h,
            "<p>{title}:</p><div class=\"scroll\"><table><tr><th class=\"n\">Seq</th><th>Time</th><th>Asked by</th>\
             <th>Reason</th><th class=\"n\">{count}</th></tr>"
        );
        for m in list {
            let _ = write!(
                h,
                "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
                m.seq,
                esc(&m.time.to_string()),
                or_none(&m.by),
                m.reason
                    .as_deref()
                    .map_or("<span class=\"dim\">(not in the input)</span>".to_owned(), esc),
                m.count.map_or("-".to_owned(), |n| n.to_string())
            );
        }
        h.push_str("</table></div>");
    }
}

const SIX_MONTHS_NANOS: i128 = 183 * 86_400_000_000_000;

fn retention(h: &mut String, meta: &Meta) {
    let r = &meta.retention;
    h.push_str("<h2 id=\"retention\">4. Retention</h2><table class=\"kv\">");
    let policy = if !r.policy_known {
        "<span class=\"dim\">not known from this source</span>".to_owned()
    } else if r.policy.is_empty() {
        "none: records are kept until pruned by hand".to_owned()
    } else {
        r.policy.iter().map(|p| esc(p)).collect::<Vec<_>>().join("<br>")
    };
    let _ = write!(
        h,
        "<tr><td>Configured policy</td><td>{policy}</td></tr><tr><td>Oldest record kept (times as the agents sent them)</td><td>{}</td></tr>\
         <tr><td>Newest record</td><td>{}</td></tr><tr><td>First seq kept</td><td>{}</td></tr>",
        time(r.oldest),
        time(r.newest),
        r.first_seq
    );
    let six = match r.oldest {
        None => "no records".to_owned(),
        Some(oldest) => {
            // In i128: the oldest time is the agent's, and may lie centuries away.
            let age = i128::from(meta.generated_at.unix_nanos()) - i128::from(oldest.unix_nanos());
            let days = age / 86_400_000_000_000;
            if age >= SIX_MONTHS_NANOS {
                format!("met: the log reaches back {days} days")
            } else if r.first_seq == 0 {
                format!("met so far: the log is {days} days old and nothing was pruned")
            } else {
                format!(
                    "<b>not shown</b>: the oldest record kept is {days} days old and earlier records were pruned; \
                     records younger than six months may have been removed"
                )
            }
        }
    };
    let _ =
        write!(h, "<tr><td>Six months (EU AI Act Art. 19, 26(6))</td><td>{six}</td></tr></table>");
    if let Some(size) = r.anchor_size {
        let _ = write!(
            h,
            "<p>Records before seq {size} were pruned behind a signed anchor: the tree's state at the \
             cut, signed by this checkpoint, from which verification resumes:</p><pre>{}</pre>",
            r.anchor_checkpoint.as_deref().map_or("(no checkpoint)".to_owned(), esc)
        );
    }
}

fn usage(h: &mut String, f: &Figures) {
    h.push_str("<h2 id=\"usage\">5. Tokens and cost</h2>");
    if f.usage.is_empty() {
        h.push_str("<p>No event in the period reports token usage.</p>");
        return;
    }
    h.push_str("<div class=\"scroll\"><table><tr><th>Agent</th><th>Model</th><th class=\"n\">Calls</th>\
                <th class=\"n\">Input tokens</th><th class=\"n\">Output tokens</th><th class=\"n\">Cost (USD)</th></tr>");
    let (mut calls, mut inp, mut out, mut cost) = (0u64, 0u64, 0u64, 0f64);
    for u in &f.usage {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.4}</td></tr>",
            or_none(&u.agent),
            or_none(&u.model),
            u.calls,
            u.input_tokens,
            u.output_tokens,
            u.cost_usd
        );
        calls += u.calls;
        inp += u.input_tokens;
        out += u.output_tokens;
        cost += u.cost_usd;
    }
    let _ = write!(
        h,
        "<tr><th>All</th><th></th><th class=\"n\">{calls}</th><th class=\"n\">{inp}</th><th class=\"n\">{out}</th><th class=\"n\">{cost:.4}</th></tr></table></div>"
    );
}

fn duties(h: &mut String) {
    h.push_str(
        "<h2 id=\"duties\">6. Which item serves which duty</h2><p>Evidence toward each duty, as this \
         report states it; whether a duty is met is for the auditor to judge.</p><div class=\"scroll\"><table>\
         <tr><th>Duty</th><th>What it asks</th><th>Evidence here</th></tr>\
         <tr><td>EU AI Act Art. 12</td><td>automatic recording of events over the system's lifetime</td><td>1 (every record chained and signed), 2 (events per agent and day, gaps, sessions without an end)</td></tr>\
         <tr><td>EU AI Act Art. 19, 26(6)</td><td>logs kept at least six months</td><td>4 (oldest record, prunes and their anchors, the six-month line)</td></tr>\
         <tr><td>SOC 2 CC7.2</td><td>monitoring of system components for anomalies over the audit period</td><td>2 (coverage over the period), 3 (denials, errors, findings, erasures, prunes)</td></tr>\
         <tr><td>ISO/IEC 42001 A.6.2.8</td><td>event logs of the AI system recorded and kept</td><td>1, 2, 4</td></tr>\
         <tr><td>HIPAA 164.312(b)</td><td>audit controls that record and examine activity</td><td>2, 3 (who did what, denials and findings by type)</td></tr>\
         <tr><td>HIPAA 164.312(c)(2)</td><td>a way to show records were not altered or destroyed</td><td>1 (Merkle tree, signed checkpoints, the re-check command), 3 (erasures and prunes, each itself a signed record)</td></tr>\
         </table></div>",
    );
}

"""Builds a denkeeper audit database: denkeeper's schema verbatim, rows with its quirks.

usage: python3 make_denkeeper_db.py DB

denkeeper (Go, github Temikus/denkeeper, internal/audit, tag v0.29.10) cannot be installed here
(an internal package needing Go >= 1.21), so this script creates the `audit_events` table and
indexes exactly as its store.go does and inserts rows as its SQLiteStore.InsertBatch would:
timestamps in RFC3339Nano in each time's own zone (trailing fraction zeros trimmed, so `.5Z` and
`Z` and `+10:00` all occur), an empty status (stored as '' when the emitter is bypassed), a tool
event whose `detail` is a JSON object with arguments and a result, a `detail` that is not JSON,
a summary byte-cut by truncateSummary in the middle of a UTF-8 sequence (invalid UTF-8 in a TEXT
column), and an AUTOINCREMENT gap left by PruneBefore-style deletion.
"""

import json
import sqlite3
import sys
from pathlib import Path

db = Path(sys.argv[1])
if db.exists():
    db.unlink()
con = sqlite3.connect(db)
con.executescript("""
CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TEXT NOT NULL,
    category TEXT NOT NULL,
    action TEXT NOT NULL,
    agent TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'ok',
    duration_ms INTEGER DEFAULT 0,
    source TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS idx_audit_timestamp ON audit_events(timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_audit_category ON audit_events(category, timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_audit_agent ON audit_events(agent, timestamp DESC);
CREATE INDEX IF NOT EXISTS idx_audit_conversation ON audit_events(conversation_id, timestamp DESC);
""")

tool_detail = json.dumps({"tool": "web_search", "server": "brave", "round": 1,
                          "arguments": {"query": "weather in K\u00f6ln"},
                          "result": "Sunny, 21\u00b0C", "result_truncated": False}, separators=(",", ":"))
# truncateSummary: first line, cut at byte 77 + "...". Here the cut splits a 3-byte character.
long_summary = ("Zusammenfassung \u2014 " * 6).encode("utf-8")[:77] + b"..."

rows = [
    ("2025-01-01T00:00:00Z", "session", "trigger", "main", "session started", "", "ok", 0, "telegram", "conv-1"),
    ("2025-01-01T00:00:00.5Z", "llm", "complete", "main", "claude-sonnet: 1200 in / 300 out",
     json.dumps({"model": "claude-sonnet", "input_tokens": 1200, "output_tokens": 300, "cost_usd": 0.0081}), "ok", 2150, "telegram", "conv-1"),
    ("2025-01-01T00:00:00.123456789Z", "tool_call", "execute", "main", "web_search: weather in K\u00f6ln", tool_detail, "ok", 840, "telegram", "conv-1"),
    ("2025-01-01T10:00:01+10:00", "approval", "deny", "main", "shell command denied", json.dumps({"command": "rm -rf /", "by": "owner"}), "denied", 0, "api", "conv-1"),
    ("2024-12-31T19:00:02.25-05:00", "tool_call", "execute", "main", "shell: failed",
     json.dumps({"tool": "shell", "server": "", "round": 2, "arguments": {"cmd": "false"}, "error": "exit status 1"}), "error", 15, "api", "conv-1"),
    ("2025-01-01T00:00:03Z", "schedule", "fire", "cron", "daily digest", "not json at all", "pending", 0, "scheduler", ""),
    ("2025-01-01T00:00:04Z", "config", "create_provider", "", "provider openai added", "", "", 0, "", ""),
    ("2025-01-01T00:00:04.5Z", "session", "compact", "main", "pruned later", "", "ok", 0, "telegram", "conv-1"),
    ("2025-01-01T00:00:05.000000001Z", "mcp", "health_fail", "main", long_summary, "{}", "error", 3, "mcp", "conv-2"),
    ("2025-01-01T01:00:06+01:00", "safety", "rm", "main", "blocked: rm -rf", json.dumps({"pattern": "rm -rf"}), "denied", 0, "telegram", "conv-2"),
    ("2025-01-01T00:00:07Z", "skill", "match", "main", "skill weather matched", json.dumps({"skill": "weather", "score": 0.93}), "ok", 1, "telegram", "conv-2"),
    ("2025-01-01T00:00:08Z", "channel", "route", "main", "routed to telegram", "", "ok", None, "telegram", "conv-2"),
]
con.executemany(
    "INSERT INTO audit_events (timestamp, category, action, agent, summary, detail, status, duration_ms, source, conversation_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
    rows)
# An AUTOINCREMENT gap, as a retention prune or a hand DELETE leaves.
con.execute("DELETE FROM audit_events WHERE id = 8")
# The Go driver stores a Go string as TEXT even when its bytes are not UTF-8.
con.execute("UPDATE audit_events SET summary = CAST(summary AS TEXT) WHERE typeof(summary) = 'blob'")
con.execute(
    "INSERT INTO audit_events (timestamp, category, action, agent, summary, detail, status, duration_ms, source, conversation_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
    ("2025-01-01T00:00:09Z", "session", "clear", "main", "session cleared", "", "ok", 0, "telegram", "conv-2"))
con.commit()
con.execute("VACUUM")
con.close()
print(db)

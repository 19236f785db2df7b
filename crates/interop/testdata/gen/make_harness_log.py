"""Writes a real Harness audit log with Harness's own AuditLogger (harness-agent==0.6.0).

usage: python3.12 make_harness_log.py OUT_DIR [SESSION]

Run in a venv with `pip install harness-agent==0.6.0` (Python >= 3.12). The events cover every
Harness event type and the encodings that matter for re-hashing: non-ASCII and astral text,
floats in exponent form, integral floats, an integer beyond 2^64, tool args in the caller's key
order, and a secret and an e-mail address in tool args (Harness never scans them).
"""

import sys
import time
from pathlib import Path

from harness.audit.logger import AuditLogger

out = Path(sys.argv[1])
session = sys.argv[2] if len(sys.argv) > 2 else "fixture-session"
out.mkdir(parents=True, exist_ok=True)
target = out / f"audit-{session}.jsonl"
if target.exists():
    target.unlink()

log = AuditLogger(session, audit_dir=out)
log.log_session_start("anthropic", "claude-sonnet-4-20250514")
log.log_tool_call("Read", {"file_path": "/srv/app/user_form.py", "offset": 0, "limit": 2000})
log.log_tool_result("Read", is_error=False, content_length=1234)
log.log_permission_decision("Edit", "allow", "accept_edits")
log.log_tool_call("Edit", {"new_string": "if not email:", "old_string": "pass", "file_path": "/srv/app/user_form.py"})
log.log_tool_call("Write", {"file_path": "/tmp/\u65e5\u672c\u8a9e.txt", "content": "Gr\u00fc\u00dfe aus K\u00f6ln \u2014 caf\u00e9 \U0001F680 tab\there \"quoted\" back\\slash"})
log.log_tool_result("Write", is_error=True, content_length=0)
log.log_provider_call("anthropic", "claude-sonnet-4-20250514", input_tokens=2500, output_tokens=800, cost=0.0195)
log.log_tool_call("Bash", {"command": "ls -la", "timeout": 1e-07, "big": 1e16, "huge": 1.7976931348623157e308})
log.log_tool_call("Bash", {"command": "echo", "count": 1180591620717411303424, "ratio": 1.0, "neg": -0.0})
log.log_permission_decision("Bash", "deny", "default")
log.log_tool_result("Bash", is_error=False, content_length=42)
log.log_pii_detected("email", "tool output contained an address")
log.log_tool_call("Bash", {"command": "curl -u jane.doe@example.com https://api.example.com", "env": {"AWS_ACCESS_KEY_ID": "AKIAZ7Q3VN4XK2LMB5TP"}})
log.log_tool_result("Bash", is_error=False, content_length=7)
log.log_provider_call("openai", "gpt-4o", input_tokens=1800, output_tokens=450, cost=0.0125)
log.log_tool_call("Grep", {"pattern": "TODO", "path": "src", "nested": {"z": [1, 2, {"b": True, "a": None}], "a": "x"}})
log.log_tool_result("Grep", is_error=False, content_length=512)
log.log_permission_decision("Write", "ask", "plan")
log.log_tool_call("Glob")
log.log_tool_call("Glob", {})
log.log_provider_call("anthropic", "claude-sonnet-4-20250514", input_tokens=0, output_tokens=0, cost=0.0)
log.log_session_end(turns=3, total_tokens=5550, total_cost=0.032)
log.close()
print(target)

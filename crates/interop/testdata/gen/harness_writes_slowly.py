"""Writes Harness audit events with Harness's own AuditLogger (harness-agent==0.6.0), one every
DELAY seconds, as an agent would while trail follows the folder.

usage: python3.12 harness_writes_slowly.py OUT_DIR SESSION COUNT [DELAY]
"""

import sys
import time
from pathlib import Path

from harness.audit.logger import AuditLogger

out, session, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
out.mkdir(parents=True, exist_ok=True)
log = AuditLogger(session, audit_dir=out)
log.log_session_start("anthropic", "claude-sonnet-4-20250514")
for i in range(count - 2):
    if i % 2 == 0:
        log.log_tool_call("Bash", {"command": f"echo {i}", "n": i})
    else:
        log.log_tool_result("Bash", is_error=False, content_length=i)
    time.sleep(delay)
log.log_session_end(turns=count, total_tokens=0, total_cost=0.0)
log.close()

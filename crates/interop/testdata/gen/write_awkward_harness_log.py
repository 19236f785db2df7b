"""Writes a Harness log, with Harness's own AuditLogger, whose tool args hold every value JSON
text can carry awkwardly: each C0 control character, DEL, every C1 control, line and paragraph
separators, a BOM, a lone surrogate, astral text, and numbers Python writes its own way.

usage: python3.12 write_awkward_harness_log.py OUT_DIR

Run in a venv with `pip install harness-agent==0.6.0`. Prints the file's path. The file is made
at test time (never committed), so it is always what Harness's code writes today.
"""

import sys
from pathlib import Path

from harness.audit.logger import AuditLogger

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
target = out / "audit-awkward.jsonl"
if target.exists():
    target.unlink()

log = AuditLogger("awkward", audit_dir=out)
log.log_session_start("anthropic", "claude-sonnet-4-20250514")
for c in list(range(0x00, 0x20)) + [0x7F] + list(range(0x80, 0xA0)):
    log.log_tool_call("Bash", {"command": f"printf 'a{chr(c)}b'", "code": c})
log.log_tool_call("Write", {"content": "\u2028line\u2029para\ufeffbom\ufffe\uffff", "astral": "\U0001F680\U00010000\U0010FFFF"})
log.log_tool_call("Write", {"content": "lone \ud800 surrogate", "key \udfff": 1})
log.log_tool_call("Bash", {"all_c0": "".join(chr(c) for c in range(0x20)), "del": "\x7f" * 3})
log.log_tool_call("Calc", {"big": 2**64, "bigger": 10**40, "neg": -(2**63) - 1, "f": 9007199254740993.0,
                           "tiny": 5e-324, "exp": 1e16, "fifteen": 1e15, "negzero": -0.0,
                           "nan": float("nan"), "inf": float("inf"), "ninf": float("-inf")})
log.log_session_end(turns=1, total_tokens=0, total_cost=0.0)
log.close()
print(target)

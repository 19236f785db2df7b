"""Runs Harness's own AuditLogger.verify_chain on each file; prints the verdict, exit 0/1.

usage: python3.12 verify_harness_log.py FILE...
"""

import sys
from pathlib import Path

from harness.audit.logger import AuditLogger

ok = True
for name in sys.argv[1:]:
    valid, errors = AuditLogger.verify_chain(Path(name))
    print(f"{name}: valid={valid} errors={len(errors)}")
    for e in errors:
        print(f"  {e}")
    ok = ok and valid
sys.exit(0 if ok else 1)

"""Writes an AgenticAPI audit database with AgenticAPI's own SqliteAuditRecorder.

usage: python3.13 make_agenticapi_db.py DB

Run in a venv with `pip install agentharnessapi==0.1.0` (Python >= 3.13; import name
`agenticapi`). 20 traces, fixed timestamps, covering: a timestamp with microsecond 0 (stored
without a fraction), denied policies, errors, llm usage, an approval request, stream events, a
Decimal result (stored as a string), a plain string result, empty lists (stored as NULL),
non-ASCII text, and one trace_id recorded twice (INSERT OR REPLACE keeps only the second).
"""

import asyncio
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from agenticapi.harness.audit import SqliteAuditRecorder
from agenticapi.harness.audit.trace import ExecutionTrace

db = Path(sys.argv[1])
if db.exists():
    db.unlink()


async def main() -> None:
    rec = SqliteAuditRecorder(path=str(db))
    base = datetime(2025, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
    for i in range(18):
        ts = base + timedelta(minutes=i, microseconds=i * 1111)
        if i == 3:
            ts = datetime(2025, 6, 1, 13, 0, 0, tzinfo=UTC)  # microsecond 0: no fraction stored
        if i == 4:
            ts = datetime(2025, 6, 1, 15, 30, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
        allowed = i % 5 != 2
        policies = [] if i % 7 == 6 else [
            {"policy_name": "CodePolicy", "allowed": True, "violations": [], "warnings": []},
            {"policy_name": "DataPolicy", "allowed": allowed,
             "violations": [] if allowed else ["DELETE without WHERE on table orders"],
             "warnings": ["large result set"] if i % 3 == 0 else []},
        ]
        result = None
        error = None
        if allowed:
            result = {"rows": i * 10, "table": "orders", "sample": [{"id": i, "total": 12.5 + i}]}
        else:
            error = "policy DataPolicy denied the generated code"
        if i == 8:
            result = Decimal("1.10")
        if i == 9:
            result = "plain text result: caf\u00e9 \u2014 \U0001F680"
        if i == 10:
            error = "ZeroDivisionError: division by zero"
            result = None
        trace = ExecutionTrace(
            trace_id=f"{i:02d}" + "a1b2c3d4e5f60718293a4b5c6d7e8f"[: 30],
            endpoint_name="orders" if i % 2 == 0 else "customers",
            timestamp=ts,
            intent_raw=f"show me the orders of customer {i} (jane.doe{i}@example.com)" if i != 11 else "Bestellungen f\u00fcr K\u00f6ln zeigen",
            intent_action="read" if i % 4 else "write",
            generated_code="" if i == 12 else f"result = db.query('SELECT * FROM orders WHERE customer = {i}')",
            reasoning=None if i % 2 else f"the user asks for orders of customer {i}",
            policy_evaluations=policies,
            execution_result=result,
            execution_duration_ms=12.5 * i,
            error=error,
            llm_usage=None if i % 3 == 1 else {"input_tokens": 100 + i, "output_tokens": 20 + i},
            approval_request_id=f"apr-{i}" if i in (5, 13) else None,
            stream_events=[] if i != 14 else [
                {"kind": "thought", "seq": 0, "text": "planning"},
                {"kind": "tool_call", "seq": 1, "name": "db.query"},
                {"kind": "final", "seq": 2, "text": "done"},
            ],
        )
        await rec.record(trace)
    # The same trace_id recorded twice: the second silently replaces the first.
    for err in ("boom", None):
        await rec.record(ExecutionTrace(
            trace_id="ffffffffffffffffffffffffffffffff", endpoint_name="orders",
            timestamp=datetime(2025, 6, 2, 9, 0, 0, 5, tzinfo=UTC), intent_raw="retry",
            intent_action="read", generated_code="result = 1", execution_result=1,
            execution_duration_ms=0.0, error=err))
    # A streaming endpoint's second trace: no generated code, only events.
    await rec.record(ExecutionTrace(
        trace_id="eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", endpoint_name="chat",
        timestamp=datetime(2025, 6, 2, 10, 0, 0, tzinfo=UTC), intent_raw="stream a summary",
        stream_events=[{"kind": "token", "seq": 0, "text": "Hel"}, {"kind": "token", "seq": 1, "text": "lo"}]))
    print(await rec.count(), "traces in", db)
    rec.close()


asyncio.run(main())

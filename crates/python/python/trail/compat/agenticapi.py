"""AgenticAPI's audit recorder, over a trail log.

``TrailAuditRecorder(log)`` implements AgenticAPI's ``AuditRecorderProtocol`` (``async
record(trace)``, ``get_records(*, endpoint_name=None, limit=100)``) and the rest of its
``SqliteAuditRecorder``'s reading surface (``get_by_id``, ``iter_since``, ``count``), so
``HarnessEngine(audit_recorder=TrailAuditRecorder(log))`` takes it as it takes its own. Each
trace is recorded as ``trail import --from agenticapi`` records a stored row (events for the
intent, the generated code, each policy evaluation, the execution, an approval; ids
``agenticapi:<trace_id>:<stage>``): signed, scanned, never overwritten (AgenticAPI's own store
replaces a trace with the same id; here the first stays and a second with the same id adds
nothing). Traces read back are rebuilt from those events. ``vacuum_older_than`` and ``clear``
refuse: trail removes records only behind a signed anchor (``trail prune``).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Dict, List, Optional

from trail import EventError, Log

COLUMNS = [
    "trace_id", "timestamp", "endpoint_name", "intent_raw", "intent_action", "generated_code",
    "reasoning", "execution_duration_ms", "execution_result", "error", "llm_usage",
    "policy_evaluations", "approval_request_id", "stream_events",
]


def _row(trace: Any) -> List[Any]:
    """The row AgenticAPI's SQLite store writes for ``trace`` (its own function when installed)."""
    try:
        from agenticapi.harness.audit.sqlite_store import _trace_to_row
        return list(_trace_to_row(trace))
    except ImportError:
        t = trace
        dumps = json.dumps
        return [t.trace_id, t.timestamp.astimezone(timezone.utc).isoformat(), t.endpoint_name, t.intent_raw,
                t.intent_action, t.generated_code, t.reasoning, t.execution_duration_ms,
                dumps(t.execution_result, default=str) if t.execution_result is not None else None, t.error,
                dumps(t.llm_usage) if t.llm_usage is not None else None,
                dumps(t.policy_evaluations) if t.policy_evaluations else None, t.approval_request_id,
                dumps(t.stream_events) if t.stream_events else None]


class TrailAuditRecorder:
    """AgenticAPI's ``AuditRecorderProtocol`` over a trail log."""

    def __init__(self, log: Log, *, source: str = "agenticapi") -> None:
        self._log = log
        self._source = source
        self._rows = 0

    async def record(self, trace: Any) -> None:
        row = json.dumps({"columns": COLUMNS, "row": _row(trace)}, default=str)
        self._rows += 1
        await asyncio.get_running_loop().run_in_executor(
            None, self._log._native.record_agenticapi_json, row, self._source, self._rows)

    def _trace(self, trace_id: str) -> Optional[Any]:
        events = sorted(self._log.query(trace_id=trace_id, source="agenticapi", limit=1000), key=lambda r: r["seq"])
        if not events:
            return None
        row: Dict[str, Any] = {}
        policies: List[Any] = []
        for e in events:
            body = (e.get("body") or {}).get("agenticapi") or {}
            p = body.get("policy_evaluations")
            if isinstance(p, dict) and "policy" in p:
                policies.append(p["policy"])
                continue
            row.update(body)
        from agenticapi.harness.audit.trace import ExecutionTrace
        ts = datetime.fromisoformat(row["timestamp"])
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=timezone.utc)
        usage = row.get("llm_usage")
        return ExecutionTrace(
            trace_id=row["trace_id"], endpoint_name=row.get("endpoint_name") or "", timestamp=ts,
            intent_raw=row.get("intent_raw") or "", intent_action=row.get("intent_action") or "",
            generated_code=row.get("generated_code") or "", reasoning=row.get("reasoning"),
            policy_evaluations=policies, execution_result=row.get("execution_result"),
            execution_duration_ms=float(row.get("execution_duration_ms") or 0.0), error=row.get("error"),
            llm_usage={str(k): int(v) for k, v in usage.items()} if isinstance(usage, dict) else None,
            approval_request_id=row.get("approval_request_id"),
            stream_events=row.get("stream_events") or [],
        )

    def get_records(self, *, endpoint_name: Optional[str] = None, limit: int = 100) -> List[Any]:
        """The latest traces, newest first (of one endpoint if given)."""
        filters: Dict[str, Any] = {"kind": "intent", "source": "agenticapi", "limit": max(1, limit)}
        if endpoint_name is not None:
            filters["agent"] = endpoint_name
        out = []
        for r in self._log.query(**filters):
            t = self._trace(r["record"]["trace_id"])
            if t is not None:
                out.append(t)
        return out

    def get_by_id(self, trace_id: str) -> Optional[Any]:
        return self._trace(trace_id)

    async def iter_since(self, since: datetime) -> AsyncIterator[Any]:
        """Every trace at or after ``since``, oldest first (none skipped, unlike AgenticAPI's)."""
        for r in self._log.scan(kind="intent", source="agenticapi", since=since.astimezone(timezone.utc).isoformat()):
            t = self._trace(r["record"]["trace_id"])
            if t is not None:
                yield t

    async def count(self) -> int:
        return sum(1 for _ in self._log.scan(kind="intent", source="agenticapi"))

    async def vacuum_older_than(self, cutoff: datetime) -> int:
        raise EventError("a trail log removes records only behind a signed anchor: use `trail prune` or retention")

    async def clear(self) -> None:
        raise EventError("a trail log is never cleared: use `trail prune` or retention")

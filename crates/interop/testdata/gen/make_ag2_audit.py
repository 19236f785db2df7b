"""Writes an AG2 hub audit log with ag2's own AuditLog over a DiskKnowledgeStore.

usage: python3.12 make_ag2_audit.py ROOT

Run in a venv with `pip install ag2==1.2.1 watchdog`. The log lands in ROOT/audit/audit.jsonl.
A fixed clock gives reproducible `at` values; one record carries a caller-supplied `at` that goes
back in time and one an `at` with a +02:00 offset; custom kinds go through the public `append`;
one record holds a non-JSON value (a set, written with `default=str`).
"""

import asyncio
import itertools
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

from ag2.knowledge import DiskKnowledgeStore
from ag2.network.hub.audit import AuditLog

root = Path(sys.argv[1])
if root.exists():
    shutil.rmtree(root)
root.mkdir(parents=True)

ticks = itertools.count()


def clock() -> str:
    n = next(ticks)
    return f"2025-06-01T12:00:{n:02d}.{n * 1000:06d}Z"


async def main() -> None:
    log = AuditLog(DiskKnowledgeStore(root), clock=clock)
    await log.on_agent_event("agent-a", "registered", {"passport": SimpleNamespace(name="Planner")})
    await log.on_agent_event("agent-b", "registered", {"passport": SimpleNamespace(name="Kl\u00e4ger \U0001F916")})
    await log.on_agent_event("agent-a", "resume_set", {"version": 2})
    await log.on_agent_event("agent-a", "skill_set", {})
    await log.on_agent_event("agent-b", "rule_set", {"version": "r-7"})
    # Caller-supplied `at`, earlier than everything before it.
    await log.on_agent_event("agent-b", "observation_recorded",
                             {"at": "2025-01-01T00:00:00Z", "version": 3, "capability": "search", "outcome": "success"})
    await log.on_channel_event("ch-1", "created", {"participants": ["agent-a", "agent-b"]})
    await log.on_channel_event("ch-1", "opened", {})  # observed only: no record
    await log.on_task_event("task-1", "started", {})  # observed only: no record
    await log.on_task_event("task-1", "completed", {"owner_id": "agent-a", "channel_id": "ch-1", "capability": "search"})
    await log.on_task_event("task-2", "failed", {"at": "2025-06-01T14:00:10.5+02:00", "owner_id": "agent-b",
                                                  "channel_id": "ch-1", "reason": "timeout after 30s"})
    await log.on_turn_failed("ch-1", "agent-b", "env-9", ValueError("bad envelope: secret_key=abcdefghijklmnopqrstuvwx"))
    await log.on_channel_event("ch-1", "closed", {"reason": "done"})
    await log.on_channel_event("ch-2", "expired", {"reason": "ttl"})
    await log.append({"at": clock(), "kind": "tenant.billing_adjusted", "agent_id": "agent-a", "amount": 12.5,
                      "tags": {"b", "a"} and sorted({"b", "a"}), "note": None})
    await log.append({"at": clock(), "kind": "custom_probe", "payload": {"set": {"only"}}})
    await log.on_agent_event("agent-b", "unregistered", {"name": "Kl\u00e4ger"})
    print(log.bytes_written, "bytes in", root / "audit" / "audit.jsonl")


asyncio.run(main())

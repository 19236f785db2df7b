"""The peers' side of `bench/run`: each peer's own recorder, driven through its public API.

usage: python peers.py PEER WORKLOAD --events FILE --n N --dir DIR --out RESULT.json [--reps R]

PEER is harness (harness-agent 0.6.0, Python 3.12+), agenticapi (agentharnessapi 0.1.0,
Python 3.13+) or ag2 (ag2 1.2.1). WORKLOAD is append (one event at a time, each call timed),
build (the same appends, untimed per call, to make the big log), verify, query or search.
Each event of the shared JSONL file is mapped to the peer's nearest API call; events are parsed
outside the timed calls, as trail's runner does. Run by run.py, one process per workload, so
the process's peak memory is the workload's.
"""

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

RARE_WORD = "deadlock"
AGENTS = ["planner", "coder", "reviewer", "tester", "researcher", "deployer", "triage", "support"]


def events(path, n):
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= n:
                return
            yield json.loads(line)


def pct(lat, p):
    if not lat:
        return 0.0
    lat = sorted(lat)
    return lat[min(len(lat) - 1, round(p / 100 * (len(lat) - 1)))] * 1e6


def dir_bytes(d):
    total = 0
    for root, _, files in os.walk(d):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def timed_result(n, lat, extra=None):
    busy = sum(lat)
    out = {"events": n, "secs": busy, "events_per_s": n / busy if busy else 0.0,
           "p50_us": pct(lat, 50), "p99_us": pct(lat, 99)}
    out.update(extra or {})
    return out


# ----------------------------------------------------------------------------------------------
# Harness: AuditLogger(session_id, audit_dir=...) per session, one log_* call per event.

def harness_call(logger, e):
    body = e.get("body") or {}
    kind, tool = e["kind"], e.get("action", "")
    if kind == "tool_call":
        return lambda: logger.log_tool_call(tool, body.get("args"))
    if kind == "tool_result":
        # Harness logs the length of a result, never its content.
        return lambda: logger.log_tool_result(
            tool, is_error=e.get("status") == "error", content_length=len(body.get("output", "")))
    if kind == "llm_call":
        u = e.get("usage", {})
        return lambda: logger.log_provider_call(
            body.get("provider", ""), u.get("model", ""), input_tokens=u.get("input_tokens", 0),
            output_tokens=u.get("output_tokens", 0), cost=u.get("cost_usd", 0.0))
    return lambda: logger.log_permission_decision(tool, body.get("decision", ""), body.get("mode", ""))


def harness_append(a, timed):
    from harness.audit.logger import AuditLogger
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    logger, session, lat = None, None, []
    start = time.perf_counter()
    for e in events(a.events, a.n):
        if e["session"] != session:
            if logger:
                logger.close()
            session = e["session"]
            logger = AuditLogger(session, audit_dir=d)
        call = harness_call(logger, e)
        if timed:
            t = time.perf_counter()
            call()
            lat.append(time.perf_counter() - t)
        else:
            call()
    logger.close()
    took = time.perf_counter() - start
    disk = dir_bytes(d)
    if not timed:
        return {"events": a.n, "secs": took, "disk_bytes": disk}
    return timed_result(a.n, lat, {"disk_bytes": disk, "bytes_per_event": disk / a.n})


def harness_verify(a):
    from harness.audit.logger import AuditLogger
    files = sorted(Path(a.dir).glob("audit-*.jsonl"))
    t = time.perf_counter()
    ok, problems, n = True, 0, 0
    for f in files:
        valid, errors = AuditLogger.verify_chain(f)
        ok &= valid
        problems += len(errors)
    took = time.perf_counter() - t
    for f in files:
        with open(f, "rb") as fh:
            n += sum(1 for _ in fh)
    if not ok:
        raise SystemExit(f"harness verify_chain found {problems} problems")
    return {"events": n, "files": len(files), "secs": took, "events_per_s": n / took}


# ----------------------------------------------------------------------------------------------
# AgenticAPI: SqliteAuditRecorder(path=...), one ExecutionTrace per event.

def agenticapi_trace(e):
    import uuid
    from datetime import UTC, datetime
    from agenticapi.harness.audit.trace import ExecutionTrace
    body = e.get("body") or {}
    kind = e["kind"]
    usage = e.get("usage")
    policies = []
    if kind == "permission_decision":
        allowed = body.get("decision") != "deny"
        policies = [{"policy_name": "permission", "allowed": allowed, "violations": [] if allowed
                     else [body.get("reason", "")], "warnings": []}]
    return ExecutionTrace(
        trace_id=uuid.uuid4().hex, endpoint_name=e.get("agent", ""), timestamp=datetime.now(tz=UTC),
        intent_raw=f"{kind} {e.get('action', '')}", intent_action=e.get("action", ""),
        execution_result=body, execution_duration_ms=float(e.get("duration_ms", 0)),
        error="error" if e.get("status") == "error" else None,
        llm_usage={"input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"]}
        if usage else None,
        policy_evaluations=policies)


def agenticapi_append(a):
    from agenticapi.harness.audit import SqliteAuditRecorder
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)

    async def run():
        rec = SqliteAuditRecorder(path=str(d / "audit.db"))
        lat = []
        for e in events(a.events, a.n):
            trace = agenticapi_trace(e)
            t = time.perf_counter()
            await rec.record(trace)
            lat.append(time.perf_counter() - t)
        rec.close()
        return lat

    lat = asyncio.run(run())
    disk = dir_bytes(d)
    return timed_result(a.n, lat, {"disk_bytes": disk, "bytes_per_event": disk / a.n})


def agenticapi_build(a):
    # One autocommit insert per trace would take many minutes for a million rows (every insert
    # is a synchronous commit), so the big table is filled with AgenticAPI's own row encoding
    # (`_trace_to_row`) and its own INSERT, in one transaction, on the recorder's connection.
    from agenticapi.harness.audit import SqliteAuditRecorder
    from agenticapi.harness.audit.sqlite_store import _trace_to_row
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    rec = SqliteAuditRecorder(path=str(d / "audit.db"))
    conn = rec._conn
    t = time.perf_counter()
    conn.execute("BEGIN")
    batch = []
    sql = ("INSERT OR REPLACE INTO audit_traces (trace_id, timestamp, endpoint_name, intent_raw, "
           "intent_action, generated_code, reasoning, execution_duration_ms, execution_result, "
           "error, llm_usage, policy_evaluations, approval_request_id, stream_events) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    for e in events(a.events, a.n):
        batch.append(_trace_to_row(agenticapi_trace(e)))
        if len(batch) == 10_000:
            conn.executemany(sql, batch)
            batch.clear()
    conn.executemany(sql, batch)
    conn.execute("COMMIT")
    took = time.perf_counter() - t
    rec.close()
    return {"events": a.n, "secs": took, "disk_bytes": dir_bytes(d)}


def agenticapi_query(a):
    from agenticapi.harness.audit import SqliteAuditRecorder
    rec = SqliteAuditRecorder(path=str(Path(a.dir) / "audit.db"))
    lat, rows = [], 0
    started = time.perf_counter()
    for i in range(a.reps):
        if len(lat) >= 5 and time.perf_counter() - started > 20:
            break
        t = time.perf_counter()
        got = rec.get_records(endpoint_name=AGENTS[(i * 5 + 3) % len(AGENTS)], limit=50)
        lat.append(time.perf_counter() - t)
        rows += len(got)
    rec.close()
    busy = sum(lat)
    return {"reps": len(lat), "rows_returned": rows, "ops_per_s": len(lat) / busy,
            "p50_us": pct(lat, 50), "p99_us": pct(lat, 99)}


# ----------------------------------------------------------------------------------------------
# AG2: the hub's AuditLog over a DiskKnowledgeStore; custom kinds through the public append.

def ag2_record(e):
    rec = {"kind": e["kind"], "agent_id": e.get("agent"), "session": e.get("session"),
           "action": e.get("action"), "status": e.get("status"), "body": e.get("body")}
    if "usage" in e:
        rec["usage"] = e["usage"]
    if "duration_ms" in e:
        rec["duration_ms"] = e["duration_ms"]
    return rec


def ag2_append(a, timed):
    from ag2.knowledge import DiskKnowledgeStore
    from ag2.network.hub.audit import AuditLog
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)

    async def run():
        log = AuditLog(DiskKnowledgeStore(d))
        lat = []
        for e in events(a.events, a.n):
            rec = ag2_record(e)
            if timed:
                t = time.perf_counter()
                await log.append(rec)
                lat.append(time.perf_counter() - t)
            else:
                await log.append(rec)
        return lat

    t = time.perf_counter()
    lat = asyncio.run(run())
    took = time.perf_counter() - t
    disk = dir_bytes(d)
    if not timed:
        return {"events": a.n, "secs": took, "disk_bytes": disk}
    return timed_result(a.n, lat, {"disk_bytes": disk, "bytes_per_event": disk / a.n})


def ag2_read(a, search):
    # AuditLog's only read API is read_all(): every query reads and parses the whole log.
    from ag2.knowledge import DiskKnowledgeStore
    from ag2.network.hub.audit import AuditLog

    async def run():
        log = AuditLog(DiskKnowledgeStore(Path(a.dir)))
        lat, rows = [], 0
        for i in range(a.reps):
            t = time.perf_counter()
            records = await log.read_all()
            if search:
                hits = [r for r in records if RARE_WORD in json.dumps(r.get("body"))]
            else:
                agent = AGENTS[(i * 5 + 3) % len(AGENTS)]
                hits = [r for r in records if r.get("agent_id") == agent]
            page = hits[-50:][::-1]
            lat.append(time.perf_counter() - t)
            rows += len(page)
            del records, hits
        return lat, rows

    lat, rows = asyncio.run(run())
    busy = sum(lat)
    return {"reps": len(lat), "rows_returned": rows, "ops_per_s": len(lat) / busy,
            "p50_us": pct(lat, 50), "p99_us": pct(lat, 99)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("peer")
    p.add_argument("workload")
    p.add_argument("--events")
    p.add_argument("--n", type=int, default=0)
    p.add_argument("--dir", required=True)
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    run = {
        ("harness", "append"): lambda: harness_append(a, True),
        ("harness", "build"): lambda: harness_append(a, False),
        ("harness", "verify"): lambda: harness_verify(a),
        ("agenticapi", "append"): lambda: agenticapi_append(a),
        ("agenticapi", "build"): lambda: agenticapi_build(a),
        ("agenticapi", "query"): lambda: agenticapi_query(a),
        ("ag2", "append"): lambda: ag2_append(a, True),
        ("ag2", "build"): lambda: ag2_append(a, False),
        ("ag2", "query"): lambda: ag2_read(a, False),
        ("ag2", "search"): lambda: ag2_read(a, True),
    }.get((a.peer, a.workload))
    if run is None:
        raise SystemExit(f"{a.peer} cannot run {a.workload}")
    out = run()
    out["python"] = sys.version.split()[0]
    out["peak_rss_kib_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(a.out).write_text(json.dumps(out))


if __name__ == "__main__":
    main()

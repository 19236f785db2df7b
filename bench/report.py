#!/usr/bin/env python3
"""How long `trail report` takes against `trail verify` on the same log (issue: a report over
1 M events in at most twice the time `trail verify` takes).

    python3 bench/report.py [--events 1000000] [--runs 3] [--trail target/release/trail]

Builds one SQLite log of N events (agents, sessions, denials, errors, usage, bodies of a few
hundred bytes), signs a checkpoint, then runs `trail verify` and `trail report` alternately,
RUNS times each, every run in a fresh process, and prints the medians and their ratio. The
limit is measured in the same run: the ratio is report time over verify time on this log.
Standard library only.
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time


def events(n, rng):
    kinds = ["tool_call", "tool_result", "llm_call", "permission_decision"]
    statuses = ["ok"] * 12 + ["error", "denied"]
    t0 = 1_790_000_000
    for i in range(n):
        e = {
            "kind": kinds[i % 4],
            "agent": f"agent-{i % 8}",
            "session": f"s{i // 200}",
            "status": statuses[rng.randrange(len(statuses))],
            "action": "Read",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i * 2)),
            "body": {"text": "lorem ipsum dolor sit amet " * rng.randrange(4, 16), "n": i},
        }
        if e["kind"] == "llm_call":
            e["usage"] = {"input_tokens": rng.randrange(2000), "output_tokens": rng.randrange(500),
                          "cost_usd": 0.001, "model": ["gpt-x", "claude-y"][i % 2]}
        yield json.dumps(e) + "\n"


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr[-2000:]}")
    return took


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--trail", default="target/release/trail")
    a = ap.parse_args()
    trail = os.path.abspath(a.trail)
    with tempfile.TemporaryDirectory(prefix="trail-report-bench-") as tmp:
        data = os.path.join(tmp, "data")
        subprocess.run([trail, "init", "--data", data, "--origin", "bench.example/report"],
                       check=True, stdout=subprocess.DEVNULL)
        feed = os.path.join(tmp, "events.jsonl")
        with open(feed, "w") as f:
            f.writelines(events(a.events, random.Random(1)))
        with open(feed) as f:
            start = time.perf_counter()
            subprocess.run([trail, "log", "--data", data], stdin=f, check=True, stdout=subprocess.DEVNULL)
            logged = time.perf_counter() - start
        subprocess.run([trail, "checkpoint", "--data", data], check=True, stdout=subprocess.DEVNULL)
        verify, report = [], []
        for i in range(a.runs):
            verify.append(timed([trail, "verify", "--data", data, "--json"]))
            out = os.path.join(tmp, f"report-{i}.html")
            report.append(timed([trail, "report", "--data", data, "--out", out, "--json"]))
        size = os.path.getsize(os.path.join(tmp, f"report-{a.runs - 1}.html"))
        v, r = statistics.median(verify), statistics.median(report)
        print(json.dumps({
            "events": a.events, "runs": a.runs, "trail_log_s": round(logged, 2),
            "verify_s": [round(x, 2) for x in verify], "report_s": [round(x, 2) for x in report],
            "verify_median_s": round(v, 2), "report_median_s": round(r, 2),
            "report_over_verify": round(r / v, 2), "limit": 2.0, "report_bytes": size,
        }, indent=1))


if __name__ == "__main__":
    main()

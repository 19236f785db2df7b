"""In-process appends from Python: trail's package against Harness's own AuditLogger, on the same
events, in the same run, with the machine's fdatasync rate as the limit for durable appends.

usage (a virtual environment with the trail wheel, built --release, and harness-agent==0.6.0):
    python bench/python.py [--events N] [--rounds R] [--trail-bin target/release/trail]

Workloads (events of Harness's tool_call shape, ~200 bytes of args):
- Harness AuditLogger.log_tool_call, one at a time (Harness writes and flushes, never syncs);
- trail.Log.record one at a time, unsynced (durability=checkpoint: synced with the next signed
  checkpoint), on the files store and on the default SQLite store;
- trail.Log.record one at a time, durable (durability=commit: synced before it returns);
- trail.Log.record_many in batches of 100 and of 1000, durable;
- `trail log` (the CLI) on the same events, durable, as the CLI's own rate;
- fdatasync of a 4 KiB write, one at a time: the limit for durable one-at-a-time appends.
Every workload runs once per round (--rounds, default 5); a ratio is the median of the
rounds' ratios, each between two workloads of the same round.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trail


def args_of(i):
    return {"command": f"grep -rn 'TODO' src/module_{i % 97}.py", "timeout": 30, "cwd": "/srv/app",
            "env": {"LANG": "C.UTF-8"}, "n": i}


def harness(n, tmp):
    from harness.audit.logger import AuditLogger
    out = tmp / "harness"
    shutil.rmtree(out, ignore_errors=True)
    log = AuditLogger("bench", audit_dir=out)
    start = time.perf_counter()
    for i in range(n):
        log.log_tool_call("Bash", args_of(i))
    elapsed = time.perf_counter() - start
    log.close()
    return n / elapsed


def trail_single(n, tmp, store, durability):
    d = tmp / f"trail-{store}-{durability}"
    shutil.rmtree(d, ignore_errors=True)
    log = trail.Log.init(d, origin="bench.example/py", store=store, durability=durability)
    start = time.perf_counter()
    for i in range(n):
        log.record("tool_call", action="Bash", session="bench", body={"tool": "Bash", "args": args_of(i)})
    elapsed = time.perf_counter() - start
    log.close()
    return n / elapsed


def trail_batches(n, tmp, durability, size=100):
    d = tmp / f"trail-batch-{durability}-{size}"
    shutil.rmtree(d, ignore_errors=True)
    log = trail.Log.init(d, origin="bench.example/py", durability=durability)
    events = [{"kind": "tool_call", "action": "Bash", "session": "bench", "body": {"tool": "Bash", "args": args_of(i)}}
              for i in range(n)]
    start = time.perf_counter()
    for k in range(0, n, size):
        log.record_many(events[k:k + size])
    elapsed = time.perf_counter() - start
    log.close()
    return n / elapsed


def cli(n, tmp, bin_):
    d = tmp / "trail-cli"
    shutil.rmtree(d, ignore_errors=True)
    subprocess.run([bin_, "init", "--data", str(d), "--origin", "bench.example/cli"], check=True, capture_output=True)
    lines = "".join(json.dumps({"kind": "tool_call", "action": "Bash", "session": "bench",
                                "body": {"tool": "Bash", "args": args_of(i)}}) + "\n" for i in range(n))
    start = time.perf_counter()
    subprocess.run([bin_, "log", "--data", str(d)], input=lines, text=True, check=True, capture_output=True)
    return n / (time.perf_counter() - start)


def fdatasync(n, tmp):
    path = tmp / "sync.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    block = b"x" * 4096
    start = time.perf_counter()
    for _ in range(n):
        os.write(fd, block)
        os.fdatasync(fd)
    elapsed = time.perf_counter() - start
    os.close(fd)
    return n / elapsed


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--trail-bin", default="target/release/trail")
    a = p.parse_args()
    n = a.events
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as t:
        tmp = Path(t)
        work = [
            ("Harness AuditLogger.log_tool_call (write + flush, no sync)", lambda: harness(n, tmp)),
            ("trail.Log.record, unsynced, files store", lambda: trail_single(n, tmp, "files", "checkpoint")),
            ("trail.Log.record, unsynced, SQLite store", lambda: trail_single(n, tmp, "sqlite", "checkpoint")),
            ("trail.Log.record, durable (commit), SQLite", lambda: trail_single(min(n, 2000), tmp, "sqlite", "commit")),
            ("trail.Log.record_many x100, durable, SQLite", lambda: trail_batches(n * 4, tmp, "commit")),
            ("trail.Log.record_many x1000, durable, SQLite", lambda: trail_batches(n * 4, tmp, "commit", 1000)),
            ("trail log (CLI), durable, SQLite", lambda: cli(n * 4, tmp, a.trail_bin)),
            ("fdatasync of 4 KiB, one at a time (limit)", lambda: fdatasync(min(n, 2000), tmp)),
        ]
        # Rounds, each running every workload once: this VM's speed drifts by a third within
        # minutes, so a ratio is taken between workloads of the same round, and the median of
        # the rounds' ratios is reported (with the median and best rates).
        rates = {name: [] for name, _ in work}
        for _ in range(a.rounds):
            for name, fn in work:
                rates[name].append(fn())
    names = [name for name, _ in work]
    harness_name, sync_name, cli_name = names[0], names[-1], names[-2]

    def ratio(name, to):
        return statistics.median(x / y for x, y in zip(rates[name], rates[to]))

    print(f"{'workload':58} {'median/s':>9} {'best/s':>8}  median of the rounds' ratios")
    for name in names:
        extra = f"{ratio(name, harness_name):5.2f}x Harness"
        if "durable" in name and "record," in name:
            extra += f", {ratio(name, sync_name):.2f} of fdatasync/s"
        if "record_many" in name:
            extra += f", {ratio(name, cli_name):.2f}x the CLI"
        print(f"{name:58} {statistics.median(rates[name]):9.0f} {max(rates[name]):8.0f}  {extra}")
    print(f"python {sys.version.split()[0]}, {n} events per run (x4 for batches and the CLI), "
          f"{a.rounds} rounds")


if __name__ == "__main__":
    main()

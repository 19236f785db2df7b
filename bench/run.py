"""Runs trail and the seeds' own recorders on the same generated events, with this machine's
limits measured in the same run, and prints one table (also written to bench/work/results.md
and bench/work/results.json). Invoked by `bench/run`; stdlib only, any Python 3.9+.

Steps: build `trail` and `trail-bench` (release); make one venv per peer with the versions the
test suite pins; generate the events once (`trail-bench gen`); measure the limits; run every
workload in its own process (so its peak memory is its own `ru_maxrss`); print the table.
"""

import argparse
import glob
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"

# The peers whose acknowledged append is on disk (the others only write to the OS).
DURABLE_APPEND = {"agenticapi"}

PEERS = {
    # name: (label, python, pip requirements, durability note)
    "harness": ("Harness AuditLogger", "3.12", ["harness-agent==0.6.0"],
                "write+flush, no fsync"),
    "agenticapi": ("AgenticAPI SqliteAuditRecorder", "3.13", ["agentharnessapi==0.1.0"],
                   "SQLite autocommit (rollback journal, synchronous=FULL)"),
    "ag2": ("AG2 hub AuditLog", "3.12", ["ag2==1.2.1", "watchdog"], "append write, no fsync"),
}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def spawn_wait(cmd, stdin=None, stdout=subprocess.DEVNULL):
    """Runs cmd to completion; returns (wall seconds, peak RSS KiB, stderr) via wait4."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}): "
                           f"{err.decode(errors='replace')[-2000:]}")
    return wall, ru.ru_maxrss, err.decode(errors="replace")


def json_child(cmd):
    """Runs a child that prints one JSON object on stdout; adds its peak RSS."""
    out_path = WORK / "child.out"
    with open(out_path, "wb") as f:
        wall, rss, _ = spawn_wait(cmd, stdout=f)
    res = json.loads(out_path.read_text())
    res["peak_rss_kib"] = rss
    res["wall_secs"] = res.get("wall_secs", wall)
    return res


def find_python(version):
    cands = [shutil.which(f"python{version}")]
    cands += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))
    for c in cands:
        if c and subprocess.run([c, "--version"], capture_output=True).returncode == 0:
            return c
    return None


def venv(peer):
    """The peer's venv python, created and filled once; or (None, reason)."""
    label, version, reqs, _ = PEERS[peer]
    d = BENCH / f".venv-{peer}"
    py = d / "bin" / "python"
    stamp = d / "bench-ready"
    if stamp.exists() and stamp.read_text() == " ".join(reqs):
        return str(py), None
    base = find_python(version)
    if base is None:
        return None, f"no python{version} on PATH or under ~/.pyenv/versions"
    log(f"creating {d.name} ({' '.join(reqs)})")
    try:
        subprocess.run([base, "-m", "venv", "--clear", str(d)], check=True, capture_output=True)
        subprocess.run([str(py), "-m", "pip", "install", "--quiet", *reqs], check=True,
                       capture_output=True)
    except subprocess.CalledProcessError as e:
        return None, f"pip install {' '.join(reqs)} failed: {e.stderr.decode(errors='replace')[-300:]}"
    stamp.write_text(" ".join(reqs))
    return str(py), None


def settled_bytes(d):
    """Bytes of a data directory once SQLite's write-ahead log is folded in (as after a restart)."""
    db = d / "trail.db"
    if db.exists():
        import sqlite3
        c = sqlite3.connect(db)
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        c.close()
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1]
        mem = f"{int(mem) / 1048576:.1f} GiB"
    except Exception:
        mem = "unknown"
    fs = subprocess.run(["df", "-hT", str(WORK)], capture_output=True, text=True).stdout.splitlines()
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "filesystem": fs[-1] if fs else "",
            "load_at_start": os.getloadavg()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    ap.add_argument("--log-events", type=int, help="size of the verify/query log (default 1,000,000)")
    ap.add_argument("--single", type=int, help="events appended one at a time (default 2,000)")
    ap.add_argument("--batched", type=int, help="events appended in batches (default 100,000)")
    ap.add_argument("--batch", type=int, default=100, help="events per batch (default 100)")
    ap.add_argument("--peers", default="harness,agenticapi,ag2")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--keep", action="store_true",
                    help="keep the logs in bench/work (about 8 GB at the default sizes)")
    ap.add_argument("--render", action="store_true",
                    help="only print the table of the last run (bench/work/results.json)")
    a = ap.parse_args()
    if a.render:
        res = json.loads((WORK / "results.json").read_text())
        print(render(res, [p for p in a.peers.split(",") if p]))
        return
    n_log = a.log_events or (20_000 if a.quick else 1_000_000)
    n_single = a.single or (300 if a.quick else 2_000)
    reps_single = 1 if a.quick else 3
    n_batch = a.batched or (5_000 if a.quick else 100_000)
    reps = 50 if a.quick else 200
    peers = [p for p in a.peers.split(",") if p]

    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    if not a.no_build:
        log("building trail and trail-bench (release)")
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "trail", "-p", "trail-bench"],
                       cwd=ROOT, check=True)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"
    trail, runner = str(target / "trail"), str(target / "trail-bench")

    pythons, missing = {}, {}
    for p in peers:
        py, why = venv(p)
        if py:
            pythons[p] = py
        else:
            missing[p] = why
            log(f"{p}: {why}")

    events = WORK / "events.jsonl"
    n_events = max(n_log, n_single, n_batch)
    log(f"generating {n_events} events")
    with open(events, "wb") as f:
        subprocess.run([runner, "gen", "--n", str(n_events), "--seed", "1"], stdout=f, check=True)
    mean_bytes = events.stat().st_size / n_events
    res = {"machine": machine(), "sizes": {"log": n_log, "single": n_single, "batched": n_batch,
           "batch": a.batch, "reps": reps, "mean_event_json_bytes": mean_bytes},
           "command": " ".join(["bench/run", *sys.argv[1:]]), "results": {}}
    R = res["results"]

    log("limits")
    R["limits"] = json_child([runner, "limits", "--dir", str(WORK / "limits"),
                              "--row-bytes", str(int(mean_bytes))])

    def median_of(runs, make):
        """Runs `make` `runs` times (each in a fresh process and directory) and keeps the run
        with the median rate, noting every rate: one-at-a-time appends on a shared VM vary by
        a fifth from run to run."""
        results = sorted((make(i) for i in range(runs)), key=lambda r: r["events_per_s"])
        kept = dict(results[len(results) // 2])
        kept["rates_of_runs"] = [r["events_per_s"] for r in results]
        return kept

    def trail_append(name, n, batch, store, callers=1, durability="commit", rt="multi"):
        log(f"trail {name}")

        def once(i):
            d = WORK / f"trail-{name}-{i}"
            r = json_child([runner, "append", "--events", str(events), "--n", str(n),
                            "--batch", str(batch), "--store", store, "--callers", str(callers),
                            "--durability", durability, "--runtime", rt, "--dir", str(d)])
            shutil.rmtree(d)
            return r
        R[f"trail/{name}"] = median_of(reps_single if batch == 1 else 1, once)

    trail_append("single-sqlite", n_single, 1, "sqlite")
    trail_append("single-sqlite-c16", n_single * 4, 1, "sqlite", callers=16)
    trail_append("single-files", n_single, 1, "files")
    # Without a sync per event; on tokio's multi-thread scheduler (what `#[tokio::main]` gives)
    # and on a current-thread one (a single agent loop, as each peer's Python loop is).
    for st in ["sqlite", "files"]:
        for rt in ["multi", "current"]:
            trail_append(f"single-{st}-unsynced-{rt}", n_single, 1, st, durability="checkpoint",
                         rt=rt)
    trail_append("batch-sqlite", n_batch, a.batch, "sqlite")
    trail_append("batch-files", n_batch, a.batch, "files")

    def peer(p, workload, d, n=0, reps_=1):
        if p not in pythons:
            return
        log(f"{p} {workload}")
        out = WORK / f"{p}-{workload}.json"
        wall, rss, _ = spawn_wait([pythons[p], str(BENCH / "peers.py"), p, workload,
                                   "--events", str(events), "--n", str(n), "--dir", str(d),
                                   "--reps", str(reps_), "--out", str(out)])
        r = json.loads(out.read_text())
        r["peak_rss_kib"] = rss
        r["wall_secs"] = wall
        R[f"{p}/{workload}"] = r

    for p in peers:
        if p in pythons:
            def once(i, p=p):
                peer(p, "append", WORK / f"{p}-single-{i}", n_single)
                return R[f"{p}/append"]
            R[f"{p}/append"] = median_of(reps_single, once)

    # The big log, written by trail's own CLI from the same events (stdin NDJSON); then the same
    # once more with durability = checkpoint (synced by each signed checkpoint, not each commit).
    head = WORK / "log-events.jsonl"
    with open(events, "rb") as f, open(head, "wb") as h:
        for i, line in enumerate(f):
            if i >= n_log:
                break
            h.write(line)
    big = WORK / "trail-log"
    for key, d, durability in [("cli-log", big, "commit"),
                               ("cli-log-unsynced", WORK / "trail-log-unsynced", "checkpoint")]:
        subprocess.run([trail, "init", "--data", str(d), "--origin", "bench.trail/log",
                        "--durability", durability], check=True, capture_output=True)
        log(f"trail log: {n_log} events through the CLI, durability {durability}")
        with open(head, "rb") as f:
            wall, rss, _ = spawn_wait([trail, "log", "--data", str(d)], stdin=f)
        disk = settled_bytes(d)
        R[f"trail/{key}"] = {"events": n_log, "secs": wall, "events_per_s": n_log / wall,
                             "peak_rss_kib": rss, "disk_bytes": disk,
                             "bytes_per_event": disk / n_log}
        if d != big:
            shutil.rmtree(d)

    log("trail verify")
    wall, rss, _ = spawn_wait([trail, "verify", "--data", str(big), "--json"])
    R["trail/verify"] = {"events": n_log, "secs": wall, "events_per_s": n_log / wall,
                         "peak_rss_kib": rss}
    log("trail query / search / proof")
    R["trail/query"] = json_child([runner, "query", "--dir", str(big), "--reps", str(reps)])
    # The query above caught the search index up; the log's size now includes it.
    R["trail/cli-log"]["bytes_per_event_indexed"] = settled_bytes(big) / n_log
    R["trail/search"] = json_child([runner, "query", "--dir", str(big), "--reps", str(reps),
                                    "--search", "deadlock"])
    R["trail/proof"] = json_child([runner, "proof", "--dir", str(big), "--reps", str(reps * 10)])

    for p in peers:
        d = WORK / f"{p}-log"
        if p == "harness":
            peer(p, "build", d, n_log)
            peer(p, "verify", d, n_log)
        if p == "agenticapi":
            peer(p, "build", d, n_log)
            peer(p, "query", d, n_log, reps)
        if p == "ag2":
            peer(p, "build", d, n_log)
            peer(p, "query", d, n_log, 2)
            peer(p, "search", d, n_log, 2)

    for name, clients, batch, n in [("http-single-c16", 16, 1, max(n_single * 5, 2000)),
                                    ("http-batch-c4", 4, a.batch, n_batch)]:
        log(f"trail {name}")
        d = WORK / f"trail-{name}"
        subprocess.run([trail, "init", "--data", str(d), "--origin", "bench.trail/http"],
                       check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen([trail, "serve", "--data", str(d), "--listen",
                                   f"127.0.0.1:{port}", "--insecure-no-auth"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        try:
            r = json_child([runner, "http", "--url", f"http://127.0.0.1:{port}",
                            "--events", str(events), "--n", str(n), "--clients", str(clients),
                            "--batch", str(batch)])
        finally:
            server.send_signal(signal.SIGTERM)
            _, _, ru = os.wait4(server.pid, 0)
        r["client_peak_rss_kib"] = r.pop("peak_rss_kib")
        r["peak_rss_kib"] = ru.ru_maxrss
        disk = settled_bytes(d)
        r["disk_bytes"], r["bytes_per_event"] = disk, disk / n
        R[f"trail/{name}"] = r

    res["missing"] = missing
    (WORK / "results.json").write_text(json.dumps(res, indent=1))
    table = render(res, peers)
    (WORK / "results.md").write_text(table)
    if not a.keep:
        for d in WORK.iterdir():
            if d.is_dir():
                shutil.rmtree(d)
            elif d.suffix == ".jsonl":
                d.unlink()
    print(table)


# ------------------------------------------------------------------------------------------------
# The table

def fmt_rate(x):
    if x is None:
        return "n/a"
    if x >= 1e6:
        return f"{x / 1e6:.2f} M"
    if x >= 1e4:
        return f"{x / 1e3:.0f} k"
    if x >= 1e3:
        return f"{x / 1e3:.1f} k"
    return f"{x:.3g}" if x < 10 else f"{x:.0f}"


def ratio(trail_rate, peer_rate):
    r = trail_rate / peer_rate
    if r >= 1:
        return f"**{r:.1f}×**"
    return f"**{r:.2f}×**" if r >= 0.1 else f"**{r:.3f}×** (1/{1 / r:.0f})"


def fmt_us(x):
    if x is None:
        return ""
    if x >= 1e6:
        return f"{x / 1e6:.2f} s"
    if x >= 1e3:
        return f"{x / 1e3:.2f} ms"
    return f"{x:.0f} µs"


def fmt_mib(kib):
    return "" if kib is None else f"{kib / 1024:.0f} MiB"


def render(res, peers):
    R, L, S = res["results"], res["results"]["limits"], res["sizes"]
    m = res["machine"]
    lim = {
        "fsync": (L["fdatasync_per_s"], "fdatasync/s"),
        "sqlite": (L["sqlite_rows_per_s"], f"SQLite batched insert ({L['sqlite_row_bytes']} B rows)"),
        "sha": (L["sha256_300b_per_s"], "SHA-256 300 B msgs/s (1 core)"),
    }
    rows = []
    missing = res.get("missing", {})

    def row(workload, system, r, rate_key="events_per_s", durable="", limit=None, ref=None,
            note=""):
        rate = r.get(rate_key) if r else None
        cells = [workload, system, durable, fmt_rate(rate), fmt_us(r.get("p50_us")) if r else "",
                 fmt_us(r.get("p99_us")) if r else "", fmt_mib(r.get("peak_rss_kib")) if r else "",
                 f"{r['bytes_per_event']:.0f}" if r and "bytes_per_event" in r else ""]
        if ref is not None and rate and ref:
            cells.append(ratio(ref, rate) if system.startswith(("Harness", "AgenticAPI", "AG2"))
                         else "")
        else:
            cells.append("")
        if limit and rate:
            lv, ln = lim[limit] if isinstance(limit, str) else limit
            cells.append(f"{100 * rate / lv:.1f} % of {fmt_rate(lv)} {ln}")
        else:
            cells.append("")
        runs = (r or {}).get("rates_of_runs", [])
        if len(runs) > 1:
            spread = f"median of {len(runs)} runs ({fmt_rate(runs[0])}–{fmt_rate(runs[-1])})"
            note = f"{note}; {spread}" if note else spread
        cells.append(note)
        rows.append(cells)

    def na(workload, p, why):
        label = PEERS[p][0]
        if p in missing:
            why = missing[p]
        rows.append([workload, label, "", "n/a", "", "", "", "", "", "", why])

    def peer_rows(workload, key, trail_rate, why_not, rate_key="events_per_s", note=""):
        for p in peers:
            r = R.get(f"{p}/{key}") if key else None
            if r:
                row(workload, PEERS[p][0], r, rate_key, PEERS[p][3] if key == "append" else "",
                    ref=trail_rate, note=note if callable(note) is False else note(p))
            else:
                na(workload, p, why_not.get(p, "not run"))

    t1 = R["trail/single-sqlite"]
    w = f"durable append, 1 event per call ({S['single']} events)"
    row(w, "trail (sqlite, default)", t1, durable="fsync per commit", limit="fsync")
    row(w, "trail (files)", R["trail/single-files"], durable="fdatasync per commit", limit="fsync")
    c16 = R.get("trail/single-sqlite-c16")
    if c16:
        row(w.replace(f"({S['single']} events)", f"({c16['events']} events)"),
            "trail (sqlite), 16 agents at once", c16, durable="fsync per commit",
            limit=(16 * L["fdatasync_per_s"], "(16 × fdatasync/s)"),
            note="each agent waits for its own event; group commit")
    for p in peers:
        if p in DURABLE_APPEND:
            r = R.get(f"{p}/append")
            if r:
                row(w, PEERS[p][0], r, durable=PEERS[p][3], ref=t1["events_per_s"])
            else:
                na(w, p, "not run")
        else:
            na(w, p, f"not durable: {PEERS[p][3]} (an acknowledged event can be lost on power "
                     "failure); measured in the next row")

    # The peers that never fsync, against trail configured the same way: an acknowledged event
    # survives a crash of the process, not of the machine.
    unsynced = {(st, rt): R.get(f"trail/single-{st}-unsynced-{rt}")
                for st in ["sqlite", "files"] for rt in ["multi", "current"]}
    if all(unsynced.values()):
        w = f"append without fsync per event, 1 event per call ({S['single']} events)"
        how = "written; fsync at each signed checkpoint (durability = checkpoint)"
        for (st, rt), r in unsynced.items():
            runtime = {"multi": "multi-thread runtime (#[tokio::main])",
                       "current": "current-thread runtime (one agent loop)"}[rt]
            row(w, f"trail ({st}), {runtime}", r, durable=how)
        best = max(r["events_per_s"] for r in unsynced.values())
        for p in peers:
            r = R.get(f"{p}/append")
            if p in DURABLE_APPEND or not r:
                continue
            multi = unsynced[("files", "multi")]["events_per_s"]
            row(w, PEERS[p][0], r, durable=PEERS[p][3], ref=best,
                note=f"ratio to the fastest trail row; "
                     f"{ratio(multi, r['events_per_s'])} to trail (files) on the multi-thread runtime")

    tb = R["trail/batch-sqlite"]
    w = f"durable append, batches of {S['batch']} ({S['batched']} events)"
    row(w, "trail (sqlite, default)", tb, durable="fsync per commit", limit="sqlite",
        note="latency per batch")
    row(w, "trail (files)", R["trail/batch-files"], durable="fdatasync per commit",
        limit="sqlite", note="latency per batch")
    for p in peers:
        na(w, p, "no batch API (one call per event; see the row above)")

    cl = R["trail/cli-log"]
    w = f"bulk ingest: `trail log` < {S['log']} events (NDJSON)"
    row(w, "trail (CLI, sqlite)", cl, durable="fsync per commit", limit="sqlite",
        note="whole process: parse + scan + seal + durable commit; the search index is "
             "built afterwards (see the search row)" + (
                 f"; {cl['bytes_per_event_indexed']:.0f} B/event with it"
                 if "bytes_per_event_indexed" in cl else "; disk B/event without it"))
    cu = R.get("trail/cli-log-unsynced")
    if cu:
        row(w, "trail (CLI, sqlite, durability = checkpoint)", cu,
            durable="fsync at each signed checkpoint", limit="sqlite",
            note="the same, synced by each checkpoint instead of each commit")
    for p in peers:
        b = R.get(f"{p}/build")
        if b:
            b = dict(b, events_per_s=b["events"] / (b["secs"] or b["wall_secs"]))
            how = {"agenticapi": "AgenticAPI's row encoding + INSERT, one transaction (not its record())",
                   "harness": "its log_* calls", "ag2": "its append()"}[p]
            row(w, PEERS[p][0], b, ref=cl["events_per_s"],
                note=f"build of the same log: {how}; ratio to trail's durable default")

    tv = R["trail/verify"]
    w = f"verify the whole log ({S['log']} events)"
    row(w, "trail verify (CLI)", tv, limit="sha",
        note="leaf + body + tree hashes, checkpoint signatures")
    peer_rows(w, "verify", tv["events_per_s"],
              {"agenticapi": "no integrity data (no hash, chain or signature)",
               "ag2": "no integrity data (no hash, chain or signature)"},
              note="verify_chain over every session file")

    tq = R["trail/query"]
    w = f"filtered query: newest 50 of one agent ({S['log']} events)"
    row(w, "trail (sqlite)", tq, rate_key="ops_per_s", note="queries/s")
    peer_rows(w, "query", tq["ops_per_s"], {"harness": "no read or query API (files only)"},
              rate_key="ops_per_s",
              note=lambda p: {"agenticapi": "get_records(endpoint_name=..., limit=50)",
                              "ag2": "read_all() then filter: its only read API"}.get(p, ""))

    ts = R["trail/search"]
    w = f"full-text search: one word, newest 50 ({S['log']} events)"
    row(w, "trail (sqlite FTS5)", ts, rate_key="ops_per_s",
        note=f"queries/s; indexing the whole log for search took "
             f"{max(ts['index_catch_up_secs'], tq['index_catch_up_secs']):.1f} s, once, before "
             f"the first search (the recorder indexes when idle)")
    peer_rows(w, "search", ts["ops_per_s"],
              {"harness": "result content is not stored; no read API",
               "agenticapi": "no search API"},
              rate_key="ops_per_s", note=lambda p: "read_all() then substring" if p == "ag2" else "")

    tp = R["trail/proof"]
    w = f"inclusion proof + check ({S['log']}-leaf tree)"
    row(w, "trail (sqlite)", tp, rate_key="ops_per_s", note="proofs/s")
    for p in peers:
        na(w, p, "no Merkle tree: nothing to prove")

    for key, desc in [("http-single-c16", "1 event per POST, 16 clients"),
                      ("http-batch-c4", f"{S['batch']} events per POST, 4 clients")]:
        r = R[f"trail/{key}"]
        w = f"HTTP ingest, {desc} ({r['events']} events)"
        clients = r["clients"]
        row(w, "trail serve (sqlite)", r, durable="fsync per commit",
            limit=(clients * L["fdatasync_per_s"], f"({clients} clients × fdatasync/s)")
            if "single" in key else "sqlite", note="latency per request")
        for p in peers:
            pr = R.get(f"{p}/append")
            if pr:
                rows.append([w, PEERS[p][0] + " (in-process, reference)", PEERS[p][3],
                             fmt_rate(pr["events_per_s"]), "", "", "", "",
                             ratio(r["events_per_s"], pr["events_per_s"]), "",
                             "no HTTP ingest; its in-process rate from the first row"])
            else:
                na(w, p, "no HTTP ingest")

    head = ["workload", "system", "durability", "events/s (ops/s)", "p50", "p99", "peak RSS",
            "disk B/event", "trail ÷ this", "trail vs limit", "notes"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    limits = (f"Limits measured in the same run: SHA-256 {fmt_rate(L['sha256_300b_per_s'])} "
              f"300-byte messages/s on one core; SQLite batched insert "
              f"{fmt_rate(L['sqlite_rows_per_s'])} rows/s ({L['sqlite_row_bytes']} B rows, WAL, "
              f"synchronous=FULL, 1000 rows a transaction, no index, no FTS); fdatasync "
              f"{fmt_rate(L['fdatasync_per_s'])}/s (4 KiB writes: "
              f"{fmt_rate(L.get('fdatasync_overwrite_per_s'))}/s overwriting in place as a WAL does, "
              f"{fmt_rate(L.get('fdatasync_append_per_s'))}/s appending); sequential write "
              f"{L['seq_write_bytes_per_s'] / 1048576:.0f} MiB/s (512 MiB, then fdatasync).")
    mach = (f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Linux {m['kernel']}, "
            f"load average at start {', '.join(f'{x:.2f}' for x in m['load_at_start'])}. "
            f"Events: mean {S['mean_event_json_bytes']:.0f} B of JSON each.")
    return "\n".join(out) + "\n\n" + limits + "\n\n" + mach + "\n"


if __name__ == "__main__":
    main()

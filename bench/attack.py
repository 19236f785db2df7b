#!/usr/bin/env python3
"""The second hardening round's attacks on a real `trail serve`, measured from outside.

usage: python3 bench/attack.py [TRAIL_BINARY]   (default: target/release/trail, else target/debug/trail)

Each attack runs against a fresh server on a free loopback port, in a fresh data directory,
and reports the server's peak resident memory above its idle peak (VmHWM in /proc) and how
long /healthz took to answer meanwhile. Loopback only; every loop is bounded. Stdlib only.
"""

import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def binary():
    if len(sys.argv) > 1:
        return sys.argv[1]
    for kind in ("release", "debug"):
        p = os.path.join(ROOT, "target", kind, "trail")
        if os.path.exists(p):
            return p
    sys.exit("build trail first: cargo build --release -p trail")


def kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(self, trail):
        self.dir = tempfile.mkdtemp(prefix="trail-attack-")
        data = os.path.join(self.dir, "data")
        subprocess.run([trail, "init", "--data", data, "--origin", "attack.example/log"],
                       check=True, capture_output=True)
        self.proc = subprocess.Popen([trail, "serve", "--data", data, "--listen", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        self.url = line.strip().split(" on ")[-1]
        self.host, self.port = self.url.replace("http://", "").split(":")
        self.port = int(self.port)
        time.sleep(0.3)
        self.idle_peak = kib(self.proc.pid, "VmHWM")

    def peak_mib(self):
        return (kib(self.proc.pid, "VmHWM") - self.idle_peak) / 1024

    def rss_mib(self):
        return kib(self.proc.pid, "VmRSS") / 1024

    def request(self, method, path, body=b"", headers=None, timeout=60):
        req = urllib.request.Request(self.url + path, data=body if method != "GET" else None,
                                     method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def healthz_while(server, work):
    """Runs `work` on a thread and polls /healthz meanwhile; returns the slowest answer (s)."""
    done = threading.Event()
    result = {}

    def run():
        result["value"] = work()
        done.set()

    t = threading.Thread(target=run)
    t.start()
    slowest = 0.0
    while not done.is_set():
        start = time.monotonic()
        try:
            server.request("GET", "/healthz", timeout=30)
        except Exception:
            pass
        slowest = max(slowest, time.monotonic() - start)
        time.sleep(0.05)
    t.join()
    return slowest, result.get("value")


def empty_spans(n):
    def varint(v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)
    scope = b"\x12\x00" * n
    resource = b"\x12" + varint(len(scope)) + scope
    return b"\x0a" + varint(len(resource)) + resource


def million_spans(trail):
    s = Server(trail)
    try:
        body = gzip.compress(empty_spans(1_000_000), 9)
        start = time.monotonic()
        slowest, answer = healthz_while(s, lambda: s.request(
            "POST", "/v1/traces", body,
            {"content-type": "application/x-protobuf", "content-encoding": "gzip"}))
        took = time.monotonic() - start
        print(f"million empty spans: request {len(body)} bytes gzip'd; answer {answer[0]} in "
              f"{took:.2f} s; peak memory +{s.peak_mib():.0f} MiB; slowest /healthz {slowest * 1000:.0f} ms")
    finally:
        s.stop()


def empty_resources_and_many_at_once(trail):
    s = Server(trail)
    try:
        body = gzip.compress(b"\x0a\x00" * 10_000_000, 9)
        slowest, answer = healthz_while(s, lambda: s.request(
            "POST", "/v1/traces", body,
            {"content-type": "application/x-protobuf", "content-encoding": "gzip"}))
        print(f"ten million empty ResourceSpans ({len(body)} bytes gzip'd): answer {answer[0]}; "
              f"peak memory +{s.peak_mib():.0f} MiB; slowest /healthz {slowest * 1000:.0f} ms")
        spans = gzip.compress(empty_spans(1_000_000), 9)
        results = []

        def many():
            threads = [threading.Thread(target=lambda: results.append(s.request(
                "POST", "/v1/traces", spans,
                {"content-type": "application/x-protobuf", "content-encoding": "gzip"})[0]))
                for _ in range(50)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        slowest, _ = healthz_while(s, many)
        print(f"50 requests of a million empty spans at once: answers {sorted(set(results))}; "
              f"peak memory +{s.peak_mib():.0f} MiB; slowest /healthz {slowest * 1000:.0f} ms")
    finally:
        s.stop()


def scan_heavy(trail):
    s = Server(trail)
    try:
        ev = json.dumps({"kind": "tool_result", "body": {"out": "bob@example.com " * 32000}}).encode()
        results = []

        def two():
            threads = [threading.Thread(target=lambda: results.append(s.request(
                "POST", "/v1/events", ev, {"content-type": "application/json"})[0]))
                for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        start = time.monotonic()
        slowest, _ = healthz_while(s, two)
        print(f"two bodies of 32,000 e-mail addresses (512 KB) at once: answers {results} in "
              f"{time.monotonic() - start:.1f} s; slowest /healthz {slowest * 1000:.0f} ms")
    finally:
        s.stop()


def stalled_tails(trail):
    s = Server(trail)
    try:
        socks = []
        for _ in range(20):
            c = socket.create_connection((s.host, s.port))
            c.sendall(f"GET /v1/tail HTTP/1.1\r\nhost: {s.host}\r\n\r\n".encode())
            socks.append(c)  # never read
        time.sleep(0.3)
        big = "x" * (1 << 20)
        start = time.monotonic()
        for i in range(100):
            ev = json.dumps({"kind": "tool_result", "id": f"big-{i}", "body": {"out": big}}).encode()
            st, _ = s.request("POST", "/v1/events", ev, {"content-type": "application/json"})
            assert st == 200, st
        time.sleep(1.0)
        _, metrics = s.request("GET", "/metrics")
        dropped = [l for l in metrics.decode().splitlines()
                   if l.startswith("trail_tail_subscribers_dropped_total ")]
        print(f"20 stalled tails, 100 events of 1 MiB: {time.monotonic() - start:.1f} s; resident "
              f"{s.rss_mib():.0f} MiB after, peak +{s.peak_mib():.0f} MiB; "
              f"{dropped[0] if dropped else 'no drop counter'}")
        for c in socks:
            c.close()
    finally:
        s.stop()


def invented_methods(trail):
    s = Server(trail)
    try:
        _, before = s.request("GET", "/metrics")
        for i in range(2000):
            c = socket.create_connection((s.host, s.port))
            c.sendall(f"X{i}{'A' * 150} /v1/events HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n".encode())
            try:
                c.recv(4096)
            except OSError:
                pass
            c.close()
        _, after = s.request("GET", "/metrics")
        print(f"2000 invented methods: /metrics {len(before)} -> {len(after)} bytes")
    finally:
        s.stop()


def idle_connections(trail):
    s = Server(trail)
    try:
        idle = []
        for _ in range(1100):
            try:
                idle.append(socket.create_connection((s.host, s.port), timeout=2))
            except OSError:
                break
        start = time.monotonic()
        st, _ = s.request("GET", "/healthz", timeout=30)
        health = time.monotonic() - start
        ev = json.dumps({"kind": "probe"}).encode()
        start = time.monotonic()
        st2, _ = s.request("POST", "/v1/events", ev, {"content-type": "application/json"}, timeout=30)
        post = time.monotonic() - start
        print(f"{len(idle)} idle connections open: /healthz {st} in {health * 1000:.0f} ms; "
              f"POST /v1/events {st2} in {post * 1000:.0f} ms")
        for c in idle:
            c.close()
    finally:
        s.stop()


if __name__ == "__main__":
    trail = binary()
    print(f"trail: {trail}")
    million_spans(trail)
    empty_resources_and_many_at_once(trail)
    scan_heavy(trail)
    stalled_tails(trail)
    invented_methods(trail)
    idle_connections(trail)

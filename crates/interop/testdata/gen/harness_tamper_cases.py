"""Writes tampered variants of a Harness log, and Harness's own verdict on each.

usage: python3.12 harness_tamper_cases.py SAMPLE OUT_DIR

For every case OUT_DIR gets `<case>.jsonl` and `<case>.verdict`, the latter being exactly what
`AuditLogger.verify_chain` returned (`valid=True|False` then one error per line), or
`crash: <ExceptionType>` where Harness's verifier raises instead of answering.
"""

import hashlib
import json
import sys
from pathlib import Path

from harness.audit.logger import AuditLogger

sample = Path(sys.argv[1])
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
lines = sample.read_text().splitlines(keepends=True)


def rehash(ev):
    payload = {k: v for k, v in ev.items() if k != "hash"}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def dump(ev):
    return json.dumps(ev, separators=(",", ":")) + "\n"


def events():
    return [json.loads(l) for l in lines]


def modify_keep_hash():
    evs = events()
    evs[3]["data"]["decision"] = "deny"
    return "".join(dump(e) for e in evs)


def modify_rehash_one():
    evs = events()
    evs[3]["data"]["decision"] = "deny"
    evs[3]["hash"] = rehash(evs[3])
    return "".join(dump(e) for e in evs)


def modify_rehash_all():
    evs = events()
    evs[3]["data"]["decision"] = "deny"
    prev = "0" * 64
    for e in evs:
        e["prev_hash"] = prev
        e["hash"] = rehash(e)
        prev = e["hash"]
    return "".join(dump(e) for e in evs)


def drop_last_three():
    return "".join(lines[:-3])


def empty():
    return ""


def delete_line_5():
    return "".join(lines[:4] + lines[5:])


def delete_first():
    return "".join(lines[1:])


def swap_lines():
    l = list(lines)
    l[6], l[7] = l[7], l[6]
    return "".join(l)


def duplicate_line():
    return "".join(lines[:9] + [lines[8]] + lines[9:])


def invalid_json():
    l = list(lines)
    l[5] = '{"event_id": oops}\n'
    return "".join(l)


def hash_missing():
    evs = events()
    del evs[2]["hash"]
    return "".join(dump(e) for e in evs)


def timestamp_int():
    evs = events()
    evs[4]["timestamp"] = int(evs[4]["timestamp"])
    return "".join(dump(e) for e in evs)


def reformatted():
    # Pretty spacing, sorted keys, raw UTF-8, CRLF and blank lines: Harness still accepts it.
    evs = events()
    body = "\r\n\r\n".join(json.dumps(e, sort_keys=True, ensure_ascii=False) for e in evs)
    return body + "\r\n"


def reopened_session():
    # A second AuditLogger on the same session id restarts the chain at genesis.
    return "".join(lines[:2]) + "".join(lines[:2])


def not_an_object():
    l = list(lines)
    l[2] = "[1,2]\n"
    return "".join(l)


def prev_hash_number():
    evs = events()
    evs[1]["prev_hash"] = 7
    return "".join(dump(e) for e in evs)


def hash_number():
    evs = events()
    evs[1]["hash"] = 7
    return "".join(dump(e) for e in evs)


def nan_value():
    evs = events()
    evs[1]["data"]["args"]["nan"] = float("nan")
    prev = "0" * 64
    for e in evs:
        e["prev_hash"] = prev
        e["hash"] = rehash(e)
        prev = e["hash"]
    return "".join(dump(e) for e in evs)


cases = {name: fn for name, fn in globals().items() if callable(fn) and fn.__module__ == "__main__"
         and name not in ("rehash", "dump", "events")}
for name, fn in cases.items():
    p = out / f"{name}.jsonl"
    p.write_bytes(fn().encode("utf-8"))
    try:
        valid, errors = AuditLogger.verify_chain(p)
        verdict = f"valid={valid}\n" + "".join(e + "\n" for e in errors)
    except Exception as e:  # noqa: BLE001 - the point is to record the crash
        verdict = f"crash: {type(e).__name__}\n"
    (out / f"{name}.verdict").write_text(verdict, encoding="utf-8")
    print(name, verdict.splitlines()[0])

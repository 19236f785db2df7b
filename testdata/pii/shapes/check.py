#!/usr/bin/env python3
"""Mechanical checks of the shapes set's labels (independent of generate.py's code paths).

    python3 check.py shapes-a.jsonl [shapes-b.jsonl ...] [--empty-findings OUT.jsonl]
    python3 check.py --stats shapes-a.jsonl shapes-b.jsonl      # the count tables of README.md

Checks, per sample: format and meta (context, kind, shape listed in SHAPES.md, prose flag); per span: byte offsets
in range and on UTF-8 character boundaries, sorted and non-overlapping, type one of TAXONOMY.md's names, no
surrounding whitespace or quotes, no key name / `Bearer ` inside, not cutting an ASCII token in two; per type:
phonenumbers.is_valid_number for every PHONE (region = subtype), Luhn, IBAN mod-97, SSN rules, national-ID check
digits, is_global IPs, unicast MACs, wallet checksums, GitHub/npm CRC32, JWT structure, PEM blocks, base64 /
percent-encoded wrappers decoded and re-checked. Finally a leak scan: any e-mail, routable IPv4, JWT, PEM private
key, AKIA/ASIA key or vendor-prefixed token in the text that no span covers is an error (a missed label).
Exit status 1 on any error. Needs `phonenumbers` (same venv as generate.py).
"""
import base64
import binascii
import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import sys
import urllib.parse
from collections import Counter, defaultdict

import phonenumbers

HERE = os.path.dirname(os.path.abspath(__file__))
CONTEXTS = {"json", "shell", "csv", "code", "config", "log", "http", "chat", "email", "sql"}


def taxonomy_types():
    types = set()
    with open(os.path.join(HERE, "..", "TAXONOMY.md"), encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"^\| ([A-Z][A-Z0-9_]+) \|", line)
            if m:
                types.add(m.group(1))
    assert len(types) == 26, types
    return types


def shape_ids():
    ids = set()
    with open(os.path.join(HERE, "SHAPES.md"), encoding="utf-8") as fh:
        for line in fh:
            m = re.match(r"^\| `([a-z0-9_.]+)` \|", line)
            if m:
                ids.add(m.group(1))
    return ids


# ------------------------------------------------------------------ validators

def luhn(num):
    d = [int(c) for c in num]
    s = 0
    for i, x in enumerate(reversed(d)):
        if i % 2:
            x *= 2
            x -= 9 if x > 9 else 0
        s += x
    return s % 10 == 0


def iban_ok(v):
    s = v.replace(" ", "")
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", s):
        return False
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1


def ssn_ok(v):
    d = re.sub(r"[- ]", "", v)
    if not re.fullmatch(r"\d{9}", d):
        return False
    a, g, s = int(d[:3]), int(d[3:5]), int(d[5:])
    return a not in (0, 666) and a < 900 and g and s and d not in ("078051120", "123456789")


VD = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
      [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
      [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
VP = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
      [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
      [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]


def verhoeff_ok(num):
    c = 0
    for i, ch in enumerate(reversed(num)):
        c = VD[c][VP[i % 8][int(ch)]]
    return c == 0


def national_ok(v, sub):
    d = re.sub(r"[ .\-]", "", v)
    if sub == "uk_nino":
        return bool(re.fullmatch(r"(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]", d))
    if sub == "uk_nhs":
        if not re.fullmatch(r"\d{10}", d):
            return False
        c = 11 - sum(int(x) * (10 - i) for i, x in enumerate(d[:9])) % 11
        return (0 if c == 11 else c) == int(d[9])
    if sub == "ca_sin":
        return bool(re.fullmatch(r"\d{9}", d)) and luhn(d) and d[0] not in "08"
    if sub == "es_dni":
        return bool(re.fullmatch(r"\d{8}[A-Z]", d)) and "TRWAGMYFPDXBNJZSQVHLCKE"[int(d[:8]) % 23] == d[8]
    if sub == "es_nie":
        return bool(re.fullmatch(r"[XYZ]\d{7}[A-Z]", d)) and \
            "TRWAGMYFPDXBNJZSQVHLCKE"[int(str("XYZ".index(d[0])) + d[1:8]) % 23] == d[8]
    if sub == "br_cpf":
        if not re.fullmatch(r"\d{11}", d) or len(set(d)) == 1:
            return False
        x = [int(c) for c in d]
        for k in (9, 10):
            s = sum(x[i] * (k + 1 - i) for i in range(k)) % 11
            if x[k] != (0 if s < 2 else 11 - s):
                return False
        return True
    if sub == "in_aadhaar":
        return bool(re.fullmatch(r"[2-9]\d{11}", d)) and verhoeff_ok(d)
    if sub == "nl_bsn":
        return bool(re.fullmatch(r"\d{9}", d)) and \
            (sum(int(x) * (9 - i) for i, x in enumerate(d[:8])) - int(d[8])) % 11 == 0
    return False


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def wallet_ok(v):
    if re.fullmatch(r"0x[0-9a-fA-F]{40}", v):
        return True
    if v.startswith("bc1"):
        data = [BECH.index(ch) for ch in v[3:]]
        gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
        chk = 1
        for x in [3, 3, 0, 2, 3] + data:
            b = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ x
            for i in range(5):
                chk ^= gen[i] if ((b >> i) & 1) else 0
        return chk == 1
    if v[0] in "13":
        n = 0
        for ch in v:
            n = n * 58 + B58.index(ch)
        raw = n.to_bytes(25, "big")
        return hashlib.sha256(hashlib.sha256(raw[:21]).digest()).digest()[:4] == raw[21:]
    return False


B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crc_token_ok(v):
    m = re.fullmatch(r"(gh[pousr]|npm)_([A-Za-z0-9]{30})([A-Za-z0-9]{6})", v)
    if not m:
        return False
    n = 0
    for ch in m.group(3):
        n = n * 62 + B62.index(ch)
    return n == binascii.crc32(m.group(2).encode())


def b64dec(v):
    v = v.replace("\\n", "")
    return base64.b64decode(v + "=" * (-len(v) % 4), validate=False)


def b64url_json(seg):
    return json.loads(base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)))


def jwt_ok(v):
    parts = v.split(".")
    if len(parts) != 3:
        return False
    try:
        h = b64url_json(parts[0])
        b64url_json(parts[1])
        base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    except Exception:
        return False
    return "alg" in h


PEM_RE = re.compile(r"^-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY)-----(?:\\n|\n).*(?:\\n|\n)[ ]*"
                    r"-----END \1-----(?:\\n|\n)?$", re.S)

PLACEHOLDERS = {"changeme", "password", "secret", "example", "redacted", "<redacted>", "********", "****", "xxx",
                "xxxxxxxx", "change_me", "replace_me", "todo", "null", ""}


def check_value(ty, v, sub, errs, where):
    """Type-specific validity of one labelled value (as it appears in the text)."""
    def bad(msg):
        errs.append(f"{where}: {ty} {msg}: {v[:80]!r}")
    sub = sub or ""
    if "rfc2047" in sub:
        return
    if "\\u" in v:  # JSON written with ensure_ascii: check the unescaped value
        v = json.loads('"' + v.replace('"', '\\"') + '"')
    if "+pct" in sub:
        v = urllib.parse.unquote(v)
    if "b64" in sub or sub in ("dockerconfigjson",):
        try:
            raw = b64dec(v).decode("utf-8")
        except Exception:
            return bad("base64 does not decode")
        if sub == "dockerconfigjson":
            try:
                auths = json.loads(raw)["auths"]
                assert auths
            except Exception:
                bad("dockerconfigjson is not a config with auths")
            return
        if sub == "basic_b64":
            if ":" not in raw:
                return bad("basic auth base64 lacks user:pass")
            raw = raw.split(":", 1)[1]
            if ty == "PASSWORD":
                if raw.lower() in PLACEHOLDERS:
                    bad("placeholder password inside base64")
                return
        inner_sub = sub.replace("+b64", "").replace("b64", "")
        if ty == "PRIVATE_KEY":
            if not PEM_RE.match(raw.strip("\n") + "\n"):
                bad("base64 does not hold a PEM private key")
            return
        if ty in ("PASSWORD", "GENERIC_SECRET"):
            if not raw or raw.lower() in PLACEHOLDERS:
                bad("empty/placeholder inside base64")
            return
        return check_value(ty, raw, inner_sub, errs, where)
    if ty == "PHONE":
        try:
            pn = phonenumbers.parse(v, sub or None)
        except phonenumbers.NumberParseException as e:
            return bad(f"does not parse ({e})")
        if not phonenumbers.is_valid_number(pn):
            bad("not phonenumbers.is_valid_number")
        if sub and phonenumbers.region_code_for_number(pn) != sub:
            bad(f"region {phonenumbers.region_code_for_number(pn)} != subtype {sub}")
    elif ty == "EMAIL":
        if not re.fullmatch(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", v):
            bad("not an e-mail address")
    elif ty == "CREDIT_CARD":
        d = re.sub(r"[ \-]", "", v)
        if not (re.fullmatch(r"\d{13,19}", d) and luhn(d)):
            bad("fails Luhn")
    elif ty == "IBAN":
        if not iban_ok(v):
            bad("fails mod-97")
    elif ty == "US_SSN":
        if not ssn_ok(v):
            bad("invalid SSN")
    elif ty == "NATIONAL_ID":
        if not national_ok(v, sub):
            bad(f"fails {sub} check")
    elif ty == "IP_ADDRESS":
        try:
            if not ipaddress.ip_address(v).is_global:
                bad("not globally routable")
        except ValueError:
            bad("not an IP")
    elif ty == "MAC_ADDRESS":
        h = re.sub(r"[:\-.]", "", v)
        if not re.fullmatch(r"[0-9A-Fa-f]{12}", h) or int(h[:2], 16) & 1:
            bad("not a unicast MAC")
    elif ty == "CRYPTO_WALLET":
        if not wallet_ok(v):
            bad("bad wallet checksum")
    elif ty == "GITHUB_TOKEN":
        if v.startswith("github_pat_"):
            if not re.fullmatch(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}", v):
                bad("bad fine-grained token shape")
        elif not crc_token_ok(v):
            bad("CRC32 checksum fails")
    elif ty == "GITLAB_TOKEN":
        if not re.match(r"gl(pat|dt|rt|ptt)-", v):
            bad("no GitLab prefix")
    elif ty == "SLACK_TOKEN":
        if not re.match(r"(xox[bpa]-|xapp-|https://hooks\.slack\.com/services/)", v):
            bad("no Slack prefix")
    elif ty == "STRIPE_KEY":
        if not re.match(r"(sk_live_|rk_live_|sk_test_|whsec_)", v):
            bad("no Stripe secret prefix")
    elif ty == "OPENAI_API_KEY":
        if not (v.startswith("sk-") and "T3BlbkFJ" in v):
            bad("not an OpenAI key shape")
    elif ty == "ANTHROPIC_API_KEY":
        if not re.fullmatch(r"sk-ant-(api03|admin01)-[A-Za-z0-9_\-]{93}AA", v):
            bad("not an Anthropic key shape")
    elif ty == "GOOGLE_API_KEY":
        if not re.fullmatch(r"AIza[A-Za-z0-9_\-]{35}", v):
            bad("not a Google API key shape")
    elif ty == "AWS_ACCESS_KEY_ID":
        if not re.fullmatch(r"(AKIA|ASIA)[A-Z2-7]{16}", v) or "EXAMPLE" in v:
            bad("not an access key id")
    elif ty == "AWS_SECRET_ACCESS_KEY":
        if not re.fullmatch(r"[A-Za-z0-9/+]{40}", v) or "EXAMPLE" in v:
            bad("not a 40-char secret")
    elif ty == "JWT":
        if not jwt_ok(v):
            bad("not a decodable JWT")
    elif ty == "PRIVATE_KEY":
        if not PEM_RE.match(v + ("\n" if not v.endswith(("\n", "\\n")) else "")):
            bad("not a whole PEM private-key block")
    elif ty == "VENDOR_API_KEY":
        if sub == "npm" and not crc_token_ok(v):
            bad("npm CRC32 fails")
        if len(v) < 20:
            bad("too short")
    elif ty == "PASSWORD":
        if v.lower() in PLACEHOLDERS or v.startswith(("${", "{{", "<")) or re.fullmatch(r"\$[A-Z_]+", v) or \
                set(v) <= set("*x"):
            bad("placeholder labelled as PASSWORD")
        if "&amp;" in v or "&lt;" in v:
            pass
    elif ty == "GENERIC_SECRET":
        if len(v) < 16:
            bad("too short for a secret")
    elif ty == "DATE_OF_BIRTH":
        y = re.findall(r"(?<!\d)(19\d\d|20[01]\d)(?!\d)", v)
        if re.fullmatch(r"(19\d\d|20[01]\d)\d{4}", v):
            y = [v[:4]]
            try:
                dt.date(int(v[:4]), int(v[4:6]), int(v[6:]))
            except ValueError:
                y = []
        if not y:
            bad("no plausible birth year")
    elif ty == "STREET_ADDRESS":
        if not re.search(r"\d", v):
            bad("address without any number")
    elif ty == "PERSON":
        if re.search(r"\d|@", v):
            bad("name with digit or @")
        cjk = re.search(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]", v)
        if not cjk and len(v.replace(",", " ").split()) < 2:
            bad("not a full name")


KEYNAME_RE = re.compile(r"^(?:password|passwd|pwd|token|secret|api[_-]?key|bearer|basic|auth)\s*[=:]|^Bearer |^Basic ",
                        re.I)
LEAK = [  # (type, regex, exclusion test on the match)
    ("EMAIL", re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"), None),
    ("IP_ADDRESS", re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])"), None),
    ("JWT", re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{16,}"), None),
    ("PRIVATE_KEY", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), None),
    ("MAC_ADDRESS", re.compile(r"(?<![0-9A-Fa-f:\-])[0-9A-Fa-f]{2}(?:([:\-])[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}(?![0-9A-Fa-f:\-])"),
     None),
    ("AWS_ACCESS_KEY_ID", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z2-7]{16}(?![A-Z0-9])"), None),
    ("TOKEN", re.compile(r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_\w{80,}|glpat-[\w\-]{20}|xox[bp]-\d|sk_live_\w+|"
                         r"sk-ant-api03-|AIza[\w\-]{35}|sk-proj-|hf_[A-Za-z]{34}|dckr_pat_|npm_[A-Za-z0-9]{36})"), None),
]


def leak_ok(ty, m, text):
    s = m.group(0)
    if ty == "EMAIL":
        pre = text[max(0, m.start() - 14):m.start()]
        if "Message-ID: <" in pre or pre.endswith(("id:", "://")) or s.startswith("git@") or \
                re.search(r"@(mail\.gmail\.com|.*\.internal)$", s):
            return True
        return False
    if ty == "IP_ADDRESS":
        try:
            a = ipaddress.ip_address(s)
        except ValueError:
            return True
        if not a.is_global:
            return True
        # dotted numbers that are versions / OIDs / build ids, not IPs (all octets small and a version context)
        pre = text[max(0, m.start() - 12):m.start()]
        return bool(re.search(r"(version|v|Version|engine_version|Build|build|mmdb)[\s\":=]*$|[A-Za-z]/$", pre))
    if ty == "AWS_ACCESS_KEY_ID":
        return "EXAMPLE" in s
    if ty == "MAC_ADDRESS":
        return bool(int(s[:2], 16) & 1) or s.replace(s[2], "") == "000000000000"
    return False


def check_file(path, types, shapes, errors):
    rows = []
    with open(path, encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                errors.append(f"{path}:{ln}: bad JSON {e}")
    ids = Counter(r.get("id") for r in rows)
    for i, n in ids.items():
        if n > 1:
            errors.append(f"{path}: duplicate id {i}")
    stats = defaultdict(Counter)
    for r in rows:
        w = f"{os.path.basename(path)}:{r.get('id')}"
        if set(r) != {"id", "text", "spans", "meta"}:
            errors.append(f"{w}: keys {sorted(r)}")
            continue
        text, spans, meta = r["text"], r["spans"], r["meta"]
        b = text.encode("utf-8")
        for k in ("context", "lang", "kind", "source", "tags", "shape", "prose"):
            if k not in meta:
                errors.append(f"{w}: meta.{k} missing")
        if meta.get("context") not in CONTEXTS:
            errors.append(f"{w}: context {meta.get('context')}")
        if meta.get("shape") not in shapes:
            errors.append(f"{w}: shape {meta.get('shape')} not in SHAPES.md")
        if meta.get("kind") != ("positive" if spans else "negative"):
            errors.append(f"{w}: kind {meta.get('kind')} vs {len(spans)} spans")
        if meta.get("source") != "synthetic" or not isinstance(meta.get("tags"), list) or \
                not isinstance(meta.get("prose"), bool):
            errors.append(f"{w}: meta source/tags/prose")
        if meta.get("prose") != str(meta.get("shape", "")).startswith("prose."):
            errors.append(f"{w}: prose flag vs shape")
        last = 0
        for s in spans:
            st, en, ty = s.get("start"), s.get("end"), s.get("type")
            sub = s.get("subtype")
            if not (isinstance(st, int) and isinstance(en, int) and 0 <= st < en <= len(b)):
                errors.append(f"{w}: span out of range {s}")
                continue
            if st < last:
                errors.append(f"{w}: overlapping/unsorted span {s}")
            last = en
            if (st < len(b) and (b[st] & 0xC0) == 0x80) or (en < len(b) and (b[en] & 0xC0) == 0x80):
                errors.append(f"{w}: span not on a character boundary {s}")
                continue
            if ty not in types:
                errors.append(f"{w}: type {ty} not in TAXONOMY.md")
            v = b[st:en].decode("utf-8")
            if v != v.strip():
                errors.append(f"{w}: span has surrounding whitespace {v[:40]!r}")
            if v[:1] in "\"'`" or v[-1:] in "\"'`":
                errors.append(f"{w}: span includes a quote {v[:40]!r}")
            if ty not in ("PASSWORD", "GENERIC_SECRET", "STREET_ADDRESS") and (v[-1] in ",;:)>]}." or v[0] in "<[{,;:" or (v[0] == "(" and ty != "PHONE")):
                errors.append(f"{w}: {ty} span starts/ends with punctuation {v[:40]!r}")
            if KEYNAME_RE.search(v):
                errors.append(f"{w}: span includes a key name {v[:40]!r}")
            before = b[st - 1:st].decode("latin-1") if st else ""
            if re.search(rb"\\u[0-9a-fA-F]{4}$", b[max(0, st - 6):st]):
                before = ""  # the end of a JSON \uXXXX escape, not part of the value
            after = b[en:en + 1].decode("latin-1") if en < len(b) else ""
            if (before.isascii() and before.isalnum() and v[0].isascii() and v[0].isalnum()) or \
                    (after.isascii() and after.isalnum() and v[-1].isascii() and v[-1].isalnum()):
                errors.append(f"{w}: span cuts a token: ...{before}[{v[:30]}]{after}...")
            check_value(ty, v, sub, errors, w)
            stats[meta.get("shape")][ty] += 1
        # leak scan: values that look like a labelled type but no span covers them
        covered = [(s["start"], s["end"]) for s in spans]
        for ty, rx, _ in LEAK:
            for m in rx.finditer(text):
                bs = len(text[:m.start()].encode("utf-8"))
                be = bs + len(m.group(0).encode("utf-8"))
                if any(a < be and bs < z for a, z in covered):
                    continue
                if leak_ok(ty, m, text):
                    continue
                errors.append(f"{w}: unlabelled {ty}-looking value {m.group(0)[:60]!r}")
    return rows


def stats(paths):
    """Markdown tables for README.md: spans per type, samples per shape, prose PERSON / STREET_ADDRESS per language."""
    sets = {os.path.basename(p): [json.loads(l) for l in open(p, encoding="utf-8")] for p in paths}
    names = list(sets)
    print("| type | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names))
    per = {n: Counter(sp["type"] for r in rows for sp in r["spans"]) for n, rows in sets.items()}
    for t in sorted(set().union(*per.values())):
        print(f"| {t} | " + " | ".join(str(per[n][t]) for n in names) + " |")
    print("| **all spans** | " + " | ".join(str(sum(per[n].values())) for n in names) + " |")
    print("| samples (positive / negative) | " + " | ".join(
        f"{len(rows)} ({sum(1 for r in rows if r['spans'])} / {sum(1 for r in rows if not r['spans'])})"
        for rows in sets.values()) + " |")
    print()
    print("| shape | " + " | ".join(f"{n} pos/neg | {n} spans" for n in names) + " |\n|---|" + "---:|---:|" * len(names))
    shapes = sorted({r["meta"]["shape"] for rows in sets.values() for r in rows})
    for sh in shapes:
        cells = []
        for rows in sets.values():
            rr = [r for r in rows if r["meta"]["shape"] == sh]
            cells.append(f"{sum(1 for r in rr if r['spans'])}/{sum(1 for r in rr if not r['spans'])}")
            cells.append(str(sum(len(r["spans"]) for r in rr)))
        print(f"| `{sh}` | " + " | ".join(cells) + " |")
    print()
    langs = ["en", "de", "fr", "es", "pt", "ja", "hi"]
    print("| prose spans (meta.prose) | " + " | ".join(langs) + " | total |\n|---|" + "---:|" * (len(langs) + 1))
    for n, rows in sets.items():
        for t in ("PERSON", "STREET_ADDRESS", "PHONE", "DATE_OF_BIRTH"):
            c = Counter(r["meta"]["lang"] for r in rows if r["meta"]["prose"] for sp in r["spans"] if sp["type"] == t)
            print(f"| {n} {t} | " + " | ".join(str(c[l]) for l in langs) + f" | {sum(c.values())} |")
    print()
    print("| set | contexts | languages |\n|---|---|---|")
    for n, rows in sets.items():
        cx = Counter(r["meta"]["context"] for r in rows)
        lg = Counter(r["meta"]["lang"] for r in rows)
        print(f"| {n} | " + ", ".join(f"{k} {v}" for k, v in cx.most_common()) + " | " +
              ", ".join(f"{k} {v}" for k, v in lg.most_common()) + " |")
    regions = Counter(sp.get("subtype") for rows in sets.values() for r in rows for sp in r["spans"] if sp["type"] == "PHONE")
    print(f"\nPHONE regions ({len(regions)}): " + ", ".join(f"{k} {v}" for k, v in sorted(regions.items())))


def main():
    args = sys.argv[1:]
    if args and args[0] == "--stats":
        return stats(args[1:])
    empty_out = None
    if "--empty-findings" in args:
        k = args.index("--empty-findings")
        empty_out = args[k + 1]
        del args[k:k + 2]
    types, shapes = taxonomy_types(), shape_ids()
    errors = []
    for path in args:
        rows = check_file(path, types, shapes, errors)
        seen = {r["meta"]["shape"] for r in rows}
        for s in sorted(shapes - seen):
            errors.append(f"{path}: shape {s} has no sample")
        for s in sorted(shapes):
            kinds = {r["meta"]["kind"] for r in rows if r["meta"]["shape"] == s}
            if kinds != {"positive", "negative"}:
                errors.append(f"{path}: shape {s} lacks {({'positive', 'negative'} - kinds)}")
        nphone = sum(1 for r in rows for sp in r["spans"] if sp["type"] == "PHONE")
        print(f"{path}: {len(rows)} samples, {sum(len(r['spans']) for r in rows)} spans, {nphone} phones checked")
        if empty_out:
            with open(empty_out, "w", encoding="utf-8") as fh:
                for r in rows:
                    fh.write(json.dumps({"id": r["id"], "findings": []}) + "\n")
    for e in errors[:200]:
        print("ERROR", e)
    print(f"{len(errors)} errors")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()

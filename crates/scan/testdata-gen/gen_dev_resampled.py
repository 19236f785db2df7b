#!/usr/bin/env python3
"""Held-out PII/secret samples for trail-scan, drawn like testdata/pii/dev.jsonl with another seed.

The dev set's templates (the text around each labelled value) are kept and every labelled value
is drawn again: names and addresses from Faker's locale data, phone numbers that pass
`phonenumbers.is_valid_number` in the same country and layout, dates of birth in the same
layout, checksummed numbers (cards, IBANs, SSNs, national IDs, wallets) recomputed, and
secrets redrawn in their vendor's shape (GitHub classic tokens with their CRC-32 checksum).
Negatives get fresh hex identifiers (commit SHAs, trace ids, UUIDs). So the scanner is scored
on values it has never seen, in the contexts the generator uses.

    python3 -m venv .venv && .venv/bin/pip install faker phonenumbers
    .venv/bin/python crates/scan/testdata-gen/gen_dev_resampled.py \
        testdata/pii/dev.jsonl > crates/scan/testdata/dev-resampled.jsonl

Output is deterministic for a given seed, Faker and phonenumbers version (Faker 40.5.0,
phonenumbers 9.0.x when the committed file was made).
"""

import base64
import datetime
import hashlib
import ipaddress
import json
import os
import random
import re
import sys
import zlib

import phonenumbers
from faker import Faker

SEED = int(os.environ.get("HELDOUT_SEED", "20261122"))
rng = random.Random(SEED)

LOCALES = {
    "en": ["en_US", "en_GB", "en_CA"],
    "fr": ["fr_FR"],
    "it": ["it_IT"],
    "de": ["de_DE"],
    "es": ["es_ES"],
    "he": ["he_IL"],
    "hi": ["hi_IN"],
    "ja": ["ja_JP"],
    "zh": ["zh_CN"],
    "ru": ["ru_RU"],
    "pt": ["pt_BR"],
    "el": ["el_GR"],
    "ko": ["ko_KR"],
    "pl": ["pl_PL"],
    "vi": ["vi_VN"],
    "tr": ["tr_TR"],
    "nl": ["nl_NL"],
    "ar": ["ar_SA"],
}
_fakers = {}


def faker(lang):
    loc = rng.choice(LOCALES.get(lang, ["en_US"]))
    if loc not in _fakers:
        f = Faker(loc)
        f.seed_instance(SEED + len(_fakers))
        _fakers[loc] = f
    return _fakers[loc]


LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()
DIGITS = "0123456789"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
B62 = DIGITS + UPPER + LOWER


AWS_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
BECH_UPPER = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


def redraw_from(s, keep, alphabet):
    return s[:keep] + "".join(rng.choice(alphabet) if c.isalnum() else c for c in s[keep:])


def redraw(s, keep=0, hexonly=None):
    """Same shape, new characters: letters stay letters of the same case, digits digits;
    `keep` leading characters and JSON escapes (`\\n`, `\\uXXXX`) are kept."""
    body = s[keep:]
    if hexonly is None:
        hexonly = bool(re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", re.sub(r"[^0-9A-Za-z]", "", body) or "g"))
    out = list(s[:keep])
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            n = 6 if body[i + 1] == "u" else 2
            out.append(body[i : i + n])
            i += n
            continue
        if hexonly and c in "0123456789abcdef":
            out.append(rng.choice("0123456789abcdef"))
        elif hexonly and c in "ABCDEF":
            out.append(rng.choice("0123456789ABCDEF"))
        elif c.isdigit():
            out.append(rng.choice(DIGITS))
        elif c in LOWER:
            out.append(rng.choice(LOWER))
        elif c in UPPER:
            out.append(rng.choice(UPPER))
        else:
            out.append(c)
        i += 1
    return "".join(out)


def subst_digits(template, digits):
    """Writes `digits` into the digit positions of `template` (separators kept)."""
    it = iter(digits)
    return "".join(str(next(it)) if c.isdigit() else c for c in template)


def luhn_fix(d):
    """Sets the last digit of `d` (a list of ints) so that the Luhn sum is 0 mod 10."""
    d = d[:-1] + [0]
    s = 0
    for i, x in enumerate(reversed(d)):
        if i % 2 == 1:
            x *= 2
            if x > 9:
                x -= 9
        s += x
    d[-1] = (10 - s % 10) % 10
    return d


def escape_like(orig, new):
    """JSON-escapes `new` the way `orig` was written (ensure_ascii, escaped newlines)."""
    if "\\n" in orig:
        new = new.replace("\n", "\\n")
    if "\\u" in orig:
        new = json.dumps(new, ensure_ascii=True)[1:-1]
    return new


# ---------------------------------------------------------------- PII values


def person(orig, lang):
    f = faker(lang)
    for _ in range(20):
        n = f.name()
        if "\n" not in n:
            return escape_like(orig, n)
    return orig


def address(orig, lang):
    f = faker(lang)
    a = f.address()
    if "\n" in orig or "\\n" in orig:
        return escape_like(orig, a)
    return escape_like(orig, a.replace("\n", ", "))


def phone(orig, country):
    digits = [int(c) for c in orig if c.isdigit()]
    region = "US" if country in ("US", "CA") else country
    plus = orig.lstrip().startswith("+")
    for attempt in range(400):
        keep = 3 if attempt < 200 else 4
        if plus:
            cc = phonenumbers.country_code_for_region(region)
            keep += len(str(cc))
        new = digits[:keep] + [rng.randrange(10) for _ in digits[keep:]]
        cand = subst_digits(orig, new)
        try:
            num = phonenumbers.parse(cand, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num) and cand != orig:
            return cand
    return orig


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def dob(orig, lang):
    d = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 66))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", orig):
        return d.strftime("%Y-%m-%d")
    if re.fullmatch(r"\d{2}/\d{2}/\d{4}", orig):
        return d.strftime("%m/%d/%Y" if lang == "en" else "%d/%m/%Y")
    if re.fullmatch(r"\d{2}\.\d{2}\.\d{4}", orig):
        return d.strftime("%d.%m.%Y")
    if re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", orig):
        return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"
    if re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", orig):
        return f"{d.day:02d} {MONTHS[d.month - 1][:3]} {d.year}"
    if "年" in orig:
        return f"{d.year}年{d.month}月{d.day}日"
    return orig


def email(orig, subtype):
    f = faker("en")
    if subtype == "role":
        return orig.split("@")[0] + "@" + f.domain_name()
    return f.email()


def ssn(orig):
    while True:
        area = rng.randrange(1, 900)
        if area == 666:
            continue
        d = f"{area:03d}{rng.randrange(1, 100):02d}{rng.randrange(1, 10000):04d}"
        if d not in ("078051120", "123456789"):
            return subst_digits(orig, [int(c) for c in d])


def card(orig):
    d = [int(c) for c in orig if c.isdigit()]
    new = d[:6] + [rng.randrange(10) for _ in d[6:]]
    return subst_digits(orig, luhn_fix(new))


def iban(orig):
    compact = re.sub(r"\s", "", orig)
    bban = "".join(
        rng.choice(DIGITS) if c.isdigit() else rng.choice(UPPER) if c.isupper() else c
        for c in compact[4:]
    )
    cc = compact[:2]
    num = int("".join(str(int(c, 36)) for c in bban + cc + "00"))
    new = f"{cc}{98 - num % 97:02d}{bban}"
    out, it = [], iter(new)
    for c in orig:
        out.append(c if c.isspace() else next(it))
    return "".join(out)


def ip(orig, subtype):
    while True:
        if subtype == "v6":
            a = ipaddress.IPv6Address((rng.randrange(0x2000, 0x3FFF) << 112) | rng.getrandbits(112))
        else:
            a = ipaddress.IPv4Address(rng.getrandbits(32))
        # Like dev: globally routable unicast only (no multicast 224/4, no 6to4).
        if a.is_global and not a.is_multicast and not a.compressed.startswith("2002:"):
            return a.compressed


def mac(orig):
    b = [rng.randrange(256) for _ in range(6)]
    b[0] &= 0xFE
    h = "".join(f"{x:02x}" for x in b)
    if orig.upper() == orig:
        h = h.upper()
    return subst_hex(orig, h)


def subst_hex(template, hexdigits):
    it = iter(hexdigits)
    return "".join(next(it) if c in "0123456789abcdefABCDEF" else c for c in template)


def national_id(orig, subtype):
    d = [int(c) for c in orig if c.isdigit()]
    for _ in range(10000):
        if subtype == "br_cpf":
            x = [rng.randrange(10) for _ in range(9)]
            for n in (9, 10):
                s = sum(v * (n + 1 - i) for i, v in enumerate(x))
                r = s * 10 % 11
                x.append(0 if r == 10 else r)
            return subst_digits(orig, x)
        if subtype == "ca_sin":
            x = [rng.choice([1, 2, 3, 4, 5, 6, 7, 9])] + [rng.randrange(10) for _ in range(8)]
            return subst_digits(orig, luhn_fix(x))
        if subtype == "uk_nhs":
            x = [rng.randrange(10) for _ in range(9)]
            c = 11 - sum(v * (10 - i) for i, v in enumerate(x)) % 11
            c = 0 if c == 11 else c
            if c == 10:
                continue
            return subst_digits(orig, x + [c])
        if subtype == "nl_bsn":
            x = [rng.randrange(10) for _ in range(9)]
            if sum(v * (9 - i) for i, v in enumerate(x[:8])) % 11 - x[8] == 0 and any(x):
                return subst_digits(orig, x)
            continue
        if subtype == "es_dni":
            lead = orig[0]
            n = rng.randrange(10**7)
            if lead in "XYZ":
                full = int(str("XYZ".index(lead)) + f"{n:07d}")
                return f"{lead}{n:07d}{'TRWAGMYFPDXBNJZSQVHLCKE'[full % 23]}"
            n = rng.randrange(10**8)
            return f"{n:08d}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"
        if subtype == "in_aadhaar":
            x = [rng.randrange(2, 10)] + [rng.randrange(10) for _ in range(10)]
            for c in range(10):
                if verhoeff_ok(x + [c]):
                    return subst_digits(orig, x + [c])
        if subtype == "uk_nino":
            ok1 = [c for c in UPPER if c not in "DFIQUV"]
            a, b = rng.choice(ok1), rng.choice([c for c in ok1 if c != "O"])
            if a + b in ("BG", "GB", "KN", "NK", "NT", "TN", "ZZ"):
                continue
            tpl = orig
            x = [rng.randrange(10) for _ in range(6)]
            letters = iter([a, b])
            out = []
            for i, c in enumerate(tpl):
                if c.isupper() and i < 3:
                    out.append(next(letters))
                elif c.isupper():
                    out.append(rng.choice("ABCD"))
                else:
                    out.append(c)
            return subst_digits("".join(out), x)
    return orig


VM = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
      [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
      [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
VP = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
      [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
      [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]


def verhoeff_ok(d):
    c = 0
    for i, x in enumerate(reversed(d)):
        c = VM[c][VP[i % 8][x]]
    return c == 0


def b58check(payload):
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(raw, "big")
    s = ""
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + s


BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def bech32_encode(hrp, data):
    hv = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
    pm = bech32_polymod(hv + data + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + chk)


def to5(b):
    acc, bits, out = 0, 0, []
    for x in b:
        acc = acc << 8 | x
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append(acc >> bits & 31)
    if bits:
        out.append(acc << (5 - bits) & 31)
    return out


def wallet(orig, subtype):
    body = bytes(rng.getrandbits(8) for _ in range(20))
    if subtype == "btc_p2pkh":
        return b58check(b"\x00" + body)
    if subtype == "btc_p2sh":
        return b58check(b"\x05" + body)
    if subtype == "btc_bech32":
        return bech32_encode("bc", [0] + to5(body))
    return "0x" + body.hex() if orig[2:].lower() == orig[2:] else "0x" + body.hex().upper()


# ---------------------------------------------------------------- secrets


def github(orig):
    if orig.startswith("github_pat_"):
        return redraw(orig, keep=13)
    body = "".join(rng.choice(B62) for _ in range(30))
    n = zlib.crc32(body.encode())
    enc = ""
    for _ in range(6):
        n, r = divmod(n, 62)
        enc = B62[r] + enc
    return orig[:4] + body + enc


KEEP_PREFIX = [
    "https://hooks.slack.com/services/T", "sk-ant-api03-", "sk-ant-admin01-", "sk-svcacct-",
    "sk-proj-", "pypi-AgEIcHlwaS5vcmc", "AGE-SECRET-KEY-1", "IQoJb3JpZ2luX2Vj", "github_pat_11",
    "sk_live_", "rk_live_", "sk_test_", "whsec_", "xoxb-", "xoxp-", "xapp-1-", "glpat-", "gldt-",
    "glrt-", "glptt-", "dckr_pat_", "lin_api_", "sntryu_", "sntrys_", "PMAK-", "sq0csp-", "sq0atp-",
    "dop_v1_", "doo_v1_", "dor_v1_", "shpat_", "shpca_", "shppa_", "shpss_", "glsa_", "glc_",
    "NRAK-", "npm_", "hf_", "SG.", "SK", "hvs.", "hvb.", "dapi", "AKIA", "ASIA", "AIza", "ya29.",
    "1//0", "sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
]


def secret(orig, kind, subtype):
    if kind == "GITHUB_TOKEN":
        return github(orig)
    if kind == "PRIVATE_KEY":
        return pem(orig)
    if kind == "JWT":
        h, p, s = orig.split(".", 2)
        return f"{h}.{p}.{redraw(s)}"
    if kind == "PASSWORD":
        return password(orig, subtype)
    keep = next((len(p) for p in KEEP_PREFIX if orig.startswith(p)), 0)
    if kind == "AWS_ACCESS_KEY_ID":
        return redraw_from(orig, 4, AWS_B32)
    if subtype == "age":
        return redraw_from(orig, keep, BECH_UPPER)
    if subtype == "mailchimp":
        return redraw_from(orig[:32], 0, "0123456789abcdef") + "-us" + str(rng.randrange(1, 21))
    new = redraw(orig, keep=keep)
    if kind == "OPENAI_API_KEY" and "T3BlbkFJ" in orig:
        i = orig.index("T3BlbkFJ")
        new = new[:i] + "T3BlbkFJ" + new[i + 8 :]
    if kind == "ANTHROPIC_API_KEY" and orig.endswith("AA"):
        new = new[:-2] + "AA"
    if orig.endswith("=="):
        new = new[:-2] + "=="
    if kind == "VENDOR_API_KEY" and subtype == "telegram":
        new = orig[:0] + new.split(":")[0] + ":AA" + new.split(":", 1)[1][2:]
    if kind == "GITLAB_TOKEN" and subtype == "glpat_routable":
        new = redraw(orig, keep=6)
    return new


def pem(orig):
    lines = re.split(r"(\\n|\n)", orig)
    out = []
    for ln in lines:
        if ln.startswith("-----") or ln in ("\\n", "\n") or ":" in ln or len(ln) < 8:
            out.append(ln)
        else:
            lead = len(ln) - len(ln.lstrip())
            out.append(ln[: lead + 4] + redraw(ln[lead + 4 :]))
    return "".join(out)


WORDS = ["falcon", "orange", "planet", "harbor", "garden", "coffee", "violet", "rocket", "silver",
         "meadow", "canyon", "thunder", "maple", "ocean", "winter", "tiger", "purple", "dragon"]


def password(orig, subtype):
    if subtype == "basic_auth_header":
        user = faker("en").user_name()
        pw = rng.choice(WORDS).capitalize() + str(rng.randrange(10, 9999)) + rng.choice("!?#%*")
        return base64.b64encode(f"{user}:{pw}".encode()).decode()
    if subtype == "passphrase":
        return "-".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 5))) + str(rng.randrange(1, 99))
    if subtype == "human":
        w = rng.choice(WORDS)
        w = w.capitalize() if rng.random() < 0.7 else w
        return w + rng.choice(["", "."]) + str(rng.randrange(10, 9999)) + rng.choice("!?#*$")
    alphabet = B62 + ("!#%()+=$" if any(not c.isalnum() for c in orig) else "")
    return "".join(rng.choice(alphabet) for _ in orig)


# ---------------------------------------------------------------- samples


def new_value(orig, span, lang):
    t, sub = span["type"], span.get("subtype")
    if t == "PERSON":
        return person(orig, sub or lang)
    if t == "STREET_ADDRESS":
        return address(orig, sub or lang)
    if t == "PHONE":
        return phone(orig, sub or "US")
    if t == "DATE_OF_BIRTH":
        return dob(orig, lang)
    if t == "EMAIL":
        return email(orig, sub)
    if t == "US_SSN":
        return ssn(orig)
    if t == "CREDIT_CARD":
        return card(orig)
    if t == "IBAN":
        return iban(orig)
    if t == "IP_ADDRESS":
        return ip(orig, sub)
    if t == "MAC_ADDRESS":
        return mac(orig)
    if t == "NATIONAL_ID":
        return national_id(orig, sub)
    if t == "CRYPTO_WALLET":
        return wallet(orig, sub)
    return secret(orig, t, sub)


HEXID = re.compile(r"(?<![0-9A-Za-z])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,}(?![0-9A-Za-z])")


def redraw_sample(r, idx):
    text = r["text"].encode()
    spans = sorted(r["spans"], key=lambda s: s["start"])
    lang = r["meta"]["lang"]
    out, new_spans, pos = [], [], 0
    seen = {}
    for sp in spans:
        orig = text[sp["start"] : sp["end"]].decode()
        gap = text[pos : sp["start"]].decode()
        if not spans or r["spans"] == []:
            pass
        out.append(gap)
        key = (sp["type"], orig)
        if key not in seen:
            seen[key] = new_value(orig, sp, lang)
        val = seen[key]
        start = len("".join(out).encode())
        out.append(val)
        ns = dict(sp)
        ns["start"], ns["end"] = start, start + len(val.encode())
        new_spans.append(ns)
        pos = sp["end"]
    out.append(text[pos:].decode())
    new_text = "".join(out)
    if not spans:
        new_text = HEXID.sub(lambda m: redraw(m.group(0), hexonly=True), new_text)
    meta = dict(r["meta"])
    meta["source"] = meta["source"] if meta["source"] != "synthetic" else "synthetic-resampled"
    return {"id": f"h{idx:05d}", "text": new_text, "spans": new_spans, "meta": meta}


def main():
    rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8") if line.strip()]
    rng.shuffle(rows)
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else len(rows)
    for i, r in enumerate(rows[:limit]):
        s = redraw_sample(r, i + 1)
        b = s["text"].encode()
        for sp in s["spans"]:
            assert b[sp["start"] : sp["end"]].decode(), sp
        print(json.dumps(s, ensure_ascii=False))


if __name__ == "__main__":
    main()

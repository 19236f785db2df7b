#!/usr/bin/env python3
"""Generate the `shapes` evaluation set: realistic tool-output shapes listed in SHAPES.md.

    python3 generate.py --seed 101 --n 1500 --prefix a -o shapes-a.jsonl

Deterministic for a given seed and package versions (Faker, phonenumbers; see README.md).
Every sample is built from parts: literal text and labelled values; byte offsets are computed from the
UTF-8 encoding of the assembled text, so spans cover exactly the labelled value as it appears in the text
(escaped form inside JSON, base64 / percent-encoded form for wrapped secrets).
"""
import os
import sys

if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":
    # Faker builds some word lists from sets (e.g. it_IT cities): fix hash randomisation so that a seed gives
    # byte-identical output on every run.
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import argparse
import base64
import datetime as dt
import hashlib
import ipaddress
import json
import random
import re
import string
import unicodedata
import urllib.parse
import zlib

import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberFormat as PNF

# ---------------------------------------------------------------------------------------------------------
# span builder
# ---------------------------------------------------------------------------------------------------------


class L:
    """A labelled value: text as it appears in the output, taxonomy type, optional subtype."""
    __slots__ = ("value", "type", "sub")

    def __init__(self, value, type_, sub=None):
        assert value, "empty labelled value"
        self.value, self.type, self.sub = value, type_, sub


class Cat:
    """A string made of literal and labelled parts (e.g. 'DB_PASSWORD=' + L(pw))."""
    __slots__ = ("parts",)

    def __init__(self, *parts):
        self.parts = parts


TOK = re.compile(r"«(\w+)»")


class Doc:
    def __init__(self, context, lang="en"):
        self.parts = []
        self.context, self.lang = context, lang
        self.tags = set()
        self.prose = False
        self.shape = None

    # literal text
    def add(self, s):
        if s:
            self.parts.append((s, None, None))
        return self

    def lab(self, value, type_, sub=None):
        assert value
        self.parts.append((value, type_, sub))
        return self

    def put(self, x):
        if x is None:
            return self
        if isinstance(x, str):
            return self.add(x)
        if isinstance(x, L):
            return self.lab(x.value, x.type, x.sub)
        if isinstance(x, Cat):
            for p in x.parts:
                self.put(p)
            return self
        if isinstance(x, (list, tuple)):
            for p in x:
                self.put(p)
            return self
        raise TypeError(type(x))

    def t(self, tpl, **kw):
        """Append a template; «name» is replaced by kw[name] (str, L, Cat or list)."""
        pos = 0
        for m in TOK.finditer(tpl):
            self.add(tpl[pos:m.start()])
            self.put(kw[m.group(1)])
            pos = m.end()
        self.add(tpl[pos:])
        return self

    def nspans(self):
        return sum(1 for p in self.parts if p[1])

    def build(self):
        text, spans, off = [], [], 0
        for s, ty, sub in self.parts:
            n = len(s.encode("utf-8"))
            if ty:
                sp = {"start": off, "end": off + n, "type": ty}
                if sub:
                    sp["subtype"] = sub
                spans.append(sp)
            text.append(s)
            off += n
        return "".join(text), spans


def plain(x):
    """Plain text of a str / L / Cat / list."""
    if isinstance(x, str):
        return x
    if isinstance(x, L):
        return x.value
    if isinstance(x, Cat):
        return "".join(plain(p) for p in x.parts)
    if isinstance(x, (list, tuple)):
        return "".join(plain(p) for p in x)
    raise TypeError(type(x))


def jesc(s, ensure_ascii=False):
    return json.dumps(s, ensure_ascii=ensure_ascii)[1:-1]


def jput(doc, x, ensure_ascii=False):
    """Put a JSON string (with quotes) whose content may hold labelled parts."""
    doc.add('"')
    _jstr(doc, x, ensure_ascii)
    doc.add('"')


def _jstr(doc, x, ensure_ascii):
    if isinstance(x, str):
        doc.add(jesc(x, ensure_ascii))
    elif isinstance(x, L):
        e = jesc(x.value, ensure_ascii)
        if "\\u" in e:
            doc.tags.add("escaped")
        doc.lab(e, x.type, x.sub)
    elif isinstance(x, Cat):
        for p in x.parts:
            _jstr(doc, p, ensure_ascii)
    else:
        raise TypeError(type(x))


def jdump(doc, obj, indent=2, ensure_ascii=False, level=0, compact=False):
    """json.dumps into doc, with L / Cat leaves labelled. compact=True -> separators (',', ':')."""
    sp = "" if compact else " "
    unit = indent if isinstance(indent, str) else " " * (indent or 0)
    if isinstance(obj, dict):
        if not obj:
            doc.add("{}")
            return
        doc.add("{")
        items = list(obj.items())
        for i, (k, v) in enumerate(items):
            if indent:
                doc.add("\n" + unit * (level + 1))
            doc.add(json.dumps(k, ensure_ascii=ensure_ascii) + ":" + sp)
            jdump(doc, v, indent, ensure_ascii, level + 1, compact)
            if i < len(items) - 1:
                doc.add("," + ("" if indent or compact else " "))
        if indent:
            doc.add("\n" + unit * level)
        doc.add("}")
    elif isinstance(obj, list):
        if not obj:
            doc.add("[]")
            return
        doc.add("[")
        for i, v in enumerate(obj):
            if indent:
                doc.add("\n" + unit * (level + 1))
            jdump(doc, v, indent, ensure_ascii, level + 1, compact)
            if i < len(obj) - 1:
                doc.add("," + ("" if indent or compact else " "))
        if indent:
            doc.add("\n" + unit * level)
        doc.add("]")
    elif isinstance(obj, (str, L, Cat)):
        jput(doc, obj, ensure_ascii)
    elif obj is None or isinstance(obj, (bool, int, float)):
        doc.add(json.dumps(obj))
    else:
        raise TypeError(type(obj))


# ---------------------------------------------------------------------------------------------------------
# alphabets, small helpers
# ---------------------------------------------------------------------------------------------------------

DIG = string.digits
UP = string.ascii_uppercase
LOW = string.ascii_lowercase
ALNUM = DIG + UP + LOW
B62 = DIG + UP + LOW
HEX = "0123456789abcdef"
B64 = UP + LOW + DIG + "+/"
B64URL = UP + LOW + DIG + "-_"


def rs(rng, alpha, n):
    return "".join(rng.choice(alpha) for _ in range(n))


def b62(n):
    s = ""
    while n:
        n, r = divmod(n, 62)
        s = B62[r] + s
    return s or "0"


def b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode()


def b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def pct(s):
    return urllib.parse.quote(s, safe="")


def ascii_fold(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    s = s.replace("ß", "ss").replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("ł", "l").replace("Ł", "L")
    s = s.replace("đ", "d").replace("Đ", "D").replace("ı", "i")
    return s


def sha1hex(rng):
    return rs(rng, HEX, 40)


def uuid4(rng):
    h = rs(rng, HEX, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{rng.choice('89ab')}{h[17:20]}-{h[20:32]}"


def rdate(rng, y0=2022, y1=2025):
    start = dt.datetime(y0, 1, 1)
    end = dt.datetime(y1, 12, 31)
    return start + dt.timedelta(seconds=rng.randrange(int((end - start).total_seconds())))


def ts_iso(rng, frac=False):
    d = rdate(rng)
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        s += ".%03d" % rng.randrange(1000)
    return s + "Z"


def git_date(d, tz="+0100"):
    return d.strftime("%a %b ") + str(d.day) + d.strftime(" %H:%M:%S %Y ") + tz


def rfc2822(d, tz="+0100"):
    return d.strftime("%a, %d %b %Y %H:%M:%S ") + tz


# ---------------------------------------------------------------------------------------------------------
# validators / checksummed PII
# ---------------------------------------------------------------------------------------------------------


def luhn_ok(num):
    digits = [int(c) for c in num if c.isdigit()]
    s = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        s += d
    return s % 10 == 0


def luhn_complete(partial):
    for d in DIG:
        if luhn_ok(partial + d):
            return partial + d
    raise AssertionError


CARD_BRANDS = [  # (subtype, prefixes, length, grouping)
    ("visa", ["4"], 16, (4, 4, 4, 4)),
    ("mastercard", ["51", "52", "53", "54", "55", "2221", "2300", "2500", "2720"], 16, (4, 4, 4, 4)),
    ("amex", ["34", "37"], 15, (4, 6, 5)),
    ("discover", ["6011", "65", "644"], 16, (4, 4, 4, 4)),
    ("jcb", ["3528", "3540", "3589"], 16, (4, 4, 4, 4)),
    ("diners", ["36", "38"], 14, (4, 6, 4)),
    ("unionpay", ["62"], 16, (4, 4, 4, 4)),
    ("maestro", ["6759", "5018"], 16, (4, 4, 4, 4)),
]


def credit_card(rng, brand=None, sep=None):
    b = rng.choice(CARD_BRANDS) if brand is None else [x for x in CARD_BRANDS if x[0] == brand][0]
    sub, prefixes, n, grp = b
    p = rng.choice(prefixes)
    num = luhn_complete(p + rs(rng, DIG, n - len(p) - 1))
    if sep is None:
        sep = rng.choice(["", " ", " ", "-"])
    if sep:
        out, i = [], 0
        for g in grp:
            out.append(num[i:i + g])
            i += g
        num = sep.join(out)
    return num, sub


def luhn_invalid_card(rng):
    num, _ = credit_card(rng, sep="")
    last = int(num[-1])
    return num[:-1] + str((last + rng.randint(1, 9)) % 10)


IBAN_SPEC = {  # country: BBAN pattern (n digit, a upper letter, c upper alnum)
    "DE": "n" * 18, "GB": "aaaa" + "n" * 14, "FR": "n" * 10 + "c" * 11 + "nn", "ES": "n" * 20,
    "IT": "a" + "n" * 10 + "c" * 12, "NL": "aaaa" + "n" * 10, "BE": "n" * 12, "AT": "n" * 16, "CH": "n" * 5 + "c" * 12,
    "PL": "n" * 24, "PT": "n" * 21, "SE": "n" * 20, "DK": "n" * 14, "FI": "n" * 14, "NO": "n" * 11,
    "IE": "aaaa" + "n" * 14, "CZ": "n" * 20, "HU": "n" * 24, "RO": "aaaa" + "c" * 16, "LU": "nnn" + "c" * 13,
    "BR": "n" * 23 + "a" + "c", "GR": "n" * 7 + "c" * 16, "SK": "n" * 20, "HR": "n" * 17, "SI": "n" * 15,
    "LT": "n" * 16, "EE": "n" * 16, "TR": "n" * 5 + "0" + "c" * 16, "SA": "nn" + "c" * 18, "AE": "n" * 19,
}


def iban_check(country, bban):
    s = bban + country + "00"
    num = "".join(str(int(c, 36)) for c in s)
    return "%02d" % (98 - int(num) % 97)


def iban_ok(s):
    s = s.replace(" ", "")
    r = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in r)) % 97 == 1 and len(s) == 4 + len(IBAN_SPEC[s[:2]])


def iban(rng, country=None, printed=None):
    country = country or rng.choice(list(IBAN_SPEC))
    bban = ""
    for c in IBAN_SPEC[country]:
        bban += rng.choice(DIG) if c == "n" else rng.choice(UP) if c == "a" else rng.choice(UP + DIG) if c == "c" else c
    s = country + iban_check(country, bban) + bban
    assert iban_ok(s)
    if printed is None:
        printed = rng.random() < 0.5
    if printed:
        s = " ".join(s[i:i + 4] for i in range(0, len(s), 4))
    return s


def bad_iban(rng):
    s = iban(rng, printed=False)
    while True:
        c = "%02d" % rng.randint(2, 98)
        t = s[:2] + c + s[4:]
        if not iban_ok(t):
            return t


def ssn(rng, sep="-"):
    while True:
        a = rng.randint(1, 899)
        if a == 666:
            continue
        g, s = rng.randint(1, 99), rng.randint(1, 9999)
        v = f"{a:03d}{sep}{g:02d}{sep}{s:04d}"
        if v.replace(sep, "") in ("078051120", "123456789"):
            continue
        return v


def verhoeff_digit(num):
    d = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
         [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
         [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
         [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
    p = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
         [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
         [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]
    inv = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]
    c = 0
    for i, ch in enumerate(reversed(num)):
        c = d[c][p[(i + 1) % 8][int(ch)]]
    return str(inv[c])


def national_id(rng, kind=None):
    """Returns (value, subtype)."""
    kind = kind or rng.choice(["uk_nino", "uk_nhs", "ca_sin", "es_dni", "es_nie", "br_cpf", "in_aadhaar", "nl_bsn"])
    if kind == "uk_nino":
        while True:
            a, b = rng.choice("ABCEGHJKLMNOPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ")
            if a + b not in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
                break
        d = rs(rng, DIG, 6)
        v = f"{a}{b}{d}{rng.choice('ABCD')}"
        if rng.random() < 0.5:
            v = f"{a}{b} {d[:2]} {d[2:4]} {d[4:]} {v[-1]}"
        return v, kind
    if kind == "uk_nhs":
        while True:
            d = [rng.randint(0, 9) for _ in range(9)]
            d[0] = rng.randint(4, 6)
            c = 11 - sum(x * (10 - i) for i, x in enumerate(d)) % 11
            c = 0 if c == 11 else c
            if c != 10:
                s = "".join(map(str, d)) + str(c)
                return f"{s[:3]} {s[3:6]} {s[6:]}", kind
    if kind == "ca_sin":
        s = luhn_complete(str(rng.choice([1, 2, 3, 4, 5, 6, 7, 9])) + rs(rng, DIG, 7))
        return f"{s[:3]} {s[3:6]} {s[6:]}", kind
    if kind == "es_dni":
        n = rng.randint(10000000, 99999999)
        return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}", kind
    if kind == "es_nie":
        p = rng.randint(0, 2)
        n = rng.randint(0, 9999999)
        return f"{'XYZ'[p]}{n:07d}{'TRWAGMYFPDXBNJZSQVHLCKE'[(p * 10000000 + n) % 23]}", kind
    if kind == "br_cpf":
        while True:
            d = [rng.randint(0, 9) for _ in range(9)]
            if len(set(d)) > 1:
                break
        for k in (10, 11):
            s = sum(x * (k - i) for i, x in enumerate(d)) % 11
            d.append(0 if s < 2 else 11 - s)
        s = "".join(map(str, d))
        return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}", kind
    if kind == "in_aadhaar":
        s = str(rng.randint(2, 9)) + rs(rng, DIG, 10)
        s += verhoeff_digit(s)
        return f"{s[:4]} {s[4:8]} {s[8:]}", kind
    if kind == "nl_bsn":
        while True:
            d = [rng.randint(0, 9) for _ in range(8)]
            t = sum(x * (9 - i) for i, x in enumerate(d))
            for last in range(10):
                if (t - last) % 11 == 0 and d[0] != 0:
                    return "".join(map(str, d)) + str(last), kind
    raise ValueError(kind)


def public_ipv4(rng):
    while True:
        a = ipaddress.IPv4Address(rng.getrandbits(32))
        if a.is_global and not a.is_multicast and not a.is_reserved and str(a).split(".")[0] not in ("0", "255"):
            return str(a)


def public_ipv6(rng):
    while True:
        pre = rng.choice([0x2a00, 0x2a01, 0x2a02, 0x2600, 0x2604, 0x2607, 0x2001, 0x2400, 0x2800, 0x2c0f, 0x2403])
        groups = [pre] + [rng.getrandbits(16) for _ in range(7)]
        if rng.random() < 0.5:
            groups[4:7] = [0, 0, 0]
        a = ipaddress.IPv6Address(":".join("%x" % g for g in groups))
        if a.is_global:
            return str(a)


def private_ipv4(rng):
    k = rng.randrange(5)
    if k == 0:
        return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if k == 1:
        return f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if k == 2:
        return f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if k == 3:
        return f"100.{rng.randint(64, 127)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return f"127.0.0.{rng.randint(1, 9)}"


def mac(rng, style=None):
    b = [rng.getrandbits(8) for _ in range(6)]
    b[0] &= 0xFC  # unicast, globally administered
    style = style or rng.choice([":", ":", "-", "."])
    if style == ".":
        h = "".join("%02x" % x for x in b)
        return f"{h[:4]}.{h[4:8]}.{h[8:]}"
    up = rng.random() < 0.3
    return style.join(("%02X" if up else "%02x") % x for x in b)


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58check(payload):
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    s = ""
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + s


BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _bech32_polymod(values):
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def bech32_addr(prog):
    hrp = "bc"
    acc, bits, data = 0, 0, [0]
    for b in prog:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hv = [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]
    pm = _bech32_polymod(hv + data + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in data + chk)


def crypto_wallet(rng, kind=None):
    kind = kind or rng.choice(["btc_p2pkh", "btc_p2sh", "btc_bech32", "eth", "eth"])
    raw = bytes(rng.getrandbits(8) for _ in range(20))
    if kind == "btc_p2pkh":
        return b58check(b"\x00" + raw), kind
    if kind == "btc_p2sh":
        return b58check(b"\x05" + raw), kind
    if kind == "btc_bech32":
        return bech32_addr(raw), kind
    return "0x" + raw.hex(), kind


# ---------------------------------------------------------------------------------------------------------
# phones
# ---------------------------------------------------------------------------------------------------------

PHONE_REGIONS = ["US", "CA", "GB", "DE", "FR", "ES", "IT", "BR", "NL", "PL", "TR", "RU", "GR", "IL", "SA", "IN", "JP",
                 "CN", "KR", "VN", "AU", "CH", "MX", "ZA", "SG", "NZ", "AR", "CL", "CO", "NG", "KE", "EG", "PH", "ID",
                 "TH", "SE", "NO", "DK", "FI", "IE", "PT", "AT", "BE", "CZ", "HU", "RO", "UA", "PE", "MY", "AE", "PK",
                 "BD", "MA", "HK", "TW", "LU", "HR", "SK"]


def phone_number(rng, region, mobile=None):
    """A random number valid for region (phonenumbers.is_valid_number)."""
    types = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
    if mobile is True:
        types = types[:1]
    elif mobile is False:
        types = types[1:]
    for _ in range(400):
        ty = rng.choice(types)
        ex = phonenumbers.example_number_for_type(region, ty)
        if ex is None:
            continue
        nsn = phonenumbers.national_significant_number(ex)
        keep = rng.randint(1, min(3, len(nsn) - 4))
        cand = nsn[:keep] + rs(rng, DIG, len(nsn) - keep)
        try:
            pn = phonenumbers.parse("+%d%s" % (ex.country_code, cand))
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(pn) and phonenumbers.region_code_for_number(pn) == region:
            return pn
    raise RuntimeError("no valid number for " + region)


def fmt_phone(rng, pn, style=None):
    """Format; returns a string that still parses as valid for its region."""
    region = phonenumbers.region_code_for_number(pn)
    style = style or rng.choice(["intl", "intl", "national", "e164", "intl_dash", "national_dot"])
    if style == "intl":
        s = phonenumbers.format_number(pn, PNF.INTERNATIONAL)
    elif style == "national":
        s = phonenumbers.format_number(pn, PNF.NATIONAL)
    elif style == "e164":
        s = phonenumbers.format_number(pn, PNF.E164)
    elif style == "intl_dash":
        s = phonenumbers.format_number(pn, PNF.INTERNATIONAL).replace(" ", "-")
    elif style == "national_dot":
        s = phonenumbers.format_number(pn, PNF.NATIONAL)
        if region in ("US", "CA"):
            d = phonenumbers.national_significant_number(pn)
            s = f"{d[:3]}.{d[3:6]}.{d[6:]}"
        elif region in ("FR", "BE", "LU", "CH", "MA") and re.fullmatch(r"[0-9 ]+", s):
            s = s.replace(" ", ".")
    elif style == "rfc3966":
        s = phonenumbers.format_number(pn, PNF.RFC3966)[4:]
    else:
        raise ValueError(style)
    s = s.strip()
    chk = phonenumbers.parse(s, region)
    assert phonenumbers.is_valid_number(chk), (s, region)
    return s


def phone(rng, region, style=None, mobile=None):
    pn = phone_number(rng, region, mobile)
    return L(fmt_phone(rng, pn, style), "PHONE", region)


# ---------------------------------------------------------------------------------------------------------
# secrets (fresh random values in the vendors' published shapes)
# ---------------------------------------------------------------------------------------------------------

WORDS = ["river", "copper", "lantern", "orbit", "maple", "falcon", "harbor", "velvet", "thunder", "pixel", "cobalt",
         "meadow", "saffron", "glacier", "ember", "willow", "quartz", "canyon", "breeze", "marble", "nimbus", "tango",
         "violet", "walnut", "zephyr", "anchor", "bison", "cactus", "delta", "fjord", "granite", "hazel", "juniper"]
PW_WORDS = ["Winter", "Summer", "Spring", "Autumn", "Sommer", "Herbst", "Dragon", "Monkey", "Soleil", "Mariposa",
            "Sakura", "Tiger", "Falcon", "Bailey", "Chelsea", "Liverpool", "Barcelona", "Flamengo", "Chocolate",
            "Sunshine", "Shadow", "Galaxy", "Phoenix", "Rosebud", "Mustang", "Corazon", "Saudade", "Tsubasa"]
PW_SYM = "!@#$%*-_+.?"


def password(rng, kind=None, safe=False):
    """Returns (value, subtype). safe=True avoids characters that need quoting in shell/.env ('#', '$')."""
    kind = kind or rng.choice(["human", "human", "random", "random", "passphrase"])
    sym = "!@%*-_+.?" if safe else PW_SYM
    if kind == "human":
        w = rng.choice(PW_WORDS)
        if rng.random() < 0.3:
            w = w.replace("a", "@").replace("o", "0") if rng.random() < 0.5 else w.lower()
        v = w + str(rng.choice([rng.randint(1, 99), rng.randint(1970, 2025)])) + rng.choice(sym)
        if rng.random() < 0.4:
            v = rng.choice(sym) + v
    elif kind == "random":
        n = rng.randint(14, 28)
        while True:
            v = rs(rng, ALNUM + sym, n)
            if any(c in sym for c in v) and any(c.isdigit() for c in v):
                break
    else:
        v = rng.choice("-_.") .join(rng.sample(WORDS, rng.randint(3, 4)))
        if rng.random() < 0.5:
            v += str(rng.randint(1, 99))
    return v, kind


def aws_akid(rng, prefix="AKIA"):
    return prefix + rs(rng, UP + "234567", 16)


def aws_secret(rng):
    return rs(rng, ALNUM + "/+", 40)


def aws_session_token(rng):
    return "IQoJb3JpZ2luX2Vj" + rs(rng, B64, rng.randint(280, 640)) + rng.choice(["", "=", "=="])[:0]


def gh_token(rng, prefix=None):
    prefix = prefix or rng.choice(["ghp", "ghp", "gho", "ghu", "ghs", "ghr"])
    body = rs(rng, B62, 30)
    cs = b62(zlib.crc32(body.encode())).rjust(6, "0")
    return f"{prefix}_{body}{cs}", prefix


def gh_fine_grained(rng):
    return "github_pat_11" + rs(rng, UP + DIG, 20) + "_" + rs(rng, ALNUM, 59), "github_pat"


def gh_any(rng):
    return gh_fine_grained(rng) if rng.random() < 0.25 else gh_token(rng)


def gh_token_ok(tok):
    m = re.fullmatch(r"(gh[pousr]|npm)_([A-Za-z0-9]{30})([A-Za-z0-9]{6})", tok)
    return bool(m) and b62(zlib.crc32(m.group(2).encode())).rjust(6, "0") == m.group(3)


def gitlab_token(rng):
    k = rng.choice(["glpat", "glpat", "glpat_routable", "gldt", "glrt", "glptt"])
    if k == "glpat":
        return "glpat-" + rs(rng, ALNUM + "-_", 20), k
    if k == "glpat_routable":
        return "glpat-" + rs(rng, ALNUM + "-_", 27) + "." + rs(rng, LOW + DIG, 2) + "." + rs(rng, LOW + DIG, 9), "glpat"
    if k == "glptt":
        return "glptt-" + rs(rng, HEX, 40), k
    return f"{k}-" + rs(rng, ALNUM + "-_", 20), k


def slack_token(rng, kind=None):
    k = kind or rng.choice(["xoxb", "xoxb", "xoxp", "xapp", "webhook"])
    if k == "xoxb":
        return f"xoxb-{rs(rng, DIG, 11)}-{rs(rng, DIG, 13)}-{rs(rng, ALNUM, 24)}", k
    if k == "xoxp":
        return f"xoxp-{rs(rng, DIG, 11)}-{rs(rng, DIG, 11)}-{rs(rng, DIG, 13)}-{rs(rng, HEX, 32)}", k
    if k == "xapp":
        return f"xapp-1-A{rs(rng, UP + DIG, 10)}-{rs(rng, DIG, 13)}-{rs(rng, HEX, 64)}", k
    return (f"https://hooks.slack.com/services/T{rs(rng, UP + DIG, 10)}/B{rs(rng, UP + DIG, 10)}/"
            f"{rs(rng, ALNUM, 24)}"), k


def stripe_key(rng):
    k = rng.choice(["sk_live", "sk_live", "rk_live", "sk_test", "whsec"])
    if k == "whsec":
        return "whsec_" + rs(rng, ALNUM, 32), k
    return f"{k}_51" + rs(rng, ALNUM, rng.choice([22, 97])), k


def openai_key(rng):
    k = rng.choice(["proj", "proj", "svcacct", "legacy"])
    if k == "legacy":
        return "sk-" + rs(rng, ALNUM, 20) + "T3BlbkFJ" + rs(rng, ALNUM, 20), k
    pre = "sk-proj-" if k == "proj" else "sk-svcacct-"
    return pre + rs(rng, ALNUM + "-_", 74) + "T3BlbkFJ" + rs(rng, ALNUM + "-_", 74), k


def anthropic_key(rng):
    if rng.random() < 0.15:
        return "sk-ant-admin01-" + rs(rng, ALNUM + "-_", 93) + "AA", "admin"
    return "sk-ant-api03-" + rs(rng, ALNUM + "-_", 93) + "AA", "api03"


def google_key(rng):
    return "AIza" + rs(rng, ALNUM + "-_", 35)


def vendor_key(rng, vendor=None):
    v = vendor or rng.choice(["npm", "pypi", "huggingface", "sendgrid", "twilio", "shopify", "digitalocean", "telegram",
                              "mailchimp", "azure_storage", "vault", "age", "databricks", "linear", "postman", "square",
                              "doppler", "grafana", "dockerhub", "newrelic", "sentry"])
    if v == "npm":
        body = rs(rng, B62, 30)
        return "npm_" + body + b62(zlib.crc32(body.encode())).rjust(6, "0"), v
    if v == "pypi":
        return "pypi-AgEIcHlwaS5vcmc" + rs(rng, B64URL, rng.randint(150, 190)), v
    if v == "huggingface":
        return "hf_" + rs(rng, UP + LOW, 34), v
    if v == "sendgrid":
        return "SG." + rs(rng, B64URL, 22) + "." + rs(rng, B64URL, 43), v
    if v == "twilio":
        return "SK" + rs(rng, HEX, 32), v
    if v == "shopify":
        return rng.choice(["shpat_", "shpss_", "shpca_"]) + rs(rng, HEX, 32), v
    if v == "digitalocean":
        return rng.choice(["dop_v1_", "doo_v1_"]) + rs(rng, HEX, 64), v
    if v == "telegram":
        return f"{rng.randint(100000000, 7999999999)}:AA{rs(rng, B64URL, 33)}", v
    if v == "mailchimp":
        return rs(rng, HEX, 32) + f"-us{rng.randint(1, 21)}", v
    if v == "azure_storage":
        return rs(rng, B64, 86) + "==", v
    if v == "vault":
        return "hvs." + rs(rng, B64URL, rng.choice([24, 90])), v
    if v == "age":
        return "AGE-SECRET-KEY-1" + rs(rng, BECH.upper(), 58), v
    if v == "databricks":
        return "dapi" + rs(rng, HEX, 32), v
    if v == "linear":
        return "lin_api_" + rs(rng, ALNUM, 40), v
    if v == "postman":
        return f"PMAK-{rs(rng, HEX, 24)}-{rs(rng, HEX, 34)}", v
    if v == "square":
        return "EAAA" + rs(rng, B64URL, 60), v
    if v == "doppler":
        return "dp.st." + rs(rng, ALNUM, 40), v
    if v == "grafana":
        return f"glsa_{rs(rng, ALNUM, 32)}_{rs(rng, HEX, 8)}", v
    if v == "dockerhub":
        return "dckr_pat_" + rs(rng, B64URL, 27), v
    if v == "newrelic":
        return "NRAK-" + rs(rng, UP + DIG, 27), v
    if v == "sentry":
        return "sntrys_" + b64url(json.dumps({"iat": rng.randint(1.6e9, 1.75e9), "url": "https://sentry.io",
                                              "org": rs(rng, LOW, 8)})) + "_" + rs(rng, B64URL, 43), v
    raise ValueError(v)


def generic_secret(rng, kind=None):
    k = kind or rng.choice(["hex32", "hex64", "base64", "alnum", "django"])
    if k == "hex32":
        return rs(rng, HEX, 32), k
    if k == "hex40":
        return rs(rng, HEX, 40), k
    if k == "hex64":
        return rs(rng, HEX, 64), k
    if k == "base64":
        return b64(bytes(rng.getrandbits(8) for _ in range(rng.choice([24, 32, 48])))), k
    if k == "alnum":
        return rs(rng, ALNUM, rng.randint(24, 48)), k
    if k == "django":
        return "django-insecure-" + rs(rng, LOW + DIG + "!@#$%^&*(-_=+)", 50) if rng.random() < 0.3 else \
            rs(rng, LOW + DIG + "!@#$%^&*(-_=+)", 50), k
    if k == "b64url":
        return rs(rng, B64URL, rng.randint(32, 64)), k
    if k == "ya29":
        return "ya29.a0A" + rs(rng, B64URL, rng.randint(160, 220)), k
    if k == "azure_client_secret":
        return rs(rng, ALNUM, 3) + rng.choice("78") + "Q~" + rs(rng, ALNUM + "._-~", 34), k
    if k == "session":
        return rs(rng, LOW + DIG, 32), k
    raise ValueError(k)


def jwt(rng, alg=None, claims=None):
    alg = alg or rng.choice(["HS256", "RS256", "RS256", "ES256"])
    hdr = {"alg": alg, "typ": "JWT"}
    if alg != "HS256" and rng.random() < 0.6:
        hdr["kid"] = rs(rng, B64URL, 27)
    iat = rng.randint(1_690_000_000, 1_760_000_000)
    body = claims or {"sub": str(rng.choice([uuid4(rng), rng.randint(1000, 999999)])), "iat": iat,
                      "exp": iat + rng.choice([300, 900, 3600, 86400])}
    if not claims and rng.random() < 0.5:
        body["iss"] = rng.choice(["https://auth.example-app.io/", "https://login.microsoftonline.com/" + uuid4(rng)
                                  + "/v2.0", "https://accounts.google.com", "kubernetes/serviceaccount"])
    if not claims and rng.random() < 0.4:
        body["scope"] = rng.choice(["read:users write:users", "openid profile email", "repo admin:org"])
    siglen = {"HS256": 32, "RS256": 256, "ES256": 64}[alg]
    sig = bytes(rng.getrandbits(8) for _ in range(siglen))
    return f"{b64url(json.dumps(hdr, separators=(',', ':')))}.{b64url(json.dumps(body, separators=(',', ':')))}." \
           f"{b64url(sig)}", alg


def k8s_sa_jwt(rng, ns="default", sa="default"):
    iat = rng.randint(1_690_000_000, 1_760_000_000)
    claims = {"aud": ["https://kubernetes.default.svc.cluster.local"], "exp": iat + 31536000, "iat": iat,
              "iss": "https://kubernetes.default.svc.cluster.local",
              "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": sa, "uid": uuid4(rng)}},
              "sub": f"system:serviceaccount:{ns}:{sa}"}
    return jwt(rng, "RS256", claims)[0]


def _der_len(n):
    if n < 128:
        return bytes([n])
    if n < 256:
        return bytes([0x81, n])
    return bytes([0x82, n >> 8, n & 0xFF])


def _rb(rng, n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def pem_private_key(rng, kind=None):
    """Returns (pem_text, subtype). DER / openssh prefixes are structurally right; key material is random."""
    kind = kind or rng.choice(["rsa", "pkcs8", "ec", "ec", "openssh", "openssh", "encrypted"])
    if kind == "rsa":
        der = bytes.fromhex("308204a40201000282010100") + _rb(rng, 1180)
        label = "RSA PRIVATE KEY"
    elif kind == "pkcs8":
        der = bytes.fromhex("308204bd020100300d06092a864886f70d0101010500048204a7308204a30201000282010100") + \
            _rb(rng, 1190)
        label = "PRIVATE KEY"
    elif kind == "ec":
        der = bytes.fromhex("30770201010420") + _rb(rng, 32) + bytes.fromhex("a00a06082a8648ce3d030107a14403420004") + \
            _rb(rng, 64)
        label = "EC PRIVATE KEY"
    elif kind == "encrypted":
        der = bytes.fromhex("3082051c304e06092a864886f70d01050d3041302906092a864886f70d01050c301c0408") + _rb(rng, 8) + \
            bytes.fromhex("020208003014") + _rb(rng, 1250)
        label = "ENCRYPTED PRIVATE KEY"
    elif kind == "openssh":
        def sstr(b):
            return len(b).to_bytes(4, "big") + b
        pub = _rb(rng, 32)
        pubblob = sstr(b"ssh-ed25519") + sstr(pub)
        chk = _rb(rng, 4)
        comment = rng.choice([b"deploy@ci", b"", b"id_ed25519"])
        priv = chk + chk + sstr(b"ssh-ed25519") + sstr(pub) + sstr(_rb(rng, 32) + pub) + sstr(comment)
        pad = 1
        while len(priv) % 8:
            priv += bytes([pad])
            pad += 1
        der = b"openssh-key-v1\0" + sstr(b"none") + sstr(b"none") + sstr(b"") + (1).to_bytes(4, "big") + \
            sstr(pubblob) + sstr(priv)
        label = "OPENSSH PRIVATE KEY"
    else:
        raise ValueError(kind)
    body = b64(der)
    width = 70 if kind == "openssh" else 64
    lines = [body[i:i + width] for i in range(0, len(body), width)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----", kind


def pem_certificate(rng):
    der = bytes.fromhex("308203") + _rb(rng, 2) + bytes.fromhex("308202") + _rb(rng, 700)
    body = b64(der)
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(body[i:i + 64] for i in range(0, len(body), 64)) + \
        "\n-----END CERTIFICATE-----"


def ssh_pubkey(rng, comment="user@laptop"):
    blob = (11).to_bytes(4, "big") + b"ssh-ed25519" + (32).to_bytes(4, "big") + _rb(rng, 32)
    return "ssh-ed25519 " + b64(blob) + " " + comment


def any_token(rng):
    """A random credential of some vendor shape: (value, type, subtype)."""
    k = rng.choice(["gh", "gl", "slack", "stripe", "openai", "anthropic", "google", "vendor", "vendor", "generic",
                    "jwt", "aws"])
    if k == "gh":
        return gh_any(rng) + ("GITHUB_TOKEN",)
    if k == "gl":
        return gitlab_token(rng) + ("GITLAB_TOKEN",)
    if k == "slack":
        return slack_token(rng, rng.choice(["xoxb", "xoxp"])) + ("SLACK_TOKEN",)
    if k == "stripe":
        return stripe_key(rng) + ("STRIPE_KEY",)
    if k == "openai":
        return openai_key(rng) + ("OPENAI_API_KEY",)
    if k == "anthropic":
        return anthropic_key(rng) + ("ANTHROPIC_API_KEY",)
    if k == "google":
        return (google_key(rng), None, "GOOGLE_API_KEY")
    if k == "vendor":
        return vendor_key(rng) + ("VENDOR_API_KEY",)
    if k == "jwt":
        return jwt(rng) + ("JWT",)
    if k == "aws":
        return (aws_secret(rng), None, "AWS_SECRET_ACCESS_KEY")
    return generic_secret(rng) + ("GENERIC_SECRET",)


def tokL(rng, kind=None):
    """any_token as an L."""
    v, sub, ty = any_token(rng) if kind is None else kind
    return L(v, ty, sub)


def pwL(rng, kind=None, safe=False):
    v, sub = password(rng, kind, safe)
    return L(v, "PASSWORD", sub)


PLACEHOLDER_PW = ["${DB_PASSWORD}", "changeme", "<redacted>", "********", "REDACTED", "<your-password>",
                  "{{ db_password }}", "$PGPASSWORD", "xxxxxxxx", "password", "[FILTERED]", "<set-in-vault>",
                  "your_password_here", "${POSTGRES_PASSWORD}", "%(DB_PASS)s", "****", "<password>", "secret",
                  "${{ secrets.DB_PASSWORD }}", "CHANGE_ME", "example", "<hidden>"]
PLACEHOLDER_TOKEN = ["<YOUR_API_KEY>", "${API_KEY}", "your-api-key", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                     "sk-...", "xoxb-your-token", "${{ secrets.GITHUB_TOKEN }}", "<token>", "REPLACE_ME",
                     "sk_test_xxxxxxxxxxxxxxxxxxxxxxxx", "AKIAIOSFODNN7EXAMPLE", "$TOKEN", "********",
                     "{{ .Values.apiKey }}", "<redacted>", "os.environ['API_KEY']", "TODO", "null"]


def ph_pw(rng):
    return rng.choice(PLACEHOLDER_PW)


def ph_tok(rng):
    return rng.choice(PLACEHOLDER_TOKEN)


# ---------------------------------------------------------------------------------------------------------
# people (Faker) and addresses
# ---------------------------------------------------------------------------------------------------------

LOCALES = {  # locale: (country, language, has_address)
    "en_US": ("US", "en", True), "en_GB": ("GB", "en", True), "en_AU": ("AU", "en", True),
    "en_NZ": ("NZ", "en", True), "en_CA": ("CA", "en", True), "en_IE": ("IE", "en", True),
    "en_IN": ("IN", "en", True), "zu_ZA": ("ZA", "en", True), "en_NG": ("NG", "en", False),
    "en_KE": ("KE", "en", False), "en_PH": ("PH", "en", False),
    "de_DE": ("DE", "de", True), "de_AT": ("AT", "de", True), "de_CH": ("CH", "de", True),
    "fr_FR": ("FR", "fr", True), "fr_CH": ("CH", "fr", True), "fr_CA": ("CA", "fr", False),
    "es_ES": ("ES", "es", True), "es_MX": ("MX", "es", True), "es_AR": ("AR", "es", True),
    "es_CL": ("CL", "es", True), "es_CO": ("CO", "es", True),
    "pt_BR": ("BR", "pt", True), "pt_PT": ("PT", "pt", True),
    "ja_JP": ("JP", "ja", True), "hi_IN": ("IN", "hi", True),
    "it_IT": ("IT", "it", True), "nl_NL": ("NL", "nl", True), "nl_BE": ("BE", "nl", True),
    "pl_PL": ("PL", "pl", True), "sv_SE": ("SE", "sv", True), "da_DK": ("DK", "da", True),
    "fi_FI": ("FI", "fi", True), "no_NO": ("NO", "no", True), "cs_CZ": ("CZ", "cs", True),
    "hu_HU": ("HU", "hu", True), "ro_RO": ("RO", "ro", False), "uk_UA": ("UA", "uk", False),
    "el_GR": ("GR", "el", False), "tr_TR": ("TR", "tr", False), "ko_KR": ("KR", "ko", False),
    "zh_CN": ("CN", "zh", False), "id_ID": ("ID", "id", False), "th_TH": ("TH", "th", False),
    "vi_VN": ("VN", "vi", False), "he_IL": ("IL", "he", False), "ru_RU": ("RU", "ru", False),
    "ar_SA": ("SA", "ar", False),
}
LANG_LOCALES = {
    "en": ["en_US", "en_US", "en_GB", "en_GB", "en_AU", "en_NZ", "en_CA", "en_IE", "en_IN", "zu_ZA", "en_NG", "en_KE",
           "en_PH"],
    "de": ["de_DE", "de_DE", "de_DE", "de_AT", "de_CH"],
    "fr": ["fr_FR", "fr_FR", "fr_FR", "fr_CH", "fr_CA"],
    "es": ["es_ES", "es_ES", "es_MX", "es_AR", "es_CL", "es_CO"],
    "pt": ["pt_BR", "pt_BR", "pt_BR", "pt_PT"],
    "ja": ["ja_JP"],
    "hi": ["hi_IN"],
    "it": ["it_IT"], "nl": ["nl_NL", "nl_BE"], "pl": ["pl_PL"],
}
NONLATIN = {"ja", "hi", "uk", "el", "ko", "zh", "th", "he", "ru", "ar"}
COUNTRY_EN = {"US": "United States", "GB": "United Kingdom", "AU": "Australia", "NZ": "New Zealand", "CA": "Canada",
              "IE": "Ireland", "IN": "India", "ZA": "South Africa", "DE": "Germany", "AT": "Austria",
              "CH": "Switzerland", "FR": "France", "ES": "Spain", "MX": "Mexico", "AR": "Argentina", "CL": "Chile",
              "CO": "Colombia", "BR": "Brazil", "PT": "Portugal", "JP": "Japan", "IT": "Italy", "NL": "Netherlands",
              "BE": "Belgium", "PL": "Poland", "SE": "Sweden", "DK": "Denmark", "FI": "Finland", "NO": "Norway",
              "CZ": "Czech Republic", "HU": "Hungary"}
COUNTRY_LOCAL = {"DE": "Deutschland", "AT": "Österreich", "CH": "Schweiz", "FR": "France", "ES": "España",
                 "MX": "México", "BR": "Brasil", "PT": "Portugal", "JP": "日本", "IN": "भारत", "IT": "Italia",
                 "NL": "Nederland", "BE": "België", "PL": "Polska"}

HI_STREETS = ["महात्मा गांधी मार्ग", "स्टेशन रोड", "नेहरू रोड", "तिलक मार्ग", "पटेल मार्ग", "सुभाष मार्ग", "मॉल रोड",
              "कॉलेज रोड", "अस्पताल रोड", "गोखले मार्ग", "राजपथ", "शिवाजी मार्ग"]
HI_LOCALITIES = ["गांधी नगर", "लाजपत नगर", "मालवीय नगर", "राजेंद्र नगर", "शास्त्री नगर", "सिविल लाइंस", "कमला नगर",
                 "अशोक विहार", "इंदिरा कॉलोनी", "विकास पुरी", "गोमती नगर", "आदर्श नगर", "जवाहर नगर", "साकेत",
                 "करोल बाग", "अरेरा कॉलोनी", "विजय नगर", "पंचशील एन्क्लेव"]
HI_CITIES = [("नई दिल्ली", "110"), ("जयपुर", "302"), ("लखनऊ", "226"), ("पटना", "800"), ("भोपाल", "462"),
             ("इंदौर", "452"), ("वाराणसी", "221"), ("कानपुर", "208"), ("पुणे", "411"), ("नागपुर", "440"),
             ("चंडीगढ़", "160"), ("अहमदाबाद", "380"), ("मुंबई", "400"), ("देहरादून", "248"), ("आगरा", "282"),
             ("रायपुर", "492"), ("रांची", "834"), ("गुरुग्राम", "122")]
EN_IN_CITIES = [("New Delhi", "110"), ("Jaipur", "302"), ("Lucknow", "226"), ("Pune", "411"), ("Bengaluru", "560"),
                ("Chennai", "600"), ("Hyderabad", "500"), ("Kolkata", "700"), ("Mumbai", "400"), ("Ahmedabad", "380")]


class Ctx:
    """Per-run random state: one RNG and one seeded Faker per locale."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)
        self._fk = {}

    def fk(self, loc):
        if loc not in self._fk:
            f = Faker(loc)
            f.seed_instance(self.seed * 1000 + zlib.crc32(loc.encode()) % 1000)
            self._fk[loc] = f
        return self._fk[loc]


def _try(f, *names):
    for n in names:
        fn = getattr(f, n, None)
        if fn:
            try:
                return fn()
            except Exception:
                pass
    raise AttributeError(names)


class Person:
    def __init__(self, c, loc=None, lang=None, need_addr=False):
        rng = c.rng
        if loc is None:
            pool = LANG_LOCALES.get(lang or "en", LANG_LOCALES["en"])
            if need_addr:
                pool = [p for p in pool if LOCALES[p][2]]
            loc = rng.choice(pool)
        self.loc = loc
        self.country, self.lang, has_addr = LOCALES[loc]
        f = self.f = c.fk(loc)
        male = rng.random() < 0.5
        self.first = _try(f, "first_name_male" if male else "first_name_female", "first_name")
        self.last = _try(f, "last_name_male" if male else "last_name_female", "last_name")
        if loc.startswith("es_") and rng.random() < 0.5:
            self.last += " " + f.last_name()
        if loc == "ja_JP":
            self.name = self.last + rng.choice(["", " ", "\u3000"]) + self.first
            self.latin = (f.first_romanized_name(), f.last_romanized_name())
        elif loc in ("zh_CN", "ko_KR"):
            self.name = self.last + self.first
        elif loc in ("hu_HU", "vi_VN"):
            self.name = self.last + " " + self.first
        else:
            self.name = self.first + " " + self.last
        if self.lang not in NONLATIN:
            self.latin = (ascii_fold(self.first).split()[0], ascii_fold(self.last).split()[-1].replace("'", ""))
        elif loc != "ja_JP":
            un = re.sub(r"[^a-z]", "", ascii_fold(c.fk("en_IN" if loc == "hi_IN" else "en_US").first_name().lower()))
            ln = re.sub(r"[^a-z]", "", ascii_fold(c.fk("en_IN" if loc == "hi_IN" else "en_US").last_name().lower()))
            self.latin = (un or "user", ln or "x")
        fl, ll = self.latin[0].lower(), self.latin[1].lower()
        fl, ll = re.sub(r"[^a-z]", "", fl) or "a", re.sub(r"[^a-z]", "", ll) or "b"
        self.handle = rng.choice([f"{fl[0]}{ll}", f"{fl}.{ll}", f"{fl}{ll[0]}", f"{ll}{fl[0]}"])
        local = rng.choice([f"{fl}.{ll}", f"{fl}.{ll}", f"{fl[0]}{ll}", f"{fl}_{ll}", f"{fl}{ll}{rng.randint(1, 99)}",
                            f"{ll}.{fl}", f"{fl}"])
        self.company = f.company()
        self.domain = rng.choice([
            _company_domain(self.company, rng, self.country), _company_domain(self.company, rng, self.country),
            _try(f, "free_email_domain")])
        self.email = f"{local}@{self.domain}"
        self.work_email = f"{local}@{_company_domain(self.company, rng, self.country)}"
        self.job = _try(f, "job")
        self.dob = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(24000))
        self.has_addr = has_addr
        self.addr = make_address(c, loc, rng) if has_addr else None
        self.c = c

    def phoneL(self, style=None, mobile=None):
        return phone(self.c.rng, self.country, style, mobile)

    def nameL(self):
        return L(self.name, "PERSON", self.loc)

    def emailL(self, work=False):
        return L(self.work_email if work else self.email, "EMAIL")


CC_TLD = {"US": ".com", "GB": ".co.uk", "AU": ".com.au", "NZ": ".co.nz", "CA": ".ca", "IE": ".ie", "IN": ".in",
          "ZA": ".co.za", "NG": ".ng", "KE": ".co.ke", "PH": ".ph", "DE": ".de", "AT": ".at", "CH": ".ch", "FR": ".fr",
          "ES": ".es", "MX": ".com.mx", "AR": ".com.ar", "CL": ".cl", "CO": ".com.co", "BR": ".com.br", "PT": ".pt",
          "JP": ".co.jp", "IT": ".it", "NL": ".nl", "BE": ".be", "PL": ".pl", "SE": ".se", "DK": ".dk", "FI": ".fi",
          "NO": ".no", "CZ": ".cz", "HU": ".hu", "RO": ".ro", "UA": ".com.ua", "GR": ".gr", "TR": ".com.tr",
          "KR": ".co.kr", "CN": ".cn", "ID": ".co.id", "TH": ".co.th", "VN": ".vn", "IL": ".co.il", "RU": ".ru",
          "SA": ".sa"}


def _company_domain(company, rng, cc=None):
    base = re.sub(r"[^a-z0-9]", "", ascii_fold(company).lower().split(" ")[0].split(",")[0])
    if len(base) < 3:
        base = rng.choice(["firma", "kontor", "nordlicht", "bluepeak", "solaris", "vertex", "arcadia", "horizonte"])
    return base + rng.choice([CC_TLD.get(cc, ".com"), CC_TLD.get(cc, ".com"), ".com", ".io", ".net"])


def make_address(c, loc, rng):
    """Returns dict(street, city_line, country, one, lines)."""
    f = c.fk(loc)
    cc = LOCALES[loc][0]
    n = str(rng.choice([rng.randint(1, 40), rng.randint(1, 250), rng.randint(1, 1999)]))
    if loc == "en_US":
        st = f"{n} {f.street_name()}" + (f" {f.secondary_address()}" if rng.random() < 0.3 else "")
        cl = f"{f.city()}, {f.state_abbr()} {f.zipcode()}"
    elif loc == "en_CA":
        st = f"{n} {f.street_name()}"
        cl = f"{f.city()}, {f.province_abbr()} {f.postcode()}"
    elif loc == "en_GB":
        st = (f"Flat {rng.randint(1, 40)}, " if rng.random() < 0.2 else "") + f"{n} {f.street_name()}"
        cl = f"{f.city()} {f.postcode()}"
    elif loc == "en_AU":
        st = (f"Unit {rng.randint(1, 30)}/" if rng.random() < 0.2 else "") + f"{n} {f.street_name()}"
        cl = f"{f.city()} {f.state_abbr()} {f.postcode()}"
    elif loc in ("en_NZ", "en_IE"):
        st = f"{n} {f.street_name()}"
        cl = f"{f.city()} {f.postcode()}"
    elif loc == "en_IN":
        city, pin = rng.choice(EN_IN_CITIES)
        st = f"{rng.choice(['H.No. ', 'Flat ', ''])}{rng.randint(1, 400)}, {f.street_name()}"
        cl = f"{city} {pin}{rng.randint(0, 999):03d}"
    elif loc == "zu_ZA":
        st = f"{n} {f.street_name()} {rng.choice(['Street', 'Road', 'Avenue', 'Drive'])}"
        cl = f"{f.city()}, {f.postcode()}"
    elif loc in ("de_DE", "de_AT", "de_CH", "nl_NL", "nl_BE", "sv_SE", "da_DK", "fi_FI", "no_NO", "cs_CZ", "fr_CH"):
        suf = rng.choice(["", "", "", "a", "b"]) if loc.startswith("de") else ""
        st = f"{f.street_name()} {rng.randint(1, 180)}{suf}"
        pc = f.postcode()
        if loc == "nl_NL" and re.fullmatch(r"\d{4}[A-Z]{2}", pc):
            pc = pc[:4] + " " + pc[4:]
        cl = f"{pc} {f.city()}"
    elif loc == "fr_FR":
        st = f"{rng.randint(1, 140)}{rng.choice(['', '', ',', ' bis'])} {f.street_name()}"
        cl = f"{f.postcode()} {f.city()}"
    elif loc == "es_ES":
        st = f"{f.street_name()}, {rng.randint(1, 180)}" + (
            f", {rng.randint(1, 9)}º {rng.choice('ABCD')}" if rng.random() < 0.5 else "")
        cl = f"{f.postcode()} {f.city()}"
    elif loc == "es_MX":
        st = f"{f.street_name()} {rng.randint(1, 999)}" + (f" Int. {rng.randint(1, 20)}" if rng.random() < 0.3 else "")
        cl = f"{f.postcode()} {f.city()}, {f.state_abbr()}"
    elif loc in ("es_AR", "es_CL", "es_CO"):
        st = f.street_address()
        cl = f"{f.city()}"
    elif loc == "pt_BR":
        st = f"{f.street_name()}, {rng.randint(1, 2999)}" + (f", apto {rng.randint(11, 1504)}" if rng.random() < 0.3 else "")
        cl = f"{f.bairro()}, {f.city()} - {f.estado_sigla()}, {f.postcode()}"
    elif loc == "pt_PT":
        st = f"{f.street_name()}, {rng.randint(1, 250)}" + (f", {rng.randint(1, 8)}º {rng.choice(['Esq', 'Dto'])}"
                                                           if rng.random() < 0.4 else "")
        cl = f"{f.postcode()} {f.city()}"
    elif loc == "it_IT":
        st = f"{f.street_name()}{rng.choice([' ', ', '])}{rng.randint(1, 200)}"
        cl = f"{f.postcode()} {f.city()} ({f.state_abbr()})"
    elif loc == "pl_PL":
        sn = f.street_name()
        st = ("ul. " if not re.match(r"(ul\.|al\.|plac|pl\.|os\.)", sn) else "") + sn + f" {rng.randint(1, 150)}" + (
            f"/{rng.randint(1, 80)}" if rng.random() < 0.4 else "")
        cl = f"{f.postcode()} {f.city()}"
    elif loc == "hu_HU":
        st = f"{f.street_name()} {rng.randint(1, 150)}."
        cl = f"{f.postcode().replace('H-', '')} {f.city()}"
    elif loc == "ja_JP":
        st = f.address()
        cl = None
        one = (f"〒{f.postcode()} " if rng.random() < 0.5 else "") + st
        return {"street": st, "city_line": None, "country": "JP", "one": one, "lines": [one]}
    elif loc == "hi_IN":
        city, pin = rng.choice(HI_CITIES)
        pin = f"{pin}{rng.randint(0, 99):03d}"
        k = rng.randrange(3)
        if k == 0:
            st = f"मकान नं. {rng.randint(1, 400)}, {rng.choice(HI_STREETS)}"
        elif k == 1:
            st = f"{rng.randint(1, 90)}/{rng.randint(1, 300)}, {rng.choice(HI_LOCALITIES)}"
        else:
            st = f"फ्लैट नं. {rng.randint(101, 1204)}, {rng.choice(HI_LOCALITIES)}"
        cl = f"{city} - {pin}" if rng.random() < 0.5 else f"{city} {pin}"
    else:
        raise ValueError(loc)
    st = st.strip()
    return {"street": st, "city_line": cl, "country": cc, "one": f"{st}, {cl}", "lines": [st, cl]}


def dob_fmt(rng, d, lang="en", style=None):
    """A date of birth as written in the language (numeric or long form)."""
    style = style or rng.choice(["iso", "num", "long"])
    M = MONTHS.get(lang)
    if style == "iso" or (style == "long" and not M and lang != "ja"):
        return d.isoformat()
    if style == "num":
        if lang == "en":
            return rng.choice([d.strftime("%m/%d/%Y"), d.strftime("%d/%m/%Y")])
        if lang in ("de", "pl", "cs", "fi", "no", "da", "ru", "uk", "ro", "tr", "hu"):
            return d.strftime("%d.%m.%Y") if lang != "hu" else d.strftime("%Y.%m.%d.")
        if lang == "ja":
            return d.strftime("%Y/%m/%d")
        if lang == "nl":
            return d.strftime("%d-%m-%Y")
        return d.strftime("%d/%m/%Y")
    if lang == "ja":
        return f"{d.year}年{d.month}月{d.day}日"
    m = M[d.month - 1]
    if lang == "en":
        return rng.choice([f"{d.day} {m} {d.year}", f"{m} {d.day}, {d.year}"])
    if lang == "de":
        return f"{d.day}. {m} {d.year}"
    if lang in ("es", "pt"):
        return f"{d.day} de {m} de {d.year}"
    return f"{d.day} {m} {d.year}"


MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November",
           "Dezember"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre",
           "décembre"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"],
    "pt": ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
           "novembro", "dezembro"],
    "hi": ["जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर"],
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre",
           "novembre", "dicembre"],
}


# ---------------------------------------------------------------------------------------------------------
# shared scenery
# ---------------------------------------------------------------------------------------------------------

SUBJECTS = ["fix(auth): handle expired refresh tokens", "chore(deps): bump serde from 1.0.197 to 1.0.203",
            "docs: clarify rate limits in README", "feat: add CSV export for invoices", "refactor: split billing module",
            "ci: cache cargo registry", "fix: off-by-one in pagination", "perf: avoid N+1 query in order list",
            "test: cover webhook retries", "build: pin node to 20.11", "feat(api): expose /v2/customers",
            "Merge pull request #482 from feature/sso", "Revert \"feat: enable new checkout\"",
            "fix(i18n): German plural forms", "chore: release v2.14.0", "feat(search): fuzzy match on product names",
            "fix: close DB connections on shutdown", "style: cargo fmt", "feat: add staging config",
            "wip: local settings", "hotfix: restore payment webhook", "Add deployment notes",
            "Initial commit", "Update .gitlab-ci.yml", "fix(ui): date picker timezone"]
APPS = ["billing", "checkout", "payments", "api", "web", "worker", "auth", "crm", "reports", "inventory", "notifier",
        "gateway", "search", "ledger", "portal"]
BRANCHES = ["main", "master", "develop", "feature/sso", "release/2.14", "fix/webhooks"]
REGISTRIES = ["registry.gitlab.com", "ghcr.io", "docker.io", "quay.io", "harbor.internal.example.net",
              "123456789012.dkr.ecr.eu-west-1.amazonaws.com", "myregistry.azurecr.io", "europe-west3-docker.pkg.dev"]
DBHOSTS = ["db.prod.internal", "pg-main.cluster-c1x2y3z4.eu-west-1.rds.amazonaws.com", "localhost", "postgres",
           "mysql.default.svc.cluster.local", "10.0.12.7", "db", "sql-prod-01.database.windows.net",
           "mariadb.staging.local", "pg-replica-2.data.svc"]
USERS_UNIX = ["ubuntu", "ec2-user", "deploy", "jdoe", "mweber", "dev", "admin", "runner", "app", "jenkins", "node",
              "asmith", "kmueller", "lperez", "tnakamura", "rsharma"]


def shprompt(c, user=None):
    rng = c.rng
    user = user or rng.choice(USERS_UNIX)
    host = rng.choice(["web-01", "buildbox", "ip-10-0-3-17", "devvm", "laptop", "bastion", "ci-runner-7"])
    return rng.choice(["$ ", "$ ", f"{user}@{host}:~/src$ ", f"[{user}@{host} app]$ ", "➜  app git:(main) ", "% ",
                       "root@" + host + ":/srv/app# "])


def hexid(c, n=7):
    return rs(c.rng, HEX, n)


def people(c, n, lang=None, locs=None):
    out = []
    for _ in range(n):
        if locs:
            out.append(Person(c, c.rng.choice(locs)))
        elif lang:
            out.append(Person(c, lang=lang))
        else:
            out.append(Person(c, c.rng.choice(list(LOCALES))))
    return out


def world_person(c):
    """Anyone (commit authors, contributors)."""
    rng = c.rng
    loc = rng.choice(["en_US", "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "pt_BR", "it_IT", "nl_NL", "pl_PL",
                      "sv_SE", "ja_JP", "hi_IN", "en_IN", "zh_CN", "ko_KR", "ru_RU", "uk_UA", "tr_TR", "cs_CZ",
                      "fi_FI", "da_DK", "no_NO", "hu_HU", "ro_RO", "el_GR", "he_IL", "vi_VN", "id_ID", "es_MX",
                      "es_AR", "en_AU", "en_CA", "de_CH", "de_AT", "pt_PT", "zu_ZA", "en_NG", "en_KE"])
    p = Person(c, loc)
    if rng.random() < 0.15:
        p.email = f"{rng.randint(1000000, 99999999)}+{p.handle}@users.noreply.github.com"
    return p


# ---------------------------------------------------------------------------------------------------------
# git
# ---------------------------------------------------------------------------------------------------------


def g_git_log(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    if neg:
        kind = rng.randrange(3)
        if kind == 0:
            d.add(shprompt(c) + "git log --oneline --graph --decorate -n 8\n")
            for k in range(rng.randint(5, 9)):
                deco = f" ({rng.choice(['HEAD -> main, origin/main', 'tag: v2.13.1', 'origin/develop'])})" if k == 0 else ""
                d.add(f"{rng.choice(['* ', '* ', '| * ', '*   '])}{hexid(c)}{deco} {rng.choice(SUBJECTS)}\n")
        elif kind == 1:
            d.add(shprompt(c) + "git log --format='%h %ad %s' --date=iso -n 6\n")
            for _ in range(rng.randint(4, 7)):
                dd = rdate(c.rng)
                d.add(f"{hexid(c)} {dd.strftime('%Y-%m-%d %H:%M:%S')} +0{rng.randint(0, 2)}00 {rng.choice(SUBJECTS)}\n")
        else:
            d.add(shprompt(c) + "git log -1 --stat --format='commit %H%n%n    %s'\n")
            d.add(f"commit {sha1hex(rng)}\n\n    {rng.choice(SUBJECTS)}\n\n")
            tot = 0
            for _ in range(rng.randint(2, 5)):
                n = rng.randint(1, 80)
                tot += n
                d.add(f" src/{rng.choice(APPS)}/{rng.choice(['mod.rs', 'handler.go', 'views.py', 'index.ts'])} | {n:3d} "
                      f"{'+' * min(n, 20)}\n")
            d.add(f" {rng.randint(2, 5)} files changed, {tot} insertions(+), {rng.randint(0, 30)} deletions(-)\n")
        return d
    fuller = rng.random() < 0.3
    d.add(shprompt(c) + ("git log --pretty=fuller -n 3\n" if fuller else "git log -n 3\n"))
    for k in range(rng.randint(2, 4)):
        a = world_person(c)
        dd = rdate(rng)
        tz = rng.choice(["+0100", "+0200", "-0500", "+0530", "+0900", "-0300", "+0000"])
        deco = f" (HEAD -> {rng.choice(BRANCHES)}, origin/{rng.choice(BRANCHES)})" if k == 0 else ""
        d.add(f"commit {sha1hex(rng)}{deco}\n")
        if rng.random() < 0.15:
            d.add(f"Merge: {hexid(c)} {hexid(c)}\n")
        d.t("Author: «n» <«e»>\n", n=a.nameL(), e=a.emailL())
        if fuller:
            cm = a if rng.random() < 0.5 else world_person(c)
            d.add(f"AuthorDate: {git_date(dd, tz)}\n")
            d.t("Commit:     «n» <«e»>\n", n=cm.nameL(), e=cm.emailL())
            d.add(f"CommitDate: {git_date(dd + dt.timedelta(minutes=rng.randint(0, 900)), tz)}\n\n")
        else:
            d.add(f"Date:   {git_date(dd, tz)}\n\n")
        d.add(f"    {rng.choice(SUBJECTS)}\n")
        if rng.random() < 0.5:
            d.add("\n    " + rng.choice(["The old code path leaked connections when the pool was exhausted.",
                                         "Needed for the Q3 reporting; see the ticket for details.",
                                         "Tested locally against the staging database.",
                                         "Follow-up of the review comments."]) + "\n")
        if rng.random() < 0.4:
            t = world_person(c)
            d.add("\n")
            d.t(f"    {rng.choice(['Signed-off-by', 'Co-authored-by', 'Reviewed-by'])}: «n» <«e»>\n", n=t.nameL(),
                e=t.emailL())
        d.add("\n")
    return d


def g_git_log_format(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    if neg:
        k = rng.randrange(4)
        if k == 0:
            d.add(shprompt(c) + "git log --format='%h %s' -n 5\n")
            for _ in range(rng.randint(3, 6)):
                d.add(f"{hexid(c)} {rng.choice(SUBJECTS)}\n")
        elif k == 1:
            d.add(shprompt(c) + "git tag -n --sort=-creatordate | head -5\n")
            v = rng.randint(1, 4)
            for m in range(rng.randint(3, 5)):
                d.add(f"v{v}.{12 - m}.{rng.randint(0, 4)}       Release {v}.{12 - m}\n")
        elif k == 2:
            d.add(shprompt(c) + "git describe --tags --long --dirty\n")
            d.add(f"v{rng.randint(0, 5)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}-{rng.randint(1, 80)}-g{hexid(c)}"
                  f"{rng.choice(['', '-dirty'])}\n")
            d.add(shprompt(c) + "git rev-parse HEAD\n" + sha1hex(rng) + "\n")
        else:
            d.add(shprompt(c) + "git log --format='%H%x09%at%x09%s' -n 4\n")
            for _ in range(4):
                d.add(f"{sha1hex(rng)}\t{rng.randint(1600000000, 1760000000)}\t{rng.choice(SUBJECTS)}\n")
        return d
    k = rng.randrange(3)
    if k == 0:
        d.add(shprompt(c) + "git log --format='%h %an <%ae> %ad %s' --date=short -n 6\n")
        for _ in range(rng.randint(3, 7)):
            a = world_person(c)
            d.t(f"{hexid(c)} «n» <«e»> {rdate(rng).strftime('%Y-%m-%d')} {rng.choice(SUBJECTS)}\n", n=a.nameL(),
                e=a.emailL())
    elif k == 1:
        d.add(shprompt(c) + "git log --format='%H%x09%an%x09%ae' | sort -u -k2 | head\n")
        for _ in range(rng.randint(3, 7)):
            a = world_person(c)
            d.t(f"{sha1hex(rng)}\t«n»\t«e»\n", n=a.nameL(), e=a.emailL())
    else:
        d.add(shprompt(c) + "git log --format='%an,%ae,%ad' --date=iso-strict > authors.csv && cat authors.csv\n")
        for _ in range(rng.randint(3, 7)):
            a = world_person(c)
            d.t(f"«n»,«e»,{ts_iso(rng)[:-1]}+01:00\n", n=a.nameL(), e=a.emailL())
    return d


DIFF_FILES = ["config/staging.env", ".env.production", "config/settings.py", "src/main/resources/application.yml",
              "deploy/values-prod.yaml", "scripts/deploy.sh", "docker-compose.override.yml", "terraform/prod.tfvars"]


def secret_line(c, fname, neg=False):
    """A config line assigning a credential, style chosen from the file type. Returns list of parts."""
    rng = c.rng
    if neg:
        key = rng.choice(["DB_PASSWORD", "API_KEY", "STRIPE_SECRET_KEY", "GITHUB_TOKEN", "SECRET_KEY"])
        val = rng.choice(["${" + key + "}", "os.environ[\"" + key + "\"]", "changeme", "<redacted>",
                          "{{ .Values." + key.lower() + " }}", "\"\"", "null"])
        return [f"{key}={val}" if fname.endswith((".env", ".sh")) or ".env" in fname else f"{key.lower()}: {val}"]
    v, sub, ty = any_token(rng) if rng.random() < 0.6 else (password(rng, safe=True)[0], "human", "PASSWORD")
    key = {"PASSWORD": rng.choice(["DB_PASSWORD", "ADMIN_PASSWORD", "SMTP_PASSWORD", "REDIS_PASSWORD"]),
           "GITHUB_TOKEN": "GITHUB_TOKEN", "GITLAB_TOKEN": "GITLAB_TOKEN", "SLACK_TOKEN": "SLACK_BOT_TOKEN",
           "STRIPE_KEY": "STRIPE_SECRET_KEY", "OPENAI_API_KEY": "OPENAI_API_KEY",
           "ANTHROPIC_API_KEY": "ANTHROPIC_API_KEY", "GOOGLE_API_KEY": "GOOGLE_MAPS_API_KEY", "JWT": "SERVICE_JWT",
           "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY"}.get(ty, rng.choice(["API_KEY", "SECRET_KEY",
                                                                                   "SENDGRID_API_KEY", "AUTH_TOKEN"]))
    lv = L(v, ty, sub)
    if fname.endswith(".py"):
        return [f"{key} = \"", lv, "\""]
    if fname.endswith((".yml", ".yaml")):
        return [f"{key.lower()}: \"", lv, "\""]
    if fname.endswith(".tfvars"):
        return [f"{key.lower()} = \"", lv, "\""]
    if fname.endswith(".sh"):
        return [f"export {key}='", lv, "'"]
    return [f"{key}=", lv]


def g_git_show(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    fname = rng.choice(DIFF_FILES)
    if neg:
        d.add(shprompt(c) + rng.choice(["git diff HEAD~1 -- ", "git diff --cached -- "]) + fname + "\n")
    else:
        a = world_person(c)
        d.add(shprompt(c) + f"git show {hexid(c)}\n")
        d.add(f"commit {sha1hex(rng)}\n")
        d.t("Author: «n» <«e»>\n", n=a.nameL(), e=a.emailL())
        d.add(f"Date:   {git_date(rdate(rng))}\n\n    {rng.choice(SUBJECTS)}\n\n")
    d.add(f"diff --git a/{fname} b/{fname}\nindex {hexid(c)}..{hexid(c)} 100644\n--- a/{fname}\n+++ b/{fname}\n")
    d.add(f"@@ -{rng.randint(1, 40)},6 +{rng.randint(1, 40)},{rng.randint(7, 9)} @@\n")
    ctx = [f"APP_ENV={rng.choice(['staging', 'production'])}", f"LOG_LEVEL={rng.choice(['info', 'debug'])}",
           f"PORT={rng.choice([8080, 3000, 8000])}", f"FEATURE_NEW_CHECKOUT={rng.choice(['true', 'false'])}"]
    if fname.endswith((".yml", ".yaml")):
        ctx = [f"log_level: {rng.choice(['info', 'debug'])}", f"replicas: {rng.randint(1, 6)}", "timeout: 30s"]
    for x in ctx[:2]:
        d.add(" " + x + "\n")
    for _ in range(rng.randint(1, 3)):
        d.add("+")
        d.put(secret_line(c, fname, neg))
        d.add("\n")
    if not neg and rng.random() < 0.3:
        d.add("-")
        d.put(secret_line(c, fname, True))
        d.add("\n")
    for x in ctx[2:]:
        d.add(" " + x + "\n")
    return d


def g_git_blame(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    f = rng.choice(["src/config.py", "lib/mailer.rb", "app/settings.ts", "internal/db/conn.go", "deploy.sh"])
    code = ["import os", "", "DEBUG = False", "ALLOWED_HOSTS = [\"*\"]", "TIMEOUT = 30", "def connect():",
            "    return pool.get()", "MAX_RETRIES = 5", "# TODO: move to vault", "LOG_FORMAT = \"%(asctime)s %(message)s\""]
    authors = [world_person(c) for _ in range(rng.randint(1, 3))]
    mode = "s" if neg else rng.choice(["name", "name", "email"])
    d.add(shprompt(c) + f"git blame {'-s ' if mode == 's' else '-e ' if mode == 'email' else ''}{f}\n")
    nlines = rng.randint(5, 10)
    secret_at = rng.randrange(nlines) if not neg and rng.random() < 0.4 else -1
    w = max(len(a.name) for a in authors) if mode == "name" else 0
    for ln in range(1, nlines + 1):
        a = rng.choice(authors)
        sha = ("^" if rng.random() < 0.1 else "") + hexid(c, 8)
        dd = rdate(rng)
        stamp = dd.strftime("%Y-%m-%d %H:%M:%S") + " " + rng.choice(["+0100", "+0200", "-0700", "+0530"])
        if mode == "s":
            d.add(f"{sha} {ln:3d}) ")
        elif mode == "name":
            d.t(f"{sha} («n»{' ' * (w - len(a.name))} {stamp} {ln:3d}) ", n=a.nameL())
        else:
            d.t(f"{sha} (<«e»> {stamp} {ln:3d}) ", n=None, e=a.emailL())
        if ln - 1 == secret_at:
            d.put(secret_line(c, ".py"))
        else:
            d.add(rng.choice(code))
        d.add("\n")
    return d


def g_git_shortlog(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    if neg:
        if rng.random() < 0.5:
            d.add(shprompt(c) + "git shortlog -sn --since='1 month ago'\n")
            for n, who in sorted([(rng.randint(1, 90), b) for b in rng.sample(
                    ["dependabot[bot]", "renovate[bot]", "github-actions[bot]", "GitHub", "pre-commit-ci[bot]",
                     "snyk-bot", "release-please[bot]", "weblate"], rng.randint(2, 4))], reverse=True):
                d.add(f"{n:6d}\t{who}\n")
        else:
            d.add(shprompt(c) + "git count-objects -vH\n")
            d.add(f"count: {rng.randint(0, 300)}\nsize: {rng.randint(1, 900)}.{rng.randint(0, 99)} KiB\n"
                  f"in-pack: {rng.randint(1000, 90000)}\npacks: {rng.randint(1, 4)}\nsize-pack: {rng.randint(2, 300)}."
                  f"{rng.randint(0, 99)} MiB\nprune-packable: 0\ngarbage: 0\nsize-garbage: 0 bytes\n")
        return d
    email = rng.random() < 0.7
    d.add(shprompt(c) + f"git shortlog -sn{'e' if email else ''}{rng.choice(['', ' --all', ' HEAD', ' --no-merges'])}\n")
    rows = sorted([(rng.randint(1, 900), world_person(c)) for _ in range(rng.randint(3, 8))], key=lambda x: -x[0])
    for n, a in rows:
        if email:
            d.t(f"{n:6d}\t«n» <«e»>\n", n=a.nameL(), e=a.emailL())
        else:
            d.t(f"{n:6d}\t«n»\n", n=a.nameL())
    return d


def g_git_trailers(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    d.add(shprompt(c) + rng.choice(["git log --format=%B -n 2\n", "git log -1 --format=%B\n",
                                    "git interpret-trailers --parse < .git/COMMIT_EDITMSG\n"]))
    for _ in range(rng.randint(1, 2)):
        d.add(rng.choice(SUBJECTS) + "\n\n")
        d.add(rng.choice(["Rework the retry loop so that the backoff is capped.",
                          "This fixes the flaky test on Windows runners.",
                          "The previous default caused timeouts under load."]) + "\n\n")
        if neg:
            d.add(f"Change-Id: I{rs(rng, HEX, 40)}\n")
            if rng.random() < 0.5:
                d.add(f"Fixes: {hexid(c, 12)} (\"{rng.choice(SUBJECTS)}\")\n")
            d.add(rng.choice([f"Closes #{rng.randint(10, 9000)}\n", f"Bug: {rng.randint(100000, 999999)}\n",
                              f"Refs: PROJ-{rng.randint(10, 9999)}\n", "Release-note: none\n"]))
        else:
            for _ in range(rng.randint(1, 4)):
                t = world_person(c)
                key = rng.choice(["Signed-off-by", "Signed-off-by", "Co-authored-by", "Co-authored-by", "Reviewed-by",
                                  "Reported-by", "Acked-by", "Tested-by", "Suggested-by"])
                d.t(f"{key}: «n» <«e»>\n", n=t.nameL(), e=t.emailL())
            if rng.random() < 0.3:
                d.add(f"Change-Id: I{rs(rng, HEX, 40)}\n")
        d.add("\n")
    return d


def g_git_config(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    a = world_person(c)
    home = "/home/" + rng.choice(USERS_UNIX)
    repo = f"{rng.choice(['acme', 'platform', 'team-' + rng.choice(APPS)])}/{rng.choice(APPS)}"
    if neg:
        d.add(shprompt(c) + "git remote -v\n")
        for r in ["origin", "upstream"][:rng.randint(1, 2)]:
            u = rng.choice([f"git@github.com:{repo}.git", f"https://github.com/{repo}.git",
                            f"ssh://git@gitlab.example.net:2222/{repo}.git"])
            d.add(f"{r}\t{u} (fetch)\n{r}\t{u} (push)\n")
        d.add(shprompt(c) + "git config --get-regexp '^(credential|core|pull)'\n")
        d.add(f"credential.helper {rng.choice(['osxkeychain', 'manager', 'store', 'cache --timeout=3600'])}\n"
              f"core.autocrlf input\npull.rebase true\n")
        return d
    k = rng.randrange(3)
    if k == 0:
        d.add(shprompt(c) + "git config --list --show-origin\n")
        d.add("file:/etc/gitconfig\tcore.autocrlf=input\n")
        d.t(f"file:{home}/.gitconfig\tuser.name=«n»\nfile:{home}/.gitconfig\tuser.email=«e»\n", n=a.nameL(),
            e=a.emailL())
        d.add(f"file:{home}/.gitconfig\tinit.defaultbranch=main\nfile:.git/config\tcore.repositoryformatversion=0\n")
    if k in (0, 1):
        tokv = gh_any(rng) + ("GITHUB_TOKEN",) if rng.random() < 0.5 else gitlab_token(rng) + ("GITLAB_TOKEN",)
        host = "github.com" if tokv[2] == "GITHUB_TOKEN" else "gitlab.com"
        user = rng.choice([a.handle, "oauth2", "x-access-token", "gitlab-ci-token"])
        if k == 1:
            d.add(shprompt(c) + "git remote -v\n")
            for op in ("fetch", "push"):
                d.t(f"origin\thttps://{user}:«t»@{host}/{repo}.git ({op})\n", t=L(tokv[0], tokv[2], tokv[1]))
        else:
            d.t(f"file:.git/config\tremote.origin.url=https://{user}:«t»@{host}/{repo}.git\n",
                t=L(tokv[0], tokv[2], tokv[1]))
            d.add("file:.git/config\tremote.origin.fetch=+refs/heads/*:refs/remotes/origin/*\n")
    else:
        d.add(shprompt(c) + "cat ~/.git-credentials\n")
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.5:
                v, sub = gh_any(rng)
                d.t(f"https://{a.handle}:«t»@github.com\n", t=L(v, "GITHUB_TOKEN", sub))
            elif rng.random() < 0.5:
                v, sub = gitlab_token(rng)
                d.t("https://oauth2:«t»@gitlab.com\n", t=L(v, "GITLAB_TOKEN", sub))
            else:
                pw = pwL(rng)
                d.t(f"https://{a.handle}:«p»@bitbucket.example.net\n", p=L(pct(pw.value), "PASSWORD", pw.sub))
    return d


def indent_block(text, ind):
    """Lines 2.. of text indented by ind (the first line's indent is written by the caller)."""
    return ("\n" + ind).join(text.split("\n"))


SHELL_SPECIAL = set(" !?*$#&;|<>()[]{}~`\"'\\")


def shq(x):
    """Single-quote a labelled value for a shell command line when it holds shell-special characters."""
    v = plain(x)
    return Cat("'", x, "'") if any(ch in SHELL_SPECIAL for ch in v) else x


def pctL(x):
    """Percent-encode a labelled value as it would appear in a URL's userinfo."""
    e = pct(x.value)
    return L(e, x.type, (x.sub or "") + ("+pct" if e != x.value else "") or None)


def b64L(x, type_=None, sub=None):
    """The base64 of a labelled value, labelled with the inner value's type."""
    return L(b64(x.value), type_ or x.type, sub or ((x.sub + "+b64") if x.sub else "b64"))


# ---------------------------------------------------------------------------------------------------------
# kubectl
# ---------------------------------------------------------------------------------------------------------

NAMESPACES = ["default", "payments", "prod", "staging", "monitoring", "kube-system", "apps", "data"]


def k8s_meta(c, name, ns, extra=""):
    rng = c.rng
    return (f"metadata:\n  creationTimestamp: \"{ts_iso(rng)}\"\n{extra}  name: {name}\n  namespace: {ns}\n"
            f"  resourceVersion: \"{rng.randint(10000, 99999999)}\"\n  uid: {uuid4(rng)}\n")


def docker_auth_json(c, registry, user, secretL):
    """config.json content with auths.<registry>.auth = b64(user:secret); returns plain string."""
    return json.dumps({"auths": {registry: {"username": user, "password": secretL.value,
                                            "auth": b64(f"{user}:{secretL.value}")}}})


def g_k8s_secret_yaml(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    ns = rng.choice(NAMESPACES)
    if neg:
        k = rng.randrange(3)
        if k == 0:
            name = rng.choice(["app-config", "nginx-conf", "grafana-dashboards", "feature-flags"])
            d.add(shprompt(c) + f"kubectl get configmap {name} -n {ns} -o yaml\napiVersion: v1\nbinaryData:\n")
            for fn in rng.sample(["logo.png", "favicon.ico", "dashboard.json.gz", "GeoLite2-Country.mmdb"], 2):
                d.add(f"  {fn}: {b64(bytes.fromhex('89504e470d0a1a0a') + _rb(rng, rng.randint(30, 90)))}\n")
            d.add(f"data:\n  LOG_LEVEL: {rng.choice(['info', 'debug'])}\n  FEATURE_FLAGS: \"checkout_v2,search_v3\"\n"
                  f"  TZ: Europe/Berlin\nkind: ConfigMap\n")
            d.add(k8s_meta(c, name, ns))
        elif k == 1:
            name = rng.choice(["db-credentials", "smtp", "app-secrets"])
            d.tags.update({"placeholder", "hard"})
            d.add(shprompt(c) + f"kubectl get secret {name} -n {ns} -o yaml\napiVersion: v1\ndata:\n")
            for key in rng.sample(["password", "api-key", "token", "secret"], 2):
                d.add(f"  {key}: {b64(rng.choice(['changeme', 'CHANGE_ME', 'REPLACE_ME', 'password', 'xxx', '']))}\n")
            d.add("  username: " + b64(rng.choice(["admin", "app", "postgres"])) + "\nkind: Secret\n")
            d.add(k8s_meta(c, name, ns) + "type: Opaque\n")
        else:
            d.add(shprompt(c) + f"kubectl get secret kube-root-ca -n {ns} -o yaml\napiVersion: v1\ndata:\n")
            d.add(f"  ca.crt: {b64(pem_certificate(rng))}\n  namespace: {b64(ns)}\nkind: Secret\n")
            d.add(k8s_meta(c, "kube-root-ca", ns) + "type: Opaque\n")
        return d
    k = rng.choice(["opaque", "opaque", "tls", "dockerconfig", "basic"])
    name = {"opaque": rng.choice(["db-credentials", "app-secrets", "api-keys", f"{rng.choice(APPS)}-env"]),
            "tls": rng.choice(["api-tls", "ingress-cert", "wildcard-tls"]), "dockerconfig": "regcred",
            "basic": "basic-auth"}[k]
    d.add(shprompt(c) + f"kubectl get secret {name} -n {ns} -o yaml\napiVersion: v1\ndata:\n")
    if k == "opaque":
        items = []
        pw = pwL(rng)
        items.append(("password" if rng.random() < 0.5 else "DB_PASSWORD", b64L(pw)))
        for _ in range(rng.randint(0, 2)):
            v, sub, ty = any_token(rng)
            key = {"GITHUB_TOKEN": "GITHUB_TOKEN", "SLACK_TOKEN": "slack-token", "STRIPE_KEY": "STRIPE_API_KEY",
                   "OPENAI_API_KEY": "OPENAI_API_KEY", "JWT": "service-token"}.get(ty, "api-key")
            items.append((key, L(b64(v), ty, (sub or "") + "+b64")))
        items.append(("username", b64(rng.choice(["app", "postgres", "admin", "svc_" + rng.choice(APPS)]))))
        items.append(("host", b64(rng.choice(DBHOSTS))))
        for key, v in sorted(items, key=lambda x: x[0]):
            d.t(f"  {key}: «v»\n", v=v)
    elif k == "tls":
        pem, sub = pem_private_key(rng, rng.choice(["rsa", "pkcs8", "ec"]))
        d.add(f"  tls.crt: {b64(pem_certificate(rng))}\n")
        d.t("  tls.key: «v»\n", v=L(b64(pem + "\n"), "PRIVATE_KEY", sub + "+b64"))
    elif k == "dockerconfig":
        reg = rng.choice(REGISTRIES)
        user = rng.choice(["robot$ci", "ci-bot", "deploy", "AWS", "_json_key", rng.choice(USERS_UNIX)])
        sec = pwL(rng) if rng.random() < 0.5 else tokL(rng)
        d.t("  .dockerconfigjson: «v»\n", v=L(b64(docker_auth_json(c, reg, user, sec)), sec.type, "dockerconfigjson"))
    else:
        d.t("  password: «v»\n", v=b64L(pwL(rng)))
        d.add(f"  username: {b64(rng.choice(['admin', 'ops', 'grafana']))}\n")
    d.add("kind: Secret\n")
    d.add(k8s_meta(c, name, ns))
    d.add("type: " + {"opaque": "Opaque", "tls": "kubernetes.io/tls", "dockerconfig": "kubernetes.io/dockerconfigjson",
                      "basic": "kubernetes.io/basic-auth"}[k] + "\n")
    return d


def g_k8s_secret_json(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    ns = rng.choice(NAMESPACES)
    name = rng.choice(["db-credentials", "app-secrets", "api-keys", "smtp-credentials"])
    if neg:
        if rng.random() < 0.5:
            d.add(shprompt(c) + f"kubectl get secrets -n {ns}\n{'NAME':<38}{'TYPE':<38}{'DATA':<7}AGE\n")
            for nm, ty, n in [(name, "Opaque", rng.randint(1, 5)), ("regcred", "kubernetes.io/dockerconfigjson", 1),
                              (f"{rng.choice(APPS)}-tls", "kubernetes.io/tls", 2),
                              (f"sh.helm.release.v1.{rng.choice(APPS)}.v{rng.randint(1, 40)}", "helm.sh/release.v1", 1)]:
                d.add(f"{nm:<38}{ty:<38}{n:<7}{rng.randint(2, 400)}d\n")
        else:
            d.add(shprompt(c) + f"kubectl describe secret {name} -n {ns}\n")
            d.add(f"Name:         {name}\nNamespace:    {ns}\nLabels:       app.kubernetes.io/name={rng.choice(APPS)}\n"
                  f"Annotations:  <none>\n\nType:  Opaque\n\nData\n====\n")
            for key in rng.sample(["password", "username", "api-key", "token", "host", "port"], 3):
                d.add(f"{key}:  {rng.randint(4, 64)} bytes\n")
        return d
    k = rng.randrange(3)
    if k == 0:
        pw, tok = pwL(rng), tokL(rng)
        obj = {"apiVersion": "v1", "data": {"api-key": b64L(tok), "password": b64L(pw),
                                            "username": b64(rng.choice(["app", "svc", "admin"]))},
               "kind": "Secret", "metadata": {"creationTimestamp": ts_iso(rng), "name": name, "namespace": ns,
                                              "resourceVersion": str(rng.randint(10000, 9999999)), "uid": uuid4(rng)},
               "type": "Opaque"}
        d.add(shprompt(c) + f"kubectl get secret {name} -n {ns} -o json\n")
        jdump(d, obj, 4)
        d.add("\n")
    elif k == 1:
        key = rng.choice(["password", "DB_PASSWORD", "API_KEY", "token"])
        val = pwL(rng) if "PASS" in key.upper() else tokL(rng)
        d.add(shprompt(c) + f"kubectl get secret {name} -n {ns} -o jsonpath='{{.data.{key}}}'\n")
        d.put(b64L(val))
        d.add(shprompt(c) + f"kubectl get secret {name} -n {ns} -o jsonpath='{{.data.{key}}}' | base64 -d\n")
        d.put(val)
        d.add("\n" if rng.random() < 0.5 else "")
    else:
        d.add(shprompt(c) + f"kubectl get secret {name} -n {ns} -o json | jq '.data | map_values(@base64d)'\n")
        obj = {"password": pwL(rng), "username": rng.choice(["app", "svc", "admin"])}
        if rng.random() < 0.7:
            v, sub, ty = any_token(rng)
            obj["api_key"] = L(v, ty, sub)
        jdump(d, obj, 2)
        d.add("\n")
    return d


def g_k8s_manifest(c, neg, i):
    rng = c.rng
    d = Doc("config")
    name = rng.choice(["app-secrets", f"{rng.choice(APPS)}-env", "db-credentials"])
    ns = rng.choice(NAMESPACES)
    if rng.random() < 0.3:
        app = rng.choice(APPS)
        d.context = "shell"
        d.add(shprompt(c) + f"helm upgrade --install {app} ./charts/{app} -n {ns} \\\n")
        if neg:
            d.add(f"  --set image.tag={rng.randint(1, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)} \\\n"
                  "  --set db.password=\"$DB_PASSWORD\" \\\n  --set-file tls.key=./secrets/tls.key \\\n  --atomic --wait\n")
        else:
            d.t("  --set db.password='«p»' \\\n  --set apiKey=«k» \\\n  --atomic --wait\n", p=pwL(rng, safe=True),
                k=tokL(rng))
        return d
    d.add(f"$ cat k8s/{ns}/{name}.yaml\n" if rng.random() < 0.6 else "")
    d.add(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: {ns}\ntype: Opaque\nstringData:\n")
    if neg:
        if rng.random() < 0.4:
            d.tags.add("hard")
            d.parts = []
            d.add(f"apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
                  f"spec:\n  encryptedData:\n")
            for key in ("DB_PASSWORD", "API_KEY"):
                d.add(f"    {key}: AgB{rs(rng, B64, rng.randint(300, 420))}==\n")
            return d
        d.tags.add("placeholder")
        for key in ["DB_PASSWORD", "API_KEY", "JWT_SECRET"]:
            val = rng.choice(["${" + key + "}", "{{ .Values." + key.lower() + " | quote }}", "changeme", '""'])
            d.add(f"  {key}: {val}\n")
        d.add(f"  DB_HOST: {rng.choice(DBHOSTS)}\n")
        return d
    d.t("  DB_PASSWORD: \"«p»\"\n", p=pwL(rng))
    d.add(f"  DB_HOST: {rng.choice(DBHOSTS)}\n")
    for _ in range(rng.randint(1, 3)):
        v, sub, ty = any_token(rng)
        d.t(f"  {rng.choice(['API_KEY', 'SERVICE_TOKEN', 'WEBHOOK_SECRET', 'PAYMENT_KEY'])}: «v»\n", v=L(v, ty, sub))
    if rng.random() < 0.3:
        pem, sub = pem_private_key(rng, "ec")
        d.t("  signing.key: |\n    «k»\n", k=L(indent_block(pem, "    "), "PRIVATE_KEY", sub))
    return d


def env_secret_pairs(c, n):
    """[(KEY, L)] of credential-looking environment variables."""
    rng = c.rng
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.3:
            host = rng.choice(DBHOSTS)
            out.append(("DATABASE_URL", Cat(f"postgres://{rng.choice(['app', 'api', 'svc'])}:", pctL(pwL(rng)),
                                            f"@{host}:5432/{rng.choice(APPS)}")))
        elif r < 0.45:
            out.append((rng.choice(["DB_PASSWORD", "REDIS_PASSWORD", "SMTP_PASSWORD", "RABBITMQ_PASSWORD"]), pwL(rng)))
        elif r < 0.55:
            out.append(("AWS_ACCESS_KEY_ID", L(aws_akid(rng), "AWS_ACCESS_KEY_ID", "AKIA")))
            out.append(("AWS_SECRET_ACCESS_KEY", L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY")))
        else:
            v, sub, ty = any_token(rng)
            key = {"GITHUB_TOKEN": "GITHUB_TOKEN", "GITLAB_TOKEN": "GITLAB_TOKEN", "SLACK_TOKEN": "SLACK_BOT_TOKEN",
                   "STRIPE_KEY": "STRIPE_SECRET_KEY", "OPENAI_API_KEY": "OPENAI_API_KEY",
                   "ANTHROPIC_API_KEY": "ANTHROPIC_API_KEY", "GOOGLE_API_KEY": "GOOGLE_API_KEY",
                   "JWT": "SERVICE_TOKEN", "AWS_SECRET_ACCESS_KEY": "AWS_SECRET_ACCESS_KEY",
                   "VENDOR_API_KEY": {"npm": "NPM_TOKEN", "pypi": "PYPI_TOKEN", "huggingface": "HF_TOKEN",
                                      "sendgrid": "SENDGRID_API_KEY", "twilio": "TWILIO_API_KEY",
                                      "telegram": "TELEGRAM_BOT_TOKEN", "mailchimp": "MAILCHIMP_API_KEY",
                                      "azure_storage": "AZURE_STORAGE_KEY", "vault": "VAULT_TOKEN",
                                      "sentry": "SENTRY_AUTH_TOKEN", "dockerhub": "DOCKERHUB_TOKEN",
                                      "newrelic": "NEW_RELIC_API_KEY"}.get(sub, "API_KEY")}.get(
                ty, rng.choice(["SECRET_KEY", "JWT_SECRET", "SESSION_SECRET", "API_KEY"]))
            out.append((key, L(v, ty, sub)))
    return out


def env_plain_pairs(c, n):
    rng = c.rng
    pool = [("LOG_LEVEL", rng.choice(["info", "debug", "warn"])), ("PORT", str(rng.choice([3000, 8080, 8000]))),
            ("NODE_ENV", "production"), ("TZ", rng.choice(["UTC", "Europe/Berlin", "America/Sao_Paulo"])),
            ("APP_VERSION", f"{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"),
            ("GIT_SHA", sha1hex(rng)), ("DB_HOST", rng.choice(DBHOSTS)), ("DB_PORT", "5432"),
            ("REDIS_URL", "redis://redis:6379/0"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4317"),
            ("FEATURE_FLAGS", "checkout_v2,search_v3"), ("BUILD_ID", uuid4(rng)), ("LANG", "C.UTF-8"),
            ("WORKERS", str(rng.randint(2, 16))), ("S3_BUCKET", f"{rng.choice(APPS)}-uploads-prod"),
            ("SENTRY_ENVIRONMENT", "production"), ("JAVA_OPTS", "-Xms512m -Xmx2g")]
    return rng.sample(pool, min(n, len(pool)))


def g_k8s_describe_pod(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    app, ns = rng.choice(APPS), rng.choice(NAMESPACES)
    pod = f"{app}-{rs(rng, LOW + DIG, 9)}-{rs(rng, LOW + DIG, 5)}"
    node_ip = private_ipv4(rng).replace("127.0.0.", "10.0.3.")
    d.add(shprompt(c) + f"kubectl describe pod {pod} -n {ns}\n")
    d.add(f"Name:             {pod}\nNamespace:        {ns}\nPriority:         0\nService Account:  {app}\n"
          f"Node:             ip-{node_ip.replace('.', '-')}.eu-west-1.compute.internal/{node_ip}\n"
          f"Start Time:       {rfc2822(rdate(rng))}\nLabels:           app={app}\n"
          f"                  pod-template-hash={rs(rng, LOW + DIG, 9)}\n")
    if not neg and rng.random() < 0.4:
        p = world_person(c)
        d.t("Annotations:      owner: «e»\n", e=p.emailL(True))
    else:
        d.add("Annotations:      kubectl.kubernetes.io/restartedAt: " + ts_iso(rng) + "\n")
    d.add(f"Status:           Running\nIP:               10.244.{rng.randint(0, 9)}.{rng.randint(2, 250)}\n"
          f"Controlled By:  ReplicaSet/{app}-{rs(rng, LOW + DIG, 9)}\nContainers:\n  {app}:\n"
          f"    Container ID:   containerd://{rs(rng, HEX, 64)}\n"
          f"    Image:          {rng.choice(REGISTRIES)}/{app}:{rng.randint(1, 3)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}\n"
          f"    Image ID:       {rng.choice(REGISTRIES)}/{app}@sha256:{rs(rng, HEX, 64)}\n    Port:           8080/TCP\n"
          f"    Host Port:      0/TCP\n    State:          Running\n      Started:      {rfc2822(rdate(rng))}\n"
          f"    Ready:          True\n    Restart Count:  {rng.randint(0, 5)}\n    Environment:\n")
    rows = [(k, v) for k, v in env_plain_pairs(c, rng.randint(2, 4))]
    if neg:
        for key in rng.sample(["DB_PASSWORD", "API_KEY", "STRIPE_SECRET_KEY", "JWT_SECRET"], 2):
            rows.append((key, f"<set to the key '{key.lower().replace('_', '-')}' in secret '{app}-secrets'>  Optional: false"))
    else:
        rows += env_secret_pairs(c, rng.randint(1, 3))
        if rng.random() < 0.5:
            rows.append(("SMTP_PASSWORD", "<set to the key 'smtp-password' in secret 'smtp'>  Optional: false"))
    rng.shuffle(rows)
    w = max(len(k) for k, _ in rows) + 2
    for k, v in rows:
        d.t(f"      {k + ':':<{w}}«v»\n", v=v)
    d.add(f"    Mounts:\n      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-{rs(rng, LOW + DIG, 5)} (ro)\n"
          "Conditions:\n  Type              Status\n  Initialized       True\n  Ready             True\n"
          "Events:          <none>\n")
    return d


def g_k8s_kubeconfig(c, neg, i):
    rng = c.rng
    d = Doc("config")
    cluster = rng.choice(["prod", "staging", "gke_acme-prod_europe-west3_main", "arn:aws:eks:eu-west-1:123456789012:cluster/main",
                          "kind-dev", "k3s-home"])
    d.add(shprompt(c) + ("kubectl config view" + (" --raw" if not neg else "") + "\n") if rng.random() < 0.6
          else "$ cat ~/.kube/config\n" if not neg else "$ kubectl config view --minify\n")
    d.add("apiVersion: v1\nclusters:\n- cluster:\n")
    d.add("    certificate-authority-data: " + ("DATA+OMITTED" if neg else b64(pem_certificate(rng))) + "\n")
    if neg or rng.random() < 0.5:
        d.add(f"    server: https://{rs(rng, HEX, 32).upper()}.gr7.eu-west-1.eks.amazonaws.com\n"
              if rng.random() < 0.5 else f"    server: https://{private_ipv4(rng)}:6443\n")
    else:
        d.t("    server: https://«ip»:6443\n", ip=L(public_ipv4(rng), "IP_ADDRESS", "v4"))
    d.add(f"  name: {cluster}\ncontexts:\n- context:\n    cluster: {cluster}\n    user: {cluster}-admin\n"
          f"  name: {cluster}\ncurrent-context: {cluster}\nkind: Config\npreferences: {{}}\nusers:\n")
    if neg:
        if rng.random() < 0.5:
            d.add(f"- name: {cluster}-admin\n  user:\n    client-certificate-data: DATA+OMITTED\n"
                  "    client-key-data: DATA+OMITTED\n")
        else:
            d.add(f"- name: {cluster}-admin\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
                  "      args:\n      - --region\n      - eu-west-1\n      - eks\n      - get-token\n      - --cluster-name\n"
                  "      - main\n      command: aws\n      interactiveMode: IfAvailable\n      provideClusterInfo: false\n")
        if rng.random() < 0.5:
            d.add("- name: ci\n  user:\n    token: REDACTED\n")
        return d
    k = rng.randrange(3)
    if k == 0:
        pem, sub = pem_private_key(rng, rng.choice(["rsa", "ec"]))
        d.add(f"- name: {cluster}-admin\n  user:\n    client-certificate-data: {b64(pem_certificate(rng))}\n")
        d.t("    client-key-data: «k»\n", k=L(b64(pem + "\n"), "PRIVATE_KEY", sub + "+b64"))
    elif k == 1:
        if rng.random() < 0.6:
            tok = L(k8s_sa_jwt(rng, rng.choice(NAMESPACES), rng.choice(["ci", "deployer", "admin-user"])), "JWT", "RS256")
        else:
            tok = L(f"kubeconfig-u-{rs(rng, LOW + DIG, 12)}:{rs(rng, LOW + DIG, 54)}", "GENERIC_SECRET", "rancher")
        d.t(f"- name: {cluster}-admin\n  user:\n    token: «t»\n", t=tok)
    else:
        d.t(f"- name: {cluster}-admin\n  user:\n    password: «p»\n    username: admin\n", p=pwL(rng))
    return d


def g_k8s_logs(c, neg, i):
    rng = c.rng
    d = Doc("log")
    app = rng.choice(APPS)
    d.add(shprompt(c) + f"kubectl logs deploy/{app} -n {rng.choice(NAMESPACES)} --since=1h | tail -n 6\n")
    js = rng.random() < 0.6
    for _ in range(rng.randint(3, 6)):
        t = ts_iso(rng, True)
        if neg or rng.random() < 0.35:
            ev = rng.choice([("info", "readiness probe ok", {"path": "/healthz", "status": 200}),
                             ("debug", "gc pause", {"ms": rng.randint(1, 90)}),
                             ("info", "request completed", {"request_id": uuid4(rng), "status": 200,
                                                            "duration_ms": rng.randint(1, 900)}),
                             ("warn", "upstream slow", {"upstream": f"{private_ipv4(rng)}:8080",
                                                        "latency_ms": rng.randint(500, 4000)})])
            if js:
                jdump(d, {"ts": t, "level": ev[0], "msg": ev[1], **ev[2]}, 0, compact=True)
            else:
                d.add(f"ts={t} level={ev[0]} msg=\"{ev[1]}\" " + " ".join(f"{k}={v}" for k, v in ev[2].items()))
            d.add("\n")
            continue
        p = world_person(c)
        kind = rng.randrange(3)
        fields = {"ts": t, "level": rng.choice(["info", "warn"])}
        if kind == 0:
            fields.update({"msg": "user signed in", "email": p.emailL(), "ip": L(public_ipv4(rng), "IP_ADDRESS", "v4")})
        elif kind == 1:
            fields.update({"msg": "password reset requested", "email": p.emailL(),
                           "remote_addr": L(public_ipv6(rng), "IP_ADDRESS", "v6") if rng.random() < 0.3
                           else L(public_ipv4(rng), "IP_ADDRESS", "v4")})
        else:
            fields.update({"msg": "sms sent", "to": phone(rng, rng.choice(PHONE_REGIONS), "e164"), "template": "otp"})
        if js:
            jdump(d, fields, 0, compact=True)
        else:
            parts = []
            for k, v in fields.items():
                parts += [f" {k}=", v] if k != "msg" else [f" msg=\"{v}\""]
            d.put(parts[0][1:] if isinstance(parts[0], str) else parts[0])
            d.put(parts[1:])
        d.add("\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# docker
# ---------------------------------------------------------------------------------------------------------


def g_docker_login(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    hist = rng.random() < 0.35
    if hist:
        d.add(shprompt(c) + "history | grep 'docker login'\n")
    n = rng.randint(400, 2000)
    reg = rng.choice(REGISTRIES)
    user = rng.choice(["ci-bot", "deploy", rng.choice(USERS_UNIX), "robot$" + rng.choice(APPS)])
    if neg:
        cmd = rng.choice([f"echo $CR_PAT | docker login ghcr.io -u {user} --password-stdin",
                          f"aws ecr get-login-password --region eu-west-1 | docker login --username AWS --password-stdin {reg}",
                          f"docker login -u {user} --password-stdin {reg} < ~/.secrets/registry",
                          f"docker login {reg}", f"docker login -u \"$CI_REGISTRY_USER\" -p \"$CI_REGISTRY_PASSWORD\" $CI_REGISTRY"])
        d.add((f"  {n}  " if hist else (shprompt(c) if not hist else "")) + cmd + "\n")
        if not hist:
            d.add("Login Succeeded\n")
        return d
    if reg == "docker.io" and rng.random() < 0.6:
        v, sub = vendor_key(rng, "dockerhub")
        sec = L(v, "VENDOR_API_KEY", sub)
    elif reg == "ghcr.io":
        v, sub = gh_token(rng, "ghp")
        sec = L(v, "GITHUB_TOKEN", sub)
    elif reg == "registry.gitlab.com" and rng.random() < 0.6:
        v, sub = gitlab_token(rng)
        sec = L(v, "GITLAB_TOKEN", sub)
    else:
        sec = pwL(rng, safe=True)
    form = rng.choice(["-p {s}", "-p '{s}'", "--password={s}", "--password \"{s}\""])
    pre, post = form.split("{s}")
    if not post:
        sec = shq(sec)
    d.add(f"  {n}  " if hist else shprompt(c))
    d.t(f"docker login -u {user} {pre}«s»{post} {reg}\n", s=sec)
    if not hist:
        d.add("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
        if rng.random() < 0.5:
            d.add(f"WARNING! Your password will be stored unencrypted in /{rng.choice(['root', 'home/' + rng.choice(USERS_UNIX)])}"
                  "/.docker/config.json.\nConfigure a credential helper to remove this warning. See\n"
                  "https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n")
        d.add("Login Succeeded\n")
    return d


def g_docker_config_json(c, neg, i):
    rng = c.rng
    d = Doc("config")
    d.add(rng.choice(["$ cat ~/.docker/config.json\n", shprompt(c) + "cat /root/.docker/config.json\n", ""]))
    auths = {}
    if neg:
        for reg in rng.sample(REGISTRIES, rng.randint(1, 3)):
            auths[reg if reg != "docker.io" else "https://index.docker.io/v1/"] = {}
        obj = {"auths": auths, "credsStore": rng.choice(["desktop", "osxkeychain", "ecr-login", "pass"])}
        if rng.random() < 0.5:
            obj["credHelpers"] = {"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login",
                                  "europe-west3-docker.pkg.dev": "gcloud"}
        obj["currentContext"] = rng.choice(["default", "desktop-linux", "colima"])
    else:
        for reg in rng.sample(REGISTRIES, rng.randint(1, 3)):
            user = rng.choice(["ci-bot", "deploy", rng.choice(USERS_UNIX), "_json_key", "oauth2accesstoken"])
            if reg == "ghcr.io":
                sec = L(gh_token(rng, "ghp")[0], "GITHUB_TOKEN", "ghp")
            elif reg == "docker.io" and rng.random() < 0.5:
                sec = L(vendor_key(rng, "dockerhub")[0], "VENDOR_API_KEY", "dockerhub")
            else:
                sec = pwL(rng)
            auth = L(b64(f"{user}:{sec.value}"), sec.type, "basic_b64")
            entry = {"auth": auth}
            if rng.random() < 0.15:
                entry["identitytoken"] = L(rs(rng, B64URL, rng.randint(40, 60)), "GENERIC_SECRET", "identitytoken")
            auths[reg if reg != "docker.io" else "https://index.docker.io/v1/"] = entry
        obj = {"auths": auths}
        if rng.random() < 0.4:
            obj["HttpHeaders"] = {"User-Agent": "Docker-Client/24.0.7 (linux)"}
    jdump(d, obj, "\t")
    d.add("\n")
    return d


def g_docker_inspect(c, neg, i):
    rng = c.rng
    d = Doc("json")
    app = rng.choice(APPS + ["postgres", "mysql", "redis", "rabbitmq", "keycloak"])
    d.add(shprompt(c) + f"docker inspect {app}-1\n")
    env = [Cat(f"{k}=", v) for k, v in env_plain_pairs(c, rng.randint(2, 4))]
    env.insert(0, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    if not neg:
        for k, v in env_secret_pairs(c, rng.randint(1, 3)):
            env.insert(rng.randint(1, len(env)), Cat(f"{k}=", v))
        if app in ("postgres", "mysql", "rabbitmq", "keycloak"):
            key = {"postgres": "POSTGRES_PASSWORD", "mysql": "MYSQL_ROOT_PASSWORD", "rabbitmq": "RABBITMQ_DEFAULT_PASS",
                   "keycloak": "KEYCLOAK_ADMIN_PASSWORD"}[app]
            env.insert(1, Cat(f"{key}=", pwL(rng)))
    else:
        env.append(f"{rng.choice(['POSTGRES_PASSWORD_FILE', 'DB_PASSWORD_FILE'])}=/run/secrets/db_password")
    labels = {"org.opencontainers.image.version": f"{rng.randint(1, 16)}.{rng.randint(0, 9)}",
              "org.opencontainers.image.revision": sha1hex(rng), "com.docker.compose.project": rng.choice(APPS)}
    obj = [{"Id": rs(rng, HEX, 64), "Created": ts_iso(rng, True), "Path": "docker-entrypoint.sh",
            "Args": [app], "State": {"Status": "running", "Running": True, "Pid": rng.randint(1000, 90000),
                                     "ExitCode": 0, "StartedAt": ts_iso(rng, True)},
            "Image": "sha256:" + rs(rng, HEX, 64), "Name": f"/{app}-1", "RestartCount": 0,
            "Config": {"Hostname": rs(rng, HEX, 12), "User": "", "Env": env,
                       "Cmd": [app], "Image": f"{app}:latest", "WorkingDir": "/app", "Labels": labels},
            "NetworkSettings": {"IPAddress": f"172.17.0.{rng.randint(2, 30)}", "Gateway": "172.17.0.1",
                                "MacAddress": "" if neg else L("02:42:ac:11:00:%02x" % rng.randint(2, 30), "MAC_ADDRESS", "docker")}}]
    jdump(d, obj, 4)
    d.add("\n")
    return d


def g_docker_run_compose(c, neg, i):
    rng = c.rng
    img = rng.choice(["postgres:16", "mysql:8.0", "redis:7-alpine", "rabbitmq:3-management", "mongo:7",
                      "bitnami/keycloak:24", "mariadb:11"])
    base = img.split(":")[0].split("/")[-1]
    pwkey = {"postgres": "POSTGRES_PASSWORD", "mysql": "MYSQL_ROOT_PASSWORD", "redis": "REDIS_PASSWORD",
             "rabbitmq": "RABBITMQ_DEFAULT_PASS", "mongo": "MONGO_INITDB_ROOT_PASSWORD",
             "keycloak": "KEYCLOAK_ADMIN_PASSWORD", "mariadb": "MARIADB_ROOT_PASSWORD"}[base]
    if rng.random() < 0.45:
        d = Doc("shell")
        d.add(shprompt(c) + f"docker run -d --name {base} \\\n")
        if neg:
            d.add(f"  -e {pwkey}=\"${pwkey}\" \\\n  --env-file .env \\\n")
        else:
            d.t(f"  -e {pwkey}=«p» \\\n", p=shq(pwL(rng, safe=True)))
            if rng.random() < 0.5:
                k, v = env_secret_pairs(c, 1)[0]
                d.t(f"  -e {k}='«v»' \\\n", v=v)
        port = {"postgres": 5432, "mysql": 3306, "redis": 6379, "rabbitmq": 5672, "mongo": 27017, "keycloak": 8080,
                "mariadb": 3306}[base]
        d.add(f"  -p {port}:{port}"
              f" \\\n  -v {base}-data:/var/lib/{base} \\\n  {img}\n{rs(rng, HEX, 64)}\n")
        return d
    d = Doc("config")
    d.add(rng.choice(["$ cat docker-compose.yml\n", shprompt(c) + "docker compose config\n", ""]))
    d.add(f"services:\n  {base}:\n    image: {img}\n    restart: unless-stopped\n    environment:\n")
    listform = rng.random() < 0.5
    if neg:
        rows = [(pwkey, "${" + pwkey + "}"), ("TZ", "UTC")]
        if rng.random() < 0.5:
            rows = [(pwkey + "_FILE", "/run/secrets/db_password"), ("TZ", "UTC")]
    else:
        rows = [(pwkey, pwL(rng, safe=True))] + [(k, v) for k, v in env_plain_pairs(c, 1)]
    for k, v in rows:
        if listform:
            d.t(f"      - {k}=«v»\n", v=v)
        else:
            d.t(f"      {k}: «v»\n" if not isinstance(v, L) or rng.random() < 0.5 else f"      {k}: \"«v»\"\n", v=v)
    app = rng.choice(APPS)
    d.add(f"    volumes:\n      - {base}-data:/var/lib/{base}\n  {app}:\n    build: .\n    depends_on:\n      - {base}\n"
          f"    environment:\n")
    if neg:
        d.add("      DATABASE_URL: ${DATABASE_URL}\n      SECRET_KEY: ${SECRET_KEY:?set it in .env}\n    env_file: .env\n")
        if rng.random() < 0.5:
            d.add("secrets:\n  db_password:\n    file: ./secrets/db_password.txt\n")
    else:
        for k, v in env_secret_pairs(c, rng.randint(1, 2)):
            d.t(f"      {k}: «v»\n", v=v)
    d.add(f"volumes:\n  {base}-data:\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# terraform
# ---------------------------------------------------------------------------------------------------------


def g_tf_plan(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    app = rng.choice(APPS)
    d.add(shprompt(c) + rng.choice(["terraform plan\n", "terraform plan -out=tfplan\n", "terraform apply\n"]))
    d.add(f"aws_security_group.{app}: Refreshing state... [id=sg-{rs(rng, HEX, 17)}]\n\n"
          "Terraform used the selected providers to generate the following execution plan. Resource actions are\n"
          "indicated with the following symbols:\n  + create\n  ~ update in-place\n\nTerraform will perform the following actions:\n\n")
    d.add(f"  # aws_db_instance.{app} will be created\n  + resource \"aws_db_instance\" \"{app}\" {{\n"
          f"      + allocated_storage     = {rng.choice([20, 50, 100])}\n      + arn                   = (known after apply)\n"
          f"      + engine                = \"postgres\"\n      + engine_version        = \"16.{rng.randint(1, 4)}\"\n"
          f"      + identifier            = \"{app}-prod\"\n      + password              = (sensitive value)\n"
          f"      + username              = \"{app}_admin\"\n    }}\n\n")
    d.add(f"  # aws_lambda_function.{app}_worker will be updated in-place\n  ~ resource \"aws_lambda_function\" \"{app}_worker\" {{\n"
          f"        id                             = \"{app}-worker\"\n      ~ last_modified                  = \"{ts_iso(rng)}\" -> (known after apply)\n"
          "        # (20 unchanged attributes hidden)\n\n      ~ environment {\n          ~ variables = {\n")
    if neg:
        d.add(f"              ~ \"APP_VERSION\" = \"{rng.randint(1, 3)}.{rng.randint(0, 9)}.{rng.randint(0, 9)}\" -> "
              f"\"{rng.randint(1, 3)}.{rng.randint(10, 19)}.0\"\n                \"LOG_LEVEL\"   = \"info\"\n"
              "              ~ \"SECRET_ARN\"  = (sensitive value)\n")
    else:
        pairs = env_secret_pairs(c, rng.randint(1, 2))
        for k, v in pairs:
            old = None
            if rng.random() < 0.5:
                for _ in range(80):
                    k2, o2 = env_secret_pairs(c, 1)[0]
                    if k2 == k:
                        old = o2
                        break
            if old is None:
                d.t(f"              + \"{k}\" = \"«v»\"\n", v=v)
            else:
                d.t(f"              ~ \"{k}\" = \"«o»\" -> \"«v»\"\n", o=old, v=v)
        d.add("                \"LOG_LEVEL\" = \"info\"\n")
    d.add("            }\n        }\n\n        # (2 unchanged blocks hidden)\n    }\n\n")
    if not neg and rng.random() < 0.5:
        d.add("Plan: 1 to add, 1 to change, 0 to destroy.\n\nChanges to Outputs:\n")
        d.t("  + bastion_public_ip = \"«ip»\"\n", ip=L(public_ipv4(rng), "IP_ADDRESS", "v4"))
    else:
        d.add("Plan: 1 to add, 1 to change, 0 to destroy.\n\nChanges to Outputs:\n  + db_endpoint = (known after apply)\n"
              "  + db_password = (sensitive value)\n")
    return d


def g_tf_output_json(c, neg, i):
    rng = c.rng
    d = Doc("json")
    app = rng.choice(APPS)
    if not neg and rng.random() < 0.25:
        d.context = "shell"
        key = rng.choice(["db_password", "admin_password", "api_token", "root_token"])
        d.add(shprompt(c) + f"terraform output -raw {key}\n")
        d.put(pwL(rng) if "password" in key else tokL(rng))
        d.add(shprompt(c) + "\n")
        return d
    d.add(shprompt(c) + "terraform output -json\n")
    obj = {"db_endpoint": {"sensitive": False, "type": "string",
                           "value": f"{app}-prod.c{rs(rng, LOW + DIG, 11)}.eu-west-1.rds.amazonaws.com:5432"},
           "vpc_id": {"sensitive": False, "type": "string", "value": "vpc-" + rs(rng, HEX, 17)},
           "private_subnets": {"sensitive": False, "type": ["list", "string"],
                               "value": ["subnet-" + rs(rng, HEX, 17) for _ in range(2)]}}
    if neg:
        obj["internal_ip"] = {"sensitive": False, "type": "string", "value": private_ipv4(rng)}
        obj["cluster_ca_sha256"] = {"sensitive": False, "type": "string", "value": rs(rng, HEX, 64)}
    else:
        obj["db_password"] = {"sensitive": True, "type": "string", "value": pwL(rng)}
        if rng.random() < 0.6:
            obj["public_ip"] = {"sensitive": False, "type": "string", "value": L(public_ipv4(rng), "IP_ADDRESS", "v4")}
        if rng.random() < 0.6:
            obj["ci_access_key"] = {"sensitive": False, "type": ["object", {"id": "string", "secret": "string"}],
                                    "value": {"id": L(aws_akid(rng), "AWS_ACCESS_KEY_ID", "AKIA"),
                                              "secret": L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY")}}
        if rng.random() < 0.4:
            obj["api_token"] = {"sensitive": True, "type": "string", "value": tokL(rng)}
    jdump(d, dict(sorted(obj.items())), 2)
    d.add("\n")
    return d


def g_tf_state(c, neg, i):
    rng = c.rng
    d = Doc("json")
    d.add(rng.choice(["$ cat terraform.tfstate\n", shprompt(c) + "terraform state pull\n"]))
    app = rng.choice(APPS)
    res = []
    if neg:
        res.append({"mode": "managed", "type": "aws_s3_bucket", "name": app, "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                    "instances": [{"schema_version": 0, "attributes": {
                        "arn": f"arn:aws:s3:::{app}-assets-prod", "bucket": f"{app}-assets-prod",
                        "id": f"{app}-assets-prod", "region": "eu-west-1", "tags": {"team": "platform"}},
                        "sensitive_attributes": []}]})
        res.append({"mode": "managed", "type": "aws_security_group", "name": app, "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                    "instances": [{"schema_version": 1, "attributes": {
                        "id": "sg-" + rs(rng, HEX, 17), "ingress": [{"cidr_blocks": ["10.0.0.0/16"], "from_port": 5432,
                                                                     "protocol": "tcp", "to_port": 5432}],
                        "vpc_id": "vpc-" + rs(rng, HEX, 17)}, "sensitive_attributes": []}]})
    else:
        k = rng.sample(["db", "key", "tls", "random", "instance"], rng.randint(2, 3))
        if "db" in k:
            res.append({"mode": "managed", "type": "aws_db_instance", "name": app, "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                        "instances": [{"schema_version": 2, "attributes": {
                            "address": f"{app}.c{rs(rng, LOW + DIG, 11)}.eu-west-1.rds.amazonaws.com", "engine": "postgres",
                            "password": pwL(rng), "username": f"{app}_admin", "port": 5432},
                            "sensitive_attributes": [[{"type": "get_attr", "value": "password"}]]}]})
        if "key" in k:
            res.append({"mode": "managed", "type": "aws_iam_access_key", "name": "ci", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                        "instances": [{"schema_version": 0, "attributes": {
                            "create_date": ts_iso(rng), "id": L(aws_akid(rng), "AWS_ACCESS_KEY_ID", "AKIA"),
                            "secret": L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY"), "status": "Active", "user": "ci"},
                            "sensitive_attributes": []}]})
        if "tls" in k:
            pem, sub = pem_private_key(rng, rng.choice(["rsa", "ec"]))
            res.append({"mode": "managed", "type": "tls_private_key", "name": "deploy", "provider": "provider[\"registry.terraform.io/hashicorp/tls\"]",
                        "instances": [{"schema_version": 1, "attributes": {
                            "algorithm": "RSA" if sub == "rsa" else "ECDSA", "id": rs(rng, HEX, 40),
                            "private_key_pem": L(pem + "\n", "PRIVATE_KEY", sub),
                            "public_key_openssh": ssh_pubkey(rng, "")[:-1] + "\n"},
                            "sensitive_attributes": []}]})
        if "random" in k:
            res.append({"mode": "managed", "type": "random_password", "name": "admin", "provider": "provider[\"registry.terraform.io/hashicorp/random\"]",
                        "instances": [{"schema_version": 3, "attributes": {
                            "id": "none", "length": 24, "result": L(rs(rng, ALNUM + "!@#%", 24), "PASSWORD", "random"),
                            "special": True}, "sensitive_attributes": []}]})
        if "instance" in k or len(res) < 2:
            res.append({"mode": "managed", "type": "aws_instance", "name": "bastion", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                        "instances": [{"schema_version": 1, "attributes": {
                            "ami": "ami-" + rs(rng, HEX, 17), "id": "i-" + rs(rng, HEX, 17), "instance_type": "t3.micro",
                            "private_ip": private_ipv4(rng), "public_ip": L(public_ipv4(rng), "IP_ADDRESS", "v4")},
                            "sensitive_attributes": []}]})
    obj = {"version": 4, "terraform_version": f"1.{rng.randint(5, 9)}.{rng.randint(0, 5)}", "serial": rng.randint(1, 400),
           "lineage": uuid4(rng), "outputs": {}, "resources": res, "check_results": None}
    jdump(d, obj, 2)
    d.add("\n")
    return d


def g_tf_tfvars(c, neg, i):
    rng = c.rng
    d = Doc("config")
    if rng.random() < 0.5:
        d.add(rng.choice(["$ cat terraform.tfvars\n", "$ cat prod.auto.tfvars\n", ""]))
        d.add(f"region       = \"{rng.choice(['eu-west-1', 'us-east-1', 'eu-central-1'])}\"\n"
              f"environment  = \"prod\"\ninstance_type = \"t3.{rng.choice(['small', 'medium', 'large'])}\"\n")
        if neg:
            d.tags.add("placeholder")
            d.add(f"db_password  = \"{rng.choice(['CHANGE_ME', '<set via TF_VAR_db_password>', ''])}\"\n"
                  "# api_token is read from TF_VAR_api_token\n")
        else:
            d.t("db_password  = \"«p»\"\n", p=pwL(rng))
            if rng.random() < 0.6:
                d.t(f"{rng.choice(['cloudflare_api_token', 'datadog_api_key', 'pagerduty_token'])} = \"«t»\"\n",
                    t=L(generic_secret(rng, rng.choice(["hex32", "alnum"]))[0], "GENERIC_SECRET", "tfvar"))
            if rng.random() < 0.4:
                v, sub = gh_token(rng, "ghp")
                d.t("github_token = \"«t»\"\n", t=L(v, "GITHUB_TOKEN", sub))
        return d
    d.add(rng.choice(["$ cat providers.tf\n", "$ cat main.tf\n", ""]))
    if neg:
        d.add("provider \"aws\" {\n  region  = var.region\n  profile = \"prod\"\n}\n\n"
              "data \"aws_secretsmanager_secret_version\" \"db\" {\n  secret_id = \"prod/db/password\"\n}\n\n"
              "provider \"github\" {\n  token = var.github_token\n  owner = \"acme\"\n}\n")
        return d
    d.t("provider \"aws\" {\n  region     = \"eu-west-1\"\n  access_key = \"«a»\"\n  secret_key = \"«s»\"\n}\n",
        a=L(aws_akid(rng), "AWS_ACCESS_KEY_ID", "AKIA"), s=L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY"))
    if rng.random() < 0.5:
        v, sub = gh_token(rng)
        d.t("\nprovider \"github\" {\n  token = \"«t»\"\n  owner = \"acme\"\n}\n", t=L(v, "GITHUB_TOKEN", sub))
    else:
        d.t("\nresource \"aws_db_instance\" \"main\" {\n  engine   = \"postgres\"\n  username = \"dbadmin\"\n"
            "  password = \"«p»\"\n}\n", p=pwL(rng))
    return d


# ---------------------------------------------------------------------------------------------------------
# cloud CLIs
# ---------------------------------------------------------------------------------------------------------


def g_aws_sts(c, neg, i):
    rng = c.rng
    d = Doc("json")
    acct = rs(rng, DIG, 12)
    if neg:
        d.add(shprompt(c) + "aws sts get-caller-identity\n")
        role = rng.choice(["AWSReservedSSO_AdministratorAccess_" + rs(rng, HEX, 16), "ci-deployer", "ReadOnly"])
        jdump(d, {"UserId": "AROA" + rs(rng, UP + "234567", 17) + ":" + rng.choice(["botocore-session-" +
                                                                                 str(rng.randint(1600000000, 1760000000)),
                                                                                 "ci"]),
                  "Account": acct, "Arn": f"arn:aws:sts::{acct}:assumed-role/{role}/ci"}, 4)
        d.add("\n")
        return d
    assume = rng.random() < 0.5
    if assume:
        d.add(shprompt(c) + f"aws sts assume-role --role-arn arn:aws:iam::{acct}:role/deployer --role-session-name ci\n")
    else:
        d.add(shprompt(c) + "aws sts get-session-token --duration-seconds 3600\n")
    cred = {"AccessKeyId": L(aws_akid(rng, "ASIA"), "AWS_ACCESS_KEY_ID", "ASIA"),
            "SecretAccessKey": L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY"),
            "SessionToken": L(aws_session_token(rng), "GENERIC_SECRET", "aws_session_token"),
            "Expiration": ts_iso(rng)[:-1] + "+00:00"}
    obj = {"Credentials": cred}
    if assume:
        obj["AssumedRoleUser"] = {"AssumedRoleId": "AROA" + rs(rng, UP + "234567", 17) + ":ci",
                                  "Arn": f"arn:aws:sts::{acct}:assumed-role/deployer/ci"}
    jdump(d, obj, 4)
    d.add("\n")
    return d


def g_aws_iam_key(c, neg, i):
    rng = c.rng
    d = Doc("json")
    user = rng.choice(["ci", "terraform", "backup", "s3-uploader", rng.choice(USERS_UNIX)])
    if neg:
        if rng.random() < 0.5:
            d.context = "shell"
            d.add(shprompt(c) + "aws configure list\n      Name                    Value             Type    Location\n"
                  "      ----                    -----             ----    --------\n"
                  f"   profile                <not set>             None    None\n"
                  f"access_key     ****************{rs(rng, UP + '234567', 4)} shared-credentials-file\n"
                  f"secret_key     ****************{rs(rng, ALNUM, 4)} shared-credentials-file\n"
                  f"    region                {rng.choice(['eu-west-1', 'us-east-1'])}      config-file    ~/.aws/config\n")
        else:
            d.tags.update({"placeholder", "hard"})
            d.add(shprompt(c) + f"aws iam list-access-keys --user-name {user}\n")
            jdump(d, {"AccessKeyMetadata": [{"UserName": user, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Status": "Active",
                                             "CreateDate": ts_iso(rng)[:-1] + "+00:00"}]}, 4)
            d.add("\n")
        return d
    d.add(shprompt(c) + f"aws iam create-access-key --user-name {user}\n")
    jdump(d, {"AccessKey": {"UserName": user, "AccessKeyId": L(aws_akid(rng), "AWS_ACCESS_KEY_ID", "AKIA"),
                            "Status": "Active", "SecretAccessKey": L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY"),
                            "CreateDate": ts_iso(rng)[:-1] + "+00:00"}}, 4)
    d.add("\n")
    return d


def g_aws_credentials(c, neg, i):
    rng = c.rng
    d = Doc("config")
    if neg:
        d.add("$ cat ~/.aws/config\n")
        for prof in rng.sample(["default", "prod", "staging", "sandbox"], 2):
            d.add(f"[{'profile ' if prof != 'default' else ''}{prof}]\n")
            if rng.random() < 0.5:
                d.add(f"sso_start_url = https://{rng.choice(['acme', 'example-corp'])}.awsapps.com/start\n"
                      f"sso_region = eu-west-1\nsso_account_id = {rs(rng, DIG, 12)}\nsso_role_name = AdministratorAccess\n")
            else:
                d.add(f"role_arn = arn:aws:iam::{rs(rng, DIG, 12)}:role/deployer\nsource_profile = default\n")
            d.add(f"region = {rng.choice(['eu-west-1', 'us-east-1', 'ap-southeast-2'])}\noutput = json\n\n")
        return d
    if rng.random() < 0.3:
        d.context = "shell"
        d.add(shprompt(c) + "aws configure export-credentials --profile prod --format env\n")
        d.t("export AWS_ACCESS_KEY_ID=«a»\nexport AWS_SECRET_ACCESS_KEY=«s»\nexport AWS_SESSION_TOKEN=«t»\n"
            f"export AWS_CREDENTIAL_EXPIRATION={ts_iso(rng)[:-1]}+00:00\n",
            a=L(aws_akid(rng, "ASIA"), "AWS_ACCESS_KEY_ID", "ASIA"), s=L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY"),
            t=L(aws_session_token(rng), "GENERIC_SECRET", "aws_session_token"))
        return d
    d.add(rng.choice(["$ cat ~/.aws/credentials\n", shprompt(c) + "cat ~/.aws/credentials\n"]))
    for prof in rng.sample(["default", "prod", "staging", "personal"], rng.randint(1, 2)):
        sp = rng.choice([" = ", "="])
        d.t(f"[{prof}]\naws_access_key_id{sp}«a»\naws_secret_access_key{sp}«s»\n",
            a=L(aws_akid(rng), "AWS_ACCESS_KEY_ID", "AKIA"), s=L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY"))
        d.add("\n")
    return d


def g_gcloud_token(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    if neg:
        d.add(shprompt(c) + "gcloud config list\n[compute]\nregion = europe-west3\nzone = europe-west3-a\n[core]\n"
              f"disable_usage_reporting = True\nproject = {rng.choice(APPS)}-prod-{rs(rng, DIG, 6)}\n\n"
              "Your active configuration is: [default]\n")
        if rng.random() < 0.5:
            d.add(shprompt(c) + "gcloud projects list --limit 3\nPROJECT_ID              NAME          PROJECT_NUMBER\n")
            for _ in range(3):
                a = rng.choice(APPS)
                pid = f"{a}-prod-{rs(rng, DIG, 6)}"
                d.add(f"{pid:<24}{a:<14}{rs(rng, DIG, 12)}\n")
        return d
    k = rng.randrange(3)
    if k == 0:
        d.add(shprompt(c) + "gcloud auth print-access-token\n")
        d.put(L(generic_secret(rng, "ya29")[0], "GENERIC_SECRET", "ya29"))
        d.add("\n")
    elif k == 1:
        d.add(shprompt(c) + "gcloud auth application-default print-access-token\n")
        d.put(L(generic_secret(rng, "ya29")[0], "GENERIC_SECRET", "ya29"))
        d.add("\n")
    else:
        d.add(shprompt(c) + "gcloud auth print-identity-token --audiences=https://api.example-app.io\n")
        p = world_person(c)
        iat = rng.randint(1_690_000_000, 1_760_000_000)
        tok = jwt(rng, "RS256", {"aud": "https://api.example-app.io", "azp": rs(rng, DIG, 21), "email": p.email,
                                 "email_verified": True, "exp": iat + 3600, "iat": iat,
                                 "iss": "https://accounts.google.com", "sub": rs(rng, DIG, 21)})[0]
        d.put(L(tok, "JWT", "RS256"))
        d.add("\n")
    return d


def sa_key_json(c, proj):
    rng = c.rng
    pem, sub = pem_private_key(rng, "pkcs8")
    sa = rng.choice(["terraform", "ci-deployer", "backup", "github-actions"])
    email = f"{sa}@{proj}.iam.gserviceaccount.com"
    return {"type": "service_account", "project_id": proj, "private_key_id": rs(rng, HEX, 40),
            "private_key": L(pem + "\n", "PRIVATE_KEY", "pkcs8"), "client_email": L(email, "EMAIL"),
            "client_id": rs(rng, DIG, 21), "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{pct(email)}",
            "universe_domain": "googleapis.com"}


def g_gcloud_sa_key(c, neg, i):
    rng = c.rng
    d = Doc("json")
    proj = f"{rng.choice(APPS)}-prod-{rs(rng, DIG, 6)}"
    if neg:
        d.context = "shell"
        sa = rng.choice(["terraform", "ci-deployer"])
        d.add(shprompt(c) + f"gcloud iam service-accounts keys list --iam-account=${sa.upper().replace('-', '_')}_SA\n")
        d.add("KEY_ID                                    CREATED_AT            EXPIRES_AT            DISABLED\n")
        for _ in range(rng.randint(1, 3)):
            d.add(f"{rs(rng, HEX, 40)}  {ts_iso(rng)}  9999-12-31T23:59:59Z\n")
        return d
    d.add(rng.choice([f"$ cat {proj}-{rs(rng, HEX, 12)}.json\n",
                      shprompt(c) + "gcloud iam service-accounts keys create key.json --iam-account=$SA && cat key.json\n"]))
    jdump(d, sa_key_json(c, proj), 2)
    d.add("\n")
    return d


def g_gcloud_auth_list(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    d.add(shprompt(c) + "gcloud auth list\n")
    if neg:
        d.add("No credentialed accounts.\n\nTo login, run:\n  $ gcloud auth login `ACCOUNT`\n\n")
        return d
    d.add("       Credentialed Accounts\nACTIVE  ACCOUNT\n")
    ps = [world_person(c) for _ in range(rng.randint(1, 3))]
    for k, p in enumerate(ps):
        d.t(f"{'*' if k == 0 else ' '}       «e»\n", e=p.emailL(True))
    if rng.random() < 0.5:
        d.t("        «e»\n", e=L(f"ci-deployer@{rng.choice(APPS)}-prod.iam.gserviceaccount.com", "EMAIL"))
    d.add("\nTo set the active account, run:\n    $ gcloud config set account `ACCOUNT`\n\n")
    if rng.random() < 0.5:
        d.add(shprompt(c) + "gcloud config list\n[core]\n")
        d.t("account = «e»\n", e=ps[0].emailL(True))
        d.add(f"disable_usage_reporting = False\nproject = {rng.choice(APPS)}-prod\n\nYour active configuration is: [default]\n")
    return d


def g_az_account(c, neg, i):
    rng = c.rng
    d = Doc("json")
    tenant = uuid4(rng)
    if neg:
        d.add(shprompt(c) + "az account show\n")
        jdump(d, {"environmentName": "AzureCloud", "homeTenantId": tenant, "id": uuid4(rng), "isDefault": True,
                  "managedByTenants": [], "name": f"{rng.choice(APPS)}-prod", "state": "Enabled", "tenantId": tenant,
                  "user": {"name": uuid4(rng), "type": "servicePrincipal"}}, 2)
        d.add("\n")
        return d
    p = world_person(c)
    k = rng.randrange(3)
    if k == 0:
        d.add(shprompt(c) + "az account show\n")
        jdump(d, {"environmentName": "AzureCloud", "homeTenantId": tenant, "id": uuid4(rng), "isDefault": True,
                  "managedByTenants": [], "name": rng.choice(["Pay-As-You-Go", "Visual Studio Enterprise", "Production"]),
                  "state": "Enabled", "tenantId": tenant, "user": {"name": p.emailL(True), "type": "user"}}, 2)
    elif k == 1:
        d.add(shprompt(c) + "az ad signed-in-user show\n")
        jdump(d, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity", "businessPhones":
                  [p.phoneL("intl", False)], "displayName": p.nameL(), "givenName": p.first, "id": uuid4(rng),
                  "jobTitle": p.job, "mail": p.emailL(True), "mobilePhone": None, "officeLocation": None,
                  "preferredLanguage": rng.choice(["en-US", "de-DE", "fr-FR", None]), "surname": p.last,
                  "userPrincipalName": p.emailL(True)}, 2)
        d.tags.add("split_fields")
    else:
        d.context = "shell"
        d.add(shprompt(c) + "az account list -o table\nName                      CloudName    SubscriptionId                        TenantId                              State    IsDefault\n"
              "------------------------  -----------  ------------------------------------  ------------------------------------  -------  -----------\n")
        for k2 in range(rng.randint(1, 3)):
            d.add(f"{rng.choice(['Production', 'Dev/Test', 'Pay-As-You-Go']):<26}AzureCloud   {uuid4(rng)}  {tenant}  Enabled  "
                  f"{'True' if k2 == 0 else 'False'}\n")
        d.add(shprompt(c) + "az account show --query user.name -o tsv\n")
        d.put(p.emailL(True))
        d.add("\n")
    d.add("\n")
    return d


def g_az_sp(c, neg, i):
    rng = c.rng
    d = Doc("json")
    app = rng.choice(APPS)
    if neg:
        if rng.random() < 0.5:
            d.add(shprompt(c) + f"az ad sp list --display-name {app}-ci --query '[].{{id:id, appId:appId}}'\n")
            jdump(d, [{"appId": uuid4(rng), "id": uuid4(rng)}], 2)
        else:
            d.context = "shell"
            d.add(shprompt(c) + "cat local.settings.json | jq .Values\n")
            jdump(d, {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "FUNCTIONS_WORKER_RUNTIME": "python",
                      "APPINSIGHTS_INSTRUMENTATIONKEY": uuid4(rng)}, 2)
        d.add("\n")
        return d
    if rng.random() < 0.55:
        d.add(shprompt(c) + f"az ad sp create-for-rbac --name {app}-ci --role contributor --scopes /subscriptions/{uuid4(rng)}\n")
        d.add("Creating 'contributor' role assignment under scope '/subscriptions/...'\n"
              "The output includes credentials that you must protect. Be sure that you do not include these credentials "
              "in your code or check the credentials into your source control. For more information, see "
              "https://aka.ms/azadsp-cli\n")
        jdump(d, {"appId": uuid4(rng), "displayName": f"{app}-ci",
                  "password": L(generic_secret(rng, "azure_client_secret")[0], "GENERIC_SECRET", "azure_client_secret"),
                  "tenant": uuid4(rng)}, 2)
    else:
        acct = f"{app}{rs(rng, LOW + DIG, 6)}"
        key = vendor_key(rng, "azure_storage")[0]
        if rng.random() < 0.5:
            d.add(shprompt(c) + f"az storage account show-connection-string -n {acct} -g rg-{app}\n")
            jdump(d, {"connectionString": Cat(f"DefaultEndpointsProtocol=https;EndpointSuffix=core.windows.net;AccountName={acct};AccountKey=",
                                              L(key, "VENDOR_API_KEY", "azure_storage"), ";BlobEndpoint=https://" + acct + ".blob.core.windows.net/")}, 2)
        else:
            d.add(shprompt(c) + f"az storage account keys list -n {acct} -g rg-{app}\n")
            jdump(d, [{"creationTime": ts_iso(rng, True)[:-1] + "+00:00", "keyName": "key1", "permissions": "FULL",
                       "value": L(key, "VENDOR_API_KEY", "azure_storage")},
                      {"creationTime": ts_iso(rng, True)[:-1] + "+00:00", "keyName": "key2", "permissions": "FULL",
                       "value": L(vendor_key(rng, "azure_storage")[0], "VENDOR_API_KEY", "azure_storage")}], 2)
    d.add("\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# keytool / openssl
# ---------------------------------------------------------------------------------------------------------

def dname_parts(c, person=None):
    rng = c.rng
    p = person
    loc = p.loc if p else rng.choice(["de_DE", "en_US", "fr_FR"])
    f = c.fk(loc)
    cc = LOCALES[loc][0]
    cn = p.nameL() if p else f"{rng.choice(APPS)}.{rng.choice(['example.com', 'acme.io', 'internal'])}"
    return ["CN=", cn, f", OU={rng.choice(['Engineering', 'IT', 'Platform', 'Mobile'])}, O={f.company().replace(',', '')}, "
                       f"L={f.city()}, C={cc}"]


def g_keytool(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    if neg:
        if rng.random() < 0.5:
            d.add(shprompt(c) + "keytool -list -v -keystore keystore.p12 -storepass:env STOREPASS | head -25\n")
            dd = rdate(rng)
            d.add(f"Keystore type: PKCS12\nKeystore provider: SUN\n\nYour keystore contains 1 entry\n\nAlias name: server\n"
                  f"Creation date: {dd.strftime('%b %d, %Y')}\nEntry type: PrivateKeyEntry\nCertificate chain length: 1\n"
                  f"Certificate[1]:\nOwner: CN={rng.choice(APPS)}.example.com, OU=Platform, O=Acme GmbH, L=Berlin, C=DE\n"
                  f"Issuer: CN=R11, O=Let's Encrypt, C=US\nSerial number: {rs(rng, HEX, 36)}\n"
                  f"Valid from: {dd.strftime('%a %b %d %H:%M:%S UTC %Y')} until: {(dd + dt.timedelta(days=90)).strftime('%a %b %d %H:%M:%S UTC %Y')}\n"
                  "Certificate fingerprints:\n"
                  f"\t SHA1: {':'.join(rs(rng, '0123456789ABCDEF', 2) for _ in range(20))}\n"
                  f"\t SHA256: {':'.join(rs(rng, '0123456789ABCDEF', 2) for _ in range(32))}\n"
                  "Signature algorithm name: SHA256withRSA\nSubject Public Key Algorithm: 2048-bit RSA key\nVersion: 3\n")
        else:
            d.add(shprompt(c) + "keytool -importkeystore -srckeystore server.p12 -srcstoretype PKCS12 \\\n"
                  "    -srcstorepass:file /run/secrets/p12pass -destkeystore server.jks -deststorepass:env JKS_PASS\n"
                  "Importing keystore server.p12 to server.jks...\nEntry for alias server successfully imported.\n"
                  "Import command completed:  1 entries successfully imported, 0 entries failed or cancelled\n")
        return d
    k = rng.randrange(3)
    if k == 0:
        p = Person(c, rng.choice(["de_DE", "en_US", "en_GB", "fr_FR", "es_ES", "pt_BR", "it_IT", "nl_NL", "pl_PL"]))
        pw = pwL(rng, safe=True)
        d.add(shprompt(c) + "keytool -genkeypair -alias signing -keyalg RSA -keysize 2048 -validity 3650 \\\n    -dname \"")
        d.put(dname_parts(c, p if rng.random() < 0.7 else None))
        d.t("\" \\\n    -keystore release.jks -storepass «p» -keypass «q»\n", p=shq(pw),
            q=shq(L(pw.value, "PASSWORD", pw.sub) if rng.random() < 0.5 else pwL(rng, safe=True)))
        d.add("Generating 2,048 bit RSA key pair and self-signed certificate (SHA384withRSA) with a validity of 3,650 days\n")
    elif k == 1:
        d.t("$ keytool -importkeystore -srckeystore server.p12 -srcstoretype PKCS12 -srcstorepass «a» \\\n"
            "    -destkeystore server.jks -deststoretype JKS -deststorepass «b» -noprompt\n"
            "Importing keystore server.p12 to server.jks...\n", a=shq(pwL(rng, safe=True)), b=shq(pwL(rng, safe=True)))
    else:
        d.t("$ jarsigner -keystore release.jks -storepass «a» -keypass «b» app-release-unsigned.apk signing\n"
            "jar signed.\n\nWarning:\nThe signer's certificate is self-signed.\n", a=shq(pwL(rng, safe=True)),
            b=shq(pwL(rng, safe=True)))
    return d


def g_openssl(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    if neg:
        k = rng.randrange(3)
        if k == 0:
            d.add(shprompt(c) + "openssl pkcs12 -export -in cert.pem -inkey key.pem -out bundle.p12 -passout env:P12_PASS\n")
        elif k == 1:
            d.add(shprompt(c) + "openssl rsa -in encrypted.key -out server.key -passin file:/run/secrets/keypass\nwriting RSA key\n")
        else:
            d.add(shprompt(c) + "openssl x509 -in cert.pem -noout -subject -fingerprint -sha256\n"
                  f"subject=CN = {rng.choice(APPS)}.example.com\n"
                  f"sha256 Fingerprint={':'.join(rs(rng, '0123456789ABCDEF', 2) for _ in range(32))}\n")
        d.add(shprompt(c) + "openssl version\nOpenSSL 3.0.13 30 Jan 2024 (Library: OpenSSL 3.0.13 30 Jan 2024)\n")
        return d
    k = rng.randrange(4)
    if k == 0:
        d.t("$ openssl pkcs12 -export -in cert.pem -inkey key.pem -certfile chain.pem -out bundle.p12 -passout pass:«p»\n",
            p=shq(pwL(rng, safe=True)))
    elif k == 1:
        d.t("$ openssl rsa -in encrypted.key -out server.key -passin pass:«p»\nwriting RSA key\n", p=shq(pwL(rng, safe=True)))
    elif k == 2:
        d.t(f"$ openssl enc -aes-256-cbc -pbkdf2 -salt -in backup-{rdate(rng).strftime('%Y%m%d')}.tar.gz -out backup.enc "
            f"{rng.choice(['-k', '-pass pass:'])}«p»\n".replace("-k«p»", "-k «p»"), p=shq(pwL(rng, safe=True)))
    else:
        p = Person(c, rng.choice(["de_DE", "en_US", "en_GB", "fr_FR", "es_ES", "it_IT", "nl_NL", "sv_SE"]))
        f = p.f
        d.t(f"$ openssl req -new -key server.key -out server.csr -subj \"/C={p.country}/L={f.city()}/O={f.company().replace('/', '-').replace(',', '')}"
            "/CN=«n»/emailAddress=«e»\"\n", n=p.nameL(), e=p.emailL(True))
    return d


# ---------------------------------------------------------------------------------------------------------
# connection strings
# ---------------------------------------------------------------------------------------------------------


def conn_wrap(c, d, body_parts, key="DATABASE_URL"):
    """Place a connection string in a realistic surrounding."""
    rng = c.rng
    k = rng.randrange(5)
    if k == 0:
        d.context = "config"
        d.add(f"# {rng.choice(['.env', 'config/.env.production', 'deploy/.env'])}\n")
        ek = {"JDBC": "SPRING_DATASOURCE_URL", "ODBC": "ConnectionStrings__Default"}.get(key, key)
        d.put([f"{ek}="] + body_parts + ["\n"])
    elif k == 1:
        d.context = "config"
        d.put([f"spring.datasource.url="] + body_parts + ["\n"] if key == "JDBC" else
              ["connection_string: \""] + body_parts + ["\"\n"] if key == "ODBC" else [f"{key.lower()}: \""] + body_parts + ["\"\n"])
    elif k == 2:
        d.context = "log"
        d.put([f"{ts_iso(rng, True)} INFO  [main] {rng.choice(['db', 'pool', 'HikariPool-1', 'app.db'])} - connecting to "]
              + body_parts + ["\n"])
    elif k == 3:
        d.context = "shell"
        ek = {"JDBC": "SPRING_DATASOURCE_URL", "ODBC": "ConnectionStrings__Default"}.get(key, key)
        d.put([shprompt(c) + "echo $" + ek + "\n"] + body_parts + ["\n"])
    else:
        d.context = "json"
        jdump(d, {"ConnectionStrings": {"Default": Cat(*body_parts)}} if key == "ODBC" else {"database": {"url": Cat(*body_parts)}}, 2)
        d.add("\n")


def g_conn_jdbc(c, neg, i):
    rng = c.rng
    d = Doc("config")
    host = rng.choice(DBHOSTS)
    db = rng.choice(APPS)
    pw = pwL(rng) if not neg else rng.choice(["${DB_PASSWORD}", "", "${jdbc.password}", "<password>"])
    if neg:
        d.tags.add("placeholder")
    k = rng.randrange(5)
    semi = ";" in plain(pw) if isinstance(pw, L) else False
    if k == 0:
        parts = [f"jdbc:postgresql://{host}:5432/{db}?user={db}_app&password=", pctL(pw) if isinstance(pw, L) else pw,
                 "&sslmode=require"]
    elif k == 1:
        parts = [f"jdbc:sqlserver://{host}:1433;databaseName={db};user=sa;password=",
                 Cat("{", pw, "}") if semi else pw, ";encrypt=true;trustServerCertificate=false"]
    elif k == 2:
        parts = [f"jdbc:mysql://{db}:", pctL(pw) if isinstance(pw, L) else pw, f"@{host}:3306/{db}?useSSL=true"]
    elif k == 3:
        parts = [f"jdbc:oracle:thin:{db}_owner/", pw, f"@//{host}:1521/ORCLPDB1"] if not neg or pw else \
            [f"jdbc:oracle:thin:@//{host}:1521/ORCLPDB1"]
    else:
        parts = [f"jdbc:db2://{host}:50000/{db.upper()}:user=db2inst1;password=", pw, ";"]
    if neg and not plain(parts[1] if len(parts) > 1 else ""):
        pass
    conn_wrap(c, d, parts, "JDBC")
    return d


def g_conn_odbc(c, neg, i):
    rng = c.rng
    d = Doc("config")
    host = rng.choice(["tcp:" + rng.choice(APPS) + "-sql.database.windows.net,1433", "sql01.corp.local", "(localdb)\\MSSQLLocalDB",
                       "10.0.4.20,1433"])
    db = rng.choice(APPS)
    if neg:
        body = rng.choice([f"Server={host};Database={db};Trusted_Connection=True;TrustServerCertificate=True;",
                           f"Server={host};Database={db};Integrated Security=SSPI;",
                           f"Server={host};Authentication=Active Directory Managed Identity;Database={db};",
                           f"Driver={{ODBC Driver 18 for SQL Server}};Server={host};Database={db};Uid=app;Pwd=${{SQL_PASSWORD}};"])
        conn_wrap(c, d, [body], "ODBC")
        return d
    pw = pwL(rng)
    if any(ch in pw.value for ch in ";{}=") or rng.random() < 0.2:
        pwp = Cat("{", pw, "}")
    else:
        pwp = pw
    k = rng.randrange(3)
    if k == 0:
        parts = [f"Driver={{ODBC Driver 18 for SQL Server}};Server={host};Database={db};Uid={db}_app;Pwd=", pwp,
                 ";Encrypt=yes;TrustServerCertificate=no;Connection Timeout=30;"]
    elif k == 1:
        parts = [f"Server={host};Database={db};User Id={db}_app;Password=", pwp, ";MultipleActiveResultSets=true"]
    else:
        parts = [f"Host={rng.choice(DBHOSTS)};Port=5432;Database={db};Username={db};Password=", pwp,
                 ";SSL Mode=Require;Trust Server Certificate=true"]
    conn_wrap(c, d, parts, "ODBC")
    return d


def g_conn_mongodb(c, neg, i):
    rng = c.rng
    d = Doc("config")
    user = rng.choice(["app", "admin", "root", rng.choice(APPS) + "_rw"])
    cl = f"cluster{rng.randint(0, 3)}.{rs(rng, LOW + DIG, 5)}.mongodb.net"
    if neg:
        body = rng.choice([f"mongodb+srv://{user}:<db_password>@{cl}/?retryWrites=true&w=majority&appName=Cluster0",
                           "mongodb://localhost:27017/" + rng.choice(APPS),
                           f"mongodb://mongo-0.mongo,mongo-1.mongo,mongo-2.mongo:27017/{rng.choice(APPS)}?replicaSet=rs0",
                           f"mongodb+srv://{user}:${{MONGO_PASSWORD}}@{cl}/app"])
        d.tags.add("placeholder")
        conn_wrap(c, d, [body], "MONGODB_URI")
        return d
    pw = pwL(rng)
    enc = pctL(pw)
    if rng.random() < 0.6:
        parts = [f"mongodb+srv://{user}:", enc, f"@{cl}/{rng.choice(APPS)}?retryWrites=true&w=majority"]
    else:
        parts = [f"mongodb://{user}:", enc, f"@mongo-0.mongo:27017,mongo-1.mongo:27017/{rng.choice(APPS)}?replicaSet=rs0&authSource=admin"]
    if rng.random() < 0.3:
        d.context = "shell"
        d.put([shprompt(c) + "mongosh \""] + parts + ["\"\nCurrent Mongosh Log ID:\t" + rs(rng, HEX, 24) +
                                                     "\nConnecting to:\t\t" + parts[0].split(":")[0] + "://<credentials>@" +
                                                     parts[2].lstrip("@") + "\nUsing MongoDB:\t\t7.0.12\nUsing Mongosh:\t\t2.2.10\n"])
    else:
        conn_wrap(c, d, parts, "MONGODB_URI")
    return d


def g_conn_redis(c, neg, i):
    rng = c.rng
    d = Doc("config")
    host = rng.choice(["redis", "redis-master.cache.svc.cluster.local", f"{rng.choice(APPS)}.abc123.ng.0001.euw1.cache.amazonaws.com",
                       f"redis-{rng.randint(10000, 19999)}.c{rng.randint(1, 300)}.eu-west-1-2.ec2.redns.redis-cloud.com"])
    if neg:
        k = rng.randrange(3)
        if k == 0:
            conn_wrap(c, d, [f"redis://{host}:6379/0"], "REDIS_URL")
        elif k == 1:
            d.add("$ grep -n requirepass /etc/redis/redis.conf\n1044:# requirepass foobared\n")
            d.tags.add("hard")
        else:
            d.context = "shell"
            d.add(shprompt(c) + f"redis-cli -h {host} --askpass PING\nPlease input password: \nPONG\n")
        return d
    pw = pwL(rng, safe=True)
    k = rng.randrange(4)
    if k == 0:
        conn_wrap(c, d, [f"redis://:", pctL(pw), f"@{host}:6379/0"], "REDIS_URL")
    elif k == 1:
        conn_wrap(c, d, ["rediss://default:", pctL(pw), f"@{host}:6380"], "REDIS_URL")
    elif k == 2:
        d.context = "shell"
        d.t(f"$ redis-cli -h {host} -p 6379 -a '«p»' INFO server | head -3\n"
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n"
            "# Server\nredis_version:7.2.4\n", p=pw)
    else:
        d.t("$ grep -n requirepass /etc/redis/redis.conf\n1044:# requirepass foobared\n1045:requirepass «p»\n", p=pw)
    return d


def g_conn_amqp(c, neg, i):
    rng = c.rng
    d = Doc("config")
    host = rng.choice(["rabbitmq", "rabbit.internal", f"b-{uuid4(rng)}.mq.eu-west-1.amazonaws.com", "localhost"])
    if neg:
        k = rng.randrange(3)
        if k == 0:
            d.tags.add("hard")
            conn_wrap(c, d, ["amqp://guest:guest@localhost:5672//"], "CELERY_BROKER_URL")
        elif k == 1:
            conn_wrap(c, d, [f"amqp://{host}:5672/"], "AMQP_URL")
        else:
            d.context = "shell"
            d.add(shprompt(c) + "rabbitmqctl list_users\nListing users ...\nuser\ttags\nguest\t[administrator]\n"
                  f"{rng.choice(APPS)}\t[]\n")
        return d
    pw = pwL(rng, safe=True)
    user = rng.choice(APPS)
    k = rng.randrange(3)
    if k == 0:
        conn_wrap(c, d, [f"amqp://{user}:", pctL(pw), f"@{host}:5672/{rng.choice(['%2F', 'prod', user])}"], "AMQP_URL")
    elif k == 1:
        d.context = "code"
        d.t(f"# celeryconfig.py\nbroker_url = \"amqps://{user}:«p»@{host}:5671/{user}\"\nresult_backend = \"rpc://\"\n"
            "task_serializer = \"json\"\n", p=pctL(pw))
    else:
        d.context = "shell"
        d.t(f"$ rabbitmqctl add_user {user} '«p»'\nAdding user \"{user}\" ...\nDone. Don't forget to grant the user permissions "
            "to some virtual hosts! See 'rabbitmqctl help set_permissions' to learn more.\n", p=pw)
    return d


def g_conn_url(c, neg, i):
    rng = c.rng
    d = Doc("config")
    if neg:
        d.tags.add("placeholder")
        body = rng.choice(["postgres://app@db.internal:5432/app", "smtp://apikey:***@smtp.sendgrid.net:587",
                           "https_proxy=http://proxy.corp.local:3128", "ftp://anonymous@ftp.gnu.org/gnu/",
                           "postgresql://%s:%s@%s:%s/%s", "postgres://user:password@localhost:5432/dbname",
                           "https://${NEXUS_USER}:${NEXUS_PASS}@nexus.example.net/repository/pypi/simple"])
        d.add(f"{rng.choice(['url', 'DSN', 'proxy', 'index-url'])} = {body}\n")
        return d
    pw = pwL(rng)
    k = rng.randrange(5)
    if k == 0:
        d.t(f"SQLALCHEMY_DATABASE_URI=postgresql+psycopg2://{rng.choice(APPS)}:«p»@{rng.choice(DBHOSTS)}:5432/{rng.choice(APPS)}\n",
            p=pctL(pw))
    elif k == 1:
        d.t("EMAIL_URL=smtp+tls://«u»:«p»@smtp.office365.com:587\n", u=pctL(world_person(c).emailL(True)), p=pctL(pw))
    elif k == 2:
        d.context = "shell"
        d.t(f"$ export https_proxy=http://{rng.choice(USERS_UNIX)}:«p»@proxy.corp.local:3128\n", p=pctL(pw))
    elif k == 3:
        d.context = "shell"
        v, sub = vendor_key(rng, rng.choice(["pypi", "npm"])) if rng.random() < 0.3 else (pw.value, pw.sub)
        ty = "VENDOR_API_KEY" if v != pw.value else "PASSWORD"
        d.t("$ pip install --index-url https://«u»:«p»@nexus.example.net/repository/pypi/simple internal-lib==2.3.1\n",
            u=rng.choice(USERS_UNIX), p=pctL(L(v, ty, sub)))
    else:
        d.t(f"ftp://{rng.choice(USERS_UNIX)}:«p»@ftp.{rng.choice(['partner', 'supplier', 'bank'])}-example.com/outgoing/\n",
            p=pctL(pw))
    return d


# ---------------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------------

API_HOSTS = ["api.example-app.io", "api.acme-payments.com", "internal-api.corp.example.net", "api.shopify-store.example",
             "crm.example.org", "hooks.partner-example.com", "api.github.com", "gitlab.com", "api.stripe.com"]
UA = ["curl/8.5.0", "curl/7.88.1", "HTTPie/3.2.2", "python-requests/2.31.0", "axios/1.6.7", "PostmanRuntime/7.36.3"]


def curl_preamble(c, d, host, neg=False):
    rng = c.rng
    if rng.random() < 0.5 or neg:
        ip = rng.choice([private_ipv4(rng).replace("127.0.0.", "10.1.0."), "2606:4700::6812:1b2c"[:0] or private_ipv4(rng)])
        d.add(f"*   Trying {ip}:443...\n* Connected to {host} ({ip}) port 443\n")
    else:
        ip = L(public_ipv4(rng), "IP_ADDRESS", "v4")
        d.t(f"*   Trying «ip»:443...\n* Connected to {host} («ip2») port 443\n", ip=ip, ip2=L(ip.value, "IP_ADDRESS", "v4"))
    d.add("* ALPN: curl offers h2,http/1.1\n* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384\n"
          f"* Server certificate:\n*  subject: CN={host}\n*  expire date: {rdate(rng).strftime('%b %d %H:%M:%S %Y')} GMT\n")


def http_response_tail(c, d, status=200):
    rng = c.rng
    d.add(f"< HTTP/2 {status}\n< date: {rfc2822(rdate(rng), 'GMT')}\n< content-type: application/json; charset=utf-8\n"
          f"< x-request-id: {uuid4(rng)}\n<\n")
    d.add(rng.choice(['{"status":"ok"}', '{"data":[],"has_more":false}', '{"id":' + str(rng.randint(1, 9999)) + '}']) + "\n")


def g_http_basic(c, neg, i):
    rng = c.rng
    d = Doc("http")
    host = rng.choice(API_HOSTS)
    user = rng.choice(["admin", "api", "svc-" + rng.choice(APPS), rng.choice(USERS_UNIX), world_person(c).email])
    path = rng.choice(["/v1/status", "/api/v2/orders?limit=10", "/repository/releases/", "/service/rest/v1/components"])
    if neg:
        d.tags.add("placeholder")
        k = rng.randrange(3)
        if k == 0:
            d.add(shprompt(c) + f"curl -v -u \"$API_USER:$API_PASS\" https://{host}{path}\n")
            curl_preamble(c, d, host, True)
            d.add(f"* Server auth using Basic with user '$API_USER'\n> GET {path} HTTP/2\n> Host: {host}\n"
                  "> Authorization: Basic <redacted>\n> User-Agent: curl/8.5.0\n> Accept: */*\n>\n")
            http_response_tail(c, d)
        elif k == 1:
            d.add(f"GET {path} HTTP/1.1\nHost: {host}\nAuthorization: Basic {rng.choice(['<credentials>', '${BASIC_AUTH}', '{{basicAuth}}'])}\n"
                  f"Accept: application/json\n\n")
        else:
            d.add(f"HTTP/1.1 401 Unauthorized\nDate: {rfc2822(rdate(rng), 'GMT')}\nWWW-Authenticate: Basic realm=\"{host}\", charset=\"UTF-8\"\n"
                  "Content-Length: 0\n\n")
        return d
    pw = pwL(rng, safe=True)
    if "@" in user:
        user_l = L(user, "EMAIL")
    else:
        user_l = user
    basic = L(b64(f"{user}:{pw.value}"), "PASSWORD", "basic_b64")
    k = rng.randrange(3)
    if k == 0:
        d.add(shprompt(c))
        d.t(f"curl -v -u '«u»:«p»' https://{host}{path}\n", u=user_l, p=pw)
        curl_preamble(c, d, host)
        d.t(f"* Server auth using Basic with user '«u»'\n> GET {path} HTTP/2\n> Host: {host}\n> Authorization: Basic «b»\n"
            f"> User-Agent: {rng.choice(UA)}\n> Accept: */*\n>\n",
            u=L(user, "EMAIL") if "@" in user else user, b=basic)
        http_response_tail(c, d)
    elif k == 1:
        d.t(f"POST {path} HTTP/1.1\nHost: {host}\nAuthorization: Basic «b»\nContent-Type: application/json\n"
            f"User-Agent: {rng.choice(UA)}\nContent-Length: {rng.randint(20, 400)}\n\n{{\"dry_run\": true}}\n", b=basic)
    else:
        d.context = "log"
        d.t(f"{ts_iso(rng, True)} DEBUG urllib3.connectionpool: https://{host}:443 \"GET {path} HTTP/1.1\" 200 None\n"
            f"{ts_iso(rng, True)} DEBUG http.client: send: b'GET {path} HTTP/1.1\\r\\nHost: {host}\\r\\nUser-Agent: "
            "python-requests/2.31.0\\r\\nAccept: */*\\r\\nAuthorization: Basic «b»\\r\\n\\r\\n'\n", b=basic)
    return d


def bearer_value(c):
    rng = c.rng
    r = rng.random()
    if r < 0.35:
        return L(jwt(rng)[0], "JWT", None)
    if r < 0.55:
        return L(rs(rng, B64URL, rng.randint(32, 64)), "GENERIC_SECRET", "opaque")
    v, sub, ty = any_token(rng)
    return L(v, ty, sub)


def g_http_bearer(c, neg, i):
    rng = c.rng
    d = Doc("http")
    host = rng.choice(API_HOSTS)
    path = rng.choice(["/v1/users/me", "/api/v2/orders?limit=10", "/repos/acme/api/actions/runs", "/v1/chat/completions",
                       "/api/v4/projects/42/pipelines"])
    if neg:
        d.tags.add("placeholder")
        k = rng.randrange(3)
        if k == 0:
            d.add(shprompt(c) + f"curl -sS -H \"Authorization: Bearer $TOKEN\" https://{host}{path} | jq .\n")
            d.add(json.dumps({"error": {"code": "unauthorized", "message": "Token expired", "request_id": uuid4(rng)}}, indent=2) + "\n")
        elif k == 1:
            d.add(f"GET {path} HTTP/1.1\nHost: {host}\nAuthorization: Bearer {rng.choice(['<token>', '{{access_token}}', '<ACCESS_TOKEN>', '${TOKEN}'])}\n"
                  f"Accept: application/json\n\n")
        else:
            d.add(f"< HTTP/2 401\n< www-authenticate: Bearer realm=\"{host}\", error=\"invalid_token\", error_description=\"The access token expired\"\n"
                  f"< x-request-id: {uuid4(rng)}\n< content-length: 0\n")
        return d
    tok = bearer_value(c)
    scheme = "token" if tok.type == "GITHUB_TOKEN" and rng.random() < 0.5 else "Bearer"
    k = rng.randrange(3)
    if k == 0:
        d.add(shprompt(c))
        d.t(f"curl -v -H \"Authorization: {scheme} «t»\" https://{host}{path}\n", t=tok)
        curl_preamble(c, d, host)
        d.t(f"> GET {path} HTTP/2\n> Host: {host}\n> Authorization: {scheme} «t»\n> User-Agent: curl/8.5.0\n> Accept: */*\n>\n",
            t=L(tok.value, tok.type, tok.sub))
        http_response_tail(c, d)
    elif k == 1:
        d.context = "shell"
        d.add(shprompt(c))
        d.t(f"http GET https://{host}{path} 'Authorization:{scheme} «t»'\nHTTP/1.1 200 OK\nContent-Type: application/json\n\n"
            "{\n    \"ok\": true\n}\n", t=tok)
    else:
        d.add("# Copy as cURL (bash)\n")
        d.t(f"curl 'https://{host}{path}' \\\n  -H 'accept: application/json, text/plain, */*' \\\n"
            f"  -H 'accept-language: {rng.choice(['en-US,en;q=0.9', 'de-DE,de;q=0.9,en;q=0.8', 'pt-BR,pt;q=0.9'])}' \\\n"
            f"  -H 'authorization: {scheme} «t»' \\\n  -H 'origin: https://app.{host.split('.', 1)[1]}' \\\n"
            "  -H 'user-agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/122.0.0.0 Safari/537.36'\n", t=tok)
    return d


def session_cookie(c):
    rng = c.rng
    k = rng.randrange(7)
    if k == 0:
        return "sessionid", L(rs(rng, LOW + DIG, 32), "GENERIC_SECRET", "session")
    if k == 1:
        return "PHPSESSID", L(rs(rng, LOW + DIG, 26), "GENERIC_SECRET", "session")
    if k == 2:
        return "JSESSIONID", L(rs(rng, "0123456789ABCDEF", 32), "GENERIC_SECRET", "session")
    if k == 3:
        return "connect.sid", L("s%3A" + rs(rng, B64URL, 32) + "." + rs(rng, B64, 43).replace("+", "%2B").replace("/", "%2F"),
                                "GENERIC_SECRET", "session")
    if k == 4:
        return f"_{rng.choice(APPS)}_session", L(rs(rng, B64, 120) + "--" + rs(rng, HEX, 40), "GENERIC_SECRET", "session")
    if k == 5:
        return "access_token", L(jwt(rng)[0], "JWT", None)
    return "session", L(b64url(json.dumps({"_fresh": True, "_id": rs(rng, HEX, 128)[:64]})) + "." +
                        rs(rng, B64URL, 6) + "." + rs(rng, B64URL, 27), "GENERIC_SECRET", "session")


def g_http_cookies(c, neg, i):
    rng = c.rng
    d = Doc("http")
    host = rng.choice(API_HOSTS)
    nonsecret = [f"_ga=GA1.1.{rng.randint(100000000, 999999999)}.{rng.randint(1600000000, 1760000000)}",
                 f"theme={rng.choice(['dark', 'light'])}", f"lang={rng.choice(['en', 'de', 'pt-BR'])}",
                 "cookieconsent_status=dismiss", f"_gid=GA1.2.{rng.randint(100000000, 999999999)}.{rng.randint(1600000000, 1760000000)}",
                 f"tz={rng.choice(['Europe%2FBerlin', 'UTC'])}"]
    if neg:
        if rng.random() < 0.5:
            d.add(f"GET /{rng.choice(['pricing', 'docs', 'blog/release-notes'])} HTTP/1.1\nHost: {host}\nCookie: "
                  + "; ".join(rng.sample(nonsecret, 3)) + "\nAccept: text/html\n\n")
        else:
            d.add(f"HTTP/1.1 200 OK\nContent-Type: text/html; charset=utf-8\nSet-Cookie: {rng.choice(nonsecret)}; Path=/; Max-Age=31536000\n"
                  f"Set-Cookie: {rng.choice(nonsecret)}; Path=/; SameSite=Lax\nETag: W/\"{rs(rng, HEX, 32)}\"\nCache-Control: public, max-age=300\n\n")
        return d
    if rng.random() < 0.5:
        name, v = session_cookie(c)
        parts = [f"{name}=", v]
        if rng.random() < 0.5:
            parts += ["; csrftoken=", L(rs(rng, ALNUM, 32), "GENERIC_SECRET", "csrf")]
        ns = rng.sample(nonsecret, 2)
        d.add(f"> GET /{rng.choice(['account', 'dashboard', 'api/v1/me'])} HTTP/2\n> Host: {host}\n> Cookie: {ns[0]}; ")
        d.put(parts)
        d.add(f"; {ns[1]}\n> User-Agent: Mozilla/5.0\n>\n")
    else:
        d.context = "http"
        d.add(shprompt(c) + f"curl -si -X POST https://{host}/login -d @creds.json | head -n 12\n")
        d.add(f"HTTP/1.1 302 Found\nDate: {rfc2822(rdate(rng), 'GMT')}\nLocation: /dashboard\n")
        for _ in range(rng.randint(1, 2)):
            name, v = session_cookie(c)
            d.t(f"Set-Cookie: {name}=«v»; Path=/; HttpOnly; Secure; SameSite=Lax\n", v=v)
        d.add(f"Set-Cookie: {rng.choice(nonsecret)}; Path=/\nContent-Length: 0\n\n")
    return d


def g_http_api_key_header(c, neg, i):
    rng = c.rng
    d = Doc("http")
    if neg:
        host = rng.choice(API_HOSTS)
        d.add(f"> GET /v1/items HTTP/1.1\n> Host: {host}\n> X-Request-ID: {uuid4(rng)}\n"
              f"> X-Amzn-Trace-Id: Root=1-{rs(rng, HEX, 8)}-{rs(rng, HEX, 24)}\n"
              f"> traceparent: 00-{rs(rng, HEX, 32)}-{rs(rng, HEX, 16)}-01\n> If-None-Match: \"{rs(rng, HEX, 32)}\"\n"
              f"> X-API-Key: {rng.choice(['${API_KEY}', '<your-api-key>', 'YOUR_API_KEY'])}\n>\n< HTTP/1.1 304 Not Modified\n"
              f"< ETag: \"{rs(rng, HEX, 32)}\"\n")
        d.tags.add("placeholder")
        return d
    k = rng.randrange(6)
    if k == 0:
        d.t("$ curl https://api.anthropic.com/v1/messages \\\n  -H \"x-api-key: «k»\" \\\n  -H \"anthropic-version: 2023-06-01\" \\\n"
            "  -H \"content-type: application/json\" \\\n  -d '{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": 256, "
            "\"messages\": [{\"role\": \"user\", \"content\": \"ping\"}]}'\n", k=L(*anthropic_key(rng)[:1], "ANTHROPIC_API_KEY", "api03"))
    elif k == 1:
        d.t("POST /v1beta/models/gemini-1.5-flash:generateContent HTTP/1.1\nHost: generativelanguage.googleapis.com\n"
            "x-goog-api-key: «k»\nContent-Type: application/json\n\n", k=L(google_key(rng), "GOOGLE_API_KEY"))
    elif k == 2:
        res = rs(rng, LOW, 8)
        d.t(f"$ curl https://{res}.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-02-01 \\\n"
            "  -H \"api-key: «k»\" -H \"Content-Type: application/json\" -d @req.json\n",
            k=L(rs(rng, HEX, 32), "GENERIC_SECRET", "azure_openai"))
    elif k == 3:
        v, sub = gitlab_token(rng)
        d.t("$ curl --header \"PRIVATE-TOKEN: «k»\" \"https://gitlab.com/api/v4/projects/4242/jobs?scope=failed\"\n",
            k=L(v, "GITLAB_TOKEN", sub))
    elif k == 4:
        d.t("> POST /api/v2/series HTTP/1.1\n> Host: api.datadoghq.eu\n> DD-API-KEY: «k»\n> Content-Type: application/json\n>\n",
            k=L(rs(rng, HEX, 32), "GENERIC_SECRET", "datadog"))
    else:
        v, sub, ty = any_token(rng) if rng.random() < 0.5 else (rs(rng, ALNUM, 40), "opaque", "GENERIC_SECRET")
        d.t(f"GET /v2/reports?from=2024-01-01 HTTP/1.1\nHost: {rng.choice(API_HOSTS)}\nX-API-Key: «k»\nAccept: application/json\n\n",
            k=L(v, ty, sub))
    return d


def g_http_oauth(c, neg, i):
    rng = c.rng
    d = Doc("http")
    idp = rng.choice(["login.microsoftonline.com/" + uuid4(rng), "oauth2.googleapis.com", "auth.example-app.io",
                      f"{rs(rng, LOW, 8)}.eu.auth0.com", "keycloak.corp.example.net/realms/main/protocol/openid-connect"])
    if neg:
        if rng.random() < 0.5:
            d.add(shprompt(c) + f"curl -s https://{idp}/.well-known/openid-configuration | jq '{{issuer, token_endpoint, jwks_uri}}'\n")
            d.add(json.dumps({"issuer": f"https://{idp}/", "token_endpoint": f"https://{idp}/oauth/token",
                              "jwks_uri": f"https://{idp}/.well-known/jwks.json"}, indent=2) + "\n")
        else:
            d.add(shprompt(c) + f"curl -s https://{idp}/.well-known/jwks.json\n")
            d.add(json.dumps({"keys": [{"kty": "RSA", "use": "sig", "kid": rs(rng, B64URL, 27), "alg": "RS256",
                                        "n": rs(rng, B64URL, 342), "e": "AQAB"}]}, indent=2) + "\n")
        return d
    cid = uuid4(rng)
    if rng.random() < 0.5:
        d.t(f"$ curl -s -X POST https://{idp}/oauth2/v2.0/token \\\n  -d grant_type=client_credentials \\\n  -d client_id={cid} \\\n"
            "  -d client_secret=«s» \\\n  -d scope=https%3A%2F%2Fgraph.microsoft.com%2F.default\n",
            s=L(generic_secret(rng, rng.choice(["azure_client_secret", "b64url"]))[0], "GENERIC_SECRET", "client_secret"))
    else:
        d.add(f"$ curl -s -X POST https://{idp}/token -d grant_type=authorization_code -d code=$CODE -d redirect_uri=http://localhost:8080/cb\n")
    obj = {"access_token": L(jwt(rng)[0], "JWT", None) if rng.random() < 0.6 else
           L(generic_secret(rng, "ya29")[0], "GENERIC_SECRET", "ya29"),
           "expires_in": rng.choice([3599, 3600, 86400]), "token_type": "Bearer"}
    if rng.random() < 0.6:
        obj["refresh_token"] = L(rs(rng, B64URL, rng.randint(40, 100)), "GENERIC_SECRET", "refresh_token")
    if rng.random() < 0.5:
        p = world_person(c)
        iat = rng.randint(1_690_000_000, 1_760_000_000)
        obj["id_token"] = L(jwt(rng, "RS256", {"iss": f"https://{idp}/", "sub": rs(rng, DIG, 21), "aud": cid,
                                                "email": p.email, "name": p.name, "iat": iat, "exp": iat + 3600})[0],
                            "JWT", "RS256")
        obj["scope"] = "openid profile email"
    jdump(d, obj, 2 if rng.random() < 0.5 else 0, compact=False)
    d.add("\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------------


def hesc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def hL(x):
    e = hesc(x.value)
    return L(e, x.type, x.sub)


def g_html_form(c, neg, i):
    rng = c.rng
    d = Doc("http")
    d.add(rng.choice([shprompt(c) + f"curl -s https://{rng.choice(API_HOSTS)}/account/settings -b cookies.txt | sed -n '40,70p'\n",
                      "<!-- view-source: /users/sign_in -->\n", ""]))
    fw = rng.choice(["django", "rails", "plain"])
    d.add(f"<form method=\"post\" action=\"{rng.choice(['/accounts/login/', '/users/sign_in', '/settings/profile', '/login'])}\""
          " class=\"form-horizontal\">\n")
    tname = {"django": "csrfmiddlewaretoken", "rails": "authenticity_token", "plain": "_token"}[fw]
    if neg:
        d.add(f"  <input type=\"hidden\" name=\"{tname}\" value=\"{rng.choice(['{{ csrf_token }}', '<%= form_authenticity_token %>', '{{ csrf_token() }}'])}\">\n"
              "  <label for=\"email\">Email</label>\n  <input type=\"email\" name=\"email\" id=\"email\" placeholder=\"Email address\" required>\n"
              "  <label for=\"password\">Password</label>\n  <input type=\"password\" name=\"password\" id=\"password\" value=\"\" "
              "placeholder=\"Password\" autocomplete=\"current-password\">\n")
        if rng.random() < 0.5:
            d.add("  <input type=\"hidden\" name=\"next\" value=\"/dashboard\">\n"
                  f"  <input type=\"hidden\" name=\"build\" value=\"{sha1hex(rng)}\">\n")
        d.add("  <button type=\"submit\" class=\"btn btn-primary\">Sign in</button>\n</form>\n")
        return d
    tok = rs(rng, ALNUM, 64) if fw == "django" else rs(rng, B64URL, 86) if fw == "rails" else rs(rng, ALNUM, 40)
    d.t(f"  <input type=\"hidden\" name=\"{tname}\" value=\"«t»\">\n", t=L(tok, "GENERIC_SECRET", "csrf"))
    p = world_person(c)
    d.t("  <label for=\"email\">Email</label>\n  <input type=\"email\" name=\"email\" id=\"email\" value=\"«e»\" autocomplete=\"username\">\n",
        e=p.emailL())
    if rng.random() < 0.7:
        d.t("  <input type=\"password\" name=\"password\" id=\"password\" value=\"«p»\" autocomplete=\"current-password\">\n",
            p=hL(pwL(rng)))
    if rng.random() < 0.5:
        v, sub, ty = any_token(rng)
        d.t("  <label>API token</label>\n  <input type=\"text\" readonly class=\"mono\" name=\"api_token\" value=\"«t»\">\n",
            t=L(v, ty, sub))
    if rng.random() < 0.4:
        d.t("  <input type=\"hidden\" name=\"api_token\" value=\"«t»\">\n", t=L(rs(rng, HEX, 40), "GENERIC_SECRET", "api_token"))
    d.add("  <button type=\"submit\">Save</button>\n</form>\n")
    return d


def g_html_profile(c, neg, i):
    rng = c.rng
    d = Doc("http")
    if neg:
        prod = rng.choice(["Aurora Desk Lamp", "Nimbus Pro 14", "Trail Runner GTX", "Basalt Espresso Grinder"])
        d.add(f"<main class=\"product\">\n  <h1>{prod}</h1>\n  <p class=\"sku\">SKU {rs(rng, UP, 3)}-{rs(rng, DIG, 6)}</p>\n"
              f"  <table class=\"pricing\">\n    <tr><th>Plan</th><th>Price</th></tr>\n    <tr><td>Basic</td><td>€{rng.randint(5, 40)}.00</td></tr>\n"
              f"    <tr><td>Pro</td><td>€{rng.randint(41, 200)}.00</td></tr>\n  </table>\n</main>\n"
              f"<footer>© 2024 {rng.choice(['Acme GmbH', 'Nordlicht AG', 'Bluepeak Ltd'])} · Registergericht Amtsgericht Berlin HRB {rs(rng, DIG, 6)} · "
              f"USt-IdNr. DE{rs(rng, DIG, 9)} · v{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}</footer>\n")
        return d
    lang = rng.choice(["en", "en", "de", "fr", "es", "pt", "it", "nl"])
    p = Person(c, lang=lang, need_addr=True)
    d.lang = lang
    lab = {"en": ("Name", "Email", "Phone", "Shipping address", "Order"), "de": ("Name", "E-Mail", "Telefon", "Lieferadresse", "Bestellung"),
           "fr": ("Nom", "E-mail", "Téléphone", "Adresse de livraison", "Commande"),
           "es": ("Nombre", "Correo electrónico", "Teléfono", "Dirección de envío", "Pedido"),
           "pt": ("Nome", "E-mail", "Telefone", "Endereço de entrega", "Pedido"),
           "it": ("Nome", "E-mail", "Telefono", "Indirizzo di spedizione", "Ordine"),
           "nl": ("Naam", "E-mail", "Telefoon", "Afleveradres", "Bestelling")}[lang]
    if rng.random() < 0.5:
        d.add(f"<h2>{lab[4]} #{rng.randint(100000, 999999)}</h2>\n<dl class=\"customer\">\n")
        d.t(f"  <dt>{lab[0]}</dt><dd>«n»</dd>\n  <dt>{lab[1]}</dt><dd><a href=\"mailto:«e»\">«e2»</a></dd>\n"
            f"  <dt>{lab[2]}</dt><dd>«ph»</dd>\n", n=hL(p.nameL()), e=p.emailL(), e2=p.emailL(), ph=p.phoneL())
        if rng.random() < 0.5:
            d.t(f"  <dt>{lab[3]}</dt><dd>«a»</dd>\n", a=hL(L(p.addr["one"], "STREET_ADDRESS", p.loc)))
        else:
            d.t(f"  <dt>{lab[3]}</dt><dd>«a»</dd>\n", a=L(hesc(p.addr["street"]) + "<br>" + hesc(p.addr["city_line"] or ""),
                                                        "STREET_ADDRESS", p.loc + "+multiline"))
        d.add("</dl>\n")
    else:
        d.add("<form method=\"post\" action=\"/checkout/address\">\n")
        d.t("  <input name=\"full_name\" value=\"«n»\">\n  <input name=\"address_line1\" value=\"«a»\">\n",
            n=hL(p.nameL()), a=hL(L(p.addr["street"], "STREET_ADDRESS", p.loc)))
        d.add(f"  <input name=\"city_line\" value=\"{hesc(p.addr['city_line'] or '')}\">\n")
        d.t("  <input name=\"phone\" type=\"tel\" value=\"«ph»\">\n  <input name=\"email\" type=\"email\" value=\"«e»\">\n</form>\n",
            ph=p.phoneL(), e=p.emailL())
        d.tags.add("split_fields")
    return d


# ---------------------------------------------------------------------------------------------------------
# .env and config files
# ---------------------------------------------------------------------------------------------------------


def g_env_dotenv(c, neg, i):
    rng = c.rng
    d = Doc("config")
    fn = rng.choice([".env", ".env.production", ".env.local", "apps/api/.env"]) if not neg else \
        rng.choice([".env.example", ".env.sample", ".env.template", ".env.dist"])
    d.add(rng.choice([f"$ cat {fn}\n", shprompt(c) + f"cat {fn}\n", f"# {fn}\n"]))
    q = rng.choice(["", "\"", "'"])
    rows = []
    for k, v in env_plain_pairs(c, rng.randint(2, 5)):
        rows.append((k, v))
    if neg:
        d.tags.add("placeholder")
        for key in rng.sample(["DATABASE_URL", "DB_PASSWORD", "STRIPE_SECRET_KEY", "OPENAI_API_KEY", "JWT_SECRET",
                               "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SENDGRID_API_KEY", "GITHUB_TOKEN"], 4):
            val = {"DATABASE_URL": "postgres://user:password@localhost:5432/app",
                   "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
                   "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFI/K7MDENG/bPxRfiCYEXAMPLEKEY"}.get(
                key, rng.choice(["", "changeme", "your-" + key.lower().replace("_", "-") + "-here", "<" + key + ">", "xxx",
                                 "sk_test_...", "REPLACE_ME"]))
            rows.append((key, val))
    else:
        rows += env_secret_pairs(c, rng.randint(2, 5))
        if rng.random() < 0.3:
            p = world_person(c)
            rows.append(("ADMIN_EMAIL", p.emailL(True)))
    rng.shuffle(rows)
    for k, v in rows:
        pre = "export " if rng.random() < 0.1 else ""
        d.t(f"{pre}{k}={q}«v»{q}\n", v=v)
    return d


def g_env_shell(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    hist = rng.random() < 0.5
    d.add(shprompt(c) + ("history | tail -n 8\n" if hist else f"tail -n 8 ~/.{rng.choice(['bashrc', 'zshrc', 'profile'])}\n"))
    n = rng.randint(300, 1500)
    lines = []
    plain_cmds = ["git status", "cargo build --release", "kubectl get pods -n prod", "ls -la", "docker ps",
                  "export PATH=\"$HOME/.cargo/bin:$PATH\"", "export EDITOR=vim", "cd ~/src/" + rng.choice(APPS),
                  "export GOPATH=$HOME/go", "make test"]
    for _ in range(rng.randint(3, 5)):
        lines.append([rng.choice(plain_cmds)])
    if neg:
        lines += [["export GITHUB_TOKEN=$(gh auth token)"], ["export OPENAI_API_KEY=$(op read 'op://dev/openai/credential')"],
                  ["export DB_PASSWORD=\"$(pass show db/prod)\""], ["PGPASSWORD=$PGPASS psql -h db -U app"]]
        rng.shuffle(lines)
    else:
        k, v = env_secret_pairs(c, 1)[0]
        extra = [[f"export {k}=", v]]
        pw = pwL(rng, safe=True)
        extra.append(rng.choice([
            [f"PGPASSWORD='", pw, f"' psql -h {rng.choice(DBHOSTS)} -U postgres -d {rng.choice(APPS)}"],
            ["sshpass -p '", pw, f"' ssh {rng.choice(USERS_UNIX)}@{rng.choice(['bastion', 'web-01', '10.0.1.5'])}"],
            ["mysql -u root -p'", pw, f"' -h {rng.choice(DBHOSTS)} {rng.choice(APPS)}"],
            [f"export VAULT_TOKEN=", L(vendor_key(rng, 'vault')[0], "VENDOR_API_KEY", "vault")],
            [f"export HF_TOKEN=", L(vendor_key(rng, 'huggingface')[0], "VENDOR_API_KEY", "huggingface")]]))
        for e in extra:
            lines.insert(rng.randint(0, len(lines)), e)
    for ln, parts in enumerate(lines):
        d.add(f"{n + ln:5d}  " if hist else "")
        d.put(parts)
        d.add("\n")
    return d


def g_cfg_yaml(c, neg, i):
    rng = c.rng
    d = Doc("config")
    k = rng.randrange(5)
    if k == 0:
        d.add(rng.choice(["$ cat src/main/resources/application.yml\n", ""]))
        d.add(f"spring:\n  application:\n    name: {rng.choice(APPS)}\n  datasource:\n"
              f"    url: jdbc:postgresql://{rng.choice(DBHOSTS)}:5432/{rng.choice(APPS)}\n    username: {rng.choice(APPS)}\n")
        if neg:
            d.add("    password: ${DB_PASSWORD}\n  mail:\n    host: smtp.office365.com\n    username: ${MAIL_USER}\n"
                  "    password: ${MAIL_PASSWORD:}\n")
        else:
            p = world_person(c)
            d.t("    password: «p»\n  mail:\n    host: smtp.office365.com\n    port: 587\n    username: «u»\n    password: «q»\n",
                p=pwL(rng, safe=True), u=p.emailL(True), q=pwL(rng, safe=True))
        d.add("server:\n  port: 8080\nmanagement:\n  endpoints:\n    web:\n      exposure:\n        include: health,info\n")
    elif k == 1:
        d.add(rng.choice(["$ cat config/database.yml\n", ""]))
        d.add("default: &default\n  adapter: postgresql\n  encoding: unicode\n  pool: <%= ENV.fetch(\"RAILS_MAX_THREADS\") { 5 } %>\n\n"
              "production:\n  <<: *default\n  database: app_production\n  username: app\n")
        if neg:
            d.add("  password: <%= ENV[\"APP_DATABASE_PASSWORD\"] %>\n  host: <%= ENV[\"DB_HOST\"] %>\n")
        else:
            d.t("  password: \"«p»\"\n", p=pwL(rng))
            d.add(f"  host: {rng.choice(DBHOSTS)}\n")
    elif k == 2:
        d.add(rng.choice(["$ cat group_vars/all.yml\n", "$ cat inventories/prod/group_vars/all/vars.yml\n"]))
        d.add(f"ntp_server: pool.ntp.org\nnginx_worker_processes: auto\napp_version: \"{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}\"\n")
        if neg:
            d.tags.add("hard")
            d.add("db_password: \"{{ vault_db_password }}\"\nsmtp_password: \"{{ lookup('env', 'SMTP_PASSWORD') }}\"\n"
                  "api_key: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n")
            for _ in range(rng.randint(3, 5)):
                d.add("          " + rs(rng, HEX, 80) + "\n")
        else:
            p = world_person(c)
            d.t("db_password: \"«p»\"\nadmin_email: «e»\nslack_webhook: «w»\n", p=pwL(rng), e=p.emailL(True),
                w=L(slack_token(rng, "webhook")[0], "SLACK_TOKEN", "webhook"))
    elif k == 3:
        d.add("$ cat ~/.config/gh/hosts.yml\n")
        user = rng.choice(USERS_UNIX) + rs(rng, DIG, 2)
        if neg:
            d.add(f"github.com:\n    git_protocol: ssh\n    users:\n        {user}:\n    user: {user}\n")
        else:
            d.t(f"github.com:\n    git_protocol: https\n    users:\n        {user}:\n            oauth_token: «t»\n"
                f"    oauth_token: «t2»\n    user: {user}\n", t=L(*gh_token(rng, "gho")[:1], "GITHUB_TOKEN", "gho"),
                t2=L(gh_token(rng, "gho")[0], "GITHUB_TOKEN", "gho"))
    else:
        d.add(rng.choice(["$ cat charts/app/values-prod.yaml\n", "$ helm get values app -n prod\nUSER-SUPPLIED VALUES:\n"]))
        d.add(f"replicaCount: {rng.randint(2, 6)}\nimage:\n  repository: {rng.choice(REGISTRIES)}/{rng.choice(APPS)}\n"
              f"  tag: \"{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}\"\n")
        if neg:
            d.add("postgresql:\n  auth:\n    existingSecret: db-credentials\n    secretKeys:\n      adminPasswordKey: postgres-password\n"
                  "ingress:\n  enabled: true\n  hosts:\n    - host: app.example.com\n")
        else:
            d.t("postgresql:\n  auth:\n    postgresPassword: «p»\n    password: «q»\nsmtp:\n  apiKey: «k»\n",
                p=pwL(rng, safe=True), q=pwL(rng, safe=True), k=L(vendor_key(rng, "sendgrid")[0], "VENDOR_API_KEY", "sendgrid"))
    return d


def g_cfg_toml(c, neg, i):
    rng = c.rng
    d = Doc("config")
    k = rng.randrange(4)
    if neg:
        k2 = rng.randrange(3)
        if k2 == 0:
            d.add(f"$ cat Cargo.toml\n[package]\nname = \"{rng.choice(APPS)}\"\nversion = \"0.{rng.randint(1, 30)}.{rng.randint(0, 9)}\"\n"
                  "edition = \"2021\"\n\n[dependencies]\nserde = { version = \"1.0.203\", features = [\"derive\"] }\n"
                  "tokio = { version = \"1.38\", features = [\"full\"] }\nsha2 = \"0.10.8\"\n")
        elif k2 == 1:
            d.add("$ cat rust-toolchain.toml\n[toolchain]\nchannel = \"1.79.0\"\ncomponents = [\"rustfmt\", \"clippy\"]\n")
        else:
            d.add(f"$ cat pyproject.toml\n[project]\nname = \"{rng.choice(APPS)}\"\nversion = \"{rng.randint(0, 3)}.{rng.randint(0, 20)}.0\"\n"
                  "requires-python = \">=3.10\"\ndependencies = [\"httpx>=0.27\", \"pydantic>=2.7\"]\n\n"
                  "[tool.poetry.source]\nname = \"internal\"\nurl = \"https://nexus.example.net/repository/pypi/simple\"\n")
        return d
    if k == 0:
        d.t("$ cat ~/.cargo/credentials.toml\n[registry]\ntoken = \"«t»\"\n",
            t=L("cio" + rs(rng, ALNUM, 32), "GENERIC_SECRET", "crates_io"))
        if rng.random() < 0.5:
            d.t("\n[registries.internal]\ntoken = \"Bearer «t»\"\n", t=L(rs(rng, B64URL, 40), "GENERIC_SECRET", "opaque"))
    elif k == 1:
        d.add(f"$ cat config.toml\n[server]\nhost = \"0.0.0.0\"\nport = {rng.choice([3000, 8080])}\n\n[database]\n"
              f"url = \"postgres://{rng.choice(APPS)}@{rng.choice(DBHOSTS)}/{rng.choice(APPS)}\"\n")
        d.t("password = \"«p»\"\n\n[security]\nsecret_key = \"«s»\"\n", p=pwL(rng),
            s=L(generic_secret(rng, rng.choice(["hex64", "base64"]))[0], "GENERIC_SECRET", "secret_key"))
    elif k == 2:
        v, sub = vendor_key(rng, "pypi")
        d.t("$ cat ~/.config/pypoetry/auth.toml\n[http-basic.internal]\nusername = \"deploy\"\npassword = \"«p»\"\n\n"
            "[pypi-token]\npypi = \"«t»\"\n", p=pwL(rng), t=L(v, "VENDOR_API_KEY", sub))
    else:
        d.t("$ cat ~/.config/atuin/config.toml | grep -v '^#'\nsync_address = \"https://api.atuin.sh\"\nsync_frequency = \"10m\"\n"
            "session_token = \"«t»\"\n", t=L(rs(rng, ALNUM, 32), "GENERIC_SECRET", "session"))
    return d


def g_cfg_ini(c, neg, i):
    rng = c.rng
    d = Doc("config")
    if neg:
        k = rng.randrange(3)
        if k == 0:
            d.add("$ cat setup.cfg\n[metadata]\nname = " + rng.choice(APPS) + "\nversion = attr: pkg.__version__\n\n"
                  "[flake8]\nmax-line-length = 100\nexclude = .git,__pycache__,build\n")
        elif k == 1:
            d.add("$ cat tox.ini\n[tox]\nenvlist = py310,py311,py312\n\n[testenv]\ndeps = pytest\ncommands = pytest -q\n"
                  "passenv = DB_PASSWORD,API_TOKEN\n")
        else:
            d.tags.add("placeholder")
            d.add("$ cat ~/.pypirc\n[distutils]\nindex-servers =\n    pypi\n\n[pypi]\nusername = __token__\n"
                  "password = <your PyPI API token>\n")
        return d
    k = rng.randrange(7)
    if k == 0:
        v, sub = vendor_key(rng, "pypi")
        d.t("$ cat ~/.pypirc\n[distutils]\nindex-servers =\n    pypi\n    internal\n\n[pypi]\nusername = __token__\npassword = «t»\n\n"
            "[internal]\nrepository = https://nexus.example.net/repository/pypi-internal/\nusername = deploy\npassword = «p»\n",
            t=L(v, "VENDOR_API_KEY", sub), p=pwL(rng))
    elif k == 1:
        d.t("$ cat ~/.my.cnf\n[client]\nuser=root\npassword=«p»\nhost=" + rng.choice(DBHOSTS) + "\n\n[mysqldump]\nsingle-transaction\n",
            p=pwL(rng, safe=True))
    elif k == 2:
        d.add("$ cat ~/.netrc\n")
        for _ in range(rng.randint(1, 2)):
            host = rng.choice(["api.heroku.com", "git.heroku.com", "ftp.partner-example.com", "nexus.example.net"])
            d.t(f"machine {host}\n  login {rng.choice(USERS_UNIX)}\n  password «p»\n", p=pwL(rng, safe=True))
    elif k == 3:
        d.add("$ cat ~/.pgpass\n")
        for _ in range(rng.randint(1, 3)):
            d.t(f"{rng.choice(DBHOSTS)}:5432:{rng.choice(APPS)}:{rng.choice(APPS)}:«p»\n", p=pwL(rng, safe=True))
    elif k == 4:
        v, sub = vendor_key(rng, "npm")
        d.t("$ cat ~/.npmrc\nregistry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=«t»\n"
            "@acme:registry=https://npm.pkg.github.com\n//npm.pkg.github.com/:_authToken=«g»\n",
            t=L(v, "VENDOR_API_KEY", sub), g=L(gh_token(rng, "ghp")[0], "GITHUB_TOKEN", "ghp"))
    elif k == 5:
        d.t("$ grep -A6 '^\\[security\\]' /etc/grafana/grafana.ini\n[security]\nadmin_user = admin\nadmin_password = «p»\n"
            "secret_key = «s»\ndisable_gravatar = true\n", p=pwL(rng, safe=True),
            s=L(rs(rng, ALNUM, 16 + rng.randint(0, 16)), "GENERIC_SECRET", "secret_key"))
    else:
        d.t("$ cat ~/.s3cfg | grep -E 'key|host'\naccess_key = «a»\nhost_base = s3.amazonaws.com\nhost_bucket = %(bucket)s.s3.amazonaws.com\n"
            "secret_key = «s»\n", a=L(aws_akid(rng), "AWS_ACCESS_KEY_ID", "AKIA"), s=L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY"))
    return d


def xL(x):
    return hL(x)


def g_cfg_xml(c, neg, i):
    rng = c.rng
    d = Doc("config")
    k = rng.randrange(4)
    if k == 0:
        d.add("$ cat ~/.m2/settings.xml\n<settings xmlns=\"http://maven.apache.org/SETTINGS/1.0.0\">\n  <servers>\n    <server>\n"
              f"      <id>{rng.choice(['nexus-releases', 'github', 'ossrh'])}</id>\n      <username>{rng.choice(USERS_UNIX)}</username>\n")
        if neg:
            d.add("      <password>${env.MAVEN_PASSWORD}</password>\n")
        else:
            d.t("      <password>«p»</password>\n", p=xL(pwL(rng)) if rng.random() < 0.6 else
                L(gh_token(rng, "ghp")[0], "GITHUB_TOKEN", "ghp"))
        d.add("    </server>\n  </servers>\n</settings>\n")
    elif k == 1:
        d.add("$ cat conf/tomcat-users.xml\n<tomcat-users xmlns=\"http://tomcat.apache.org/xml\" version=\"1.0\">\n"
              "  <role rolename=\"manager-gui\"/>\n")
        if neg:
            d.add("  <!--\n  <user username=\"admin\" password=\"<must-be-changed>\" roles=\"manager-gui\"/>\n  -->\n")
        else:
            d.t("  <user username=\"admin\" password=\"«p»\" roles=\"manager-gui,admin-gui\"/>\n", p=xL(pwL(rng)))
        d.add("</tomcat-users>\n")
    elif k == 2:
        d.add("$ cat Web.config | sed -n '5,12p'\n  <connectionStrings>\n    <add name=\"Default\" connectionString=\"Server=sql01;Database="
              + rng.choice(APPS))
        if neg:
            d.add(";Integrated Security=True\" providerName=\"System.Data.SqlClient\" />\n")
        else:
            d.t(";User Id=app;Password=«p»\" providerName=\"System.Data.SqlClient\" />\n", p=xL(pwL(rng, safe=True)))
        d.add("  </connectionStrings>\n  <appSettings>\n")
        if neg:
            d.add("    <add key=\"ApiBaseUrl\" value=\"https://api.example.net/\" />\n")
        else:
            d.t("    <add key=\"SendGridApiKey\" value=\"«k»\" />\n", k=L(vendor_key(rng, "sendgrid")[0], "VENDOR_API_KEY", "sendgrid"))
        d.add("  </appSettings>\n")
    else:
        d.add("$ cat src/main/resources/hibernate.cfg.xml\n<hibernate-configuration>\n  <session-factory>\n"
              f"    <property name=\"hibernate.connection.url\">jdbc:mysql://{rng.choice(DBHOSTS)}:3306/{rng.choice(APPS)}</property>\n"
              "    <property name=\"hibernate.connection.username\">app</property>\n")
        if neg:
            d.add("    <property name=\"hibernate.connection.password\">${db.password}</property>\n")
        else:
            d.t("    <property name=\"hibernate.connection.password\">«p»</property>\n", p=xL(pwL(rng)))
        d.add("  </session-factory>\n</hibernate-configuration>\n")
    if neg:
        d.tags.add("placeholder")
    return d


def g_cfg_hcl(c, neg, i):
    rng = c.rng
    d = Doc("config")
    k = rng.randrange(3)
    if k == 0:
        d.add("$ cat /etc/vault.d/vault.hcl\nstorage \"consul\" {\n  address = \"127.0.0.1:8500\"\n  path    = \"vault/\"\n")
        if neg:
            d.add("  token   = \"\"  # set via CONSUL_HTTP_TOKEN\n}\n")
        else:
            d.t("  token   = \"«t»\"\n}\n", t=L(uuid4(rng), "GENERIC_SECRET", "consul_token"))
        d.add("listener \"tcp\" {\n  address     = \"0.0.0.0:8200\"\n  tls_cert_file = \"/etc/vault.d/tls/cert.pem\"\n}\n")
    elif k == 1:
        d.add("$ cat nomad/job.nomad.hcl | sed -n '20,32p'\n      template {\n        data = <<EOH\n")
        if neg:
            d.add("DB_PASSWORD={{ with secret \"kv/data/db\" }}{{ .Data.data.password }}{{ end }}\nEOH\n")
        else:
            d.t("DB_PASSWORD=«p»\nAPI_KEY=«k»\nEOH\n", p=pwL(rng, safe=True), k=tokL(rng))
        d.add("        destination = \"secrets/app.env\"\n        env         = true\n      }\n")
    else:
        d.add("$ cat backend.tf\nterraform {\n  backend \"s3\" {\n    bucket = \"acme-tfstate\"\n    key    = \"prod/terraform.tfstate\"\n"
              "    region = \"eu-west-1\"\n")
        if neg:
            d.add("    profile = \"prod\"\n    dynamodb_table = \"tf-locks\"\n  }\n}\n")
        else:
            d.t("    access_key = \"«a»\"\n    secret_key = \"«s»\"\n  }\n}\n", a=L(aws_akid(rng), "AWS_ACCESS_KEY_ID", "AKIA"),
                s=L(aws_secret(rng), "AWS_SECRET_ACCESS_KEY"))
    return d


def g_cfg_properties(c, neg, i):
    rng = c.rng
    d = Doc("config")
    if rng.random() < 0.5:
        d.add("$ cat src/main/resources/application.properties\n")
        d.add(f"spring.application.name={rng.choice(APPS)}\nserver.port=8080\n"
              f"spring.datasource.url=jdbc:postgresql://{rng.choice(DBHOSTS)}:5432/{rng.choice(APPS)}\nspring.datasource.username=app\n")
        if neg:
            d.add("spring.datasource.password=${DB_PASSWORD}\napp.jwt.secret=${JWT_SECRET:dev-only-not-a-secret}\n")
            d.tags.add("placeholder")
        else:
            d.t("spring.datasource.password=«p»\napp.jwt.secret=«s»\n", p=pwL(rng, safe=True),
                s=L(generic_secret(rng, rng.choice(["base64", "hex64"]))[0], "GENERIC_SECRET", "jwt_secret"))
            if rng.random() < 0.4:
                d.t("stripe.api-key=«k»\n", k=L(stripe_key(rng)[0], "STRIPE_KEY", "sk_live"))
        d.add("logging.level.root=INFO\n")
    else:
        d.add(rng.choice(["$ cat gradle.properties\n", "$ cat ~/.gradle/gradle.properties\n"]))
        d.add("org.gradle.jvmargs=-Xmx4g -Dfile.encoding=UTF-8\norg.gradle.caching=true\nandroid.useAndroidX=true\n")
        if neg:
            d.add("# signing credentials come from CI secrets\nsigning.keyId=\nsigning.password=\n"
                  "sdk.dir=/Users/dev/Library/Android/sdk\n")
        else:
            d.t(f"signing.keyId={rs(rng, '0123456789ABCDEF', 8)}\nsigning.password=«p»\nsigning.secretKeyRingFile=/home/ci/.gnupg/secring.gpg\n"
                "ossrhUsername=acme-release\nossrhPassword=«q»\n", p=pwL(rng, safe=True), q=pwL(rng, safe=True))
    return d


# ---------------------------------------------------------------------------------------------------------
# stack traces
# ---------------------------------------------------------------------------------------------------------


def win_profile(c, neg):
    """A Windows profile folder: full name (PERSON) or a short username (not PII)."""
    rng = c.rng
    if neg or rng.random() < 0.4:
        return rng.choice(["jdoe", "mweber", "dev", "Admin", "asmith", "k.mueller", "lperez"])
    p = Person(c, rng.choice(["en_US", "de_DE", "fr_FR", "es_ES", "pt_BR", "it_IT", "nl_NL", "pl_PL", "en_GB"]))
    return p.nameL()


def g_trace_java(c, neg, i):
    rng = c.rng
    d = Doc("log")
    app = rng.choice(APPS)
    t = rdate(rng).strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % rng.randrange(1000)
    d.add(f"{t} ERROR 1 --- [           main] o.s.boot.SpringApplication               : Application run failed\n\n")
    k = rng.randrange(4)
    if neg:
        k = rng.randrange(3)
        if k == 0:
            d.add("org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'dataSource'\n"
                  f"Caused by: org.postgresql.util.PSQLException: FATAL: password authentication failed for user \"{app}\"\n")
        elif k == 1:
            d.add(f"java.net.ConnectException: Connection refused: /{private_ipv4(rng)}:5432\n")
        else:
            d.add(f"java.io.FileNotFoundException: /home/{rng.choice(USERS_UNIX)}/.config/{app}/settings.json (No such file or directory)\n")
    elif k == 0:
        pw = pwL(rng, safe=True)
        d.t(f"org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC Connection; url=jdbc:mysql://{app}:«p»@"
            f"{rng.choice(DBHOSTS)}:3306/{app}\n", p=pctL(pw))
    elif k == 1:
        d.t(f"java.net.SocketTimeoutException: Connect timed out: /«ip»:443\n", ip=L(public_ipv4(rng), "IP_ADDRESS", "v4"))
    elif k == 2:
        p = world_person(c)
        d.t(f"com.acme.{app}.UserNotFoundException: No active account for «e»\n", e=p.emailL())
    else:
        who = win_profile(c, False)
        d.t("java.nio.file.AccessDeniedException: C:\\Users\\«u»\\AppData\\Local\\Temp\\upload_" + rs(rng, DIG, 19) + ".tmp\n",
            u=who)
    for _ in range(rng.randint(3, 6)):
        cls = rng.choice(["org.postgresql.core.v3.ConnectionFactoryImpl.doAuthentication(ConnectionFactoryImpl.java:693)",
                          "com.zaxxer.hikari.pool.HikariPool.createPoolEntry(HikariPool.java:476)",
                          f"com.acme.{app}.service.UserService.load(UserService.java:{rng.randint(20, 400)})",
                          "org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:885)",
                          "java.base/java.lang.Thread.run(Thread.java:1583)",
                          "org.hibernate.engine.jdbc.connections.internal.DriverManagerConnectionProviderImpl.getConnection(DriverManagerConnectionProviderImpl.java:180)"])
        d.add(f"\tat {cls}\n")
    d.add(f"\t... {rng.randint(10, 60)} common frames omitted\n")
    if rng.random() < 0.5:
        u = rng.choice(USERS_UNIX)
        d.add(f"[ERROR] Failed to execute goal org.springframework.boot:spring-boot-maven-plugin:3.2.5:run (default-cli) on project {app}: "
              f"Process terminated with exit code: 1 -> [Help 1]\n[ERROR] See /home/{u}/work/{app}/target/surefire-reports for the individual test results.\n")
    return d


def g_trace_python(c, neg, i):
    rng = c.rng
    d = Doc("log")
    app = rng.choice(APPS)
    win = rng.random() < 0.3
    if win:
        who = win_profile(c, neg)
        root = ["C:\\Users\\", who, f"\\projects\\{app}"]
        site = ["C:\\Users\\", L(who.value, who.type, who.sub) if isinstance(who, L) else who,
                "\\AppData\\Local\\Programs\\Python\\Python311\\Lib\\site-packages"]
        sep = "\\"
    else:
        u = rng.choice(USERS_UNIX)
        root = [rng.choice([f"/Users/{u}/code/{app}", f"/home/{u}/src/{app}", f"/srv/{app}"])]
        site = [f"/Users/{u}/.pyenv/versions/3.11.7/lib/python3.11/site-packages"]
        sep = "/"
    d.add("Traceback (most recent call last):\n  File \"")
    d.put(root)
    d.add(f"{sep}app{sep}{rng.choice(['db.py', 'client.py', 'tasks.py'])}\", line {rng.randint(10, 300)}, in {rng.choice(['connect', 'fetch', 'run'])}\n"
          f"    {rng.choice(['conn = psycopg2.connect(dsn)', 'resp.raise_for_status()', 'user = users[email]'])}\n  File \"")
    d.put(site)
    d.add(f"{sep}{rng.choice(['psycopg2', 'requests', 'sqlalchemy'])}{sep}__init__.py\", line {rng.randint(50, 900)}, in {rng.choice(['connect', 'raise_for_status', '__getitem__'])}\n"
          "    raise exc\n")
    k = rng.randrange(4)
    if neg:
        d.add(rng.choice([f"psycopg2.OperationalError: connection to server at \"localhost\" (127.0.0.1), port 5432 failed: Connection refused\n",
                          "KeyError: 'user_id'\n",
                          f"sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) FATAL: password authentication failed for user \"{app}\"\n"
                          f"(Background on this error at: https://sqlalche.me/e/20/e3q8)\n[SQL: postgresql://{app}:***@db:5432/{app}]\n",
                          f"requests.exceptions.HTTPError: 503 Server Error: Service Unavailable for url: https://api.example.net/v1/health?build={sha1hex(rng)}\n"]))
    elif k == 0:
        d.t("psycopg2.OperationalError: connection to server at \"" + rng.choice(["db.prod.example.net", "pg.acme.io"]) +
            "\" («ip»), port 5432 failed: FATAL:  password authentication failed for user \"" + app + "\"\n",
            ip=L(public_ipv4(rng), "IP_ADDRESS", "v4"))
    elif k == 1:
        v, sub, ty = any_token(rng) if rng.random() < 0.4 else (rs(rng, ALNUM, 32), "opaque", "GENERIC_SECRET")
        d.t(f"requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://api.{rng.choice(['weatherdata', 'geo-lookup', 'partner'])}"
            f"-example.com/v1/query?q=berlin&api_key=«k»\n", k=L(v, ty, sub))
    elif k == 2:
        d.t("KeyError: '«e»'\n", e=world_person(c).emailL())
    else:
        pw = pwL(rng)
        d.t(f"sqlalchemy.exc.ArgumentError: Could not parse SQLAlchemy URL from string 'postgresql://{app}:«p»@{rng.choice(DBHOSTS)}/{app}?'\n",
            p=pw if "@" not in pw.value and "/" not in pw.value else pctL(pw))
    return d


def g_trace_node(c, neg, i):
    rng = c.rng
    d = Doc("log")
    app = rng.choice(APPS)
    u = rng.choice(USERS_UNIX)
    root = rng.choice([f"/home/{u}/{app}", f"/usr/src/app", f"/Users/{u}/dev/{app}"])
    if neg:
        k = rng.randrange(2)
        if k == 0:
            d.add(f"Error: connect ECONNREFUSED 127.0.0.1:6379\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1605:16) {{\n"
                  "  errno: -111,\n  code: 'ECONNREFUSED',\n  syscall: 'connect',\n  address: '127.0.0.1',\n  port: 6379\n}\n")
        else:
            d.add(f"node:internal/modules/cjs/loader:1147\n  throw err;\n  ^\n\nError: Cannot find module '{root}/dist/server.js'\n"
                  "    at Module._resolveFilename (node:internal/modules/cjs/loader:1144:15)\n    at node:internal/main/run_main_module:28:49 {\n"
                  "  code: 'MODULE_NOT_FOUND',\n  requireStack: []\n}\n\nNode.js v20.11.1\n")
        return d
    k = rng.randrange(3)
    if k == 0:
        pw = pwL(rng)
        d.t(f"[{app}] connecting to mongodb+srv://{app}:«p»@cluster0.{rs(rng, LOW + DIG, 5)}.mongodb.net/{app}\n", p=pctL(pw))
        d.add(f"MongoServerError: bad auth : authentication failed\n    at Connection.onMessage ({root}/node_modules/mongodb/lib/cmap/connection.js:205:30)\n"
              f"    at MessageStream.<anonymous> ({root}/node_modules/mongodb/lib/cmap/connection.js:63:60)\n"
              "  ok: 0,\n  code: 8000,\n  codeName: 'AtlasError',\n  [Symbol(errorLabels)]: Set(2) { 'HandshakeError', 'ResetPool' }\n}\n")
    elif k == 1:
        tok = bearer_value(c)
        d.add(f"AxiosError: Request failed with status code 403\n    at settle ({root}/node_modules/axios/dist/node/axios.cjs:1966:12)\n"
              "    at IncomingMessage.handleStreamEnd (" + root + "/node_modules/axios/dist/node/axios.cjs:3065:11) {\n"
              "  code: 'ERR_BAD_REQUEST',\n  config: {\n    headers: Object [AxiosHeaders] {\n"
              "      Accept: 'application/json, text/plain, */*',\n      'Content-Type': 'application/json',\n")
        d.t("      Authorization: 'Bearer «t»',\n", t=tok)
        d.add(f"      'User-Agent': 'axios/1.6.7'\n    }},\n    method: 'get',\n    url: 'https://{rng.choice(API_HOSTS)}/v1/reports'\n  }}\n}}\n")
    else:
        p = world_person(c)
        d.t(f"Error: Duplicate entry '«e»' for key 'users.email_unique'\n    at Packet.asError ({root}/node_modules/mysql2/lib/packets/packet.js:728:17)\n"
            f"    at Query.execute ({root}/node_modules/mysql2/lib/commands/command.js:29:26) {{\n  code: 'ER_DUP_ENTRY',\n  errno: 1062,\n"
            "  sqlState: '23000',\n  sql: \"INSERT INTO users (email, name) VALUES ('«e2»', '«n»')\"\n}\n",
            e=p.emailL(), e2=p.emailL(), n=L(p.name.replace("'", "\\'"), "PERSON", p.loc))
    return d


# ---------------------------------------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------------------------------------


def sql_q(x, mysql=True):
    """A quoted SQL string literal, escaped per dialect; labelled inner part stays labelled."""
    def esc(s):
        return s.replace("\\", "\\\\").replace("'", "\\'") if mysql else s.replace("'", "''")
    if isinstance(x, L):
        return Cat("'", L(esc(x.value), x.type, x.sub), "'")
    if x is None:
        return "NULL"
    return "'" + esc(str(x)) + "'"


def customer_row(c, lang=None, cols=None, loc=None):
    """A person record: dict column -> str|L (labelled)."""
    rng = c.rng
    if not loc and lang in (None, "en") and rng.random() < 0.3:
        loc = "en_US"
    if loc:
        p = Person(c, loc)
    else:
        p = Person(c, lang=lang, need_addr=True) if lang else Person(c, rng.choice([l for l in LOCALES if LOCALES[l][2]]))
    ph = p.phoneL(rng.choice(["intl", "e164", "national"]))
    if rng.random() < 0.15:  # a contact abroad: number of another country, international format
        ph = phone(rng, rng.choice(PHONE_REGIONS), rng.choice(["intl", "e164"]))
    row = {"name": p.nameL(), "email": p.emailL(), "phone": ph,
           "address": L(p.addr["one"], "STREET_ADDRESS", p.loc), "street": L(p.addr["street"], "STREET_ADDRESS", p.loc),
           "city_line": p.addr["city_line"] or "", "dob": L(p.dob.isoformat(), "DATE_OF_BIRTH"),
           "created": rdate(rng).strftime("%Y-%m-%d %H:%M:%S"), "country": p.country, "person": p}
    nid = None
    if p.country == "US":
        nid = L(ssn(rng), "US_SSN")
    elif p.country == "GB":
        nid = L(*national_id(rng, rng.choice(["uk_nino", "uk_nhs"])), "NATIONAL_ID")
        nid = L(nid.value, "NATIONAL_ID", nid.type)
    elif p.country in ("ES", "BR", "NL", "CA", "IN"):
        kind = {"ES": rng.choice(["es_dni", "es_nie"]), "BR": "br_cpf", "NL": "nl_bsn", "CA": "ca_sin", "IN": "in_aadhaar"}[p.country]
        v, sub = national_id(rng, kind)
        nid = L(v, "NATIONAL_ID", sub)
    row["national_id"] = nid
    return row


def g_sql_insert(c, neg, i):
    rng = c.rng
    d = Doc("sql")
    mysql = rng.random() < 0.5
    if mysql:
        d.add(f"-- MySQL dump 10.13  Distrib 8.0.{rng.randint(30, 39)}, for Linux (x86_64)\n--\n-- Host: localhost    Database: "
              f"{rng.choice(APPS)}\n-- ------------------------------------------------------\n-- Server version\t8.0.{rng.randint(30, 39)}\n\n")
    else:
        d.add(f"--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 16.{rng.randint(1, 4)}\n-- Dumped by pg_dump version 16.{rng.randint(1, 4)}\n\n"
              "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n")
    if neg:
        if rng.random() < 0.5:
            d.add("CREATE TABLE customers (\n  id bigint NOT NULL,\n  full_name varchar(200) NOT NULL,\n  email varchar(320) NOT NULL,\n"
                  "  phone varchar(32),\n  date_of_birth date,\n  created_at timestamp NOT NULL DEFAULT now()\n);\n"
                  "ALTER TABLE ONLY customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);\nCREATE UNIQUE INDEX customers_email_idx ON customers (email);\n")
        else:
            tb = "`products`" if mysql else "public.products"
            d.add(f"INSERT INTO {tb} (id, sku, name, price_cents, currency, created_at) VALUES\n")
            rows = []
            for n in range(rng.randint(3, 6)):
                rows.append(f"({n + 1}, '{rs(rng, UP, 3)}-{rs(rng, DIG, 5)}', '{rng.choice(['Aurora Desk Lamp', 'Nimbus Pro 14', 'Trail Runner GTX', 'Basalt Grinder', 'Linen Shirt', 'Rose Gold Watch'])}', "
                            f"{rng.randint(500, 99900)}, 'EUR', '{rdate(rng).strftime('%Y-%m-%d %H:%M:%S')}')")
            d.add(",\n".join(rows) + ";\n")
        return d
    lang = rng.choice(["en", "en", "de", "fr", "es", "pt", "it", "nl", "pl", "ja", "hi", None])
    cols = ["id", "full_name", "email", "phone"] + rng.sample(["address", "date_of_birth", "national_id", "iban", "card_number", "street"], 2) + ["created_at"]
    if "address" in cols and "street" in cols:
        cols.remove("street")
    tb = "`customers`" if mysql else "public.customers"
    if mysql:
        d.add(f"LOCK TABLES {tb} WRITE;\n/*!40000 ALTER TABLE {tb} DISABLE KEYS */;\nINSERT INTO {tb} ({', '.join('`' + x + '`' for x in cols)}) VALUES ")
    else:
        d.add(f"INSERT INTO {tb} ({', '.join(cols)}) VALUES\n")
    n = rng.randint(2, 5)
    for r in range(n):
        row = customer_row(c, lang)
        vals = []
        for col in cols:
            if col == "id":
                vals.append(str(rng.randint(1, 90000)))
            elif col == "full_name":
                vals.append(sql_q(row["name"], mysql))
            elif col == "email":
                vals.append(sql_q(row["email"], mysql))
            elif col == "phone":
                vals.append(sql_q(row["phone"], mysql))
            elif col == "address":
                vals.append(sql_q(row["address"], mysql))
            elif col == "street":
                vals.append(sql_q(row["street"], mysql))
                d.tags.add("split_fields")
            elif col == "date_of_birth":
                vals.append(sql_q(row["dob"], mysql))
            elif col == "national_id":
                vals.append(sql_q(row["national_id"], mysql) if row["national_id"] else "NULL")
            elif col == "iban":
                vals.append(sql_q(L(iban(rng, rng.choice(list(IBAN_SPEC)), False), "IBAN"), mysql))
            elif col == "card_number":
                v, sub = credit_card(rng, sep="")
                vals.append(sql_q(L(v, "CREDIT_CARD", sub), mysql))
            elif col == "created_at":
                vals.append(sql_q(row["created"], mysql))
        d.add("(" if mysql else "  (")
        for j, v in enumerate(vals):
            if j:
                d.add(",")
                if not mysql:
                    d.add(" ")
            d.put(v)
        d.add(")" + ((";" if mysql else ";") if r == n - 1 else ("," if mysql else ",\n")))
    d.add("\n")
    if mysql:
        d.add(f"/*!40000 ALTER TABLE {tb} ENABLE KEYS */;\nUNLOCK TABLES;\n")
    return d


def copy_esc(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def g_sql_copy(c, neg, i):
    rng = c.rng
    d = Doc("sql")
    if neg:
        d.add("COPY public.products (id, sku, name, price_cents, updated_at) FROM stdin;\n")
        for n in range(rng.randint(3, 6)):
            d.add(f"{n + 1}\t{rs(rng, UP, 3)}-{rs(rng, DIG, 5)}\t{rng.choice(['Aurora Desk Lamp', 'Nimbus Pro 14', 'Linen Shirt'])}\t"
                  f"{rng.randint(500, 99900)}\t{rdate(rng).strftime('%Y-%m-%d %H:%M:%S')}+00\n")
        d.add("\\.\n\n\n--\n-- Name: products_id_seq; Type: SEQUENCE SET; Schema: public; Owner: app\n--\n\n"
              f"SELECT pg_catalog.setval('public.products_id_seq', {rng.randint(100, 9000)}, true);\n")
        return d
    lang = rng.choice(["en", "de", "fr", "es", "pt", "ja", "hi", "it", None])
    cols = ["id", "name", "email", "phone", "date_of_birth", rng.choice(["address", "iban"]), "created_at"]
    tb = rng.choice(['patients', 'customers', 'members'])
    d.add(f"--\n-- Data for Name: {tb}; Type: TABLE DATA; Schema: public; Owner: app\n--\n\n"
          f"COPY public.{tb} ({', '.join(cols)}) FROM stdin;\n")
    for n in range(rng.randint(2, 5)):
        row = customer_row(c, lang)
        vals = [str(rng.randint(1, 90000)), row["name"], row["email"], row["phone"] if rng.random() < 0.85 else "\\N",
                row["dob"], row["address"] if "address" in cols else L(iban(rng, printed=False), "IBAN"), row["created"] + "+00"]
        for j, v in enumerate(vals):
            if j:
                d.add("\t")
            d.put(L(copy_esc(v.value), v.type, v.sub) if isinstance(v, L) else v)
        d.add("\n")
    d.add("\\.\n")
    return d


def box_table(d, headers, rows, style="psql"):
    """Render rows (lists of str|L) as psql or mysql client output; widths by character count."""
    w = [len(h) for h in headers]
    for r in rows:
        for j, v in enumerate(r):
            w[j] = max(w[j], len(plain(v)))
    if style == "psql":
        d.add(" " + " | ".join(h.center(w[j]) for j, h in enumerate(headers)) + "\n")
        d.add("-" + "-+-".join("-" * w[j] for j in range(len(headers))) + "-\n")
        for r in rows:
            d.add(" ")
            for j, v in enumerate(r):
                if j:
                    d.add(" | ")
                d.put(v)
                d.add(" " * (w[j] - len(plain(v))) if j < len(r) - 1 else "")
            d.add("\n")
        d.add(f"({len(rows)} row{'s' if len(rows) != 1 else ''})\n")
    else:
        sep = "+" + "+".join("-" * (w[j] + 2) for j in range(len(headers))) + "+\n"
        d.add(sep + "| " + " | ".join(h.ljust(w[j]) for j, h in enumerate(headers)) + " |\n" + sep)
        for r in rows:
            d.add("| ")
            for j, v in enumerate(r):
                if j:
                    d.add(" | ")
                d.put(v)
                d.add(" " * (w[j] - len(plain(v))))
            d.add(" |\n")
        d.add(sep + f"{len(rows)} rows in set (0.0{rng_digit(d)} sec)\n")


def rng_digit(d):
    return str(len(d.parts) % 10)


def g_sql_query_output(c, neg, i):
    rng = c.rng
    d = Doc("sql")
    style = rng.choice(["psql", "mysql"])
    db = rng.choice(APPS)
    if neg:
        if style == "psql":
            d.add(f"{db}=# \\dt\n")
            rows = [["public", t, "table", "app"] for t in rng.sample(["customers", "orders", "products", "invoices", "events",
                                                                       "schema_migrations"], 4)]
            box_table(d, ["Schema", "Name", "Type", "Owner"], rows, "psql")
        else:
            d.add("mysql> SELECT status, COUNT(*) AS n FROM orders GROUP BY status;\n")
            rows = [[s, str(rng.randint(1, 90000))] for s in ["paid", "pending", "refunded", "cancelled"]]
            box_table(d, ["status", "n"], rows, "mysql")
        return d
    lang = rng.choice(["en", "en", "de", "fr", "es", "pt", "ja", "hi", None])
    cols = ["id", "full_name", "email", rng.choice(["phone", "date_of_birth", "city"])]
    prompt = f"{db}=# " if style == "psql" else "mysql> "
    d.add(f"{prompt}SELECT {', '.join(cols)} FROM customers ORDER BY id DESC LIMIT {rng.randint(3, 5)};\n")
    rows = []
    for n in range(rng.randint(2, 5)):
        row = customer_row(c, lang)
        last = {"phone": row["phone"], "date_of_birth": row["dob"], "city": (row["city_line"] or "").split(",")[0] or "-"}[cols[3]]
        rows.append([str(rng.randint(1, 90000)), row["name"], row["email"], last])
    box_table(d, cols, rows, style)
    return d


# ---------------------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------------------

CSV_HEADERS = {  # name, email, phone, address, dob, national id, customer since
    "en": ["Full Name", "Email", "Phone", "Address", "Date of Birth", "National ID", "Customer Since"],
    "de": ["Name", "E-Mail", "Telefon", "Anschrift", "Geburtsdatum", "Ausweis-Nr.", "Kunde seit"],
    "fr": ["Nom complet", "Courriel", "Téléphone", "Adresse", "Date de naissance", "N° d'identité", "Client depuis"],
    "es": ["Nombre completo", "Correo electrónico", "Teléfono", "Dirección", "Fecha de nacimiento", "DNI/NIE", "Cliente desde"],
    "pt": ["Nome", "E-mail", "Telefone", "Endereço", "Data de nascimento", "CPF", "Cliente desde"],
    "ja": ["氏名", "メールアドレス", "電話番号", "住所", "生年月日", "個人番号", "登録日"],
    "hi": ["नाम", "ईमेल", "फ़ोन", "पता", "जन्म तिथि", "आधार संख्या", "ग्राहक तिथि"],
    "it": ["Nome e cognome", "E-mail", "Telefono", "Indirizzo", "Data di nascita", "Codice fiscale", "Cliente dal"],
    "nl": ["Naam", "E-mail", "Telefoon", "Adres", "Geboortedatum", "BSN", "Klant sinds"],
    "pl": ["Imię i nazwisko", "E-mail", "Telefon", "Adres", "Data urodzenia", "PESEL", "Klient od"],
}


def csv_field(x, sep):
    """Quote when needed (RFC 4180); labelled part stays labelled (without the quotes)."""
    s = plain(x)
    if any(ch in s for ch in (sep, '"', "\n")):
        if isinstance(x, L):
            return Cat('"', L(x.value.replace('"', '""'), x.type, x.sub), '"')
        return '"' + s.replace('"', '""') + '"'
    return x


def g_csv_contacts(c, neg, i):
    rng = c.rng
    d = Doc("csv")
    lang = rng.choice(list(CSV_HEADERS))
    d.lang = lang
    sep = {"de": ";", "fr": ";", "es": ";", "pt": ";", "it": ";", "nl": ";", "pl": ";"}.get(lang, ",")
    if rng.random() < 0.15:
        sep = "\t"
    fname = rng.choice(["contacts", "customers", "export", "members", "newsletter", "kunden", "clientes", "clients"])
    d.add(rng.choice([f"$ head -n 6 {fname}.csv\n", f"$ cat {fname}_{rdate(rng).strftime('%Y%m%d')}.csv\n", ""]))
    if neg:
        hdr = {"en": ["SKU", "Product", "Qty", "Unit Price", "Warehouse", "Updated"],
               "de": ["Artikelnr.", "Produkt", "Menge", "Einzelpreis", "Lager", "Aktualisiert"],
               "fr": ["Réf.", "Produit", "Qté", "Prix unitaire", "Entrepôt", "Mis à jour"],
               "es": ["SKU", "Producto", "Cantidad", "Precio", "Almacén", "Actualizado"],
               "pt": ["SKU", "Produto", "Qtd", "Preço", "Armazém", "Atualizado"],
               "ja": ["品番", "商品名", "数量", "単価", "倉庫", "更新日"], "hi": ["SKU", "उत्पाद", "मात्रा", "मूल्य", "गोदाम", "अद्यतन"],
               "it": ["Codice", "Prodotto", "Qtà", "Prezzo", "Magazzino", "Aggiornato"],
               "nl": ["Artikel", "Product", "Aantal", "Prijs", "Magazijn", "Bijgewerkt"],
               "pl": ["Indeks", "Produkt", "Ilość", "Cena", "Magazyn", "Aktualizacja"]}[lang]
        d.add(sep.join(hdr) + "\n")
        for _ in range(rng.randint(3, 6)):
            d.add(sep.join([f"{rs(rng, UP, 3)}-{rs(rng, DIG, 5)}",
                            rng.choice(["Aurora Desk Lamp", "Nimbus Pro 14", "Trail Runner GTX", "Rose Gold Watch", "Hope Candle",
                                        "Grace Linen Shirt", "Berlin Backpack", "Paris Tote"]),
                            str(rng.randint(0, 900)), f"{rng.randint(1, 300)}{',' if sep == ';' else '.'}{rng.randint(0, 99):02d}",
                            rng.choice(["DE-BER-1", "NL-AMS-2", "US-NJ-4", "BR-SP-1"]), rdate(rng).strftime("%Y-%m-%d")]) + "\n")
        return d
    H = CSV_HEADERS[lang]
    idx = [0, 1] + sorted(rng.sample([2, 3, 4, 5, 6], rng.randint(2, 4)))
    if lang in ("it", "pl") and 5 in idx:
        idx.remove(5)
    d.add(sep.join(csv_field(H[j], sep) for j in idx) + "\n")
    for _ in range(rng.randint(3, 7)):
        if lang == "en" and 5 in idx:
            row = customer_row(c, loc=rng.choice(["en_US", "en_US", "en_US", "en_GB", "en_CA", "en_IN"]))
        else:
            row = customer_row(c, lang if lang in LANG_LOCALES else None)
        p = row["person"]
        vals = []
        for j in idx:
            if j == 0:
                vals.append(row["name"])
            elif j == 1:
                vals.append(row["email"])
            elif j == 2:
                vals.append(row["phone"])
            elif j == 3:
                vals.append(row["address"])
            elif j == 4:
                vals.append(L(dob_fmt(rng, p.dob, lang, rng.choice(["iso", "num"])), "DATE_OF_BIRTH"))
            elif j == 5:
                vals.append(row["national_id"] or "")
            else:
                vals.append(rdate(rng, 2015, 2024).strftime("%Y-%m-%d"))
        for k, v in enumerate(vals):
            if k:
                d.add(sep)
            d.put(csv_field(v, sep))
        d.add("\n")
    return d


def g_csv_payments(c, neg, i):
    rng = c.rng
    d = Doc("csv")
    sep = rng.choice([",", ";"])
    dec = "," if sep == ";" else "."
    if neg:
        d.add(rng.choice(["$ head payouts_masked.csv\n", ""]))
        d.add(sep.join(["order_id", "card", "amount", "currency", "status", "created_at"]) + "\n")
        for _ in range(rng.randint(3, 6)):
            mask = rng.choice([f"**** **** **** {rs(rng, DIG, 4)}", f"{rng.choice(['4', '5'])}{rs(rng, DIG, 5)}******{rs(rng, DIG, 4)}",
                               f"XXXX-XXXX-XXXX-{rs(rng, DIG, 4)}"])
            d.add(sep.join([f"ord_{rs(rng, ALNUM, 14)}", mask, f"{rng.randint(1, 900)}{dec}{rng.randint(0, 99):02d}", "EUR",
                            rng.choice(["succeeded", "refunded", "failed"]), ts_iso(rng)]) + "\n")
        return d
    if rng.random() < 0.25:
        d.add(rng.choice(["$ cat crypto_payouts.csv\n", "$ head affiliate_payouts_2024-05.csv\n"]))
        d.add(sep.join(["affiliate", "email", "asset", "wallet_address", "amount", "tx_status"]) + "\n")
        for _ in range(rng.randint(2, 6)):
            p = world_person(c)
            w, sub = crypto_wallet(rng)
            vals = [p.nameL(), p.emailL(), "ETH" if sub == "eth" else "BTC", L(w, "CRYPTO_WALLET", sub),
                    f"{rng.randint(0, 3)}{dec}{rng.randint(1000, 99999)}", rng.choice(["pending", "sent", "failed"])]
            for k, v in enumerate(vals):
                if k:
                    d.add(sep)
                d.put(csv_field(v, sep))
            d.add("\n")
    elif rng.random() < 0.6:
        d.add(rng.choice(["$ cat sepa_batch_2024-03.csv\n", "$ head -n 5 payouts.csv\n", ""]))
        d.add(sep.join(["beneficiary_name", "iban", "bic", "amount", "currency", "reference"]) + "\n")
        for _ in range(rng.randint(2, 6)):
            p = Person(c, rng.choice(["de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_PT", "pl_PL", "de_AT", "fi_FI", "en_IE", "de_CH"]))
            cc = p.country if p.country in IBAN_SPEC else "DE"
            vals = [p.nameL(), L(iban(rng, cc), "IBAN", cc), rs(rng, UP, 4) + cc + rs(rng, UP + DIG, 2) + rng.choice(["", "XXX"]),
                    f"{rng.randint(10, 9000)}{dec}{rng.randint(0, 99):02d}", "EUR", f"INV-{rng.randint(2023, 2025)}-{rng.randint(1, 9999):04d}"]
            for k, v in enumerate(vals):
                if k:
                    d.add(sep)
                d.put(csv_field(v, sep))
            d.add("\n")
    else:
        d.add(rng.choice(["$ cat refunds_export.csv\n", ""]))
        d.add(sep.join(["refund_id", "cardholder", "card_number", "exp", "amount", "email"]) + "\n")
        for _ in range(rng.randint(2, 6)):
            p = world_person(c)
            v, sub = credit_card(rng)
            vals = [f"re_{rs(rng, ALNUM, 24)}", p.nameL(), L(v, "CREDIT_CARD", sub), f"{rng.randint(1, 12):02d}/{rng.randint(25, 31)}",
                    f"{rng.randint(1, 900)}{dec}{rng.randint(0, 99):02d}", p.emailL()]
            for k, v in enumerate(vals):
                if k:
                    d.add(sep)
                d.put(csv_field(v, sep))
            d.add("\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# REST JSON
# ---------------------------------------------------------------------------------------------------------


def g_json_user(c, neg, i):
    rng = c.rng
    d = Doc("json")
    ea = rng.random() < 0.15
    if neg:
        d.add(shprompt(c) + f"curl -s https://{rng.choice(API_HOSTS)}/{rng.choice(['healthz', 'version', 'api/v1/users?fields=id&limit=3'])}\n")
        obj = rng.choice([{"status": "ok", "version": f"{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}", "commit": sha1hex(rng),
                           "build_time": ts_iso(rng), "uptime_s": rng.randint(10, 9999999)},
                          {"data": [{"id": uuid4(rng), "created_at": ts_iso(rng)} for _ in range(3)], "next_cursor": rs(rng, B64URL, 24)}])
        jdump(d, obj, 2)
        d.add("\n")
        return d
    k = rng.randrange(3)
    if k == 0:
        p = world_person(c)
        d.add(shprompt(c) + "gh api user\n" if rng.random() < 0.5 else shprompt(c) + "curl -s -H \"Authorization: Bearer $GH_TOKEN\" https://api.github.com/user\n")
        uid = rng.randint(1000, 160000000)
        obj = {"login": p.handle + rs(rng, DIG, rng.randint(0, 3)), "id": uid, "node_id": "U_kgDO" + rs(rng, B64URL, 8),
               "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "type": "User", "site_admin": False,
               "name": p.nameL(), "company": "@" + rng.choice(APPS), "blog": "", "location": p.f.city() + ", " + COUNTRY_EN.get(p.country, p.country),
               "email": p.emailL() if rng.random() < 0.7 else None, "hireable": None, "bio": None, "public_repos": rng.randint(0, 200),
               "followers": rng.randint(0, 900), "created_at": ts_iso(rng), "two_factor_authentication": True}
    else:
        p = Person(c, "en_US" if rng.random() < 0.3 else rng.choice([l for l in LOCALES if LOCALES[l][2]]))
        d.add(shprompt(c) + f"curl -s https://{rng.choice(API_HOSTS)}/v1/users/{rng.randint(1, 99999)} | jq .\n")
        addr = {"line1": L(p.addr["street"], "STREET_ADDRESS", p.loc), "city_line": p.addr["city_line"], "country": p.country} \
            if rng.random() < 0.5 else L(p.addr["one"], "STREET_ADDRESS", p.loc)
        if isinstance(addr, dict):
            d.tags.add("split_fields")
        obj = {"id": uuid4(rng), "name": p.nameL(), "email": p.emailL(), "phone": p.phoneL("e164" if rng.random() < 0.5 else None),
               "address": addr, "locale": p.loc.replace("_", "-"), "email_verified": True}
        if rng.random() < 0.5:
            obj["date_of_birth"] = L(p.dob.isoformat(), "DATE_OF_BIRTH")
        if p.country == "US" and rng.random() < 0.6:
            obj["ssn"] = L(ssn(rng, rng.choice(["-", "-", ""])), "US_SSN")
        if rng.random() < 0.5:
            obj["last_login"] = {"at": ts_iso(rng), "ip": L(public_ipv4(rng), "IP_ADDRESS", "v4")}
        if rng.random() < 0.25:
            w, sub = crypto_wallet(rng)
            obj["payout"] = {"method": "crypto", "wallet": L(w, "CRYPTO_WALLET", sub)}
        obj["created_at"] = ts_iso(rng)
    jdump(d, obj, 2, ensure_ascii=ea)
    d.add("\n")
    return d


FHIR_ID_SYS = {"NL": ("http://fhir.nl/fhir/NamingSystem/bsn", "nl_bsn"), "GB": ("https://fhir.nhs.uk/Id/nhs-number", "uk_nhs"),
               "BR": ("http://rnds.saude.gov.br/fhir/r4/NamingSystem/cpf", "br_cpf"), "IN": ("https://healthid.ndhm.gov.in/aadhaar", "in_aadhaar"),
               "ES": ("urn:oid:1.3.6.1.4.1.19126.3", "es_dni"), "CA": ("http://hl7.org/fhir/sid/ca-sin", "ca_sin")}


def fhir_patient(c, neg=False, p=None):
    rng = c.rng
    if neg:
        return {"resourceType": "Observation", "id": rs(rng, LOW + DIG, 12), "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": rng.choice(["8867-4", "29463-7", "8310-5"]),
                                     "display": rng.choice(["Heart rate", "Body weight", "Body temperature"])}]},
                "subject": {"reference": "Patient/" + rs(rng, LOW + DIG, 12)}, "effectiveDateTime": ts_iso(rng),
                "valueQuantity": {"value": rng.randint(36, 120), "unit": rng.choice(["/min", "kg", "Cel"]), "system": "http://unitsofmeasure.org"}}
    p = p or Person(c, rng.choice(["en_US", "en_GB", "de_DE", "nl_NL", "pt_BR", "es_ES", "fr_FR", "en_IN", "en_CA", "ja_JP", "it_IT"]))
    obj = {"resourceType": "Patient", "id": rs(rng, LOW + DIG, 12),
           "meta": {"versionId": str(rng.randint(1, 9)), "lastUpdated": ts_iso(rng, True)[:-1] + "+00:00"}}
    if p.country in FHIR_ID_SYS:
        system, kind = FHIR_ID_SYS[p.country]
        obj["identifier"] = [{"system": system, "value": L(national_id(rng, kind)[0], "NATIONAL_ID", kind)}]
    elif p.country == "US":
        obj["identifier"] = [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": L(ssn(rng), "US_SSN")}]
    else:
        obj["identifier"] = [{"system": "urn:oid:2.16.840.1.113883.2.4.6.3", "value": str(rng.randint(10000000, 99999999))}]
    name = {"use": "official"}
    if rng.random() < 0.7:
        name["text"] = p.nameL()
    name["family"] = p.last
    name["given"] = p.first.split()
    obj["active"] = True
    obj["name"] = [name]
    obj["telecom"] = [{"system": "phone", "value": p.phoneL(), "use": rng.choice(["mobile", "home"])}]
    if rng.random() < 0.6:
        obj["telecom"].append({"system": "email", "value": p.emailL()})
    obj["gender"] = rng.choice(["male", "female"])
    obj["birthDate"] = L(p.dob.isoformat(), "DATE_OF_BIRTH")
    if p.addr:
        a = {"use": "home", "line": [L(p.addr["street"], "STREET_ADDRESS", p.loc)]}
        if p.addr["city_line"]:
            a["city"] = p.addr["city_line"]
        a["country"] = p.country
        if rng.random() < 0.3:
            a = {"use": "home", "text": L(p.addr["one"], "STREET_ADDRESS", p.loc)}
        obj["address"] = [a]
    return obj


def g_json_fhir(c, neg, i):
    rng = c.rng
    d = Doc("json")
    base = rng.choice(["https://fhir.example-hospital.org/r4", "http://localhost:8080/fhir", "https://hapi.fhir.org/baseR4"])
    ea = rng.random() < 0.1
    if neg:
        if rng.random() < 0.5:
            d.add(shprompt(c) + f"curl -s {base}/Observation?_count=1 -H 'Accept: application/fhir+json'\n")
            jdump(d, fhir_patient(c, True), 2)
        else:
            d.add(shprompt(c) + f"curl -s {base}/metadata | jq '{{resourceType, fhirVersion, software}}'\n")
            jdump(d, {"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "software": {"name": "HAPI FHIR Server",
                                                                                               "version": "7.2.0"}}, 2)
        d.add("\n")
        return d
    if rng.random() < 0.5:
        d.add(shprompt(c) + f"curl -s {base}/Patient/{rs(rng, LOW + DIG, 12)} -H 'Accept: application/fhir+json'\n")
        obj = fhir_patient(c)
    else:
        d.add(shprompt(c) + f"curl -s '{base}/Patient?birthdate=ge1950-01-01&_count=2'\n")
        entries = []
        for _ in range(rng.randint(1, 2)):
            pt = fhir_patient(c)
            entries.append({"fullUrl": f"{base}/Patient/{pt['id']}", "resource": pt, "search": {"mode": "match"}})
        obj = {"resourceType": "Bundle", "id": uuid4(rng), "type": "searchset", "total": len(entries), "entry": entries}
    jdump(d, obj, 2, ensure_ascii=ea)
    if "\"family\"" in "".join(p[0] for p in d.parts):
        d.tags.add("split_fields")
    d.add("\n")
    return d


def g_json_crm(c, neg, i):
    rng = c.rng
    d = Doc("json")
    if neg:
        d.add(shprompt(c) + "curl -s https://api.stripe.com/v1/prices?limit=1 -u $STRIPE_KEY:\n")
        jdump(d, {"object": "list", "data": [{"id": "price_" + rs(rng, ALNUM, 24), "object": "price", "active": True,
                                               "currency": "eur", "product": "prod_" + rs(rng, ALNUM, 14),
                                               "unit_amount": rng.randint(100, 99900), "recurring": {"interval": "month"},
                                               "livemode": True, "created": rng.randint(1600000000, 1760000000)}],
                  "has_more": True, "url": "/v1/prices"}, 2)
        d.add("\n")
        return d
    p = Person(c, rng.choice([l for l in LOCALES if LOCALES[l][2]]))
    if rng.random() < 0.5:
        cus = "cus_" + rs(rng, ALNUM, 14)
        d.add(shprompt(c) + f"stripe customers retrieve {cus}\n")
        obj = {"id": cus, "object": "customer",
               "address": {"city": (p.addr["city_line"] or "").split(",")[0], "country": p.country,
                           "line1": L(p.addr["street"], "STREET_ADDRESS", p.loc), "line2": None,
                           "postal_code": None, "state": None},
               "balance": 0, "created": rng.randint(1600000000, 1760000000), "currency": rng.choice(["eur", "usd", "brl", "gbp"]),
               "default_source": None, "delinquent": False, "description": None, "email": p.emailL(),
               "invoice_prefix": rs(rng, UP + DIG, 8), "livemode": True, "metadata": {"crm_id": str(rng.randint(1000, 99999))},
               "name": p.nameL(), "phone": p.phoneL("e164"), "preferred_locales": [p.loc.split("_")[0]], "tax_exempt": "none"}
        d.tags.add("split_fields")
    else:
        d.add(shprompt(c) + "sf data get record --sobject Contact --record-id 003" + rs(rng, ALNUM, 15) + " --json\n")
        obj = {"status": 0, "result": {"attributes": {"type": "Contact", "url": "/services/data/v60.0/sobjects/Contact/003" + rs(rng, ALNUM, 15)},
                                       "Id": "003" + rs(rng, ALNUM, 15), "Name": p.nameL(), "FirstName": p.first, "LastName": p.last,
                                       "Email": p.emailL(True), "Phone": p.phoneL(), "MobilePhone": p.phoneL(mobile=True),
                                       "MailingStreet": L(p.addr["street"], "STREET_ADDRESS", p.loc), "Title": p.job,
                                       "Birthdate": L(p.dob.isoformat(), "DATE_OF_BIRTH")}, "warnings": []}
        d.tags.add("split_fields")
    jdump(d, obj, 2)
    d.add("\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# vCard
# ---------------------------------------------------------------------------------------------------------


def vesc(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")


def g_vcard(c, neg, i):
    rng = c.rng
    d = Doc("email")
    if neg:
        if rng.random() < 0.5:
            d.tags.add("placeholder")
            d.add("$ cat templates/contact.vcf.tmpl\nBEGIN:VCARD\nVERSION:3.0\nN:{{last_name}};{{first_name}};;;\nFN:{{full_name}}\n"
                  "ORG:{{company}}\nTEL;TYPE=CELL:{{mobile}}\nEMAIL;TYPE=INTERNET:{{email}}\nADR;TYPE=WORK:;;{{street}};{{city}};;{{zip}};{{country}}\n"
                  "END:VCARD\n")
        else:
            dd = rdate(rng)
            d.add(f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Acme//Release Calendar 1.0//EN\nBEGIN:VEVENT\nUID:{uuid4(rng)}\n"
                  f"DTSTAMP:{dd.strftime('%Y%m%dT%H%M%SZ')}\nDTSTART:{dd.strftime('%Y%m%dT%H0000Z')}\nDURATION:PT1H\n"
                  f"SUMMARY:Release {rng.randint(1, 4)}.{rng.randint(0, 30)} freeze\nLOCATION:Room 4.12 / Zoom\n"
                  "DESCRIPTION:Code freeze for the spring release. No merges to main after 18:00.\nEND:VEVENT\nEND:VCALENDAR\n")
        return d
    d.add(rng.choice(["$ cat contacts.vcf\n", "", "$ cat ~/Downloads/contact.vcf\n"]))
    for _ in range(rng.randint(1, 2)):
        p = Person(c, rng.choice([l for l in LOCALES if LOCALES[l][2]]))
        v4 = rng.random() < 0.35
        d.add(f"BEGIN:VCARD\nVERSION:{'4.0' if v4 else '3.0'}\n")
        d.add(f"N:{vesc(p.last)};{vesc(p.first)};;;\n")
        d.tags.add("split_fields")
        d.t("FN:«n»\n", n=L(vesc(p.name), "PERSON", p.loc))
        d.add(f"ORG:{vesc(p.company)}\nTITLE:{vesc(p.job)}\n")
        if v4:
            d.t("TEL;VALUE=uri;TYPE=\"voice,cell\":tel:«t»\n", t=L(fmt_phone(rng, phone_number(rng, p.country), "rfc3966"), "PHONE", p.country))
        else:
            d.t("TEL;TYPE=CELL:«t»\n", t=p.phoneL())
            if rng.random() < 0.5:
                d.t("TEL;TYPE=WORK,VOICE:«t»\n", t=p.phoneL(mobile=False))
        d.t(f"EMAIL;TYPE={'work' if v4 else 'INTERNET'}:«e»\n", e=p.emailL())
        a = p.addr
        city_line = a["city_line"] or ""
        adr = ";".join([vesc(a["street"]), vesc(city_line), "", "", vesc(COUNTRY_LOCAL.get(p.country, COUNTRY_EN.get(p.country, p.country)))])
        d.t(f"ADR;TYPE={'home' if v4 else 'HOME'}:;;«a»\n", a=L(adr, "STREET_ADDRESS", p.loc + "+adr"))
        if rng.random() < 0.7:
            d.t("BDAY:«b»\n", b=L(p.dob.strftime("%Y%m%d") if v4 else p.dob.isoformat(), "DATE_OF_BIRTH"))
        d.add(f"REV:{rdate(rng).strftime('%Y%m%dT%H%M%SZ')}\nEND:VCARD\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# running prose (7 languages). Slots: «p1» «p2» full names (PERSON), «f» a bare first name (not labelled),
# «addr» (STREET_ADDRESS), «phone» (PHONE), «dob» (DATE_OF_BIRTH), «email» (EMAIL), «day», «n», «city» (not labelled)
# ---------------------------------------------------------------------------------------------------------

PROSE = {
    "en": {
        "name1": ["«p1» called this morning about the late delivery.",
                  "Had a long chat with «p1» on «day»; they want the contract renewed before June.",
                  "«p1» is taking over the Hamburg account from next week.",
                  "Spoke to «p1» again, still waiting on the signed order form.",
                  "Apparently «p1» paid the invoice twice, so we owe a refund.",
                  "We should loop in «p1» before we change the shipping terms.",
                  "«p1» from accounts says the credit note never arrived.",
                  "Please ask «p1» to resend the photos of the damaged box.",
                  "I bumped into «p1» at the trade fair and we talked about the pilot.",
                  "Got an angry voicemail from «p1» about the second missed appointment.",
                  "«p1» confirmed the technician can come on «day» afternoon."],
        "name2": ["«p1» and «p2» will both join the call on «day».",
                  "«f» and I met «p1» yesterday to go through the quote.",
                  "«p1» forwarded the complaint to «p2», who promised a callback.",
                  "«p2» will cover for «p1» during the holidays.",
                  "According to «p1», it was «p2» who signed for the parcel.",
                  "Introduced «p1» to «p2» so they can sort out the invoicing directly."],
        "addr": ["I live at «addr» now, so please update the delivery address.",
                 "The replacement unit should go to «addr».",
                 "They moved to «addr» in May and the old address is still on the invoice.",
                 "The parcel was left at «addr» instead of the office.",
                 "Pick-up is from «addr» between 9 and 12.",
                 "Send the paperwork to «p1», «addr».",
                 "«p1» is at «addr» these days and prefers visits after 4pm.",
                 "Our engineer went to «addr» but nobody was home."],
        "phone": ["You can reach me on «phone» after six.",
                  "Call «phone» if the courier can't find the building.",
                  "«p1» left a voicemail, call back on «phone».",
                  "Best number is «phone», the landline is usually busy.",
                  "Text «phone» when you're outside.",
                  "«p1» can be reached on «phone» until Friday."],
        "dob": ["«p1» was born «dob» and qualifies for the senior rate.",
                "The date of birth on the old form was wrong, it should be «dob».",
                "Account holder is «p1», born on «dob».",
                "For the insurance claim: «p1» (born «dob»)."],
        "email": ["Send the invoice to «email» rather than the shared inbox.",
                  "«p1» asked to be copied at «email»."],
        "filler": ["Next review is scheduled for Thursday.", "We agreed to revisit pricing in Q3.",
                   "The ticket stays open until the refund clears.", "No further action needed from our side.",
                   "The delay was on the carrier side, not the warehouse.", "Follow up in two weeks.",
                   "A 10% discount was approved by the team lead.", "Order «n» is still in transit.",
                   "The «city» branch will handle the return."],
        "neg": ["Will the build pass before the freeze?",
                "We used the Baker Street station entrance because of the roadworks.",
                "The Berlin office will close early on Friday.", "Grace period for the invoice is 14 days.",
                "Hope the new firmware fixes the battery drain.",
                "Frank feedback from the pilot: onboarding takes too long.",
                "Mark the ticket as resolved once the patch ships.",
                "The Jaguar fleet contract renews on 3 March 2025.",
                "Version 2.14.3 went out on 12 May 2024 at 14:05.", "Room 4.12 is booked for the retro.",
                "Ben & Jerry's ordered 400 units for the summer campaign.",
                "Shipping from Rotterdam takes about six days.", "Rose gold is sold out until June.",
                "Order 4471-2290-18 was split into two parcels.", "Build 20240315.7 failed on the Windows runner.",
                "We reviewed the Paris and Lisbon store layouts.",
                "Bill the customer for the second technician visit.",
                "The Alexa integration is postponed to the next sprint."],
        "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "firsts": ["Maria", "Tom", "Priya", "Sam", "Lena"],
        "tasks": ["send the revised quote", "check the delivery address", "call the carrier", "update the CRM record",
                  "book the technician"],
        "L": {"note": "Customer note", "meeting": "Weekly sync", "att": "Attendees", "act": "Action items",
              "close": "Kind regards,", "hello": "Dear Sir or Madam,", "hi": "Hi «f»,", "letter_intro":
              "Thank you for your letter of last week.", "re": "Re"},
    },
    "de": {
        "name1": ["«p1» hat heute Morgen wegen der verspäteten Lieferung angerufen.",
                  "Am «day» lange mit «p1» gesprochen, der Vertrag soll vor Juni verlängert werden.",
                  "«p1» übernimmt ab nächster Woche den Kunden in Hamburg.",
                  "Noch einmal mit «p1» telefoniert, das unterschriebene Angebot fehlt weiterhin.",
                  "Laut Buchhaltung hat «p1» die Rechnung doppelt bezahlt, wir schulden eine Gutschrift.",
                  "Bitte «p1» fragen, ob die Fotos vom beschädigten Karton nachgereicht werden können.",
                  "Anfrage von «p1»: Deckt die Garantie auch Wasserschäden ab?",
                  "Auf der Messe habe ich «p1» getroffen und über das Pilotprojekt gesprochen.",
                  "«p1» hat bestätigt, dass der Techniker am «day» Nachmittag kommen kann."],
        "name2": ["«p1» und «p2» sind am «day» beim Termin dabei.",
                  "«f» und ich haben gestern «p1» getroffen und das Angebot durchgesprochen.",
                  "«p1» hat die Beschwerde an «p2» weitergeleitet, Rückruf ist zugesagt.",
                  "Während «p1» im Urlaub ist, übernimmt «p2» die Vertretung.",
                  "Laut «p1» hat «p2» das Paket angenommen."],
        "addr": ["Wir sind umgezogen, neue Anschrift ab sofort «addr».",
                 "Die Ersatzlieferung bitte an «addr» schicken.",
                 "Seit Mai lautet die Anschrift «addr», auf der Rechnung steht noch die alte.",
                 "Das Paket wurde statt im Büro bei «addr» abgegeben.",
                 "Abholung ab «addr» zwischen 9 und 12 Uhr.",
                 "Unterlagen bitte an «p1», «addr».",
                 "Der Techniker war bei «addr», aber niemand hat geöffnet."],
        "phone": ["Ab 18 Uhr unter «phone» erreichbar.",
                  "Falls der Fahrer das Haus nicht findet: «phone» anrufen.",
                  "«p1» hat auf die Mailbox gesprochen, Rückruf bitte an «phone».",
                  "Die Festnetznummer ist oft besetzt, besser «phone».",
                  "«p1» ist bis Freitag unter «phone» zu erreichen."],
        "dob": ["«p1», geboren am «dob», ist Kontoinhaber.",
                "Im alten Formular stand das Geburtsdatum falsch, richtig ist «dob».",
                "Für die Versicherung: «p1», geb. «dob»."],
        "email": ["Rechnung bitte an «email» statt an das Sammelpostfach.",
                  "«p1» möchte unter «email» in CC gesetzt werden."],
        "filler": ["Nächster Termin ist Donnerstag.", "Preise werden im dritten Quartal neu verhandelt.",
                   "Das Ticket bleibt offen, bis die Erstattung gebucht ist.", "Von unserer Seite ist nichts weiter zu tun.",
                   "Die Verzögerung lag beim Spediteur, nicht im Lager.", "In zwei Wochen nachfassen.",
                   "10 % Rabatt von der Teamleitung freigegeben.", "Bestellung «n» ist noch unterwegs.",
                   "Die Filiale in «city» übernimmt die Rücksendung."],
        "neg": ["Der Koch in der Kantine hat das Menü für Freitag geändert.",
                "Die Filiale in Köln schließt am Freitag früher.",
                "Wir haben uns am Hauptbahnhof getroffen, Ausgang Nord.",
                "Version 3.2.1 wurde am 12. Mai 2024 um 14:05 ausgerollt.",
                "Raum 4.12 ist für die Retrospektive gebucht.",
                "Der Bauer liefert ab Juni wieder frische Milch für die Kantine.",
                "Bitte die Rechnung an die zentrale Buchhaltung schicken.",
                "Der Fink im Logo soll etwas größer werden.",
                "Die Lieferung aus Rotterdam dauert etwa sechs Tage.",
                "Porsche und Mercedes-Benz haben die Angebote angenommen.",
                "Build 20240315.7 ist auf dem Windows-Runner fehlgeschlagen.",
                "Frank und frei: Das Onboarding dauert zu lange.",
                "Auftrag 4471-2290-18 wurde auf zwei Pakete aufgeteilt.",
                "Die Schillerstraße ist wegen Bauarbeiten bis Juli gesperrt."],
        "days": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag"],
        "firsts": ["Maria", "Jonas", "Lena", "Tobias", "Aylin"],
        "tasks": ["überarbeitetes Angebot schicken", "Lieferadresse prüfen", "Spediteur anrufen", "CRM aktualisieren",
                  "Techniker buchen"],
        "L": {"note": "Kundennotiz", "meeting": "Wöchentliche Abstimmung", "att": "Teilnehmende", "act": "Aufgaben",
              "close": "Mit freundlichen Grüßen", "hello": "Sehr geehrte Damen und Herren,", "hi": "Hallo «f»,",
              "letter_intro": "vielen Dank für Ihr Schreiben vom letzten Donnerstag.", "re": "Betreff"},
    },
    "fr": {
        "name1": ["«p1» a appelé ce matin au sujet de la livraison en retard.",
                  "Longue discussion avec «p1» «day» : le contrat doit être renouvelé avant juin.",
                  "«p1» reprend le compte de Lyon à partir de la semaine prochaine.",
                  "J'ai relancé «p1», toujours pas de bon de commande signé.",
                  "D'après la comptabilité, «p1» a payé la facture deux fois.",
                  "Merci de demander à «p1» de renvoyer les photos du carton abîmé.",
                  "Croisé «p1» au salon, on a parlé du projet pilote.",
                  "«p1» confirme que le technicien peut passer «day» après-midi."],
        "name2": ["«p1» et «p2» participeront à l'appel «day».",
                  "Hier, «f» et moi avons rencontré «p1» pour revoir le devis.",
                  "«p1» a transmis la réclamation à «p2», qui doit rappeler le client.",
                  "«p2» remplace «p1» pendant les congés.",
                  "Selon «p1», c'est «p2» qui a signé le bon de livraison."],
        "addr": ["J'habite maintenant au «addr», merci de mettre à jour l'adresse de livraison.",
                 "Le colis de remplacement doit partir au «addr».",
                 "Ils ont déménagé au «addr» en mai, l'ancienne adresse figure encore sur la facture.",
                 "Le colis a été déposé au «addr» au lieu du bureau.",
                 "Envoyer les documents à «p1», «addr».",
                 "Enlèvement au «addr» entre 9 h et 12 h."],
        "phone": ["Joignable au «phone» après 18 h.",
                  "Si le livreur ne trouve pas l'immeuble, appeler le «phone».",
                  "«p1» a laissé un message, rappeler au «phone».",
                  "Le fixe est souvent occupé, mieux vaut le «phone»."],
        "dob": ["«p1», né(e) le «dob», est titulaire du compte.",
                "La date de naissance sur l'ancien formulaire était fausse : c'est le «dob».",
                "Pour l'assurance : «p1», né(e) le «dob»."],
        "email": ["Envoyer la facture à «email» plutôt qu'à l'adresse générique.",
                  "«p1» souhaite être en copie à «email»."],
        "filler": ["Prochain point jeudi.", "Révision des prix prévue au troisième trimestre.",
                   "Le ticket reste ouvert jusqu'au remboursement.", "Rien d'autre à faire de notre côté.",
                   "Le retard vient du transporteur, pas de l'entrepôt.", "Relancer dans deux semaines.",
                   "Commande «n» toujours en transit.", "L'agence de «city» s'occupe du retour."],
        "neg": ["La pierre utilisée pour la façade vient de Bourgogne.", "Le bureau de Lyon ferme plus tôt vendredi.",
                "On s'est retrouvés à la gare Saint-Lazare, sortie rue d'Amsterdam.",
                "La version 2.14.3 est sortie le 12 mai 2024 à 14 h 05.", "Salle 4.12 réservée pour la rétro.",
                "Rose poudré en rupture jusqu'en juin.", "Renault et Peugeot ont validé les devis.",
                "Livraison depuis Rotterdam : environ six jours.", "Build 20240315.7 en échec sur le runner Windows.",
                "Le Printemps a commandé 400 unités pour la campagne d'été.",
                "Commande 4471-2290-18 scindée en deux colis.", "Marguerite est le nom de code du nouveau modèle."],
        "days": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
        "firsts": ["Claire", "Hugo", "Inès", "Louis", "Sarah"],
        "tasks": ["envoyer le devis révisé", "vérifier l'adresse de livraison", "appeler le transporteur",
                  "mettre à jour le CRM", "réserver le technicien"],
        "L": {"note": "Note client", "meeting": "Point hebdo", "att": "Participants", "act": "Actions",
              "close": "Cordialement,", "hello": "Madame, Monsieur,", "hi": "Bonjour «f»,",
              "letter_intro": "Nous vous remercions de votre courrier de la semaine dernière.", "re": "Objet"},
    },
    "es": {
        "name1": ["«p1» llamó esta mañana por el retraso en la entrega.",
                  "Hablé largo con «p1» el «day»; quiere renovar el contrato antes de junio.",
                  "«p1» se hace cargo de la cuenta de Valencia a partir de la semana que viene.",
                  "Volví a hablar con «p1», seguimos sin el pedido firmado.",
                  "Según contabilidad, «p1» pagó la factura dos veces.",
                  "Pedirle a «p1» que reenvíe las fotos de la caja dañada.",
                  "Coincidí con «p1» en la feria y hablamos del piloto.",
                  "«p1» confirmó que el técnico puede ir el «day» por la tarde."],
        "name2": ["«p1» y «p2» se unirán a la llamada el «day».",
                  "Ayer «f» y yo nos reunimos con «p1» para repasar el presupuesto.",
                  "«p1» pasó la queja a «p2», que prometió devolver la llamada.",
                  "«p2» cubre a «p1» durante las vacaciones.",
                  "Según «p1», fue «p2» quien firmó el albarán."],
        "addr": ["Ahora vivo en «addr», por favor actualizad la dirección de envío.",
                 "La unidad de reemplazo tiene que ir a «addr».",
                 "Se mudaron a «addr» en mayo y en la factura sigue la dirección antigua.",
                 "El paquete se dejó en «addr» en lugar de la oficina.",
                 "Mandar la documentación a «p1», «addr».",
                 "La recogida es en «addr» entre las 9 y las 12."],
        "phone": ["Me podéis localizar en el «phone» a partir de las seis.",
                  "Si el mensajero no encuentra el portal, llamar al «phone».",
                  "«p1» dejó un mensaje, devolver la llamada al «phone».",
                  "El fijo suele comunicar, mejor el «phone»."],
        "dob": ["Titular: «p1», nació el «dob».",
                "En el formulario antiguo la fecha de nacimiento estaba mal; es el «dob».",
                "Para el seguro: «p1», nacido el «dob»."],
        "email": ["Enviar la factura a «email» y no al buzón general.",
                  "«p1» pide que le pongamos en copia en «email»."],
        "filler": ["Próxima revisión el jueves.", "Revisamos precios en el tercer trimestre.",
                   "El ticket sigue abierto hasta que se abone el reembolso.", "Nada más que hacer por nuestra parte.",
                   "El retraso fue de la transportista, no del almacén.", "Hacer seguimiento en dos semanas.",
                   "El pedido «n» sigue en tránsito.", "La oficina de «city» gestiona la devolución."],
        "neg": ["Los dolores de cabeza con el despliegue terminaron con la versión 2.14.",
                "La oficina de Sevilla cierra antes el viernes.",
                "Quedamos en la estación de Atocha, salida a la calle Alfonso XII.",
                "La versión 2.14.3 salió el 12 de mayo de 2024 a las 14:05.", "Sala 4.12 reservada para la retro.",
                "Hay paz en el equipo desde que cambiamos el proceso.", "SEAT y Zara aceptaron los presupuestos.",
                "El envío desde Róterdam tarda unos seis días.", "Necesitamos más luz en el almacén de Getafe.",
                "El build 20240315.7 falló en el runner de Windows.", "El pedido 4471-2290-18 se dividió en dos paquetes."],
        "days": ["lunes", "martes", "miércoles", "jueves", "viernes"],
        "firsts": ["Lucía", "Pablo", "Carmen", "Diego", "Valeria"],
        "tasks": ["enviar el presupuesto revisado", "comprobar la dirección de envío", "llamar a la transportista",
                  "actualizar el CRM", "reservar al técnico"],
        "L": {"note": "Nota de cliente", "meeting": "Reunión semanal", "att": "Asistentes", "act": "Tareas",
              "close": "Un saludo,", "hello": "Estimados señores:", "hi": "Hola «f»:",
              "letter_intro": "Gracias por su carta de la semana pasada.", "re": "Asunto"},
    },
    "pt": {
        "name1": ["«p1» ligou hoje de manhã por causa da entrega atrasada.",
                  "Conversei bastante com «p1» na «day»; quer renovar o contrato antes de junho.",
                  "«p1» assume a conta de Campinas a partir da semana que vem.",
                  "Falei de novo com «p1», ainda sem o pedido assinado.",
                  "Segundo o financeiro, «p1» pagou o boleto duas vezes.",
                  "Pedir para «p1» reenviar as fotos da caixa danificada.",
                  "Encontrei «p1» na feira e falamos sobre o piloto.",
                  "«p1» confirmou que o técnico pode ir na «day» à tarde."],
        "name2": ["«p1» e «p2» vão participar da call na «day».",
                  "Ontem «f» e eu encontramos «p1» para revisar o orçamento.",
                  "«p1» encaminhou a reclamação para «p2», que prometeu retornar.",
                  "«p2» cobre «p1» durante as férias.",
                  "Segundo «p1», quem assinou o recebimento foi «p2»."],
        "addr": ["Mudei para «addr», por favor atualizem o endereço de entrega.",
                 "A unidade de reposição deve ir para «addr».",
                 "Eles se mudaram para «addr» em maio e o boleto ainda sai com o endereço antigo.",
                 "O pacote foi deixado em «addr» em vez do escritório.",
                 "Mandar os documentos para «p1», «addr».",
                 "A retirada é em «addr» entre 9h e 12h."],
        "phone": ["Pode me ligar no «phone» depois das seis.",
                  "Se o entregador não achar o prédio, ligar para «phone».",
                  "«p1» deixou recado, retornar no «phone».",
                  "O fixo vive ocupado, melhor o «phone».",
                  "Me chama no WhatsApp: «phone»."],
        "dob": ["Titular: «p1», nasceu em «dob».",
                "No cadastro antigo a data de nascimento estava errada, o certo é «dob».",
                "Para o seguro: «p1», nascido(a) em «dob»."],
        "email": ["Mandar a nota fiscal para «email» e não para o e-mail geral.",
                  "«p1» pediu para ficar em cópia no «email»."],
        "filler": ["Próxima revisão na quinta.", "Revisão de preços no terceiro trimestre.",
                   "O chamado fica aberto até o estorno cair.", "Nada mais a fazer do nosso lado.",
                   "O atraso foi da transportadora, não do depósito.", "Retomar em duas semanas.",
                   "O pedido «n» ainda está em trânsito.", "A filial de «city» cuida da devolução."],
        "neg": ["Graças à nova versão, o app ficou bem mais rápido.", "O escritório de Curitiba fecha mais cedo na sexta.",
                "Nos encontramos na estação da Luz, saída para a Rua Mauá.",
                "A versão 2.14.3 saiu em 12 de maio de 2024 às 14h05.", "Sala 4.12 reservada para a retrospectiva.",
                "Natura e Havaianas aprovaram os orçamentos.", "O envio a partir de Roterdã leva uns seis dias.",
                "O build 20240315.7 falhou no runner Windows.", "A rosa do logo vai ficar num tom mais claro.",
                "O pedido 4471-2290-18 foi dividido em dois pacotes."],
        "days": ["segunda", "terça", "quarta", "quinta", "sexta"],
        "firsts": ["Ana", "Rafael", "Beatriz", "Lucas", "Júlia"],
        "tasks": ["enviar o orçamento revisado", "conferir o endereço de entrega", "ligar para a transportadora",
                  "atualizar o CRM", "agendar o técnico"],
        "L": {"note": "Nota do cliente", "meeting": "Reunião semanal", "att": "Participantes", "act": "Ações",
              "close": "Atenciosamente,", "hello": "Prezados,", "hi": "Oi «f»,",
              "letter_intro": "Agradecemos a sua carta da semana passada.", "re": "Assunto"},
    },
    "ja": {
        "name1": ["今朝、«p1»さんから配送遅延の件で電話がありました。",
                  "«day»に«p1»さんと長めに話しました。契約は6月前に更新したいとのことです。",
                  "来週から«p1»さんが大阪の担当を引き継ぎます。",
                  "«p1»様に再度確認しましたが、署名済みの注文書はまだ届いていません。",
                  "経理によると、«p1»様が請求書を二重に支払っているとのことです。",
                  "破損した箱の写真を再送してもらうよう«p1»さんに依頼してください。",
                  "展示会で«p1»さんに会い、パイロットの話をしました。",
                  "«p1»さんから、技術者の訪問は«day»の午後で問題ないと連絡がありました。"],
        "name2": ["«day»の打ち合わせには«p1»さんと«p2»さんが参加します。",
                  "昨日、«f»と私で«p1»さんに会い、見積もりを確認しました。",
                  "«p1»さんがクレームを«p2»さんに転送し、折り返し連絡することになりました。",
                  "«p1»さんの休暇中は«p2»さんが対応します。"],
        "addr": ["住所が«addr»に変わったので、配送先を更新してください。",
                 "交換品は«addr»まで送ってください。",
                 "5月に«addr»へ引っ越したそうですが、請求書は旧住所のままです。",
                 "荷物はオフィスではなく«addr»に置かれていました。",
                 "書類は«addr»の«p1»様宛てにお願いします。"],
        "phone": ["18時以降なら«phone»につながります。",
                  "配達員が建物を見つけられない場合は«phone»に電話してください。",
                  "«p1»さんから留守電があり、«phone»に折り返しをお願いします。"],
        "dob": ["«p1»さん（«dob»生まれ）が契約者です。",
                "旧フォームの生年月日が誤っていました。正しくは«dob»です。"],
        "email": ["請求書は共有アドレスではなく«email»に送ってください。"],
        "filler": ["次回のレビューは木曜日です。", "価格は第3四半期に見直します。",
                   "返金が完了するまでチケットはオープンのままにします。", "こちら側での対応は以上です。",
                   "遅延の原因は倉庫ではなく運送会社でした。", "2週間後にフォローアップします。",
                   "注文番号«n»はまだ配送中です。", "返品は«city»の拠点で対応します。"],
        "neg": ["大阪支社は金曜日に早めに閉まります。", "渋谷駅のハチ公口で待ち合わせました。",
                "バージョン2.14.3は2024年5月12日14時05分にリリースされました。", "会議室4.12をレトロ用に予約しました。",
                "トヨタとソニーが見積もりを承認しました。", "ロッテルダムからの配送には約6日かかります。",
                "ビルド20240315.7がWindowsランナーで失敗しました。", "桜の季節に合わせて新パッケージを出します。",
                "注文4471-2290-18は2つの荷物に分けて発送しました。", "明日は晴れの予報なので搬入は予定どおりです。"],
        "days": ["月曜日", "火曜日", "水曜日", "木曜日", "金曜日"],
        "firsts": ["佐藤", "田中", "鈴木", "高橋"],
        "tasks": ["修正見積もりを送付", "配送先住所を確認", "運送会社に連絡", "CRMを更新", "技術者を手配"],
        "L": {"note": "顧客メモ", "meeting": "定例ミーティング", "att": "参加者", "act": "アクションアイテム",
              "close": "よろしくお願いいたします。", "hello": "お世話になっております。", "hi": "«f»さん",
              "letter_intro": "先日はお手紙をいただき、ありがとうございました。", "re": "件名"},
    },
    "hi": {
        "name1": ["आज सुबह «p1» जी ने देर से हुई डिलीवरी के बारे में फ़ोन किया।",
                  "«day» को «p1» से लंबी बात हुई; वे जून से पहले अनुबंध का नवीनीकरण चाहते हैं।",
                  "अगले हफ़्ते से «p1» पुणे वाला खाता संभालेंगे।",
                  "«p1» से दोबारा बात की, हस्ताक्षरित ऑर्डर फ़ॉर्म अभी तक नहीं मिला।",
                  "लेखा विभाग के अनुसार «p1» ने बिल दो बार भर दिया है।",
                  "«p1» जी से कहिए कि टूटे डिब्बे की तस्वीरें फिर से भेज दें।",
                  "प्रदर्शनी में «p1» से मुलाक़ात हुई और पायलट प्रोजेक्ट पर चर्चा हुई।",
                  "«p1» ने बताया कि तकनीशियन «day» दोपहर को आ सकता है।"],
        "name2": ["«day» की कॉल में «p1» और «p2» दोनों शामिल होंगे।",
                  "कल «f» और मैं «p1» से मिले और कोटेशन पर बात की।",
                  "«p1» ने शिकायत «p2» को भेज दी, उन्होंने वापस फ़ोन करने का वादा किया है।",
                  "«p1» की छुट्टी के दौरान «p2» काम देखेंगे।"],
        "addr": ["अब मैं «addr» में रहता हूँ, कृपया डिलीवरी का पता बदल दें।",
                 "बदले वाला सामान «addr» पर भेजना है।",
                 "वे मई में «addr» शिफ़्ट हो गए, पर बिल पर अभी भी पुराना पता है।",
                 "पार्सल दफ़्तर की जगह «addr» पर छोड़ दिया गया।",
                 "काग़ज़ात «p1», «addr» के पते पर भेजें।"],
        "phone": ["शाम छह बजे के बाद «phone» पर बात हो सकती है।",
                  "अगर कूरियर वाले को बिल्डिंग न मिले तो «phone» पर कॉल करें।",
                  "«p1» जी ने वॉइसमेल छोड़ा है, «phone» पर वापस कॉल करें।",
                  "लैंडलाइन अक्सर व्यस्त रहती है, «phone» बेहतर है।"],
        "dob": ["«p1» (जन्म «dob») खाताधारक हैं।",
                "पुराने फ़ॉर्म में जन्मतिथि ग़लत थी, सही तारीख़ «dob» है।"],
        "email": ["बिल सामान्य इनबॉक्स की जगह «email» पर भेजें।"],
        "filler": ["अगली समीक्षा गुरुवार को है।", "तीसरी तिमाही में क़ीमतों पर फिर से विचार होगा।",
                   "रिफ़ंड होने तक टिकट खुला रहेगा।", "हमारी तरफ़ से और कुछ नहीं करना है।",
                   "देरी कूरियर कंपनी की वजह से हुई, गोदाम की नहीं।", "दो हफ़्ते बाद फ़ॉलो-अप करें।",
                   "ऑर्डर «n» अभी रास्ते में है।", "वापसी का काम «city» शाखा देखेगी।"],
        "neg": ["नए अपडेट से आशा है कि बैटरी की समस्या ठीक हो जाएगी।", "पुणे ऑफ़िस शुक्रवार को जल्दी बंद होगा।",
                "हम कनॉट प्लेस मेट्रो स्टेशन के गेट नंबर 2 पर मिले।", "वर्ज़न 2.14.3 12 मई 2024 को दोपहर 2:05 बजे जारी हुआ।",
                "रेट्रो के लिए कमरा 4.12 बुक है।", "टाटा और महिंद्रा ने कोटेशन मंज़ूर कर दिए।",
                "सूरज निकलते ही ट्रक माल उतारना शुरू करेंगे।", "बिल्ड 20240315.7 विंडोज़ रनर पर फ़ेल हो गया।",
                "पूजा की छुट्टियों में गोदाम बंद रहेगा।", "ऑर्डर 4471-2290-18 दो पार्सल में भेजा गया।"],
        "days": ["सोमवार", "मंगलवार", "बुधवार", "गुरुवार", "शुक्रवार"],
        "firsts": ["प्रिया", "राहुल", "अंजलि", "विकास"],
        "tasks": ["संशोधित कोटेशन भेजना", "डिलीवरी का पता जाँचना", "कूरियर को फ़ोन करना", "CRM अपडेट करना",
                  "तकनीशियन बुक करना"],
        "L": {"note": "ग्राहक नोट", "meeting": "साप्ताहिक बैठक", "att": "उपस्थित", "act": "कार्य",
              "close": "सादर,", "hello": "आदरणीय महोदय/महोदया,", "hi": "नमस्ते «f»,",
              "letter_intro": "पिछले सप्ताह के आपके पत्र के लिए धन्यवाद।", "re": "विषय"},
    },
}
PROSE_LANGS = ["en", "de", "fr", "es", "pt", "ja", "hi"]
SENT_SEP = {"ja": "", "hi": " "}


def order_no(rng):
    return rng.choice([f"#{rng.randint(10000, 999999)}", f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}-{rng.randint(10, 99)}",
                       f"A{rng.randint(100000, 999999)}"])


class ProseCtx:
    """People and value factories for one prose sample."""

    def __init__(self, c, lang):
        self.c, self.lang = c, lang
        self.people = [Person(c, lang=lang, need_addr=True), Person(c, lang=lang, need_addr=c.rng.random() < 0.5),
                       Person(c, lang=lang, need_addr=True)]
        self.rng = c.rng

    def fill(self, tpl, p1=None, p2=None, addr_of=None):
        """Render one template into a list of parts."""
        rng, lang = self.rng, self.lang
        P = PROSE[lang]
        p1 = p1 or self.people[0]
        p2 = p2 or self.people[1]
        ao = addr_of or p1
        out = []
        pos = 0
        for m in TOK.finditer(tpl):
            out.append(tpl[pos:m.start()])
            k = m.group(1)
            if k == "p1":
                out.append(p1.nameL())
            elif k == "p2":
                out.append(p2.nameL())
            elif k == "f":
                out.append(rng.choice(P["firsts"]))
            elif k == "addr":
                a = ao.addr
                v = a["one"] if (rng.random() < 0.5 or lang == "ja" or not a["city_line"]) else a["street"]
                out.append(L(v, "STREET_ADDRESS", ao.loc))
            elif k == "phone":
                if rng.random() < 0.25:  # someone abroad / a foreign SIM: international format
                    out.append(phone(rng, rng.choice(PHONE_REGIONS), rng.choice(["intl", "intl", "e164"])))
                else:
                    out.append(phone(rng, p1.country, rng.choice(["national", "national", "intl", "intl_dash"])))
            elif k == "dob":
                out.append(L(dob_fmt(rng, p1.dob, lang, rng.choice(["long", "long", "num"])), "DATE_OF_BIRTH"))
            elif k == "email":
                out.append(p1.emailL())
            elif k == "day":
                out.append(rng.choice(P["days"]))
            elif k == "n":
                out.append(order_no(rng))
            elif k == "city":
                out.append(p1.f.city() if lang not in ("hi",) else rng.choice(HI_CITIES)[0])
            else:
                raise KeyError(k)
            pos = m.end()
        out.append(tpl[pos:])
        return [x for x in out if x != ""]


def prose_sentences(c, lang, neg, pc=None, n_extra=None):
    """A list of sentences (each a list of parts) in lang."""
    rng = c.rng
    P = PROSE[lang]
    if neg:
        out = [[x] for x in rng.sample(P["neg"], rng.randint(3, 5))]
        for _ in range(rng.randint(1, 2)):
            tpl = rng.choice([f for f in P["filler"] if "«city»" not in f])
            out.append([tpl.replace("«n»", order_no(rng))])
        rng.shuffle(out)
        return out
    pc = pc or ProseCtx(c, lang)
    p1, p2, p3 = pc.people
    out = [pc.fill(rng.choice(P["name1"] + P["name2"]), p1, p2)]
    if rng.random() < 0.45:
        out.append(pc.fill(rng.choice(P["name1"] + P["name2"]), p3, p1))
    if rng.random() < 0.7:
        who = rng.choice([p for p in (p1, p2, p3) if p.addr])
        out.append(pc.fill(rng.choice(P["addr"]), who, p2, who))
    if rng.random() < 0.45:
        out.append(pc.fill(rng.choice(P["phone"]), rng.choice([p1, p2])))
    if rng.random() < 0.2:
        out.append(pc.fill(rng.choice(P["dob"]), rng.choice([p1, p3])))
    if rng.random() < 0.12:
        out.append(pc.fill(rng.choice(P["email"]), p2))
    for tpl in rng.sample(P["filler"], rng.randint(1, 3) if n_extra is None else n_extra):
        out.append(pc.fill(tpl, p1))
    first = out[0]
    rest = out[1:]
    rng.shuffle(rest)
    return [first] + rest


def join_sents(lang, sents, bullets=False):
    parts = []
    for k, s in enumerate(sents):
        if bullets:
            parts.append("- " if k == 0 else "\n- ")
        elif k:
            parts.append(SENT_SEP.get(lang, " "))
        parts += s
    return parts


def g_prose(kind):
    def gen(c, neg, i):
        rng = c.rng
        lang = PROSE_LANGS[i % len(PROSE_LANGS)]
        P = PROSE[lang]
        Lb = P["L"]
        d = Doc("shell", lang)
        d.prose = True
        pc = ProseCtx(c, lang)
        sents = prose_sentences(c, lang, neg, pc)
        today = rdate(rng, 2023, 2025)
        if kind == "customer_note":
            w = rng.randrange(3)
            if w == 0:
                d.context = "json"
                ea = rng.random() < 0.2
                d.add(shprompt(c) + f"curl -s https://crm.example.org/api/v2/contacts/{rng.randint(1000, 99999)}/notes?limit=1 | jq '.data[0]'\n")
                jdump(d, {"id": rng.randint(100000, 999999), "type": "note", "author": rng.choice(USERS_UNIX),
                          "created_at": ts_iso(rng), "pinned": False, "body": Cat(*join_sents(lang, sents))}, 2, ensure_ascii=ea)
                d.add("\n")
            elif w == 1:
                d.add(f"$ cat notes/customers/{rs(rng, LOW, 6)}.md\n# {Lb['note']} — {today.strftime('%Y-%m-%d')}\n\n")
                d.put(join_sents(lang, sents))
                d.add("\n")
            else:
                d.context = "chat"
                d.add(f"[{today.strftime('%Y-%m-%d %H:%M')}] {rng.choice(USERS_UNIX)} ({Lb['note']}):\n")
                d.put(join_sents(lang, sents))
                d.add("\n")
        elif kind == "meeting_notes":
            d.add(f"$ cat meetings/{today.strftime('%Y-%m-%d')}-{rng.choice(['sync', 'weekly', 'kunden', 'review'])}.md\n"
                  f"# {Lb['meeting']} {today.strftime('%Y-%m-%d')}\n\n")
            if not neg:
                d.add(f"{Lb['att']}: ")
                att = pc.people[:rng.randint(2, 3)]
                for k, p in enumerate(att):
                    if k:
                        d.add(", " if lang != "ja" else "、")
                    d.put(p.nameL())
                d.add("\n\n")
            else:
                d.add(f"{Lb['att']}: {rng.choice(['@ops', 'Team Platform', 'Sales EMEA', 'Support L2'])}\n\n")
            d.put(join_sents(lang, sents, bullets=True))
            d.add(f"\n\n## {Lb['act']}\n")
            for _ in range(rng.randint(1, 2)):
                if neg:
                    d.add(f"- [ ] {rng.choice(['@ops', '@support', '@sales'])}: {rng.choice(P['tasks'])}\n")
                else:
                    d.t(f"- [ ] «p»: {rng.choice(P['tasks'])}\n", p=rng.choice(pc.people).nameL())
        else:  # letter
            d.context = rng.choice(["shell", "email"])
            d.add(f"$ cat {rng.choice(['letters', 'correspondence', 'scans/ocr'])}/{rs(rng, LOW + DIG, 8)}.txt\n")
            sender = pc.people[2]
            if not neg and rng.random() < 0.6:
                d.put(sender.nameL())
                a = sender.addr
                d.add("\n")
                if a["city_line"]:
                    d.put(L(a["street"] + "\n" + a["city_line"], "STREET_ADDRESS", sender.loc + "+multiline"))
                else:
                    d.put(L(a["one"], "STREET_ADDRESS", sender.loc))
                d.add("\n\n")
            place = rng.choice({"en": ["Leeds", "Bristol", "Auckland", "Toronto"], "de": ["Berlin", "Zürich", "Graz", "Köln"],
                                "fr": ["Lyon", "Genève", "Nantes"], "es": ["Madrid", "Sevilla", "Monterrey"],
                                "pt": ["Porto", "Campinas", "Recife"], "ja": ["大阪", "横浜", "福岡"],
                                "hi": ["जयपुर", "लखनऊ", "पुणे"]}[lang])
            d.add(f"{place}, {dob_fmt(rng, today.date(), lang, 'long')}\n\n")
            if neg:
                d.add(Lb["hello"] + "\n\n")
            else:
                d.add((Lb["hello"] if rng.random() < 0.5 else Lb["hi"].replace("«f»", rng.choice(P["firsts"]))) + "\n\n")
            d.add(Lb["letter_intro"] + (" " if lang != "ja" else ""))
            d.put(join_sents(lang, sents))
            d.add("\n\n" + Lb["close"] + "\n")
            if neg:
                d.add(rng.choice({"en": ["[Name]", "Customer Service"], "de": ["[Name]", "Ihr Kundenservice"],
                                  "fr": ["[Nom]", "Le service client"], "es": ["[Nombre]", "Atención al cliente"],
                                  "pt": ["[Nome]", "Atendimento ao cliente"], "ja": ["カスタマーサポート", "[氏名]"],
                                  "hi": ["ग्राहक सेवा", "[नाम]"]}[lang]) + "\n")
            else:
                d.put(sender.nameL())
                d.add("\n")
        return d
    return gen


# ---------------------------------------------------------------------------------------------------------
# e-mail
# ---------------------------------------------------------------------------------------------------------

SIG = {
    "en": ("Tel", "Mobile", "Kind regards,"), "de": ("Tel.", "Mobil", "Viele Grüße"), "fr": ("Tél.", "Portable", "Bien à vous,"),
    "es": ("Tel.", "Móvil", "Saludos,"), "pt": ("Tel.", "Celular", "Abraços,"), "ja": ("TEL", "携帯", "よろしくお願いいたします。"),
    "hi": ("फ़ोन", "मोबाइल", "धन्यवाद,"),
}
SUBJ = {"en": ["Re: delivery address", "Invoice 2024-0412", "Follow-up from today's call", "Replacement unit"],
        "de": ["AW: Lieferadresse", "Rechnung 2024-0412", "Rückfrage zum Termin", "Ersatzgerät"],
        "fr": ["RE: adresse de livraison", "Facture 2024-0412", "Suite à notre appel", "Appareil de remplacement"],
        "es": ["RE: dirección de envío", "Factura 2024-0412", "Seguimiento de la llamada", "Unidad de reemplazo"],
        "pt": ["RE: endereço de entrega", "Nota fiscal 2024-0412", "Retorno da ligação", "Unidade de reposição"],
        "ja": ["Re: 配送先住所について", "請求書 2024-0412", "本日のお電話の件", "交換品について"],
        "hi": ["Re: डिलीवरी का पता", "बिल 2024-0412", "आज की कॉल के बारे में", "बदले का सामान"]}


def rfc2047(name):
    return "=?UTF-8?Q?" + "".join(ch if ch.isalnum() and ord(ch) < 128 else "_" if ch == " " else
                                  "".join("=%02X" % b for b in ch.encode("utf-8")) for ch in name) + "?="


def g_email_message(c, neg, i):
    rng = c.rng
    lang = PROSE_LANGS[i % len(PROSE_LANGS)]
    d = Doc("email", lang)
    dd = rdate(rng)
    if neg:
        kind = rng.randrange(3)
        subj = ["[CI] Pipeline failed on main", "[Grafana] Alert: p95 latency above 800ms", "[backup] Nightly backup completed"][kind]
        d.add(f"Date: {rfc2822(dd)}\nSubject: {subj}\n"
              f"Message-ID: <{rs(rng, HEX, 16)}.{rng.randint(1000000, 9999999)}@{['ci', 'alerts', 'backup'][kind]}.internal>\n"
              "Content-Type: text/plain; charset=UTF-8\n\n")
        d.add(([f"Pipeline #{rng.randint(10000, 99999)} for commit {hexid(c, 8)} failed at stage 'test' after {rng.randint(2, 40)}m{rng.randint(0, 59)}s.\n"
                          f"Job: unit-tests (#{rng.randint(100000, 999999)})\nRunner: ci-runner-{rng.randint(1, 9)}\n",
                          f"Alert 'api p95 latency' is firing.\nValue: {rng.randint(800, 3000)}ms (threshold 800ms)\nSince: {dd.strftime('%Y-%m-%d %H:%M')} UTC\n"
                          f"Dashboard: https://grafana.internal/d/{rs(rng, ALNUM, 9)}\n",
                          f"Backup job nightly-db finished: {rng.randint(2, 90)} GiB in {rng.randint(3, 60)} min, sha256 {rs(rng, HEX, 64)}\n"])[kind])
        d.add("\n-- \nThis message was sent automatically. Please do not reply.\n")
        return d
    pc = ProseCtx(c, lang)
    a, b = pc.people[2], pc.people[0]
    d.add(rng.choice([f"$ cat ~/Mail/inbox/cur/{rng.randint(1600000000, 1760000000)}.{rs(rng, LOW + DIG, 8)}:2,S\n", "",
                      "$ notmuch show --format=raw id:" + rs(rng, HEX, 12) + "@mail.example\n"]))
    if rng.random() < 0.5:
        d.t(f"Received: from mail-{rng.choice(['wr1', 'ej1', 'pl1'])}-f{rng.randint(40, 99)}.google.com (mail.google.com [«ip»])\n"
            f"\tby mx.example.net (Postfix) with ESMTPS id {rs(rng, '0123456789ABCDEF', 10)}\n\tfor <«to»>; {rfc2822(dd)}\n",
            ip=L(public_ipv4(rng), "IP_ADDRESS", "v4"), to=b.emailL(True))
    d.add(f"Date: {rfc2822(dd)}\nFrom: ")
    nonascii = any(ord(ch) > 127 for ch in a.name)
    if nonascii and rng.random() < 0.3:
        d.tags.add("escaped")
        d.put(L(rfc2047(a.name), "PERSON", a.loc + "+rfc2047"))
    else:
        d.add('"')
        d.put(a.nameL())
        d.add('"')
    d.t(" <«e»>\nTo: «n» <«e2»>\n", e=a.emailL(True), n=b.nameL(), e2=b.emailL(True))
    d.add(f"Subject: {rng.choice(SUBJ[lang])}\nMessage-ID: <CA{rs(rng, ALNUM, 20)}+{rs(rng, ALNUM, 10)}@mail.gmail.com>\n"
          "MIME-Version: 1.0\nContent-Type: text/plain; charset=\"UTF-8\"\nContent-Transfer-Encoding: 8bit\n\n")
    d.add(PROSE[lang]["L"]["hi"].replace("«f»", rng.choice(PROSE[lang]["firsts"])) + "\n\n")
    sents = prose_sentences(c, lang, False, pc, n_extra=1)[:rng.randint(2, 4)]
    d.put(join_sents(lang, sents))
    tel, mob, close = SIG[lang]
    d.add(f"\n\n{close}\n")
    d.add("-- \n")
    d.put(a.nameL())
    d.add(f"\n{a.job}\n{a.company}\n")
    if a.addr:
        if a.addr["city_line"]:
            d.put(L(a.addr["street"] + "\n" + a.addr["city_line"], "STREET_ADDRESS", a.loc + "+multiline"))
        else:
            d.put(L(a.addr["one"], "STREET_ADDRESS", a.loc))
        d.add("\n")
    d.t(f"{tel} «t»\n", t=a.phoneL(rng.choice(["intl", "national"]), False))
    if rng.random() < 0.6:
        d.t(f"{mob} «t»\n", t=a.phoneL(rng.choice(["intl", "national"]), True))
    d.t("«e»\n", e=a.emailL(True))
    return d


# ---------------------------------------------------------------------------------------------------------
# chat
# ---------------------------------------------------------------------------------------------------------

CHAT_LINES = {
    "en": ["ok, on it", "can someone check the staging deploy?", "thanks!", "lunch at 12?", "👍", "merged", "call in 5"],
    "de": ["ok, mach ich", "kann jemand kurz auf staging schauen?", "danke!", "Mittag um 12?", "👍", "ist gemerged", "Call in 5 min"],
    "fr": ["ok je m'en occupe", "quelqu'un peut regarder la préprod ?", "merci !", "déj à midi ?", "👍", "mergé", "appel dans 5 min"],
    "es": ["vale, me encargo", "¿alguien puede mirar staging?", "¡gracias!", "¿comemos a las 12?", "👍", "mergeado", "llamada en 5"],
    "pt": ["blz, vou ver", "alguém pode olhar o staging?", "valeu!", "almoço às 12?", "👍", "mergeado", "call em 5 min"],
    "ja": ["了解です", "誰かステージングを確認できますか？", "ありがとうございます！", "12時にランチ行きます？", "👍", "マージしました", "5分後に通話します"],
    "hi": ["ठीक है, देखता हूँ", "कोई स्टेजिंग देख सकता है?", "धन्यवाद!", "12 बजे लंच?", "👍", "मर्ज कर दिया", "5 मिनट में कॉल"],
}


def chat_secret_line(c, lang):
    rng = c.rng
    pw = pwL(rng)
    return rng.choice([
        ["wifi password for the guest network is ", pw] if lang == "en" else ["WLAN-Passwort fürs Gästenetz: ", pw] if lang == "de"
        else ["le mot de passe du wifi invité : ", pw] if lang == "fr" else ["la contraseña del wifi de invitados es ", pw] if lang == "es"
        else ["senha do wifi de visitantes: ", pw] if lang == "pt" else ["ゲストWi-Fiのパスワードは ", pw, " です"] if lang == "ja"
        else ["गेस्ट वाई-फ़ाई का पासवर्ड ", pw, " है"],
        ["staging db: ", Cat("postgres://app:", pctL(pwL(rng)), "@db.staging.internal:5432/app")],
        ["here's the token, please rotate after: ", tokL(rng)],
        [rng.choice(["payout address: ", "send the refund here: ", "wallet → ", "ETH/BTC: "]), L(*crypto_wallet(rng)[:1], "CRYPTO_WALLET",
                                                                                            None)],
    ])


def g_chat_export(c, neg, i):
    rng = c.rng
    lang = PROSE_LANGS[i % len(PROSE_LANGS)]
    d = Doc("chat", lang)
    style = rng.choice(["bracket", "whatsapp", "whatsapp_ios", "slack", "teams"])
    dd = rdate(rng)
    if neg:
        names = rng.sample(["deploy-bot", "@jdoe", "github", "ops-alerts", "@mweber", "jira", "sentry", "@dev-oncall"], 3)
    else:
        ps = [Person(c, lang=lang) for _ in range(rng.randint(2, 3))]
    d.add(rng.choice([f"$ head -n 12 'WhatsApp Chat with {rng.choice(['Family', 'Team', 'Umzug', 'Projeto'])}.txt'\n", "", "$ cat slack-export.txt\n"]))
    t = dd
    for k in range(rng.randint(4, 8)):
        t = t + dt.timedelta(minutes=rng.randint(0, 9), seconds=rng.randint(0, 59))
        who = rng.choice(names) if neg else rng.choice(ps)
        whoL = who if neg else (who.nameL() if not (style == "teams" and lang not in ("ja", "hi")) else
                                L(f"{who.last}, {who.first}", "PERSON", who.loc + "+inverted"))
        if neg:
            msg = [rng.choice(CHAT_LINES[lang] + [f"build {rng.randint(1000, 9999)} passed", f"deployed v{rng.randint(1, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
                                                  f"PR #{rng.randint(10, 9000)} ready for review"])]
        else:
            r = rng.random()
            if r < 0.45:
                msg = [rng.choice(CHAT_LINES[lang])]
            elif r < 0.85:
                pc = ProseCtx(c, lang)
                pc.people[0] = rng.choice(ps) if rng.random() < 0.3 else pc.people[0]
                if not pc.people[0].addr:
                    pc.people[0] = Person(c, lang=lang, need_addr=True)
                P = PROSE[lang]
                msg = pc.fill(rng.choice(P["addr"] + P["phone"] + P["name1"] + P["name2"]))
            else:
                msg = chat_secret_line(c, lang)
        if style == "bracket":
            d.put([f"[{t.strftime('%H:%M')}] ", whoL, ": "] + msg)
        elif style == "whatsapp":
            d.put([f"{t.strftime('%d/%m/%Y')}, {t.strftime('%H:%M')} - ", whoL, ": "] + msg)
        elif style == "whatsapp_ios":
            d.put([f"[{t.strftime('%d.%m.%y')}, {t.strftime('%H:%M:%S')}] ", whoL, ": "] + msg)
        elif style == "slack":
            d.put([whoL, f"  {t.strftime('%I:%M %p').lstrip('0')}\n"] + msg)
        else:
            d.put([f"[{t.month}/{t.day}/{t.year} {t.strftime('%I:%M %p').lstrip('0')}] ", whoL, "\n"] + msg)
        d.add("\n")
    return d


def g_chat_slack_json(c, neg, i):
    rng = c.rng
    d = Doc("chat", "en")
    ch = rs(rng, UP + DIG, 10)
    d.add(shprompt(c) + f"curl -s -H \"Authorization: Bearer $SLACK_TOKEN\" 'https://slack.com/api/conversations.history?channel=C{ch}&limit=3' | jq .\n")
    msgs = []
    for k in range(rng.randint(2, 4)):
        ts = f"{rng.randint(1690000000, 1760000000)}.{rs(rng, DIG, 6)}"
        if neg:
            msgs.append(rng.choice([{"type": "message", "subtype": "channel_join", "ts": ts, "user": "U" + rs(rng, UP + DIG, 10),
                                     "text": "<@U" + rs(rng, UP + DIG, 10) + "> has joined the channel"},
                                    {"type": "message", "subtype": "bot_message", "ts": ts, "bot_id": "B" + rs(rng, UP + DIG, 10),
                                     "username": "deploy-bot", "text": f"Deployed `{rng.choice(APPS)}` {sha1hex(rng)[:7]} to production :rocket:"}]))
            continue
        p = world_person(c)
        r = rng.random()
        if r < 0.4:
            text = rng.choice(CHAT_LINES["en"])
        elif r < 0.75:
            pc = ProseCtx(c, "en")
            text = Cat(*pc.fill(rng.choice(PROSE["en"]["phone"] + PROSE["en"]["addr"] + PROSE["en"]["name1"])))
        else:
            text = Cat(*chat_secret_line(c, "en"))
        msgs.append({"type": "message", "user": "U" + rs(rng, UP + DIG, 10), "text": text, "ts": ts,
                     "user_profile": {"avatar_hash": rs(rng, HEX, 12), "image_72": f"https://avatars.slack-edge.com/{rs(rng, HEX, 20)}_72.png",
                                      "real_name": p.nameL(), "display_name": p.handle, "team": "T" + rs(rng, UP + DIG, 10),
                                      "name": p.handle, "is_restricted": False, "is_ultra_restricted": False}})
    jdump(d, {"ok": True, "messages": msgs, "has_more": True, "pin_count": 0,
              "response_metadata": {"next_cursor": b64("bmV4dF90czox" + rs(rng, DIG, 16))}}, 2)
    d.add("\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# support tickets
# ---------------------------------------------------------------------------------------------------------

TICKET_SUBJ = {"en": "Replacement not delivered", "de": "Ersatzgerät nicht angekommen", "fr": "Remplacement non livré",
               "es": "No ha llegado el reemplazo", "pt": "Reposição não entregue", "ja": "交換品が届いていません",
               "hi": "बदले का सामान नहीं मिला"}


def g_ticket_json(c, neg, i):
    rng = c.rng
    lang = PROSE_LANGS[i % len(PROSE_LANGS)]
    d = Doc("json", lang)
    tid = rng.randint(10000, 999999)
    d.add(shprompt(c) + f"curl -s -u $ZD_USER/token:$ZD_TOKEN https://acme.zendesk.com/api/v2/tickets/{tid}.json | jq .\n")
    if neg:
        jdump(d, {"ticket": {"id": tid, "subject": f"Build {rng.randint(1000, 9999)} flaky on Windows runner", "status": "open",
                             "priority": "normal", "description": " ".join(x[0] for x in prose_sentences(c, "en", True)),
                             "requester_id": rng.randint(10 ** 11, 10 ** 12), "tags": ["ci", "windows"], "created_at": ts_iso(rng)}}, 2)
        d.add("\n")
        return d
    pc = ProseCtx(c, lang)
    req = pc.people[0]
    sents = prose_sentences(c, lang, False, pc, n_extra=1)
    obj = {"ticket": {"id": tid, "url": f"https://acme.zendesk.com/api/v2/tickets/{tid}.json", "via": {"channel": rng.choice(["email", "web"])},
                      "created_at": ts_iso(rng), "subject": TICKET_SUBJ[lang], "description": Cat(*join_sents(lang, sents)),
                      "priority": rng.choice(["normal", "high"]), "status": "open",
                      "requester": {"name": req.nameL(), "email": req.emailL()}, "tags": ["delivery", lang],
                      "custom_fields": [{"id": rng.randint(10 ** 7, 10 ** 8), "value": order_no(rng)}]}}
    jdump(d, obj, 2, ensure_ascii=rng.random() < 0.15)
    d.add("\n")
    return d


def g_ticket_text(c, neg, i):
    rng = c.rng
    lang = PROSE_LANGS[i % len(PROSE_LANGS)]
    d = Doc("shell", lang)
    num = rng.randint(10, 9000)
    if neg or rng.random() < 0.4:
        handle = rng.choice(["octocat", "mweber", "lperez-dev", "ci-bot", "asmith"])
        d.add(shprompt(c) + f"gh issue view {num}\n{rng.choice(['Login fails after password reset', 'Export CSV missing header', 'Crash on startup (v2.14.1)'])} #{num}\n"
              f"Open • {handle} opened about {rng.randint(2, 20)} days ago • {rng.randint(0, 9)} comments\nLabels: bug\n\n")
        sents = prose_sentences(c, lang, neg)
        d.add("  ")
        d.put(join_sents(lang, sents))
        d.add(f"\n\n\nView this issue on GitHub: https://github.com/acme/{rng.choice(APPS)}/issues/{num}\n")
        return d
    pc = ProseCtx(c, lang)
    rep, asg = pc.people[0], pc.people[1]
    key = f"{rng.choice(['SUP', 'CS', 'HELP'])}-{num}"
    d.add(shprompt(c) + f"jira issue view {key} --plain\n")
    d.add(f"🐞 Bug  🚧 Open  ⌛ {rdate(rng).strftime('%a, %d %b %y')}  👷 ")
    d.put(asg.nameL())
    d.add(f"  🔑️ {key}  💭 {rng.randint(0, 5)} comments  🧵 0 linked\n# {TICKET_SUBJ[lang]}\n⏱️  {rdate(rng).strftime('%a, %d %b %y')}  🔎 Normal  🚀 Medium\n\n"
          "------------------------ Description ------------------------\n\n")
    d.add("Reporter: ")
    d.put(rep.nameL())
    d.add("\n\n")
    d.put(join_sents(lang, prose_sentences(c, lang, False, pc)))
    d.add("\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# system output
# ---------------------------------------------------------------------------------------------------------


def g_sys_net(c, neg, i):
    rng = c.rng
    d = Doc("shell")
    k = rng.randrange(5)
    def ip4():
        return private_ipv4(rng) if neg else L(public_ipv4(rng), "IP_ADDRESS", "v4")
    def macv():
        if neg:
            return rng.choice(["00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:fb", "33:33:00:00:00:01"])
        return L(mac(rng, ":"), "MAC_ADDRESS")
    if k == 0:
        d.add(shprompt(c) + "ip addr show eth0\n")
        d.add(f"2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP group default qlen 1000\n    link/ether ")
        d.put(macv())
        d.add(" brd ff:ff:ff:ff:ff:ff\n    inet ")
        if neg:
            d.add(f"{private_ipv4(rng)}/24 brd 10.0.0.255 scope global dynamic eth0\n")
        else:
            d.put(ip4())
            d.add("/32 scope global dynamic eth0\n")
        d.add(f"       valid_lft {rng.randint(100, 86400)}sec preferred_lft {rng.randint(100, 86400)}sec\n    inet6 ")
        if neg:
            d.add(f"fe80::{rs(rng, HEX, 4)}:{rs(rng, HEX, 4)}:{rs(rng, HEX, 4)}:{rs(rng, HEX, 4)}/64 scope link\n")
        else:
            d.put(L(public_ipv6(rng), "IP_ADDRESS", "v6"))
            d.add("/64 scope global\n       valid_lft forever preferred_lft forever\n    inet6 fe80::1/64 scope link\n")
    elif k == 1:
        d.add(shprompt(c) + "arp -an\n")
        for _ in range(rng.randint(2, 5)):
            d.t(f"? ({private_ipv4(rng)}) at «m» [ether] on {rng.choice(['eth0', 'wlan0', 'br0'])}\n", m=macv())
    elif k == 2:
        d.add(shprompt(c) + "ss -tn state established '( dport = :443 or sport = :22 )'\nRecv-Q Send-Q Local Address:Port   Peer Address:Port\n")
        for _ in range(rng.randint(2, 5)):
            d.t(f"0      0      {private_ipv4(rng)}:{rng.choice([22, 443, 51234])}   «ip»:{rng.randint(1024, 65535)}\n", ip=ip4())
    elif k == 3:
        d.add(shprompt(c) + "last -n 5 -i\n")
        for _ in range(rng.randint(2, 5)):
            u = rng.choice(USERS_UNIX)
            t = rdate(rng)
            d.t(f"{u:<9}pts/{rng.randint(0, 3)}        «ip»  {t.strftime('%a %b %d %H:%M')}   still logged in\n", ip=ip4())
        d.add("\nwtmp begins Mon Jan  1 00:00:01 2024\n")
    else:
        d.context = "log"
        d.add(shprompt(c) + "tail -n 4 /var/log/nginx/access.log\n")
        for _ in range(rng.randint(3, 5)):
            t = rdate(rng)
            d.put(ip4())
            d.add(f" - - [{t.strftime('%d/%b/%Y:%H:%M:%S')} +0000] \"{rng.choice(['GET', 'POST'])} {rng.choice(['/api/v1/orders', '/login', '/static/app.js', '/healthz'])} HTTP/1.1\" "
                  f"{rng.choice([200, 200, 301, 404, 401])} {rng.randint(100, 90000)} \"-\" \"{rng.choice(['Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0', 'curl/8.5.0', 'kube-probe/1.29'])}\"\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# registry and main
# ---------------------------------------------------------------------------------------------------------

SHAPES = [  # (id, generator, weight)
    ("git.log", g_git_log, 18), ("git.log_format", g_git_log_format, 16), ("git.show", g_git_show, 16),
    ("git.blame", g_git_blame, 16), ("git.shortlog", g_git_shortlog, 16), ("git.trailers", g_git_trailers, 16),
    ("git.config", g_git_config, 16),
    ("k8s.secret_yaml", g_k8s_secret_yaml, 18), ("k8s.secret_json", g_k8s_secret_json, 16), ("k8s.manifest", g_k8s_manifest, 16),
    ("k8s.describe_pod", g_k8s_describe_pod, 16), ("k8s.kubeconfig", g_k8s_kubeconfig, 16), ("k8s.logs", g_k8s_logs, 16),
    ("docker.login", g_docker_login, 16), ("docker.config_json", g_docker_config_json, 16), ("docker.inspect", g_docker_inspect, 16),
    ("docker.run_compose", g_docker_run_compose, 16),
    ("tf.plan", g_tf_plan, 16), ("tf.output_json", g_tf_output_json, 16), ("tf.state", g_tf_state, 16), ("tf.tfvars", g_tf_tfvars, 16),
    ("aws.sts", g_aws_sts, 14), ("aws.iam_key", g_aws_iam_key, 14), ("aws.credentials", g_aws_credentials, 14),
    ("gcloud.token", g_gcloud_token, 14), ("gcloud.sa_key", g_gcloud_sa_key, 14), ("gcloud.auth_list", g_gcloud_auth_list, 14),
    ("az.account", g_az_account, 14), ("az.sp", g_az_sp, 14),
    ("keytool.cmd", g_keytool, 16), ("openssl.cmd", g_openssl, 16),
    ("conn.jdbc", g_conn_jdbc, 16), ("conn.odbc", g_conn_odbc, 16), ("conn.mongodb", g_conn_mongodb, 16),
    ("conn.redis", g_conn_redis, 16), ("conn.amqp", g_conn_amqp, 16), ("conn.url", g_conn_url, 16),
    ("http.basic", g_http_basic, 16), ("http.bearer", g_http_bearer, 16), ("http.cookies", g_http_cookies, 16),
    ("http.api_key_header", g_http_api_key_header, 16), ("http.oauth", g_http_oauth, 16),
    ("html.form", g_html_form, 16), ("html.profile", g_html_profile, 18),
    ("env.dotenv", g_env_dotenv, 18), ("env.shell", g_env_shell, 16), ("cfg.yaml", g_cfg_yaml, 18), ("cfg.toml", g_cfg_toml, 14),
    ("cfg.ini", g_cfg_ini, 16), ("cfg.xml", g_cfg_xml, 16), ("cfg.hcl", g_cfg_hcl, 14), ("cfg.properties", g_cfg_properties, 14),
    ("trace.java", g_trace_java, 16), ("trace.python", g_trace_python, 16), ("trace.node", g_trace_node, 16),
    ("sql.insert", g_sql_insert, 24), ("sql.copy", g_sql_copy, 18), ("sql.query_output", g_sql_query_output, 18),
    ("csv.contacts", g_csv_contacts, 32), ("csv.payments", g_csv_payments, 18),
    ("json.user", g_json_user, 18), ("json.fhir", g_json_fhir, 18), ("json.crm", g_json_crm, 16),
    ("vcard.vcf", g_vcard, 20),
    ("email.message", g_email_message, 35),
    ("chat.export", g_chat_export, 35), ("chat.slack_json", g_chat_slack_json, 16),
    ("ticket.json", g_ticket_json, 21), ("ticket.text", g_ticket_text, 21),
    ("prose.customer_note", g_prose("customer_note"), 100), ("prose.meeting_notes", g_prose("meeting_notes"), 100),
    ("prose.letter", g_prose("letter"), 100),
    ("sys.net", g_sys_net, 16),
]
TYPES = {"EMAIL", "PHONE", "PERSON", "STREET_ADDRESS", "DATE_OF_BIRTH", "US_SSN", "NATIONAL_ID", "CREDIT_CARD", "IBAN",
         "IP_ADDRESS", "MAC_ADDRESS", "CRYPTO_WALLET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN",
         "GITLAB_TOKEN", "SLACK_TOKEN", "STRIPE_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "JWT",
         "PRIVATE_KEY", "VENDOR_API_KEY", "PASSWORD", "GENERIC_SECRET"}
IPV4_RE = re.compile(r"(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d.])")


def allocate(n, pos_share):
    tot = sum(w for _, _, w in SHAPES)
    counts = [n * w // tot for _, _, w in SHAPES]
    k = 0
    while sum(counts) < n:
        counts[k % len(counts)] += 1
        k += 1
    return [(sid, fn, cnt, round(cnt * pos_share)) for (sid, fn, _), cnt in zip(SHAPES, counts)]


def make(seed, n, prefix, pos_share=0.7):
    c = Ctx(seed)
    out = []
    for sid, fn, cnt, npos in allocate(n, pos_share):
        for i in range(cnt):
            neg = i >= npos
            for attempt in range(20):
                d = fn(c, neg, i)
                if neg or d.nspans():
                    break
            assert (d.nspans() == 0) == neg, (sid, neg)
            text, spans = d.build()
            for s in spans:
                assert s["type"] in TYPES, s
                v = text.encode("utf-8")[s["start"]:s["end"]].decode("utf-8")
                assert v == v.strip() and v, (sid, repr(v))
            tags = set(d.tags)
            for m in IPV4_RE.finditer(text):
                try:
                    a = ipaddress.IPv4Address(m.group(1))
                except ValueError:
                    continue
                if a.is_private or a.is_loopback or a in ipaddress.IPv4Network("100.64.0.0/10"):
                    tags.add("private_ip")
            out.append({"text": text, "spans": spans,
                        "meta": {"context": d.context, "lang": d.lang, "kind": "negative" if neg else "positive",
                                 "source": "synthetic", "tags": sorted(tags), "shape": sid, "prose": d.prose}})
    c.rng.shuffle(out)
    rows = []
    for k, r in enumerate(out, 1):
        rows.append({"id": f"{prefix}{k:05d}", **r})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--prefix", default="x")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    rows = make(a.seed, a.n, a.prefix)
    with open(a.out, "w", encoding="utf-8", newline="\n") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} samples to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

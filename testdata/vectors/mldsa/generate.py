"""Generates mldsa44_cosignature.json: an ML-DSA-44 witness cosignature (C2SP tlog-cosignature,
type 0x06) made by an implementation trail does not use: dilithium-py 1.5.1 (pip install
dilithium-py==1.5.1), written from the C2SP text alone. Run: python3 generate.py > mldsa44_cosignature.json
"""
import base64, hashlib, json, struct
from dilithium_py.ml_dsa import ML_DSA_44

NAME = "witness.example/pq1"
ORIGIN = "example.com/behind-the-sofa"
SIZE = 20852163
ROOT_B64 = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
TIMESTAMP = 1679315147

pk, sk = ML_DSA_44.key_derive(bytes(range(32)))
assert len(pk) == 1312
key_id = hashlib.sha256(NAME.encode() + b"\n" + b"\x06" + pk).digest()[:4]
vkey = NAME + "+" + key_id.hex() + "+" + base64.b64encode(b"\x06" + pk).decode()

def message(name, ts, origin, start, end, root):
    # struct cosigned_message (tlog-cosignature, "ML-DSA-44 signed message")
    return (b"subtree/v1\n\x00" + bytes([len(name)]) + name.encode() + struct.pack(">Q", ts)
            + bytes([len(origin)]) + origin.encode() + struct.pack(">QQ", start, end) + root)

root = base64.b64decode(ROOT_B64)
body = f"{ORIGIN}\n{SIZE}\n{ROOT_B64}\n"
sig = ML_DSA_44.sign(sk, message(NAME, TIMESTAMP, ORIGIN, 0, SIZE, root), b"", deterministic=True)
assert len(sig) == 2420
line = "\u2014 " + NAME + " " + base64.b64encode(key_id + struct.pack(">Q", TIMESTAMP) + sig).decode()
# The same signature presented for another size: must not verify.
print(json.dumps({
    "source": "dilithium-py 1.5.1 (pure-Python FIPS 204), seed bytes 0..31, deterministic signing",
    "cosigner_vkey": vkey,
    "checkpoint_body": body,
    "cosignature_line": line,
    "other_size_body": f"{ORIGIN}\n{SIZE + 1}\n{ROOT_B64}\n",
}, indent=1, ensure_ascii=False))

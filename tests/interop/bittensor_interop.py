#!/usr/bin/env python3
"""Interop helper: lets the real `bittensor-wallet` library check resi's signatures and wallets.

Driven by host/core/tests/interop.rs. Reads one JSON request on stdin, writes one JSON answer on
stdout. Requests:

  {"op": "verify", "items": [{"ss58": ..., "message": ..., "signature": <hex, no 0x>}, ...]}
      -> {"results": [true|false, ...]}   (Keypair(ss58_address=...).verify(bytes, bytes))
  {"op": "sign", "items": [{"uri": ..., "message": ...}, ...]}
      -> {"results": [{"ss58": ..., "signature": <hex>}, ...]}
  {"op": "wallet", "path": ..., "name": ..., "hotkey": ...}
      -> {"hotkey_ss58": ..., "coldkeypub_ss58": ..., "signature": <hex over b"interop">}

Requires bittensor-wallet==4.1.1 (pip install bittensor-wallet==4.1.1). TEST ONLY keys.
"""

import json
import sys

from bittensor_wallet import Keypair, Wallet


def verify(items):
    out = []
    for it in items:
        kp = Keypair(ss58_address=it["ss58"])
        try:
            ok = bool(kp.verify(it["message"].encode(), bytes.fromhex(it["signature"])))
        except Exception:  # the library raises on malformed input; that is a failed check
            ok = False
        out.append(ok)
    return {"results": out}


def sign(items):
    out = []
    for it in items:
        kp = Keypair.create_from_uri(it["uri"])
        sig = kp.sign(it["message"].encode())
        out.append({"ss58": kp.ss58_address, "signature": bytes(sig).hex()})
    return {"results": out}


def wallet(req):
    w = Wallet(name=req["name"], hotkey=req["hotkey"], path=req["path"])
    hk = w.get_hotkey()
    sig = hk.sign(b"interop")
    return {
        "hotkey_ss58": hk.ss58_address,
        "coldkeypub_ss58": w.get_coldkeypub().ss58_address,
        "signature": bytes(sig).hex(),
    }


def main():
    req = json.load(sys.stdin)
    op = req.get("op")
    if op == "verify":
        ans = verify(req["items"])
    elif op == "sign":
        ans = sign(req["items"])
    elif op == "wallet":
        ans = wallet(req)
    else:
        print(f"unknown op {op!r}", file=sys.stderr)
        return 2
    json.dump(ans, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

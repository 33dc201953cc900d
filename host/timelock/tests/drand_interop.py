"""The Python side of resi-timelock's interop test with the real bittensor-drand (2.0.0).

Reads one JSON request on stdin, writes one JSON answer on stdout. Only offline functions of
bittensor-drand are called (decrypt_with_signature, encrypt_at_round, get_encrypted_commit_v2);
never decrypt / get_signature_for_round / get_latest_round, which reach the drand network.

Ops:
  decrypt:    items [{wrapped, signature}] -> [{plaintext, payload} | {error}]
  encrypt:    items [{payload} | {data}, round] -> [{data, wrapped, round}]
              (payload fields are SCALE-encoded here, by hand, independently of resi)
  commit_v2:  items [get_encrypted_commit_v2 kwargs] -> [{commit, round, before_ns, after_ns} | {error}]
  legacy:     items [{tempo, current_block, netuid, period, block_time, now}] -> [{first_reveal_block, round}]
              (a port of bittensor-drand 1.3.0 generate_commit's arithmetic, which is not
              installable next to 2.0.0)
"""

import json
import math
import sys
import time
from importlib.metadata import version

import bittensor_drand

GENESIS_TIME = 1_692_803_367
DRAND_PERIOD = 3
SECURITY_BLOCK_OFFSET = 3
U64 = (1 << 64) - 1


def compact(n):
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raw = n.to_bytes((n.bit_length() + 7) // 8, "little")
    return bytes([((len(raw) - 4) << 2) | 3]) + raw


def read_compact(b, i):
    mode = b[i] & 3
    if mode == 0:
        return b[i] >> 2, i + 1
    if mode == 1:
        return int.from_bytes(b[i : i + 2], "little") >> 2, i + 2
    if mode == 2:
        return int.from_bytes(b[i : i + 4], "little") >> 2, i + 4
    n = (b[i] >> 2) + 4
    return int.from_bytes(b[i + 1 : i + 1 + n], "little"), i + 1 + n


def encode_payload(p):
    hotkey = bytes.fromhex(p["hotkey"])
    out = compact(len(hotkey)) + hotkey
    for key in ("uids", "values"):
        out += compact(len(p[key])) + b"".join(v.to_bytes(2, "little") for v in p[key])
    return out + p["version_key"].to_bytes(8, "little")


def decode_payload(b):
    """subtensor's WeightsTlockPayload {hotkey: Vec<u8>, uids: Vec<u16>, values: Vec<u16>, version_key: u64}."""
    n, i = read_compact(b, 0)
    hotkey = b[i : i + n]
    i += n
    vecs = []
    for _ in range(2):
        n, i = read_compact(b, i)
        vecs.append([int.from_bytes(b[i + 2 * k : i + 2 * k + 2], "little") for k in range(n)])
        i += 2 * n
    version_key = int.from_bytes(b[i : i + 8], "little")
    i += 8
    if i != len(b):
        raise ValueError(f"{len(b) - i} trailing bytes")
    return {"hotkey": hotkey.hex(), "uids": vecs[0], "values": vecs[1], "version_key": version_key}


def decrypt(item):
    try:
        plain = bittensor_drand.decrypt_with_signature(bytes.fromhex(item["wrapped"]), item["signature"])
    except Exception as e:  # the library raises ValueError
        return {"error": f"{type(e).__name__}: {e}"}
    return {"plaintext": bytes(plain).hex(), "payload": decode_payload(bytes(plain))}


def encrypt(item):
    data = encode_payload(item["payload"]) if "payload" in item else bytes.fromhex(item["data"])
    wrapped, reveal_round = bittensor_drand.encrypt_at_round(data, item["round"])
    return {"data": data.hex(), "wrapped": bytes(wrapped).hex(), "round": reveal_round}


def commit_v2(item):
    kwargs = dict(item)
    kwargs["hotkey"] = bytes.fromhex(item["hotkey"])
    before = time.time_ns()
    try:
        commit, reveal_round = bittensor_drand.get_encrypted_commit_v2(**kwargs)
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}
    after = time.time_ns()
    return {"commit": bytes(commit).hex(), "round": reveal_round, "before_ns": before, "after_ns": after}


def legacy(item):
    """bittensor-drand 1.3.0 src/drand.rs generate_commit, with its saturating arithmetic."""
    tempo_plus_one = min(item["tempo"] + 1, U64)
    netuid_plus_one = item["netuid"] + 1
    current_epoch = (item["current_block"] + netuid_plus_one) // tempo_plus_one
    reveal_epoch = current_epoch + item["period"]
    first_reveal_blk = max(min(reveal_epoch * tempo_plus_one, U64) - netuid_plus_one, 0)
    target_ingest_blk = min(first_reveal_blk + SECURITY_BLOCK_OFFSET, U64)
    blocks_until_ingest = max(target_ingest_blk - item["current_block"], 0)
    secs_until_ingest = float(blocks_until_ingest) * item["block_time"]
    target_secs = item["now"] + secs_until_ingest
    reveal_round = max(math.floor((target_secs - float(GENESIS_TIME)) / float(DRAND_PERIOD)), 1)
    return {"first_reveal_block": first_reveal_blk, "round": reveal_round}


OPS = {"decrypt": decrypt, "encrypt": encrypt, "commit_v2": commit_v2, "legacy": legacy}


def main():
    request = json.load(sys.stdin)
    op = OPS[request["op"]]
    answer = {
        "bittensor_drand": version("bittensor-drand"),
        "results": [op(item) for item in request["items"]],
    }
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()

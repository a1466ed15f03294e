#!/usr/bin/env python3
"""Writes the fuzzers' files cut from the real model (Python standard library only):

  corpus/gguf/real-header-64k.gguf     the first 64 KiB of the real model's header (the fuzzers'
                                       -max_len): its general.* keys, the start of the vocabulary
  corpus/gguf/real-header-small.gguf   the real header without the three vocabulary arrays: every
                                       other key, then all 272 tensor infos, no tensor data
  vocabulary/smollm2.gguf        the tokenizer.* metadata only, no tensors: the vocabulary the
                                 tokenizer fuzzer encodes with

Usage: Fuzz/make-seeds.py models/SmolLM2-135M-Instruct.Q4_1.gguf
"""
import os
import struct
import sys

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def skip_value(b, o, t):
    if t in SCALAR:
        return o + SCALAR[t]
    if t == 8:
        (n,) = struct.unpack_from("<Q", b, o)
        return o + 8 + n
    if t == 9:
        et, n = struct.unpack_from("<IQ", b, o)
        o += 12
        for _ in range(n):
            o = skip_value(b, o, et)
        return o
    raise ValueError(f"value type {t}")


def main(path):
    here = os.path.dirname(os.path.abspath(__file__))
    with open(path, "rb") as f:
        b = f.read(16 << 20)
    magic, version, tensors, kvs = struct.unpack_from("<IIQQ", b, 0)
    assert magic == 0x46554747, "not a GGUF file"
    o = 24
    entries = []  # (key, raw bytes of key+type+value)
    for _ in range(kvs):
        start = o
        (n,) = struct.unpack_from("<Q", b, o)
        key = b[o + 8 : o + 8 + n].decode()
        o += 8 + n
        (t,) = struct.unpack_from("<I", b, o)
        o = skip_value(b, o + 4, t)
        entries.append((key, b[start:o]))
    for _ in range(tensors):
        (n,) = struct.unpack_from("<Q", b, o)
        o += 8 + n
        (dims,) = struct.unpack_from("<I", b, o)
        o += 4 + 8 * dims + 4 + 8
    header = b[:o]
    tensor_infos = b[24 + sum(len(raw) for _, raw in entries) : o]
    os.makedirs(os.path.join(here, "corpus", "gguf"), exist_ok=True)
    with open(os.path.join(here, "corpus", "gguf", "real-header-64k.gguf"), "wb") as f:
        f.write(header[: 64 << 10])
    big = ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type")
    small = [raw for key, raw in entries if key not in big]
    with open(os.path.join(here, "corpus", "gguf", "real-header-small.gguf"), "wb") as f:
        f.write(struct.pack("<IIQQ", magic, version, tensors, len(small)) + b"".join(small) + tensor_infos)
    kept = [raw for key, raw in entries if key.startswith("tokenizer.ggml.") or key == "general.architecture"]
    os.makedirs(os.path.join(here, "vocabulary"), exist_ok=True)
    with open(os.path.join(here, "vocabulary", "smollm2.gguf"), "wb") as f:
        f.write(struct.pack("<IIQQ", magic, version, 0, len(kept)) + b"".join(kept))
    print(f"header {len(header)} bytes, vocabulary file {sum(map(len, kept)) + 24} bytes")


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""Checks a state dict written by SslOrleans' TorchSave against the tensors it should hold.

usage: check_torch_save.py FILE.pt CASE.safetensors
CASE holds every expected tensor under the same name, in a safetensors dtype that represents its values exactly
(float16 as F32, bool as U8, ...), and its metadata maps each name to the dtype torch.load must give (e.g.
"torch.int64"). Loads FILE.pt with weights_only=True and with the plain unpickler and requires, for both: the same
names in the same order, the dtype, the shape, row-major strides and equal values; then checks that the zip is
sound (CRCs) and that every record's data starts on a 64-byte boundary, as PyTorch's own writer aligns them.
Exit 0 when everything holds.
"""
import collections
import json
import struct
import sys
import zipfile

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    metadata = header.pop("__metadata__", {})
    tensors = collections.OrderedDict()
    for name, info in header.items():
        begin, end = info["data_offsets"]
        if end == begin:  # frombuffer refuses an empty buffer
            tensors[name] = torch.zeros(info["shape"], dtype=DTYPES[info["dtype"]])
            continue
        raw = bytearray(data[base + begin:base + end])
        tensors[name] = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).clone()
    return tensors, metadata


def contiguous_strides(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.insert(0, step)
        step *= max(size, 1)
    return tuple(strides)


def check(loaded, expected, dtypes, how):
    problems = []
    if type(loaded) is not collections.OrderedDict:
        problems.append(f"{how}: loaded a {type(loaded).__name__}, not an OrderedDict")
    if list(loaded.keys()) != list(expected.keys()):
        problems.append(f"{how}: names {list(loaded.keys())} != {list(expected.keys())}")
    for name, want in expected.items():
        got = loaded.get(name)
        if got is None:
            continue
        if str(got.dtype) != dtypes[name]:
            problems.append(f"{how}: {name} is {got.dtype}, expected {dtypes[name]}")
        if tuple(got.shape) != tuple(want.shape):
            problems.append(f"{how}: {name} has shape {tuple(got.shape)}, expected {tuple(want.shape)}")
        elif got.stride() != contiguous_strides(want.shape):
            problems.append(f"{how}: {name} has strides {got.stride()}, expected {contiguous_strides(want.shape)}")
        elif not torch.equal(got.to(want.dtype), want):
            problems.append(f"{how}: {name} values differ: {got.flatten()[:8]} vs {want.flatten()[:8]}")
        if got.requires_grad:
            problems.append(f"{how}: {name} requires grad")
    return problems


def check_zip(path):
    problems = []
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        if bad is not None:
            problems.append(f"zip: bad CRC in {bad}")
        names = z.namelist()
        if {n.split("/")[0] for n in names} != {"archive"}:
            problems.append(f"zip: records outside one archive/ folder: {names}")
        if z.read("archive/version") != b"3\n" or z.read("archive/byteorder") != b"little":
            problems.append("zip: version or byteorder record is wrong")
        with open(path, "rb") as f:
            for info in z.infolist():
                if info.compress_type != zipfile.ZIP_STORED:
                    problems.append(f"zip: {info.filename} is compressed")
                f.seek(info.header_offset)
                local = f.read(30)
                name_length, extra_length = struct.unpack("<HH", local[26:30])
                start = info.header_offset + 30 + name_length + extra_length
                if start % 64 != 0:
                    problems.append(f"zip: {info.filename} data starts at {start}, not on a 64-byte boundary")
    return problems


def main():
    path = sys.argv[1]
    expected, dtypes = load_safetensors(sys.argv[2])
    problems = check(torch.load(path, weights_only=True), expected, dtypes, "weights_only=True")
    problems += check(torch.load(path), expected, dtypes, "plain torch.load")
    problems += check_zip(path)
    for p in problems:
        print(p)
    print(f"torch {torch.__version__}: {len(expected)} tensors checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Loads an SslOrleans backbone.safetensors into torchvision's ResNet-18 and checks its features.

usage: load_backbone.py BACKBONE.safetensors CASE.safetensors
CASE holds "input" [n, C, H, W] and "features" [n, D] computed by SslOrleans (TorchSharp) in eval mode.
Reads safetensors with the standard library (the format is a JSON header and raw little-endian data), so
only Debian's python3-torch and python3-torchvision are needed. Exit 0 when PyTorch computes the same
features (strict state-dict load, max abs difference below 1e-4 relative to the feature scale).
"""
import json
import struct
import sys

import torch
import torchvision

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[base + begin:base + end])
        tensors[name] = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"]).clone()
    return tensors


def main():
    state = load_safetensors(sys.argv[1])
    case = load_safetensors(sys.argv[2])
    width, channels = state["conv1.weight"].shape[0], state["conv1.weight"].shape[1]
    if width != 64:
        sys.exit(f"torchvision's resnet18 has width 64; this backbone has {width}")
    model = torchvision.models.resnet18()
    model.conv1 = torch.nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1, bias=False)  # CIFAR stem
    model.maxpool = torch.nn.Identity()
    model.fc = torch.nn.Identity()
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        features = model(case["input"])
    expected = case["features"]
    scale = expected.abs().max().item()
    diff = (features - expected).abs().max().item()
    print(f"torch {torch.__version__} torchvision {torchvision.__version__}: {len(state)} tensors loaded strictly, "
          f"features {tuple(features.shape)}, max |diff| {diff:.3g} (scale {scale:.3g})")
    sys.exit(0 if diff <= 1e-4 * max(1.0, scale) else 1)


if __name__ == "__main__":
    main()

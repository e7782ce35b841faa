#!/usr/bin/env python3
"""Loads an SslOrleans backbone.safetensors into PyTorch and checks its features.

ResNet-18 / ResNet-50 (either stem, any width) load into torchvision's own ResNet and blocks; the ViT loads into the
small timm-named reference implementation below (timm itself is not a Debian package).

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


def torchvision_resnet(state):
    """torchvision's ResNet with SslOrleans' width (every stage's planes scaled; torchvision's own
    width_per_group only scales the bottleneck's inner 3x3) and stem, read off the state_dict."""
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

    bottleneck = "layer1.0.conv3.weight" in state
    block, layers = (Bottleneck, [3, 4, 6, 3]) if bottleneck else (BasicBlock, [2, 2, 2, 2])
    width, channels, kernel = state["conv1.weight"].shape[0], state["conv1.weight"].shape[1], state["conv1.weight"].shape[2]
    model = ResNet(block, layers)
    model.inplanes = width  # _make_layer reads it, as ResNet.__init__ does
    if kernel == 7:  # ImageNet stem
        model.conv1 = torch.nn.Conv2d(channels, width, kernel_size=7, stride=2, padding=3, bias=False)
    else:  # CIFAR stem
        model.conv1 = torch.nn.Conv2d(channels, width, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = torch.nn.Identity()
    model.bn1 = torch.nn.BatchNorm2d(width)
    model.layer1 = model._make_layer(block, width, layers[0])
    model.layer2 = model._make_layer(block, 2 * width, layers[1], stride=2)
    model.layer3 = model._make_layer(block, 4 * width, layers[2], stride=2)
    model.layer4 = model._make_layer(block, 8 * width, layers[3], stride=2)
    model.fc = torch.nn.Identity()
    return model, f"torchvision {'resnet50' if bottleneck else 'resnet18'} width {width}"


VIT_HEADS = 3  # ViT-Tiny's; the state_dict does not record it


class Attention(torch.nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = torch.nn.Linear(dim, 3 * dim)
        self.proj = torch.nn.Linear(dim, dim)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * (d // self.heads) ** -0.5).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, d))


class Mlp(torch.nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = torch.nn.Linear(dim, hidden)
        self.act = torch.nn.GELU()
        self.fc2 = torch.nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(torch.nn.Module):
    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.norm1 = torch.nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = torch.nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(torch.nn.Module):
    def __init__(self, channels, dim, patch):
        super().__init__()
        self.proj = torch.nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class VisionTransformer(torch.nn.Module):
    """timm's / MAE's VisionTransformer reduced to what SslOrleans uses: features = final norm of the cls token."""

    def __init__(self, channels, dim, patch, tokens, depth, heads, mlp_ratio=4):
        super().__init__()
        self.cls_token = torch.nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = torch.nn.Parameter(torch.zeros(1, tokens, dim))
        self.patch_embed = PatchEmbed(channels, dim, patch)
        self.blocks = torch.nn.ModuleList([Block(dim, heads, mlp_ratio * dim) for _ in range(depth)])
        self.norm = torch.nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        x = self.patch_embed(x) + self.pos_embed[:, 1:]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]


def reference_vit(state):
    dim, channels, patch = state["patch_embed.proj.weight"].shape[:3]
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    tokens = state["pos_embed"].shape[1]
    model = VisionTransformer(channels, dim, patch, tokens, depth, VIT_HEADS)
    return model, f"reference vit dim {dim} depth {depth} patch {patch}"


def main():
    state = load_safetensors(sys.argv[1])
    case = load_safetensors(sys.argv[2])
    model, what = reference_vit(state) if "cls_token" in state else torchvision_resnet(state)
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        features = model(case["input"])
    expected = case["features"]
    scale = expected.abs().max().item()
    diff = (features - expected).abs().max().item()
    print(f"torch {torch.__version__} torchvision {torchvision.__version__}, {what}: {len(state)} tensors loaded strictly, "
          f"features {tuple(features.shape)}, max |diff| {diff:.3g} (scale {scale:.3g})")
    sys.exit(0 if diff <= 1e-4 * max(1.0, scale) else 1)


if __name__ == "__main__":
    main()

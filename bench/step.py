#!/usr/bin/python3
"""One worker's training step in PyTorch, the counterpart of `sslo bench step`.

Run with Debian's Python (/usr/bin/python3: torch 1.13, torchvision). The same model as SslOrleans builds
(ResNet-18 or ResNet-50 with the CIFAR stem at --width, heads as src/SslOrleans.Core/Methods), the same batch
cut into the same micro-batches (batch norm sees one micro-batch at a time, as a replica's does), the views of
the one-channel recipes (src/SslOrleans.Core/Transforms: crop + flip as one affine resampling, brightness and
contrast jitter, a 3-tap Gaussian blur, solarize, normalisation) computed on tensors, LARS as FlatOptimizer
(eta 0.02, clipped, bias and norm parameters excluded) and BYOL's EMA target. Images are synthetic 28x28 grey
bytes (Fashion-MNIST's shape), as on the C# side.

BYOL: per micro-batch, online forward of both views, target forward of both (no grad), symmetric 2 - 2 cos
loss divided by the number of micro-batches, backward (gradients accumulate). SimCLR: per micro-batch, both
views through backbone + projector with grad; the embeddings of the whole batch go into one NT-Xent loss and
one backward: the plain single-pass way to get the gradient of the global loss, which the C# side gets with
an extra no-grad embedding pass (the gradient-cache trick that lets workers split the batch).

Timed: --steps steps after --warmup; views / forward / backward / optimizer. --extract N: eval-mode, no-grad
backbone features of N images in batches of --extract-batch. One JSON object on the last stdout line.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- model (src/SslOrleans.Core/Models)

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, planes, stride):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """CIFAR stem: 3x3 stride-1 conv1, no max-pool; pooled features, no classifier."""

    def __init__(self, name, width, channels):
        super().__init__()
        block, blocks = (Bottleneck, [3, 4, 6, 3]) if name == "resnet50" else (BasicBlock, [2, 2, 2, 2])
        self.conv1 = nn.Conv2d(channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, inp = [], width
        for i, n in enumerate(blocks):
            planes = width * 2 ** i
            mods = []
            for j in range(n):
                mods.append(block(inp, planes, (1 if i == 0 else 2) if j == 0 else 1))
                inp = planes * block.expansion
            layers.append(nn.Sequential(*mods))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.feature_dim = inp
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.layer4(self.layer3(self.layer2(self.layer1(y))))
        return F.adaptive_avg_pool2d(y, 1).flatten(1)


def mlp(inp, hidden, out):
    """MlpHead with two layers: Linear -> BatchNorm1d -> ReLU -> Linear."""
    return nn.Sequential(nn.Linear(inp, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, out))


class Branch(nn.Module):
    def __init__(self, backbone, projector, predictor=None):
        super().__init__()
        self.backbone, self.projector, self.predictor = backbone, projector, predictor

    def forward(self, x):
        z = self.projector(self.backbone(x))
        return z if self.predictor is None else self.predictor(z)


# ---------------------------------------------------------------- views (src/SslOrleans.Core/Transforms)

def views(images, recipe, mean, std, gen):
    """One-channel ViewTransform.Apply: crop + flip (affine_grid/grid_sample, reflection), brightness and contrast
    jitter, 3-tap Gaussian blur as a grouped convolution (sigma 0 = identity), solarize, normalise."""
    n, c, h, w = images.shape
    r = lambda: torch.rand(n, generator=gen)
    area = 0.08 + 0.92 * r()
    logr = math.log(3 / 4) + (math.log(4 / 3) - math.log(3 / 4)) * r()
    cw = torch.sqrt(area * torch.exp(logr)).clamp(max=1)
    ch = torch.sqrt(area / torch.exp(logr)).clamp(max=1)
    cx = (2 * r() - 1) * (1 - cw)
    cy = (2 * r() - 1) * (1 - ch)
    flip = torch.where(r() < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = cw * flip
    theta[:, 0, 2] = cx
    theta[:, 1, 1] = ch
    theta[:, 1, 2] = cy
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    x = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    jit = r() < recipe["jitter"]
    b = torch.where(jit, 1 - recipe["brightness"] + 2 * recipe["brightness"] * r(), torch.ones(n)).view(n, 1, 1, 1)
    k = torch.where(jit, 1 - recipe["contrast"] + 2 * recipe["contrast"] * r(), torch.ones(n)).view(n, 1, 1, 1)
    x = (x * b).clamp(0, 1)
    m = x.mean([1, 2, 3], keepdim=True)
    x = ((x - m) * k + m).clamp(0, 1)
    sigma = torch.where(r() < recipe["blur"], 0.1 + 1.9 * r(), torch.zeros(n))
    ks = max(3, (h // 10) | 1)
    d = torch.arange(ks, dtype=torch.float32) - ks // 2
    kern = torch.exp(-d.view(1, ks) ** 2 / (2 * sigma.clamp(min=1e-6).view(n, 1) ** 2))
    kern = torch.where(sigma.view(n, 1) > 0, kern, (d == 0).float().view(1, ks).expand(n, ks))
    kern = (kern / kern.sum(1, keepdim=True)).repeat_interleave(c, 0)
    flat = F.pad(x.reshape(1, n * c, h, w), [ks // 2] * 4, mode="reflect")
    flat = F.conv2d(flat, kern.view(n * c, 1, 1, ks), groups=n * c)
    x = F.conv2d(flat, kern.view(n * c, 1, ks, 1), groups=n * c).reshape(n, c, h, w)
    sol = (r() < recipe["solarize"]).view(n, 1, 1, 1)
    x = torch.where(sol & (x >= 0.5), 1 - x, x)
    return (x - mean) / std


ASYMMETRIC = [dict(jitter=0.8, brightness=0.4, contrast=0.4, blur=1.0, solarize=0.0),
              dict(jitter=0.8, brightness=0.4, contrast=0.4, blur=0.1, solarize=0.2)]
SYMMETRIC = [dict(jitter=0.8, brightness=0.8, contrast=0.8, blur=0.0, solarize=0.0)] * 2


# ---------------------------------------------------------------- LARS (src/SslOrleans.Core/Training/FlatOptimizer.cs)

@torch.no_grad()
def lars_step(params, momenta, lr, wd, eta=0.02, mu=0.9, eps=1e-8):
    for p, m in zip(params, momenta):
        g = p.grad
        if p.ndim <= 1:  # bias and norm parameters: no decay, no adaptation
            d = g
        else:
            pn, gn = float(p.norm()), float(g.norm())
            scale = 1.0
            if pn > 0 and gn > 0:
                scale = min(eta * pn / (gn + wd * pn + eps) / lr, 1.0)
            d = g.add(p, alpha=wd).mul_(scale)
        m.mul_(mu).add_(d)
        p.sub_(m, alpha=lr)


@torch.no_grad()
def ema(target, online, tau):
    for t, o in zip(target, online):
        t.mul_(tau).add_(o, alpha=1 - tau)


# ---------------------------------------------------------------- the step

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--method", default="byol", choices=["byol", "simclr"])
    ap.add_argument("--backbone", default="resnet18", choices=["resnet18", "resnet50"])
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--micro-batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--extract", type=int, default=0)
    ap.add_argument("--extract-batch", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.batch % a.micro_batch:
        ap.error(f"--batch {a.batch} is not a multiple of --micro-batch {a.micro_batch}")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)

    count = max(a.batch, a.extract)
    pixels = torch.randint(0, 256, (count, 1, 28, 28), generator=gen, dtype=torch.uint8)
    mean, std = float(pixels.float().mean() / 255), float((pixels.float() / 255).std(unbiased=False))

    backbone = ResNet(a.backbone, a.width, 1)
    fd = backbone.feature_dim
    if a.method == "byol":
        hidden, proj = 64 * a.width, 256
        online = Branch(backbone, mlp(fd, hidden, proj), mlp(proj, hidden, proj))
        target = Branch(ResNet(a.backbone, a.width, 1), mlp(fd, hidden, proj))
        target.load_state_dict({k: v for k, v in online.state_dict().items() if not k.startswith("predictor.")})
        for p in target.parameters():
            p.requires_grad_(False)
        recipes, lr, wd = ASYMMETRIC, 1.0 * a.batch / 256, 1e-5
    else:
        online = Branch(backbone, mlp(fd, 32 * a.width, 4 * a.width))
        target = None
        recipes, lr, wd = SYMMETRIC, 0.4 * a.batch / 256, 1e-4
    online.train()
    if target is not None:
        target.train()
    params = list(online.parameters())
    momenta = [torch.zeros_like(p) for p in params]
    target_params = list(target.parameters()) if target is not None else []
    # The EMA covers the target's parameters, a prefix of the online ones (backbone + projector).
    online_prefix = params[:len(target_params)]
    mbs = a.batch // a.micro_batch
    t = dict(views=0.0, forward=0.0, backward=0.0, optimizer=0.0)

    def step():
        clock = time.perf_counter
        start = clock()
        views_s = fwd = bwd = 0.0
        for p in params:
            p.grad = None
        order = torch.randperm(count, generator=gen)[:a.batch]
        if a.method == "byol":
            for j in range(mbs):
                t0 = clock()
                imgs = pixels[order[j * a.micro_batch:(j + 1) * a.micro_batch]].float() / 255
                v1 = views(imgs, recipes[0], mean, std, gen)
                v2 = views(imgs, recipes[1], mean, std, gen)
                t1 = clock()
                p1, p2 = online(v1), online(v2)
                with torch.no_grad():
                    z1, z2 = target(v1), target(v2)
                loss = (2 - 2 * F.cosine_similarity(p1, z2, dim=1, eps=1e-8)).mean() \
                    + (2 - 2 * F.cosine_similarity(p2, z1, dim=1, eps=1e-8)).mean()
                float(loss)
                t2 = clock()
                (loss / mbs).backward()  # gradients accumulate: the mean over micro-batches
                t3 = clock()
                views_s += t1 - t0
                fwd += t2 - t1
                bwd += t3 - t2
        else:
            zs1, zs2 = [], []
            for j in range(mbs):
                t0 = clock()
                imgs = pixels[order[j * a.micro_batch:(j + 1) * a.micro_batch]].float() / 255
                v1 = views(imgs, recipes[0], mean, std, gen)
                v2 = views(imgs, recipes[1], mean, std, gen)
                t1 = clock()
                zs1.append(online(v1))
                zs2.append(online(v2))
                t2 = clock()
                views_s += t1 - t0
                fwd += t2 - t1
            t1 = clock()
            z = F.normalize(torch.cat([torch.cat(zs1), torch.cat(zs2)]), dim=1)
            n = a.batch
            logits = (z @ z.t()) / 0.2
            logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
            pos = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
            loss = F.cross_entropy(logits, pos)
            float(loss)
            t2 = clock()
            loss.backward()
            t3 = clock()
            fwd += t2 - t1
            bwd += t3 - t2
        t0 = clock()
        lars_step(params, momenta, lr, wd)
        if target is not None:
            ema(target_params, online_prefix, 0.99)
        opt = clock() - t0
        return clock() - start, views_s, fwd, bwd, opt

    for _ in range(a.warmup):
        step()
    total = 0.0
    for _ in range(a.steps):
        s, v, f, b, o = step()
        total += s
        t["views"] += v
        t["forward"] += f
        t["backward"] += b
        t["optimizer"] += o
    result = dict(side="pytorch", torch=torch.__version__, method=a.method, backbone=a.backbone, width=a.width,
                  batch=a.batch, micro_batch=a.micro_batch, threads=torch.get_num_threads(), steps=a.steps,
                  images_per_s=round(a.batch * a.steps / total, 2), step_s=round(total / a.steps, 5),
                  breakdown_s={k: round(v / a.steps, 5) for k, v in t.items()},
                  parameters=sum(p.numel() for p in params))
    if a.extract > 0:
        backbone.eval()
        x_all = pixels[:a.extract]
        feats = torch.empty(a.extract, fd)
        with torch.no_grad():
            backbone(((x_all[:min(a.extract_batch, a.extract)].float() / 255) - mean) / std)  # warm-up
            start = time.perf_counter()
            for i in range(0, a.extract, a.extract_batch):
                xb = (x_all[i:i + a.extract_batch].float() / 255 - mean) / std
                feats[i:i + xb.shape[0]] = backbone(xb)
            sec = time.perf_counter() - start
        result["extract"] = dict(images=a.extract, batch=a.extract_batch, seconds=round(sec, 4),
                                 images_per_s=round(a.extract / sec, 2))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

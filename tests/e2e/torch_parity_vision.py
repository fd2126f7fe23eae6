#!/usr/bin/env python3
"""Parity of gradc's compiled gradients with PyTorch on the vision examples.

  --which lenet   examples/lenet.pbtxt against the WORKLOADS.md LeNet
  --which resnet  examples/resnet.pbtxt against the WORKLOADS.md ResNet in
                  training mode (BatchNorm with batch statistics)
  --which resnet_proj  tests/e2e/Inputs/resnet_proj.pbtxt: the residual_block
                  layer with a stride-2 projection shortcut (1x1 conv + BN)

The torch modules are built as in ../shared/bench/torch_ref.py, with their
default initialization; their params are written as the .npy param
directory (LeNet's Linear weights transposed to its matmul's [in, out]; the
layers of the resnet models take torch's layouts and names as they are). Both sides get
the same random batch; `gradc grad` computes the loss and every param
gradient, and each must agree with torch to 1e-4 relative
(|gradc - torch| <= 1e-4 * max|torch| per tensor).

The reference is the same torch model run in float64. torch's float32 CPU
BatchNorm backward is itself off by up to ~3e-3 relative here (printed for
each tensor), while gradc's float32 gradients are within ~5e-6 of float64.
Gradients that are analytically zero (the bias of a conv that feeds a
BatchNorm: the batch mean removes it; float64 gives ~1e-16) are float noise
in float32, so for them the scale is the largest gradient of the model:
they must be zero to within 1e-4 of it.

Then `gradc run` (eval mode: BatchNorm with the running statistics, which
are set to random values here) must give torch's model.eval() logits, also
to 1e-4.

The resnet example adapts 784-pixel MNIST rows to 3x32x32 images inside the
model (reshape, then a frozen 1x1 conv of ones with padding 2); torch gets
the same images by zero-padding and repeating the channel.
"""
import argparse
EXTRA = [a for a in __import__("os").environ.get("GRADC_EXTRA", "").split() if a]
import copy
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    """The residual_block layer: as the WORKLOADS.md block, plus a 1x1
    projection (no bias) with BatchNorm on the skip when the stride or the
    channel count changes."""

    def __init__(s, c, out=None, stride=1):
        super().__init__()
        out = out or c
        s.c1, s.b1 = nn.Conv2d(c, out, 3, stride=stride, padding=1), nn.BatchNorm2d(out)
        s.c2, s.b2 = nn.Conv2d(out, out, 3, padding=1), nn.BatchNorm2d(out)
        s.proj = s.pb = None
        if stride != 1 or out != c:
            s.proj = nn.Conv2d(c, out, 1, stride=stride, bias=False)
            s.pb = nn.BatchNorm2d(out)

    def forward(s, x):
        y = F.relu(s.b1(s.c1(x)))
        skip = s.pb(s.proj(x)) if s.proj is not None else x
        return F.relu(s.b2(s.c2(y)) + skip)

    def named(s, prefix):
        """gradc's param names of the block's modules (residual_block's)."""
        out = {f"{prefix}.conv1": s.c1, f"{prefix}.bn1": s.b1, f"{prefix}.conv2": s.c2,
               f"{prefix}.bn2": s.b2}
        if s.proj is not None:
            out.update({f"{prefix}.proj": s.proj, f"{prefix}.proj_bn": s.pb})
        return out


def lenet():
    m = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    names = {"C1": (m[0], "weight"), "c1": (m[0], "bias"), "C2": (m[3], "weight"),
             "c2": (m[3], "bias"), "W3": (m[7], "weight"), "b3": (m[7], "bias"),
             "W4": (m[9], "weight"), "b4": (m[9], "bias"), "W5": (m[11], "weight"),
             "b5": (m[11], "bias")}
    return m, names, {}, lambda x: x.reshape(-1, 1, 28, 28), 64


def layer_names(modules):
    """Params and BatchNorm buffers of gradc's layers, named as the layers
    name them: <layer>.weight, .bias, .running_mean, .running_var."""
    names, buffers = {}, {}
    for prefix, mod in modules.items():
        names[prefix + ".weight"] = (mod, "weight")
        if mod.bias is not None:
            names[prefix + ".bias"] = (mod, "bias")
        if isinstance(mod, nn.BatchNorm2d):
            buffers[prefix + ".running_mean"] = (mod, "running_mean")
            buffers[prefix + ".running_var"] = (mod, "running_var")
    return names, buffers


def resnet_from(m, modules):
    names, buffers = layer_names(modules)
    frozen = {"adapt": np.ones((3, 1, 1, 1), np.float32)}
    # Running statistics other than the initial 0 and 1, so that the eval
    # check below sees them used.
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
    for k, (mod, attr) in buffers.items():
        frozen[k] = getattr(mod, attr).detach().numpy().copy()

    def adapt(x):
        return F.pad(x.reshape(-1, 1, 28, 28), (2, 2, 2, 2)).repeat(1, 3, 1, 1)
    return m, names, frozen, adapt, 32


def resnet():
    m = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        Block(16), Block(16), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    modules = {"conv0": m[0], "bn0": m[1], "fc": m[7]}
    modules.update(m[3].named("block1"))
    modules.update(m[4].named("block2"))
    return resnet_from(m, modules)


def resnet_proj():
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        Block(8, 16, 2), Block(16), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    modules = {"conv0": m[0], "bn0": m[1], "fc": m[7]}
    modules.update(m[3].named("block1"))
    modules.update(m[4].named("block2"))
    return resnet_from(m, modules)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--which", choices=["lenet", "resnet", "resnet_proj"], required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    model, names, frozen, adapt, batch = {"lenet": lenet, "resnet": resnet,
                                          "resnet_proj": resnet_proj}[args.which]()
    model.train()
    params_dir = os.path.join(args.work, "params")
    out_dir = os.path.join(args.work, "out")
    os.makedirs(params_dir, exist_ok=True)

    def gradc_layout(name, t):
        a = t.detach().numpy() if isinstance(t, torch.Tensor) else t
        linear = isinstance(names[name][0], nn.Linear) and not name.endswith(".weight")
        return a.T.copy() if linear and a.ndim == 2 else a.copy()

    for name, (mod, attr) in names.items():
        np.save(os.path.join(params_dir, name + ".npy"),
                gradc_layout(name, getattr(mod, attr)).astype(np.float32))
    for name, value in frozen.items():
        np.save(os.path.join(params_dir, name + ".npy"), value.astype(np.float32))
    # Copied before any training-mode forward updates the running statistics.
    eval64 = copy.deepcopy(model).double().eval()
    # A ReLU input within float32 rounding of 0 may fall on either side in
    # gradc and in torch, and one flipped element moves the gradients of
    # everything before it by ~1e-3 (seen with resnet). The check is about
    # the compiled math, not about that coin toss, so the batch is drawn
    # again until every ReLU input of the float64 reference is >= 1e-6
    # away from 0.
    probe = copy.deepcopy(model).double()
    relu, margin = F.relu, [0.0]

    def recording_relu(t, *a, **k):
        margin[0] = min(margin[0], t.detach().abs().min().item())
        return relu(t, *a, **k)
    for attempt in range(50):
        x = rng.random((batch, 784), dtype=np.float32)
        y = rng.integers(0, 10, size=batch).astype(np.int32)
        margin[0] = float("inf")
        F.relu = recording_relu
        try:
            with torch.no_grad():
                probe(adapt(torch.tensor(x).double()))
        finally:
            F.relu = relu
        if margin[0] >= 1e-6:
            break
    print(f"batch {attempt}: smallest |ReLU input| {margin[0]:.1e}")
    np.save(os.path.join(args.work, "x.npy"), x)
    np.save(os.path.join(args.work, "y.npy"), y)

    subprocess.run([args.gradc, "grad", args.model, "--params", params_dir] + EXTRA + [
                    "--input", "x=" + os.path.join(args.work, "x.npy"),
                    "--input", "y=" + os.path.join(args.work, "y.npy"),
                    "--output-dir", out_dir], check=True)

    model64 = copy.deepcopy(model).double()
    mods64 = dict(model64.named_modules())
    path = {id(v): k for k, v in model.named_modules()}
    for m, dt in ((model, torch.float32), (model64, torch.float64)):
        logits = m(adapt(torch.tensor(x).to(dt)))
        loss = F.cross_entropy(logits, torch.tensor(y, dtype=torch.long))
        loss.backward()
        if m is model64:
            loss64 = loss.item()

    def ref(name, mod, attr, t32=False):
        m = mod if t32 else mods64[path[id(mod)]]
        g = getattr(m, attr).grad.numpy()
        return gradc_layout(name, g) if g.ndim == 2 else g
    largest = max(np.abs(ref(n, mod, attr)).max() for n, (mod, attr) in names.items())

    failures = 0

    def compare(name, got, want, t32=None, floor=1e-12):
        nonlocal failures
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            print(f"FAIL {name}: shape {got.shape} != {want.shape}")
            failures += 1
            return
        scale = max(np.abs(want).max(), floor)
        err = np.abs(got - want).max() / scale
        ok = err <= 1e-4
        failures += not ok
        note = "" if t32 is None else f"  (torch f32: {np.abs(t32 - want).max() / scale:.2e})"
        print(f"{'ok  ' if ok else 'FAIL'} {name}: max |gradc - torch| / scale = {err:.2e}{note}")

    compare("loss", np.load(os.path.join(out_dir, "loss.npy")), loss64)
    for name, (mod, attr) in names.items():
        want = ref(name, mod, attr)
        analytically_zero = np.abs(want).max() < 1e-12 * largest
        compare(name + ".grad", np.load(os.path.join(out_dir, name + ".grad.npy")),
                want, ref(name, mod, attr, t32=True), largest if analytically_zero else 1e-12)
    total = len(names) + 1

    # Eval mode: `gradc run` (dropout off, BatchNorm with the running
    # statistics from the param directory) against torch's model.eval().
    subprocess.run([args.gradc, "run", args.model, "--params", params_dir] + EXTRA +
                   ["--input", "x=" + os.path.join(args.work, "x.npy"),
                    "--output-dir", os.path.join(args.work, "run")], check=True)
    with torch.no_grad():
        want = eval64(adapt(torch.tensor(x).double())).numpy()
    compare("eval logits (gradc run)", np.load(os.path.join(args.work, "run", "logits.npy")), want)
    total += 1
    print(f"torch parity ({args.which}): {total - failures} ok, {failures} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

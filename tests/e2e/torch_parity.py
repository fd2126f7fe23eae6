#!/usr/bin/env python3
"""Parity of gradc's compiled gradients with PyTorch on the ReLU MLPs (mlp, mlp3).

Writes random params (PyTorch's nn.Linear init, transposed to gradc's [in, out]
layout) and a random batch as .npy files, runs `gradc grad`, computes the same
loss and gradients with torch, and requires every value to agree to 1e-5
relative (|a - b| <= 1e-5 * max|b| per tensor, plus a tiny absolute floor for
all-zero tensors).
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import torch

from parity import Comparer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--sizes", default="784,256,10",
                    help="layer widths of the ReLU MLP (params W1, b1, W2, b2, ...)")
    args = ap.parse_args()

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    params_dir = os.path.join(args.work, "params")
    out_dir = os.path.join(args.work, "out")
    os.makedirs(params_dir, exist_ok=True)

    sizes = [int(s) for s in args.sizes.split(",")]
    layers = [torch.nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:])]
    params = {}
    for i, fc in enumerate(layers, 1):
        params[f"W{i}"] = fc.weight.detach().numpy().T.copy()
        params[f"b{i}"] = fc.bias.detach().numpy().copy()
    for name, value in params.items():
        np.save(os.path.join(params_dir, name + ".npy"), value.astype(np.float32))
    x = rng.random((args.batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, 10, size=args.batch).astype(np.int32)
    np.save(os.path.join(args.work, "x.npy"), x)
    np.save(os.path.join(args.work, "y.npy"), y)

    cmd = [args.gradc, "grad", args.model, "--params", params_dir,
           "--input", "x=" + os.path.join(args.work, "x.npy"),
           "--input", "y=" + os.path.join(args.work, "y.npy"),
           "--output-dir", out_dir]
    subprocess.run(cmd, check=True)

    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    logits = torch.tensor(x)
    for i in range(1, len(layers) + 1):
        if i > 1:
            logits = torch.relu(logits)
        logits = logits @ t[f"W{i}"] + t[f"b{i}"]
    loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y, dtype=torch.long))
    loss.backward()

    check = Comparer(tol=1e-5)
    compare = check.compare

    compare("loss", np.load(os.path.join(out_dir, "loss.npy")), loss.item())
    for name in params:
        compare(name + ".grad", np.load(os.path.join(out_dir, name + ".grad.npy")),
                t[name].grad.numpy())
    print(f"torch parity: {len(params) + 1 - check.failures} ok, {check.failures} failing")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Parity of gradc's attention and transformer layers with PyTorch.

examples/gpt.pbtxt (the "gpt" workload: embedding + sinusoidal positions,
pre-LayerNorm causal transformer blocks, final LayerNorm, linear head,
per-position cross-entropy) against the same model written out in PyTorch:
q, k, v projections, scaled dot product with the causal mask, softmax,
output projection, exact GELU FFN, residuals. Random params (LayerNorm
scales and shifts perturbed off 1 and 0 so their gradients are exercised)
go to gradc as .npy under its layer param names; `gradc grad` must give the
loss and every param gradient of a float64 PyTorch run to 1e-4 relative
(max |gradc - torch| / max |torch| per tensor).
"""
import argparse
import math
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

from parity import Comparer


def sinusoid(T, d):
    pos = torch.arange(T, dtype=torch.float64)[:, None]
    div = torch.pow(10000.0, torch.arange(0, d, 2, dtype=torch.float64) / d)
    pe = torch.zeros(T, d, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos / div)
    pe[:, 1::2] = torch.cos(pos / div)
    return pe


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=512)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=64)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    params_dir = os.path.join(args.work, "params")
    out_dir = os.path.join(args.work, "out")
    os.makedirs(params_dir, exist_ok=True)
    V, D, H, Fd, T, B = args.vocab, args.dim, args.heads, args.ffn, args.steps, args.batch

    shapes = {"emb.weight": ((V, D), 1.0)}
    for l in range(1, args.layers + 1):
        b = f"block{l}."
        shapes.update({b + "ln1.weight": ((D,), "ln1"), b + "ln1.bias": ((D,), "ln0")})
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes[b + f"attn.{proj}.weight"] = ((D, D), 1 / math.sqrt(D))
            shapes[b + f"attn.{proj}.bias"] = ((D,), 1 / math.sqrt(D))
        shapes.update({b + "ln2.weight": ((D,), "ln1"), b + "ln2.bias": ((D,), "ln0"),
                       b + "ffn1.weight": ((Fd, D), 1 / math.sqrt(D)),
                       b + "ffn1.bias": ((Fd,), 1 / math.sqrt(D)),
                       b + "ffn2.weight": ((D, Fd), 1 / math.sqrt(Fd)),
                       b + "ffn2.bias": ((D,), 1 / math.sqrt(Fd))})
    shapes.update({"lnf.weight": ((D,), "ln1"), "lnf.bias": ((D,), "ln0"),
                   "head.weight": ((V, D), 1 / math.sqrt(D)),
                   "head.bias": ((V,), 1 / math.sqrt(D))})
    P = {}
    for name, (shape, scale) in shapes.items():
        if scale == "ln1":
            a = 1 + 0.1 * rng.standard_normal(shape)
        elif scale == "ln0":
            a = 0.1 * rng.standard_normal(shape)
        elif name == "emb.weight":
            a = rng.standard_normal(shape)
        else:
            a = rng.uniform(-scale, scale, shape)
        a = a.astype(np.float32)
        np.save(os.path.join(params_dir, name + ".npy"), a)
        P[name] = torch.tensor(a.astype(np.float64), requires_grad=True)

    seq = rng.integers(0, V, size=(B, T + 1)).astype(np.int32)
    ids, nxt = seq[:, :T].copy(), seq[:, 1:].copy()
    np.save(os.path.join(args.work, "ids.npy"), ids)
    np.save(os.path.join(args.work, "next.npy"), nxt)
    subprocess.run([args.gradc, "grad", args.model, "--params", params_dir,
                    "--input", "ids=" + os.path.join(args.work, "ids.npy"),
                    "--input", "next=" + os.path.join(args.work, "next.npy"),
                    "--output-dir", out_dir], check=True)

    def linear(x, prefix):
        return x @ P[prefix + ".weight"].T + P[prefix + ".bias"]

    def ln(x, prefix):
        return F.layer_norm(x, (D,), P[prefix + ".weight"], P[prefix + ".bias"], eps=1e-5)

    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    hd = D // H
    z = P["emb.weight"][torch.tensor(ids, dtype=torch.long)] + sinusoid(T, D)
    for l in range(1, args.layers + 1):
        b = f"block{l}."
        a = ln(z, b + "ln1")
        q, k, v = (linear(a, b + f"attn.{p}").view(B, T, H, hd).transpose(1, 2)
                   for p in ("q_proj", "k_proj", "v_proj"))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        z = z + linear(y, b + "attn.out_proj")
        z = z + linear(F.gelu(linear(ln(z, b + "ln2"), b + "ffn1")), b + "ffn2")
    logits = linear(ln(z, "lnf"), "head")
    loss = F.cross_entropy(logits.reshape(-1, V), torch.tensor(nxt, dtype=torch.long).reshape(-1))
    loss.backward()

    check = Comparer(tol=1e-4)
    check.compare("loss", np.load(os.path.join(out_dir, "loss.npy")), loss.item())
    for name, p in P.items():
        got = np.load(os.path.join(out_dir, name + ".grad.npy"))
        if name.endswith("k_proj.bias"):
            # Zero in exact arithmetic: adding q.b_k to every score of a row
            # leaves its softmax unchanged. Both sides hold rounding noise, so
            # measure it against the key weights' gradient.
            w = name.replace(".bias", ".weight")
            check.compare(name + ".grad", got, p.grad.numpy(),
                          scale=np.abs(P[w].grad.numpy()).max(), scale_name=w + ".grad")
        else:
            check.compare(name + ".grad", got, p.grad.numpy())
    print(f"torch parity (gpt): {len(P) + 1 - check.failures} ok, {check.failures} failing")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())

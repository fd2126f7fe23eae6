#!/usr/bin/env python3
"""Parity of gradc's expanded recurrent layers with PyTorch.

For a character LM model (embed -> lstm|gru -> dense -> per-step cross-entropy,
e.g. examples/lstm_lm.pbtxt) writes PyTorch-initialized params under gradc's
layer param names (emb.weight, <rnn>.weight_ih, ..., head.weight, head.bias:
nn.Embedding / nn.LSTM / nn.GRU / nn.Linear's own layouts and gate orders),
and a random batch of ids and next ids, runs `gradc grad`, computes the same
loss and gradients with torch.nn.LSTM / GRU (batch_first), and requires the
loss and every param gradient to agree to 1e-4 relative
(max |gradc - torch| / max |torch| per tensor).
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
    ap.add_argument("--cell", choices=["lstm", "gru"], required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=64)
    ap.add_argument("--embed", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--steps", type=int, default=32)
    args = ap.parse_args()

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    params_dir = os.path.join(args.work, "params")
    out_dir = os.path.join(args.work, "out")
    os.makedirs(params_dir, exist_ok=True)

    V, E, H, T, B = args.vocab, args.embed, args.hidden, args.steps, args.batch
    emb = torch.nn.Embedding(V, E)
    rnn = (torch.nn.LSTM if args.cell == "lstm" else torch.nn.GRU)(E, H, batch_first=True)
    head = torch.nn.Linear(H, V)
    c = args.cell
    named = {
        "emb.weight": emb.weight,
        f"{c}.weight_ih": rnn.weight_ih_l0,
        f"{c}.weight_hh": rnn.weight_hh_l0,
        f"{c}.bias_ih": rnn.bias_ih_l0,
        f"{c}.bias_hh": rnn.bias_hh_l0,
        "head.weight": head.weight,
        "head.bias": head.bias,
    }
    for name, p in named.items():
        np.save(os.path.join(params_dir, name + ".npy"), p.detach().numpy().astype(np.float32))
    seq = rng.integers(0, V, size=(B, T + 1)).astype(np.int32)
    ids, nxt = seq[:, :T].copy(), seq[:, 1:].copy()
    np.save(os.path.join(args.work, "ids.npy"), ids)
    np.save(os.path.join(args.work, "next.npy"), nxt)

    cmd = [args.gradc, "grad", args.model, "--params", params_dir,
           "--input", "ids=" + os.path.join(args.work, "ids.npy"),
           "--input", "next=" + os.path.join(args.work, "next.npy"),
           "--output-dir", out_dir]
    subprocess.run(cmd, check=True)

    out, _ = rnn(emb(torch.tensor(ids, dtype=torch.long)))
    logits = head(out)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V),
                                             torch.tensor(nxt, dtype=torch.long).reshape(-1))
    loss.backward()

    check = Comparer(tol=1e-4)
    compare = check.compare

    compare("loss", np.load(os.path.join(out_dir, "loss.npy")), loss.item())
    for name, p in named.items():
        compare(name + ".grad", np.load(os.path.join(out_dir, name + ".grad.npy")),
                p.grad.numpy())
    print(f"torch parity ({c}): {len(named) + 1 - check.failures} ok, {check.failures} failing")
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Replays gradc's optimizer steps with torch.optim and compares the params.

Driven by tests/e2e/OptimizerParityTest.cpp, which writes into --dir:
  init/<param>.npy   the params before training
  x.npy, y.npy       the one fixed batch
  final/<param>.npy  gradc's params after --steps steps
The model is the test's MLP: out = tanh(x @ W1 + b1) @ W2 + b2, loss =
mse(out, y). Each step: zero_grad, loss.backward, clip_grad_norm_ (when
--clip-norm > 0), optimizer.step. Every param must agree to --tolerance
relative: max |gradc - torch| / max |torch|. Prints the error per param;
exits 1 when one is over.
"""
import argparse
import os
import sys

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--optimizer", required=True,
                    choices=["sgd", "rmsprop", "adam", "adamw"])
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--nesterov", action="store_true")
    ap.add_argument("--alpha", type=float, default=0.99)
    ap.add_argument("--beta1", type=float, default=0.9)
    ap.add_argument("--beta2", type=float, default=0.999)
    ap.add_argument("--eps", type=float, default=1e-8)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--clip-norm", type=float, default=0.0)
    ap.add_argument("--tolerance", type=float, default=1e-6)
    a = ap.parse_args()

    names = ["W1", "b1", "W2", "b2"]
    load = lambda sub, n: np.load(os.path.join(a.dir, sub, n + ".npy"))
    params = {n: torch.tensor(load("init", n), requires_grad=True) for n in names}
    x = torch.tensor(np.load(os.path.join(a.dir, "x.npy")))
    y = torch.tensor(np.load(os.path.join(a.dir, "y.npy")))

    ps = [params[n] for n in names]
    if a.optimizer == "sgd":
        opt = torch.optim.SGD(ps, lr=a.lr, momentum=a.momentum, nesterov=a.nesterov,
                              weight_decay=a.weight_decay)
    elif a.optimizer == "rmsprop":
        opt = torch.optim.RMSprop(ps, lr=a.lr, alpha=a.alpha, eps=a.eps,
                                  momentum=a.momentum, weight_decay=a.weight_decay)
    elif a.optimizer == "adam":
        opt = torch.optim.Adam(ps, lr=a.lr, betas=(a.beta1, a.beta2), eps=a.eps,
                               weight_decay=a.weight_decay)
    else:
        opt = torch.optim.AdamW(ps, lr=a.lr, betas=(a.beta1, a.beta2), eps=a.eps,
                                weight_decay=a.weight_decay)

    clipped = 0
    for _ in range(a.steps):
        opt.zero_grad()
        out = torch.tanh(x @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
        loss = torch.nn.functional.mse_loss(out, y)
        loss.backward()
        if a.clip_norm > 0:
            norm = torch.nn.utils.clip_grad_norm_(ps, a.clip_norm)
            clipped += int(norm.item() > a.clip_norm)
        opt.step()
    if a.clip_norm > 0:
        print(f"  clipped in {clipped} of {a.steps} steps")

    worst = 0.0
    for n in names:
        want = params[n].detach().numpy()
        got = load("final", n)
        err = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
        moved = float(np.max(np.abs(want - load("init", n))))
        print(f"  {n:3s} relative error {err:.3e} (params moved up to {moved:.3e})")
        worst = max(worst, err)
    ok = worst <= a.tolerance
    print(f"  {'ok' if ok else 'FAIL'}: worst {worst:.3e}, tolerance {a.tolerance:.0e}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Dropout is a training-step op only.

With tests/e2e/Inputs/mlp_dropout.pbtxt (dropout p 0.5 after the hidden
layer) and random data:
  1. `gradc run` (eval mode) gives exactly the model without dropout, the
     same on every call: relu(x W1^T + b1) W2^T + b2, computed in numpy.
  2. `gradc train --dev-data DEV` reports a final dev loss equal to what
     `gradc eval` (eval mode) computes on DEV with the saved params: the dev
     set is evaluated in eval mode, not with dropout.
  3. The training loss differs from the eval loss on the same data and
     params (dropout is active while training): one `gradc train` step with
     lr 1e-30 (params unchanged in f32) gives a loss other than `gradc eval`'s on that batch.
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    rng = np.random.default_rng(0)
    w = lambda name: os.path.join(args.work, name)

    def csv(name, n):
        x = rng.standard_normal((n, 4)).astype(np.float32)
        y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
        with open(w(name), "w") as f:
            for row, label in zip(x, y):
                f.write(",".join(f"{v:.6f}" for v in row) + f",{label}\n")
        return np.loadtxt(w(name), delimiter=",", dtype=np.float64)

    train = csv("train.csv", 256)
    dev = csv("dev.csv", 64)
    failures = 0

    # 2. Dev evaluation in eval mode.
    out = run([args.gradc, "train", args.model, "--data", w("train.csv"), "--dev-data",
               w("dev.csv"), "--save-params", w("params")])
    last = [l for l in out.splitlines() if l.startswith("epoch")][-1]
    dev_loss = float(re.search(r"dev loss ([0-9.]+)", last).group(1))
    ev = run([args.gradc, "eval", args.model, "--params", w("params"), "--data", w("dev.csv")])
    eval_loss = float(re.search(r"loss: ([0-9.]+)", ev).group(1))
    ok = abs(dev_loss - eval_loss) <= 1e-4 * max(1.0, eval_loss)
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} train's final dev loss {dev_loss:.4f} == gradc eval's "
          f"{eval_loss:.4f}")

    # 1. gradc run: no dropout, deterministic.
    np.save(w("x.npy"), dev[:, :4].astype(np.float32))
    outs = []
    for i in range(2):
        run([args.gradc, "run", args.model, "--params", w("params"), "--input",
             "x=" + w("x.npy"), "--output-dir", w(f"run{i}")])
        outs.append(np.load(w(f"run{i}/logits.npy")))
    p = {n: np.load(w(f"params/{n}.npy")).astype(np.float64)
         for n in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")}
    x = dev[:, :4].astype(np.float32).astype(np.float64)
    want = np.maximum(x @ p["fc1.weight"].T + p["fc1.bias"], 0) @ p["fc2.weight"].T + p["fc2.bias"]
    err = np.abs(outs[0] - want).max() / np.abs(want).max()
    ok = err < 1e-5 and np.array_equal(outs[0], outs[1])
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} gradc run = the model without dropout (max rel err "
          f"{err:.1e}), identical on two calls")

    # 3. The training step applies dropout: with lr 1e-30 its loss on a batch
    #    differs from the eval loss of the same params on that batch.
    with open(w("batch.csv"), "w") as f:
        f.writelines(open(w("train.csv")).readlines()[:16])
    out = run([args.gradc, "train", args.model, "--data", w("batch.csv"), "--lr", "1e-30",
               "--epochs", "1", "--batch", "16", "--save-params", w("p0")])
    step_loss = float(re.search(r"epoch +1/1 +step 1 +loss ([0-9.]+)", out).group(1))
    ev = run([args.gradc, "eval", args.model, "--params", w("p0"), "--data", w("batch.csv")])
    eval_loss = float(re.search(r"loss: ([0-9.]+)", ev).group(1))
    ok = abs(step_loss - eval_loss) > 1e-3
    failures += not ok
    print(f"{'ok  ' if ok else 'FAIL'} training-step loss {step_loss:.4f} (dropout on) != eval "
          f"loss {eval_loss:.4f} on the same batch and params")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Train briefly, then classify held-out digits with `gradc run` on the saved
params: the outputs have the right shape and mostly the right class, and
`gradc run` agrees with a numpy forward pass of the same params; `gradc eval`
on the 2,000 test digits reports the accuracy and confusion matrix numpy
computes from the same params."""
import argparse
import gzip
import os
import subprocess
import sys

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    mnist = os.path.join(root, "data", "mnist")
    params = os.path.join(args.work, "params")
    out = os.path.join(args.work, "out")
    os.makedirs(args.work, exist_ok=True)
    subprocess.run([args.gradc, "train", args.model, "--epochs", "1", "--quiet",
                    "--save-params", params], check=True)

    images = read_idx(os.path.join(mnist, "t10k-images-idx3-ubyte.gz"))[:100]
    labels = read_idx(os.path.join(mnist, "t10k-labels-idx1-ubyte.gz"))[:100]
    x = (images.reshape(100, 784).astype(np.float32) / 255.0)
    np.save(os.path.join(args.work, "x.npy"), x)
    subprocess.run([args.gradc, "run", args.model, "--params", params,
                    "--input", "x=" + os.path.join(args.work, "x.npy"),
                    "--output-dir", out], check=True)
    logits = np.load(os.path.join(out, "logits.npy"))
    p = {k: np.load(os.path.join(params, k + ".npy")) for k in ("W1", "b1", "W2", "b2")}
    ref = np.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]
    accuracy = float((logits.argmax(1) == labels).mean())
    # gradc eval over every test digit against numpy.
    all_x = read_idx(os.path.join(mnist, "t10k-images-idx3-ubyte.gz"))
    all_y = read_idx(os.path.join(mnist, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    all_x = all_x.reshape(len(all_x), 784).astype(np.float32) / 255.0
    pred = (np.maximum(all_x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]).argmax(1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (all_y, pred), 1)
    ev = subprocess.run([args.gradc, "eval", args.model, "--params", params, "--data", mnist],
                        capture_output=True, text=True, check=True).stdout
    lines = ev.splitlines()
    start = lines.index("confusion matrix (rows: true class, columns: predicted class)") + 2
    table = np.array([[int(v) for v in line.split()[1:11]] for line in lines[start:start + 10]])
    correct = int((pred == all_y).sum())
    checks = {
        f"gradc eval accuracy line ({correct} / {len(all_y)})":
            f"({correct} / {len(all_y)})" in ev,
        "gradc eval confusion matrix equals numpy's": np.array_equal(table, confusion),
        "logits shape (100, 10)": logits.shape == (100, 10),
        "matches numpy forward (1e-4 relative)":
            np.abs(logits - ref).max() <= 1e-4 * np.abs(ref).max(),
        f"accuracy after 1 epoch {accuracy:.2f} >= 0.8": accuracy >= 0.8,
    }
    for name, ok in checks.items():
        print(("ok   " if ok else "FAIL ") + name)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

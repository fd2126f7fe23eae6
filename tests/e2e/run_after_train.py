#!/usr/bin/env python3
"""Train briefly, then classify held-out digits with `gradc run` on the saved
params: the outputs have the right shape and mostly the right class, and
`gradc run` agrees with a numpy forward pass of the same params."""
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
    checks = {
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

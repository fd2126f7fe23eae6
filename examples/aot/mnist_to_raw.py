#!/usr/bin/env python3
"""Converts the bundled MNIST digits (data/mnist, gzipped IDX) into raw files
the C examples read without gzip or IDX code:

  OUT/train-images.f32  float32 [n, 784], pixels / 255, little-endian
  OUT/train-labels.i32  int32 [n]
  OUT/test-images.f32, OUT/test-labels.i32   the same for the test split

Usage: mnist_to_raw.py MNIST_DIR OUT_DIR [--test-count N]
Only the Python standard library is needed.
"""
import argparse
import array
import gzip
import os
import sys


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return dims, data[4 + 4 * ndim:]


def convert(mnist, out, prefix, name, count):
    dims, pixels = read_idx(os.path.join(mnist, prefix + "-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(mnist, prefix + "-labels-idx1-ubyte.gz"))
    n = min(dims[0], count) if count else dims[0]
    size = dims[1] * dims[2]
    images = array.array("f", (p / 255.0 for p in pixels[:n * size]))
    ints = array.array("i", list(labels[:n]))
    if sys.byteorder != "little":
        images.byteswap()
        ints.byteswap()
    with open(os.path.join(out, name + "-images.f32"), "wb") as f:
        images.tofile(f)
    with open(os.path.join(out, name + "-labels.i32"), "wb") as f:
        ints.tofile(f)
    print(f"{name}: {n} digits")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mnist_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--test-count", type=int, default=0, help="keep only the first N test digits")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    convert(args.mnist_dir, args.out_dir, "train", "train", 0)
    convert(args.mnist_dir, args.out_dir, "t10k", "test", args.test_count)


if __name__ == "__main__":
    main()

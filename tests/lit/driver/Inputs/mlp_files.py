#!/usr/bin/env python3
"""Writes params and inputs for examples/mlp_mnist.pbtxt into DIR, optionally
broken in one way, for the driver's error tests."""
import argparse
import os

import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--skip", default="", help="param to leave out")
ap.add_argument("--bad-shape", default="", help="param to write with a wrong shape")
ap.add_argument("--label", type=int, default=3, help="value of label 5")
ap.add_argument("--batch", type=int, default=8)
args = ap.parse_args()

os.makedirs(os.path.join(args.dir, "params"), exist_ok=True)
shapes = {"W1": (784, 256), "b1": (256,), "W2": (256, 10), "b2": (10,)}
rng = np.random.default_rng(0)
for name, shape in shapes.items():
    if name == args.skip:
        continue
    if name == args.bad_shape:
        shape = shape[:-1] + (shape[-1] + 1,)
    np.save(os.path.join(args.dir, "params", name + ".npy"),
            (0.01 * rng.standard_normal(shape)).astype(np.float32))
np.save(os.path.join(args.dir, "x.npy"), rng.random((args.batch, 784), dtype=np.float32))
y = np.arange(args.batch, dtype=np.int32) % 10
y[5] = args.label
np.save(os.path.join(args.dir, "y.npy"), y)

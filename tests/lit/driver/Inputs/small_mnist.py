#!/usr/bin/env python3
"""small_mnist.py SRC DST NTRAIN NTEST [--shift-test-labels]

Writes the first NTRAIN training and NTEST test digits of the MNIST files in
SRC to DST (gzipped IDX, same names), so driver tests train in a fraction of a
second. --shift-test-labels replaces each test label l by (l + 1) % 10: a dev
set whose loss rises as the model learns (for early-stopping tests)."""
import gzip
import os
import sys

src, dst, ntrain, ntest = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
shift = "--shift-test-labels" in sys.argv[5:]
os.makedirs(dst, exist_ok=True)
for prefix, n in (("train", ntrain), ("t10k", ntest)):
    for kind, header, per in (("images-idx3-ubyte", 16, 784), ("labels-idx1-ubyte", 8, 1)):
        name = f"{prefix}-{kind}.gz"
        with gzip.open(os.path.join(src, name), "rb") as f:
            data = bytearray(f.read())
        out = data[:header] + data[header:header + n * per]
        out[4:8] = n.to_bytes(4, "big")
        if shift and prefix == "t10k" and per == 1:
            for i in range(header, len(out)):
                out[i] = (out[i] + 1) % 10
        with gzip.open(os.path.join(dst, name), "wb") as f:
            f.write(bytes(out))

#!/usr/bin/env python3
"""Copies the bundled MNIST files to DIR with training label 57 set to 12."""
import gzip
import os
import shutil
import sys

src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for name in os.listdir(src):
    shutil.copy(os.path.join(src, name), dst)
path = os.path.join(dst, "train-labels-idx1-ubyte.gz")
with gzip.open(path, "rb") as f:
    data = bytearray(f.read())
data[8 + 57] = 12  # 8-byte IDX header, then one byte per label
with gzip.open(path, "wb") as f:
    f.write(bytes(data))

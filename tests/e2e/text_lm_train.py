#!/usr/bin/env python3
"""A character LM trains through `gradc train --data text:FILE`.

Runs the driver on a model and a text file and requires the final dev loss
per character to be below --max-fraction of log(vocab), the loss of a uniform
guess (the driver prints both on its last line). With --sample N, the
trained params are saved and `gradc sample` must generate N characters of
the text's alphabet, the same for the same seed.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--max-fraction", type=float, default=0.75)
    ap.add_argument("--sample", type=int, default=0,
                    help="then sample this many characters from the trained model")
    ap.add_argument("extra", nargs="*", help="more gradc train flags")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="gradc_text_lm_")
    params = os.path.join(work, "params")
    cmd = [args.gradc, "train", args.model, "--data", "text:" + args.text] + args.extra
    if args.sample:
        cmd += ["--save-params", params]
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
    if args.sample:
        ok = check_sample(args, params) and ok
    return 0 if ok else 1


def check_sample(args, params):
    alphabet = set(open(args.text).read())
    runs = []
    for seed in (7, 7):
        cmd = [args.gradc, "sample", args.model, "--params", params, "--length",
               str(args.sample), "--seed", str(seed), "--temperature", "0.8"]
        runs.append(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    text = runs[0]
    print("sample:", repr(text))
    if runs[0] != runs[1]:
        print("FAIL: the same seed sampled different text")
        return False
    if len(text.rstrip("\n")) > args.sample or len(text) < args.sample or \
            not set(text) <= alphabet:
        print(f"FAIL: expected {args.sample} characters of the text's alphabet")
        return False
    print(f"ok: {args.sample} characters sampled, reproducible")
    return True


if __name__ == "__main__":
    sys.exit(main())

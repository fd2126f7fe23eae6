#!/usr/bin/env python3
"""Short `gradc train` runs of the vision examples, with a bound each.

  --min-accuracy A   the final test accuracy must reach A% (lenet)
  --loss-ratio R     the last epoch's mean training loss must be below R times
                     the first epoch's (resnet)

A run is a few hundred steps so the test stays short on two cores; the
closing figures of full runs are in docs and the issue. Also checks that the
trained params are saved (and so can be reloaded by `gradc run`).
"""
import argparse
import os
import re
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--min-accuracy", type=float)
    ap.add_argument("--loss-ratio", type=float)
    ap.add_argument("--expect-param", required=True, help="a param that must be saved")
    ap.add_argument("extra", nargs="*", help="more gradc train flags")
    args = ap.parse_args()
    params = os.path.join(args.work, "params")
    cmd = [args.gradc, "train", args.model, "--data", "mnist", "--epochs", str(args.epochs),
           "--save-params", params] + args.extra
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        print("FAIL: gradc train exited with", proc.returncode)
        return 1
    losses = [float(v) for v in re.findall(r"^epoch\s+\d+/\d+\s+step\s+\d+\s+loss ([\d.]+)", proc.stdout, re.M)]
    final = re.search(r"^final test accuracy: ([\d.]+)%", proc.stdout, re.M)
    checks = {
        f"one progress line per epoch ({args.epochs})": len(losses) == args.epochs,
        f"saved {args.expect_param}.npy":
            os.path.exists(os.path.join(params, args.expect_param + ".npy")),
    }
    if args.min_accuracy is not None:
        checks[f"final test accuracy >= {args.min_accuracy}%"] = (
            final is not None and float(final.group(1)) >= args.min_accuracy)
    if args.loss_ratio is not None:
        checks[f"last epoch loss < {args.loss_ratio} x first ({losses and losses[0]})"] = (
            len(losses) >= 2 and losses[-1] < args.loss_ratio * losses[0])
    for name, ok in checks.items():
        print(("ok   " if ok else "FAIL ") + name)
    failed = sum(not ok for ok in checks.values())
    print(f"vision train: {len(checks) - failed} ok, {failed} failing")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checkpoint, resume and reproducibility through `gradc train`, on 1024
digits with Adam and a cosine schedule (1 thread unless said otherwise):

1. Reproducible: the same run twice gives the same CSV (every column but
   seconds, 17 significant digits) and bitwise-equal params.
2. Thread counts: the same run at 2 threads is bitwise identical too.
3. Resume: 4 epochs == 2 epochs (stopped by --max-steps, which keeps the
   cosine schedule planned over --epochs) + --resume for 2, params compared bitwise and CSV
   histories equal.
4. A stop in the middle of an epoch (--checkpoint-every, --max-steps not a
   multiple of the epoch), then a resumed run killed with SIGKILL in the
   middle of a save (GRADC_TEST_PAUSE_IN_SAVE makes the save pause half-way
   through its temporary file): the previous checkpoint is intact and still
   loads, and --resume continues from it to the same params and curve."""
import argparse
import filecmp
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    w = lambda *p: os.path.join(args.work, *p)
    data = w("data")
    subprocess.run([sys.executable,
                    os.path.join(HERE, "..", "lit", "driver", "Inputs", "small_mnist.py"),
                    os.path.join(HERE, "..", "..", "data", "mnist"), data, "1024", "256"],
                   check=True)
    # 896 training samples (128 go to dev), batch 64: 14 steps an epoch.
    common = ["train", args.model, "--data", data, "--optimizer", "adam", "--lr", "1e-3",
              "--schedule", "cosine", "--epochs", "4", "--dev-fraction", "0.125", "--quiet"]

    def train(name, *extra, threads=1, env=None):
        cmd = [args.gradc] + common + ["--threads", str(threads),
                                       "--save-params", w(name, "params"),
                                       "--log-csv", w(name, "log.csv")] + list(extra)
        os.makedirs(w(name), exist_ok=True)
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0:
            sys.stdout.write(p.stdout + p.stderr)
            raise SystemExit(f"FAIL: {' '.join(cmd)} exited with {p.returncode}")
        return p

    def same_params(a, b):
        names = sorted(os.listdir(w(a, "params")))
        return names == sorted(os.listdir(w(b, "params"))) and all(
            filecmp.cmp(w(a, "params", n), w(b, "params", n), shallow=False) for n in names)

    def curve(name):  # the CSV without the seconds column
        with open(w(name, "log.csv")) as f:
            return [line.rsplit(",", 1)[0] for line in f]

    checks = {}
    train("a")
    train("a2")
    checks["same seed twice: identical loss curve"] = curve("a") == curve("a2")
    checks["same seed twice: bitwise-equal params"] = same_params("a", "a2")
    checks["curve has 4 epochs"] = len(curve("a")) == 5
    train("t2", threads=2)
    checks["2 threads: identical loss curve"] = curve("a") == curve("t2")
    checks["2 threads: bitwise-equal params"] = same_params("a", "t2")

    ck = w("ck")
    train("b", "--checkpoint-dir", ck, "--max-steps", "28")
    train("b", "--checkpoint-dir", ck, "--resume")
    checks["4 epochs == 2 + resume 2: bitwise-equal params"] = same_params("a", "b")
    checks["4 epochs == 2 + resume 2: identical loss curve"] = curve("a") == curve("b")

    # Stop in the middle of the second epoch (checkpoints at steps 5, 10, 14,
    # 15 and 19), resume, and get killed in the middle of the next save (step
    # 20); then resume from step 19 again.
    ck3 = w("ck3")
    every = ["--checkpoint-every", "5"]
    train("d", "--checkpoint-dir", ck3, "--max-steps", "19", *every)
    first = os.path.join(ck3, "ckpt-0000000019.gradc")
    with open(first, "rb") as f:
        before = f.read()
    env = dict(os.environ, GRADC_TEST_PAUSE_IN_SAVE="30")
    cmd = [args.gradc] + common + ["--threads", "1", "--checkpoint-dir", ck3, "--resume"] + every
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=env)
    line = p.stderr.readline()  # blocks until the hook pauses the save
    paused = "pausing in the middle of writing" in line
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stderr.close()
    left = sorted(os.listdir(ck3))
    checks["killed while paused in a save"] = paused and p.returncode == -signal.SIGKILL
    checks["the killed save left only a temporary file"] = (
        [n for n in left if n.endswith(".gradc")][-1] == "ckpt-0000000019.gradc" and
        any(n.startswith(".ckpt-0000000020.gradc.tmp-") for n in left))
    with open(first, "rb") as f:
        checks["the previous checkpoint is byte for byte intact"] = f.read() == before
    e = subprocess.run([args.gradc, "export-params", first, "--output-dir", w("d", "exported")],
                       capture_output=True, text=True)
    checks["the previous checkpoint still loads"] = e.returncode == 0
    train("d", "--checkpoint-dir", ck3, "--resume", *every)
    checks["mid-epoch stop, kill, resume: bitwise-equal params"] = same_params("a", "d")
    checks["mid-epoch stop, kill, resume: identical loss curve"] = curve("a") == curve("d")
    checks["resume after the kill: temporary file cleaned up"] = not any(
        n.startswith(".") for n in os.listdir(ck3))

    ok = True
    for what, passed in checks.items():
        print(("PASS" if passed else "FAIL") + ": " + what)
        ok &= bool(passed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

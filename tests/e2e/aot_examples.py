#!/usr/bin/env python3
"""Builds and runs the C programs of examples/aot/ as its README does, with
cc (C99, -Wall -Wextra -pedantic -Werror) and only -lm:

  - classify.c against mlp_mnist.o with params embedded (--embed-params)
    from a short `gradc train`: its accuracy on the test digits equals the
    one `gradc train` reported for the same params (JIT vs object, all 2000);
  - classify.c against an object without params, loading the same .npy
    directory: the same predictions;
  - train_mnist.c against an object with both entries: the printed
    mean loss falls and the test accuracy after one epoch is >= 80%.
"""
import argparse
import os
import re
import subprocess
import sys


def run(cmd, **kw):
    print("$ " + " ".join(cmd), flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    print(r.stdout + r.stderr, flush=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: exit status {r.returncode}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gradc", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ex = os.path.join(root, "examples", "aot")
    model = os.path.join(root, "examples", "mlp_mnist.pbtxt")
    work = args.work
    data, params = os.path.join(work, "data"), os.path.join(work, "params")
    cflags = ["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2"]
    os.makedirs(work, exist_ok=True)

    run([sys.executable, os.path.join(ex, "mnist_to_raw.py"), os.path.join(root, "data", "mnist"),
         data])
    trained = run([args.gradc, "train", model, "--epochs", "1", "--quiet", "--save-params", params])
    jit_acc = re.search(r"final test accuracy: ([0-9.]+)%", trained).group(1)

    def build(name, compile_flags, program):
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        run([args.gradc, "compile", model, "-o", os.path.join(d, "mlp_mnist.o"),
             "--header", os.path.join(d, "mlp_mnist.h")] + compile_flags)
        exe = os.path.join(d, program)
        run(cflags + ["-I", d, os.path.join(ex, program + ".c"), os.path.join(d, "mlp_mnist.o"),
                      "-lm", "-o", exe])
        return exe

    images = os.path.join(data, "test-images.f32")
    labels = os.path.join(data, "test-labels.i32")
    embedded = run([build("embedded", ["--entry", "infer", "--embed-params", "--params", params],
                          "classify"), images, labels])
    aot_acc = re.search(r"accuracy: ([0-9.]+)%", embedded).group(1)
    if aot_acc != jit_acc:
        sys.exit(f"FAIL: classify (embedded params) {aot_acc}% != gradc train {jit_acc}%")

    loaded = run([build("npy", ["--entry", "infer"], "classify"), images, labels, params])
    if loaded.splitlines()[1:] != embedded.splitlines()[1:]:
        sys.exit("FAIL: classify with params from .npy differs from embedded params")

    trained_c = run([build("train", [], "train_mnist"), data, "1"])
    losses = [float(m) for m in re.findall(r"mean loss ([0-9.]+)", trained_c)]
    acc = float(re.findall(r"done: test accuracy ([0-9.]+)%", trained_c)[-1])
    if len(losses) < 3 or not losses[-1] < 0.5 * losses[0]:
        sys.exit(f"FAIL: the loss did not fall by half: {losses}")
    if acc < 80:
        sys.exit(f"FAIL: test accuracy {acc}% after one epoch is below 80%")
    print(f"ok: classify {aot_acc}% == gradc train {jit_acc}%; train_mnist losses {losses}, "
          f"accuracy {acc}%")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""gradc against PyTorch on the workloads of ../shared/WORKLOADS.md, in one run.

    /usr/bin/python3 bench/compare.py [--gradc build/tools/gradc]
        [--kernels build/bench/gradc-bench-kernels] [--threads 1 2] [--rounds 2]
        [--only NAME ...] [--out bench/RESULTS.md] [--quick]

For every thread count and workload, gradc (`gradc bench --json`) and PyTorch
(a child process per measurement, torch.set_num_threads(T) with
OMP_NUM_THREADS=T and OPENBLAS_NUM_THREADS=T, since Debian's torch sends
Linear/matmul to OpenBLAS) are measured alternately, `--rounds` times each;
each side's figure is the lowest of its per-round medians (the least disturbed
round, the same rule for both). A round measures every workload once, so the
rounds of one workload lie minutes apart. With 2 threads PyTorch is also measured with
OMP_WAIT_POLICY=PASSIVE and its better figure is kept. Training: median of 50
steps after 10 warm-up (a PyTorch step is forward, loss, backward,
optimizer.step(), zero_grad(set_to_none=True)); inference: 300 after 50, eval()
under no_grad(). GEMM: gradc's compiled matmul (gradc-bench-kernels, Google
Benchmark) against numpy float32 matmul (OpenBLAS sgemm), 1 thread.

Workloads whose example model does not exist yet are listed as missing.
--quick (CI smoke test) times 3 steps after 1 warm-up, one round.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# workload -> (example model, gradc bench flags); inference batch sizes as in WORKLOADS.md.
GRADC = {
    'mlp': ('examples/mlp_mnist.pbtxt', []),
    'mlp3': ('examples/mlp3.pbtxt', []),
    'lenet': ('examples/lenet.pbtxt', []),
    'resnet': ('examples/resnet.pbtxt', []),
    'lstm': ('examples/lstm_lm.pbtxt', []),
    'gpt': ('examples/gpt.pbtxt', []),
    'infer_mlp_b1': ('examples/mlp_mnist.pbtxt', ['--infer', '--batch', '1']),
    'infer_lenet_b1': ('examples/lenet.pbtxt', ['--infer', '--batch', '1']),
    'infer_mlp_b256': ('examples/mlp_mnist.pbtxt', ['--infer', '--batch', '256']),
}
ORDER = list(GRADC)

# Targets of the speed issue: (1-thread gradc speed-up over PyTorch, 2-thread rule, factor).
# 2-thread rules: 'torch' = gradc's 2-thread speed-up over PyTorch's 2-thread figure;
# 'self' = gradc's own 2-thread speed-up over its 1-thread figure.
TARGETS = {
    'mlp': (1.5, 'torch', 2.5), 'mlp3': (1.5, 'torch', 2.5),
    'lenet': (2.0, 'self', 1.7), 'resnet': (2.0, 'self', 1.7),
    'lstm': (1.5, 'torch', 2.0), 'gpt': (1.3, 'self', 1.7),
    'infer_mlp_b1': (5.0, None, None), 'infer_lenet_b1': (5.0, None, None),
    'infer_mlp_b256': (1.3, None, None),
}

# GEMM shapes of gradc-bench-kernels: (M, K, N, transpose_a, transpose_b) -> needed ratio.
GEMMS = [((256, 256, 256, 0, 0), None), ((512, 512, 512, 0, 0), 0.9),
         ((1024, 1024, 1024, 0, 0), 0.9), ((64, 784, 256, 0, 0), 0.8),
         ((784, 64, 256, 1, 0), 0.8), ((64, 256, 784, 0, 1), 0.8)]


def parse():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--gradc', default=os.path.join(ROOT, 'build/tools/gradc'))
    p.add_argument('--kernels', default=os.path.join(ROOT, 'build/bench/gradc-bench-kernels'))
    p.add_argument('--threads', nargs='+', type=int, default=[1, 2])
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--only', nargs='+', default=None, help='workload names (and/or "gemm")')
    p.add_argument('--out', default=os.path.join(HERE, 'RESULTS.md'))
    p.add_argument('--quick', action='store_true', help='smoke test: 3 steps, one round')
    p.add_argument('--torch-child', default=None, help=argparse.SUPPRESS)
    p.add_argument('--steps', type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument('--warmup', type=int, default=None, help=argparse.SUPPRESS)
    return p.parse_args()


def steps_for(name, quick):
    if quick:
        return 3, 1
    return (300, 50) if name.startswith('infer_') else (50, 10)


# ------------------------------------------------------------------ PyTorch side
def median_ms(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def blas_library():
    """The BLAS library numpy has loaded (after a matmul), from /proc/self/maps."""
    import numpy as np
    np.matmul(np.ones((64, 64), np.float32), np.ones((64, 64), np.float32))
    with open('/proc/self/maps') as f:
        libs = {line.split()[-1] for line in f if 'blas' in line.lower()}
    return ', '.join(sorted(os.path.basename(l) for l in libs)) or 'none'


def torch_child(a):
    if a.torch_child == 'blas':
        print(json.dumps(dict(blas=blas_library())))
        return
    name = a.torch_child
    if name.startswith('gemm:'):  # numpy only: OPENBLAS_NUM_THREADS sets its threads
        import numpy as np
        m, k, n, ta, tb = (int(v) for v in name[5:].split(','))
        rng = np.random.default_rng(0)
        A = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        B = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        A, B = (A.T if ta else A), (B.T if tb else B)
        C = np.empty((m, n), np.float32)
        ms = median_ms(lambda: np.matmul(A, B, out=C), a.steps, a.warmup)
        print(json.dumps(dict(median_ms=ms, gflops=2.0 * m * k * n / ms / 1e6)))
        return
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a.threads[0])
    sys.path.insert(0, HERE)
    import torch_models
    train, infer = torch_models.workloads()
    torch.manual_seed(0)
    if name in train:
        make, make_opt, x, y, _ = train[name]
        model = make().train()
        opt = make_opt(model.parameters())

        def step():
            out = model(x)
            loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        ms = median_ms(step, a.steps, a.warmup)
    else:
        make, x = infer[name]
        model = make().eval()
        with torch.no_grad():
            ms = median_ms(lambda: model(x), a.steps, a.warmup)
    print(json.dumps(dict(median_ms=ms)))


def run_torch(what, threads, steps, warmup, passive=False):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    if passive:
        env['OMP_WAIT_POLICY'] = 'PASSIVE'
    cmd = [sys.executable, os.path.abspath(__file__), '--torch-child', what, '--threads',
           str(threads), '--steps', str(steps), '--warmup', str(warmup)]
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------------ gradc side
def run_gradc(a, name, threads, steps, warmup):
    model, flags = GRADC[name]
    cmd = [a.gradc, 'bench', os.path.join(ROOT, model), '--json', '--threads', str(threads),
           '--steps', str(steps), '--warmup', str(warmup)] + flags
    out = subprocess.run(cmd, stdout=subprocess.PIPE, check=True, text=True).stdout
    return json.loads(out)


def run_gradc_gemms(a, quick):
    cmd = [a.kernels, '--benchmark_filter=BM_Gemm', '--benchmark_format=json',
           '--benchmark_min_time=%s' % ('0.01' if quick else '0.5')]
    env = dict(os.environ, GRADC_THREADS='1')
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, check=True, text=True).stdout
    figures = {}
    for b in json.loads(out)['benchmarks']:
        # name: BM_Gemm/M:64/K:784/N:256/ta:0/tb:0
        dims = tuple(int(part.split(':')[1]) for part in b['name'].split('/')[1:6])
        figures[dims] = b['GFLOP/s']  # the counter is already in GFLOP per second
    return figures


# ------------------------------------------------------------------ report
def fmt(x, digits=3):
    return '—' if x is None else f'{x:.{digits}f}'


def verdict(value, need):
    if value is None or need is None:
        return '—'
    return f'{value:.2f}x (need {need}x: {"met" if value >= need else "MISSED"})'


def write_report(a, rows, gemms, missing, started, blas):
    lines = ['# gradc vs PyTorch: benchmark results', '',
             f'Written by `bench/compare.py` on {started} UTC; the machine: '
             f'{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, '
             f'torch {torch_version()}, numpy BLAS: {blas}.', '',
             'Medians in ms per step (training: forward, loss, backward, update; inference: '
             'one forward call). Speed-up = PyTorch time / gradc time, both measured in this '
             'run, alternately. See the docstring of compare.py for the method.', '']
    if a.quick:
        lines += ['**Smoke run (--quick): 3 steps per figure, not a measurement.**', '']
    lines += ['| workload | threads | gradc ms | PyTorch ms | speed-up | target |',
              '|---|---|---|---|---|---|']
    for name in ORDER:
        for t in a.threads:
            r = rows.get((name, t))
            if not r:
                continue
            speedup = r['torch'] / r['gradc']
            one, rule, factor = TARGETS[name]
            if t == 1:
                target = verdict(speedup, one)
            elif rule == 'torch':
                target = verdict(speedup, factor)
            elif rule == 'self' and (name, 1) in rows:
                target = verdict(rows[(name, 1)]['gradc'] / r['gradc'], factor) + ' vs own 1-thread'
            else:
                target = '—'
            lines.append(f'| {name} | {t} | {fmt(r["gradc"])} | {fmt(r["torch"])} | '
                         f'{speedup:.2f}x | {target} |')
    if missing:
        lines += ['', 'Not measured (no example model yet): ' + ', '.join(sorted(missing)) + '.']
    if gemms:
        lines += ['', '## GEMM, 1 thread (GFLOP/s)', '',
                  '| M x K x N (transposes) | gradc | numpy (OpenBLAS) | gradc / numpy | target |',
                  '|---|---|---|---|---|']
        for (dims, need) in GEMMS:
            if dims not in gemms:
                continue
            g, n = gemms[dims]
            m, k, nn, ta, tb = dims
            tr = ''.join(s for s, on in (('A^T', ta), ('B^T', tb)) if on) or '-'
            lines.append(f'| {m} x {k} x {nn} ({tr}) | {g:.1f} | {n:.1f} | {g / n:.2f} | '
                         f'{"—" if need is None else verdict(g / n, need)} |')
    lines.append('')
    with open(a.out, 'w') as f:
        f.write('\n'.join(lines))


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def torch_version():
    out = subprocess.run([sys.executable, '-c', 'import torch; print(torch.__version__)'],
                         stdout=subprocess.PIPE, text=True)
    return out.stdout.strip() or 'unknown'


def main():
    a = parse()
    if a.torch_child:
        torch_child(a)
        return
    started = time.strftime('%Y-%m-%d %H:%M', time.gmtime())
    blas = run_torch('blas', 1, 0, 0)['blas']
    if 'openblas' not in blas:
        sys.exit(f'compare.py: numpy uses {blas}, not OpenBLAS: the baseline would be the '
                 'reference BLAS. Install libopenblas0-pthread (scripts/setup.sh --tests does).')
    rounds = 1 if a.quick else a.rounds
    wanted = lambda n: a.only is None or n in a.only
    names = [n for n in ORDER if wanted(n)]
    missing = {n for n in names if not os.path.exists(os.path.join(ROOT, GRADC[n][0]))}
    # Rounds are the outer loop: each round measures every workload once, so a
    # workload's rounds lie minutes apart, and a disturbance of the shared
    # host (which lasts a minute or more) spoils one round of it, not all.
    samples = {}
    for r in range(rounds):
        for t in a.threads:
            for name in names:
                if name in missing:
                    continue
                steps, warmup = steps_for(name, a.quick)
                g, p = samples.setdefault((name, t), ([], []))
                # Alternate which side goes first, so neither always runs warmer.
                sides = ['gradc', 'torch'] if r % 2 == 0 else ['torch', 'gradc']
                for side in sides:
                    if side == 'gradc':
                        g.append(run_gradc(a, name, t, steps, warmup)['median_ms'])
                    else:
                        ms = run_torch(name, t, steps, warmup)['median_ms']
                        if t > 1:
                            ms = min(ms, run_torch(name, t, steps, warmup, passive=True)['median_ms'])
                        p.append(ms)
                print(f'round {r + 1}: {name:16s} {t} thread(s): gradc {g[-1]:9.4f} ms   '
                      f'PyTorch {p[-1]:9.4f} ms', flush=True)
    rows = {}
    for (name, t), (g, p) in samples.items():
        rows[(name, t)] = dict(gradc=min(g), torch=min(p))
        print(f'{name:16s} {t} thread(s): gradc {min(g):9.4f} ms   PyTorch {min(p):9.4f} ms'
              f'   speed-up {min(p) / min(g):5.2f}x', flush=True)
    gemms = {}
    if wanted('gemm') or a.only is None:
        ours = run_gradc_gemms(a, a.quick)
        for dims, _ in GEMMS:
            steps, warmup = (3, 1) if a.quick else (30, 3)
            theirs = run_torch('gemm:' + ','.join(map(str, dims)), 1, steps, warmup)
            gemms[dims] = (ours[dims], theirs['gflops'])
            print(f'gemm {dims}: gradc {ours[dims]:6.1f} GFLOP/s   numpy {theirs["gflops"]:6.1f}',
                  flush=True)
    write_report(a, rows, gemms, missing, started, blas)
    print(f'wrote {a.out}')


if __name__ == '__main__':
    main()

"""Shared by the PyTorch parity scripts: compares gradc's results with torch's."""
import numpy as np


class Comparer:
    """Counts comparisons whose max error, relative to max|want|, exceeds `tol`."""

    def __init__(self, tol):
        self.tol = tol
        self.failures = 0

    def compare(self, name, got, want):
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            print(f"FAIL {name}: shape {got.shape} != {want.shape}")
            self.failures += 1
            return
        scale = max(np.abs(want).max(), 1e-12)
        err = np.abs(got - want).max() / scale
        ok = err <= self.tol
        self.failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: max |gradc - torch| / max|torch| = {err:.2e}")

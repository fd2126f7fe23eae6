"""Shared by the PyTorch parity scripts: compares gradc's results with torch's."""
import numpy as np


class Comparer:
    """Counts comparisons whose max error, relative to max|want|, exceeds `tol`."""

    def __init__(self, tol):
        self.tol = tol
        self.failures = 0

    def compare(self, name, got, want, scale=None, scale_name=None):
        """Max |got - want| / max |want| must be <= tol. A tensor that is zero in
        exact arithmetic (only rounding noise in either result) is measured
        against `scale`, the magnitude of a related tensor named `scale_name`."""
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        if got.shape != want.shape:
            print(f"FAIL {name}: shape {got.shape} != {want.shape}")
            self.failures += 1
            return
        denom = "max|torch|"
        if scale is None:
            scale = max(np.abs(want).max(), 1e-12)
        else:
            denom = f"max|{scale_name}|"
        err = np.abs(got - want).max() / scale
        ok = err <= self.tol
        self.failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: max |gradc - torch| / {denom} = {err:.2e}")

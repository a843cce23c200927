"""GFLOPS of `[M, K] @ [N, K]ᵀ` in PyTorch and NumPy, best of five after a warm-up (beside trainer/benches/2-matmul.rs).

    python trainer/scripts/matmul_torch.py MxKxN...      (threads: PyTorch's default, OPENBLAS_NUM_THREADS for NumPy)
"""
import json
import sys
import time

import numpy as np
import torch


def best(f):
    times = []
    for _ in range(6):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times[1:])


for shape in sys.argv[1:]:
    m, k, n = map(int, shape.split("x"))
    a, b = np.ones((m, k), np.float32), np.ones((n, k), np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    for name, f in [(f"torch-{torch.__version__}", lambda: ta @ tb.T), (f"numpy-{np.__version__}", lambda: a @ b.T)]:
        s = best(f)
        print(json.dumps(dict(impl=name, shape=shape, ms=round(s * 1e3, 2), gflops=round(2 * m * k * n / s / 1e9))))

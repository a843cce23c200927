"""Python baselines for the sandbox benchmark: a native `python3 -c` subprocess per snippet, and a persistent
pebble process pool running `exec()` (the reference executor's design). Same snippets as benches/exec.rs.

Run: python3 runtime/benches/baseline.py  (needs `pip install pebble sympy`; a throwaway venv is fine).
"""

import contextlib
import io
import platform
import statistics
import subprocess
import sys
import time

from pebble import ProcessPool

SNIPPETS = [
    ("trivial print", "print(1 + 1)", 30),
    ("sympy solve", "from sympy import symbols, solve\nx = symbols('x')\nprint(solve(x**2 - 5*x + 6, x))", 10),
    ("itertools count", "import itertools\nprint(sum(1 for _ in itertools.islice(itertools.count(), 10000)))", 30),
    ("division by zero", "1 / 0", 30),
]


def run_exec(code):
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(code, {"__name__": "__main__"})
    except Exception as e:  # the reference feeds back the error line
        return f"{type(e).__name__}: {e}"
    return out.getvalue()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round((len(xs) - 1) * p))]


def row(name, snippet, ms):
    print(f"| {name} | {snippet} | {len(ms)} | {statistics.median(ms):.2f} | {pct(ms, 0.9):.2f} |")


def main():
    print(f"python {platform.python_version()} on {platform.machine()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| runtime | snippet | runs | median ms | p90 ms |")
    print("| --- | --- | --- | --- | --- |")
    for snippet, code, n in SNIPPETS:
        ms = []
        for _ in range(n):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], capture_output=True)
            ms.append((time.perf_counter() - t) * 1e3)
        row("python3 -c subprocess", snippet, ms)
    with ProcessPool(max_workers=2) as pool:
        for _ in range(4):  # warm both workers (sympy imported once per worker)
            pool.schedule(run_exec, args=(SNIPPETS[1][1],)).result()
        for snippet, code, n in SNIPPETS:
            ms = []
            for _ in range(n * 10):
                t = time.perf_counter()
                pool.schedule(run_exec, args=(code,), timeout=5).result()
                ms.append((time.perf_counter() - t) * 1e3)
            row("pebble pool exec()", snippet, ms)
        count = 2000
        t = time.perf_counter()
        futures = [pool.schedule(run_exec, args=("print(1 + 1)",), timeout=5) for _ in range(count)]
        for f in futures:
            f.result()
        print(f"pebble pool throughput: {count / (time.perf_counter() - t):.0f} trivial executions/s with 2 workers")
    count = 100
    t = time.perf_counter()
    for _ in range(count):
        subprocess.run([sys.executable, "-c", "print(1 + 1)"], capture_output=True)
    print(f"python3 -c throughput (sequential): {count / (time.perf_counter() - t):.0f} trivial executions/s")


if __name__ == "__main__":
    main()

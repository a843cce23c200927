"""Python baselines for the sandbox benchmark: a native `python3 -c` subprocess per snippet, a persistent
pebble process pool running `exec()` (the reference executor's design), and a fork server (the snapshot's preload run
once, then each execution in a forked child: native CPython with a fresh state per execution, as cir-runtime gives).
Same snippets as benches/exec.rs.

Run: python3 runtime/benches/baseline.py  (needs `pip install pebble sympy numpy scipy`; a throwaway venv is fine).
"""

import contextlib
import io
import os
import pathlib
import platform
import re
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


def snapshot_preload():
    """The interpreter snapshot's default preload, read from the Rust source that defines it."""
    source = pathlib.Path(__file__).resolve().parents[2] / "python-wasm" / "src" / "snapshot.rs"
    return re.search(r'DEFAULT_PRELOAD: &str = r#"(.*?)"#;', source.read_text(), re.S).group(1)


def fork_exec(code):
    """Runs `code` in a forked child of this (preloaded) process; the child's output comes back through a pipe."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, run_exec(code).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        out = pipe.read()
    os.waitpid(pid, 0)
    return out


def fork_server_rows():
    """Preloads this process as the snapshot does (names deleted after), then times each snippet in a fork."""
    scope = {"__name__": "__main__"}
    exec(snapshot_preload(), scope)
    try:
        1 / 0
    except ZeroDivisionError:
        __import__("traceback").format_exc()
    __import__("gc").collect()
    for snippet, code, n in SNIPPETS:
        ms = []
        for _ in range(n * 3):
            t = time.perf_counter()
            fork_exec(code)
            ms.append((time.perf_counter() - t) * 1e3)
        row("fork server (preloaded, fresh state)", snippet, ms)


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
    fork_server_rows()
    count = 100
    t = time.perf_counter()
    for _ in range(count):
        subprocess.run([sys.executable, "-c", "print(1 + 1)"], capture_output=True)
    print(f"python3 -c throughput (sequential): {count / (time.perf_counter() - t):.0f} trivial executions/s")


if __name__ == "__main__":
    main()

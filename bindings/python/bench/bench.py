"""Measures the Python package side by side with its baselines, in one process and one run (docs/python.md).

1. Sandbox, per execution: `Sandbox.run` vs a pebble `ProcessPool` running `exec()` (the reference executor's
   design, `runtime/benches/baseline.py`) vs the HTTP `/run_code` round trip of `cir-eval serve`; trivial and sympy
   snippets, the three in turn in each round. The pool forks its workers before this process starts any thread.
2. Verifier, per pair: `cir.verify(pred, gold)` vs Math-Verify 0.9.0's `verify(parse(gold), parse(pred))` on the
   shared case files; then `cir.verify_batch` on 10 000 pairs.
3. What the binding adds over the Rust call: per case line, the fastest of 20 `cir.verify` calls from Python minus
   the fastest of 20 `verify_with` calls timed inside `cir-eval grade --cases` (a file with each line 20 times).

Run through `run.sh` (it makes the virtualenv and builds the wheel).
"""

import argparse
import contextlib
import http.client
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "runtime" / "benches"))
from baseline import SNIPPETS, run_exec  # noqa: E402  (the reference executor, shared with the sandbox bench)

CODE = {name: code for name, code, _ in SNIPPETS}
RUNS = {"trivial print": 300, "sympy solve": 100}
REPEAT = 20


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round((len(xs) - 1) * p))]


def row(*cells):
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def timed(call, n):
    ms = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        ms.append((time.perf_counter() - t) * 1e3)
    return ms


def sandbox_section(cir_eval):
    """The three runtimes measured in turn, one execution each per round, so that they share the machine's load."""
    from pebble import ProcessPool

    print("\n## Sandbox, per execution (ms)\n")
    row("runtime", "snippet", "runs", "median", "p99")
    row("---", "---", "---", "---", "---")
    # The pool forks its workers now, before this process starts any thread (the sandbox's, the server reader's).
    with ProcessPool(max_workers=2) as pool:
        for _ in range(4):  # both workers import sympy once
            pool.schedule(run_exec, args=(CODE["sympy solve"],)).result()

        import cir

        server = subprocess.Popen([cir_eval, "serve", "--port", "0", "--jobs", "2"], stderr=subprocess.PIPE, text=True)
        try:
            url = None
            for line in server.stderr:
                if "listening on http://" in line:
                    url = line.split("listening on http://")[1].split()[0]
                    break
            if url is None:
                raise SystemExit("cir-eval serve did not start")
            threading.Thread(target=server.stderr.read, daemon=True).start()
            host, port = url.rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port))

            def post(code):
                body = json.dumps({"code": code, "language": "python"})
                conn.request("POST", "/run_code", body, {"Content-Type": "application/json"})
                reply = json.loads(conn.getresponse().read())
                assert reply["status"] == "Success", reply

            sandbox = cir.Sandbox(echo=False)
            sandbox.prepare()
            runtimes = {
                "cir": lambda code: sandbox.run(code),
                "pebble": lambda code: pool.schedule(run_exec, args=(code,)).result(),
                "http": post,
            }
            labels = {
                "cir": "**`cir.Sandbox.run`** (fresh interpreter per run, in process)",
                "pebble": "pebble `ProcessPool` (2 workers) running `exec()` (state and caches kept, no isolation)",
                "http": "`cir-eval serve --jobs 2`, HTTP `/run_code` round trip (keep-alive, `http.client`)",
            }
            for name, n in RUNS.items():
                code = CODE[name]
                ms = {key: [] for key in runtimes}
                for _ in range(3):
                    for run in runtimes.values():
                        run(code)
                for _ in range(n):
                    for key, run in runtimes.items():
                        t = time.perf_counter()
                        run(code)
                        ms[key].append((time.perf_counter() - t) * 1e3)
                for key in runtimes:
                    row(labels[key], name, n, f"{statistics.median(ms[key]):.2f}", f"{pct(ms[key], 0.99):.2f}")
        finally:
            server.terminate()
            server.wait()

    count = 2000
    t = time.perf_counter()
    threads = [
        threading.Thread(target=lambda: [sandbox.run(CODE["trivial print"]) for _ in range(count // 2)])
        for _ in range(2)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(f"\n`Sandbox.run` from 2 Python threads: {count / (time.perf_counter() - t):.0f} trivial executions/s")


def cases(path):
    out = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        if line.strip():
            c = json.loads(line)
            if isinstance(c.get("pred"), str) and isinstance(c.get("gold"), str):
                out.append((c["pred"], c["gold"]))
    return out


def verifier_section(case_dir):
    from math_verify import parse, verify

    import cir

    print("\n## Verifier, per pair (µs)\n")
    row("file", "pairs", "cir.verify median", "p99", "Math-Verify median", "p99", "median speed-up")
    row("---", "---", "---", "---", "---", "---", "---")
    everything, mv_all = [], []
    for name in ("mathverify_cases", "other_cases"):
        pairs = cases(case_dir / f"{name}.jsonl")
        everything += pairs
        cir_us, mv_us = [], []
        for pred, gold in pairs:
            t = time.perf_counter()
            cir.verify(pred, gold)
            cir_us.append((time.perf_counter() - t) * 1e6)
        for pred, gold in pairs:
            t = time.perf_counter()
            with contextlib.suppress(Exception):  # counted as "not equivalent", as the graders that wrap it do
                verify(parse(gold), parse(pred))
            mv_us.append((time.perf_counter() - t) * 1e6)
        mv_all += mv_us
        cm, mm = statistics.median(cir_us), statistics.median(mv_us)
        row(
            name,
            len(pairs),
            f"{cm:.1f}",
            f"{pct(cir_us, 0.99):.1f}",
            f"{mm:.0f}",
            f"{pct(mv_us, 0.99):.0f}",
            f"{mm / cm:.0f}x",
        )

    batch = (everything * (10_000 // len(everything) + 1))[:10_000]
    t = time.perf_counter()
    for pred, gold in batch:
        cir.verify(pred, gold)
    one = (time.perf_counter() - t) * 1e6 / len(batch)
    t = time.perf_counter()
    cir.verify_batch(batch)
    wall = time.perf_counter() - t
    per = wall * 1e6 / len(batch)
    mv_median = statistics.median(mv_all)
    print(
        f"\n`cir.verify_batch` on {len(batch)} pairs (both files, cycled), one thread per core: {wall * 1e3:.0f} ms, "
        f"{per:.2f} µs per pair ({len(batch) / wall:.0f} pairs/s); a `cir.verify` loop: {one:.2f} µs per pair. "
        f"Math-Verify's median over both files: {mv_median:.0f} µs per pair, **{mv_median / per:.0f}x** the "
        f"batch's time per pair."
    )


def overhead_section(cir_eval, case_dir):
    import cir

    print("\n## What the binding adds over the Rust call (µs per verify call)\n")
    pairs = cases(case_dir / "mathverify_cases.jsonl") + [("1", "1")]
    with tempfile.TemporaryDirectory() as tmp:
        src, out = pathlib.Path(tmp, "in.jsonl"), pathlib.Path(tmp, "out.jsonl")
        with open(src, "w", encoding="utf-8") as f:
            for pred, gold in pairs:
                for _ in range(REPEAT):
                    f.write(json.dumps({"pred": pred, "gold": gold}) + "\n")
        subprocess.run([cir_eval, "grade", "--cases", str(src), "--out", str(out)], check=True, capture_output=True)
        micros = [json.loads(line)["micros"] for line in out.read_text(encoding="utf-8").splitlines()]
    rust = [min(micros[k * REPEAT : (k + 1) * REPEAT]) for k in range(len(pairs))]
    py = []
    for pred, gold in pairs:
        best = float("inf")
        for _ in range(REPEAT):
            t = time.perf_counter_ns()
            cir.verify(pred, gold)
            best = min(best, (time.perf_counter_ns() - t) / 1e3)
        py.append(best)
    diffs = [p - r for p, r in zip(py, rust)]
    row("what", "pairs", "Python `cir.verify`", "Rust `verify_with`", "difference")
    row("---", "---", "---", "---", "---")
    median = statistics.median
    row(
        "mathverify_cases, fastest of 20 per line, median over lines",
        len(pairs) - 1,
        f"{median(py[:-1]):.2f}",
        f"{median(rust[:-1]):.2f}",
        f"{median(diffs[:-1]):.2f}",
    )
    row("mathverify_cases, p90 over lines of the difference", len(pairs) - 1, "", "", f"{pct(diffs[:-1], 0.9):.2f}")
    row('`("1", "1")`, fastest of 20', 1, f"{py[-1]:.2f}", f"{rust[-1]:.2f}", f"{diffs[-1]:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cir-eval", required=True)
    ap.add_argument("--cases", required=True, type=pathlib.Path)
    ap.add_argument("--only", choices=["sandbox", "verifier", "overhead"], action="append")
    args = ap.parse_args()
    only = set(args.only or ["sandbox", "verifier", "overhead"])
    import platform

    print(f"python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    if "sandbox" in only:
        sandbox_section(args.cir_eval)
    if "verifier" in only:
        verifier_section(args.cases)
    if "overhead" in only:
        overhead_section(args.cir_eval, args.cases)


if __name__ == "__main__":
    main()

"""Times PyPI math-verify on JSONL case files, the same way `cir-eval grade --cases` times cir-verify.

Each line's `pred` and `gold` go through `parse` and `verify` (default configuration); the time per pair covers
both parses and the comparison. Prints one summary line per file: agreement with `expected`, false accepts (judged
equal where `expected` is false) and false rejects, median and p99 microseconds per pair.
"""
import json
import statistics
import sys
import time

from math_verify import parse, verify


def run(path):
    times = []
    agree = 0
    total = 0
    false_accepts = 0
    false_rejects = 0
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        case = json.loads(line)
        start = time.perf_counter()
        try:
            ok = bool(verify(parse(case["gold"]), parse(case["pred"])))
        except Exception:  # noqa: BLE001 - a crash counts as "not equivalent", as in the graders that wrap it
            ok = False
        times.append((time.perf_counter() - start) * 1e6)
        total += 1
        agree += ok == case.get("expected")
        false_accepts += ok and case.get("expected") is False
        false_rejects += not ok and case.get("expected") is True
    times.sort()
    p99 = times[round((len(times) - 1) * 0.99)]
    print(
        f"math-verify {path.rsplit('/', 1)[-1]}: agreement {agree}/{total} ({100 * agree / total:.1f}%); "
        f"false accepts {false_accepts}, false rejects {false_rejects}; "
        f"median {statistics.median(times):.1f} µs, p99 {p99:.1f} µs, max {times[-1]:.1f} µs"
    )


if __name__ == "__main__":
    for p in sys.argv[1:]:
        run(p)

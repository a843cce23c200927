#!/usr/bin/env bash
# Side-by-side benchmark: cir-verify (through `cir-eval grade --cases`) and PyPI math-verify 0.9.0 on the shared
# case files, in one run. math-verify goes into a throwaway virtualenv (default /tmp/cir-verify-mv); the project's
# own tests never need Python. Prints the command, machine and date beside the numbers.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${MV_VENV:-/tmp/cir-verify-mv}"
cases="$root/../shared/verifier-cases"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import math_verify' 2>/dev/null || "$venv/bin/pip" install -q "math-verify==0.9.0"
cargo build --release -p cir-eval
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "command: evaluator/verify/bench/vs-math-verify.sh"
for f in mathverify_cases other_cases; do
  printf 'cir-verify  %s.jsonl: ' "$f"
  "$target/release/cir-eval" grade --cases "$cases/$f.jsonl" 2>&1 >/dev/null | tail -1
  "$venv/bin/python" "$root/evaluator/verify/bench/mv_bench.py" "$cases/$f.jsonl"
done

#!/usr/bin/env bash
# Side-by-side comparison on the shared case files, in one run: cir-verify (default options) and PyPI math-verify
# 0.9.0 (default `parse` + `verify`): agreement with `expected`, false accepts (judged equal where `expected` is
# false), false rejects and latency per pair (extraction, parsing and comparison of both sides); then the
# false-accept audit (tests/audit.rs) on this checkout and, with BASELINE, on that commit's cir-verify.
#
#   evaluator/verify/bench/vs-math-verify.sh                  # this checkout
#   BASELINE=<git rev> evaluator/verify/bench/vs-math-verify.sh   # also the cir-verify of an earlier commit
#
# The baseline is `git archive`d into a temporary folder and built there with its own target folder (it has the same
# workspace-relative paths as this checkout, so sharing one target folder would swap their artifacts). math-verify
# goes into a throwaway virtualenv (default /tmp/cir-verify-mv); the project's own tests never need Python. Prints
# the command, machine and date beside the numbers.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${MV_VENV:-/tmp/cir-verify-mv}"
cases="$root/../shared/verifier-cases"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import math_verify' 2>/dev/null || "$venv/bin/pip" install -q "math-verify==0.9.0"
if [ -n "${BASELINE:-}" ]; then
  mkdir -p "$tmp/base"
  git archive "$BASELINE" | tar -x -C "$tmp/base"
  mkdir -p "$tmp/base/evaluator/verify/examples"
  cp evaluator/verify/examples/tally.rs "$tmp/base/evaluator/verify/examples/"
  (cd "$tmp/base" && CARGO_TARGET_DIR="$tmp/target" cargo build --release -q -p cir-verify --example tally)
  cp "$tmp/target/release/examples/tally" "$tmp/tally-before"
  # The audit, as this checkout has it, on the baseline (its case and dataset paths are relative to the checkout).
  cp evaluator/verify/tests/audit.rs "$tmp/base/evaluator/verify/tests/"
  grep -q 'name = "audit"' "$tmp/base/evaluator/verify/Cargo.toml" \
    || printf '\n[[test]]\nname = "audit"\npath = "tests/audit.rs"\nharness = false\n' >> "$tmp/base/evaluator/verify/Cargo.toml"
  ln -s "$root/../shared" "$tmp/shared"
fi
cargo build --release -q -p cir-verify --example tally
cp "$target/release/examples/tally" "$tmp/tally-after"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "command: ${BASELINE:+BASELINE=$BASELINE }evaluator/verify/bench/vs-math-verify.sh at $(git rev-parse --short HEAD)"
for f in mathverify_cases other_cases; do
  if [ -n "${BASELINE:-}" ]; then
    "$tmp/tally-before" "cir-verify $BASELINE" "$cases/$f.jsonl"
  fi
  "$tmp/tally-after" "cir-verify $(git rev-parse --short HEAD)" "$cases/$f.jsonl"
  "$venv/bin/python" "$root/evaluator/verify/bench/mv_bench.py" "$cases/$f.jsonl"
done
audit() { # label, workspace root, target folder: the summary and per-kind counts (false accepts counted, not listed)
  (cd "$2" && CARGO_TARGET_DIR="$3" cargo test --release -q -p cir-verify --test audit) >"$tmp/audit.out" 2>&1 || true
  echo "audit, cir-verify $1:"
  grep -E '^(audit:|  .* tried, )' "$tmp/audit.out"
}
if [ -n "${BASELINE:-}" ]; then
  audit "$BASELINE" "$tmp/base" "$tmp/target"
fi
audit "$(git rev-parse --short HEAD)" "$root" "$target"

#!/usr/bin/env bash
# Side-by-side measurements of the Python package, in one run (docs/python.md): cir.verify vs PyPI math-verify
# 0.9.0, verify_batch, the binding's cost over the Rust call, and Sandbox.run vs a pebble process pool and vs
# `cir-eval serve`'s /run_code. Everything Python goes into a throwaway virtualenv ($BENCH_VENV, default
# /tmp/cir-python-bench), with the wheel and cir-eval built from this tree.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${BENCH_VENV:-/tmp/cir-python-bench}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "maturin==1.16.0" "math-verify==0.9.0" "pebble==5.2.3"
fi
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
# cir-eval from this tree, copied at once: a target directory shared with other checkouts may be rebuilt meanwhile.
(cd "$root" && cargo build --release --workspace --bins --quiet)
cp "$target/release/cir-eval" "$venv/bin/cir-eval"
(cd "$here/.." && "$venv/bin/maturin" build --release --quiet --out "$wheels")
"$venv/bin/pip" install --quiet --force-reinstall --no-deps "$wheels"/*.whl
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(uname -m), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo "command: bindings/python/bench/run.sh"
"$venv/bin/python" "$here/bench.py" --cir-eval "$venv/bin/cir-eval" --cases "$root/../shared/verifier-cases" "$@"

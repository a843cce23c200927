#!/usr/bin/env bash
# Compatibility test with a client no one here wrote: PyPI `sandbox-fusion` (pinned) against `cir-eval serve`.
# Needs the built binary ($CARGO_TARGET_DIR/release/cir-eval, default target/) and python3 with venv.
# The virtualenv lives under the user cache dir, so CI reuses it.
set -euo pipefail
cd "$(dirname "$0")/../../.."

version=0.3.7
bin="${CARGO_TARGET_DIR:-target}/release/cir-eval"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/cir-ci/sandbox-fusion-$version"
if ! "$venv/bin/python" -c 'import sandbox_fusion' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "sandbox-fusion==$version"
fi

log=$(mktemp)
"$bin" serve --port 0 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 600); do
  grep -q 'listening on' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "cir-eval serve exited before listening" >&2; exit 1; }
  sleep 1
done
url=$(grep -o 'listening on http://[^ ]*' "$log" | head -n1 | cut -d' ' -f3)
[ -n "$url" ] || { cat "$log"; echo "cir-eval serve did not start in 600 s" >&2; exit 1; }
"$venv/bin/python" evaluator/tests/sandbox_fusion/client.py "$url"

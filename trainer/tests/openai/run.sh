#!/usr/bin/env bash
# Compatibility test with a client no one here wrote: the official `openai` Python client (pinned) against
# `cir-train serve` on the built-in SmolLM2-135M-Instruct. Needs the built binary ($CARGO_TARGET_DIR/release/cir-train,
# default target/) and python3 with venv. The virtualenv lives under the user cache dir, so CI reuses it.
set -euo pipefail
cd "$(dirname "$0")/../../.."

version=3.57.0
bin="${CARGO_TARGET_DIR:-target}/release/cir-train"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/cir-ci/openai-$version"
if ! "$venv/bin/python" -c 'import openai' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "openai==$version"
fi

log=$(mktemp)
"$bin" serve --model smollm2-135m --port 0 2>"$log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 600); do
  grep -q 'listening on' "$log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "cir-train serve exited before listening" >&2; exit 1; }
  sleep 1
done
url=$(grep -o 'listening on http://[^ ]*' "$log" | head -n1 | cut -d' ' -f3)
[ -n "$url" ] || { cat "$log"; echo "cir-train serve did not start in 600 s" >&2; exit 1; }
"$venv/bin/python" trainer/tests/openai/client.py "$url"

#!/usr/bin/env bash
# Builds the viewer and tests it in a real browser: cir-web for wasm32 bound with `wasm-bindgen --target web` into
# web/app/src/wasm/, `npm ci`, the type check and Vite build into web/app/dist/, then the Playwright test against
# Debian's Chromium. Needs node >= 20.19, wasm-bindgen-cli 0.2.130 and /usr/bin/chromium (see the README's CI steps).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -p cir-web --target wasm32-unknown-unknown
wasm-bindgen --target web --out-dir web/app/src/wasm "$target/wasm32-unknown-unknown/release/cir_web.wasm"
cd web/app
npm ci --no-audit --no-fund
npm run build
npm test

# The same test against `cir-eval view`, which embeds dist/ (evaluator/build.rs) and serves the fixture itself.
cd "$root"
# Extra cargo flags for this build, e.g. CIR_EVAL_CARGO_FLAGS=--no-default-features where Parquet is not built yet.
# shellcheck disable=SC2086
cargo build --release --workspace --bin cir-eval ${CIR_EVAL_CARGO_FLAGS:-}
log="$(mktemp)"
"$target/release/cir-eval" view web/app/tests/fixtures/sample.jsonl --port 0 > "$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
url=""
for _ in $(seq 100); do
  url="$(head -n 1 "$log")"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "cir-eval view printed no URL" >&2; exit 1; }
(cd web/app && VIEWER_URL="$url" node tests/browser.mjs)

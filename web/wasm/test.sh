#!/usr/bin/env bash
# Builds cir-web for wasm32-unknown-unknown, binds it for Node, and checks its verdicts on the shared case files
# against the native `cir-eval grade`. Needs node and wasm-bindgen-cli 0.2.130 (see the README's CI steps).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build --release -p cir-web --target wasm32-unknown-unknown
cargo build --release --workspace --bin cir-eval
pkg="$target/cir-web-pkg"
wasm-bindgen --target nodejs --out-dir "$pkg" "$target/wasm32-unknown-unknown/release/cir_web.wasm"
cases="$root/../shared/verifier-cases"
args=()
for f in mathverify_cases other_cases; do
  "$target/release/cir-eval" grade --cases "$cases/$f.jsonl" --out "$pkg/$f.native.jsonl"
  args+=("$cases/$f.jsonl" "$pkg/$f.native.jsonl")
done
node "$root/web/wasm/tests/node-verify.cjs" "$pkg" "${args[@]}"

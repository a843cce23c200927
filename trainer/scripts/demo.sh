#!/usr/bin/env bash
# The CPU RL demo and its ablations, each over several seeds, then one summary table and the plots.
#   trainer/scripts/demo.sh [OUT_DIR] [SEEDS...]      (default: demo-runs, seeds 1 2 3)
#   VARIANTS="demo" trainer/scripts/demo.sh OUT 2 3    (only some variants; default: all three)
# Variants: `demo` (the preset: tool output masked, budget schedule 1@0,2@30), `unmasked` (tool output trained on,
# --no-mask-tool-output), `fixed-budget` (--tool-budget 2). Every run is `cir-train rl --preset demo --seed N`
# plus the variant's flag; needs the built cir-train ($CARGO_TARGET_DIR/release, default target/).
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-demo-runs}"
shift || true
if [ "$#" -gt 0 ]; then seeds=("$@"); else seeds=(1 2 3); fi
bin="${CARGO_TARGET_DIR:-target}/release/cir-train"
mkdir -p "$out"
run() {
  local name=$1 seed=$2; shift 2
  local dir="$out/$name-seed$seed"
  # A finished run left its wall time beside it: rerunning the script skips it.
  if [ -f "$dir.time" ]; then echo "$(cat "$dir.time") (done before)"; return; fi
  rm -rf "$dir"
  local start=$(date +%s)
  "$bin" rl --preset demo --seed "$seed" --out "$dir" "$@" 2>"$dir.log" || { echo "$dir failed: see $dir.log"; return 1; }
  echo "$dir: $(( $(date +%s) - start )) s" | tee "$dir.time"
  "$bin" plot "$dir" >/dev/null
}
variants=" ${VARIANTS:-demo unmasked fixed-budget} "
for seed in "${seeds[@]}"; do
  if [[ $variants == *" demo "* ]]; then run demo "$seed"; fi
  if [[ $variants == *" unmasked "* ]]; then run unmasked "$seed" --no-mask-tool-output; fi
  if [[ $variants == *" fixed-budget "* ]]; then run fixed-budget "$seed" --tool-budget 2; fi
done
python3 trainer/scripts/demo_summary.py "$out"

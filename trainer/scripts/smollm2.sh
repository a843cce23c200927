#!/usr/bin/env bash
# SmolLM2-135M-Instruct (the built-in model) learning to use the tool on products of 3- and 4-digit numbers, on the
# CPU: about an hour on two cores. The reference's objective and optimiser settings, scaled to the machine (8 prompts
# x 4 rollouts per step, 384 new tokens, lr 1e-5 for a 135M model; the reference's 1e-6 is for 7B).
#   trainer/scripts/smollm2.sh [OUT_DIR] [STEPS]      (default: smollm2-run, 24 steps)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-smollm2-run}"
steps="${2:-24}"
bin="${CARGO_TARGET_DIR:-target}/release/cir-train"
cat > "$out.toml" <<TOML
model = "smollm2-135m"
checkpoint_every = 8
[data]
dataset = "builtin:mul-train"
template = "cir-chat"
val_dataset = "builtin:mul"
val_every = 8
val_limit = 32
[rollout]
prompts_per_step = 8
n = 4
max_response_tokens = 384
max_rows = 32
tool_budget = "2"
[optim]
lr = 1e-5
TOML
if [ -f "$out/checkpoints/latest" ]; then
  "$bin" rl --resume "$out" --steps "$steps"
else
  "$bin" rl --config "$out.toml" --steps "$steps" --out "$out"
fi
"$bin" plot "$out"

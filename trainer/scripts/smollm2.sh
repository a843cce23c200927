#!/usr/bin/env bash
# SmolLM2-135M-Instruct (the built-in model) learning to use the tool on products of 3- and 4-digit numbers, on the
# CPU: about an hour on two cores. The model is prompted with two worked examples that use Python
# (trainer/scripts/smollm2-prompt.txt, a completions-style prompt): with the chat template it seldom writes code,
# and with the examples it writes a block in most samples but at temperature 1 is right in under a tenth, so the
# reward starts far below its ceiling. The reference's objective and optimiser settings scaled to the machine:
# 8 prompts x 6 rollouts per step, 96 new tokens, lr 2e-5 for a 135M model (the reference's 1e-6 is for 7B), groups
# whose rollouts all score the same dropped before the update (no advantage; dropping them saves the update's
# time), micro-batches of 2048 tokens (the update stays near 9 GB).
#   trainer/scripts/smollm2.sh [OUT_DIR] [STEPS]      (default: smollm2-run, 20 steps)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-smollm2-run}"
steps="${2:-20}"
bin="${CARGO_TARGET_DIR:-target}/release/cir-train"
cat > "$out.toml" <<TOML
model = "smollm2-135m"
checkpoint_every = 5
[data]
dataset = "builtin:mul-train"
template = "trainer/scripts/smollm2-prompt.txt"
val_dataset = "builtin:mul"
val_every = 5
val_limit = 32
[rollout]
prompts_per_step = 8
n = 6
max_response_tokens = 96
max_rows = 48
tool_budget = "2"
[optim]
lr = 2e-5
micro_batch_tokens = 2048
[filters]
equal_reward_groups = true
TOML
if [ -f "$out/checkpoints/latest" ]; then
  "$bin" rl --resume "$out" --steps "$steps"
else
  "$bin" rl --config "$out.toml" --steps "$steps" --out "$out"
fi
"$bin" plot "$out"

#!/usr/bin/env bash
# SmolLM2-135M-Instruct (the built-in model) learning to use the tool on products of 3- and 4-digit numbers, on the
# CPU: about an hour on two cores. The model is prompted with three worked examples that use Python
# (evaluator/benches/few-shot-code.txt, a completions-style prompt): with the chat template it seldom writes code at
# all, and with the examples it writes a block in ~80% of samples but is right in ~6%, so the reward starts far
# below its ceiling. The reference's objective and optimiser settings, scaled to the machine (8 prompts x 8 rollouts
# per step, 160 new tokens, lr 1e-5 for a 135M model; the reference's 1e-6 is for 7B); groups whose rollouts all
# score the same are dropped before the update (they carry no advantage; dropping them saves the update's time);
# micro-batches of 2048 tokens keep the update near 9 GB.
#   trainer/scripts/smollm2.sh [OUT_DIR] [STEPS]      (default: smollm2-run, 40 steps)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-smollm2-run}"
steps="${2:-40}"
bin="${CARGO_TARGET_DIR:-target}/release/cir-train"
cat > "$out.toml" <<TOML
model = "smollm2-135m"
checkpoint_every = 8
[data]
dataset = "builtin:mul-train"
template = "evaluator/benches/few-shot-code.txt"
val_dataset = "builtin:mul"
val_every = 8
val_limit = 32
[rollout]
prompts_per_step = 8
n = 8
max_response_tokens = 160
max_rows = 64
tool_budget = "2"
[optim]
lr = 1e-5
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

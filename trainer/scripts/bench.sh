#!/usr/bin/env bash
# Side-by-side CPU benchmark: burn-flex (trainer/benches/1-model.rs) vs PyTorch/transformers on
# the same random Qwen2 weights. Creates its own throwaway virtualenv (PyTorch from PyPI is
# several GB) unless VENV points at one with torch + transformers.
#   bash trainer/scripts/bench.sh [STAGE...]     (default stages below)
# Writes the JSON lines of both sides to $OUT (default /tmp/cir-bench.jsonl) and plots the decode
# stages against context length to $PLOT (default /tmp/cir-bench-decode.svg).
set -euo pipefail
cd "$(dirname "$0")/../.."
contexts="128 256 512 1024 2048"
default=""
for c in $contexts; do default+="decode:1:$c decode:8:$c nocache:1:$c "; done
stages=("${@:-${default}train:8:256}")
read -r -a stages <<<"${stages[*]}"
venv="${VENV:-/tmp/cir-bench-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch transformers safetensors gguf accelerate   # the last two: GGUF models
fi
model="${BENCH_MODEL:-/tmp/cir-bench-model}"
if [ ! -e "$model" ]; then
    "$venv/bin/python" - "$model" <<'PY'
import sys, torch
from transformers import Qwen2Config, Qwen2ForCausalLM
torch.manual_seed(0)
cfg = Qwen2Config(vocab_size=32000, hidden_size=256, intermediate_size=768, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                  tie_word_embeddings=True)
Qwen2ForCausalLM(cfg).float().save_pretrained(sys.argv[1], safe_serialization=True)
PY
fi
echo "# $(date -u +%FT%TZ) $(uname -m) $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB"
echo "# model: $model; stages: ${stages[*]}"
out="${OUT:-/tmp/cir-bench.jsonl}"
cargo bench -p cir-trainer --bench 1-model -- "$model" "${stages[@]}" | tee "$out"
"$venv/bin/python" trainer/scripts/bench_torch.py "$model" "${stages[@]}" | tee -a "$out"
if grep -Eq '"stage": ?"(decode|nocache)"' "$out"; then
    python3 trainer/scripts/plot_decode.py "$out" "${PLOT:-/tmp/cir-bench-decode.svg}"
fi

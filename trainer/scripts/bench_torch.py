"""PyTorch (transformers) side of trainer/scripts/bench.sh: the same stages as the burn bench
(`trainer/benches/1-model.rs`) on the same weights, one JSON line per stage.

    python bench_torch.py MODEL_DIR decode:1:128 nocache:1:128 decode:8:128 train:8:256 ...
"""

import json
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM

DECODE_STEPS = int(os.environ.get("CIR_BENCH_DECODE_STEPS", "32"))
TRAIN_STEPS = 3


def ids(batch, length, vocab):
    return torch.tensor([[((b * length + i) * 7919 + 13) % vocab for i in range(length)] for b in range(batch)])


@torch.no_grad()
def decode(model, batch, context):
    vocab = model.config.vocab_size
    out = model(ids(batch, context, vocab), use_cache=True)
    past = out.past_key_values
    start = time.perf_counter()
    for _ in range(DECODE_STEPS):
        out = model(ids(batch, 1, vocab), past_key_values=past, use_cache=True)
        past = out.past_key_values
        out.logits.float().numpy()
    return batch * DECODE_STEPS / (time.perf_counter() - start)


@torch.no_grad()
def decode_uncached(model, batch, context, steps=3):
    vocab = model.config.vocab_size
    start = time.perf_counter()
    for step in range(steps):
        out = model(ids(batch, context + step + 1, vocab), use_cache=False, logits_to_keep=1)
        out.logits.float().numpy()
    return batch * steps / (time.perf_counter() - start)


def train(model, batch, seq):
    """Median of TRAIN_STEPS steps after one untimed warm-up step."""
    tokens = ids(batch, seq + 1, model.config.vocab_size)
    times = []
    for _ in range(TRAIN_STEPS + 1):
        start = time.perf_counter()
        logits = model(tokens[:, :seq]).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
        loss.backward()
        model.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    return batch * seq / sorted(times[1:])[TRAIN_STEPS // 2]


def main():
    path, stages = sys.argv[1], sys.argv[2:]
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="sdpa")
    model.eval()
    for stage in stages:
        kind, batch, length = stage.split(":")
        batch, length = int(batch), int(length)
        run = {"decode": decode, "nocache": decode_uncached, "train": train}[kind]
        tps = run(model, batch, length)
        print(json.dumps(dict(impl=f"torch-{torch.__version__}", model=path, stage=kind, batch=batch,
                              length=length, tokens_per_s=round(tps, 1), threads=torch.get_num_threads())))


if __name__ == "__main__":
    main()

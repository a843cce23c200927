"""PyTorch (transformers) side of trainer/scripts/bench.sh: the same stages as the burn bench
(`trainer/benches/1-model.rs`) on the same weights, one JSON line per stage.

    python bench_torch.py MODEL_DIR decode:1:128 decode:8:128 train:8:256 ...
"""

import json
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM

DECODE_STEPS = int(os.environ.get("CIR_BENCH_DECODE_STEPS", "32"))


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


def train(model, batch, seq):
    tokens = ids(batch, seq + 1, model.config.vocab_size)
    start = time.perf_counter()
    logits = model(tokens[:, :seq]).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))
    loss.backward()
    model.zero_grad(set_to_none=True)
    return batch * seq / (time.perf_counter() - start)


def main():
    path, stages = sys.argv[1], sys.argv[2:]
    model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="sdpa")
    model.eval()
    for stage in stages:
        kind, batch, length = stage.split(":")
        batch, length = int(batch), int(length)
        tps = decode(model, batch, length) if kind == "decode" else train(model, batch, length)
        print(json.dumps(dict(impl=f"torch-{torch.__version__}", model=path, stage=kind, batch=batch,
                              length=length, tokens_per_s=round(tps, 1), threads=torch.get_num_threads())))


if __name__ == "__main__":
    main()

"""PyTorch (transformers) side of trainer/scripts/bench.sh: the same stages as the burn bench
(`trainer/benches/1-model.rs`) on the same weights, one JSON line per stage.

    python bench_torch.py MODEL_DIR decode:1:128 nocache:1:128 prefill:1:2048 decode:8:128 train:8:256 rl:8:256 ...

The `rl` stage is one update of `cir-train rl` with its defaults, written as verl 0.9.1's `core_algos` computes it
(reinforce++ baseline advantages whitened with the response mask, PPO with clip 0.2 / 0.28 and dual clip 3.0,
token-mean, two mini-batches, gradient-norm clip 1.0, AdamW lr 1e-6 wd 0.01), on the batch `rl_rows` in
`trainer/benches/1-model.rs` builds.
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


@torch.inference_mode()
def prefill(model, batch, seq):
    """Median tokens/s of TRAIN_STEPS scorings after a warm-up: the log-prob of every next token of `batch` rows of
    `seq + 1` ids (one forward, no cache), as verl's compute_log_prob does it."""
    tokens = ids(batch, seq + 1, model.config.vocab_size)
    times = []
    for _ in range(TRAIN_STEPS + 1):
        start = time.perf_counter()
        logits = model(tokens[:, :seq], use_cache=False).logits
        torch.log_softmax(logits.float(), -1).gather(-1, tokens[:, 1:, None])[..., 0].numpy()
        times.append(time.perf_counter() - start)
    return batch * seq / sorted(times[1:])[TRAIN_STEPS // 2]


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


PROMPT = 64


def rl_batch(model, batch, seq):
    """The batch of the burn bench's `rl_rows`: inputs, targets, loss mask, whiten mask, old log-probs, rewards."""
    tokens = ids(batch, seq + 1, model.config.vocab_size)
    inputs, targets = tokens[:, :seq], tokens[:, 1:]
    k = torch.arange(seq) + 1 - PROMPT  # response index of each target; < 0 in the prompt
    response = (k >= 0).float().expand(batch, seq)
    tool = ((k >= 32) & (k < 64)).float()
    loss_mask = response * (1 - tool)
    with torch.no_grad():
        own = torch.log_softmax(model(inputs).logits.float(), -1).gather(-1, targets[..., None])[..., 0]
    old = (own + 0.3 * torch.sin(k.clamp(min=0).float())) * response
    rewards = torch.tensor([1.0 if (r * 5) % 3 == 0 else -1.0 for r in range(batch)])
    return inputs, targets, loss_mask, response, old, rewards


def reinforce_pp_baseline(rewards, group, mask, eps=1e-8):
    """verl `compute_rf_baseline_outcome_advantage`: group mean removed, then whitened over the batch (unbiased
    variance) with the mask."""
    scores = rewards.clone()
    for g in group.unique():
        members = group == g
        if members.sum() > 1:
            scores[members] -= rewards[members].mean()
    values = scores[:, None] * mask
    mean = (values * mask).sum() / mask.sum()
    centered = values - mean
    var = (centered**2 * mask).sum() / mask.sum() * (mask.sum() / (mask.sum() - 1))
    return centered * torch.rsqrt(var + eps) * mask


def ppo_loss(log_probs, old, adv, mask, low=0.2, high=0.28, dual=3.0):
    """verl `compute_policy_loss_vanilla` with `token-mean`: the loss and `pg_clipfrac`."""
    ratio = torch.exp(torch.clamp(log_probs - old, -20.0, 20.0))
    l1, l2 = -adv * ratio, -adv * torch.clamp(ratio, 1 - low, 1 + high)
    c1 = torch.maximum(l1, l2)
    losses = torch.where(adv < 0, torch.minimum(-adv * dual, c1), c1)
    clipfrac = ((l2 > l1).float() * mask).sum() / mask.sum()
    return (losses * mask).sum() / mask.sum(), clipfrac.item()


def rl(model, batch, seq):
    """Median tokens/s of TRAIN_STEPS updates after a warm-up, and the first update's policy loss and clip fraction
    (weighted by loss tokens over the mini-batches, as cir-train reports them)."""
    inputs, targets, loss_mask, response, old, rewards = rl_batch(model, batch, seq)
    adv_args = (rewards, torch.arange(batch) // 4, response)
    optim = torch.optim.AdamW(model.parameters(), lr=1e-6, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    times, first = [], None
    for _ in range(TRAIN_STEPS + 1):
        start = time.perf_counter()
        adv = reinforce_pp_baseline(*adv_args)
        loss_sum, clip_sum, tokens = 0.0, 0.0, 0.0
        for mini in torch.arange(batch).chunk(2):
            logits = model(inputs[mini]).logits
            mask = loss_mask[mini]
            with torch.no_grad():  # entropy is measured, not trained (as cir-train does)
                p = torch.softmax(logits, -1)
                _entropy = ((torch.logsumexp(logits, -1) - (p * logits).sum(-1)) * mask).sum() / mask.sum()
            log_probs = torch.log_softmax(logits, -1).gather(-1, targets[mini][..., None])[..., 0]
            loss, clipfrac = ppo_loss(log_probs, old[mini], adv[mini], mask)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            optim.zero_grad(set_to_none=True)
            loss_sum += loss.item() * mask.sum().item()
            clip_sum += clipfrac * mask.sum().item()
            tokens += mask.sum().item()
        times.append(time.perf_counter() - start)
        first = first or (loss_sum / tokens, clip_sum / tokens)
    return batch * seq / sorted(times[1:])[TRAIN_STEPS // 2], first


def main():
    path, stages = sys.argv[1], sys.argv[2:]
    # A GGUF file is dequantised to f32, as the burn bench does (transformers needs `gguf` and `accelerate` for it).
    where, gguf = (os.path.dirname(path), {"gguf_file": os.path.basename(path)}) if path.endswith(".gguf") else (path, {})
    model = AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, attn_implementation="sdpa", **gguf)
    model.eval()
    for stage in stages:
        kind, batch, length = stage.split(":")
        batch, length = int(batch), int(length)
        run = {"decode": decode, "nocache": decode_uncached, "prefill": prefill, "train": train, "rl": rl}[kind]
        out = run(model, batch, length)
        tps, stats = out if isinstance(out, tuple) else (out, None)
        line = dict(impl=f"torch-{torch.__version__}", model=path, stage=kind, batch=batch, length=length,
                    tokens_per_s=round(tps, 1), threads=torch.get_num_threads())
        if stats is not None:
            line["pg_loss"], line["pg_clipfrac"] = stats
        print(json.dumps(line))


if __name__ == "__main__":
    main()

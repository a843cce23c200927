"""Creates the reference fixtures in trainer/tests/fixtures/ with Hugging Face transformers.

Run once, in a throwaway virtualenv (PyTorch is several GB; CI does not run this):

    python3 -m venv /tmp/fixtures-venv
    /tmp/fixtures-venv/bin/pip install torch transformers safetensors
    /tmp/fixtures-venv/bin/python trainer/scripts/make_fixtures.py [NAME...]

With names (e.g. `qwen3-tiny`), only those fixtures are (re)written.

For each tiny random model it writes `config.json` + safetensors (as transformers'
`save_pretrained` does) and `reference.json`: for a few prompts, the full logits, the log-prob of
each next prompt token, and the greedy continuation.
"""

import json
import pathlib
import sys

import torch
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen3Config,
    Qwen3ForCausalLM,
)

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
PROMPTS = [[1, 5, 9, 200, 17, 3, 44], [7], [250, 0, 12, 12, 12, 99, 100, 101, 4, 8, 31]]
NEW_TOKENS = 8

SMALL = dict(
    vocab_size=256,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
    rms_norm_eps=1e-6,
    rope_theta=1000000.0,  # Qwen2.5's base, not the default: the loader must read it
    bos_token_id=None,
    eos_token_id=None,
)


def reference(model):
    cases = []
    for prompt in PROMPTS:
        ids = torch.tensor([prompt])
        with torch.no_grad():
            logits = model(ids).logits[0].float()
        logp = torch.log_softmax(logits, dim=-1)
        next_logp = [logp[i, prompt[i + 1]].item() for i in range(len(prompt) - 1)]
        with torch.no_grad():
            out = model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                do_sample=False,
                max_new_tokens=NEW_TOKENS,
                min_new_tokens=NEW_TOKENS,
                pad_token_id=0,
            )
        cases.append(
            dict(
                prompt=prompt,
                logits=[[round(v, 7) for v in row] for row in logits.tolist()],
                next_token_logprobs=next_logp,
                greedy=out[0, len(prompt):].tolist(),
            )
        )
    return dict(torch=torch.__version__, cases=cases)


def save(name, model, **kwargs):
    d = OUT / name
    d.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(d, safe_serialization=True, **kwargs)
    (d / "reference.json").write_text(json.dumps(reference(model.float())))
    for f in ("generation_config.json",):
        (d / f).unlink(missing_ok=True)


def main():
    wanted = set(sys.argv[1:])
    make = lambda name: not wanted or name in wanted
    if make("qwen2-tiny") or make("qwen2-tiny-bf16-sharded"):
        torch.manual_seed(0)
        qwen = Qwen2ForCausalLM(Qwen2Config(tie_word_embeddings=False, **SMALL)).float().eval()
        save("qwen2-tiny", qwen)
        # The same model in bf16, sharded: its reference is computed from the bf16 weights.
        save("qwen2-tiny-bf16-sharded", qwen.to(torch.bfloat16), max_shard_size="40KB")
    if make("llama-tiny"):
        torch.manual_seed(1)
        llama = LlamaForCausalLM(LlamaConfig(tie_word_embeddings=True, **SMALL)).float().eval()
        save("llama-tiny", llama)
    if make("qwen3-tiny"):
        torch.manual_seed(2)
        # head_dim 16 is not hidden_size / heads (8): q/k/v widths come from the config's head_dim.
        qwen3 = Qwen3ForCausalLM(Qwen3Config(tie_word_embeddings=True, head_dim=16, **SMALL)).float().eval()
        # Random q/k norm weights (transformers initialises them to 1, which would hide a missing norm).
        with torch.no_grad():
            for layer in qwen3.model.layers:
                for norm in (layer.self_attn.q_norm, layer.self_attn.k_norm):
                    norm.weight.uniform_(0.5, 1.5)
        save("qwen3-tiny", qwen3)


if __name__ == "__main__":
    main()

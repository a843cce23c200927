"""Reference numbers for the RL objective (trainer/src/objective.rs) from verl's own functions.

Run through `bash trainer/scripts/verl_objective.sh`, which makes the virtualenv (verl installed with --no-deps,
torch and numpy). CI does not run this; its output is the committed fixture
trainer/tests/fixtures/objective/verl.json, which tests/objective.rs feeds through `cir-train objective`'s code.

Importing the `verl` package pulls in ray, transformers, tensordict, omegaconf and more, none of which the
objective uses. So this script executes verl's own source files from the installed package, unchanged:

    verl/trainer/ppo/core_algos.py    advantage estimators, compute_policy_loss_vanilla, agg_loss, kl_penalty
    verl/utils/torch_functional.py    masked_mean, masked_var, masked_whiten, entropy_from_logits
    verl/utils/groupwise.py           (imported by core_algos; not called here)
    verl/utils/import_utils.py        (the `deprecated` decorator)

with empty stand-ins for the names they import but the functions called here never touch: tensordict.TensorDict,
transformers.PreTrainedTokenizer, omegaconf.DictConfig, verl.trainer.config.AlgoConfig,
verl.workers.config.ActorConfig (only subclassed below for the policy loss's config) and verl.utils.device
(get_device_name returns "cpu").

Every input is drawn from a seeded generator and stored as the shortest decimal that round-trips its float32, so
Rust reads exactly the numbers torch used.
"""

import importlib.util
import json
import pathlib
import sys
import types

import numpy as np
import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "objective" / "verl.json"
ESTIMATORS = {  # our name -> verl's registered name
    "reinforce_pp_baseline": "reinforce_plus_plus_baseline",
    "grpo": "grpo",
    "rloo": "rloo",
}
LOSS_AGGS = ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"]


def load_verl():
    """verl's core_algos module, executed from the installed files with stand-ins for its heavy imports."""
    root = pathlib.Path(importlib.util.find_spec("verl").submodule_search_locations[0])

    def shell(name, **attrs):
        module = types.ModuleType(name)
        module.__path__ = []  # a package with no files: an import not stood in for fails loudly
        module.__dict__.update(attrs)
        sys.modules[name] = module
        parent, _, leaf = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], leaf, module)
        return module

    def real(name, relative):
        spec = importlib.util.spec_from_file_location(name, root / relative)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        parent, _, leaf = name.rpartition(".")
        setattr(sys.modules[parent], leaf, module)
        return module

    stand_in = lambda name: type(name, (), {})
    shell("tensordict", TensorDict=stand_in("TensorDict"))
    shell("transformers", PreTrainedTokenizer=stand_in("PreTrainedTokenizer"))
    shell("omegaconf", DictConfig=stand_in("DictConfig"))
    for package in ["verl", "verl.utils", "verl.trainer", "verl.trainer.ppo", "verl.workers"]:
        shell(package)
    shell("verl.trainer.config", AlgoConfig=stand_in("AlgoConfig"))
    shell("verl.workers.config", ActorConfig=stand_in("ActorConfig"))
    shell("verl.utils.device", get_device_name=lambda: "cpu", get_torch_device=lambda: torch.cpu)
    real("verl.utils.import_utils", "utils/import_utils.py")
    groupwise = real("verl.utils.groupwise", "utils/groupwise.py")
    sys.modules["verl.utils"].as_torch_index = groupwise.as_torch_index
    sys.modules["verl.utils"].group_mean_std = groupwise.group_mean_std
    real("verl.utils.torch_functional", "utils/torch_functional.py")
    return real("verl.trainer.ppo.core_algos", "trainer/ppo/core_algos.py")


def f32(array):
    """Nested lists of the shortest decimals that round-trip each float32."""
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == 0:
        return float(str(array))
    return [f32(a) for a in array]


def batch(rng, name, group_sizes, horizon, rewards, clip):
    """One batch: rows of several groups (interleaved), ragged responses, tool-output spans out of the loss mask,
    log-prob changes inside, just outside, far outside the clip range and past the ±20 clamp."""
    group_ids = np.array([f"p{g}" for g, n in enumerate(group_sizes) for _ in range(n)])
    order = rng.permutation(len(group_ids))
    group_ids = group_ids[order]
    rows = len(group_ids)
    response_mask = np.zeros((rows, horizon), np.float32)
    loss_mask = np.zeros((rows, horizon), np.float32)
    for i in range(rows):
        length = int(rng.integers(2, horizon + 1))
        response_mask[i, :length] = 1
        loss_mask[i, :length] = 1
        if length >= 4 and rng.random() < 0.8:  # a tool call's output inside the response
            start = int(rng.integers(1, length - 2))
            loss_mask[i, start : start + int(rng.integers(1, 4))] = 0
    old = -rng.uniform(0.05, 5.0, (rows, horizon)).astype(np.float32)
    kind = rng.choice(5, size=(rows, horizon), p=[0.45, 0.2, 0.2, 0.1, 0.05])
    delta = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
        [
            rng.normal(0, 0.1, (rows, horizon)),  # inside the clip range
            rng.uniform(0.25, 0.6, (rows, horizon)),  # above 1 + high
            -rng.uniform(0.25, 0.8, (rows, horizon)),  # below 1 - low
            rng.choice([-1, 1], (rows, horizon)) * rng.uniform(1.2, 4.0, (rows, horizon)),  # past the dual clip
            rng.choice([-1, 1], (rows, horizon)) * rng.uniform(21, 30, (rows, horizon)),  # past the ±20 clamp
        ],
    ).astype(np.float32)
    log_probs = (old + delta).astype(np.float32)
    rewards = np.asarray(rewards, np.float32)[order]
    return name, {
        "group_ids": group_ids.tolist(),
        "rewards": f32(rewards),
        "response_mask": f32(response_mask),
        "loss_mask": f32(loss_mask),
        "old_log_probs": f32(old),
        "log_probs": f32(log_probs),
        "clip_low": clip[0],
        "clip_high": clip[1],
        "dual_clip": clip[2],
    }


def run_verl(core_algos, inputs):
    """verl's advantages per estimator and its policy loss statistics per (estimator, aggregation)."""
    t = lambda key: torch.tensor(inputs[key], dtype=torch.float32)
    response_mask, loss_mask = t("response_mask"), t("loss_mask")
    # One outcome reward per row, on its last response token (verl's token_level_rewards).
    token_level_rewards = torch.zeros_like(response_mask)
    last = response_mask.sum(-1).long() - 1
    token_level_rewards[torch.arange(len(last)), last] = t("rewards")
    index = np.array(inputs["group_ids"], dtype=object)

    class Actor(sys.modules["verl.workers.config"].ActorConfig):
        clip_ratio = inputs["clip_low"]
        clip_ratio_low = inputs["clip_low"]
        clip_ratio_high = inputs["clip_high"]

        def __init__(self):
            self.global_batch_info = {}  # one data-parallel rank; the batch's own token / sequence counts

        def get(self, key, default=None):
            return {"clip_ratio_c": inputs["dual_clip"]}.get(key, default)

    vanilla = core_algos.get_policy_loss_fn("vanilla")
    advantages, losses = {}, []
    for ours, theirs in ESTIMATORS.items():
        estimator = core_algos.get_adv_estimator_fn(theirs)
        # As verl's compute_advantage calls them: the response mask, the estimator's default epsilon.
        adv, _ = estimator(token_level_rewards=token_level_rewards, response_mask=response_mask, index=index)
        advantages[ours] = f32(adv)
        for agg in LOSS_AGGS:
            pg_loss, metrics = vanilla(
                old_log_prob=t("old_log_probs"),
                log_prob=t("log_probs"),
                advantages=adv,
                response_mask=loss_mask,
                loss_agg_mode=agg,
                config=Actor(),
            )
            losses.append(
                {
                    "estimator": ours,
                    "loss_agg": agg,
                    "pg_loss": f32(pg_loss),
                    "pg_clipfrac": f32(metrics["actor/pg_clipfrac"]),
                    "pg_clipfrac_lower": f32(metrics["actor/pg_clipfrac_lower"]),
                    "ppo_kl": f32(metrics["actor/ppo_kl"]),
                }
            )
    return advantages, losses


def main():
    core_algos = load_verl()
    verl_F = sys.modules["verl.utils.torch_functional"]
    rng = np.random.default_rng(20260513)
    batches = [
        # The reference's setting: ±1 rewards; a mixed group, an all-equal group, a lone row, a pair.
        batch(rng, "pm1-rewards", [4, 3, 1, 2], 10, [1, -1, -1, 1] + [1, 1, 1] + [-1] + [1, -1], (0.2, 0.28, 3.0)),
        # Real-valued rewards, verl's own default clip (0.2 / 0.2), two lone rows.
        batch(rng, "real-rewards", [3, 1, 2, 1, 2], 9, rng.uniform(-2, 2, 9), (0.2, 0.2, 3.0)),
        # Other bounds; one row's loss mask emptied below.
        batch(rng, "wide-clip", [2, 2, 2], 7, [0.5, -1.5, 2.0, 2.0, -0.25, 1.0], (0.1, 0.4, 2.5)),
    ]
    wide = batches[2][1]
    wide["loss_mask"][1] = [0.0] * len(wide["loss_mask"][1])  # a row with nothing to train on
    out_batches = []
    for name, inputs in batches:
        advantages, losses = run_verl(core_algos, inputs)
        out_batches.append({"name": name, "input": inputs, "advantages": advantages, "losses": losses})

    # k3 KL (low_var_kl) and entropy, checked through the library functions directly.
    log_probs = -rng.uniform(0.01, 6.0, (3, 6)).astype(np.float32)
    ref_log_probs = (log_probs + rng.normal(0, 1.5, (3, 6)) * np.array([[1], [1], [12]])).astype(np.float32)
    kl = core_algos.kl_penalty(torch.tensor(log_probs), torch.tensor(ref_log_probs), "low_var_kl")
    logits = (rng.normal(0, 1, (2, 3, 7)) * np.array([[[1.0]], [[25.0]]])).astype(np.float32)
    entropy = verl_F.entropy_from_logits(torch.tensor(logits))

    fixture = {
        "about": "verl's outputs on these inputs; made by `bash trainer/scripts/verl_objective.sh`",
        "verl": core_algos_version(),
        "torch": torch.__version__,
        "batches": out_batches,
        "k3_kl": {"log_probs": f32(log_probs), "ref_log_probs": f32(ref_log_probs), "kl": f32(kl)},
        "entropy": {"logits": f32(logits), "entropy": f32(entropy)},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): {len(out_batches)} batches x 3 estimators x 3 aggregations")


def core_algos_version():
    from importlib.metadata import version

    return version("verl")


if __name__ == "__main__":
    main()

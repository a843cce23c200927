"""Rewards for RL trainers, graded by cir's verifier.

- :func:`compute_score` has verl's custom-reward signature (``custom_reward_function.path`` / ``.name``).
- :func:`trl_reward` makes a TRL reward function (``GRPOTrainer(reward_funcs=[...])``).

Both score +1 for an answer equivalent to the gold one and -1 otherwise (no answer, unparseable, different): the
reference's training reward (``convention="reference"``, the default); ``convention="binary"`` gives 1 and 0, the
reference's validation score. Verifier options (``cir.VERIFY_OPTIONS``) pass through as keywords.

verl loads this file by its path, outside the package, so it imports ``cir`` absolutely.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import cir

__all__ = ["CONVENTIONS", "compute_score", "trl_reward"]

#: Score for (equivalent, not equivalent) under each convention.
CONVENTIONS: dict[str, tuple] = {"reference": (1.0, -1.0), "binary": (1.0, 0.0)}


def compute_score(
    data_source: Any,
    solution_str: str,
    ground_truth: str | int | float,
    extra_info: dict | None = None,
    *,
    convention: str = "reference",
    **options: Any,
) -> float:
    """verl's custom reward: the score of one response.

    ``solution_str`` is the decoded response (its final answer is extracted); ``ground_truth`` the dataset's
    ``reward_model.ground_truth`` (a bare answer or a worked solution; an int or float is read as its ``str``).
    ``data_source`` and ``extra_info`` are accepted and unused: one verifier grades every source.
    ``convention``: ``"reference"`` (default; +1 / -1) or ``"binary"`` (1 / 0). Options as ``cir.verify``.
    """
    right, wrong = _scores(convention)
    verdict = cir.verify(solution_str, _gold(ground_truth), **options)
    return right if verdict.equivalent else wrong


def trl_reward(
    answer_column: str = "solution",
    *,
    convention: str = "reference",
    threads: int | None = None,
    **options: Any,
) -> Callable[..., list[float]]:
    """A TRL reward function: ``f(completions, **kwargs) -> list[float]``.

    TRL passes the dataset's other columns as keywords; ``answer_column`` (default ``"solution"``, as TRL's
    ``accuracy_reward``) names the one holding the gold answers. Each completion is a string (standard format) or a
    list of chat messages (conversational format: the content of the last assistant message is graded). The batch
    is graded by ``cir.verify_batch`` on ``threads`` threads (default: one per core) with the GIL released.
    ``convention`` and options as :func:`compute_score`; they are checked here, once.
    """
    right, wrong = _scores(convention)
    cir.verify("", "", **options)  # an unknown or mistyped option fails now, not at the first training step

    def reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        if answer_column not in kwargs:
            columns = ", ".join(sorted(k for k in kwargs if k not in ("prompts", "completion_ids", "trainer_state")))
            raise KeyError(f"no column {answer_column!r} among the dataset's columns ({columns}): set answer_column")
        golds = kwargs[answer_column]
        if len(golds) != len(completions):
            raise ValueError(f"{len(completions)} completions but {len(golds)} values in column {answer_column!r}")
        pairs = [(_text(c), _gold(g)) for c, g in zip(completions, golds)]
        return [right if v.equivalent else wrong for v in cir.verify_batch(pairs, threads, **options)]

    reward.__name__ = reward.__qualname__ = "cir_accuracy"
    return reward


def _scores(convention: str) -> tuple:
    try:
        return CONVENTIONS[convention]
    except (KeyError, TypeError):
        raise ValueError(f"convention must be one of {sorted(CONVENTIONS)}, not {convention!r}") from None


def _gold(ground_truth: Any) -> str:
    if isinstance(ground_truth, str):
        return ground_truth
    if isinstance(ground_truth, (int, float)) and not isinstance(ground_truth, bool):
        return str(ground_truth)
    raise TypeError(f"the gold answer must be a str, int or float, not {type(ground_truth).__name__}")


def _text(completion: Any) -> str:
    """A completion's text: the string itself, or the last assistant message's content."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, (list, tuple)):
        for message in reversed(completion):
            if isinstance(message, dict) and message.get("role", "assistant") == "assistant":
                content = message.get("content")
                if isinstance(content, str):
                    return content
                raise TypeError(f"an assistant message's content must be a str, not {type(content).__name__}")
        return ""
    raise TypeError(f"a completion must be a str or a list of chat messages, not {type(completion).__name__}")

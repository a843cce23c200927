"""cir: a symbolic answer verifier, a deterministic WASI CPython sandbox and RL rewards, from Rust.

- ``verify(pred, gold, **options) -> Verdict``, ``extract_answer(text)``, ``verify_batch(pairs, threads=None)``:
  the verifier (``cir-verify``); ``cir.math_verify`` has Math-Verify's ``parse`` and ``verify``.
- ``Sandbox(...).run(code, seed=0, stdin=None) -> Execution`` and ``Sandbox.session()``: the sandbox
  (``cir-runtime``).
- ``cir.rewards``: verl's ``compute_score`` and a TRL reward function.

Documentation: docs/python.md in the repository.
"""

from . import math_verify, rewards
from ._cir import (
    MAX_ANSWER_LEN,
    MAX_DEPTH,
    MAX_INPUT_LEN,
    VERIFY_OPTIONS,
    Execution,
    Sandbox,
    Session,
    Verdict,
    extract_answer,
    verify,
    verify_batch,
)

__all__ = [
    "MAX_ANSWER_LEN",
    "MAX_DEPTH",
    "MAX_INPUT_LEN",
    "VERIFY_OPTIONS",
    "Execution",
    "Sandbox",
    "Session",
    "Verdict",
    "extract_answer",
    "math_verify",
    "rewards",
    "verify",
    "verify_batch",
]

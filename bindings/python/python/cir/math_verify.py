"""Math-Verify's two verbs on cir's verifier: replace ``from math_verify import parse, verify`` with
``from cir.math_verify import parse, verify`` and the calls stay as they are.

``parse(text)`` returns a list, as Math-Verify's does: empty when the text holds no answer, else one
:class:`Parsed` (a ``str``, the extracted answer, that remembers the text it came from). ``verify(gold, target)``
takes what ``parse`` returned (or plain strings, read as whole texts) and returns a ``bool``: whether any target
answer is equivalent to any gold answer, judged by ``cir.verify`` on the original texts, so the verdict is
exactly ``cir.verify(target_text, gold_text)``'s.

Differences from Math-Verify 0.9.0, on purpose:

- ``parse`` returns the answer as text, not a sympy expression; ``verify`` refuses sympy objects (``TypeError``).
- ``allow_set_relation_comp`` defaults to ``True`` (cir's default: ``-2 <= x <= 7`` equals ``[-2, 7]``); pass
  ``False`` for Math-Verify's default. ``strict=False`` is cir's ``allow_renaming=True``.
- ``parse``'s ``extraction_config``, ``fallback_mode``, ``extraction_mode``, ``parsing_timeout``, ``raise_on_error``
  and ``verify``'s ``float_rounding``, ``numeric_precision``, ``timeout_seconds``, ``raise_on_error`` are accepted and
  ignored: cir extracts with its own rules (docs/verifier.md), compares decimals to the precision they are written
  with, bounds its work instead of timing out, and never raises on an answer it cannot read.
- Both are thread-safe (no ``signal.alarm``) and release the GIL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from ._cir import extract_answer
from ._cir import verify as _verify

__all__ = ["Parsed", "parse", "verify"]


class Parsed(str):
    """An answer extracted by :func:`parse`: the answer's text, and ``source``, the text it was extracted from."""

    source: str

    def __new__(cls, answer: str, source: str) -> Parsed:
        parsed = super().__new__(cls, answer)
        parsed.source = source
        return parsed

    def __reduce__(self):  # pickles (multiprocessing, Ray) keep the source
        return (Parsed, (str(self), self.source))


def parse(
    pred: str,
    extraction_config: Any = None,
    fallback_mode: str = "first_match",
    extraction_mode: str = "any_match",
    parsing_timeout: int | None = 5,
    raise_on_error: bool = False,
) -> list[Parsed]:
    """The answer in ``pred`` as a list: ``[]`` when it holds none, else ``[Parsed(answer, source=pred)]``.

    The extraction is ``cir.extract_answer``'s (the last ``\\boxed{}``, a "the final answer is" sentence, the last
    math segment, the last number); texts over 1 MiB are read from their last 1 MiB. The other arguments are
    Math-Verify's, accepted and ignored (see the module doc). Raises ``TypeError`` when ``pred`` is not a ``str``.
    """
    if not isinstance(pred, str):
        raise TypeError(f"parse takes a str, not {type(pred).__name__}")
    answer = extract_answer(pred)
    return [] if answer is None else [Parsed(answer, pred)]


Answers = Union[str, Sequence[str]]


def verify(
    gold: Answers,
    target: Answers,
    float_rounding: int = 6,
    numeric_precision: int = 15,
    strict: bool = True,
    allow_set_relation_comp: bool = True,
    timeout_seconds: int | None = 5,
    raise_on_error: bool = False,
) -> bool:
    """Whether ``target`` (the prediction) is equivalent to ``gold``: Math-Verify's argument order.

    Each side is what :func:`parse` returned (a list, empty when no answer was found: then ``False``), one of its
    items, or a plain ``str`` read as a whole text. The verdict is ``cir.verify(target_source, gold_source,
    allow_renaming=not strict, relation_vs_set=allow_set_relation_comp)``'s ``equivalent``; with several answers on a
    side, any equivalent pair is enough. Raises ``TypeError`` for anything but strings and lists of strings.
    """
    options = {"allow_renaming": not strict, "relation_vs_set": bool(allow_set_relation_comp)}
    golds, targets = _texts(gold, "gold"), _texts(target, "target")
    return any(_verify(t, g, **options).equivalent for g in golds for t in targets)


def _texts(side: Answers, name: str) -> list[str]:
    """The texts to verify on one side: each item's source when it came from parse, else the string itself."""
    items = [side] if isinstance(side, str) else side
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"{name} must be what parse returned, a str or a list of str, not {type(side).__name__}")
    texts: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise TypeError(
                f"{name} holds a {type(item).__name__}: cir.math_verify compares the strings parse returns "
                "(sympy expressions are Math-Verify's; pass the original text instead)"
            )
        source: str | None = getattr(item, "source", None)
        texts.append(item if source is None else source)
    return texts

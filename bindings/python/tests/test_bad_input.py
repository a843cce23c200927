"""Bad input through every public function: a verdict or a Python exception with a message, never a crash."""

import time

import pytest

import cir
from cir.math_verify import parse, verify

HUGE = "1" * (10 << 20)  # 10 MB
DEEP = "(" * 100_000 + "1" + ")" * 100_000
NUL = "\\boxed{1\x002}"


@pytest.mark.parametrize("bad", [None, 1, 1.5, b"1", ["1"], object()])
def test_non_str_arguments_are_type_errors(bad):
    for call in (
        lambda: cir.verify(bad, "1"),
        lambda: cir.verify("1", bad),
        lambda: cir.extract_answer(bad),
        lambda: cir.verify_batch([(bad, "1")]),
    ):
        with pytest.raises(TypeError):
            call()


def test_lone_surrogates_are_exceptions():
    with pytest.raises(UnicodeEncodeError):
        cir.verify("\ud800", "1")
    with pytest.raises(UnicodeEncodeError):
        cir.verify_batch([("1", "\ud800")])
    with pytest.raises(UnicodeEncodeError):
        cir.math_verify.parse("\ud800")


@pytest.mark.parametrize(
    "pred",
    [
        HUGE,
        "\\boxed{" + HUGE + "}",
        HUGE + " so \\boxed{2}",
        DEEP,
        NUL,
        "\x00" * 1000,
        "\\frac{" * 50_000,
        "^" * 100_000,
        "\\boxed{" * 50_000,
    ],
)
def test_hostile_predictions_get_a_verdict_quickly(pred):
    started = time.monotonic()
    v = cir.verify(pred, "2")
    assert isinstance(v.equivalent, bool) and v.reason
    assert cir.verify("2", pred).reason
    cir.extract_answer(pred)
    assert verify(parse("2"), parse(pred)) in (True, False)
    assert [w.reason for w in cir.verify_batch([(pred, "2")] * 4)] == [v.reason] * 4
    assert time.monotonic() - started < 20


def test_the_last_mebibyte_of_a_huge_text_is_read():
    assert cir.verify(HUGE + " so \\boxed{2}", "2").equivalent


def test_rewards_on_hostile_completions():
    assert cir.rewards.compute_score("x", HUGE, DEEP) == -1.0
    assert cir.rewards.trl_reward()([HUGE, NUL, DEEP], solution=["1", "1", "2"]) == [-1.0, -1.0, -1.0]


@pytest.mark.parametrize(
    "code",
    [
        "x = " + "(" * 10_000 + ")" * 10_000,
        "def f(): return f()\nf()",
        "print('\\x00'.join('ab'))",
        "exec('1+' * 200000 + '1')",
    ],
)
def test_hostile_code_is_an_execution(sandbox, code):
    run = sandbox.run(code)
    assert run.status in ("ok", "error", "crash", "memory_limit", "timeout"), run
    assert sandbox.run("print(1)").stdout == "1\n"


def test_huge_output_is_cut(sandbox):
    run = sandbox.run("print('x' * (8 << 20))")
    assert (run.status, run.truncated, len(run.stdout)) == ("output_limit", True, 1 << 20)

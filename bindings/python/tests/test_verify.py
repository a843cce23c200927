"""cir.verify, cir.extract_answer, cir.verify_batch and cir.Verdict."""

import concurrent.futures
import pathlib
import re

import pytest

import cir


@pytest.mark.parametrize(
    "pred, gold, equivalent, reason",
    [
        ("so the answer is $\\boxed{\\dfrac{1}{2}}$", "0.5", True, "equal: exact"),
        ("\\boxed{x^2+2x+1}", "(x+1)^2", True, "equal: symbolic"),
        ("\\boxed{\\{1,2\\}}", "\\{2,\\frac{2}{2}\\}", True, "equal: set"),
        ("0.333", "\\frac{1}{3}", True, "equal: numeric"),
        ("0.334", "\\frac{1}{3}", False, "different"),
        ("\\boxed{)(}", "7", False, "unparseable prediction"),
        ("7", "\\boxed{a^}", False, "unparseable gold"),
        ("", "7", False, "no answer found"),
        ("7", "", False, "no gold answer found"),
    ],
)
def test_verify_verdicts(pred, gold, equivalent, reason):
    v = cir.verify(pred, gold)
    assert (v.equivalent, v.reason, bool(v)) == (equivalent, reason, equivalent)


def test_verdict_carries_the_extracted_answers():
    v = cir.verify("so $x = \\boxed{\\frac{1}{2}}$.", "The answer is \\boxed{0.5}")
    assert (v.pred_answer, v.gold_answer) == ("\\frac{1}{2}", "0.5")
    assert cir.verify("", "3").pred_answer is None
    assert repr(v) == 'Verdict(equivalent=True, reason="equal: exact", pred_answer="\\\\frac{1}{2}", gold_answer="0.5")'


# Each option flips one verdict (cir-verify's own tests cover the conventions; these check the keywords reach it).
@pytest.mark.parametrize(
    "pred, gold, options",
    [
        ("3, 1, 2", "1, 2, 3", {"ordered_lists": True}),
        ("(2, 1)", "(1, 2)", {"unordered_tuples": True}),
        ("28\\%", "28", {"percent": "scaled"}),
        ("28\\%", "0.28", {"percent": "unit"}),
        ("0.28", "28", {"percent_scaling": True}),
        ("0.4\\%", "40\\%", {"percent": "each-side"}),
        ("3.14", "3.1", {"coarser_decimal_precision": True}),
        ("f(y) = y^2", "f(x) = x^2", {"allow_renaming": True}),
        ("-2 \\le x \\le 7", "[-2, 7]", {"relation_vs_set": False}),
        ("3.15", "3.14159", {"relative_tolerance": 1e-2}),
    ],
)
def test_each_option_changes_the_verdict(pred, gold, options):
    assert cir.verify(pred, gold).equivalent != cir.verify(pred, gold, **options).equivalent


def test_every_option_is_tested_above_and_in_the_stub():
    tested = {
        "ordered_lists",
        "unordered_tuples",
        "percent",
        "percent_scaling",
        "allow_renaming",
        "relation_vs_set",
        "coarser_decimal_precision",
        "relative_tolerance",
        "lenient_last_line",
    }
    assert set(cir.VERIFY_OPTIONS) == tested
    stub = (pathlib.Path(cir.__file__).parent / "_cir.pyi").read_text()
    block = stub[stub.index("class VerifyOptions") : stub.index("VERIFY_OPTIONS:")]
    assert re.findall(r"^    (\w+): ", block, re.M) == list(cir.VERIFY_OPTIONS)
    for name in cir.VERIFY_OPTIONS:
        assert name in cir.verify.__doc__, f"verify's docstring does not document {name}"


def test_lenient_last_line_is_accepted():
    # (cir-verify's extraction already takes the last number wherever this option would, so no verdict flips.)
    assert cir.verify("the answer is 42", "\\boxed{42}", lenient_last_line=True).equivalent


def test_unknown_option_is_a_type_error_naming_the_valid_ones():
    valid = 'unknown verifier option "strict"; the options are: ordered_lists, .*, lenient_last_line$'
    with pytest.raises(TypeError, match=valid):
        cir.verify("1", "1", strict=False)


@pytest.mark.parametrize(
    "options, error",
    [
        ({"ordered_lists": 1}, TypeError),
        ({"ordered_lists": None}, TypeError),
        ({"percent": "half"}, ValueError),
        ({"percent": 3}, TypeError),
        ({"relative_tolerance": -1.0}, ValueError),
        ({"relative_tolerance": float("nan")}, ValueError),
        ({"relative_tolerance": "1e-4"}, TypeError),
    ],
)
def test_bad_option_values(options, error):
    with pytest.raises(error, match=next(iter(options))):
        cir.verify("1", "1", **options)


def test_relative_tolerance_accepts_none_and_ints():
    assert cir.verify("1", "1", relative_tolerance=None).equivalent
    assert cir.verify("1", "1", relative_tolerance=0).equivalent


@pytest.mark.parametrize(
    "text, answer",
    [
        ("first \\boxed{1} then \\boxed{2}", "2"),
        ("The final answer is 34. I hope it is correct.", "34"),
        ("no answer here", "no answer here"),
        ("", None),
    ],
)
def test_extract_answer(text, answer):
    assert cir.extract_answer(text) == answer


PAIRS = [("\\boxed{2}", "2"), ("\\boxed{3}", "2"), ("x^2", "x \\cdot x"), ("", "1"), ("\\frac{1}{2}", "0.5")] * 40


@pytest.mark.parametrize("threads", [None, 1, 3])
def test_verify_batch_equals_verify_in_order(threads):
    got = cir.verify_batch(PAIRS, threads)
    want = [cir.verify(p, g) for p, g in PAIRS]
    assert [(v.equivalent, v.reason, v.pred_answer) for v in got] == [
        (v.equivalent, v.reason, v.pred_answer) for v in want
    ]


def test_verify_batch_takes_any_iterable_lists_and_options():
    assert [v.equivalent for v in cir.verify_batch(iter([["1", "1"], ("2", "3")]))] == [True, False]
    assert cir.verify_batch([], threads=2) == []
    assert cir.verify_batch([("3, 1, 2", "1, 2, 3")], ordered_lists=True)[0].equivalent is False


@pytest.mark.parametrize(
    "pairs, message",
    [
        ([("1",)], r"pairs\[0\]: expected a \(pred, gold\) pair, got 1 items"),
        ([("1", "1"), ("1", 2)], r"pairs\[1\]: gold must be a str, not int"),
        (["12"], r"pairs\[0\]: expected a \(pred, gold\) tuple, got str"),
        ([None], r"pairs\[0\]: expected a \(pred, gold\) tuple, got NoneType"),
        (5, "not iterable"),
    ],
)
def test_verify_batch_bad_pairs(pairs, message):
    with pytest.raises(TypeError, match=message):
        cir.verify_batch(pairs)


def test_verify_batch_zero_threads():
    with pytest.raises(ValueError, match="threads must be at least 1"):
        cir.verify_batch(PAIRS, threads=0)


def test_concurrent_calls_from_python_threads_agree_with_sequential_ones():
    want = [cir.verify(p, g).reason for p, g in PAIRS]

    def work(k):
        if k % 2:
            return [v.reason for v in cir.verify_batch(PAIRS, threads=2)]
        return [cir.verify(p, g).reason for p, g in PAIRS]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(32)))
    assert all(r == want for r in results)


def test_limits_are_exported():
    assert (cir.MAX_INPUT_LEN, cir.MAX_ANSWER_LEN, cir.MAX_DEPTH) == (1 << 20, 4096, 64)
    # Past MAX_INPUT_LEN only the tail is read: the early box is out of sight.
    assert cir.extract_answer("\\boxed{7} " + "x " * cir.MAX_INPUT_LEN) != "7"

"""cir.math_verify: Math-Verify 0.9.0's parse and verify, with cir's verdicts."""

import inspect
import json
import pickle
import subprocess

import pytest

import cir
from cir.math_verify import Parsed, parse, verify
from conftest import CASES


def test_parse_returns_a_list_like_math_verify():
    got = parse("The answer is $\\frac{1}{2}$")
    assert got == ["\\frac{1}{2}"] and isinstance(got[0], str) and got[0].source == "The answer is $\\frac{1}{2}$"
    assert parse("") == []


def test_verify_returns_a_bool_in_math_verify_argument_order():
    gold, pred = parse("\\boxed{\\frac12}"), parse("the answer is $0.5$")
    assert verify(gold, pred) is True
    assert verify(parse("\\boxed{2}"), parse("3")) is False
    assert verify(gold, []) is False and verify([], pred) is False


def test_verify_reads_strings_and_single_items_as_texts():
    assert verify("\\boxed{2}", "the answer is 2") is True
    assert verify(parse("\\boxed{2}")[0], "2") is True


def test_math_verify_keywords_are_accepted():
    # Every parameter of Math-Verify 0.9.0's parse and verify, by name and position.
    assert list(inspect.signature(parse).parameters) == [
        "pred",
        "extraction_config",
        "fallback_mode",
        "extraction_mode",
        "parsing_timeout",
        "raise_on_error",
    ]
    assert list(inspect.signature(verify).parameters) == [
        "gold",
        "target",
        "float_rounding",
        "numeric_precision",
        "strict",
        "allow_set_relation_comp",
        "timeout_seconds",
        "raise_on_error",
    ]
    p = parse("x = 3", extraction_config=[object()], extraction_mode="first_match", parsing_timeout=None)
    assert verify(p, p, float_rounding=3, numeric_precision=5, timeout_seconds=None, raise_on_error=True)


def test_strict_and_allow_set_relation_comp_map_to_cir_options():
    assert not verify(parse("f(x) = x^2"), parse("f(y) = y^2"))
    assert verify(parse("f(x) = x^2"), parse("f(y) = y^2"), strict=False)
    assert verify(parse("[-2, 7]"), parse("-2 \\le x \\le 7"))
    assert not verify(parse("[-2, 7]"), parse("-2 \\le x \\le 7"), allow_set_relation_comp=False)


@pytest.mark.parametrize("bad", [1, None, 2.5, [1], [None], {"a": 1}])
def test_non_strings_are_type_errors(bad):
    with pytest.raises(TypeError):
        verify(bad, "1")
    with pytest.raises(TypeError):
        verify("1", bad)


@pytest.mark.parametrize("bad", [1, None, b"1", ["1"]])
def test_parse_takes_only_str(bad):
    with pytest.raises(TypeError, match="parse takes a str"):
        parse(bad)


def test_parsed_answers_pickle_with_their_source():
    p = parse("so \\boxed{4}")[0]
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, Parsed) and (q, q.source) == ("4", "so \\boxed{4}")


@pytest.mark.parametrize("name", ["mathverify_cases", "other_cases"])
def test_same_verdicts_as_cir_eval_grade_on_every_line(name, cir_eval, tmp_path):
    cases = CASES / f"{name}.jsonl"
    out = tmp_path / "graded.jsonl"
    subprocess.run([str(cir_eval), "grade", "--cases", str(cases), "--out", str(out)], check=True, capture_output=True)
    graded = [json.loads(line) for line in out.read_text().splitlines()]
    lines = [json.loads(line) for line in cases.read_text().splitlines() if line.strip()]
    lines = [c for c in lines if isinstance(c.get("pred"), str) and isinstance(c.get("gold"), str)]
    assert len(graded) == len(lines) > 100
    batch = cir.verify_batch([(c["pred"], c["gold"]) for c in lines])
    for k, (case, line, v) in enumerate(zip(lines, graded, batch), 1):
        assert (line["pred"], line["gold"]) == (case["pred"], case["gold"])
        where = f"{name} graded line {k}: {case['pred']!r} vs {case['gold']!r}"
        assert verify(parse(case["gold"]), parse(case["pred"])) == line["verdict"], where
        assert cir.verify(case["pred"], case["gold"]).reason == line["reason"], where
        assert v.reason == line["reason"], where

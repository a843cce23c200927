"""cir.rewards: verl's compute_score and the TRL reward function."""

import importlib.util
import inspect

import pytest

import cir
from cir.rewards import compute_score, trl_reward

RIGHT = "Let me compute. ```python\nprint(6*7)\n```\n```output\n42\n```\nSo the answer is \\boxed{42}."
WRONG = "The answer is \\boxed{41}."


@pytest.mark.parametrize(
    "solution, convention, score",
    [
        (RIGHT, "reference", 1.0),
        (WRONG, "reference", -1.0),
        ("I give up.", "reference", -1.0),
        (RIGHT, "binary", 1.0),
        (WRONG, "binary", 0.0),
        ("", "binary", 0.0),
    ],
)
def test_compute_score_conventions(solution, convention, score):
    assert compute_score("MATH", solution, "42", None, convention=convention) == score


def test_compute_score_is_called_the_way_verl_calls_it():
    # verl's reward managers pass keywords; verl's reward_kwargs add the rest.
    assert compute_score(data_source="aime", solution_str=RIGHT, ground_truth="42", extra_info={"index": 3}) == 1.0
    assert list(inspect.signature(compute_score).parameters)[:4] == [
        "data_source",
        "solution_str",
        "ground_truth",
        "extra_info",
    ]


def test_compute_score_options_and_number_golds():
    assert compute_score("x", "\\boxed{3, 1, 2}", "1, 2, 3") == 1.0
    assert compute_score("x", "\\boxed{3, 1, 2}", "1, 2, 3", ordered_lists=True) == -1.0
    assert compute_score("x", "\\boxed{42}", 42) == 1.0
    assert compute_score("x", "\\boxed{0.5}", 0.5) == 1.0


@pytest.mark.parametrize("gold", [None, True, ["42"], b"42"])
def test_compute_score_bad_gold(gold):
    with pytest.raises(TypeError, match="gold answer must be a str"):
        compute_score("x", RIGHT, gold)


def test_unknown_convention_or_option():
    with pytest.raises(ValueError, match="convention must be one of"):
        compute_score("x", RIGHT, "42", convention="pm1")
    with pytest.raises(TypeError, match="unknown verifier option"):
        compute_score("x", RIGHT, "42", strict=True)
    with pytest.raises(TypeError, match="unknown verifier option"):
        trl_reward(strict=True)
    with pytest.raises(ValueError, match="convention"):
        trl_reward(convention="")


def test_verl_loads_the_file_by_path():
    # verl imports custom_reward_function.path as a standalone module, outside the package.
    spec = importlib.util.spec_from_file_location("custom_module", cir.rewards.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.compute_score("x", RIGHT, "42") == 1.0


def test_trl_reward_on_standard_and_conversational_completions():
    reward = trl_reward("answer", convention="binary")
    assert reward.__name__ == "cir_accuracy"
    plain = [RIGHT, WRONG, "nothing"]
    chat = [[{"role": "assistant", "content": c}] for c in plain]
    kwargs = {"prompts": ["p"] * 3, "completion_ids": [[1]] * 3, "trainer_state": None, "answer": ["42"] * 3}
    assert reward(plain, **kwargs) == [1.0, 0.0, 0.0]
    assert reward(completions=chat, **kwargs) == [1.0, 0.0, 0.0]


def test_trl_reward_grades_the_last_assistant_message():
    completion = [
        {"role": "assistant", "content": "```python\nprint(6*7)\n```"},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": "so \\boxed{42}"},
    ]
    assert trl_reward()([completion], solution=["42"]) == [1.0]
    assert trl_reward()([[{"role": "user", "content": "\\boxed{42}"}]], solution=["42"]) == [-1.0]


def test_trl_reward_errors():
    reward = trl_reward()
    with pytest.raises(KeyError, match="no column 'solution' among the dataset's columns \\(answer\\)"):
        reward(["x"], prompts=["p"], answer=["1"])
    with pytest.raises(ValueError, match="2 completions but 1 values"):
        reward(["x", "y"], solution=["1"])
    with pytest.raises(TypeError, match="a completion must be a str or a list of chat messages, not int"):
        reward([5], solution=["1"])
    with pytest.raises(TypeError, match="content must be a str, not list"):
        reward([[{"role": "assistant", "content": [{"type": "text", "text": "1"}]}]], solution=["1"])

"""cir.Sandbox, cir.Session and cir.Execution (needs the interpreter prepared in $CIR_HOME: `cir-eval setup`)."""

import concurrent.futures
import threading
import time

import pytest

import cir


def test_run_prints_and_echoes(sandbox):
    run = sandbox.run("print(1 + 1)")
    assert (run.status, run.stdout, run.stderr, run.error, run.exit_code, run.truncated) == (
        "ok",
        "2\n",
        "",
        None,
        None,
        False,
    )
    assert run.duration_ms > 0
    assert run.feedback() == "\n```output\n2\n```\n"
    assert sandbox.run("x = 6\nx * 7").stdout == "42\n"


def test_sympy_is_preloaded(sandbox):
    run = sandbox.run("from sympy import symbols, solve\nx = symbols('x')\nprint(solve(x**2 - 5*x + 6, x))")
    assert run.stdout == "[2, 3]\n", run


def test_error_line_and_feedback(sandbox):
    run = sandbox.run("print('before')\n1 / 0")
    assert (run.status, run.stdout, run.error) == ("error", "before\n", "ZeroDivisionError: division by zero")
    assert "Traceback" in run.stderr
    assert run.feedback() == "\n```output\nZeroDivisionError: division by zero\n```\n"


def test_sys_exit_is_an_exit_code(sandbox):
    run = sandbox.run("import sys\nsys.exit(3)")
    assert (run.status, run.exit_code) == ("error", 3)


def test_seed_fixes_randomness(sandbox):
    code = "import random\nprint(random.random())"
    assert sandbox.run(code, seed=7).stdout == sandbox.run(code, seed=7).stdout != sandbox.run(code, seed=8).stdout


def test_stdin_as_text_or_bytes(sandbox):
    code = "print(input()[::-1])"
    assert sandbox.run(code, stdin="abc\n").stdout == "cba\n"
    assert sandbox.run(code, stdin=b"xyz\n").stdout == "zyx\n"
    assert sandbox.run(code).error == "EOFError: EOF when reading a line"
    with pytest.raises(TypeError):
        sandbox.run(code, stdin=5)


def test_every_run_starts_fresh(sandbox):
    sandbox.run("leaked = 1")
    assert sandbox.run("print(leaked)").error == "NameError: name 'leaked' is not defined"


def test_timeout(tight):
    started = time.monotonic()
    run = tight.run("while True:\n    pass")
    assert run.status == "timeout" and run.error.startswith("Timeout Error")
    assert run.feedback() == "\n```output\nTimeout Error\n```\n"
    assert time.monotonic() - started < 10


def test_memory_limit(tight):
    run = tight.run("x = bytearray(400 * 1024 * 1024)\nprint(len(x))")
    assert run.status == "memory_limit", run
    assert tight.run("print(2)").stdout == "2\n"


def test_output_limit(tight):
    run = tight.run("print('a' * 10000)")
    assert (run.status, run.truncated, len(run.stdout)) == ("output_limit", True, 4096)


def test_no_echo_is_plain_exec(tight):
    assert tight.run("1 + 1").stdout == ""


def test_session_keeps_state_and_ends_on_a_limit(tight):
    with tight.session(seed=1) as s:
        assert s.run("x = 20").status == "ok"
        assert s.run("print(x + 1)").stdout == "21\n"
        assert s.run("while True:\n    pass").status == "timeout"
        with pytest.raises(RuntimeError, match="session ended"):
            s.run("print(x)")
    with pytest.raises(RuntimeError, match="closed"):
        s.run("print(1)")
    s.close()


@pytest.mark.parametrize(
    "code, message",
    [("", "empty"), ("   \n", "empty"), ("print(1)\0", "NUL byte"), ("#" * (2 << 20), "over the 1048576-byte limit")],
)
def test_refused_code_is_a_value_error(sandbox, code, message):
    with pytest.raises(ValueError, match=message):
        sandbox.run(code)


def test_stdin_over_the_limit_is_a_value_error(sandbox):
    with pytest.raises(ValueError, match="standard input"):
        sandbox.run("print(1)", stdin=b"x" * (2 << 20))


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"timeout": 0}, ValueError),
        ({"timeout": -1.0}, ValueError),
        ({"timeout": float("nan")}, ValueError),
        ({"timeout": float("inf")}, ValueError),
        ({"timeout": "5"}, TypeError),
        ({"memory_mib": -1}, OverflowError),
        ({"echo": "yes"}, TypeError),
        ({"wheel": 5}, TypeError),
    ],
)
def test_bad_settings(kwargs, error):
    with pytest.raises(error):
        cir.Sandbox(**kwargs)


def test_repr_names_the_settings():
    assert repr(cir.Sandbox(timeout=2.5, echo=False)) == (
        "Sandbox(timeout=2.5, memory_mib=512, output_limit=1048576, echo=False, fuel=None, wheel=None)"
    )


def test_a_missing_offline_wheel_is_a_runtime_error(tmp_path, monkeypatch):
    # A cache folder of its own, so the shared interpreter is not found and the wheel is needed.
    monkeypatch.setenv("CIR_HOME", str(tmp_path / "home"))
    sb = cir.Sandbox(wheel=tmp_path / "missing.whl")
    with pytest.raises(RuntimeError, match="missing.whl"):
        sb.run("print(1)")


def test_runs_from_several_python_threads_share_one_sandbox(sandbox):
    def work(k):
        return [sandbox.run(f"print({k} * {i})", seed=i).stdout for i in range(5)]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(work, range(12)))
    assert results == [[f"{k * i}\n" for i in range(5)] for k in range(12)]


def test_the_gil_is_released_while_code_runs(tight):
    entered = threading.Event()
    result = {}

    def slow():
        entered.set()
        result["run"] = tight.run("while True:\n    pass")  # runs until the 1 s deadline

    worker = threading.Thread(target=slow)
    worker.start()
    entered.wait()
    time.sleep(0.1)  # the worker is now inside run
    spins, started = 0, time.monotonic()
    while time.monotonic() - started < 0.2:
        spins += 1
    # Had run held the GIL, this loop could only have started after the deadline passed.
    assert worker.is_alive() and spins > 1000
    worker.join()
    assert result["run"].status == "timeout"

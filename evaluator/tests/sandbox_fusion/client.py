"""The PyPI SandboxFusion client, unmodified, against `cir-eval serve`: its parsing of our replies is the test.

Usage: python client.py http://127.0.0.1:PORT (run by run.sh in a throwaway virtualenv).
"""

import asyncio
import base64
import sys

import requests
from sandbox_fusion import (
    CommandRunStatus,
    RunCodeRequest,
    RunStatus,
    SummaryMapping,
    run_code,
    run_code_async,
    set_endpoint,
    summary_run_code_result,
)

endpoint = sys.argv[1]
set_endpoint(endpoint)
mapping = SummaryMapping(RunFailed="runtime_error", RunTimeout="timeout")

ok = run_code(RunCodeRequest(code="import sympy\nprint(sympy.factorint(360))", language="python"))
assert ok.status == RunStatus.Success, ok
assert ok.run_result.status == CommandRunStatus.Finished, ok
assert ok.run_result.return_code == 0, ok
assert ok.run_result.stdout == "{2: 3, 3: 2, 5: 1}\n", ok
assert ok.run_result.execution_time is not None and ok.run_result.execution_time > 0, ok
assert summary_run_code_result(ok, mapping) == "Success"

err = run_code(RunCodeRequest(code="print('before')\n1/0", language="python"))
assert err.status == RunStatus.Failed, err
assert err.run_result.status == CommandRunStatus.Finished, err
assert err.run_result.return_code == 1, err
assert err.run_result.stdout == "before\n", err
assert "ZeroDivisionError" in err.run_result.stderr, err
assert summary_run_code_result(err, mapping) == "runtime_error"

slow = run_code(RunCodeRequest(code="while True: pass", language="python", run_timeout=1))
assert slow.status == RunStatus.Failed, slow
assert slow.run_result.status == CommandRunStatus.TimeLimitExceeded, slow
assert summary_run_code_result(slow, mapping) == "timeout"

piped = run_code(RunCodeRequest(code="print(input()[::-1])", language="python", stdin="abc\n"))
assert piped.run_result.stdout == "cba\n", piped

# files are placed in the folder the code starts in (nested folders made, a null content skipped, as SandboxFusion's
# restore_files does); fetch_files come back base64-encoded, a missing one left out.
b64 = lambda data: base64.b64encode(data).decode()
files = run_code(RunCodeRequest(
    code="import os\nprint(os.getcwd(), sorted(os.listdir('.')), open('in/data.txt').read())\n"
         "open('out.bin', 'wb').write(bytes(range(256)))",
    language="python",
    files={"in/data.txt": b64(b"given"), "skipped.txt": None},
    fetch_files=["out.bin", "in/data.txt", "never.txt"],
))
assert files.status == RunStatus.Success, files
assert files.run_result.stdout == "/tmp ['in'] given\n", files
assert files.files == {"out.bin": b64(bytes(range(256))), "in/data.txt": b64(b"given")}, files

# A file outside the working folder is refused in SandboxFusion's format.
try:
    run_code(RunCodeRequest(code="print(1)", language="python", files={"/etc/x": b64(b"x")}), max_attempts=1)
except Exception as e:
    assert "not a path in /tmp" in str(e), e
else:
    raise AssertionError("a file outside /tmp should be refused")

# An unsupported language: the client raises with our SandboxFusion-format message (one attempt, no retries).
try:
    run_code(RunCodeRequest(code="int main() {}", language="cpp"), max_attempts=1)
except Exception as e:  # the client raises a bare Exception
    assert "not supported" in str(e), e
else:
    raise AssertionError("cpp should be refused")

# The async client parses the same replies.
async def both():
    return await asyncio.gather(
        run_code_async(RunCodeRequest(code="print(1)", language="python")),
        run_code_async(RunCodeRequest(code="raise SystemExit(4)", language="python")),
    )

first, second = asyncio.run(both())
assert first.status == RunStatus.Success and first.run_result.stdout == "1\n", first
assert second.status == RunStatus.Failed and second.run_result.return_code == 4, second

# verl's own call (verl/utils/reward_score/sandbox_fusion/utils.py): a plain POST of this payload to the URL.
payload = {"compile_timeout": 10, "run_timeout": 10, "code": "print(input())", "stdin": "None", "language": "python",
           "files": {}, "fetch_files": [], "memory_limit_MB": 1024}
reply = requests.post(f"{endpoint}/run_code", json=payload, timeout=60)
assert reply.status_code == 200, reply.text
assert reply.json()["status"] == "Success" and reply.json()["run_result"]["stdout"] == "None\n", reply.text

print("sandbox-fusion client: all checks passed")

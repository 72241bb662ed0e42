"""Every example runs, passes its own assertions, and leaves nothing unclosed.

Each example starts its own moto server on loopback, so each runs in a fresh process:
this is also the check that cached aioboto3 clients are closed cleanly at process exit
(an unclosed one shows as "Unclosed client session" or a ResourceWarning on stderr).

Not ``-X dev``: it switches aiohttp to its strict HTTP parser, which rejects moto's
responses (they carry two ``Server`` headers) and so fails every delete against moto.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def run_in_examples(*args: str) -> subprocess.CompletedProcess[str]:
    """Python in examples/, with no AWS settings of the developer's and no strict aiohttp
    parsing (above)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    for name in ("PYTHONDEVMODE", "PYTHONASYNCIODEBUG"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, *args],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_there_are_examples() -> None:
    assert {"demo.py", "context_manager.py", "decorator.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_cleanly(script: str) -> None:
    done = run_in_examples("-W", "default::ResourceWarning", script)
    report = f"exit code {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, report
    assert done.stdout, report
    for sign in ("Traceback", "Unclosed", "ResourceWarning"):
        assert sign not in done.stderr, report


CHECKED_MAIN = """
import importlib, inspect, json, sys

sys.path.insert(0, ".")
module = importlib.import_module(sys.argv[1])
returned = []

def check(value):
    json.dumps(value)  # what Lambda does with the return value: must not raise
    returned.append(value)
    return value

def checked(handler):
    if inspect.iscoroutinefunction(handler):
        async def checked_call(*args, **kwargs):
            return check(await handler(*args, **kwargs))
    else:
        def checked_call(*args, **kwargs):
            return check(handler(*args, **kwargs))
    return checked_call

# Every Lambda handler of the example (lambda_handler, and any other *_handler taking
# (event, context)), wrapped so that what it returns goes through json.dumps.
for name, value in list(vars(module).items()):
    if name.endswith("handler") and name != "record_handler" and callable(value):
        if list(inspect.signature(value).parameters)[:2] == ["event", "context"]:
            setattr(module, name, checked(value))
module.main()
assert returned, "main() never saw a Lambda handler return"
"""


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_lambda_handler_returns_what_lambda_can_serialise(script: str) -> None:
    done = run_in_examples("-c", CHECKED_MAIN, script.removesuffix(".py"))
    assert done.returncode == 0, done.stderr[-3000:]

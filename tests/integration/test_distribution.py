"""The built wheel and sdist, as a user gets them: checked, installed into a fresh
virtual environment (not the checkout), and run there.

The wheel needs nothing (its dependencies are all extras), so it installs without the
package index. The examples then run against the installed wheel, with the extras'
packages (aioboto3, moto, boto3, pydantic) taken from this environment, which a line
of the fresh one's ``.pth`` puts at the end of its path: ``aiobatch`` itself comes only
from the wheel, which each run checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.dist import ROOT, check, package_files, version

EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def run(*args: str | Path, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make dist``'s build: an sdist and a wheel, without build isolation (offline)."""
    out = tmp_path_factory.mktemp("dist")
    done = run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ".", cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed, from no index."""
    home = tmp_path_factory.mktemp("venv")
    done = run(sys.executable, "-m", "venv", home, cwd=home)
    assert done.returncode == 0, done.stderr
    [wheel] = dist.glob("*.whl")
    done = run(home / "bin" / "python", "-m", "pip", "install", "-q", "--no-index", "--no-deps",
               wheel, cwd=home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return home


def site_packages(home: Path) -> Path:
    [found] = (home / "lib").glob("python3.*/site-packages")
    return found


def test_the_distributions_pass_the_checks(dist: Path) -> None:
    assert check(dist) == []


def test_the_checks_catch_a_broken_wheel(dist: Path, tmp_path: Path) -> None:
    [wheel] = dist.glob("*.whl")
    broken = tmp_path / "broken"
    broken.mkdir()
    [sdist] = dist.glob("*.tar.gz")
    (broken / sdist.name).write_bytes(sdist.read_bytes())
    with zipfile.ZipFile(wheel) as good, zipfile.ZipFile(broken / wheel.name, "w") as bad:
        for item in good.infolist():
            if item.filename == "aiobatch/py.typed":
                continue
            data = good.read(item.filename)
            if item.filename.endswith("METADATA"):
                data = data.replace(b"Provides-Extra: otel\n", b"")
            bad.writestr(item, data)
    problems = "\n".join(check(broken))
    assert "aiobatch/py.typed" in problems
    assert "extras are" in problems


def test_the_wheel_is_what_the_fresh_environment_imports(venv: Path, tmp_path: Path) -> None:
    python = venv / "bin" / "python"
    done = run(python, "-c", "import aiobatch, sys; print(aiobatch.__file__)", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(site_packages(venv))
    installed = {
        str(path.relative_to(site_packages(venv)))
        for path in (site_packages(venv) / "aiobatch").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert installed == package_files()


def test_the_command_and_its_version(venv: Path, tmp_path: Path) -> None:
    for command in ([venv / "bin" / "python", "-m", "aiobatch"], [venv / "bin" / "aiobatch"]):
        done = run(*command, "--version", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"aiobatch {version()}"


SMOKE = """
import sys
from aiobatch import BatchProcessor, EventType, process_partial_response
from aiobatch.testing import FakeLambdaContext, sqs_event

def record_handler(record):
    if record.json_body["n"] == 1:
        raise ValueError("fails")

event = sqs_event([{"n": n} for n in range(3)])
response = process_partial_response(
    event, record_handler, BatchProcessor(EventType.SQS), FakeLambdaContext()
)
assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
sdks = [name for name in ("aioboto3", "botocore", "boto3") if name in sys.modules]
assert sdks == [], sdks
try:
    from aiobatch import PartialSQSProcessor
    PartialSQSProcessor()
except ModuleNotFoundError as error:
    assert "pip install 'aiobatch-lambda[sqs]'" in str(error), error
else:
    raise AssertionError("delete mode without aioboto3 made a processor")
print("ok")
"""


def test_partial_response_works_with_no_extra(venv: Path, tmp_path: Path) -> None:
    done = run(venv / "bin" / "python", "-c", SMOKE, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.fixture(scope="module")
def venv_with_extras(venv: Path) -> Path:
    """The fresh environment, with this one's packages after its own on the path."""
    here = Path(sysconfig.get_paths()["purelib"])
    (site_packages(venv) / "zz_extras_from_the_test_environment.pth").write_text(f"{here}\n")
    return venv


RUN_EXAMPLE = """
import runpy, sys
from pathlib import Path

import aiobatch

assert Path(aiobatch.__file__).is_relative_to(Path(sys.argv[2])), aiobatch.__file__
sys.argv = sys.argv[1:2]
sys.path.insert(0, ".")
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_example_runs_against_the_wheel(venv_with_extras: Path, script: str) -> None:
    done = run(
        venv_with_extras / "bin" / "python",
        "-c",
        RUN_EXAMPLE,
        script,
        site_packages(venv_with_extras),
        cwd=EXAMPLES,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout

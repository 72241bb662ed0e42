"""The documentation: the site builds in strict mode, its API reference shows every
public name, and every Python code block of the README and of ``docs/`` runs.

A block runs on its own, as a reader would run it: written to a file in an empty
directory and run by this interpreter in a process of its own, with SQS pointed at the
suite's moto server and no other AWS settings; it must exit 0. A block whose first line
names a test file (``# test_handler.py``) is run by pytest instead. A block that cannot
run alone (it uses names defined elsewhere) is marked by ``<!-- fragment -->`` on the
line just before its fence; :data:`FRAGMENTS` counts them, so that marking one more is
a deliberate change of this file too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import aiobatch
import aiobatch.testing
from aiobatch.testing import LocalSQS

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FRAGMENT = "<!-- fragment -->"
PYTHON = {"python", "py", "python3"}
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
TEST_FILE = re.compile(r"# (?P<name>test_\w+\.py)$")

# The blocks marked as fragments, counted by page (lines move, pages rarely do).
FRAGMENTS: dict[str, int] = {}


@dataclass(frozen=True)
class Block:
    """A fenced Python code block of a page."""

    page: str  # relative to the repository, with forward slashes
    line: int  # of the opening fence, counted from 1
    code: str
    fragment: bool

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def python_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` whose language is Python, in order."""
    page = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        if end == len(lines):
            raise AssertionError(f"{page}:{index + 1}: a code block is never closed")
        if opening["lang"].lower() in PYTHON:
            code = "\n".join(line[indent:] for line in lines[index + 1 : end]) + "\n"
            fragment = index > 0 and lines[index - 1].strip() == FRAGMENT
            blocks.append(Block(page, index + 1, code, fragment))
        index = end + 1
    return blocks


BLOCKS = [block for path in PAGES for block in python_blocks(path)]
RUNNABLE = [block for block in BLOCKS if not block.fragment]


def test_the_pages_have_code_to_run() -> None:
    assert len(PAGES) > 10
    assert len(RUNNABLE) >= 15


def test_fragments_are_marked_deliberately() -> None:
    counted: dict[str, int] = {}
    for block in BLOCKS:
        if block.fragment:
            counted[block.page] = counted.get(block.page, 0) + 1
    assert counted == FRAGMENTS


def test_every_fragment_marker_is_on_a_python_block() -> None:
    """A marker anywhere but just before a Python fence marks nothing: a mistake."""
    for path in PAGES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if line.strip() != FRAGMENT:
                continue
            opening = FENCE.match(lines[number]) if number < len(lines) else None
            where = f"{path.relative_to(ROOT).as_posix()}:{number}"
            assert opening is not None, f"{where}: {FRAGMENT} not just before a code block"
            assert opening["lang"].lower() in PYTHON, f"{where}: {FRAGMENT} on a non-Python block"


def block_env(local_sqs: LocalSQS) -> dict[str, str]:
    """This process's environment without AWS settings, SQS pointed at the suite's moto."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    env.update(local_sqs.env())
    return env


@pytest.mark.parametrize("block", RUNNABLE, ids=[block.id for block in RUNNABLE])
def test_the_code_block_runs(block: Block, local_sqs: LocalSQS, tmp_path: Path) -> None:
    named = TEST_FILE.match(block.code.splitlines()[0])
    if named is not None:
        script = tmp_path / named["name"]
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", script.name]
    else:
        script = tmp_path / "block.py"
        command = [sys.executable, script.name]
    script.write_text(block.code, encoding="utf-8")
    result = subprocess.run(
        command,
        cwd=tmp_path,
        env=block_env(local_sqs),
        capture_output=True,
        text=True,
        timeout=45,
        check=False,
    )
    assert result.returncode == 0, (
        f"{block.id} exited {result.returncode}:\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make docs``: the site built in strict mode, here into a temporary directory."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    config = ["--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(out)]
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", *config],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out


@pytest.mark.timeout(180)
def test_the_site_builds_in_strict_mode(site: Path) -> None:
    built = {path.relative_to(site).as_posix() for path in site.rglob("index.html")}
    pages = {
        "index.html" if path.stem == "index" else f"{path.stem}/index.html"
        for path in (ROOT / "docs").rglob("*.md")
    }
    assert pages <= built


@pytest.mark.timeout(180)
def test_the_api_reference_shows_every_public_name(site: Path) -> None:
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    for name in ("BatchProcessor", "PartialSQSProcessor", "Backoff", "EMFMetrics"):
        assert f'id="aiobatch.{name}"' in reference
    missing = [name for name in aiobatch.__all__ if f'id="aiobatch.{name}"' not in reference]
    missing += [
        f"testing.{name}"
        for name in aiobatch.testing.__all__
        if f'id="aiobatch.testing.{name}"' not in reference
    ]
    assert missing == []

"""The code blocks of aiobatch's docstrings, which the API reference shows
(``docs/reference.md``, mkdocstrings).

They are fragments: usage in a few lines, around names the reader brings
(``record_handler``, ``event``...). So they are not run, as the README's and the pages'
blocks are (``tests/integration/test_docs.py``); each must parse, and every name it uses
without binding must be one of aiobatch's exports, a builtin, or one of the reader's
names below: a renamed or removed API name fails here.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import pytest

import aiobatch
import aiobatch.testing

PACKAGE = Path(aiobatch.__file__).parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)

READERS_NAMES = {
    "context",
    "event",
    "monkeypatch",
    "processor",
    "record",
    "record_handler",
    "records",
}
"""What a fragment assumes the reader has: a record handler, the Lambda arguments..."""


def _blocks() -> list[tuple[str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                for match in FENCE.finditer(doc or ""):
                    language, code = match.groups()
                    assert language in {"python", "text"}, f"{path.name}: ```{language}"
                    if language == "python":
                        where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'name', '')}"
                        found.append((where, code))
    return found


BLOCKS = _blocks()


def test_the_docstrings_have_code_blocks_and_no_rst_literal_blocks() -> None:
    assert len(BLOCKS) >= 12
    for path in PACKAGE.rglob("*.py"):
        for line in path.read_text().splitlines():
            assert not line.rstrip().endswith("::") or line.lstrip().startswith("#"), (
                f"{path.name}: an rst literal block shows '::' in the reference: {line!r}"
            )


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_the_block_parses_and_names_only_what_exists(where: str, code: str) -> None:
    tree = ast.parse(code, filename=where)
    bound = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    bound |= {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    bound |= {
        arg.arg for node in ast.walk(tree) if isinstance(node, ast.arguments) for arg in node.args
    }
    known = set(aiobatch.__all__) | set(aiobatch.testing.__all__) | set(dir(builtins))
    unknown = (
        {
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
        }
        - bound
        - known
        - READERS_NAMES
    )
    assert not unknown, f"{where}: names that aiobatch does not export: {sorted(unknown)}"

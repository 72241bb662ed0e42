"""The package's import graph runs one way, and every module says its one job."""

from __future__ import annotations

import ast
from pathlib import Path

import aiobatch

PACKAGE = Path(aiobatch.__file__).resolve().parent

# Top to bottom: a module may import only modules of a higher number.
LAYERS: dict[str, float] = {
    "aiobatch.__main__": -3,
    "aiobatch._cli": -2,
    "aiobatch._demo": -1.5,
    "aiobatch._check": -1.2,
    "aiobatch._report": -1,
    "aiobatch": 0,
    "aiobatch.testing": 0,
    "aiobatch._worker": 0.7,
    "aiobatch._facades": 1,
    "aiobatch._compat": 0.5,
    "aiobatch._response_mode": 2,
    "aiobatch._delete_mode": 2,
    "aiobatch._processor": 3,
    "aiobatch._sqs": 4,
    "aiobatch._sqs.actions": 5,
    "aiobatch._retry": 3.5,
    "aiobatch._metrics": 4.2,
    "aiobatch._fake_sqs": 4.5,
    "aiobatch._handlers": 5,
    "aiobatch._batch": 5,
    "aiobatch._sqs.batch_calls": 6,
    "aiobatch._sqs.clients": 7,
    "aiobatch._sqs.events": 7,
    "aiobatch._engine": 8,
    "aiobatch._sources": 8,
    "aiobatch._deadline": 8,
    "aiobatch._runner": 8.5,
    "aiobatch._records": 9,
    "aiobatch._records.sqs": 10,
    "aiobatch._records.kinesis": 10,
    "aiobatch._records.dynamodb": 10,
    "aiobatch._records.kafka": 10,
    "aiobatch._records.nested": 10.5,
    "aiobatch._records._base": 11,
    "aiobatch._arn": 12,
    "aiobatch._exceptions": 13,
    "aiobatch._types": 13,
    "aiobatch._version": 13,
    "aiobatch._lazy": 13,
}


def module_name(path: Path) -> str:
    parts = ["aiobatch", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path) -> set[str]:
    """The aiobatch modules ``name`` imports (``from . import x`` resolved)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.startswith("aiobatch"):
                if node.module or not node.level:  # `from .. import x` imports only x
                    found.add(target)
                found.update(
                    f"{target}.{alias.name}"
                    for alias in node.names
                    if f"{target}.{alias.name}" in LAYERS
                )
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("aiobatch"))
    return found


def test_every_module_has_a_layer() -> None:
    assert set(modules()) == set(LAYERS)


def test_imports_only_run_downwards() -> None:
    upward = [
        f"{name} imports {target}"
        for name, path in modules().items()
        for target in imports_of(name, path)
        if LAYERS[target] <= LAYERS[name] and target != name
    ]
    assert upward == []


def test_every_module_says_its_job_in_its_docstring() -> None:
    for name, path in modules().items():
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        assert docstring, name

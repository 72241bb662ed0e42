"""The public surface: what ``aiobatch`` and ``aiobatch.testing`` export, and their version."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from packaging.version import Version

import aiobatch
import aiobatch.testing
from aiobatch._processor import RecordHandlerProcessor

ROOT = Path(__file__).resolve().parents[2]


def isort_style(name: str) -> tuple[int, str]:
    """The order ruff keeps __all__ in: CONSTANTS, then Classes, then the rest."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_every_name_is_importable() -> None:
    assert aiobatch.__all__ == sorted(aiobatch.__all__, key=isort_style)
    assert len(set(aiobatch.__all__)) == len(aiobatch.__all__)
    namespace: dict[str, object] = {}
    exec("from aiobatch import *", namespace)  # raises if a name of __all__ is missing
    assert set(aiobatch.__all__) <= set(namespace)
    for name in aiobatch.__all__:
        assert namespace[name] is getattr(aiobatch, name), name


def test_public_classes_show_the_package_as_their_module() -> None:
    classes = [name for name in aiobatch.__all__ if inspect.isclass(getattr(aiobatch, name))]
    assert classes
    wrong = {
        name: getattr(aiobatch, name).__module__
        for name in classes
        if getattr(aiobatch, name).__module__ != "aiobatch"
    }
    assert wrong == {}


def test_version_is_the_one_pyproject_reads() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    module_name, attribute = pyproject["tool"]["setuptools"]["dynamic"]["version"]["attr"].rsplit(
        ".", 1
    )
    assert module_name == "aiobatch._version"
    source = importlib.import_module(module_name)
    assert isinstance(aiobatch.__version__, str)
    assert aiobatch.__version__ == getattr(source, attribute)
    assert str(Version(aiobatch.__version__)) == aiobatch.__version__
    assert "__version__" in aiobatch.__all__


def test_testing_all_is_sorted_and_every_name_is_importable() -> None:
    assert aiobatch.testing.__all__ == sorted(aiobatch.testing.__all__, key=isort_style)
    namespace: dict[str, object] = {}
    exec("from aiobatch.testing import *", namespace)
    assert set(aiobatch.testing.__all__) <= set(namespace)
    for name in aiobatch.testing.__all__:
        assert namespace[name] is getattr(aiobatch.testing, name), name


def test_lazy_names_are_listed_before_their_first_use() -> None:
    code = "import aiobatch; print(sorted(set(aiobatch.__all__) - set(dir(aiobatch))))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_public_names_are_exported_and_sorted() -> None:
    public = {name for name in dir(aiobatch) if not name.startswith("_")}
    assert sorted(aiobatch.__all__, key=isort_style) == aiobatch.__all__
    assert set(aiobatch.__all__) - {"__version__"} <= public
    for name in aiobatch.__all__:
        value = getattr(aiobatch, name)
        if isinstance(value, type) or (callable(value) and hasattr(value, "__code__")):
            assert value.__module__.startswith("aiobatch"), name
    assert RecordHandlerProcessor.__name__ not in aiobatch.__all__


def test_importing_aiobatch_imports_no_aws_sdk() -> None:
    code = textwrap.dedent(
        """
        import sys
        from aiobatch import BatchProcessor, EventType, process_partial_response

        def handler(record):
            if record["messageId"] == "m":
                raise ValueError("m")

        record = {"messageId": "m", "body": "", "eventSource": "aws:sqs"}
        event = {"Records": [record, dict(record, messageId="n")]}
        print(process_partial_response(event, handler, BatchProcessor(EventType.SQS)))
        sdk = {"aioboto3", "aiobotocore", "botocore", "boto3", "aiohttp", "pydantic"}
        print(sorted(m for m in sys.modules if m.split(".")[0] in sdk))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    response, modules = out.stdout.strip().splitlines()
    assert response == "{'batchItemFailures': [{'itemIdentifier': 'm'}]}"
    assert modules == "[]"

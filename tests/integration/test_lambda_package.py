"""``make lambda-package``: a Lambda layer of aiobatch and aioboto3 per architecture,
built from the wheelhouse ``make install`` downloads (so offline here), for Lambda's
platform and not this machine's.

The layer of this machine's architecture is imported in a clean interpreter (``-I -S``:
no site-packages, no user paths, nothing of the environment) from the layer alone,
compiled extensions included; the other's extensions are checked to be built for its
architecture.
"""

from __future__ import annotations

import importlib.util
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.dist import ROOT

SCRIPT = ROOT / "scripts" / "lambda_package.py"
ELF_MACHINES = {"x86_64": 0x3E, "arm64": 0xB7}  # e_machine of an ELF header


def lambda_package() -> object:
    spec = importlib.util.spec_from_file_location("lambda_package", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    package: object = lambda_package()
    for architecture in ELF_MACHINES:
        house = package.wheelhouse("3.11", architecture)  # type: ignore[attr-defined]
        if not any(house.glob("*.whl")):
            pytest.fail(
                f"no wheels in {house}: `make install` downloads them "
                "(python scripts/lambda_package.py download)"
            )
    # The wheel is built from a copy of the sources: setuptools writes build/ and the
    # egg-info next to them, and test_distribution.py may be building in the checkout
    # at the same time, in another test process.
    sources = tmp_path_factory.mktemp("sources")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, sources / name)
    shutil.copytree(
        ROOT / "aiobatch", sources / "aiobatch", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, "."],
        cwd=sources,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    [wheel] = dist.glob("*.whl")
    out = tmp_path_factory.mktemp("lambda")
    made = package.build(wheel, "3.11", out)  # type: ignore[attr-defined]
    return {architecture: path for path in made for architecture in ELF_MACHINES
            if path.name.endswith(f"-{architecture}.zip")}  # fmt: skip


def machine(path: bytes) -> int:
    return int.from_bytes(path[18:20], "little")


def test_one_layer_per_architecture_with_the_package_and_aioboto3(
    layers: dict[str, Path],
) -> None:
    assert set(layers) == {"x86_64", "arm64"}
    for layer in layers.values():
        with zipfile.ZipFile(layer) as archive:
            tops = {name.split("/")[1] for name in archive.namelist() if name.count("/") >= 2}
            assert all(name.startswith("python/") for name in archive.namelist())
            assert {"aiobatch", "aioboto3", "aiobotocore", "botocore", "aiohttp"} <= tops
            assert "python/aiobatch/py.typed" in archive.namelist()
            assert not any("__pycache__" in name for name in archive.namelist())
            assert "bin" not in tops


def test_compiled_extensions_are_for_lambdas_python_and_architecture(
    layers: dict[str, Path],
) -> None:
    for architecture, layer in layers.items():
        with zipfile.ZipFile(layer) as archive:
            extensions = [name for name in archive.namelist() if name.endswith(".so")]
            assert extensions, f"{layer.name} has no compiled extension to check"
            for name in extensions:
                assert "cpython-311" in name, name
                assert machine(archive.read(name)) == ELF_MACHINES[architecture], name


def test_this_machines_layer_imports_in_a_clean_interpreter(
    layers: dict[str, Path], tmp_path: Path
) -> None:
    here = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}
    architecture = here.get(platform.machine().lower())
    if architecture is None or sys.version_info[:2] != (3, 11):
        pytest.skip("the layers are for CPython 3.11 on x86_64 and arm64, not this machine")
    with zipfile.ZipFile(layers[architecture]) as archive:
        archive.extractall(tmp_path)
    check = f"""
import sys
sys.path.insert(0, {str(tmp_path / "python")!r})
import aiobatch, aioboto3, aiohttp._http_parser, multidict._multidict, yarl._quoting_c
from aiobatch import BatchProcessor, EventType, PartialSQSProcessor, process_partial_response
from aiobatch.testing import sqs_event
for module in (aiobatch, aioboto3, aiohttp._http_parser):
    assert module.__file__.startswith({str(tmp_path)!r}), module.__file__
assert sys.flags.no_site and sys.flags.isolated
PartialSQSProcessor()  # makes its SQS layer: aioboto3 imports from the layer
event = sqs_event(["a", "b"])
def record_handler(record):
    if record.body == "b":
        raise ValueError("fails")
response = process_partial_response(event, record_handler, BatchProcessor(EventType.SQS))
assert len(response["batchItemFailures"]) == 1, response
print(aiobatch.__version__)
"""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", check],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == aiobatch_version()


def aiobatch_version() -> str:
    import aiobatch

    return aiobatch.__version__

"""A Lambda layer of aiobatch and aioboto3, for Lambda's platform, not this machine's.

``python scripts/lambda_package.py download`` fetches, from the package index, the
wheels aioboto3 needs for each architecture (``x86_64``, ``arm64``) and the Lambda
Python runtime (``--python``, 3.11 by default), pinned by ``constraints.txt``, into a
wheelhouse (``make install`` does it, so that the rest works offline).
``python scripts/lambda_package.py build WHEEL`` installs aiobatch's wheel with its
``sqs`` extra from that wheelhouse alone into a layer's ``python/`` folder, per
architecture, zips it into ``dist/lambda/`` and reports its size (``make
lambda-package``).

The wheels are chosen by tag, explicitly: CPython of the runtime's version, and the
manylinux glibc levels its Amazon Linux has (Python 3.11's Amazon Linux 2 has glibc
2.26, so manylinux2014 only; Python 3.12 and later run on Amazon Linux 2023, glibc
2.34). Nothing is compiled here, and nothing of this machine's own platform is taken.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Beside the development environment that `make install` makes, and gone with it.
WHEELHOUSE = ROOT / ".venv" / "lambda-wheelhouse"
OUT = ROOT / "dist" / "lambda"
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
RUNTIMES = ("3.11", "3.12", "3.13", "3.14")


def platforms(python: str, architecture: str) -> list[str]:
    """The manylinux tags a Lambda runtime of ``python`` on ``architecture`` takes."""
    machine = ARCHITECTURES[architecture]
    tags = [f"manylinux2014_{machine}", f"manylinux_2_17_{machine}"]
    if python != "3.11":  # Amazon Linux 2023: glibc 2.34
        tags += [f"manylinux_2_28_{machine}", f"manylinux_2_34_{machine}"]
    return tags


def target_options(python: str, architecture: str) -> list[str]:
    """pip's options that pick wheels for the runtime, not for this machine."""
    options = ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    options += ["--abi", f"cp{python.replace('.', '')}", "--abi", "abi3", "--abi", "none"]
    for tag in platforms(python, architecture):
        options += ["--platform", tag]
    return options


def wheelhouse(python: str, architecture: str) -> Path:
    return WHEELHOUSE / f"py{python}-{architecture}"


def pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"lambda-package: pip {' '.join(args[:2])} failed:\n{done.stderr}")


def download(python: str) -> None:
    for architecture in ARCHITECTURES:
        house = wheelhouse(python, architecture)
        house.mkdir(parents=True, exist_ok=True)
        pip(
            "download",
            "--quiet",
            *target_options(python, architecture),
            "-c",
            str(ROOT / "constraints.txt"),
            "--dest",
            str(house),
            "aioboto3",
        )
        print(f"lambda-package: wheels for Python {python} on {architecture} in {house}")


def build(wheel: Path, python: str, out: Path = OUT) -> list[Path]:
    """One layer zip per architecture in ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for architecture in ARCHITECTURES:
        house = wheelhouse(python, architecture)
        if not any(house.glob("*.whl")):
            raise SystemExit(
                f"lambda-package: no wheels in {house}: run "
                f"`python scripts/lambda_package.py download --python {python}` (make install "
                "does it for 3.11)"
            )
        staging = out / "staging" / f"py{python}-{architecture}"
        shutil.rmtree(staging, ignore_errors=True)
        target = staging / "python"
        pip(
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            str(house),
            "--find-links",
            str(wheel.parent),
            *target_options(python, architecture),
            "-c",
            str(ROOT / "constraints.txt"),
            "--target",
            str(target),
            f"{wheel}[sqs]",
        )
        # Bytecode of this machine's interpreter, and console scripts whose first line
        # names it: nothing a layer can use.
        for cache in list(target.rglob("__pycache__")):
            shutil.rmtree(cache)
        shutil.rmtree(target / "bin", ignore_errors=True)
        zipped = out / f"aiobatch-layer-python{python}-{architecture}.zip"
        zipped.unlink(missing_ok=True)
        size = 0
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as layer:
            for path in sorted(staging.rglob("*")):
                if path.is_file():
                    layer.write(path, path.relative_to(staging))
                    size += path.stat().st_size
        shutil.rmtree(staging)
        with contextlib.suppress(OSError):  # empty once every architecture's is gone
            staging.parent.rmdir()
        print(
            f"lambda-package: {zipped}: "
            f"{zipped.stat().st_size / 1e6:.1f} MB zipped, {size / 1e6:.1f} MB unzipped "
            "(Lambda's limit: 250 MB unzipped, function and layers together)"
        )
        made.append(zipped)
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("download", "build"))
    parser.add_argument("wheel", nargs="?", type=Path, help="aiobatch's wheel (build)")
    parser.add_argument("--python", choices=RUNTIMES, default="3.11", help="the runtime; 3.11")
    parser.add_argument("--out", type=Path, default=OUT, help="where the zips go; dist/lambda")
    args = parser.parse_intermixed_args()
    os.environ.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    if args.command == "download":
        download(args.python)
        return 0
    if args.wheel is None:
        parser.error("build needs aiobatch's wheel (make dist makes it)")
    build(args.wheel.resolve(), args.python, args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())

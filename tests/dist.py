"""Checks of the built distributions: ``python -m tests.dist DIR`` (``make dist`` runs it).

What ``twine check`` would say, and more, with the ``packaging`` library the
environment has: the core metadata parses and validates, the name, version and extras
are this project's, the long description is the README in Markdown, and the wheel and
the sdist hold every module of the package, its ``py.typed`` and the license.
"""

from __future__ import annotations

import email.parser
import sys
import tarfile
import zipfile
from pathlib import Path

from packaging.metadata import Metadata
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
NAME = "aiobatch-lambda"
EXTRAS = {
    "sqs": {"aioboto3"},
    "pydantic": {"pydantic"},
    "otel": {"opentelemetry-api"},
    "testing": {"boto3", "moto"},
    "local": {"aioboto3", "boto3", "moto"},
}


def package_files() -> set[str]:
    """The package's files as the checkout has them: every module and ``py.typed``."""
    package = ROOT / "aiobatch"
    found = {
        str(path.relative_to(ROOT))
        for path in package.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    return found | {"aiobatch/py.typed"}


def version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "aiobatch" / "_version.py").read_text(), namespace)
    return namespace["__version__"]


def check_metadata(raw: bytes, where: str) -> list[str]:
    problems: list[str] = []
    try:
        metadata = Metadata.from_email(raw, validate=True)
    except Exception as exc:  # packaging raises an ExceptionGroup of every problem
        return [f"{where}: the metadata does not validate: {exc!r}"]
    if metadata.name != NAME:
        problems.append(f"{where}: Name is {metadata.name!r}, not {NAME!r}")
    if str(metadata.version) != version():
        problems.append(f"{where}: Version {metadata.version} is not _version.py's {version()}")
    if metadata.description_content_type != "text/markdown":
        problems.append(f"{where}: the description is not Markdown")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    parsed = email.parser.BytesParser().parsebytes(raw)
    body = parsed.get_payload(decode=True)
    description = body.decode("utf-8") if isinstance(body, bytes) else (metadata.description or "")
    if description.strip() != readme.strip():
        problems.append(f"{where}: the long description is not the README")
    if metadata.requires_python is None or str(metadata.requires_python) != ">=3.11":
        problems.append(f"{where}: Requires-Python is {metadata.requires_python}")
    extras = {str(extra) for extra in metadata.provides_extra or []}
    if extras != set(EXTRAS):
        problems.append(f"{where}: extras are {sorted(extras)}, not {sorted(EXTRAS)}")
    needs: dict[str, set[str]] = {}
    for requirement in metadata.requires_dist or []:
        parsed_requirement = Requirement(str(requirement))
        marker = str(parsed_requirement.marker or "")
        if not marker.startswith("extra == "):
            problems.append(f"{where}: {requirement} is required outside an extra")
            continue
        extra = marker.split("==", 1)[1].strip().strip("\"'")
        needs.setdefault(extra, set()).add(parsed_requirement.name)
    for extra, packages in EXTRAS.items():
        if needs.get(extra) != packages:
            problems.append(f"{where}: extra {extra} needs {needs.get(extra)}, not {packages}")
    if not metadata.license_expression or str(metadata.license_expression) != "MIT-0":
        problems.append(f"{where}: License-Expression is {metadata.license_expression}")
    return problems


def check_wheel(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        info = f"aiobatch_lambda-{version()}.dist-info"
        problems = check_metadata(wheel.read(f"{info}/METADATA"), path.name)
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    missing = package_files() - names
    if missing:
        problems.append(f"{path.name} lacks {sorted(missing)}")
    stray = {name for name in names if not name.startswith(("aiobatch/", f"{info}/"))}
    if stray:
        problems.append(f"{path.name} holds files outside the package: {sorted(stray)}")
    if f"{info}/licenses/LICENSE" not in names:
        problems.append(f"{path.name} lacks the license")
    if "aiobatch = aiobatch._cli:entry_point" not in entry_points:
        problems.append(f"{path.name} has no `aiobatch` command")
    return problems


def check_sdist(path: Path) -> list[str]:
    with tarfile.open(path) as sdist:
        prefix = f"aiobatch_lambda-{version()}/"
        names = {name.removeprefix(prefix) for name in sdist.getnames()}
        member = sdist.extractfile(prefix + "PKG-INFO")
        assert member is not None
        problems = check_metadata(member.read(), path.name)
    missing = (package_files() | {"pyproject.toml", "README.md", "LICENSE"}) - names
    if missing:
        problems.append(f"{path.name} lacks {sorted(missing)}")
    return problems


def check(directory: Path) -> list[str]:
    """Every problem with the one wheel and the one sdist in ``directory``."""
    wheels = sorted(directory.glob("*.whl"))
    sdists = sorted(directory.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [f"{directory} holds {len(wheels)} wheels and {len(sdists)} sdists, not 1 and 1"]
    return check_wheel(wheels[0]) + check_sdist(sdists[0])


def main() -> int:
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
    problems = check(directory)
    for problem in problems:
        print(f"dist: {problem}", file=sys.stderr)
    if not problems:
        print(f"dist: {directory} checked: metadata, files, extras, license")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

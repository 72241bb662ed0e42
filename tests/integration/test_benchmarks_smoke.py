"""The benchmarks run, once, at a tiny size, so that they do not rot.

No timing is asserted: machines are shared and noisy. ``make bench`` is where timings
are read. Each run is a subprocess with a stub server, the slowest tests of the suite:
their pytest timeout is above the subprocess's own.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALL_CASES = {str(number) for number in range(1, 12)}


def run_benchmarks(tmp_path: Path, *args: str, code: str | None = None) -> dict[str, Any]:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "benchmarks"] if code is None else [sys.executable, "-c", code]
    environ = dict(os.environ, PYTHONWARNINGS="error")
    result = subprocess.run(
        [*command, "--quick", "--json", str(out), *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "| Case | Contender |" in result.stdout
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def assert_numeric_medians(case: dict[str, Any]) -> None:
    assert case["rows"], f"case {case['id']} has no rows"
    for row in case["rows"]:
        median = row["median"]
        assert isinstance(median, float), row
        assert math.isfinite(median), row
        assert median > 0, row


@pytest.mark.timeout(180)
def test_every_case_runs_and_reports_numeric_medians(tmp_path: Path) -> None:
    report = run_benchmarks(tmp_path)

    assert {case["id"] for case in report["cases"]} == ALL_CASES
    for case in report["cases"]:
        assert_numeric_medians(case)
    assert report["machine"]["python"]


@pytest.mark.timeout(180)
def test_runs_without_powertools(tmp_path: Path) -> None:
    # A None entry in sys.modules makes the package unimportable, whether installed or not.
    code = (
        "import sys; sys.modules['aws_lambda_powertools'] = None; "
        "from benchmarks.__main__ import main; sys.exit(main(sys.argv[1:]))"
    )
    report = run_benchmarks(tmp_path, "--cases", "1,2,3,5,7,9", code=code)

    assert {case["id"] for case in report["cases"]} == {"1", "2", "3", "5", "7", "9"}
    for case in report["cases"]:
        assert_numeric_medians(case)
        assert not any("Powertools" in row["contender"] for row in case["rows"])
        assert any("not installed" in note for note in case["notes"])

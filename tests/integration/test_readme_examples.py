"""The documentation's test example (docs/testing.md) runs as a user would run it:
pytest on the file alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTING_PAGE = Path(__file__).resolve().parents[2] / "docs" / "testing.md"


def code_block(marker: str) -> str:
    """The fenced Python block of the testing page whose first line is ``marker``."""
    text = TESTING_PAGE.read_text()
    start = text.index(f"```python\n{marker}\n") + len("```python\n")
    return text[start : text.index("```", start)]


def test_the_testing_example_passes_under_pytest(tmp_path: Path) -> None:
    (tmp_path / "test_handler.py").write_text(code_block("# test_handler.py"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_handler.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout

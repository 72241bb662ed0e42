"""Case 7: import time in a fresh interpreter."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from ._harness import (
    CaseResult,
    Contender,
    Settings,
    measure,
    note_if_powertools_missing,
    powertools_available,
    python,
)

AIOBATCH = "import aiobatch\nfrom aiobatch import BatchProcessor, process_partial_response"
POWERTOOLS = (
    "from aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response"
)
DELETE_PATH = "import aiobatch, aioboto3"


def import_time(code: str, pycache: str) -> Callable[[], float]:
    """A sample: a fresh interpreter times ``code`` with ``perf_counter`` and prints it
    (interpreter start-up, the same for every contender, is left out).

    Bytecode is cached under ``pycache`` for every contender alike: a checkout run with
    ``PYTHONDONTWRITEBYTECODE`` would otherwise compile aiobatch from source each time,
    while an installed package has its ``.pyc`` files.
    """
    script = (
        f"import time\n_start = time.perf_counter()\n{code}\nprint(time.perf_counter() - _start)"
    )
    environ = {
        name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
    }
    environ["PYTHONPYCACHEPREFIX"] = pycache

    def sample() -> float:
        return float(python("-c", script, env=environ, timeout=60).split()[-1])

    return sample


def label(code: str) -> str:
    return "; ".join(f"`{line}`" for line in code.splitlines())


def case_imports(settings: Settings) -> CaseResult:
    case = CaseResult("7", "Import time in a fresh interpreter")
    runs = settings.runs(15)
    with tempfile.TemporaryDirectory(prefix="aiobatch-bench-pycache-") as pycache:
        contenders = [Contender(f"aiobatch: {label(AIOBATCH)}", import_time(AIOBATCH, pycache))]
        if powertools_available():
            contenders.append(
                Contender(f"Powertools: {label(POWERTOOLS)}", import_time(POWERTOOLS, pycache))
            )
        delete_path = Contender(
            f"aiobatch delete path: {label(DELETE_PATH)}", import_time(DELETE_PATH, pycache)
        )
        rows = measure("7", contenders, n=None, runs=runs)
        # Its own group: the partial-response path never imports aioboto3.
        rows += measure("7 delete path", [delete_path], n=None, runs=runs)
    case.add(rows)
    note_if_powertools_missing(case)
    return case

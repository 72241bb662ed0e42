"""Case 7: import time in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable

from ._aws import ROOT
from ._harness import (
    POWERTOOLS_MISSING,
    CaseResult,
    Contender,
    Settings,
    Target,
    measure,
    powertools_available,
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
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode:
            raise RuntimeError(f"importing failed:\n{code}\n{result.stderr}")
        return float(result.stdout.split()[-1])

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
    ours = case.find("7", "aiobatch")
    theirs = case.find("7", "Powertools")
    if ours is not None and theirs is not None:
        share = ours.median / theirs.median
        case.targets.append(
            Target(
                "aiobatch at most half of Powertools' import time", f"{share:.2f}x", share <= 0.5
            )
        )
    else:
        case.notes.append(POWERTOOLS_MISSING)
    case.notes.append(
        "Each run is a new interpreter (`python -c`) timing only its import statements; "
        "interpreter start-up is left out. Every contender's bytecode is cached in one "
        "temporary `PYTHONPYCACHEPREFIX`, warmed by one run each."
    )
    return case

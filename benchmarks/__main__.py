"""``python -m benchmarks``: run the cases, print one table, optionally write JSON."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from . import concurrency, deletes, imports, memory, overhead, retry, worker
from ._harness import CaseResult, Settings, install_log_sink
from .report import header, machine, report, to_json
from .targets import judge

CASES: dict[int, Callable[[Settings], CaseResult]] = {
    1: overhead.case_async,
    2: overhead.case_sync,
    3: overhead.case_failing,
    4: concurrency.case_io,
    5: concurrency.case_fifo,
    6: deletes.case_delete,
    7: imports.case_imports,
    8: deletes.case_warm,
    9: memory.case_memory,
    10: worker.case_worker,
    11: retry.case_retry,
}
ALL_CASES = tuple(CASES)


def parse_cases(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None
    unknown = sorted(set(numbers) - set(ALL_CASES))
    if unknown or not numbers:
        raise argparse.ArgumentTypeError(
            f"cases are {min(ALL_CASES)} to {max(ALL_CASES)}, got {text!r}"
        )
    return sorted(set(numbers))


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="aiobatch side by side with Powertools' batch utility, in one process.",
    )
    parser.add_argument("--json", metavar="FILE", type=Path, help="also write the results here")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and one run each (the smoke test's)"
    )
    parser.add_argument(
        "--cases",
        type=parse_cases,
        default=list(ALL_CASES),
        help=f"comma-separated case numbers, {min(ALL_CASES)} to {max(ALL_CASES)} (default: all)",
    )
    parser.add_argument(
        "--repeats", type=positive, help="runs per contender (default: each case's own)"
    )
    args = parser.parse_args(argv)
    settings = Settings(quick=args.quick, repeats=args.repeats)
    install_log_sink()
    info = machine()
    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    print(header(info, command), flush=True)

    results: list[CaseResult] = []
    started = time.perf_counter()
    for number in args.cases:
        case_started = time.perf_counter()
        print(f"case {number}...", end=" ", file=sys.stderr, flush=True)
        # --quick's tiny sizes and single runs say nothing about targets: numbers only.
        results.append(judge(CASES[number](settings), verdicts=not settings.quick))
        print(f"{time.perf_counter() - case_started:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    print(report(results, settings, elapsed))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(info, settings, results, elapsed), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

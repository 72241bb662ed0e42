"""``python -m benchmarks``: run the cases, print one table, optionally write JSON."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ._harness import (
    CaseResult,
    Settings,
    install_log_sink,
    machine,
    notes_text,
    table,
    targets_text,
    to_json,
)

CaseFunction = Callable[[Settings], CaseResult]


def _cases() -> dict[int, CaseFunction]:
    from . import concurrency, deletes, imports, memory, overhead

    return {
        1: overhead.case_async,
        2: overhead.case_sync,
        3: overhead.case_failing,
        4: concurrency.case_io,
        5: concurrency.case_fifo,
        6: deletes.case_delete,
        7: imports.case_imports,
        8: deletes.case_warm,
        9: memory.case_memory,
    }


ALL_CASES = tuple(range(1, 10))


def parse_cases(text: str) -> list[int]:
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None
    unknown = sorted(set(numbers) - set(ALL_CASES))
    if unknown or not numbers:
        raise argparse.ArgumentTypeError(f"cases are 1 to 9, got {text!r}")
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
        help="comma-separated case numbers, 1 to 9 (default: all)",
    )
    parser.add_argument(
        "--repeats", type=positive, help="runs per contender (default: each case's own)"
    )
    args = parser.parse_args(argv)
    settings = Settings(quick=args.quick, repeats=args.repeats)
    install_log_sink()
    info = machine()
    command = shlex.join(["python", "-m", "benchmarks", *(sys.argv[1:] if argv is None else argv)])
    print("## aiobatch benchmarks\n")
    print(f"- Machine: {info['platform']}, {info['cpu']} ({info['cpu_count']} CPUs)")
    print(f"- Python: {info['python']}")
    print(f"- Packages: {info['packages']}")
    print(f"- aiobatch measured: {info['aiobatch_source']}")
    print(f"- Command: `{command}`\n", flush=True)

    cases = _cases()
    results: list[CaseResult] = []
    started = time.perf_counter()
    for number in args.cases:
        case_started = time.perf_counter()
        print(f"case {number}...", end=" ", file=sys.stderr, flush=True)
        results.append(cases[number](settings))
        print(f"{time.perf_counter() - case_started:.1f} s", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - started
    if settings.quick:
        for case in results:
            for target in case.targets:
                target.met = None  # tiny sizes and one run say nothing about targets

    print(table(results))
    print("\nMedian of the runs; per record = median / N; ratio = median / the group's floor ")
    print("(hand-written, measured in the same run), limit (computed) or best row.\n")
    print("### Targets" + (" (not judged: --quick)" if settings.quick else "") + "\n")
    print(targets_text(results))
    print("\n### Notes\n")
    print(notes_text(results))
    print(f"\n({elapsed:.0f} s in all)")
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(info, settings, results, elapsed), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

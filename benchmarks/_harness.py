"""Measuring: interleaved runs, medians and ratios, and the results they make.

Reporting them (the table, the JSON, the machine) is ``report.py``; judging them
against the targets is ``targets.py``.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent

Check = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class Settings:
    """What the command line asked for."""

    quick: bool = False
    repeats: int | None = None  # overrides every case's own number of runs

    def runs(self, default: int) -> int:
        if self.quick:
            return 1
        return self.repeats if self.repeats is not None else default

    def size(self, full: T, quick: T) -> T:
        return quick if self.quick else full


@dataclass(slots=True)
class Contender:
    """One way of doing a case's work; ``sample()`` runs it once and returns its cost."""

    name: str
    sample: Callable[[], float]
    role: str = ""  # "floor": a hand-written baseline measured in the same run
    runs: int | None = None  # fewer runs than the group's (a slow contender)
    warmup: int = 1
    n: int | None = None  # records, when not the group's


@dataclass(slots=True)
class Row:
    group: str
    contender: str
    role: str  # "floor", "limit" (computed, not measured) or ""
    n: int | None
    unit: str  # "s" or "B"
    samples: list[float]
    median: float
    per_record: float | None
    ratio: float | None = None
    reference: str = ""  # what ratio is relative to: "floor", "limit" or "best"
    is_reference: bool = False


@dataclass(slots=True)
class Verdict:
    """A target of ``targets.py`` as judged on this run."""

    text: str
    measured: str
    met: bool | None  # None: reported, not judged


@dataclass(slots=True)
class CaseResult:
    id: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # measured facts, in words
    targets: list[Verdict] = field(default_factory=list)
    facts: dict[str, float] = field(default_factory=dict)  # measured values a target reads

    def add(self, rows: Iterable[Row]) -> None:
        self.rows.extend(rows)

    def find(self, group: str, name: str) -> Row | None:
        """The row of ``group`` named ``name``, or else the first whose name starts with it."""
        members = [row for row in self.rows if row.group == group]
        for row in members:
            if row.contender == name:
                return row
        return next((row for row in members if row.contender.startswith(name)), None)


class DiscardingHandler(logging.Handler):
    """Formats every log record, as Lambda's log handler does, then drops it."""

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)


def install_log_sink() -> None:
    """Log as a Lambda function does (WARNING and up, formatted), without the output."""
    handler = DiscardingHandler()
    handler.setFormatter(
        logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(name)s\t%(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def powertools_available() -> bool:
    try:
        return importlib.util.find_spec("aws_lambda_powertools") is not None
    except (ImportError, ValueError):
        return False


POWERTOOLS_MISSING = (
    "aws_lambda_powertools is not installed: its contenders were skipped "
    "(`make bench` installs it from requirements-bench.txt)."
)


def note_if_powertools_missing(case: CaseResult) -> None:
    if not powertools_available():
        case.notes.append(POWERTOOLS_MISSING)


def python(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run this interpreter in the repository root; its standard output, or an error
    with its standard error."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"python {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def timed(fn: Callable[[], Any], check: Check | None = None, calls: int = 1) -> Callable[[], float]:
    """A sample that calls a sync function, as a user would: the time of one call, the
    mean of ``calls`` in a row (small batches take microseconds)."""

    def sample() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            result = fn()
        elapsed = time.perf_counter() - start
        if check is not None:
            check(result)
        return elapsed / calls

    return sample


def timed_async(
    runner: asyncio.Runner,
    fn: Callable[[], Awaitable[Any]],
    check: Check | None = None,
    calls: int = 1,
) -> Callable[[], float]:
    """A sample that awaits ``fn()`` on the case's loop, timed inside the loop (the
    mean of ``calls`` in a row, as :func:`timed`)."""

    async def run() -> tuple[float, Any]:
        start = time.perf_counter()
        for _ in range(calls):
            result = await fn()
        return (time.perf_counter() - start) / calls, result

    def sample() -> float:
        elapsed, result = runner.run(run())
        if check is not None:
            check(result)
        return elapsed

    return sample


def measure(
    group: str, contenders: list[Contender], *, n: int | None, runs: int, unit: str = "s"
) -> list[Row]:
    """Run the contenders interleaved (A B A B ...), after a warm-up of each."""
    for contender in contenders:
        for _ in range(contender.warmup):
            contender.sample()
    samples: list[list[float]] = [[] for _ in contenders]
    for run in range(runs):
        for contender, kept in zip(contenders, samples, strict=True):
            if contender.runs is not None and run >= contender.runs:
                continue
            gc.collect()
            kept.append(contender.sample())
    return with_ratios(
        [
            measured_row(group, contender.name, kept, contender.n or n, unit, contender.role)
            for contender, kept in zip(contenders, samples, strict=True)
        ]
    )


def measured_row(
    group: str, name: str, samples: list[float], n: int | None, unit: str = "s", role: str = ""
) -> Row:
    """A row of samples taken elsewhere (another process), summed up as ``measure`` does."""
    median = statistics.median(samples)
    return Row(group, name, role, n, unit, samples, median, median / n if n else None)


def limit_row(group: str, name: str, value: float, n: int | None, unit: str = "s") -> Row:
    """A computed bound, shown beside the measured rows."""
    return Row(group, name, "limit", n, unit, [], value, value / n if n else None)


def with_ratios(rows: list[Row]) -> list[Row]:
    """Each row's ratio to its group's floor or limit, or else to its best row."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.group, []).append(row)
    for members in groups.values():
        reference = next((row for row in members if row.role in ("floor", "limit")), None)
        kind = reference.role if reference is not None else "best"
        if reference is None:
            reference = min(members, key=lambda row: row.median)
        for row in members:
            row.ratio = row.median / reference.median if reference.median else None
            row.reference = kind
            row.is_reference = row is reference
    return rows

"""The shared harness: interleaved runs, medians, ratios, the table and the JSON."""

from __future__ import annotations

import asyncio
import gc
import importlib.metadata
import importlib.util
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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

    def size(self, full: int, quick: int) -> int:
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
class Target:
    text: str
    measured: str
    met: bool | None  # None: reported, no target


@dataclass(slots=True)
class CaseResult:
    id: str
    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def add(self, rows: Iterable[Row]) -> None:
        self.rows.extend(rows)

    def find(self, group: str, prefix: str) -> Row | None:
        """The row of ``group`` whose contender name starts with ``prefix``."""
        for row in self.rows:
            if row.group == group and row.contender.startswith(prefix):
                return row
        return None


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


def timed(fn: Callable[[], Any], check: Check | None = None) -> Callable[[], float]:
    """A sample that calls a sync function, as a user would."""

    def sample() -> float:
        start = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - start
        if check is not None:
            check(result)
        return elapsed

    return sample


def timed_async(
    runner: asyncio.Runner, fn: Callable[[], Awaitable[Any]], check: Check | None = None
) -> Callable[[], float]:
    """A sample that awaits ``fn()`` on the case's loop, timed inside the loop."""

    async def run() -> tuple[float, Any]:
        start = time.perf_counter()
        result = await fn()
        return time.perf_counter() - start, result

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
    rows = []
    for contender, kept in zip(contenders, samples, strict=True):
        count = contender.n if contender.n is not None else n
        median = statistics.median(kept)
        rows.append(
            Row(
                group,
                contender.name,
                contender.role,
                count,
                unit,
                kept,
                median,
                median / count if count else None,
            )
        )
    return with_ratios(rows)


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


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds * 1e6:.3g} µs"


def fmt_bytes(count: float) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.2f} MiB"
    if count >= 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count:.0f} B"


def fmt_value(value: float, unit: str) -> str:
    return fmt_bytes(value) if unit == "B" else fmt_time(value)


def fmt_per_record(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "B":
        return f"{value:.0f} B"
    return f"{value * 1e6:.2f} µs"


def fmt_ratio(row: Row) -> str:
    if row.ratio is None:
        return ""
    if row.is_reference:
        return f"1.00 ({row.reference})"
    return f"{row.ratio:.2f}"


def table(cases: list[CaseResult]) -> str:
    lines = [
        "| Case | Contender | N | Runs | Median | Per record | Ratio |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for case in cases:
        for row in case.rows:
            runs = str(len(row.samples)) if row.samples else "computed"
            n = f"{row.n:,}" if row.n else ""
            lines.append(
                f"| {row.group} | {row.contender} | {n} | {runs} | "
                f"{fmt_value(row.median, row.unit)} | {fmt_per_record(row.per_record, row.unit)} "
                f"| {fmt_ratio(row)} |"
            )
    return "\n".join(lines)


def targets_text(cases: list[CaseResult]) -> str:
    lines = []
    for case in cases:
        for target in case.targets:
            verdict = {True: "**met**", False: "**MISSED**", None: "reported"}[target.met]
            lines.append(f"- {case.id}. {target.text}: {target.measured} — {verdict}")
    return "\n".join(lines)


def notes_text(cases: list[CaseResult]) -> str:
    lines = []
    for case in cases:
        for note in case.notes:
            lines.append(f"- {case.id}. {note}")
    return "\n".join(lines)


ROOT = Path(__file__).resolve().parent.parent


def source_state() -> str:
    """The commit of the aiobatch measured, and whether aiobatch/ had local changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "aiobatch"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    if not changed:
        return f"commit {head}"
    return f"commit {head} + uncommitted changes to {len(changed)} file(s) in aiobatch/"


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for name in ("aiobatch", "aws-lambda-powertools", "aioboto3", "aiobotocore", "botocore"):
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "packages": ", ".join(versions),
        "aiobatch_source": source_state(),
    }


def to_json(
    machine_info: dict[str, str], settings: Settings, cases: list[CaseResult], seconds: float
) -> dict[str, Any]:
    return {
        "machine": machine_info,
        "settings": asdict(settings),
        "elapsed_seconds": seconds,
        "cases": [asdict(case) for case in cases],
    }

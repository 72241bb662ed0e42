"""Reporting: the machine, the Markdown table, targets and notes, and the JSON."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from dataclasses import asdict
from typing import Any

from ._harness import ROOT, CaseResult, Row, Settings


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 0.1:
        return f"{seconds * 1e3:.0f} ms"
    # Milliseconds from whatever rounds to 1,000 µs up: 999.7 µs is "1 ms", not "1e+03 µs".
    if float(f"{seconds * 1e6:.3g}") >= 1000:
        return f"{seconds * 1e3:.3g} ms"
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
    return "\n".join(f"- {case.id}. {note}" for case in cases for note in case.notes)


def report(cases: list[CaseResult], settings: Settings, elapsed: float) -> str:
    """Everything printed after the cases have run."""
    judged = "" if not settings.quick else " (not judged: --quick)"
    return "\n".join(
        [
            table(cases),
            "\nMedian of the runs; per record = median / N; ratio = median / the group's floor",
            "(hand-written, measured in the same run), limit (computed) or best row.",
            "What each case measures, and how: benchmarks/README.md.\n",
            f"### Targets{judged}\n",
            targets_text(cases),
            "\n### Notes\n",
            notes_text(cases),
            f"\n({elapsed:.0f} s in all)",
        ]
    )


def _git(*args: str) -> list[str]:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.splitlines()


def source_state() -> str:
    """The commit of the aiobatch measured, and whether aiobatch/ had local changes."""
    try:
        head = _git("rev-parse", "--short", "HEAD")[0]
        changed = _git("status", "--porcelain", "--", "aiobatch")
    except (OSError, IndexError, subprocess.SubprocessError):
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
    for name in ("aiobatch-lambda", "aws-lambda-powertools", "aioboto3", "aiobotocore", "botocore"):
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


def header(info: dict[str, str], command: str) -> str:
    return "\n".join(
        [
            "## aiobatch benchmarks\n",
            f"- Machine: {info['platform']}, {info['cpu']} ({info['cpu_count']} CPUs)",
            f"- Python: {info['python']}",
            f"- Packages: {info['packages']}",
            f"- aiobatch measured: {info['aiobatch_source']}",
            f"- Command: `{command}`\n",
        ]
    )


def to_json(
    machine_info: dict[str, str], settings: Settings, cases: list[CaseResult], seconds: float
) -> dict[str, Any]:
    return {
        "machine": machine_info,
        "settings": asdict(settings),
        "elapsed_seconds": seconds,
        "cases": [asdict(case) for case in cases],
    }

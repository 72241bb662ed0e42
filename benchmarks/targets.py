"""The targets of the benchmarks, in one table, and how a case's results are judged.

A target reads one number from a case's rows (or a fact the case measured) and, when
it has a bound, is met or missed; without one the number is only reported. ``judge``
adds a case's verdicts to it after it has run. Rows are named by their label, or by
the start of it ("floor", "limit", "Powertools").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._harness import CaseResult, Row, Verdict
from .concurrency import AIOBATCH_FIFO, AIOBATCH_IO, POWERTOOLS_FIFO
from .deletes import AIOBATCH_DELETE, AIOBATCH_WARM_SMALL
from .overhead import (
    AIOBATCH_ASYNC,
    AIOBATCH_DEADLINE,
    AIOBATCH_SYNC,
    CONTEXT,
    FULL_N,
    IN_LAMBDA,
    POWERTOOLS_ASYNC,
    POWERTOOLS_SYNC,
    QUIET,
    SIZES,
    sized,
)
from .retry import BACKOFF, DEAD_LETTER, PLAIN
from .worker import AIOBATCH_RUN, CONCURRENCY

Metric = Literal["per record", "ratio", "extra per record", "fact"]


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    group: str  # the case's number, and which of its groups when it has several
    compares: str  # in words
    metric: Metric  # per record: row's median / N; ratio: row / over; fact: case.facts[row]
    row: str
    over: str = ""
    at_most: float | None = None
    at_least: float | None = None

    @property
    def case(self) -> str:
        return self.group.split()[0]


# Row names, shortened for the table.
ASYNC, SYNC, PT_ASYNC, PT_SYNC = AIOBATCH_ASYNC, AIOBATCH_SYNC, POWERTOOLS_ASYNC, POWERTOOLS_SYNC
ASYNC_Q, SYNC_Q = AIOBATCH_ASYNC + QUIET, AIOBATCH_SYNC + QUIET
US = 1e-6

LARGEST_1, LARGEST_2 = sized("1", FULL_N), sized("2", FULL_N)

TARGETS: tuple[Target, ...] = (
    Target("async overhead", LARGEST_1, "aiobatch, per record", "per record", ASYNC,
           at_most=1.5 * US),
    *(Target("async speed-up", sized("1", n), "Powertools' time over aiobatch's", "ratio",
             PT_ASYNC, ASYNC, at_least=5) for n in SIZES),
    Target("deadline", LARGEST_1, "a Lambda context whose deadline is never reached, per record",
           "extra per record", AIOBATCH_DEADLINE, ASYNC),
    Target("fixed cost", sized("2", 1), "a batch of one, aiobatch's time over Powertools'",
           "ratio", SYNC, PT_SYNC, at_most=1),
    *(Target("sync speed", sized("2", n), "aiobatch's time over Powertools'", "ratio", SYNC,
             PT_SYNC, at_most=0.5 if n >= 1_000 else 1) for n in SIZES[1:]),
    Target("sync speed", IN_LAMBDA, "10 records with a Lambda context, aiobatch's time over "
           "Powertools'", "ratio", SYNC + CONTEXT, PT_SYNC + CONTEXT, at_most=1),
    Target("fixed cost", sized(IN_LAMBDA, 1), "a batch of one with a Lambda context, as Lambda "
           "calls it, aiobatch's time over Powertools'", "ratio", SYNC + CONTEXT,
           PT_SYNC + CONTEXT),
    Target("async overhead", "3 async", "aiobatch, per record", "per record", ASYNC,
           at_most=1.5 * US),
    Target("async speed-up", "3 async", "Powertools' time over aiobatch's", "ratio", PT_ASYNC,
           ASYNC, at_least=5),
    Target("async overhead", "3 async", "aiobatch, logger at ERROR, per record", "per record",
           ASYNC_Q, at_most=1.5 * US),
    Target("async speed-up", "3 async", "Powertools' time over aiobatch's, logger at ERROR",
           "ratio", PT_ASYNC, ASYNC_Q, at_least=5),
    Target("sync overhead", "3 sync", "aiobatch's time over Powertools'", "ratio", SYNC, PT_SYNC,
           at_most=1),
    Target("sync overhead", "3 sync", "aiobatch's time over Powertools', logger at ERROR",
           "ratio", SYNC_Q, PT_SYNC, at_most=1),
    Target("bounded pool", "4", "aiobatch's time over the bare pool's", "ratio", AIOBATCH_IO,
           "floor", at_most=1.1),
    Target("FIFO", "5 small", "Powertools' time over aiobatch's", "ratio", POWERTOOLS_FIFO,
           AIOBATCH_FIFO),
    Target("FIFO", "5 large", "Powertools' time over aiobatch's", "ratio", POWERTOOLS_FIFO,
           AIOBATCH_FIFO),
    Target("delete phase", "6", "aiobatch's time over the limit", "ratio", AIOBATCH_DELETE,
           "limit", at_most=1.3),
    Target("delete phase", "6", "aiobatch's time over the same calls written by hand",
           "ratio", AIOBATCH_DELETE, "hand-written", at_most=0.9),
    Target("import time", "7", "aiobatch's over Powertools'", "ratio", "aiobatch:",
           "Powertools:", at_most=0.5),
    Target("warm client", "8", "clients a process made over all its invocations", "fact",
           "clients_created", at_most=1),
    Target("warm invocation", "8 small", "10 records, one failing, over Powertools' partial "
           "response", "ratio", AIOBATCH_WARM_SMALL, "Powertools"),
    Target("memory", "9 sync", "bytes a record, aiobatch against Powertools", "ratio",
           "aiobatch", "Powertools"),
    Target("memory", "9 async", "bytes a record, aiobatch against Powertools", "ratio",
           "aiobatch", "Powertools"),
    *(Target("worker throughput", f"10 c={concurrency}", "aiobatch run's records a second "
             "over the hand-written loop's, same concurrency", "ratio", "floor", AIOBATCH_RUN,
             at_least=0.9) for concurrency in CONCURRENCY),
    Target("backoff cost", "11", "retry=Backoff() over reporting the failures only, per failed "
           "record", "extra per record", BACKOFF, PLAIN),
    Target("dead-letter cost", "11", "non_retryable= over reporting the failures only, per "
           "failed record", "extra per record", DEAD_LETTER, PLAIN),
)  # fmt: skip


def _times(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def _bound(target: Target) -> str:
    """The bound in words: ", at most 1.5 µs", ", at least 5x"; "" when there is none."""
    for word, value in (("at most", target.at_most), ("at least", target.at_least)):
        if value is not None:
            unit = {"per record": f"{value / US:g} µs", "fact": f"{value:g}"}
            return f", {word} {unit.get(target.metric, f'{value:g}x')}"
    return ""


def _extra(row: Row, over: Row) -> float:
    """How much longer ``row`` took than ``over``, per record."""
    return (row.median - over.median) / (row.n or 1)


def _read(case: CaseResult, target: Target) -> tuple[float, str] | None:
    """The number a target reads, and how it is shown; None when a row did not run."""
    if target.metric == "fact":
        value = case.facts.get(target.row)
        return None if value is None else (value, f"{value:g}")
    row = case.find(target.group, target.row)
    if row is None:
        return None
    if target.metric == "per record":
        assert row.per_record is not None
        shown = f"{row.per_record / US:.2f} µs a record"
        floor = case.find(target.group, "floor")
        if floor is not None:
            shown += f" ({_extra(row, floor) / US:.2f} µs above the floor)"
        return row.per_record, shown
    over = case.find(target.group, target.over)
    if over is None:
        return None
    ratio = row.median / over.median
    if target.metric == "extra per record":
        extra = _extra(row, over)
        return extra, f"{extra / US:+.3f} µs ({ratio:.3f}x)"
    if row.unit == "B" and row.per_record is not None and over.per_record is not None:
        return ratio, f"{row.per_record:.0f} B against {over.per_record:.0f} B ({_times(ratio)})"
    return ratio, _times(ratio)


def judge(case: CaseResult, *, verdicts: bool = True) -> CaseResult:
    """Add the verdicts of ``case``'s targets; ``verdicts=False`` only reports the numbers."""
    for target in TARGETS:
        if target.case != case.id:
            continue
        read = _read(case, target)
        if read is None:
            continue
        value, measured = read
        met = None
        if verdicts and target.at_most is not None:
            met = value <= target.at_most
        if verdicts and target.at_least is not None:
            met = value >= target.at_least
        where = target.group.removeprefix(case.id).strip()  # "small" of "5 small"
        name = f"{target.name} ({where})" if where not in target.name else target.name
        text = f"{name}: {target.compares}{_bound(target)}"
        case.targets.append(Verdict(text, measured, met))
    return case

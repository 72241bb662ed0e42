"""One run of a processor over one batch: its records, outcomes and summary.

A :class:`Batch` is made fresh for every run, so nothing of one run leaks into the
next, and one processor can run several batches at once on one event loop. Hooks get a
frozen :class:`BatchSummary` at the end.
"""

from __future__ import annotations

import enum
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from ._deadline import Deadline
from ._engine import UNSET
from ._exceptions import (
    DeadlineExceededError,
    ExceptionInfo,
    FailedRecord,
    RecordSkippedError,
    UndeletedMessage,
    text_of,
)
from ._types import FailureResponse, PartialItemFailureResponse, RecordHandler, RecordResult


def fail_entry(record: Any, exc: BaseException) -> FailureResponse:
    """A failure's result tuple, as Powertools' ``failure_handler`` makes it."""
    return ("fail", f"{type(exc).__name__}:{text_of(exc)}", record)


class BatchState(enum.Enum):
    """Where a batch is in its lifecycle."""

    SET_UP = "set up"  # records and handler given, nothing run yet
    STARTED = "started"  # _prepare ran: inside the with block
    PROCESSING = "processing"  # the records are running
    PROCESSED = "processed"  # every record has an outcome
    FINISHED = "finished"  # _clean ran (or the block was left): the batch is over


class BatchSummary(NamedTuple):
    """What happened to one batch; what ``on_batch_end`` hooks receive.

    ``failed`` counts every record reported failed, ``unfinished`` (cut short by the
    deadline) and ``skipped`` (not run because an earlier record failed) included.
    Durations are in seconds; ``processing_duration`` is the time the records ran.
    """

    event_type: str | None
    records: int
    succeeded: int
    failed: int
    failed_by_type: Mapping[str, int]
    skipped: int
    unfinished: int
    deadline_cut: bool
    deleted: int
    undeleted_messages: tuple[UndeletedMessage, ...]
    duration: float
    processing_duration: float
    completed: bool
    """False when processing did not finish (an exception escaped the run)."""
    sent_to_dlq: int = 0
    """SQS ``non_retryable=``: failed records confirmed in the dead-letter queue (and so
    not retried: left out of ``batchItemFailures``, or deleted in delete mode)."""
    dlq_failed: int = 0
    """Non-retryable records that could not be sent there, and so are retried."""
    backoff_set: int = 0
    """SQS ``retry=``: failed messages whose visibility timeout was set."""
    backoff_failed: int = 0
    """Failed messages whose backoff SQS refused or did not confirm."""
    handler_time_p50: float | None = None
    handler_time_p99: float | None = None
    handler_time_max: float | None = None
    """Seconds one record's handler took: median, 99th percentile (nearest rank) and
    longest, over the records that ran; ``None`` when none ran or nothing measured
    them (they are measured when the processor has ``on_batch_end``, ``metrics`` or
    ``log_summary``)."""


class Batch:
    """One batch's records, handler and context, and what became of each record.

    Made by ``processor(records, handler, lambda_context)`` or a facade; the
    processor's Powertools-style attributes (``records``, ``success_messages``, ...)
    read the batch of the caller's run. ``failures`` maps the index of each failed
    record to its exception.
    """

    # What every batch starts with and most never change, as class attributes: a batch
    # is made per invocation, and each attribute set in __init__ costs some 40 ns.
    views: list[Any] | None = None  # the record views, once made (see records)
    state = BatchState.SET_UP
    deadline: Deadline | None = None
    # One entry per record, filled in as records finish: a failure's result tuple,
    # and a success's (with raw_values, the handler's value itself: no tuple is made
    # per record unless someone asks for the results).
    values: list[Any] | None = None
    raw_values = False
    completed = False  # every record has an outcome
    _results: list[RecordResult] | None = None
    # The failure logged on a line of its own; the others go in summary lines.
    first_failure: int | None = None
    deleted = 0
    fifo = False  # delete mode: the records come from a FIFO queue
    started_at = 0.0
    processing_time = 0.0
    ended_at = 0.0
    # How the engine calls the handler, worked out once per batch.
    handler_call: Any = None
    # Run by the sync facade without an event loop, just now (see _runner.run_inline).
    inline = False
    # How the processor runs its batches of this handler (its _Lane), set with the batch.
    lane: Any = None
    # The record each failed handler got, by index: a dict of the batch's own from its
    # first failure (see note_failed_view).
    failed_views: Mapping[int, Any] = MappingProxyType({})
    # Exceptions given to failure_handler, by id(record): how a custom _process_record
    # that returns a failure tuple is matched to its exception. The batch's own dict
    # once a processor asks for it (see failures_given).
    _handler_failures: dict[int, BaseException] | None = None
    deletes_ran = False  # delete mode: the deletes of the batch ran (or are running)
    # The retry policy's work (SQS, retry= and non_retryable=): the failed records whose
    # copy is confirmed in the dead-letter queue (handled: not reported, deleted in
    # delete mode), how many could not be sent there, and the backoffs set and refused.
    dead_lettered: frozenset[int] = frozenset()
    dead_letter_failed = 0
    backoff_set = 0
    backoff_failed = 0
    # How long each record's handler took, in seconds, when the processor measures them.
    handler_times: list[float] | None = None
    # The partial batch response, once a BatchProcessor's _clean made it.
    response: PartialItemFailureResponse | None = None
    # What success_handler and failure_handler kept; None: made when read (see __init__).
    _successes: list[Any] | None = None
    _fail_messages: list[Any] | None = None
    _exceptions: list[ExceptionInfo] | None = None

    def __init__(
        self,
        records: list[Any],
        handler: RecordHandler,
        context: Any,
        event_type: str | None = None,
        view: Callable[[Any], Any] | None = None,
        *,
        raw_values: bool = False,
        raw_failures: bool = False,
    ) -> None:
        # The records as the event has them; the handler gets each as ``view`` makes it
        # (a record view such as SQSRecord), made as the record starts and not kept.
        self.raw_records = records
        self.view = view
        self.handler = handler
        self.context = context
        self.event_type = event_type
        # raw_values: successes keep the handler's value alone, and success_messages is
        # made from the values when read. Else it holds what success_handler kept.
        if raw_values:
            self.raw_values = True
        else:
            self._successes = []
        # raw_failures: failures keep their exception alone; their result tuples,
        # fail_messages and exceptions are made from it when read. Else they hold what
        # failure_handler kept.
        if not raw_failures:
            self._fail_messages = []
            self._exceptions = []
        self.failures: dict[int, BaseException] = {}
        self.undeleted_messages: list[UndeletedMessage] = []

    def __repr__(self) -> str:
        # Short and free of record data: asyncio puts a task's result in the task's repr,
        # which the sync bridge has formatted on every call.
        return (
            f"<Batch {self.event_type or 'custom'} of {len(self.raw_records)} records, "
            f"{self.state.value}, {len(self.failures)} failed>"
        )

    def forget_success(self, record: Any) -> None:
        """Take back the success ``success_handler`` kept for ``record`` (its latest)."""
        kept = self._successes
        if kept is not None:
            for position in range(len(kept) - 1, -1, -1):
                if kept[position] is record:
                    del kept[position]
                    return

    def note_failed_view(self, index: int, view: Any) -> None:
        """Keep the record the failed handler of record ``index`` got."""
        views = self.failed_views
        if type(views) is not dict:
            views = self.failed_views = {}
        views[index] = view

    @property
    def handler_failures(self) -> dict[int, BaseException]:
        """Exceptions given to ``failure_handler``, by ``id(record)``."""
        given = self._handler_failures
        if given is None:
            given = self._handler_failures = {}
        return given

    @property
    def records(self) -> list[Any]:
        """The records, as record views (made the first time this is read)."""
        views = self.views
        if views is None:
            view = self.view
            views = self.views = (
                self.raw_records if view is None else list(map(view, self.raw_records))
            )
        return views

    def keep_failure(self, record: Any, exception: BaseException) -> None:
        """What the default ``failure_handler`` keeps, when failures are kept as it
        reports them."""
        if self._exceptions is not None and self._fail_messages is not None:
            self._exceptions.append((type(exception), exception, exception.__traceback__))
            self._fail_messages.append(record)

    @property
    def fail_messages(self) -> list[Any]:
        """The records that failed, as their handler got them: in input order unless a
        custom ``failure_handler`` kept them."""
        kept = self._fail_messages
        if kept is None:
            views = self.failed_views
            kept = [views[index] for index in sorted(self.failures)]
            if self.completed:
                self._fail_messages = kept
        return kept

    @property
    def exceptions(self) -> list[ExceptionInfo]:
        """The failures' ``(type, value, traceback)``, as ``fail_messages``."""
        kept = self._exceptions
        if kept is None:
            failures = self.failures
            kept = [
                (type(exc), exc, exc.__traceback__)
                for exc in (failures[index] for index in sorted(failures))
            ]
            if self.completed:
                self._exceptions = kept
        return kept

    @property
    def results(self) -> list[RecordResult] | None:
        """One result tuple per record, in input order, once every record has one."""
        if not self.completed or self.values is None:
            return None
        results = self._results
        if results is None:
            values = self.values
            raw_successes, raw_failures = self.raw_values, self._exceptions is None
            if raw_successes or raw_failures:
                records = self.records if raw_successes else values
                failures, views = self.failures, self.failed_views
                results = []
                for index, value in enumerate(values):
                    if index in failures:
                        results.append(fail_entry(views[index], value) if raw_failures else value)
                    elif raw_successes:
                        results.append(("success", value, records[index]))
                    else:
                        results.append(value)
            else:
                results = values
            self._results = results
        return results

    @property
    def success_messages(self) -> list[Any]:
        """The records that succeeded: in input order unless a custom
        ``success_handler`` kept them (in the order they finished)."""
        successes = self._successes
        if successes is not None:
            return successes
        values = self.values
        if values is None:
            return []
        records, failures = self.records, self.failures
        successes = [
            records[index]
            for index, value in enumerate(values)
            if value is not UNSET and index not in failures
        ]
        if self.completed:  # final: keep it, and what a caller adds to it
            self._successes = successes
        return successes

    def failed_indices(self) -> list[int]:
        return sorted(self.failures)

    def failed_records(self) -> list[FailedRecord]:
        """Each failed record in input order (as its handler got it), with its exception."""
        views, failures = self.failed_views, self.failures
        return [FailedRecord(i, views[i], failures[i]) for i in sorted(failures)]

    def summary(self) -> BatchSummary:
        failures = self.failures.values()
        by_type = Counter(type(exc).__name__ for exc in failures)
        skipped = sum(1 for exc in failures if isinstance(exc, RecordSkippedError))
        unfinished = sum(1 for exc in failures if isinstance(exc, DeadlineExceededError))
        end = self.ended_at or time.perf_counter()
        return BatchSummary(
            event_type=self.event_type,
            records=len(self.raw_records),
            succeeded=len(self.raw_records) - len(self.failures) if self.completed else 0,
            failed=len(self.failures),
            failed_by_type=MappingProxyType(dict(by_type)),
            skipped=skipped,
            unfinished=unfinished,
            deadline_cut=unfinished > 0,
            deleted=self.deleted,
            undeleted_messages=tuple(self.undeleted_messages),
            duration=end - self.started_at if self.started_at else 0.0,
            processing_duration=self.processing_time,
            completed=self.completed,
            sent_to_dlq=len(self.dead_lettered),
            dlq_failed=self.dead_letter_failed,
            backoff_set=self.backoff_set,
            backoff_failed=self.backoff_failed,
            **_percentiles(self.handler_times),
        )


def _percentiles(times: list[float] | None) -> dict[str, float]:
    """The handler times' median, 99th percentile (nearest rank) and maximum."""
    if not times:
        return {}
    ordered = sorted(times)
    last = len(ordered) - 1

    def rank(fraction: float) -> float:
        return ordered[min(last, max(0, math.ceil(fraction * len(ordered)) - 1))]

    return {
        "handler_time_p50": rank(0.5),
        "handler_time_p99": rank(0.99),
        "handler_time_max": ordered[last],
    }

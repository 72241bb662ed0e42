"""Per-batch metrics from a :class:`~aiobatch.BatchSummary`: CloudWatch's Embedded
Metric Format on stdout, OpenTelemetry, and the INFO summary line.

A processor's ``metrics=`` takes ``"emf"``, ``"otel"``, an :class:`EMFMetrics` or
:class:`OpenTelemetryMetrics`, any callable of the summary, or a list of these; each is
called once per batch, after ``on_batch_end``. None of them sees a record's data.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._batch import BatchSummary

MetricsHook = Callable[["BatchSummary"], Any]

_COUNTS = (
    ("Records", "records"),
    ("Succeeded", "succeeded"),
    ("Failed", "failed"),
    ("Skipped", "skipped"),
    ("DeadlineCut", "unfinished"),
    ("Deleted", "deleted"),
    ("SentToDLQ", "sent_to_dlq"),
    ("DLQFailed", "dlq_failed"),
    ("BackoffSet", "backoff_set"),
    ("BackoffFailed", "backoff_failed"),
)
"""EMF metric names of the summary's counts (unit ``Count``)."""

_DURATIONS = (
    ("HandlerTimeP50", "handler_time_p50"),
    ("HandlerTimeP99", "handler_time_p99"),
    ("HandlerTimeMax", "handler_time_max"),
)


class EMFMetrics:
    """One CloudWatch Embedded Metric Format line per batch, written to ``stream``
    (stdout: Lambda sends it to CloudWatch Logs, which makes the metrics, with no API
    call and no extra permission).

    ``namespace`` is the metrics' CloudWatch namespace. ``dimensions`` maps dimension
    names to values; by default the function's name (``FunctionName``) in Lambda, none
    elsewhere. The metrics, per batch: ``Records``, ``Succeeded``, ``Failed``,
    ``Skipped``, ``DeadlineCut``, ``Deleted``, ``Undeleted``, ``SentToDLQ``,
    ``DLQFailed``, ``BackoffSet``, ``BackoffFailed`` (counts), ``BatchDuration`` and,
    when records ran, ``HandlerTimeP50``, ``HandlerTimeP99``, ``HandlerTimeMax``
    (milliseconds). ``EventType`` and ``FailedByType`` (failures by exception type)
    go along as properties, searchable in Logs Insights but not metrics:

    ```python
    processor = BatchProcessor(
        EventType.SQS, metrics=EMFMetrics(namespace="Orders", dimensions={"Service": "orders"})
    )
    ```
    """

    def __init__(
        self,
        namespace: str = "aiobatch",
        dimensions: Mapping[str, str] | None = None,
        *,
        stream: IO[str] | None = None,
    ) -> None:
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 1024:
            raise ValueError(
                f"namespace must be a string of 1 to 1024 characters, got {namespace!r}"
            )
        if _LINE_BREAK.search(namespace):
            raise ValueError(f"namespace must be one line, got {namespace!r}")
        if dimensions is None:
            function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
            dimensions = {"FunctionName": function} if function else {}
        dimensions = dict(dimensions)
        if len(dimensions) > 30:
            raise ValueError(f"at most 30 dimensions, got {len(dimensions)}")
        for name, value in dimensions.items():
            if not isinstance(name, str) or not 1 <= len(name) <= 250:
                raise ValueError(f"a dimension name is a string of 1 to 250 characters: {name!r}")
            if _LINE_BREAK.search(name):
                raise ValueError(f"a dimension name must be one line, got {name!r}")
            if not isinstance(value, str) or not 1 <= len(value) <= 1024:
                raise ValueError(
                    f"dimension {name}'s value must be a string of 1 to 1024 characters, "
                    f"got {value!r}"
                )
            if name in _RESERVED:
                raise ValueError(f"dimension name {name!r} is one of the metrics' own names")
        self.namespace = namespace
        self.dimensions: dict[str, str] = dimensions
        self.stream = stream

    def __repr__(self) -> str:
        return f"EMFMetrics(namespace={self.namespace!r}, dimensions={self.dimensions!r})"

    def document(self, summary: BatchSummary, *, timestamp_ms: int | None = None) -> dict[str, Any]:
        """The EMF document of one batch."""
        metrics: list[dict[str, str]] = []
        document: dict[str, Any] = {}
        for name, field in _COUNTS:
            metrics.append({"Name": name, "Unit": "Count"})
            document[name] = getattr(summary, field)
        metrics.append({"Name": "Undeleted", "Unit": "Count"})
        document["Undeleted"] = len(summary.undeleted_messages)
        metrics.append({"Name": "BatchDuration", "Unit": "Milliseconds"})
        document["BatchDuration"] = round(summary.duration * 1000, 3)
        for name, field in _DURATIONS:
            seconds = getattr(summary, field)
            if seconds is not None:
                metrics.append({"Name": name, "Unit": "Milliseconds"})
                document[name] = round(seconds * 1000, 3)
        document.update(self.dimensions)
        document["EventType"] = summary.event_type or "custom"
        document["FailedByType"] = dict(summary.failed_by_type)
        document["_aws"] = {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": self.namespace,
                    "Dimensions": [list(self.dimensions)],
                    "Metrics": metrics,
                }
            ],
        }
        return document

    def __call__(self, summary: BatchSummary) -> None:
        import json

        line = json.dumps(self.document(summary), separators=(",", ":"), ensure_ascii=False)
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(line + "\n")
        stream.flush()


_LINE_BREAK = re.compile("[\n\r\u2028\u2029]")

_RESERVED = frozenset(
    {name for name, _ in _COUNTS}
    | {name for name, _ in _DURATIONS}
    | {"Undeleted", "BatchDuration", "EventType", "FailedByType", "_aws"}
)


class OpenTelemetryMetrics:
    """Per-batch OpenTelemetry metrics and a span, through the global providers or
    those given (needs ``opentelemetry-api``: ``pip install "aiobatch-lambda[otel]"``).

    Counters ``aiobatch.records`` (attribute ``aiobatch.outcome``: ``succeeded``,
    ``failed``, ``skipped``, ``deadline_cut``, ``sent_to_dlq``, and ``not_completed``
    for the rest of a batch whose run an exception broke off), ``aiobatch.batches``,
    ``aiobatch.messages.deleted``, ``aiobatch.messages.undeleted``,
    ``aiobatch.backoff.set``; histograms ``aiobatch.batch.duration`` and
    ``aiobatch.handler.duration.p99`` (seconds). Each carries ``aiobatch.event_type``.
    One span per batch, ``aiobatch batch``, from the batch's start to its end, with the
    counts as attributes; its status is an error when processing did not complete.
    """

    def __init__(self, meter_provider: Any = None, tracer_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError as exc:
            raise ImportError(
                "OpenTelemetryMetrics needs opentelemetry-api: pip install 'aiobatch-lambda[otel]'"
            ) from exc
        from ._version import __version__

        meter = (meter_provider or metrics.get_meter_provider()).get_meter("aiobatch", __version__)
        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(
            "aiobatch", __version__
        )
        self._status = trace.Status
        self._error = trace.StatusCode.ERROR
        self._records = meter.create_counter(
            "aiobatch.records", unit="{record}", description="Records processed, by outcome"
        )
        self._batches = meter.create_counter(
            "aiobatch.batches", unit="{batch}", description="Batches processed"
        )
        self._deleted = meter.create_counter(
            "aiobatch.messages.deleted", unit="{message}", description="Messages deleted"
        )
        self._undeleted = meter.create_counter(
            "aiobatch.messages.undeleted",
            unit="{message}",
            description="Successful messages that could not be deleted",
        )
        self._backoff = meter.create_counter(
            "aiobatch.backoff.set", unit="{message}", description="Backoffs set"
        )
        self._duration = meter.create_histogram(
            "aiobatch.batch.duration", unit="s", description="Time to process a batch"
        )
        self._handler_p99 = meter.create_histogram(
            "aiobatch.handler.duration.p99",
            unit="s",
            description="99th percentile of one record's handler time, per batch",
        )

    def __call__(self, summary: BatchSummary) -> None:
        kind = {"aiobatch.event_type": summary.event_type or "custom"}
        outcomes: tuple[tuple[str, int], ...] = (
            ("succeeded", summary.succeeded),
            (
                "failed",
                summary.failed - summary.skipped - summary.unfinished - summary.sent_to_dlq,
            ),
            ("skipped", summary.skipped),
            ("deadline_cut", summary.unfinished),
            ("sent_to_dlq", summary.sent_to_dlq),
        )
        if not summary.completed:  # interrupted: what never ran has no outcome
            outcomes += (("not_completed", summary.records - sum(n for _, n in outcomes)),)
        for outcome, count in outcomes:
            if count:
                self._records.add(count, {**kind, "aiobatch.outcome": outcome})
        self._batches.add(1, kind)
        if summary.deleted:
            self._deleted.add(summary.deleted, kind)
        if summary.undeleted_messages:
            self._undeleted.add(len(summary.undeleted_messages), kind)
        if summary.backoff_set:
            self._backoff.add(summary.backoff_set, kind)
        self._duration.record(summary.duration, kind)
        if summary.handler_time_p99 is not None:
            self._handler_p99.record(summary.handler_time_p99, kind)
        end = time.time_ns()
        span = self._tracer.start_span(
            "aiobatch batch",
            start_time=end - int(summary.duration * 1e9),
            attributes={
                **kind,
                "aiobatch.records": summary.records,
                "aiobatch.succeeded": summary.succeeded,
                "aiobatch.failed": summary.failed,
                "aiobatch.skipped": summary.skipped,
                "aiobatch.deadline_cut": summary.unfinished,
                "aiobatch.deleted": summary.deleted,
                "aiobatch.undeleted": len(summary.undeleted_messages),
                "aiobatch.sent_to_dlq": summary.sent_to_dlq,
                "aiobatch.backoff_set": summary.backoff_set,
            },
        )
        if not summary.completed:
            span.set_status(self._status(self._error, "processing did not complete"))
        span.end(end_time=end)


def metrics_hooks(spec: Any) -> tuple[MetricsHook, ...]:
    """What ``metrics=`` asks for, as hooks of the summary."""
    if spec is None:
        return ()
    if isinstance(spec, str) or callable(spec) or isinstance(spec, type):
        spec = (spec,)
    if not isinstance(spec, Sequence):
        raise TypeError(
            "metrics must be 'emf', 'otel', an EMFMetrics, an OpenTelemetryMetrics, a "
            f"function of the batch summary, or a list of these; got {type(spec).__name__}"
        )
    hooks: list[MetricsHook] = []
    for item in spec:
        if item == "emf":
            hooks.append(EMFMetrics())
        elif item in {"otel", "opentelemetry"}:
            hooks.append(OpenTelemetryMetrics())
        elif isinstance(item, str):
            raise ValueError(f"metrics={item!r}: the built-in ones are 'emf' and 'otel'")
        elif isinstance(item, type):
            raise TypeError(
                f"metrics takes instances: {item.__name__}(), not the class {item.__name__}"
            )
        elif callable(item):
            hooks.append(item)
        else:
            raise TypeError(
                f"metrics must be 'emf', 'otel' or a function of the batch summary, got "
                f"{type(item).__name__}"
            )
    return tuple(hooks)


def summary_line(summary: BatchSummary) -> str:
    """The INFO line ``log_summary=True`` writes per batch: counts and times, no data."""
    parts = [f"{summary.succeeded} succeeded", f"{summary.failed} failed"]
    if summary.failed_by_type:
        by_type = ", ".join(f"{name}: {count}" for name, count in summary.failed_by_type.items())
        parts[-1] += f" ({by_type})"
    for count, what in (
        (summary.skipped, "skipped"),
        (summary.unfinished, "cut by the deadline"),
        (summary.deleted, "deleted"),
        (len(summary.undeleted_messages), "not deleted"),
        (summary.sent_to_dlq, "sent to the dead-letter queue"),
        (summary.dlq_failed, "not sent to the dead-letter queue"),
        (summary.backoff_set, "backed off"),
        (summary.backoff_failed, "not backed off"),
    ):
        if count:
            parts.append(f"{count} {what}")
    timing = f"{summary.duration * 1000:.1f} ms"
    if summary.handler_time_p50 is not None and summary.handler_time_p99 is not None:
        timing += (
            f", handler p50 {summary.handler_time_p50 * 1000:.1f} ms, "
            f"p99 {summary.handler_time_p99 * 1000:.1f} ms"
        )
    kind = summary.event_type or "custom"
    noun = "record" if summary.records == 1 else "records"
    return f"batch of {summary.records} {kind} {noun}: {', '.join(parts)}; {timing}"

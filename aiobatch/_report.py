"""What ``aiobatch run`` prints: a live progress line on a terminal, plain log lines
otherwise, or JSON lines; and the summary at exit. Ids, counts and exception types
only, never record data."""

from __future__ import annotations

import datetime
import json
import logging
from typing import IO, Any

from ._worker import Invocation, QueueInfo, Stats, WorkerOptions


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


class ConsoleReporter:
    """What ``aiobatch run`` prints on standard error.

    On a terminal, a progress line redrawn in place; otherwise plain, timestamped log
    lines (a progress line every ``interval`` seconds); with ``json``, one JSON object a
    line. Never any record data: ids, counts and exception types only.
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        json_lines: bool = False,
        verbose: bool = False,
        interval: float | None = None,
        live: bool | None = None,
    ) -> None:
        self.stream = stream
        self.json = json_lines
        self.verbose = verbose
        self.live = (not json_lines and stream.isatty()) if live is None else live
        self.interval = interval if interval is not None else (0.5 if self.live else 10.0)
        self._drawn = False
        self._last_reported = -1

    def _emit(self, level: str, event: str, text: str, **fields: Any) -> None:
        if self.json:
            line = json.dumps(
                {"time": now(), "level": level, "event": event, "message": text, **fields}
            )
        else:
            line = f"{now()} {level.upper():<7} {text}"
        self._clear()
        print(line, file=self.stream, flush=True)

    def _clear(self) -> None:
        if self._drawn:
            print("\r\x1b[2K", end="", file=self.stream, flush=True)
            self._drawn = False

    def started(self, queue: QueueInfo, options: WorkerOptions) -> None:
        kind = "FIFO queue" if queue.fifo else "queue"
        redrive = (
            f", dead-letter queue after {queue.max_receive_count} receives"
            if queue.dead_letter_arn
            else ", no dead-letter queue"
        )
        self._emit(
            "info",
            "started",
            f"receiving from {kind} {queue.url} (visibility timeout {queue.visibility_timeout} s"
            f"{redrive}): batch size {options.batch_size}, batching window "
            f"{options.batching_window:g} s, concurrency {options.concurrency}, timeout "
            f"{options.timeout:g} s",
            queue_url=queue.url,
            queue_arn=queue.arn,
            fifo=queue.fifo,
            batch_size=options.batch_size,
            batching_window=options.batching_window,
            concurrency=options.concurrency,
            timeout=options.timeout,
        )

    def invoked(self, invocation: Invocation, stats: Stats) -> None:
        fields = {
            "request_id": invocation.request_id,
            "records": invocation.records,
            "failed": invocation.failed,
            "deleted": invocation.deleted,
            "duration_ms": round(invocation.duration * 1000, 3),
        }
        if invocation.problem is not None:
            if invocation.traceback is not None:
                fields["traceback"] = invocation.traceback
            text = (
                f"invocation {invocation.request_id}: the batch of {invocation.records} "
                f"failed: the handler {invocation.problem}; the worker deletes none of it "
                "(what the handler did not delete itself comes back after the visibility "
                "timeout)"
            )
            if invocation.traceback is not None and not self.json:
                text += "\n" + invocation.traceback
            self._emit("warning", "invocation_failed", text, problem=invocation.problem, **fields)
        elif self.verbose:
            self._emit(
                "info",
                "invocation",
                f"invocation {invocation.request_id}: {invocation.records} records, "
                f"{invocation.failed} failed, {invocation.deleted} deleted in "
                f"{invocation.duration * 1000:.1f} ms",
                **fields,
            )
        elif self.live:
            self.tick(stats)

    def warning(self, text: str, **fields: Any) -> None:
        self._emit("warning", "warning", text, **fields)

    def info(self, text: str, **fields: Any) -> None:
        self._emit("info", "info", text, **fields)

    def progress_text(self, stats: Stats) -> str:
        elapsed = max(1e-9, stats.elapsed())
        return (
            f"{stats.invocations:,} batches · {stats.received:,} records "
            f"({_rate(stats.succeeded + stats.failed, elapsed):,.0f}/s) · "
            f"{stats.failed:,} failed · {stats.in_flight} in flight"
        )

    def tick(self, stats: Stats) -> None:
        if self.live:
            print(f"\r\x1b[2K{self.progress_text(stats)}", end="", file=self.stream, flush=True)
            self._drawn = True
            return
        if stats.received == self._last_reported and not stats.in_flight:
            return  # nothing new: no line every interval while the queue is idle
        self._last_reported = stats.received
        self._emit("info", "progress", self.progress_text(stats), **stats.summary())

    def finished(self, stats: Stats) -> None:
        summary = stats.summary()
        if self.json:
            self._emit("info", "summary", "summary", **summary)
            return
        self._clear()

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:,.1f} ms"

        lines = [
            "Summary",
            f"  received     {summary['received']:>10,}   (redelivered {summary['redelivered']:,})",
            f"  succeeded    {summary['succeeded']:>10,}",
            f"  failed       {summary['failed']:>10,}",
            f"  deleted      {summary['deleted']:>10,}   (not deleted {summary['undeleted']:,})",
            f"  released     {summary['released']:>10,}   (abandoned at the drain "
            f"timeout {summary['abandoned']:,})",
            *([f"  backed off   {summary['backoff_set']:>10,}"] if summary["backoff_set"] else []),
            f"  invocations  {summary['invocations']:>10,}   ({summary['failed_invocations']:,} "
            f"failed whole, {summary['timed_out']:,} timed out)",
            f"  per invocation  p50 {ms(summary['invocation_p50_ms'])}, "
            f"p99 {ms(summary['invocation_p99_ms'])}",
            f"  elapsed      {summary['elapsed_s']:>10,.1f} s",
        ]
        print("\n".join(lines), file=self.stream, flush=True)


class LogHandler(logging.Handler):
    """Python logging (the handler's, aiobatch's processors') through a reporter's
    stream, as Lambda's runtime takes a function's log records into its log: one line
    each, in its format (JSON with ``--json``), never over the progress line."""

    def __init__(self, reporter: ConsoleReporter) -> None:
        super().__init__()
        self.reporter = reporter

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            self.reporter._emit(
                record.levelname.lower(), "log", f"{record.name}: {text}", logger=record.name
            )
        except Exception:
            self.handleError(record)

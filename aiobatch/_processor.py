"""The processor lifecycle shared by every processor, sync or async.

``processor(records, handler)`` prepares a run, the context manager calls ``_prepare``
and ``_clean`` around it, and ``aprocess()`` (or ``process()``, through the sync
facade) runs ``_process_record`` over every record on the engine.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from inspect import isawaitable
from types import TracebackType
from typing import Any, Literal, Self, TypeAlias

from . import _engine
from ._events import check_records_list
from ._exceptions import (
    DeadlineExceededError,
    ExceptionInfo,
    FailedRecord,
    RecordSkippedError,
)
from ._runner import run_sync

logger = logging.getLogger("aiobatch")

DEFAULT_MAX_CONCURRENCY = 100

UNFINISHED_SHOWN = 50
"""How many identifiers of unfinished records the summary log line names."""

SuccessResponse: TypeAlias = tuple[Literal["success"], Any, Any]
FailureResponse: TypeAlias = tuple[Literal["fail"], str, Any]
RecordResult: TypeAlias = tuple[str, Any, Any]
RecordHandler: TypeAlias = Callable[..., Any]


def _check_seconds(name: str, value: float | None, *, allow_zero: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds or None, got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be {'at least 0' if allow_zero else 'positive'}, got {value}"
        )
    return float(value)


def remaining_seconds(lambda_context: Any) -> float | None:
    """Seconds left before Lambda's timeout, or ``None`` when the context cannot say.

    A context without a working ``get_remaining_time_in_millis`` (``None``, a
    ``MagicMock`` in a user's test) means no deadline.
    """
    method = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if not callable(method):
        return None
    try:
        millis = method()
    except Exception:
        return None
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        return None
    return millis / 1000


def automatic_margin(remaining: float) -> float:
    """The default safety margin: a tenth of the time left, from 0.25 s to 3 s.

    Enough for the deletes of a large batch (making the SQS client the first time
    included) and the response, while a fake context with 1,000 ms left still gives
    the batch 750 ms.
    """
    return min(max(remaining / 10, 0.25), 3.0)


def _check_concurrency(max_concurrency: int) -> int:
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise TypeError(f"max_concurrency must be an int, got {type(max_concurrency).__name__}")
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
    return max_concurrency


def _is_async_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


def _wants_lambda_context(fn: Any) -> bool:
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "lambda_context" in parameters


def record_id(record: Any) -> str | None:
    """The identifier a log line may name a record by: never its body."""
    for key in ("messageId", "eventID"):
        value = record.get(key) if hasattr(record, "get") else None
        if isinstance(value, str):
            return value
    return None


_NO_RUN = (
    "no run is set up: call the processor first, as in "
    "`with processor(records, record_handler): processor.process()`"
)


def _no_handler(record: Any) -> Any:
    raise RuntimeError(_NO_RUN)


class _Processor:
    """State and behaviour common to both bases; not public."""

    def __init__(
        self,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        record_timeout: float | None = None,
        deadline_margin: float | None = None,
    ) -> None:
        self.max_concurrency = _check_concurrency(max_concurrency)
        self.record_timeout = _check_seconds("record_timeout", record_timeout, allow_zero=False)
        self.deadline_margin = _check_seconds("deadline_margin", deadline_margin, allow_zero=True)
        self.lambda_end: float | None = None
        self.success_messages: list[Any] = []
        self.fail_messages: list[Any] = []
        self.exceptions: list[ExceptionInfo] = []
        self.records: Sequence[Any] = []
        self.handler: RecordHandler = _no_handler
        self.lambda_context: Any = None
        self._failures: list[tuple[Any, BaseException]] = []
        self._unfinished: list[str] = []
        self._results: list[RecordResult] | None = None

    def __call__(
        self,
        records: Sequence[Any],
        record_handler: RecordHandler | None = None,
        lambda_context: Any = None,
        *,
        handler: RecordHandler | None = None,
    ) -> Self:
        """Set up a run over ``records``; returns the processor for ``with``/``async with``.

        ``handler=`` is Powertools' name for ``record_handler``, accepted for migration.
        """
        if handler is not None:
            if record_handler is not None:
                raise TypeError("pass record_handler or handler, not both")
            record_handler = handler
        if not callable(record_handler):
            raise TypeError(f"record_handler must be callable, got {type(record_handler).__name__}")
        self._reset()
        self.records = self._parse_records(records)
        self.handler = record_handler
        self.lambda_context = lambda_context
        return self

    def _reset(self) -> None:
        """Forget the last run, so that nothing of it leaks into the next."""
        self.records = []
        self.handler = _no_handler
        self.lambda_context = None
        self.lambda_end = None
        self.success_messages.clear()
        self.fail_messages.clear()
        self.exceptions.clear()
        self._failures = []
        self._unfinished = []
        self._results = None

    def _parse_records(self, records: Sequence[Any]) -> Sequence[Any]:
        """Validate and wrap the records of a run; raises InvalidEventError."""
        if isinstance(records, str | bytes) or not isinstance(records, Sequence):
            return check_records_list(records)
        return records

    def success_handler(self, record: Any, result: Any) -> SuccessResponse:
        """Keep a success; override to do more (call ``super()`` to keep the bookkeeping)."""
        entry: SuccessResponse = ("success", result, record)
        self.success_messages.append(record)
        return entry

    def failure_handler(self, record: Any, exception: BaseException) -> FailureResponse:
        """Keep a failure; override to do more (call ``super()`` to keep the bookkeeping)."""
        if isinstance(exception, tuple):  # Powertools passes (type, value, traceback)
            exception = exception[1]
        if isinstance(exception, DeadlineExceededError | RecordSkippedError):
            # Never ran, or cut short: one summary line per run, not thousands of lines
            # eating the time left before Lambda's timeout.
            self._unfinished.append(record_id(record) or "?")
        elif logger.isEnabledFor(logging.WARNING):
            # The traceback only when the logger is at DEBUG: formatting one costs about
            # 80 us, ten times the rest of the line. It is on the raised error anyway.
            logger.warning(
                "record %s failed: %s: %s",
                record_id(record) or "?",
                type(exception).__name__,
                exception,
                exc_info=exception if logger.isEnabledFor(logging.DEBUG) else None,
            )
        entry: FailureResponse = ("fail", f"{type(exception).__name__}:{exception}", record)
        self.exceptions.append((type(exception), exception, exception.__traceback__))
        self.fail_messages.append(record)
        self._failures.append((record, exception))
        return entry

    @property
    def failed_records(self) -> list[FailedRecord]:
        """The records that failed in the last run, in input order, with their exceptions."""
        if not self._failures:
            return []
        position: dict[int, int] = {}
        for index, record in enumerate(self.records):
            position.setdefault(id(record), index)
        failed = [
            FailedRecord(position.get(id(record), -1), record, exc)
            for record, exc in self._failures
        ]
        return sorted(failed, key=lambda f: f.index)

    def _cleanup_allowance(self) -> float:
        """Seconds ``_clean`` may need beyond the automatic margin (delete mode: making
        the SQS client the first time)."""
        return 0.0

    def _log_unfinished(self) -> None:
        unfinished = self._unfinished
        if not unfinished:
            return
        shown = ", ".join(unfinished[:UNFINISHED_SHOWN])
        more = len(unfinished) - UNFINISHED_SHOWN
        logger.warning(
            "%d records did not finish (the deadline passed, or an earlier record "
            "failed) and are reported failed: %s%s",
            len(unfinished),
            shown,
            f" and {more} more" if more > 0 else "",
        )

    def _on_error(self, index: int, record: Any, exc: Exception) -> RecordResult:
        return self.failure_handler(record, exc)

    def _require_run(self) -> Sequence[Any]:
        if self.handler is _no_handler:
            raise RuntimeError(_NO_RUN)
        return self.records

    def _plan(self, concurrency: int) -> _engine.Plan:
        """How the engine runs this processor's records; ordered processors add keys."""
        plan = _engine.Plan(concurrency=concurrency, item_timeout=self.record_timeout)
        remaining = remaining_seconds(self.lambda_context)
        self.lambda_end = None
        if remaining is not None:
            now = asyncio.get_running_loop().time()
            margin = self.deadline_margin
            if margin is None:
                margin = automatic_margin(remaining) + self._cleanup_allowance()
            self.lambda_end = now + remaining
            plan.deadline = now + remaining - margin
            plan.deadline_text = (
                f"the batch deadline passed before this record finished: {margin:.3f} s "
                f"before Lambda's timeout ({remaining:.3f} s were left when the batch started)"
            )
        return plan

    async def _run(
        self,
        step: Callable[[Any], Any],
        concurrency: int,
        finish: Callable[[Any, Any], RecordResult] | None = None,
        *,
        sync_step: bool = False,
    ) -> list[RecordResult]:
        records = self._require_run()
        plan = self._plan(concurrency)
        plan.sync_step = sync_step
        results = await _engine.run_all(records, step, self._on_error, plan, finish)
        self._log_unfinished()
        self._results = results
        return results


class AsyncBasePartialProcessor(_Processor, ABC):
    """Base of async processors.

    A subclass implements ``_prepare``, ``_clean`` and ``_process_record`` as
    ``async def``; records run concurrently, at most ``max_concurrency`` at once::

        async with processor(records, record_handler):
            results = await processor.aprocess()

    or, from plain sync code, ``with processor(...): processor.process()``.
    """

    @abstractmethod
    async def _prepare(self) -> None:
        """Called once before processing."""

    @abstractmethod
    async def _clean(self) -> None:
        """Called once after processing, when the context manager exits."""

    @abstractmethod
    async def _process_record(self, record: Any) -> RecordResult:
        """Process one record; return ``success_handler(...)`` or ``failure_handler(...)``."""

    async def aprocess(self) -> list[RecordResult]:
        """Run every record; one result tuple per record, in input order."""
        return await self._run(self._process_record, self.max_concurrency)

    def process(self) -> list[RecordResult]:
        """Sync facade of :meth:`aprocess`."""
        return run_sync("`await processor.aprocess()` inside `async with`", self.aprocess)

    async def __aenter__(self) -> Self:
        await self._prepare()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._clean()

    def __enter__(self) -> Self:
        run_sync("`async with processor(records, record_handler)`", self._prepare)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        run_sync("`async with processor(records, record_handler)`", self._clean)


class BasePartialProcessor(_Processor, ABC):
    """Base of processors written with plain ``def`` hooks.

    A subclass implements ``_prepare``, ``_clean`` and ``_process_record`` as plain
    functions; records run one at a time, in input order, on the same engine as the
    async processors. Inside ``_process_record``, ``self.handler(record)`` is the
    record handler.
    """

    @abstractmethod
    def _prepare(self) -> None:
        """Called once before processing."""

    @abstractmethod
    def _clean(self) -> None:
        """Called once after processing, when the context manager exits."""

    @abstractmethod
    def _process_record(self, record: Any) -> RecordResult:
        """Process one record; return ``success_handler(...)`` or ``failure_handler(...)``."""

    async def aprocess(self) -> list[RecordResult]:
        """Run every record, one at a time; one result tuple per record, in input order."""
        return await self._run(self._process_record, 1, sync_step=True)

    def process(self) -> list[RecordResult]:
        """Run every record from plain sync code."""
        return run_sync("`await processor.aprocess()`", self.aprocess)

    def __enter__(self) -> Self:
        self._prepare()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._clean()

    async def __aenter__(self) -> Self:
        self._prepare()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._clean()


class RecordHandlerProcessor(AsyncBasePartialProcessor):
    """What the built-in processors share: they run a user's record handler.

    The handler may be ``async def`` (run concurrently, at most ``max_concurrency`` at
    once) or plain ``def`` (run inline, one at a time, in input order; with
    ``use_threads=True`` in worker threads, at most ``max_concurrency`` at once).
    """

    def __init__(
        self,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        use_threads: bool = False,
        record_timeout: float | None = None,
        deadline_margin: float | None = None,
    ) -> None:
        super().__init__(
            max_concurrency=max_concurrency,
            record_timeout=record_timeout,
            deadline_margin=deadline_margin,
        )
        self.use_threads = use_threads
        self._thread_pool: ThreadPoolExecutor | None = None
        self._call_cache: tuple[RecordHandler, tuple[Callable[[Any], Any], int, bool]] | None = None

    def _reset(self) -> None:
        super()._reset()
        self._call_cache = None

    def _drop_abandoned_threads(self) -> None:
        """Threads abandoned at the deadline may still be running: they must not hold
        the slots of the next run, which gets a fresh pool."""
        pool = self._thread_pool
        if pool is not None and any(
            isinstance(exc, DeadlineExceededError) for _, exc in self._failures
        ):
            pool.shutdown(wait=False, cancel_futures=True)
            self._thread_pool = None

    def _handler_input(self, record: Any) -> Any:
        """What the handler gets for a record; a model's instance where one is set."""
        return record

    _converts = False  # whether _handler_input is more than the identity

    async def _prepare(self) -> None:
        return None

    async def _clean(self) -> None:
        return None

    async def _process_record(self, record: Any) -> RecordResult:
        call, _, sync = self._handler_call()
        try:
            value = call(self._handler_input(record))
            result = await value if not sync or isawaitable(value) else value
        except Exception as exc:
            return self.failure_handler(record, exc)
        return self.success_handler(record, result)

    async def aprocess(self) -> list[RecordResult]:
        """Run the record handler over every record; results in input order."""
        if type(self)._process_record is not RecordHandlerProcessor._process_record:
            return await super().aprocess()  # a subclass customised the per-record step
        self._require_run()
        call, concurrency, sync = self._handler_call()
        step = call
        if self._converts:
            convert = self._handler_input

            def step(record: Any) -> Any:
                return call(convert(record))

        try:
            return await self._run(step, concurrency, self.success_handler, sync_step=sync)
        finally:
            self._drop_abandoned_threads()

    def _handler_call(self) -> tuple[Callable[[Any], Any], int, bool]:
        """The call of the record handler, how many may run at once, and whether the
        call returns its value (a plain ``def`` run inline) rather than an awaitable.

        Worked out once per run (a subclass's ``_process_record`` calling ``super()``
        asks for it once per record)."""
        cached = self._call_cache
        if cached is not None and cached[0] is self.handler:
            return cached[1]
        call = self._make_handler_call()
        self._call_cache = (self.handler, call)
        return call

    def _make_handler_call(self) -> tuple[Callable[[Any], Any], int, bool]:
        handler = self.handler
        is_async = _is_async_callable(handler)
        if _wants_lambda_context(handler):
            handler = partial(handler, lambda_context=self.lambda_context)
        if is_async:
            return handler, self.max_concurrency, False
        if self.use_threads:
            executor = self._executor()
            loop = asyncio.get_running_loop()
            sync_handler = handler

            async def in_thread(record: Any) -> Any:
                value = await loop.run_in_executor(executor, sync_handler, record)
                return await value if isawaitable(value) else value

            return in_thread, self.max_concurrency, False
        return handler, 1, True

    def _executor(self) -> ThreadPoolExecutor:
        pool = self._thread_pool
        if pool is None or pool._max_workers != self.max_concurrency:
            pool = self._thread_pool = ThreadPoolExecutor(
                max_workers=self.max_concurrency, thread_name_prefix="aiobatch"
            )
        return pool

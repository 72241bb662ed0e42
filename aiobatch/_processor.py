"""The processor lifecycle shared by every processor, sync or async.

``processor(records, handler)`` sets up a :class:`~aiobatch.Batch`; ``_start`` runs
``on_batch_start`` and ``_prepare``, ``_process`` runs the records on the engine, and
``_finish`` runs ``_clean`` and ``on_batch_end``. ``_run`` is all three in one
coroutine: every facade calls it, so a sync facade enters the event loop once. The
context managers call the three steps one by one.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import inspect
import logging
import math
import operator
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from contextvars import ContextVar
from inspect import isawaitable
from types import CoroutineType, FunctionType, MethodType, TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, Self, TypedDict, TypeVar, Unpack

from ._batch import Batch, BatchState, BatchSummary, fail_entry
from ._deadline import Deadline
from ._engine import UNSET, Plan, Run, Stop, plan_of
from ._exceptions import (
    DeadlineExceededError,
    ExceptionInfo,
    FailedRecord,
    RecordSkippedError,
    describe,
    text_of,
)
from ._handlers import HandlerCall, HandlerTraits, ThreadPool, handler_traits, make_call
from ._lazy import LazyModule
from ._metrics import metrics_hooks, summary_line
from ._records import _DictWrapper
from ._runner import Detour, detour, refuse_in_loop, run_inline, run_sync
from ._sources import EventSource, check_list, log_id
from ._types import (
    FailureResponse,
    LambdaContext,
    RecordHandler,
    RecordResult,
    SuccessResponse,
)

if TYPE_CHECKING:
    import asyncio

    from ._retry import Backoff, RetryPolicy
else:
    asyncio = LazyModule("asyncio", globals())

_logger = logging.getLogger("aiobatch")

T = TypeVar("T")

DEFAULT_MAX_CONCURRENCY = 100

IDS_PER_LINE = 100
"""How many record identifiers one summary log line names at most."""

BatchStartHook = Callable[[Batch], Any]
BatchEndHook = Callable[[BatchSummary], Any]


class ProcessorOptions(TypedDict, total=False):
    """The options every processor takes."""

    max_concurrency: int
    record_timeout: float | None
    deadline_margin: float | None
    on_batch_start: BatchStartHook | None
    on_batch_end: BatchEndHook | None
    log_exception_text: bool
    logger: logging.Logger | None
    metrics: Any
    log_summary: bool


def _check_seconds(name: str, value: float | None, *, allow_zero: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds or None, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        least = "a finite number of at least 0" if allow_zero else "a finite positive number"
        raise ValueError(f"{name} must be {least}, got {value}")
    return float(value)


def _check_concurrency(max_concurrency: int) -> int:
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
        raise TypeError(f"max_concurrency must be an int, got {type(max_concurrency).__name__}")
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
    return max_concurrency


def _check_hook(name: str, hook: Any) -> Any:
    if hook is not None and not callable(hook):
        raise TypeError(f"{name} must be callable or None, got {type(hook).__name__}")
    return hook


_NO_BATCH = (
    "no batch is set up: call the processor first, as in "
    "`with processor(records, record_handler): processor.process()`"
)
_MISUSE = {
    ("start", BatchState.STARTED): "this batch is already inside a `with` block",
    ("start", BatchState.PROCESSING): "this batch is already being processed",
    ("start", BatchState.PROCESSED): "this batch is already processed",
    ("start", BatchState.FINISHED): (
        "this batch is finished: call processor(records, record_handler) to set up the next"
    ),
    ("process", BatchState.SET_UP): (
        "process() was called outside the `with processor(records, record_handler)` block"
    ),
    ("process", BatchState.PROCESSING): "process() was called twice for one batch",
    ("process", BatchState.PROCESSED): "process() was called twice for one batch",
    ("process", BatchState.FINISHED): (
        "this batch is finished: call processor(records, record_handler) to set up the next"
    ),
}


# The states as module constants: reading a member off an enum class costs about 0.2 us
# in Python 3.11, and a batch changes state five times.
_SET_UP = BatchState.SET_UP
_STARTED = BatchState.STARTED
_PROCESSING = BatchState.PROCESSING
_PROCESSED = BatchState.PROCESSED
_FINISHED = BatchState.FINISHED


def _misuse(step: str, state: BatchState) -> RuntimeError:
    return RuntimeError(_MISUSE[(step, state)])


async def _maybe_await(value: Any, *, detour: bool = False) -> None:
    """Await ``value`` when it is awaitable; with ``detour`` (a run without an event
    loop meeting a user's awaitable) on the sync bridge's loop."""
    if isawaitable(value):
        await (Detour(value) if detour else value)


def _awaiting(value: Any, *, detour: bool) -> Awaitable[Any]:
    """What to await for a hook's return value: a coroutine itself (the common case,
    without a coroutine more), else :func:`_maybe_await` of it."""
    if type(value) is CoroutineType and not detour:
        return value
    return _maybe_await(value, detour=detour)


_LOOP_FREE: dict[Callable[..., Any], Callable[[Any], None]] = {}
"""Each hook :func:`loop_free` made, and the plain method it made it of."""


class _Done:
    """What a hook of aiobatch's own returns: its work is done when the call returns,
    and awaiting it does nothing. So a subclass's override may call ``super()._clean()``
    from a plain ``def``, as Powertools' subclasses do, or await it from ``async def``."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        return
        yield  # a generator: awaiting it returns at once

    def __repr__(self) -> str:
        return "<aiobatch: done>"


DONE = _Done()


def loop_free(body: Callable[[Any], None]) -> Callable[[Any], Any]:
    """A hook of aiobatch's own (``_prepare``, ``_clean``) made of a plain method that
    never waits: calling it does the work and returns :data:`DONE`, which the lifecycle
    does not await, and a run without an event loop may call it."""

    if inspect.iscoroutinefunction(body):
        raise TypeError("loop_free takes a plain method")

    @functools.wraps(body)
    def hook(self: Any) -> Any:
        body(self)
        return DONE

    _LOOP_FREE[hook] = body  # by identity: functools.wraps copies attributes to wrappers
    return hook


def _nothing(self: Any) -> None:
    """A hook with nothing to do (a run as plain calls does not call it)."""


_NO_HOOK = loop_free(_nothing)


def _is_loop_free(method: Any) -> bool:
    """Whether ``method`` is a hook a run without an event loop may call: any plain
    (not ``async``) function, aiobatch's own ``loop_free`` hooks included."""
    return not _is_async_hook(method)


def _finish_plain(value: Any) -> None:
    """What a hook called as a plain call returned: an awaitable (a plain ``def`` that
    returned a coroutine) runs on the sync bridge's loop."""
    if value is not None and value is not DONE and isawaitable(value):
        detour(value)


def _is_async_hook(hook: Any) -> bool:
    return hook is not None and (
        inspect.iscoroutinefunction(hook)
        or inspect.iscoroutinefunction(getattr(hook, "__call__", None))  # noqa: B004
    )


class Step(NamedTuple):
    """How the engine runs a batch's records."""

    call: Callable[[Any], Any]
    concurrency: int
    inline: bool  # call returns the value, not an awaitable
    on_success: Callable[[int, Any, Any], RecordResult] | None  # None: the value is the result
    timed: bool = False  # call applies record_timeout itself


def _raw(record: Any) -> Any:
    if type(record) is dict:  # isinstance of an ABC runs Python code: the common case first
        return record
    return record.raw_event if isinstance(record, _DictWrapper) else record


# The hooks of Powertools' contract, which users override, mix in and patch: read
# afresh through the processor's class (and its bases, mixins included) at every batch
# and compared with what they were when its lane was made, so that a class patched
# after a processor's first batch (a test patching `BatchProcessor._clean`) is
# honoured. aiobatch's own private methods are read when a lane is made.
_HOOK_NAMES = ("_prepare", "_clean", "_process_record", "success_handler", "failure_handler")


class _Lane:
    """What a processor decides once per record handler, not per batch: how its
    batches run. Made again when the handler changes, when any attribute of the
    processor is set or deleted, or when its class or one of the hooks it takes from its
    bases (``_HOOK_NAMES``) changes: a processor's next batch takes the same decisions
    as a fresh processor's would."""

    __slots__ = (
        "call",
        "class_key",
        "clean",
        "cls",
        "custom_step",
        "direct",
        "event_name",
        "generation",
        "handler",
        "loop_free",
        "order",
        "plan",
        "prepare",
        "raw_failures",
        "raw_values",
        "step",
        "summarises",
        "traits",
        "view",
    )

    def __init__(
        self,
        handler: Any,
        generation: int,
        cls: type,
        class_key: tuple[Any, ...],
        event_name: str | None,
    ) -> None:
        self.handler = handler
        self.generation = generation  # the processor's, when this lane was made
        self.cls = cls  # the processor's class, and its hooks (see _HOOK_NAMES)
        self.class_key = class_key
        self.event_name = event_name
        self.view: Callable[[Any], Any] | None = None
        self.loop_free = False  # runs without an event loop (see _inline_ok)
        # _prepare and _clean as a run as plain calls calls them (None: nothing to do).
        self.prepare: Callable[[], Any] | None = None
        self.clean: Callable[[], Any] | None = None
        # _order's answer and so _direct_ok's, when they do not depend on the batch.
        self.order: tuple[bool, Stop] | None = None
        self.direct: bool | None = None
        # RecordHandlerProcessor's: the handler's traits; its call and the engine's step
        # when the same for every batch; whether successes and failures keep their
        # value or exception alone (success_handler, failure_handler are Powertools').
        self.traits: HandlerTraits | None = None
        self.call: HandlerCall | None = None
        self.step: Step | None = None
        self.plan: Plan | None = None  # see _plan_run
        self.custom_step = False  # a subclass's _process_record runs each record
        self.raw_values = False
        self.raw_failures = False
        # Something reads the batch's summary (on_batch_end, metrics, log_summary): it
        # is made at the batch's end, and the handlers are timed for it.
        self.summarises = False


class _Memo:
    """A processor's memory between batches, kept apart from its attributes: setting
    one of those makes the next batch decide its lane again (see ``__setattr__``)."""

    __slots__ = ("generation", "lane", "last", "traits")

    def __init__(self) -> None:
        self.lane: _Lane | None = None
        # Counts the processor's attribute changes: a lane made before the last one is
        # stale, even if another thread stored it after the change.
        self.generation = 0
        # The last handler's traits: inspect is slow, and a lane is made again whenever
        # an attribute is set (a hook that counts batches on the processor, say).
        self.traits: tuple[RecordHandler, HandlerTraits] | None = None
        # The last batch set up: for callers that never set one up (reading after a
        # facade, from another task or thread).
        self.last: Batch | None = None


class _Processor:
    """The lifecycle and bookkeeping common to both bases; not public."""

    source: EventSource | None = None
    """The event source this processor takes, when it is tied to one."""
    ordered = False
    """Whether records of one key run one at a time, in input order."""
    _stop = Stop.NOTHING
    _skipped_error: ClassVar[type[Exception]] = RecordSkippedError
    _group_skipped_error: ClassVar[type[Exception]] = RecordSkippedError
    _sync_hooks: ClassVar[bool] = False
    _policy: RetryPolicy | None = None
    """SQS processors' ``retry=`` and ``non_retryable=``, when either is on."""
    _alternative = "`await processor.aprocess()` inside `async with`"
    _class_key: ClassVar[operator.attrgetter[Any]] = operator.attrgetter(*_HOOK_NAMES)
    """What a lane depends on in the class (see _HOOK_NAMES)."""

    def __init__(
        self,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        record_timeout: float | None = None,
        deadline_margin: float | None = None,
        on_batch_start: BatchStartHook | None = None,
        on_batch_end: BatchEndHook | None = None,
        log_exception_text: bool = False,
        logger: logging.Logger | None = None,
        metrics: Any = None,
        log_summary: bool = False,
    ) -> None:
        self.max_concurrency = _check_concurrency(max_concurrency)
        if not isinstance(log_summary, bool):
            raise TypeError(f"log_summary must be True or False, got {log_summary!r}")
        self.log_summary = log_summary
        self._metrics = metrics_hooks(metrics)
        self.metrics = metrics
        self.log_exception_text = log_exception_text
        if logger is not None and not isinstance(logger, logging.Logger | logging.LoggerAdapter):
            raise TypeError(f"logger must be a logging.Logger, got {type(logger).__name__}")
        self.logger: logging.Logger | logging.LoggerAdapter[Any] = logger or _logger
        self.record_timeout = _check_seconds("record_timeout", record_timeout, allow_zero=False)
        self.deadline_margin = _check_seconds("deadline_margin", deadline_margin, allow_zero=True)
        self.on_batch_start = _check_hook("on_batch_start", on_batch_start)
        self.on_batch_end = _check_hook("on_batch_end", on_batch_end)
        # The batch of the caller's run: each task or thread that sets one up sees its
        # own; `_memo.last` serves callers that never set one up.
        self._batch_var: ContextVar[Batch | None] = ContextVar("aiobatch_batch", default=None)
        self._memo = _Memo()

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        memo = self.__dict__.get("_memo")
        if memo is not None:  # the next batch decides again how to run
            memo.generation += 1
            memo.lane = None

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        memo = self.__dict__.get("_memo")
        if memo is not None:
            memo.generation += 1
            memo.lane = None

    # Copies and pickles have the same settings, and a memory and current batch of
    # their own; what a processor holds that cannot or must not be copied (a delete-mode
    # processor's SQS clients) is shared by a deep copy.
    _shared_on_copy: ClassVar[frozenset[str]] = frozenset()
    _own_state = ("_memo", "_batch_var")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._own_state}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__["_memo"] = _Memo()
        self.__dict__["_batch_var"] = ContextVar("aiobatch_batch", default=None)

    def __copy__(self) -> Self:
        twin = type(self).__new__(type(self))
        twin.__setstate__(self.__getstate__())
        return twin

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        twin = type(self).__new__(type(self))
        memo[id(self)] = twin
        shared = self._shared_on_copy
        twin.__setstate__(
            {
                name: value if name in shared else copy.deepcopy(value, memo)
                for name, value in self.__getstate__().items()
            }
        )
        return twin

    # -- the batch of the caller's run, and its Powertools-style attributes --

    @property
    def batch(self) -> Batch | None:
        """The batch of the caller's current or last run, or ``None`` before any."""
        batch = self._batch_var.get()
        if batch is None:  # this task or thread never set one up: the last one made
            return self._memo.last
        return None if batch is _REFUSED else batch

    def _require_batch(self) -> Batch:
        batch = self.batch
        if batch is None:
            raise RuntimeError(_NO_BATCH)
        return batch

    @property
    def records(self) -> Sequence[Any]:
        """The records of the current batch (wrapped in record views)."""
        batch = self.batch
        return batch.records if batch is not None else []

    @property
    def handler(self) -> RecordHandler:
        """The record handler of the current batch."""
        return self._require_batch().handler

    @property
    def lambda_context(self) -> Any:
        batch = self.batch
        return batch.context if batch is not None else None

    @property
    def success_messages(self) -> list[Any]:
        """Records that succeeded in the current batch, as ``success_handler`` kept them."""
        batch = self.batch
        return batch.success_messages if batch is not None else []

    @property
    def fail_messages(self) -> list[Any]:
        """Records that failed in the current batch, as ``failure_handler`` kept them."""
        batch = self.batch
        return batch.fail_messages if batch is not None else []

    @property
    def exceptions(self) -> list[ExceptionInfo]:
        """The failures' ``(type, value, traceback)``, as Powertools keeps them."""
        batch = self.batch
        return batch.exceptions if batch is not None else []

    @property
    def failed_records(self) -> list[FailedRecord]:
        """The records that failed in the current batch, in input order, with exceptions."""
        batch = self.batch
        return batch.failed_records() if batch is not None else []

    # -- setting up --

    def __call__(
        self,
        records: Sequence[Any],
        record_handler: RecordHandler | None = None,
        lambda_context: LambdaContext | None = None,
        *,
        handler: RecordHandler | None = None,
    ) -> Self:
        """Set up a batch over ``records``; returns the processor for ``with``/``async with``.

        ``handler=`` is Powertools' name for ``record_handler``, accepted for migration.
        """
        if handler is not None:
            if record_handler is not None:
                raise TypeError("pass record_handler or handler, not both")
            record_handler = handler
        self._set_up(records, record_handler, lambda_context)
        return self

    def _set_up(self, records: Any, handler: Any, lambda_context: Any) -> Batch:
        """A new batch, validated, and the caller's current one from now on."""
        if not callable(handler):
            raise TypeError(f"record_handler must be callable, got {type(handler).__name__}")
        lane = self._lane(handler)
        try:
            parsed = self._parse_records(records)  # the built-in ones make a list already
        except BaseException:
            # Nothing of the last batch may show through once this one is refused, in
            # this task or thread (another's batch neither).
            self._batch_var.set(_REFUSED)
            self._memo.last = None
            raise
        batch = Batch(
            parsed if type(parsed) is list else list(parsed),
            handler,
            lambda_context,
            lane.event_name,
            lane.view,
            raw_values=lane.raw_values,
            raw_failures=lane.raw_failures,
        )
        batch.lane = lane
        self._batch_var.set(batch)
        self._memo.last = batch
        return batch

    def _lane(self, handler: RecordHandler) -> _Lane:
        """How this processor runs batches of ``handler``: as the last batch did, unless
        something changed since (see :class:`_Lane`)."""
        memo, cls = self._memo, type(self)
        lane = memo.lane
        class_key = cls._class_key(cls)
        if (
            lane is None
            or lane.generation != memo.generation
            or lane.cls is not cls
            or lane.class_key != class_key
            or not (lane.handler is handler or _same_handler(lane.handler, handler))
        ):
            lane = memo.lane = self._make_lane(handler, memo.generation, class_key)
        return lane

    def _make_lane(
        self, handler: RecordHandler, generation: int, class_key: tuple[Any, ...]
    ) -> _Lane:
        """Check ``handler`` and decide how its batches run."""
        source = self.source
        lane = _Lane(
            handler,
            generation,
            type(self),
            class_key,
            None if source is None else source.event_name,
        )
        lane.view = self._view()
        lane.summarises = self._summarises
        self._check_handler(lane)
        # A processor with something to run after _clean (delete mode) needs the loop.
        lane.loop_free = type(self)._after_clean is _Processor._after_clean and self._inline_ok(
            lane
        )
        if lane.loop_free:
            lane.prepare, lane.clean = self._plain_hook("_prepare"), self._plain_hook("_clean")
        if type(self)._order is _Processor._order:  # the same for every batch
            lane.order = (self.ordered, self._stop)
            lane.direct = lane.loop_free and self._direct_ok(*lane.order)
        return lane

    def _plain_hook(self, name: str) -> Callable[[], Any] | None:
        """Hook ``name`` as a run as plain calls calls it: bound, as any call of a hook,
        and for one of aiobatch's own, its body itself; None: nothing to do."""
        method = getattr(type(self), name)
        if method is _NO_HOOK:
            return None
        # Only a hook loop_free made has a body: not a wrapper of one, nor a mock.
        body = _LOOP_FREE.get(method) if type(method) is FunctionType else None
        bound: Callable[[], Any] = (
            getattr(self, name) if body is None else body.__get__(self, type(self))
        )
        return bound

    def _check_handler(self, lane: _Lane) -> None:
        """Reject a handler (``lane.handler``) that cannot work, before any record runs;
        note in ``lane`` what its batches need to know of it."""

    def _view(self) -> Callable[[Any], Any] | None:
        """What makes the record a handler gets (a record view) from the event's record;
        ``None``: the record as it is."""
        return None

    def _parse_records(self, records: Any) -> Sequence[Any]:
        """Validate the records of a batch; raises InvalidEventError."""
        if isinstance(records, str | bytes) or not isinstance(records, Sequence):
            return check_list(records)
        return records

    # -- the lifecycle --

    # Each step is its state change, its hooks and its work, from parts shared by two
    # drivers: the coroutines (any batch, on a loop or stepped without one), and their
    # twins of plain calls (`_direct`) for a batch of plain functions that needs no loop
    # and runs unordered, which costs a fraction of stepping the coroutines.

    async def _run(self, batch: Batch) -> Batch:
        """The whole lifecycle of one batch: start, process, finish."""
        await self._start(batch)
        try:
            await self._process(batch)
        finally:
            await self._finish(batch)
        return batch

    def _run_direct(self, batch: Batch) -> Batch:
        """:meth:`_run` as plain calls."""
        self._start_direct(batch)
        try:
            self._process_direct(batch)
        finally:
            self._finish_direct(batch)
        return batch

    def _advance(self, batch: Batch, step: str, expected: BatchState, to: BatchState) -> None:
        """Move ``batch`` on to the state ``to`` of lifecycle step ``step``, from the one
        that step expects, as the caller's current batch."""
        if batch.state is not expected:
            raise _misuse(step, batch.state)
        if self._batch_var.get() is not batch:  # a set costs 0.3 us; mostly it is set
            self._batch_var.set(batch)
        batch.state = to

    def _begin_start(self, batch: Batch) -> None:
        self._advance(batch, "start", _SET_UP, _STARTED)
        batch.started_at = time.perf_counter()

    async def _start(self, batch: Batch) -> None:
        self._begin_start(batch)
        try:
            if self.on_batch_start is not None:
                await self._fire("on_batch_start", self.on_batch_start, batch)
            prepared = self._prepare()
            if prepared is not None and prepared is not DONE:
                await _awaiting(prepared, detour=batch.inline)
        except BaseException:
            await self._finish(batch)
            raise

    def _start_direct(self, batch: Batch) -> None:
        self._begin_start(batch)
        try:
            if self.on_batch_start is not None:
                self._fire_direct("on_batch_start", self.on_batch_start, batch)
            prepare = batch.lane.prepare
            if prepare is not None:
                prepared = prepare()
                if prepared is not None and prepared is not DONE:
                    _finish_plain(prepared)
        except BaseException:
            self._finish_direct(batch)
            raise

    def _begin_process(self, batch: Batch) -> float:
        self._advance(batch, "process", _STARTED, _PROCESSING)
        return time.perf_counter()

    def _end_process(self, batch: Batch, began: float) -> None:
        batch.processing_time = time.perf_counter() - began
        if batch.failures:
            self._log_summaries(batch)

    def _processed(self, batch: Batch) -> None:
        batch.completed = True
        batch.state = _PROCESSED

    async def _process(self, batch: Batch) -> None:
        began = self._begin_process(batch)
        try:
            await self._plan_run(batch).run()
        finally:
            self._end_process(batch, began)
        self._processed(batch)

    def _process_direct(self, batch: Batch) -> None:
        began = self._begin_process(batch)
        try:
            self._plan_run(batch).run_direct()
        finally:
            self._end_process(batch, began)
        self._processed(batch)

    def _end(self, batch: Batch) -> None:
        batch.state = _FINISHED
        batch.ended_at = time.perf_counter()

    async def _finish(self, batch: Batch) -> None:
        """Clean up when every record has an outcome; end the batch either way."""
        if batch.state is _FINISHED:
            return
        if self._batch_var.get() is not batch:  # a set costs 0.3 us; mostly it is set
            self._batch_var.set(batch)
        try:
            if batch.state is _PROCESSED:
                policy = self._policy
                if policy is not None and batch.failures:
                    await self._apply_policy(policy, batch)
                cleaned = self._clean()
                if cleaned is not None and cleaned is not DONE:
                    await _awaiting(cleaned, detour=batch.inline)
                after = self._after_clean(batch)
                if after is not None:
                    await (Detour(after) if batch.inline else after)
        finally:
            self._end(batch)
            if batch.lane.summarises:
                summary = batch.summary()
                if self.on_batch_end is not None:
                    await self._fire("on_batch_end", self.on_batch_end, summary)
                self._report(summary)

    def _finish_direct(self, batch: Batch) -> None:
        if batch.state is _FINISHED:
            return
        if self._batch_var.get() is not batch:  # a set costs 0.3 us; mostly it is set
            self._batch_var.set(batch)
        try:
            if batch.state is _PROCESSED:
                clean = batch.lane.clean
                if clean is not None:
                    cleaned = clean()
                    if cleaned is not None and cleaned is not DONE:
                        _finish_plain(cleaned)
        finally:
            self._end(batch)
            if batch.lane.summarises:
                summary = batch.summary()
                if self.on_batch_end is not None:
                    self._fire_direct("on_batch_end", self.on_batch_end, summary)
                self._report(summary)

    @property
    def _summarises(self) -> bool:
        """Whether a batch's end makes its summary: something reads it. Decided once
        per lane (``lane.summarises``): about 0.4 us a call."""
        return self.on_batch_end is not None or bool(self._metrics) or self.log_summary

    def _report(self, summary: BatchSummary) -> None:
        """The summary to ``metrics=`` and, with ``log_summary=True``, to the log. A
        metrics hook that raises is logged and changes nothing."""
        for hook in self._metrics:
            try:
                hook(summary)
            except Exception as exc:
                self._hook_failed("metrics", exc)
        if self.log_summary and self.logger.isEnabledFor(logging.INFO):
            self.logger.info("%s", summary_line(summary))

    async def _apply_policy(self, policy: RetryPolicy, batch: Batch) -> None:
        """Send the non-retryable failures to the dead-letter queue and back the others
        off, before ``_clean`` reports or deletes (see :mod:`aiobatch._retry`)."""
        deadline = batch.deadline
        try:
            outcome = await policy.apply(
                batch, deadline=None if deadline is None else deadline.cleanup_end
            )
        except Exception as exc:  # a defect: the failures stay failures, none is lost
            self.logger.error(
                "the retry policy failed (%s); the failed records are reported as usual",
                describe(exc),
                exc_info=exc if self.logger.isEnabledFor(logging.DEBUG) else None,
            )
            return
        batch.dead_lettered = outcome.dead_lettered
        batch.dead_letter_failed = outcome.dead_letter_failed
        batch.backoff_set = outcome.backoff_set
        batch.backoff_failed = outcome.backoff_failed

    async def _fire(self, name: str, hook: Callable[[Any], Any] | None, argument: Any) -> None:
        """Call a hook; one that raises is logged and changes nothing."""
        if hook is None:
            return
        batch = argument if isinstance(argument, Batch) else self.batch
        try:
            await _maybe_await(hook(argument), detour=batch is not None and batch.inline)
        except Exception as exc:
            self._hook_failed(name, exc)

    def _fire_direct(self, name: str, hook: Callable[[Any], Any], argument: Any) -> None:
        try:
            _finish_plain(hook(argument))
        except Exception as exc:
            self._hook_failed(name, exc)

    def _hook_failed(self, name: str, exc: Exception) -> None:
        self.logger.error(
            "the %s hook raised %s; the batch is unaffected",
            name,
            describe(exc, full=self.log_exception_text),
            exc_info=exc if self.logger.isEnabledFor(logging.DEBUG) else None,
        )

    # -- running the records --

    def _plan_run(self, batch: Batch) -> Run[Any, RecordResult]:
        """The engine's run of the batch's records, ready to go."""
        loopless = batch.inline
        deadline = batch.deadline = (
            None
            if batch.context is None
            else Deadline.from_context(
                batch.context,
                time.monotonic() if loopless else asyncio.get_running_loop().time(),
                margin=self.deadline_margin,
                cleanup_allowance=self._cleanup_allowance(),
            )
        )
        lane: _Lane = batch.lane
        lane_step = self._step(batch)
        step, concurrency, inline, on_success, timed = lane_step
        source = self.source
        order = lane.order
        ordered, stop = self._order(batch) if order is None else order
        keys = None
        if ordered and source is not None:
            order_key = source.order_key
            keys = [order_key(_raw(record)) for record in batch.raw_records]
        # A batch without a deadline, unordered, run without a loop on its lane's step
        # (a test's, a worker's), runs on its lane's plan: one made for the first.
        shared = deadline is None and keys is None and loopless and lane_step is lane.step
        plan = lane.plan if shared else None
        if plan is None:
            plan = plan_of(
                (
                    concurrency,
                    keys,
                    stop,
                    None if deadline is None else deadline.batch_end,  # deadline
                    "" if deadline is None else deadline.describe,  # deadline_text
                    None if timed else self.record_timeout,  # item_timeout
                    inline,  # sync_step
                    self._skipped_error,  # skipped
                    self._group_skipped_error,  # group_skipped
                    loopless,  # inline
                    batch.view,  # view
                )
            )
            if shared:
                lane.plan = plan
        records = batch.raw_records
        batch.values = [UNSET] * len(records)
        if lane.summarises:
            batch.handler_times = []
            step = _timed(step, inline, batch.handler_times)
        return Run(records, step, on_success, self._on_error(batch), plan, batch.values)

    def _step(self, batch: Batch) -> Step:
        """The engine's step for each record: here, the subclass's ``_process_record``.

        A failure it reports by returning (a ``"fail"`` tuple, or calling
        ``failure_handler``) is raised to the engine as :class:`_Reported`, so that the
        engine stops as it does for any failure (FIFO, ``stop_on_first_failure``)."""
        inline = self._sync_hooks
        concurrency = 1 if inline else self.max_concurrency
        process, outcome = self._process_record, self._custom_outcome(batch)
        step: Callable[[Any], Any]
        if inline:

            def step(record: Any) -> Any:
                result = process(record)
                if result is not None and type(result) is not tuple and isawaitable(result):
                    _close(result)
                    raise TypeError(
                        "_process_record returned an awaitable, so the record did not run: "
                        "a BasePartialProcessor's hooks are plain functions; subclass "
                        "AsyncBasePartialProcessor for async ones"
                    )
                return outcome(record, result)
        else:

            async def step(record: Any) -> Any:
                result = process(record)
                if isawaitable(result):  # an async subclass's; a plain override's is not
                    result = await result
                return outcome(record, result)

        return Step(step, concurrency, inline, None)

    def _inline_ok(self, lane: _Lane) -> bool:
        """Whether the batch can run without an event loop: plain functions only, one at
        a time, nothing to time out (see ``_runner.run_inline``)."""
        return (
            self._sync_hooks
            and self.record_timeout is None
            and not _is_async_hook(self.on_batch_start)
            and not _is_async_hook(self.on_batch_end)
        )

    def _run_sync(
        self,
        alternative: str,
        step: Callable[[Batch], Coroutine[Any, Any, T]],
        direct: Callable[[Batch], T],
        batch: Batch,
    ) -> T:
        """Run a lifecycle step to the end from sync code: without an event loop when
        nothing in the batch needs one (as plain calls, ``direct``, when it also runs
        unordered), else on the sync bridge's loop."""
        lane: _Lane = batch.lane
        if not lane.loop_free:
            return run_sync(alternative, step, batch)
        plain = lane.direct
        if plain is None:
            plain = self._direct_ok(*self._order(batch))
        batch.inline = True
        try:
            if plain:
                refuse_in_loop(alternative)
                # In a copy of the caller's context, as a task would be: context
                # variables a handler sets do not leak into the caller.
                return contextvars.copy_context().run(direct, batch)
            return run_inline(alternative, step, batch)
        finally:
            batch.inline = False

    def _direct_ok(self, ordered: bool, stop: Stop) -> bool:
        """Whether a batch that needs no loop, run in that order (see :meth:`_order`),
        can run as plain calls: records of the processor's own step, unordered, that
        stop only at the deadline."""
        return False

    def _order(self, batch: Batch) -> tuple[bool, Stop]:
        """Whether the records of one key run in order, and what a failure stops."""
        return self.ordered, self._stop

    def _cleanup_allowance(self) -> float:
        """Seconds ``_clean`` needs before it can start (delete mode: making the SQS
        client the first time), added to the deadline margin."""
        return 0.0

    def _record_id(self, record: Any) -> str:
        """How logs name a record: what ``batchItemFailures`` names it by."""
        source = self.source
        return log_id(_raw(record)) if source is None else source.log_name(_raw(record))

    def _note_failure(self, batch: Batch, index: int, record: Any, exc: BaseException) -> None:
        """Keep a failure, and log it: the first of a batch at once, at WARNING; the
        others in summary lines when the records have run (a line costs about 9 us, a
        traceback about 80), each also on a line of its own at DEBUG, with traceback.

        The exception's text only with log_exception_text=True: it can hold the
        record's data (and so can a traceback, which shows it: DEBUG only)."""
        batch.failures[index] = exc
        batch.note_failed_view(index, record)
        if isinstance(exc, _UNFINISHED):
            # Never ran, or cut short: summarised, not thousands of lines eating the
            # time left before Lambda's timeout.
            return
        logger = self.logger
        if batch.first_failure is None:
            batch.first_failure = index
            if logger.isEnabledFor(logging.WARNING):
                logger.warning(
                    "record %s failed: %s",
                    self._record_id(record),
                    describe(exc, full=self.log_exception_text),
                    exc_info=exc if logger.isEnabledFor(logging.DEBUG) else None,
                )
        elif logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "record %s failed: %s",
                self._record_id(record),
                describe(exc, full=self.log_exception_text),
                exc_info=exc,
            )

    def _on_error(self, batch: Batch) -> Callable[[int, Any, Exception], RecordResult]:
        failure_handler = self.failure_handler
        handler_failures = batch.handler_failures

        def on_error(index: int, record: Any, exc: Exception) -> RecordResult:
            if isinstance(exc, _Reported):  # failure_handler has had its say already
                self._note_failure(batch, index, record, exc.exception)
                return exc.result
            self._note_failure(batch, index, record, exc)
            # Powertools passes sys.exc_info() by keyword; overrides written for it unpack
            # it. aiobatch's own failure_handler takes that or the exception itself.
            entry = failure_handler(record=record, exception=(type(exc), exc, exc.__traceback__))
            handler_failures.pop(id(record), None)
            return entry if entry is not None else fail_entry(record, exc)

        return on_error

    def _custom_outcome(self, batch: Batch) -> Callable[[Any, Any], RecordResult]:
        """Read the outcome of a custom ``_process_record`` from what it returned, or,
        when it returned nothing usable, from whether it called ``failure_handler``;
        raise :class:`_Reported` for a failure."""
        handler_failures = batch.handler_failures

        def outcome(record: Any, result: Any) -> RecordResult:
            exc = handler_failures.pop(id(record), None)
            said = result[0] if isinstance(result, tuple) and result else None
            if said == "success" and len(result) > 1 and isawaitable(result[1]):
                # A plain _process_record that called an async handler without awaiting
                # it: the handler never ran.
                _close(result[1])
                batch.forget_success(record)
                raise TypeError(
                    "_process_record reported a success whose result is an awaitable it "
                    "never awaited (an async record handler called from a plain "
                    "_process_record): the handler did not run"
                )
            if said == "success" or (said is None and exc is None):
                return result if said is not None else ("success", None, record)
            if exc is None:
                exc = RuntimeError("_process_record reported the record failed")
            raise _Reported(result if said is not None else fail_entry(record, exc), exc)

        return outcome

    def _log_summaries(self, batch: Batch) -> None:
        """Name every failure not logged on its own line yet: at most
        ``IDS_PER_LINE`` identifiers a line, so that each can be found by its
        identifier."""
        if not batch.failures or not self.logger.isEnabledFor(logging.WARNING):
            return
        more: list[tuple[str, str]] = []
        unfinished: list[str] = []
        records, failures, first = batch.raw_records, batch.failures, batch.first_failure
        for index in sorted(failures):
            exc = failures[index]
            if isinstance(exc, _UNFINISHED):
                unfinished.append(self._record_id(records[index]))
            elif index != first:
                more.append(
                    (self._record_id(records[index]), describe(exc, full=self.log_exception_text))
                )
        if more:
            for part, chunk, parts in _chunks(more):
                by_reason: dict[str, list[str]] = {}
                for name, why in chunk:
                    by_reason.setdefault(why, []).append(name)
                self.logger.warning(
                    "%d more records failed (%d of %d): %s",
                    len(more),
                    part,
                    parts,
                    "; ".join(f"{why}: {', '.join(names)}" for why, names in by_reason.items()),
                )
        if unfinished:
            for part, names, parts in _chunks(unfinished):
                self.logger.warning(
                    "%d records are reported failed for no failure of their own (cut short "
                    "or not started at the deadline, or not started or finished after an "
                    "earlier record failed) (%d of %d): %s",
                    len(unfinished),
                    part,
                    parts,
                    ", ".join(names),
                )

    # -- the Powertools contract --

    def success_handler(self, record: Any, result: Any) -> SuccessResponse:
        """Keep a success; override to do more (call ``super()`` to keep the bookkeeping)."""
        entry: SuccessResponse = ("success", result, record)
        self.success_messages.append(record)
        return entry

    def failure_handler(
        self, record: Any, exception: BaseException | ExceptionInfo | tuple[None, None, None]
    ) -> FailureResponse:
        """Keep a failure; override to do more (call ``super()`` to keep the bookkeeping).

        aiobatch calls it as Powertools does, ``failure_handler(record=...,
        exception=sys.exc_info())``: ``exception`` is a ``(type, value, traceback)``
        tuple. Called from a custom ``_process_record``, it also takes the exception
        itself: ``self.failure_handler(record, exc)``.
        """
        if isinstance(exception, tuple):  # sys.exc_info(), as Powertools passes it
            exception = exception[1] or RuntimeError(
                "failure_handler was given sys.exc_info() outside an except block"
            )
        entry: FailureResponse = (
            "fail",
            f"{type(exception).__name__}:{text_of(exception)}",
            record,
        )
        batch = self.batch
        if batch is not None:
            batch.keep_failure(record, exception)
            batch.handler_failures[id(record)] = exception
        return entry

    def _after_clean(self, batch: Batch) -> Awaitable[None] | None:
        """What must run when ``_clean`` has returned, should an override of it not
        have awaited the parent's (delete mode's deletes); ``None``: nothing."""
        return None

    def _prepare(self) -> Any:
        """Called once before processing; may be ``async def``."""

    def _clean(self) -> Any:
        """Called once after processing; may be ``async def``."""

    def _process_record(self, record: Any) -> Any:
        """Process one record; return ``success_handler(...)`` or ``failure_handler(...)``."""
        raise NotImplementedError

    # -- facades --

    async def aprocess(self) -> list[RecordResult]:
        """Run every record of the current batch; one result tuple per record, in input
        order."""
        batch = self._require_batch()
        await self._process(batch)
        return _results_of(batch)

    def process(self) -> list[RecordResult]:
        """Sync facade of :meth:`aprocess`."""
        batch = self._require_batch()
        self._run_sync(self._alternative, self._process, self._process_direct, batch)
        return _results_of(batch)

    def __enter__(self) -> Self:
        self._run_sync(_IN_BLOCK, self._start, self._start_direct, self._require_batch())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        batch = self._require_batch()
        processed = batch.state is not _STARTED
        self._run_sync(_IN_BLOCK, self._finish, self._finish_direct, batch)
        if not processed and exc_type is None:
            raise RuntimeError(_LEFT_EARLY)

    async def __aenter__(self) -> Self:
        await self._start(self._require_batch())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        batch = self._require_batch()
        processed = batch.state is not _STARTED
        await self._finish(batch)
        if not processed and exc_type is None:
            raise RuntimeError(_LEFT_EARLY)


_IN_BLOCK = "`async with processor(records, record_handler)`"
_LEFT_EARLY = (
    "the `with processor(records, record_handler)` block ended without "
    "processor.process() (or `await processor.aprocess()`): no record was processed"
)


_UNFINISHED = (DeadlineExceededError, RecordSkippedError)


def _timed(step: Callable[[Any], Any], inline: bool, times: list[float]) -> Callable[[Any], Any]:
    """``step``, noting how long each call took (for the summary's handler times).
    Only when something reads the summary: about 0.3 us a record."""
    clock = time.perf_counter
    if inline:

        def timed(record: Any) -> Any:
            began = clock()
            try:
                return step(record)
            finally:
                times.append(clock() - began)

        return timed

    async def timed_async(record: Any) -> Any:
        began = clock()
        try:
            return await step(record)
        finally:
            times.append(clock() - began)

    return timed_async


_REFUSED: Any = object()
"""The caller's batch when its last set-up was refused: it has none, whatever ``_last``."""


class _Reported(Exception):
    """A failure a custom ``_process_record`` reported by returning, raised to the engine
    so that it counts (and stops) as any failure; ``result`` is what it returned."""

    def __init__(self, result: RecordResult, exception: BaseException) -> None:
        self.result = result
        self.exception = exception


def _chunks(items: list[T]) -> list[tuple[int, list[T], int]]:
    """``items`` in parts of at most ``IDS_PER_LINE``: (part number, part, parts)."""
    parts = -(-len(items) // IDS_PER_LINE)
    return [
        (number + 1, items[number * IDS_PER_LINE : (number + 1) * IDS_PER_LINE], parts)
        for number in range(parts)
    ]


def _close(awaitable: Any) -> None:
    """Close a coroutine that will not be awaited (no "never awaited" warning)."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


def _same_handler(cached: Any, handler: Any) -> bool:
    """The same handler: the very object, or a bound method of the very same object (a
    new one is made at each attribute access). Never merely equal objects: the call
    made for one must not run the other."""
    return cached is handler or (
        type(handler) is MethodType and type(cached) is MethodType and cached == handler
    )


def _results_of(batch: Batch) -> list[RecordResult]:
    results = batch.results
    assert results is not None  # processed
    return results


class AsyncBasePartialProcessor(_Processor, ABC):
    """Base of async processors.

    A subclass implements ``_prepare``, ``_clean`` and ``_process_record`` as
    ``async def``; records run concurrently, at most ``max_concurrency`` at once:

    ```python
    async with processor(records, record_handler):
        results = await processor.aprocess()
    ```

    or, from plain sync code, ``with processor(...): processor.process()``.
    """

    # Typed Any: an `async def` (a custom processor's), or a plain `def` overriding a
    # built-in processor's hook and calling super() (Powertools' way), or an `async def`
    # awaiting super()'s (see loop_free).

    @abstractmethod
    def _prepare(self) -> Any:
        """Called once before processing; ``async def`` in a subclass (which may await
        ``super()._prepare()``: it does nothing)."""
        return DONE

    @abstractmethod
    def _clean(self) -> Any:
        """Called once after processing, when the context manager exits; ``async def``
        in a subclass (which may await ``super()._clean()``: it does nothing)."""
        return DONE

    @abstractmethod
    async def _process_record(self, record: Any) -> RecordResult:
        """Process one record; return ``success_handler(...)`` or ``failure_handler(...)``."""


class BasePartialProcessor(_Processor, ABC):
    """Base of processors written with plain ``def`` hooks.

    A subclass implements ``_prepare``, ``_clean`` and ``_process_record`` as plain
    functions; records run one at a time, in input order, on the same engine as the
    async processors. Inside ``_process_record``, ``self.handler(record)`` is the
    record handler.
    """

    _sync_hooks = True
    _alternative = "`await processor.aprocess()`"

    @abstractmethod
    def _prepare(self) -> None:
        """Called once before processing."""

    @abstractmethod
    def _clean(self) -> None:
        """Called once after processing, when the context manager exits."""

    @abstractmethod
    def _process_record(self, record: Any) -> RecordResult:
        """Process one record; return ``success_handler(...)`` or ``failure_handler(...)``."""


class RecordHandlerProcessor(AsyncBasePartialProcessor):
    """What the built-in processors share: they run a user's record handler.

    The handler may be ``async def`` (run concurrently, at most ``max_concurrency`` at
    once) or plain ``def`` (run inline, one at a time, in input order; with
    ``use_threads=True`` in worker threads, at most ``max_concurrency`` at once).
    """

    def __init__(self, *, use_threads: bool = False, **options: Unpack[ProcessorOptions]) -> None:
        super().__init__(**options)
        self.use_threads = use_threads
        self._pool = ThreadPool()  # no thread until a record runs in one

    sqs: Any = None
    """The SQS actions of delete mode and of the retry policy (``retry=``,
    ``non_retryable=``); ``None`` when the processor calls no SQS."""

    # Its clients are bound to their event loops: a deep copy shares them.
    _shared_on_copy = frozenset({"sqs"})

    @property
    def retry(self) -> Backoff | None:
        """SQS: the visibility backoff of failed records (``retry=``), or ``None``."""
        return None if self._policy is None else self._policy.backoff

    async def aclose(self) -> None:
        """Close the SQS clients made on the running event loop now (a worker that is
        done with this processor); otherwise they close when their loop shuts down.
        Nothing to do for a processor that calls no SQS."""
        if self.sqs is not None:
            await self.sqs.aclose()

    def close(self) -> None:
        """Close the SQS clients the sync facade's event loop made (sync code that is
        done with this processor); otherwise they close at process exit."""
        if self.sqs is not None:
            run_sync("`await processor.aclose()`", self.aclose)

    @property
    def _threads(self) -> ThreadPool | None:
        """The worker threads of ``use_threads=True`` (read when set later, too)."""
        return self._pool if self.use_threads else None

    @property
    def _custom_step(self) -> bool:
        """Whether a subclass, or this very processor (a test's patch, say), has its own
        ``_process_record``."""
        return (
            type(self)._process_record is not RecordHandlerProcessor._process_record
            or "_process_record" in self.__dict__
        )

    def _default_handler(self, name: str) -> bool:
        """Whether ``success_handler``/``failure_handler`` is Powertools' own."""
        return getattr(type(self), name) is getattr(_Processor, name) and name not in self.__dict__

    def _check_handler(self, lane: _Lane) -> None:
        memo, handler = self._memo, lane.handler
        cached = memo.traits
        if cached is not None and _same_handler(cached[0], handler):
            lane.traits = cached[1]
        else:
            lane.traits = handler_traits(handler)
            memo.traits = (handler, lane.traits)

    def _make_lane(
        self, handler: RecordHandler, generation: int, class_key: tuple[Any, ...]
    ) -> _Lane:
        lane = super()._make_lane(handler, generation, class_key)
        if self._custom_step:  # a subclass customised the per-record step
            lane.custom_step = True
            return lane
        lane.raw_values = self._default_handler("success_handler")
        lane.raw_failures = self._default_handler("failure_handler")
        traits = lane.traits
        assert traits is not None  # _check_handler
        if not traits.wants_context and self._threads is None:
            # The same call for every batch (one in threads is bound to its loop, one
            # that passes lambda_context to the handler to its batch's context).
            call = lane.call = self._make_call(handler, traits, None)
            lane.step = Step(call.call, call.concurrency, call.inline, None, call.timed)
        return lane

    def _convert(self) -> Callable[[Any], Any] | None:
        """What turns a record into the handler's input, when more than the identity."""
        return None

    def _make_call(
        self, handler: RecordHandler, traits: HandlerTraits, context: Any
    ) -> HandlerCall:
        return make_call(
            handler,
            traits,
            lambda_context=context,
            max_concurrency=self.max_concurrency,
            threads=self._threads,
            timeout=self.record_timeout,
            convert=self._convert(),
        )

    def _handler_call(self, batch: Batch) -> HandlerCall:
        call: HandlerCall | None = batch.handler_call
        if call is None:
            lane = batch.lane
            call = lane.call
            if call is None:
                assert lane.traits is not None  # _check_handler
                call = self._make_call(batch.handler, lane.traits, batch.context)
            batch.handler_call = call
        return call

    _prepare = _NO_HOOK
    _clean = _NO_HOOK

    def _direct_ok(self, ordered: bool, stop: Stop) -> bool:
        return not ordered and stop is Stop.NOTHING  # and, as _inline_ok says, our own step

    def _inline_ok(self, lane: _Lane) -> bool:
        own = self.__dict__  # hooks set on this very processor
        cls = type(self)
        return (
            _is_loop_free(cls._prepare)
            and _is_loop_free(cls._clean)
            and cls._process_record is RecordHandlerProcessor._process_record
            and "_prepare" not in own
            and "_clean" not in own
            and "_process_record" not in own
            and self._threads is None
            and self.record_timeout is None
            and self._policy is None  # its calls are on the event loop
            and lane.traits is not None
            and not lane.traits.is_async
            and (self.on_batch_start is None or not _is_async_hook(self.on_batch_start))
            and (self.on_batch_end is None or not _is_async_hook(self.on_batch_end))
        )

    async def _process_record(self, record: Any) -> RecordResult:
        call = self._handler_call(self._require_batch())
        try:
            value = call.call(record)
            result = await value if not call.inline or isawaitable(value) else value
        except Exception as exc:
            return self.failure_handler(record, exc)
        return self.success_handler(record, result)

    def _step(self, batch: Batch) -> Step:
        lane: _Lane = batch.lane
        if lane.custom_step:  # a subclass customised the per-record step
            return super()._step(batch)
        if lane.raw_values and lane.step is not None:  # the same for every batch
            return lane.step
        on_success = self._on_success(batch)
        call = self._handler_call(batch)
        return Step(call.call, call.concurrency, call.inline, on_success, call.timed)

    def _on_error(self, batch: Batch) -> Callable[[int, Any, Exception], RecordResult]:
        if not batch.lane.raw_failures:
            return super()._on_error(batch)
        # Nothing to do per failure but keep and log it: the result tuple, fail_messages
        # and exceptions are made from it if and when someone reads them.
        note = self._note_failure

        def on_error(index: int, record: Any, exc: Exception) -> Any:
            note(batch, index, record, exc)
            return exc

        return on_error

    def _on_success(self, batch: Batch) -> Callable[[int, Any, Any], RecordResult] | None:
        if batch.lane.raw_values:
            # Nothing to do per success: the engine keeps the value; the result tuple and
            # success_messages are made from it if and when someone reads them.
            return None
        success_handler = self.success_handler

        def on_success(index: int, record: Any, value: Any) -> RecordResult:
            entry = success_handler(record, value)
            return entry if entry is not None else ("success", value, record)

        return on_success

"""The one processing loop: a bounded pool of worker tasks pulling items.

A fixed pool of workers pulls from one source of work inside an ``asyncio.TaskGroup``:
a shared iterator when order does not matter (about 1 µs an item; a task per item
under a semaphore costs about 10 µs), or a scheduler that starts items in input order
but holds an item back while an earlier item of its key (a FIFO message group, a
partition key) is unfinished.

Per-item errors are values: a worker catches ``Exception`` around one step and
records what ``on_error`` makes of it. It never catches ``BaseException``:
cancellation, ``KeyboardInterrupt`` and ``SystemExit`` stop the run, cancel the other
workers and propagate. The one exception is the run's own deadline: when it passes,
the unfinished items are cancelled and reported as ``TimeoutError``, and the run
returns normally so that the caller can still report and clean up.
"""

from __future__ import annotations

import enum
import functools
import heapq
import time
import types
from collections import deque
from collections.abc import (
    Awaitable,
    Callable,
    Coroutine,
    Hashable,
    Iterator,
    Sequence,
)
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from ._exceptions import DeadlineExceededError as DeadlineError
from ._exceptions import RecordSkippedError as SkippedError
from ._exceptions import RecordTimeoutError
from ._lazy import LazyModule
from ._runner import Detour, detour

if TYPE_CHECKING:
    import asyncio
else:
    asyncio = LazyModule("asyncio", globals())

R = TypeVar("R")
T = TypeVar("T")


class Stop(enum.Enum):
    """What a failure stops."""

    NOTHING = "nothing"
    BATCH = "batch"  # no further item starts
    KEY = "key"  # no further item of the failed item's key starts


class Plan(NamedTuple):
    """How to run a batch; the defaults run everything, unordered, without a deadline."""

    concurrency: int = 1
    keys: Sequence[Hashable | None] | None = None  # an item waits for earlier items of its key
    stop: Stop = Stop.NOTHING
    deadline: float | None = None  # loop.time() after which nothing starts or runs on
    # Why an item the deadline stopped failed; a function when only worth making if used.
    deadline_text: str | Callable[[], str] = "the batch deadline passed"
    item_timeout: float | None = None  # seconds one step may take
    sync_step: bool = False  # step returns its value instead of an awaitable
    skipped: type[Exception] = SkippedError  # what an item skipped after a failure gets
    group_skipped: type[Exception] = SkippedError  # ... after a failure of its key
    inline: bool = False  # no event loop (see _runner.run_inline): deadline on time.monotonic
    # What a step gets of a stored item (a record view of a record), made as the item
    # starts: nothing is kept for an item that succeeds.
    view: Callable[[Any], Any] | None = None


_STOP_BATCH = Stop.BATCH  # reading an enum member off its class costs about 0.2 us
_NONE_FINISHED: Any = types.MappingProxyType({})  # a run's `finished` until it is in order

plan_of: Callable[[tuple[Any, ...]], Plan] = functools.partial(tuple.__new__, Plan)
"""A :class:`Plan` of a tuple of all its fields in order: ``Plan(...)`` without the
Python-level ``__new__`` of a NamedTuple (a plan is made per batch)."""

UNSET: Any = object()
"""An item's result before it has one."""

_GENERATORS = (types.GeneratorType, types.AsyncGeneratorType)
# What a handler commonly returns, which is neither awaitable nor a generator: no need
# to ask (inspect.isawaitable costs about as much as the rest of a record's step).
_PLAIN = frozenset({str, bytes, int, float, bool, dict, list, tuple})


def _not_run() -> TypeError:
    """What a plain function that returned a generator gets: its body never ran."""
    return TypeError(
        "the record handler returned a generator, so its body never ran: a record handler "
        "must handle the record, not yield"
    )


class Run(Generic[R, T]):
    # What most runs never change, as class attributes: a run is made per batch.
    stopped = False  # no further item starts
    deadline_hit = False  # the deadline cancelled items under way
    too_close = 0.0  # >0: stopped that long before the deadline (see may_start)
    worker_died = False  # a worker ended by a CancelledError of its item's own
    failed_keys: frozenset[Hashable] | set[Hashable] = frozenset()  # the scheduler's set
    scheduler: _Scheduler[Any, Any] | None = None  # when ordered by key
    # Workers start as they are needed (see add_worker): how many more may start,
    # whether one is on its way and has not run yet, and what starts one.
    spare_workers = 0
    starting = False
    spawn: Callable[[], object] = staticmethod(lambda: None)
    next_to_settle = 0
    failed_before = False  # a failure was settled: later items fail too
    longest = 0.0  # the longest inline step so far, in seconds
    began = 0.0  # when the last inline step began (see inline_items)
    # Inline (one worker, plain functions, no loop): the deadline is on time.monotonic
    # and is checked between items; nothing runs that could be cancelled.
    loop: asyncio.AbstractEventLoop | None = None
    clock: Callable[[], float] = time.monotonic
    # Stop.BATCH reports outcomes in input order: the first failure and everything after
    # it fail, whatever order they finished in (see settle). Items done and not yet
    # settled wait in `finished`, a dict of the run's own then.
    in_order = False
    finished: dict[int, tuple[Any, Any, bool]] = _NONE_FINISHED

    def __init__(
        self,
        items: Sequence[R],
        step: Callable[[R], Any],
        on_success: Callable[[int, R, Any], T] | None,
        on_error: Callable[[int, R, Exception], T],
        plan: Plan,
        results: list[T] | None = None,
    ) -> None:
        self.items = items
        self.step = step
        self.on_success = on_success
        self.on_error = on_error
        self.plan = plan
        self.results: list[T] = [UNSET] * len(items) if results is None else results
        if not plan.inline:
            loop = self.loop = asyncio.get_running_loop()
            self.clock = loop.time
        if plan.stop is _STOP_BATCH:
            self.in_order = True
            self.finished = {}

    def add_worker(self) -> None:
        """Called as a worker takes an item while others are left: have one more worker
        start when the loop next runs, unless one is on its way already (then not every
        worker is busy). Steps that never wait keep the loop from running until the
        batch is done, and so run in one worker, in the caller's task; steps that wait
        get a worker more each time every worker waits, up to the limit."""
        if self.starting or not self.spare_workers:
            return
        self.starting = True
        assert self.loop is not None  # an inline run has one worker
        self.loop.call_soon(self.start_worker)

    def start_worker(self) -> None:
        self.starting = False
        if self.spare_workers and not self.stopped:  # the batch may be done by now
            self.spare_workers -= 1
            self.spawn()

    def wake_all(self) -> None:
        """Wake every worker waiting for an item (only ordered runs wait)."""
        scheduler = self.scheduler
        if scheduler is not None:
            scheduler.wake(len(scheduler.waiters))

    def deadline_error(self) -> DeadlineError:
        text = self.plan.deadline_text
        return DeadlineError(text if isinstance(text, str) else text())

    async def run_one(self, index: int, item: R) -> bool:
        """Run one item; True when it succeeded."""
        try:
            timeout = self.plan.item_timeout
            if self.plan.sync_step:
                began = self.clock()
                value = self.step(item)
                self.longest = max(self.longest, self.clock() - began)
                if value is not None:
                    if isawaitable(value):
                        # A plain function that returned a coroutine: its timeout applies.
                        value = await self.awaited(value, timeout)
                    elif isinstance(value, _GENERATORS):
                        raise _not_run()
            else:
                value = await bounded(self.step(item), timeout)
        except Exception as exc:
            if self.in_order:
                self.stopped = True
                self.done(index, item, exc, failed=True)
            else:
                self.results[index] = self.on_error(index, item, exc)
            return False
        if self.in_order:
            self.done(index, item, value, failed=False)
            return True
        try:
            self.results[index] = self.succeeded(index, item, value)
        except Exception as exc:
            self.results[index] = self.on_error(index, item, exc)
            return False
        return True

    def item(self, index: int) -> R:
        """The item at ``index`` as a step sees it."""
        view = self.plan.view
        return self.items[index] if view is None else view(self.items[index])

    def succeeded(self, index: int, item: R, value: Any) -> T:
        on_success = self.on_success
        return value if on_success is None else on_success(index, item, value)

    def done(self, index: int, item: R, outcome: Any, *, failed: bool) -> None:
        """Note an item done and settle every item whose turn has come."""
        self.finished[index] = (item, outcome, failed)
        while self.next_to_settle in self.finished:
            item, outcome, failed = self.finished.pop(self.next_to_settle)
            self.settle(self.next_to_settle, item, outcome, failed)
            self.next_to_settle += 1

    def settle(self, index: int, item: R, outcome: Any, failed: bool) -> None:
        """Report one item, in input order: a success after a failure is a failure."""
        if failed:
            self.failed_before = True
            self.results[index] = self.on_error(index, item, outcome)
        elif self.failed_before:
            self.results[index] = self.on_error(
                index,
                item,
                self.plan.skipped(
                    "finished after an earlier record failed, so reported failed: the "
                    "first failure and every record after it are retried"
                ),
            )
        else:
            try:
                self.results[index] = self.succeeded(index, item, outcome)
            except Exception as exc:
                self.failed_before = True
                self.results[index] = self.on_error(index, item, exc)

    async def awaited(self, awaitable: Awaitable[Any], seconds: float | None) -> Any:
        """What an awaitable returned by a plain function comes to. Inline, with no
        loop to await it on, it makes a detour to the sync bridge's loop, within the
        deadline."""
        if self.loop is not None:
            return await bounded(awaitable, seconds)
        try:
            return await Detour(self.within_deadline(awaitable))
        except RecordTimeoutError:
            self.stopped = True
            raise self.deadline_error() from None

    def detoured(self, awaitable: Awaitable[Any]) -> Any:
        """:meth:`awaited` for a run driven by plain calls (:meth:`run_direct`)."""
        try:
            return detour(self.within_deadline(awaitable))
        except RecordTimeoutError:
            self.stopped = True
            raise self.deadline_error() from None

    def within_deadline(self, awaitable: Awaitable[Any]) -> Awaitable[Any]:
        deadline = self.plan.deadline
        if deadline is None:
            return awaitable
        return bounded(awaitable, max(0.0, deadline - time.monotonic()))

    def past_deadline(self) -> bool:
        deadline = self.plan.deadline
        return deadline is not None and self.clock() >= deadline

    def may_start(self) -> bool:
        """Whether the next item may start: not past the deadline and, for inline plain
        functions (which nothing can stop once started), not closer to it than the
        longest step so far."""
        deadline = self.plan.deadline
        if deadline is None:
            return True
        left = deadline - self.clock()
        if left <= 0:
            return False
        if self.plan.sync_step and left < self.longest:
            self.too_close = self.longest
            return False
        return True

    def parts(
        self,
    ) -> tuple[
        Callable[[R], Any],
        Callable[[int, R, Any], T] | None,
        Callable[[int, R, Exception], T],
        list[T],
    ]:
        """What a worker's loop reads at every item, to keep in its locals."""
        return self.step, self.on_success, self.on_error, self.results

    def inline_items(self, work: Iterator[tuple[int, R]]) -> tuple[int, R, Awaitable[Any]] | None:
        """The hot path for plain functions (one worker, no per-item timeout, no order,
        no stopping on a failure), whoever drives it: :meth:`fast_worker` on a loop, or
        :meth:`run_direct` without one. It runs the items of ``work`` until one returns
        an awaitable (a plain function that returned a coroutine), and returns that
        item's index, the item and the awaitable: the driver awaits it, gives its
        outcome to :meth:`settle_awaited` and calls again to go on. ``None``: done."""
        step, on_success, on_error, results = self.parts()
        keep = on_success is None  # the value is the result
        deadline = self.plan.deadline
        if deadline is not None and self.loop is not None:  # on the clock loop.time uses
            deadline -= self.loop.time() - time.monotonic()
        now = time.monotonic
        began, longest = self.began, self.longest
        for index, item in work:
            if deadline is not None:
                # One clock read per item. Plain functions cannot be stopped once
                # started: it also measures the previous item, and no item starts
                # closer to the deadline than the longest so far.
                moment = now()
                if began and moment - began > longest:
                    longest = moment - began
                if moment + longest >= deadline:
                    if moment < deadline:
                        self.too_close = longest
                    self.stopped = True
                    return None
                began = moment
            try:
                value = step(item)
                if value is not None and type(value) not in _PLAIN:
                    if isawaitable(value):  # a plain function that returned a coroutine
                        self.began, self.longest = began, longest
                        return index, item, value
                    if isinstance(value, _GENERATORS):
                        raise _not_run()
                results[index] = value if keep else on_success(index, item, value)  # type: ignore[misc]
            except Exception as exc:
                results[index] = on_error(index, item, exc)
        return None

    def settle_awaited(self, index: int, item: R, value: Any, error: Exception | None) -> None:
        """The outcome of an item whose awaitable :meth:`inline_items` returned: its
        value, or the exception awaiting it raised."""
        on_success = self.on_success
        if error is None:
            try:
                self.results[index] = (
                    value if on_success is None else on_success(index, item, value)
                )
                return
            except Exception as exc:
                error = exc
        self.results[index] = self.on_error(index, item, error)

    def run_direct(self) -> list[T]:
        """:meth:`run` as plain calls, for plain functions without an event loop, in
        one worker, unordered, stopping only at the deadline."""
        plan = self.plan
        if self.loop is not None or not plan.sync_step or plan.keys is not None:
            raise RuntimeError("a direct run is of plain functions, unordered, without a loop")
        view = plan.view
        work = enumerate(self.items if view is None else map(view, self.items))
        pending = self.inline_items(work)
        while pending is not None:
            index, item, awaitable = pending
            try:
                value = self.detoured(awaitable)
            except Exception as exc:
                self.settle_awaited(index, item, None, exc)
            else:
                self.settle_awaited(index, item, value, None)
            pending = self.inline_items(work)
        return self.complete()

    async def fast_worker(self, work: enumerate[R]) -> None:
        """The hot path: no per-item timeout, no order, no stopping on a failure."""
        if self.plan.sync_step:  # plain functions: one worker, the shared loop body
            pending = self.inline_items(work)
            while pending is not None:
                index, item, awaitable = pending
                try:
                    value = await self.awaited(awaitable, None)
                except Exception as exc:
                    self.settle_awaited(index, item, None, exc)
                else:
                    self.settle_awaited(index, item, value, None)
                pending = self.inline_items(work)
            return
        step, on_success, on_error, results = self.parts()
        keep = on_success is None  # the value is the result
        last = len(self.items) - 1
        # Others may stop the run or need a worker more only with several workers.
        shared = self.plan.concurrency > 1
        deadline, clock = self.plan.deadline, self.clock  # async steps: the loop's time
        for index, item in work:
            if shared and self.stopped:
                return
            if deadline is not None and clock() >= deadline:
                self.stopped = True
                return
            if shared and self.spare_workers and not self.starting and index < last:
                self.add_worker()
            try:
                value = await step(item)
                results[index] = value if keep else on_success(index, item, value)  # type: ignore[misc]
            except Exception as exc:
                results[index] = on_error(index, item, exc)

    def guard(
        self, make_worker: Callable[[], Awaitable[None]]
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        """Note a worker that dies of CancelledError, and stop the run.

        A task group does not count a cancelled child as an error: without this the
        item would have no outcome, and workers waiting for its key would wait forever.
        """

        async def guarded() -> None:
            try:
                await make_worker()
            except asyncio.CancelledError:
                self.worker_died = self.stopped = True
                self.wake_all()
                raise

        return guarded

    async def unordered_worker(self, work: enumerate[R]) -> None:
        last = len(self.items) - 1
        for index, item in work:
            if not self.may_start():
                self.stopped = True
            if self.stopped:
                return
            if index < last:
                self.add_worker()
            await self.run_one(index, item)

    async def run(self) -> list[T]:
        plan = self.plan
        count = len(self.items)
        workers = min(plan.concurrency, count)
        if plan.keys is None:
            view = plan.view
            work = enumerate(self.items if view is None else map(view, self.items))
            fast = plan.item_timeout is None and plan.stop is Stop.NOTHING
            unordered = self.fast_worker if fast else self.unordered_worker

            def make_worker() -> Awaitable[None]:
                return unordered(work)
        else:
            scheduler = _Scheduler(self, plan.keys)
            make_worker = scheduler.worker
        if self.loop is None:
            if workers != 1 and count:
                raise RuntimeError("an inline run has one worker")
            if count:
                await make_worker()
            return self.complete()
        deadline = asyncio.timeout_at(plan.deadline)
        try:
            async with deadline:
                if workers <= 1:
                    if count:
                        await make_worker()
                else:
                    await self.pool(self.guard(make_worker), workers)
        except TimeoutError:
            if not deadline.expired():
                raise
            self.deadline_hit = True
        return self.complete()

    async def pool(self, worker: Callable[[], Coroutine[Any, Any, None]], workers: int) -> None:
        """Run ``worker`` in this task, and in up to ``workers - 1`` more tasks, started
        as :meth:`add_worker` finds every worker busy."""

        try:
            async with asyncio.TaskGroup() as group:
                self.spawn = lambda: group.create_task(worker())
                self.spare_workers = workers - 1
                try:
                    await worker()
                finally:
                    self.spare_workers = 0  # the workers left finish what is under way
        except BaseExceptionGroup as group_error:
            # Workers let only BaseException through (cancellation, exits): one of them
            # is the reason the run stopped; raise it as itself, as the inline path does.
            if len(group_error.exceptions) == 1:
                raise group_error.exceptions[0] from None
            raise

    def complete(self) -> list[T]:
        results = self.results
        incomplete = self.stopped or self.failed_keys or self.deadline_hit or self.worker_died
        # `is`, not `in`: a result may be any value, with any __eq__.
        if not incomplete or (all(r is not UNSET for r in results) and not self.finished):
            return results
        if self.deadline_hit or self.past_deadline():
            reason: Exception = self.deadline_error()
        elif self.too_close:
            reason = DeadlineError(
                "not started: the time left before the batch deadline was shorter than the "
                f"longest record so far ({self.too_close:.3f} s), and a running plain "
                "function cannot be stopped"
            )
        elif self.worker_died:
            # A step raised CancelledError on its own (no one cancelled us): its item has
            # no outcome. Never report it, or what did not start, as done.
            raise asyncio.CancelledError("a record handler raised CancelledError")
        else:
            reason = self.plan.skipped("not started: the batch stopped at a failure")
        keys = self.plan.keys
        for index in range(len(results)):
            if index in self.finished:  # in order: done, waiting for an earlier item
                self.settle(index, *self.finished.pop(index))
            elif results[index] is UNSET:
                if keys is not None and keys[index] in self.failed_keys:
                    why: Exception = self.plan.group_skipped(
                        "not started: an earlier record of its group failed"
                    )
                else:
                    why = reason
                self.failed_before = True
                results[index] = self.on_error(index, self.item(index), why)
        return results


async def bounded(awaitable: Awaitable[Any], seconds: float | None) -> Any:
    """Await ``awaitable``, for at most ``seconds`` when given (``record_timeout``:
    ``RecordTimeoutError`` when it runs out)."""
    if seconds is None:
        return await awaitable
    limit = asyncio.timeout(seconds)
    try:
        async with limit:
            return await awaitable
    except TimeoutError:
        if not limit.expired():
            raise  # the handler's own TimeoutError
        raise RecordTimeoutError(
            f"the record handler did not finish within record_timeout={seconds}s"
        ) from None


class _Scheduler(Generic[R, T]):
    """Starts items in input order, but never two of one key at once.

    The ready heap holds, for each key that is idle, the index of its next item;
    items without a key (``None``) are always ready.
    """

    def __init__(self, run: Run[R, T], keys: Sequence[Hashable | None]) -> None:
        self.run = run
        self.keys = keys
        self.pending: dict[Hashable, deque[int]] = {}
        self.ready: list[int] = []
        for index, key in enumerate(keys):
            if key is None:
                self.ready.append(index)
                continue
            queue = self.pending.get(key)
            if queue is None:
                self.pending[key] = deque()
                self.ready.append(index)  # the first of its key
            else:
                queue.append(index)
        heapq.heapify(self.ready)
        self.unstarted = len(keys)
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.failed_keys: set[Hashable] = set()
        run.failed_keys = self.failed_keys
        run.scheduler = self

    def wake(self, count: int) -> None:
        while count and self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    async def worker(self) -> None:
        run = self.run
        stop = run.plan.stop
        while True:
            if not run.may_start():
                run.stopped = True
            if run.stopped or self.unstarted == 0:
                self.wake(len(self.waiters))
                return
            if not self.ready:
                assert run.loop is not None  # an inline run has one worker, which never waits
                waiter = run.loop.create_future()
                self.waiters.append(waiter)
                await waiter
                continue
            index = heapq.heappop(self.ready)
            self.unstarted -= 1
            if self.unstarted:
                run.add_worker()
            key = self.keys[index]
            ok = await run.run_one(index, run.item(index))
            if not ok and stop is Stop.KEY and key is not None:
                self.failed_keys.add(key)
                self.unstarted -= len(self.pending[key])
                self.pending[key].clear()
            if key is not None:
                queue = self.pending[key]
                if queue:
                    heapq.heappush(self.ready, queue.popleft())
                    self.wake(1)
            if self.unstarted == 0 or run.stopped:
                self.wake(len(self.waiters))


def run_all(
    items: Sequence[R],
    step: Callable[[R], Any],
    on_success: Callable[[int, R, Any], T] | None,
    on_error: Callable[[int, R, Exception], T],
    plan: Plan,
    results: list[T] | None = None,
) -> Coroutine[Any, Any, list[T]]:
    """Run ``step`` over every item as ``plan`` says (a coroutine to await).

    ``step(item)`` returns an awaitable (its value when ``plan.sync_step``); the
    item's result is ``on_success(index, item, value)``, or the value itself when
    ``on_success`` is None. Returns one result per item (in ``results`` when given: a
    list of ``UNSET``, one per item, which a caller may read while the run goes on),
    in input order whatever order they finished in. An item whose step or
    ``on_success`` raised ``Exception``, that the deadline caught, or that a failure
    kept from starting gets ``on_error(index, item, exc)`` instead.
    """
    return Run(items, step, on_success, on_error, plan, results).run()

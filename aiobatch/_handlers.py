"""Adapting a record handler to the engine: async, plain ``def`` inline, or threads.

A :class:`HandlerCall` is made once per batch: whether the handler is async, whether it
takes ``lambda_context``, how many calls may run at once.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
from collections.abc import Callable
from functools import partial
from inspect import isawaitable
from types import AsyncGeneratorType, GeneratorType
from typing import TYPE_CHECKING, Any, NamedTuple

from ._engine import bounded
from ._lazy import LazyModule
from ._types import RecordHandler

if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor
else:
    asyncio = LazyModule("asyncio", globals())


class HandlerTraits(NamedTuple):
    """What a handler is, worked out once per handler (``inspect`` is slow)."""

    is_async: bool
    wants_context: bool


def handler_traits(handler: RecordHandler) -> HandlerTraits:
    call = getattr(handler, "__call__", None)  # noqa: B004 - an object with a generator __call__
    if any(
        inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn) for fn in (handler, call)
    ):
        raise TypeError(
            "the record handler is a generator function: calling it would only make a "
            "generator and never run its body. Use a plain function (def or async def) "
            "that handles one record."
        )
    is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with an async __call__
    )
    try:
        wants_context = "lambda_context" in inspect.signature(handler).parameters
    except (TypeError, ValueError):
        wants_context = False
    return HandlerTraits(is_async, wants_context)


class HandlerCall(NamedTuple):
    """How the engine calls the handler for a batch.

    ``call(record)`` returns an awaitable, or, when ``inline``, the handler's value
    itself (a plain ``def`` run on the loop's thread, one at a time). ``timed`` says
    that ``call`` applies ``record_timeout`` itself (threads: from when the thread
    starts, not from when the record was handed over).
    """

    call: Callable[[Any], Any]
    concurrency: int
    inline: bool
    timed: bool = False


class ThreadPool:
    """The worker threads of one processor, for ``use_threads=True``.

    A thread that is abandoned (its record timed out, or the deadline passed) may run
    on and hold its slot: the pool it ran in is then dropped, and later records go to a
    fresh one, so that no record ever waits for a slot it will not get.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._size = 0

    def __getstate__(self) -> dict[str, Any]:
        return {}  # a copy starts its own threads when it needs them

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._pool = None
        self._size = 0

    def get(self, size: int) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is None or self._size != size:
            from concurrent.futures import ThreadPoolExecutor  # only for threads

            pool = self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="aiobatch")
            self._size = size
        return pool

    def abandon(self, pool: ThreadPoolExecutor) -> None:
        """A thread of ``pool`` is left running: stop using ``pool``."""
        if self._pool is pool:
            self._pool = None
            pool.shutdown(wait=False)  # what runs in it finishes; nothing is cancelled


def _started(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def make_call(
    handler: RecordHandler,
    traits: HandlerTraits,
    *,
    lambda_context: Any,
    max_concurrency: int,
    threads: ThreadPool | None,
    timeout: float | None = None,
    convert: Callable[[Any], Any] | None = None,
) -> HandlerCall:
    """The call of ``handler`` for one batch. ``threads`` runs a plain ``def`` in worker
    threads (``timeout`` then applies from when a thread starts on the record);
    ``convert`` turns a record into the handler's input (a model)."""
    if traits.wants_context:
        handler = partial(handler, lambda_context=lambda_context)
    timed = False
    if traits.is_async:
        call, concurrency, inline = handler, max_concurrency, False
    elif threads is not None:
        loop = asyncio.get_running_loop()
        sync_handler = handler

        async def in_thread(record: Any) -> Any:
            pool = threads.get(max_concurrency)
            started = loop.create_future()
            ended = threading.Event()

            def run() -> Any:
                loop.call_soon_threadsafe(_started, started)
                try:
                    return sync_handler(record)
                finally:
                    ended.set()

            # The thread sees the caller's context (the processor's current batch).
            future = loop.run_in_executor(pool, contextvars.copy_context().run, run)

            async def outcome() -> Any:
                value = await future
                if isinstance(value, GeneratorType | AsyncGeneratorType):
                    raise TypeError(
                        "the record handler returned a generator, so its body never ran"
                    )
                return await value if isawaitable(value) else value

            try:
                if timeout is not None:
                    await started  # the time limit starts with the thread
                return await bounded(outcome(), timeout)
            finally:
                if not ended.is_set():  # timed out or cancelled: the thread runs on
                    future.cancel()  # (which stops it only if it had not started)
                    threads.abandon(pool)

        call, concurrency, inline, timed = in_thread, max_concurrency, False, True
    else:
        call, concurrency, inline = handler, 1, True
    if convert is not None:
        inner = call

        def call(record: Any) -> Any:
            return inner(convert(record))

    return HandlerCall(call, concurrency, inline, timed)

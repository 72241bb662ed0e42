"""Adapting a record handler to the engine: async, plain ``def`` inline, or threads.

A :class:`HandlerCall` is made once per batch: whether the handler is async, whether it
takes ``lambda_context``, how many calls may run at once.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from inspect import isawaitable
from typing import Any

from ._types import RecordHandler


@dataclass(frozen=True, slots=True)
class HandlerTraits:
    """What a handler is, worked out once per handler (``inspect`` is slow)."""

    is_async: bool
    wants_context: bool


def handler_traits(handler: RecordHandler) -> HandlerTraits:
    if inspect.isgeneratorfunction(handler) or inspect.isasyncgenfunction(handler):
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


@dataclass(frozen=True, slots=True)
class HandlerCall:
    """How the engine calls the handler for a batch.

    ``call(record)`` returns an awaitable, or, when ``inline``, the handler's value
    itself (a plain ``def`` run on the loop's thread, one at a time).
    """

    call: Callable[[Any], Any]
    concurrency: int
    inline: bool


class ThreadPool:
    """The worker threads of one processor, for ``use_threads=True``.

    Threads abandoned at a deadline may still be running: :meth:`discard` drops the
    pool so that they do not hold the slots of the next batch, which gets a fresh one.
    """

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._size = 0

    def get(self, size: int) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is None or self._size != size:
            pool = self._pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="aiobatch")
            self._size = size
        return pool

    def discard(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def make_call(
    handler: RecordHandler,
    traits: HandlerTraits,
    *,
    lambda_context: Any,
    max_concurrency: int,
    threads: ThreadPool | None,
    convert: Callable[[Any], Any] | None = None,
) -> HandlerCall:
    """The call of ``handler`` for one batch. ``threads`` runs a plain ``def`` in worker
    threads; ``convert`` turns a record into the handler's input (a model)."""
    if traits.wants_context:
        handler = partial(handler, lambda_context=lambda_context)
    if traits.is_async:
        call, concurrency, inline = handler, max_concurrency, False
    elif threads is not None:
        executor = threads.get(max_concurrency)
        loop = asyncio.get_running_loop()
        sync_handler = handler

        async def in_thread(record: Any) -> Any:
            value = await loop.run_in_executor(executor, sync_handler, record)
            return await value if isawaitable(value) else value

        call, concurrency, inline = in_thread, max_concurrency, False
    else:
        call, concurrency, inline = handler, 1, True
    if convert is not None:
        inner = call

        def call(record: Any) -> Any:
            return inner(convert(record))

    return HandlerCall(call, concurrency, inline)

"""The one bridge from sync code to the async engine.

It keeps an event loop per thread (an ``asyncio.Runner`` held here), so that SQS
clients and their connection pools made during one Lambda invocation survive into the
next warm one, and so that several threads (a worker's pool running ``def`` handlers
at once) can each use the sync facade. ``asyncio.run`` per call would throw the clients
away every time. A thread's loop and its clients close when the thread ends, or at
process exit.

A run that needs no event loop at all (a plain ``def`` handler run inline, no SQS
call, no per-record timeout) skips it: :func:`run_inline` drives the same lifecycle
coroutine itself, in the caller's thread and context, which costs a few microseconds
where entering the loop costs some 20. Should such a run still meet an awaitable of a
user's (a plain function that returned a coroutine, an ``async`` hook), it hands it to
:func:`run_inline` as a :class:`Detour`, which runs it on the thread's loop.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import sys
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator
from functools import partial
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ._exceptions import SyncInAsyncError
from ._lazy import LazyModule

if TYPE_CHECKING:
    import asyncio
else:
    asyncio = LazyModule("asyncio", globals())

P = ParamSpec("P")
T = TypeVar("T")

_local = threading.local()
_lock = threading.Lock()
_open: weakref.WeakSet[asyncio.Runner] = weakref.WeakSet()  # closed at exit if still open
_exit_registered = False


class _ThreadLoop:
    """A thread's runner, closed when the thread ends (its thread-local storage is
    dropped) or at exit. Closing shuts down the async generators on its loop, which is
    how cached clients get closed: no "Unclosed client session"."""

    __slots__ = ("runner",)

    def __init__(self) -> None:
        global _exit_registered
        self.runner = asyncio.Runner()
        with _lock:
            if not _exit_registered:
                atexit.register(_close_all)
                _exit_registered = True
            _open.add(self.runner)

    def __del__(self) -> None:
        _close(self.runner)


def _get_runner() -> asyncio.Runner:
    held: _ThreadLoop | None = getattr(_local, "loop", None)
    if held is None:
        held = _local.loop = _ThreadLoop()
    return held.runner


def _close(runner: asyncio.Runner) -> None:
    # RuntimeError: its loop is running (a daemon thread's, at exit): leave it.
    with contextlib.suppress(RuntimeError):
        runner.close()


def _close_all() -> None:
    with _lock:
        runners = list(_open)
        _open.clear()
    for runner in runners:
        _close(runner)


def refuse_in_loop(alternative: str) -> None:
    # asyncio's own check, without get_running_loop's exception when there is none, and
    # without importing asyncio: no loop runs where it was never imported.
    events = sys.modules.get("asyncio.events")
    if events is None or events._get_running_loop() is None:
        return
    raise SyncInAsyncError(
        "aiobatch's sync API was called from inside a running event loop, which it "
        f"cannot block. Use the async API instead: {alternative}."
    )


def run_sync(
    alternative: str,
    fn: Callable[P, Awaitable[T]],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """Run ``fn(*args, **kwargs)`` to completion on the calling thread's loop.

    Takes a function rather than a coroutine so that a refused call creates no coroutine
    (and so no "coroutine was never awaited" warning). ``alternative`` names the async
    API to point the user to.
    """
    refuse_in_loop(alternative)
    return _on_the_loop(partial(fn, *args, **kwargs))


def _on_the_loop(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn()`` on the thread's loop."""
    runner = _get_runner()

    async def main() -> T:
        return await fn()

    try:
        return runner.run(main())
    except BaseException:
        _cancel_leftovers(runner.get_loop())
        raise


def detour(awaitable: Awaitable[T]) -> T:
    """Run an awaitable of a run without a loop on the thread's loop (which is not
    running: a run without a loop never starts in a running one)."""
    return _on_the_loop(partial(_same, awaitable))


class Detour:
    """An awaitable that a run driven by :func:`run_inline` cannot await itself:
    ``await Detour(awaitable)`` runs it to completion on the thread's loop."""

    __slots__ = ("awaitable",)

    def __init__(self, awaitable: Awaitable[Any]) -> None:
        self.awaitable = awaitable

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield self)


def _same(awaitable: Awaitable[T]) -> Awaitable[T]:
    return awaitable


def run_inline(
    alternative: str, fn: Callable[P, Coroutine[Any, Any, T]], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run the coroutine ``fn(*args, **kwargs)`` to completion without an event loop.

    For runs that await nothing but aiobatch's own coroutines, which never wait for a
    loop: the coroutine is stepped here, in the caller's thread and context. A
    :class:`Detour` it yields goes to :func:`run_sync`; anything else it yields would
    need a loop it does not have, and is thrown back into it as an error.
    """
    refuse_in_loop(alternative)
    coroutine = fn(*args, **kwargs)
    # In a copy of the caller's context, as a task would be: context variables a handler
    # sets do not leak into the caller.
    context = contextvars.copy_context()
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            if error is None:
                yielded = context.run(coroutine.send, value)
            else:
                yielded = context.run(coroutine.throw, error)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value = error = None
        if isinstance(yielded, Detour):
            try:
                value = context.run(detour, yielded.awaitable)
            except BaseException as exc:  # it goes back to where it came from
                error = exc
        elif yielded is not None:  # None is a bare yield (asyncio.sleep(0)): go on
            error = RuntimeError(
                f"aiobatch ran this batch without an event loop, but it awaited {yielded!r}"
            )


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and finish the tasks a call left behind on the shared loop.

    ``KeyboardInterrupt`` or ``SystemExit`` raised in a task leaves the loop at once,
    with the call's other tasks still pending: they would run during the next call and
    could even raise in it. Nothing of a call may outlive it.
    """
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    gathered = asyncio.gather(*leftovers, return_exceptions=True)
    while True:
        try:
            loop.run_until_complete(gathered)
            return
        except BaseException:  # another interrupt while they unwind: keep unwinding
            if gathered.done():
                return

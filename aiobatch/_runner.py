"""The one bridge from sync code to the async engine.

It keeps a single event loop per process (an ``asyncio.Runner`` held here), so that SQS
clients and their connection pools made during one Lambda invocation survive into the
next warm one. ``asyncio.run`` per call would throw them away every time.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from ._exceptions import SyncInAsyncError

P = ParamSpec("P")
T = TypeVar("T")

_lock = threading.Lock()
_busy = threading.Lock()  # the loop runs one call at a time
_runner: asyncio.Runner | None = None


def _get_runner() -> asyncio.Runner:
    global _runner
    with _lock:
        if _runner is None:
            _runner = asyncio.Runner()
            # Closing the runner shuts down async generators on its loop, which is how
            # cached clients get closed (see _sqs_delete): no "Unclosed client session".
            atexit.register(_close)
        return _runner


def _close() -> None:
    global _runner
    with _lock:
        runner, _runner = _runner, None
    if runner is not None:
        runner.close()


def run_sync(
    alternative: str, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run ``fn(*args, **kwargs)`` to completion on the process-wide loop.

    Takes a function rather than a coroutine so that a refused call creates no coroutine
    (and so no "coroutine was never awaited" warning). ``alternative`` names the async
    API to point the user to.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise SyncInAsyncError(
            "aiobatch's sync API was called from inside a running event loop, which it "
            f"cannot block. Use the async API instead: {alternative}."
        )
    if not _busy.acquire(blocking=False):
        raise SyncInAsyncError(
            "aiobatch's sync API is already running in another thread: its process-wide "
            "event loop runs one call at a time. Call it from one thread, or use the "
            f"async API: {alternative}."
        )
    try:
        runner = _get_runner()

        async def main() -> T:
            return await fn(*args, **kwargs)

        try:
            return runner.run(main())
        except BaseException:
            _cancel_leftovers(runner.get_loop())
            raise
    finally:
        _busy.release()


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

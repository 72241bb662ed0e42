"""Letting the other tasks of the event loop run until they can go no further."""

from __future__ import annotations

import asyncio

_MISSING = object()


def _blocked(task: asyncio.Task[object]) -> bool:
    """Whether ``task`` waits on a future that is not done (so it cannot run now).

    ``Task._fut_waiter`` is asyncio's record of the future a task awaits, ``None`` while
    the task is scheduled to run; anyio's ``wait_all_tasks_blocked()`` reads it the same
    way, and asyncio has no public equivalent.
    """
    waiter = getattr(task, "_fut_waiter", _MISSING)
    if waiter is _MISSING:
        raise RuntimeError("this asyncio has no Task._fut_waiter: cannot tell blocked tasks")
    return isinstance(waiter, asyncio.Future) and not waiter.done()


async def wait_all_tasks_blocked(max_rounds: int = 10_000) -> None:
    """Yield to the loop until every other task is blocked on something not yet done.

    A task that has not started yet, has just been woken or yielded with
    ``asyncio.sleep(0)`` is runnable: this keeps yielding until none is. A task waiting
    for a thread (``run_in_executor``) counts as blocked. Raises AssertionError when some
    task never blocks within ``max_rounds`` loop iterations (a busy loop of ``sleep(0)``).
    """
    current = asyncio.current_task()
    quiet = 0
    for _ in range(max_rounds):
        await asyncio.sleep(0)
        if all(_blocked(task) for task in asyncio.all_tasks() if task is not current):
            # Twice in a row: a callback the loop had yet to run (call_soon) ran in
            # between, and changed nothing (it may start a task: then it is not quiet).
            quiet += 1
            if quiet == 2:
                return
        else:
            quiet = 0
    raise AssertionError(f"some task was still runnable after {max_rounds} rounds")

"""Case 9: peak traced memory of each library's own bookkeeping, per record."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from ._events import expect_failures, noop_async, noop_sync, standard_event
from ._harness import (
    CaseResult,
    Contender,
    Settings,
    measure,
    note_if_powertools_missing,
    powertools_available,
)


def peak(fn: Callable[[], Any], check: Callable[[Any], None]) -> Callable[[], float]:
    """A sample: the peak of memory allocated while ``fn()`` runs (the event, built
    before, is not counted)."""

    def sample() -> float:
        gc.collect()
        tracemalloc.start()
        try:
            result = fn()
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        check(result)
        return float(top)

    return sample


def peak_async(
    runner: asyncio.Runner, fn: Callable[[], Awaitable[Any]], check: Callable[[Any], None]
) -> Callable[[], float]:
    """As :func:`peak`, traced inside the loop, around the awaited call only."""

    async def traced() -> tuple[float, Any]:
        tracemalloc.start()
        try:
            result = await fn()
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return float(top), result

    def sample() -> float:
        gc.collect()
        top, result = runner.run(traced())
        check(result)
        return top

    return sample


def case_memory(settings: Settings) -> CaseResult:
    from aiobatch import (
        BatchProcessor,
        EventType,
        aprocess_partial_response,
        process_partial_response,
    )

    case = CaseResult("9", "Peak traced memory (tracemalloc) of the library's bookkeeping")
    n = settings.size(10_000, 200)
    event = standard_event(n)
    check = expect_failures(0)
    runs = settings.runs(3)
    processor = BatchProcessor(EventType.SQS)
    sync = [
        Contender(
            "aiobatch `BatchProcessor` + `process_partial_response` (def handler)",
            peak(lambda: process_partial_response(event, noop_sync, processor), check),
        )
    ]
    with asyncio.Runner() as runner:
        asynchronous = [
            Contender(
                "aiobatch `BatchProcessor` + `aprocess_partial_response` (async handler)",
                peak_async(
                    runner, lambda: aprocess_partial_response(event, noop_async, processor), check
                ),
            )
        ]
        if powertools_available():
            from aws_lambda_powertools.utilities.batch import (
                AsyncBatchProcessor,
                async_process_partial_response,
            )
            from aws_lambda_powertools.utilities.batch import BatchProcessor as PTBatchProcessor
            from aws_lambda_powertools.utilities.batch import EventType as PTEventType
            from aws_lambda_powertools.utilities.batch import (
                process_partial_response as pt_process_partial_response,
            )

            pt_sync = PTBatchProcessor(PTEventType.SQS)
            pt_async = AsyncBatchProcessor(PTEventType.SQS)
            sync.append(
                Contender(
                    "Powertools `BatchProcessor` + `process_partial_response` (def handler)",
                    peak(
                        lambda: pt_process_partial_response(
                            event=event, record_handler=noop_sync, processor=pt_sync
                        ),
                        check,
                    ),
                )
            )
            asynchronous.append(
                Contender(
                    "Powertools `AsyncBatchProcessor` + `async_process_partial_response` "
                    "(async handler, sync call)",
                    peak(
                        lambda: async_process_partial_response(
                            event=event, record_handler=noop_async, processor=pt_async
                        ),
                        check,
                    ),
                )
            )
        case.add(measure("9 sync", sync, n=n, runs=runs, unit="B"))
        case.add(measure("9 async", asynchronous, n=n, runs=runs, unit="B"))
    note_if_powertools_missing(case)
    return case

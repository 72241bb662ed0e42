"""Cases 4 and 5: I/O-bound handlers, unordered and FIFO."""

from __future__ import annotations

import asyncio
from typing import Any

from ._events import expect_failures, fifo_event, sleeping_async, sleeping_sync, standard_event
from ._harness import (
    CaseResult,
    Contender,
    Row,
    Settings,
    measure,
    note_if_powertools_missing,
    powertools_available,
    timed,
    timed_async,
)

SLEEP = 0.005
CONCURRENCY = 100
RUNS = 5
AIOBATCH_IO = "aiobatch `BatchProcessor(max_concurrency=100)` + `aprocess_partial_response`"
AIOBATCH_FIFO = "aiobatch `SqsFifoPartialProcessor` + `aprocess_partial_response`"
POWERTOOLS_FIFO = "Powertools `SqsFifoPartialProcessor` + `process_partial_response`"


def case_io(settings: Settings) -> CaseResult:
    from aiobatch import BatchProcessor, EventType, PartialSQSProcessor, aprocess_partial_response

    case = CaseResult("4", f"I/O-bound: each handler awaits `asyncio.sleep({SLEEP})`")
    n = settings.size(10_000, 400)
    event = standard_event(n)
    records = event["Records"]
    handler = sleeping_async(SLEEP)
    check = expect_failures(0)

    async def floor() -> None:
        work = iter(records)

        async def worker() -> None:
            for record in work:
                await handler(record)

        async with asyncio.TaskGroup() as group:
            for _ in range(CONCURRENCY):
                group.create_task(worker())

    processor = BatchProcessor(EventType.SQS, max_concurrency=CONCURRENCY)
    sqs = PartialSQSProcessor(max_concurrency=CONCURRENCY)

    async def run_sqs() -> Any:
        async with sqs(records, handler):
            return await sqs.aprocess()

    with asyncio.Runner() as runner:
        contenders = [
            Contender(
                f"floor: a bare pool of {CONCURRENCY} worker tasks",
                timed_async(runner, floor),
                role="floor",
            ),
            Contender(
                AIOBATCH_IO,
                timed_async(
                    runner, lambda: aprocess_partial_response(event, handler, processor), check
                ),
            ),
            Contender(
                "aiobatch `PartialSQSProcessor(max_concurrency=100)` `aprocess()`",
                timed_async(runner, run_sqs),
            ),
        ]
        if powertools_available():
            from aws_lambda_powertools.utilities.batch import (
                AsyncBatchProcessor,
                async_process_partial_response,
            )
            from aws_lambda_powertools.utilities.batch import EventType as PTEventType

            pt_processor = AsyncBatchProcessor(PTEventType.SQS)
            contenders.append(
                Contender(
                    "Powertools `AsyncBatchProcessor` (unbounded `gather`, sync call)",
                    timed(
                        lambda: async_process_partial_response(
                            event=event, record_handler=handler, processor=pt_processor
                        ),
                        check,
                    ),
                )
            )
        case.add(measure("4", contenders, n=n, runs=settings.runs(RUNS)))
    floor_row = case.find("4", "floor")
    assert floor_row is not None
    ideal = -(-n // CONCURRENCY) * SLEEP
    case.notes.append(
        f"{n:,} sleeps of {SLEEP * 1e3:g} ms, {CONCURRENCY} at a time, would take {ideal:.2f} s "
        f"with free timers; the bare pool took {floor_row.median:.2f} s on this loop."
    )
    note_if_powertools_missing(case)
    return case


def case_fifo(settings: Settings) -> CaseResult:
    case = CaseResult("5", f"SQS FIFO, handler sleeps {SLEEP * 1e3:g} ms")
    large_n = settings.size(10_000, 200)
    large_groups = settings.size(100, 20)
    runs = settings.runs(RUNS)
    with asyncio.Runner() as runner:
        for group, n, groups in (("5 small", 10, 10), ("5 large", large_n, large_groups)):
            case.add(fifo_group(runner, group, n, groups, runs))
    note_if_powertools_missing(case)
    return case


def fifo_group(runner: asyncio.Runner, group: str, n: int, groups: int, runs: int) -> list[Row]:
    from aiobatch import SqsFifoPartialProcessor, aprocess_partial_response

    event = fifo_event(n, groups)
    records = event["Records"]
    handler = sleeping_async(SLEEP)

    async def floor() -> None:
        by_group: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_group.setdefault(record["attributes"]["MessageGroupId"], []).append(record)

        async def one_group(members: list[dict[str, Any]]) -> None:
            for record in members:
                await handler(record)

        async with asyncio.TaskGroup() as task_group:
            for members in by_group.values():
                task_group.create_task(one_group(members))

    processor = SqsFifoPartialProcessor()
    contenders = [
        Contender(
            "floor: one task per message group, its records in order",
            timed_async(runner, floor),
            role="floor",
        ),
        Contender(
            AIOBATCH_FIFO,
            timed_async(
                runner,
                lambda: aprocess_partial_response(event, handler, processor),
                expect_failures(0),
            ),
        ),
    ]
    if powertools_available():
        contenders.append(powertools_fifo(n, groups, slow=group == "5 large"))
    return measure(group, contenders, n=n, runs=runs)


def powertools_fifo(n: int, groups: int, *, slow: bool) -> Contender:
    from aws_lambda_powertools.utilities.batch import (
        SqsFifoPartialProcessor,
        process_partial_response,
    )

    processor = SqsFifoPartialProcessor()
    handler = sleeping_sync(SLEEP)
    # Sequential sleeps are linear in N: the large case is measured on a tenth of the
    # records, once, and scaled, instead of 50 s a run.
    measured_n = n // 10 if slow else n
    event = fifo_event(measured_n, groups)
    check = expect_failures(0)
    sample = timed(
        lambda: process_partial_response(event=event, record_handler=handler, processor=processor),
        check,
    )
    if not slow:
        return Contender(POWERTOOLS_FIFO, sample)
    return Contender(
        f"{POWERTOOLS_FIFO} (measured once on {measured_n:,} records, x10)",
        lambda: sample() * n / measured_n,
        runs=1,
        warmup=0,
    )

"""Cases 1-3: per-record overhead with a no-op handler, async and sync, with and without
failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ._events import (
    expect_failures,
    expect_results,
    failing_async,
    failing_sync,
    message_ids,
    noop_async,
    noop_sync,
    sqs_event,
)
from ._harness import (
    POWERTOOLS_MISSING,
    CaseResult,
    Contender,
    Settings,
    Target,
    measure,
    powertools_available,
    timed,
    timed_async,
)

FULL_N = 10_000
QUICK_N = 200
RUNS = 21
FAIL_EVERY = 10  # case 3: one record in ten raises

AIOBATCH_ASYNC = "aiobatch `BatchProcessor` + `aprocess_partial_response`"
AIOBATCH_SYNC = "aiobatch `BatchProcessor` + `process_partial_response`"
POWERTOOLS_ASYNC = "Powertools `AsyncBatchProcessor` + `async_process_partial_response`"
POWERTOOLS_SYNC = "Powertools `BatchProcessor` + `process_partial_response`"
QUIET = ", `aiobatch` logger at ERROR"


def quiet(sample: Callable[[], float]) -> Callable[[], float]:
    """The same sample with aiobatch's per-failure WARNING (and its traceback) turned off."""
    logger = logging.getLogger("aiobatch")

    def run() -> float:
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            return sample()
        finally:
            logger.setLevel(level)

    return run


class NeverExpiring:
    """A Lambda context with 15 minutes left: the deadline is set and never reached."""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def async_contenders(
    runner: asyncio.Runner,
    event: dict[str, Any],
    failing: frozenset[str],
    *,
    with_sqs: bool,
) -> list[Contender]:
    from aiobatch import (
        BatchProcessor,
        EventType,
        PartialSQSProcessor,
        aprocess_partial_response,
        async_process_partial_response,
    )

    records = event["Records"]
    handler = failing_async(failing) if failing else noop_async
    check = expect_failures(len(failing))

    async def floor() -> int:
        failed = 0
        for record in records:
            try:
                await handler(record)
            except Exception:
                failed += 1
        return failed

    processor = BatchProcessor(EventType.SQS)
    contenders = [
        Contender(
            "floor: `for record in records: await handler(record)`",
            timed_async(runner, floor),
            role="floor",
        ),
        Contender(
            AIOBATCH_ASYNC,
            timed_async(
                runner,
                lambda: aprocess_partial_response(event, handler, processor),
                check,
            ),
        ),
        Contender(
            "aiobatch `BatchProcessor` + `async_process_partial_response` (sync call)",
            timed(lambda: async_process_partial_response(event, handler, processor), check),
        ),
    ]
    if failing:
        contenders.append(
            Contender(
                AIOBATCH_ASYNC + QUIET,
                quiet(
                    timed_async(
                        runner,
                        lambda: aprocess_partial_response(event, handler, processor),
                        check,
                    )
                ),
            )
        )
    if not failing:
        context = NeverExpiring()
        contenders.append(
            Contender(
                AIOBATCH_ASYNC + " with a Lambda context (a deadline that never passes)",
                timed_async(
                    runner,
                    lambda: aprocess_partial_response(event, handler, processor, context),
                    check,
                ),
            )
        )
    if with_sqs:
        sqs = PartialSQSProcessor()

        async def run_sqs() -> Any:
            async with sqs(records, handler):
                return await sqs.aprocess()

        contenders.append(
            Contender(
                "aiobatch `PartialSQSProcessor` `aprocess()` (nothing fails)",
                timed_async(runner, run_sqs, expect_results(len(records))),
            )
        )
    if powertools_available():
        from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor
        from aws_lambda_powertools.utilities.batch import EventType as PTEventType
        from aws_lambda_powertools.utilities.batch import (
            async_process_partial_response as pt_async_process_partial_response,
        )

        pt_processor = AsyncBatchProcessor(PTEventType.SQS)
        contenders.append(
            Contender(
                POWERTOOLS_ASYNC + " (sync call)",
                timed(
                    lambda: pt_async_process_partial_response(
                        event=event, record_handler=handler, processor=pt_processor
                    ),
                    check,
                ),
            )
        )
    return contenders


def sync_contenders(
    runner: asyncio.Runner,
    event: dict[str, Any],
    failing: frozenset[str],
    *,
    with_sqs: bool,
) -> list[Contender]:
    from aiobatch import (
        BatchProcessor,
        EventType,
        PartialSQSProcessor,
        aprocess_partial_response,
        process_partial_response,
    )

    records = event["Records"]
    handler = failing_sync(failing) if failing else noop_sync
    check = expect_failures(len(failing))

    def floor() -> int:
        failed = 0
        for record in records:
            try:
                handler(record)
            except Exception:
                failed += 1
        return failed

    processor = BatchProcessor(EventType.SQS)
    contenders = [
        Contender("floor: `for record in records: handler(record)`", timed(floor), role="floor"),
        Contender(
            AIOBATCH_SYNC,
            timed(lambda: process_partial_response(event, handler, processor), check),
        ),
        Contender(
            "aiobatch `BatchProcessor` + `aprocess_partial_response` (sync handler, awaited)",
            timed_async(
                runner, lambda: aprocess_partial_response(event, handler, processor), check
            ),
        ),
    ]
    if failing:
        contenders.append(
            Contender(
                AIOBATCH_SYNC + QUIET,
                quiet(timed(lambda: process_partial_response(event, handler, processor), check)),
            )
        )
    if with_sqs:
        sqs = PartialSQSProcessor()

        def run_sqs() -> Any:
            with sqs(records, handler):
                return sqs.process()

        contenders.append(
            Contender(
                "aiobatch `PartialSQSProcessor` `process()` (nothing fails)",
                timed(run_sqs, expect_results(len(records))),
            )
        )
    if powertools_available():
        from aws_lambda_powertools.utilities.batch import BatchProcessor as PTBatchProcessor
        from aws_lambda_powertools.utilities.batch import EventType as PTEventType
        from aws_lambda_powertools.utilities.batch import (
            process_partial_response as pt_process_partial_response,
        )

        pt_processor = PTBatchProcessor(PTEventType.SQS)
        contenders.append(
            Contender(
                POWERTOOLS_SYNC,
                timed(
                    lambda: pt_process_partial_response(
                        event=event, record_handler=handler, processor=pt_processor
                    ),
                    check,
                ),
            )
        )
    return contenders


def _where(case: CaseResult, group: str, name: str) -> str:
    sub = group.removeprefix(case.id).strip()
    where = f"{sub}: " if sub else ""
    return where + ("logger at ERROR: " if name.endswith(QUIET) else "")


def async_targets(case: CaseResult, group: str, name: str = AIOBATCH_ASYNC) -> None:
    ours = case.find(group, name)
    floor = case.find(group, "floor")
    theirs = case.find(group, POWERTOOLS_ASYNC)
    assert ours is not None
    assert floor is not None
    assert ours.per_record is not None
    where = _where(case, group, name)
    over = (ours.median - floor.median) / (ours.n or 1)
    case.targets.append(
        Target(
            f"{where}aiobatch `aprocess_partial_response` at most 1.5 µs a record",
            f"{ours.per_record * 1e6:.2f} µs a record ({over * 1e6:.2f} µs above the floor)",
            ours.per_record <= 1.5e-6,
        )
    )
    if theirs is not None:
        speedup = theirs.median / ours.median
        case.targets.append(
            Target(
                f"{where}aiobatch at least 5x faster than Powertools async",
                f"{speedup:.1f}x",
                speedup >= 5,
            )
        )


def sync_targets(case: CaseResult, group: str, name: str = AIOBATCH_SYNC) -> None:
    ours = case.find(group, name)
    theirs = case.find(group, POWERTOOLS_SYNC)
    assert ours is not None
    if theirs is not None:
        ratio = ours.median / theirs.median
        case.targets.append(
            Target(
                f"{_where(case, group, name)}aiobatch `process_partial_response` no slower "
                "than Powertools",
                f"{ratio:.2f}x Powertools' time",
                ratio <= 1,
            )
        )


def _notes(case: CaseResult) -> None:
    if not powertools_available():
        case.notes.append(POWERTOOLS_MISSING)


def case_async(settings: Settings) -> CaseResult:
    case = CaseResult("1", "Per-record overhead, no-op `async def` handler")
    n = settings.size(FULL_N, QUICK_N)
    event = sqs_event(n)
    with asyncio.Runner() as runner:
        contenders = async_contenders(runner, event, frozenset(), with_sqs=True)
        case.add(measure("1", contenders, n=n, runs=settings.runs(RUNS)))
    async_targets(case, "1")
    plain = case.find("1", AIOBATCH_ASYNC)
    timed_out = case.find("1", AIOBATCH_ASYNC + " with a Lambda context")
    if plain is not None and timed_out is not None and plain.n:
        extra = (timed_out.median - plain.median) / plain.n
        case.targets.append(
            Target(
                "a deadline that is never reached, per record",
                f"{extra * 1e6:+.3f} µs ({timed_out.median / plain.median:.3f}x)",
                None,
            )
        )
    case.notes.append(
        "Powertools' `async_process_partial_response` is a plain call that runs "
        "`asyncio.run` each time, as its users call it; aiobatch's awaited rows run on "
        "the case's own loop, its sync-call row on aiobatch's process-wide loop."
    )
    _notes(case)
    return case


def case_sync(settings: Settings) -> CaseResult:
    case = CaseResult("2", "Per-record overhead, no-op plain `def` handler")
    n = settings.size(FULL_N, QUICK_N)
    event = sqs_event(n)
    with asyncio.Runner() as runner:
        contenders = sync_contenders(runner, event, frozenset(), with_sqs=True)
        case.add(measure("2", contenders, n=n, runs=settings.runs(RUNS)))
    sync_targets(case, "2")
    _notes(case)
    return case


def case_failing(settings: Settings) -> CaseResult:
    case = CaseResult("3", f"Cases 1 and 2 with one record in {FAIL_EVERY} raising")
    n = settings.size(FULL_N, QUICK_N)
    event = sqs_event(n)
    failing = message_ids(event, FAIL_EVERY)
    runs = settings.runs(RUNS)
    with asyncio.Runner() as runner:
        contenders = async_contenders(runner, event, failing, with_sqs=False)
        case.add(measure("3 async", contenders, n=n, runs=runs))
        contenders = sync_contenders(runner, event, failing, with_sqs=False)
        case.add(measure("3 sync", contenders, n=n, runs=runs))
    async_targets(case, "3 async")
    async_targets(case, "3 async", AIOBATCH_ASYNC + QUIET)
    sync_targets(case, "3 sync")
    sync_targets(case, "3 sync", AIOBATCH_SYNC + QUIET)
    case.notes.append(
        "aiobatch logs each failed record at WARNING (its traceback only at DEBUG); the benchmark "
        "formats every log record (as Lambda's log handler does) and discards it. "
        "Powertools logs a failure at DEBUG only, unless given a logger. The "
        "'logger at ERROR' rows show aiobatch with that logging switched off."
    )
    _notes(case)
    return case

"""Cases 1-3: per-record overhead with a no-op handler, async and sync, with and without
failures.

Every way of running the handler over the records is a row of ``WAYS``; a group runs
the rows that name it. Cases 1 and "3 async" have an ``async def`` handler, 2 and
"3 sync" a plain ``def`` one. Cases 1 and 2 have a group per batch size ("1 n=10");
the ways marked ``every_size`` run at every size, the others at the largest only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from aiobatch import (
    BatchProcessor,
    EventType,
    PartialSQSProcessor,
    aprocess_partial_response,
    async_process_partial_response,
    process_partial_response,
)
from aiobatch.testing import FakeLambdaContext

from ._events import (
    expect_failures,
    expect_results,
    failing_handler,
    message_ids,
    standard_event,
)
from ._harness import (
    CaseResult,
    Contender,
    Settings,
    measure,
    note_if_powertools_missing,
    powertools_available,
    timed,
    timed_async,
)

FULL_N = 10_000
QUICK_N = 200
SIZES = (1, 10, 100, 1_000, FULL_N)
QUICK_SIZES = (1, 10, QUICK_N)
RECORDS_PER_SAMPLE = 2_000  # small batches: a sample is the mean of this many records' calls
RUNS = 21
FAIL_EVERY = 10  # case 3: one record in ten raises
ASYNC_GROUPS = ("1", "3 async")
SYNC_GROUPS = ("2", "3 sync")

AIOBATCH_ASYNC = "aiobatch `BatchProcessor` + `aprocess_partial_response`"
AIOBATCH_SYNC = "aiobatch `BatchProcessor` + `process_partial_response`"
AIOBATCH_DEADLINE = AIOBATCH_ASYNC + " with a Lambda context (a deadline that never passes)"
POWERTOOLS_ASYNC = "Powertools `AsyncBatchProcessor` + `async_process_partial_response` (sync call)"
POWERTOOLS_SYNC = "Powertools `BatchProcessor` + `process_partial_response`"
QUIET = ", `aiobatch` logger at ERROR"
CONTEXT = ", with a Lambda context"
IN_LAMBDA = "2 lambda"  # the default batch size, called as Lambda calls it: with a context
LAMBDA_N = 10
LAMBDA_SIZES = (1, LAMBDA_N)  # and a batch of one, the fixed cost as Lambda pays it


Event = dict[str, Any]
Handler = Callable[[Any], Any]
Call = Callable[[], Any]  # returns the result, or (kind "await") an awaitable of it


def async_floor(event: Event, handler: Handler) -> Call:
    async def floor() -> int:
        failed = 0
        for record in event["Records"]:
            try:
                await handler(record)
            except Exception:
                failed += 1
        return failed

    return floor


def sync_floor(event: Event, handler: Handler) -> Call:
    def floor() -> int:
        failed = 0
        for record in event["Records"]:
            try:
                handler(record)
            except Exception:
                failed += 1
        return failed

    return floor


def aiobatch(
    facade: Callable[..., Any], *, deadline: bool = False
) -> Callable[[Event, Handler], Call]:
    """A facade on its own ``BatchProcessor``, reused across runs as a module-level one is;
    with ``deadline``, a Lambda context with 15 minutes left (set, never reached)."""

    def make(event: Event, handler: Handler) -> Call:
        processor = BatchProcessor(EventType.SQS)
        context = FakeLambdaContext(timeout=900) if deadline else None
        return lambda: facade(event, handler, processor, context)

    return make


def sqs_aprocess(event: Event, handler: Handler) -> Call:
    processor = PartialSQSProcessor()

    async def run() -> Any:
        async with processor(event["Records"], handler):
            return await processor.aprocess()

    return run


def sqs_process(event: Event, handler: Handler) -> Call:
    processor = PartialSQSProcessor()

    def run() -> Any:
        with processor(event["Records"], handler):
            return processor.process()

    return run


def powertools(
    processor_name: str, facade_name: str, *, context: bool = False
) -> Callable[[Event, Handler], Call]:
    """Powertools' processor and facade of these names (imported only when it runs); with
    ``context``, the Lambda context aiobatch's ``deadline`` rows get."""

    def make(event: Event, handler: Handler) -> Call:
        from aws_lambda_powertools.utilities import batch

        processor = getattr(batch, processor_name)(batch.EventType.SQS)
        facade = getattr(batch, facade_name)
        lambda_context = FakeLambdaContext(timeout=900) if context else None
        return lambda: facade(
            event=event, record_handler=handler, processor=processor, context=lambda_context
        )

    return make


@dataclass(frozen=True, slots=True)
class Way:
    label: str
    groups: tuple[str, ...]
    kind: Literal["await", "call"]  # awaited on the case's loop, or called as a sync user would
    make_call: Callable[[Event, Handler], Call]
    check: Literal["response", "results"] | None = "response"
    role: str = ""
    quiet: bool = False  # the `aiobatch` logger at ERROR: no per-failure WARNING
    every_size: bool = False  # in every size's group of cases 1 and 2, not the largest only


AWAIT: Literal["await"] = "await"
CALL: Literal["call"] = "call"
WAYS = (
    Way("floor: `for record in records: await handler(record)`",
        ASYNC_GROUPS, AWAIT, async_floor, check=None, role="floor"),
    Way(AIOBATCH_ASYNC, ASYNC_GROUPS, AWAIT, aiobatch(aprocess_partial_response),
        every_size=True),
    Way("aiobatch `BatchProcessor` + `async_process_partial_response` (sync call)",
        ASYNC_GROUPS, CALL, aiobatch(async_process_partial_response)),
    Way(AIOBATCH_ASYNC + QUIET,
        ("3 async",), AWAIT, aiobatch(aprocess_partial_response), quiet=True),
    Way(AIOBATCH_DEADLINE, ("1",), AWAIT, aiobatch(aprocess_partial_response, deadline=True)),
    Way("aiobatch `PartialSQSProcessor` `aprocess()` (nothing fails)",
        ("1",), AWAIT, sqs_aprocess, check="results"),
    Way(POWERTOOLS_ASYNC,
        ASYNC_GROUPS, CALL, powertools("AsyncBatchProcessor", "async_process_partial_response"),
        every_size=True),
    Way("floor: `for record in records: handler(record)`",
        SYNC_GROUPS, CALL, sync_floor, check=None, role="floor"),
    Way(AIOBATCH_SYNC, SYNC_GROUPS, CALL, aiobatch(process_partial_response), every_size=True),
    Way("aiobatch `BatchProcessor` + `aprocess_partial_response` (sync handler, awaited)",
        SYNC_GROUPS, AWAIT, aiobatch(aprocess_partial_response)),
    Way(AIOBATCH_SYNC + QUIET, ("3 sync",), CALL, aiobatch(process_partial_response), quiet=True),
    Way(AIOBATCH_SYNC + CONTEXT, (IN_LAMBDA,), CALL,
        aiobatch(process_partial_response, deadline=True)),
    Way(POWERTOOLS_SYNC + CONTEXT, (IN_LAMBDA,), CALL,
        powertools("BatchProcessor", "process_partial_response", context=True)),
    Way("aiobatch `PartialSQSProcessor` `process()` (nothing fails)",
        ("2",), CALL, sqs_process, check="results"),
    Way(POWERTOOLS_SYNC,
        SYNC_GROUPS, CALL, powertools("BatchProcessor", "process_partial_response"),
        every_size=True),
)  # fmt: skip


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


def contender(way: Way, event: Event, failing: frozenset[str], runner: asyncio.Runner) -> Contender:
    call = way.make_call(event, failing_handler(way.groups[0] in ASYNC_GROUPS, failing))
    count = len(event["Records"])
    check = {
        None: None,
        "response": expect_failures(len(failing)),
        "results": expect_results(count),
    }[way.check]
    calls = max(1, RECORDS_PER_SAMPLE // count)
    sample = (
        timed_async(runner, call, check, calls)
        if way.kind == "await"
        else timed(call, check, calls)
    )
    return Contender(way.label, quiet(sample) if way.quiet else sample, role=way.role)


def sized(group: str, n: int) -> str:
    """The group of one batch size: "1 n=10"."""
    return f"{group} n={n}"


def run_case(case_id: str, title: str, groups: tuple[str, ...], settings: Settings) -> CaseResult:
    case = CaseResult(case_id, title)
    largest = settings.size(FULL_N, QUICK_N)
    # Cases 1 and 2 run at every size; case 3 at the largest.
    sizes = settings.size(SIZES, QUICK_SIZES) if case_id in ("1", "2") else (largest,)
    with_powertools = powertools_available()
    with asyncio.Runner() as runner:
        for group in groups:
            for n in LAMBDA_SIZES if group == IN_LAMBDA else sizes:
                event = standard_event(n)
                failing = message_ids(event, FAIL_EVERY) if case_id == "3" else frozenset()
                contenders = [
                    contender(way, event, failing, runner)
                    for way in WAYS
                    if group in way.groups
                    and (group == IN_LAMBDA or n == largest or way.every_size)
                    and (with_powertools or not way.label.startswith("Powertools"))
                ]
                if group == IN_LAMBDA:  # "2 lambda" is the default batch size's
                    name = group if n == LAMBDA_N else sized(group, n)
                else:
                    name = sized(group, n) if len(sizes) > 1 else group
                case.add(measure(name, contenders, n=n, runs=settings.runs(RUNS)))
    note_if_powertools_missing(case)
    return case


case_async = partial(run_case, "1", "Per-record overhead, no-op `async def` handler", ("1",))
case_sync = partial(
    run_case, "2", "Per-record overhead, no-op plain `def` handler", ("2", IN_LAMBDA)
)
case_failing = partial(
    run_case, "3", f"Cases 1 and 2 with one record in {FAIL_EVERY} raising", ("3 async", "3 sync")
)

"""A deadline from the Lambda context, and per-record timeouts, on every processor.

Handlers block on events the test controls; the only real time is the fake context's
short remaining time (a :class:`~aiobatch.testing.FakeLambdaContext` on the real clock:
the engine's deadline runs on the event loop's clock).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any
from unittest.mock import MagicMock

import pytest

from aiobatch import (
    AioSQSActions,
    BatchProcessor,
    DeadlineExceededError,
    EventType,
    PartialItemFailureResponse,
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SqsFifoPartialProcessor,
    SQSRecord,
    aprocess_partial_response,
    process_partial_response,
    testing,
)
from aiobatch._deadline import automatic_margin, remaining_seconds
from aiobatch._sqs.clients import COLD_CLIENT_TIME
from aiobatch.testing import FakeLambdaContext, FakeSQS
from tests import events
from tests.events import sqs_event


def ids(response: PartialItemFailureResponse) -> list[int]:
    return [int(str(item["itemIdentifier"])[2:]) for item in response["batchItemFailures"]]


def blocking_handler(slow: set[int], started: list[int] | None = None) -> Any:
    never = asyncio.Event()

    async def handler(record: SQSRecord) -> int:
        n = int(record.json_body["n"])
        if started is not None:
            started.append(n)
        if n in slow:
            await never.wait()
        return n

    return handler


async def test_overrunning_batch_returns_before_the_timeout() -> None:
    context = FakeLambdaContext(0.4)
    processor = BatchProcessor(EventType.SQS, max_concurrency=3, deadline_margin=0.15)
    started: list[int] = []
    response = await aprocess_partial_response(
        sqs_event(10), blocking_handler({2, 4, 5}, started), processor, context
    )
    assert context.get_remaining_time_in_millis() > 0  # returned before Lambda's timeout
    # 0, 1, 3 finish; 2, 4, 5 block and fill the pool; 6.. never start.
    assert started == [0, 1, 2, 3, 4, 5]
    assert ids(response) == [2, 4, 5, 6, 7, 8, 9]
    errors = {f.index: f.exception for f in processor.failed_records}
    assert all(isinstance(e, DeadlineExceededError) for e in errors.values())
    assert all(isinstance(e, TimeoutError) for e in errors.values())
    assert "deadline" in str(errors[2])
    batch = processor.batch
    assert batch is not None
    assert [r[0] for r in batch.results or []][:2] == ["success", "success"]


def test_overrunning_batch_through_the_sync_facade() -> None:
    context = FakeLambdaContext(0.3)
    processor = BatchProcessor(EventType.SQS, deadline_margin=0.1)
    response = process_partial_response(sqs_event(4), blocking_handler({1}), processor, context)
    assert ids(response) == [1]
    assert context.get_remaining_time_in_millis() > 0


def test_default_margin_lets_a_batch_run_under_a_one_second_fake_context() -> None:
    assert automatic_margin(1.0) == pytest.approx(0.25)
    assert automatic_margin(900.0) == 3.0
    processor = BatchProcessor(EventType.SQS)
    response = process_partial_response(
        sqs_event(5), lambda record: None, processor, FakeLambdaContext(1.0)
    )
    assert response == {"batchItemFailures": []}


@pytest.mark.parametrize(
    "context",
    [
        None,
        object(),
        MagicMock(),
        type("C", (), {"get_remaining_time_in_millis": None})(),
        type("NaN", (), {"get_remaining_time_in_millis": lambda self: float("nan")})(),
        type("Inf", (), {"get_remaining_time_in_millis": lambda self: float("inf")})(),
    ],
)
def test_no_usable_context_means_no_deadline(context: Any) -> None:
    assert remaining_seconds(context) is None
    processor = BatchProcessor(EventType.SQS, deadline_margin=10)
    response = process_partial_response(sqs_event(3), lambda record: 1, processor, context)
    assert response == {"batchItemFailures": []}


async def test_record_timeout_cancels_only_the_slow_records() -> None:
    processor = BatchProcessor(EventType.SQS, record_timeout=0.05, max_concurrency=10)
    response = await aprocess_partial_response(sqs_event(6), blocking_handler({1, 4}), processor)
    assert ids(response) == [1, 4]
    for failed in processor.failed_records:
        assert isinstance(failed.exception, TimeoutError)
        assert "record_timeout=0.05" in str(failed.exception)


async def test_fifo_deadline_in_the_middle_of_a_group() -> None:
    # group a: 0, 2, 4; group b: 1, 3. Record 2 blocks: the deadline cancels it,
    # 4 (after it in group a) never starts; group b finishes.
    context = FakeLambdaContext(0.3)
    processor = SqsFifoPartialProcessor(
        skip_group_on_error=True, deadline_margin=0.1, raise_on_entire_batch_failure=False
    )
    started: list[int] = []
    response = await aprocess_partial_response(
        events.fifo_event("ababa"), blocking_handler({2}, started), processor, context
    )
    assert ids(response) == [2, 4]
    assert 4 not in started
    assert all(isinstance(f.exception, DeadlineExceededError) for f in processor.failed_records)


async def test_sync_handlers_inline_stop_starting_at_the_deadline() -> None:
    calls: list[int] = []

    def handler(record: SQSRecord) -> None:
        n = int(record.json_body["n"])
        calls.append(n)
        if n == 1:
            time.sleep(0.25)  # a plain def handler hogging the loop past the deadline

    processor = BatchProcessor(EventType.SQS, deadline_margin=0.1)
    response = await aprocess_partial_response(
        sqs_event(4), handler, processor, FakeLambdaContext(0.3)
    )
    assert calls == [0, 1]
    assert ids(response) == [2, 3]


def test_sync_handlers_in_threads_are_abandoned_and_reported() -> None:
    release = threading.Event()

    def handler(record: SQSRecord) -> None:
        if record.json_body["n"] == 0:
            release.wait(5)

    processor = BatchProcessor(EventType.SQS, use_threads=True, deadline_margin=0.1)
    try:
        response = process_partial_response(
            sqs_event(3), handler, processor, FakeLambdaContext(0.3)
        )
    finally:
        release.set()
    assert ids(response) == [0]
    assert isinstance(processor.failed_records[0].exception, DeadlineExceededError)


async def test_delete_mode_reports_timed_out_records_and_deletes_no_failure() -> None:
    sqs = FakeSQS()
    processor = PartialSQSProcessor(deadline_margin=0.1, sqs=sqs)
    await_records = sqs_event(4)["Records"]
    with pytest.raises(SQSBatchProcessingError):
        async with processor(
            await_records, blocking_handler({3}), lambda_context=FakeLambdaContext(0.3)
        ):
            await processor.aprocess()
    assert [[r.message_id for r in call] for call in sqs.delete_calls] == [["m-0", "m-1", "m-2"]]
    assert [f.index for f in processor.failed_records] == [3]
    batch = processor.batch
    assert batch is not None
    assert batch.deadline is not None
    assert sqs.deadlines == [batch.deadline.cleanup_end]


@pytest.mark.parametrize("bad", [0, -1, "1"])
def test_record_timeout_is_checked(bad: Any) -> None:
    with pytest.raises((TypeError, ValueError), match="record_timeout"):
        BatchProcessor(EventType.SQS, record_timeout=bad)


def test_deadline_margin_is_checked() -> None:
    with pytest.raises(ValueError, match="deadline_margin"):
        PartialSQSProcessor(deadline_margin=-1)


def test_threads_abandoned_at_the_deadline_do_not_starve_the_next_run() -> None:
    release = threading.Event()

    def handler(record: SQSRecord) -> None:
        if record.json_body["n"] < 100:
            release.wait(10)

    processor = BatchProcessor(
        EventType.SQS,
        use_threads=True,
        max_concurrency=2,
        deadline_margin=0.1,
        raise_on_entire_batch_failure=False,
    )
    try:
        first = process_partial_response(sqs_event(2), handler, processor, FakeLambdaContext(0.3))
        assert len(first["batchItemFailures"]) == 2
        later = {"Records": [events.sqs(n) for n in range(100, 104)]}
        second = process_partial_response(later, handler, processor, FakeLambdaContext(2.0))
        assert second == {"batchItemFailures": []}
    finally:
        release.set()


async def test_unfinished_records_are_summarised_a_hundred_to_a_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    never = asyncio.Event()

    async def handler(record: SQSRecord) -> None:
        await never.wait()

    processor = BatchProcessor(
        EventType.SQS, deadline_margin=0.1, raise_on_entire_batch_failure=False
    )
    with caplog.at_level(logging.WARNING, logger="aiobatch"):
        response = await aprocess_partial_response(
            sqs_event(300), handler, processor, FakeLambdaContext(0.25)
        )
    assert len(response["batchItemFailures"]) == 300
    lines = [r.getMessage() for r in caplog.records if r.name == "aiobatch"]
    assert len(lines) == 3
    for part, line in enumerate(lines, 1):
        assert line.startswith("300 records are reported failed for no failure of their own")
        assert f"({part} of 3): " in line
    named = [name for line in lines for name in line.split(": ", 1)[1].split(", ")]
    assert named == [f"m-{i}" for i in range(300)]  # every one can be found


@pytest.mark.parametrize(("startup", "margin"), [(None, 0.25), (0.1, 0.1)])
async def test_delete_mode_keeps_time_for_a_cold_client(
    startup: float | None, margin: float
) -> None:
    for cold in (COLD_CLIENT_TIME, 0.0):
        processor = PartialSQSProcessor(sqs=FakeSQS(startup_time=cold), deadline_margin=startup)
        # A stopped clock: one second left, however long the run takes.
        context = FakeLambdaContext(1.0, clock=lambda: 0.0)
        async with processor(sqs_event(1)["Records"], lambda record: None, lambda_context=context):
            await processor.aprocess()
        batch = processor.batch
        assert batch is not None
        assert batch.deadline is not None
        # 1 s left: the margin (automatic: 0.25 s), plus time to make the client.
        assert batch.deadline.lambda_end - batch.deadline.batch_end == pytest.approx(margin + cold)
    assert AioSQSActions().startup_time() == COLD_CLIENT_TIME


def positions(response: Any, event: dict[str, Any]) -> list[int]:
    """The batch positions of the records a response names."""
    position = {r["messageId"]: i for i, r in enumerate(event["Records"])}
    return [position[f["itemIdentifier"]] for f in response["batchItemFailures"]]


def test_inline_plain_def_stops_starting_records_it_would_not_finish() -> None:
    """A plain def run inline cannot be interrupted: the last record that fits before
    the deadline is the last to start, and the call returns in time."""

    def handler(record: SQSRecord) -> None:
        time.sleep(0.15)

    processor = BatchProcessor(
        EventType.SQS, deadline_margin=0.1, raise_on_entire_batch_failure=False
    )
    context = FakeLambdaContext(1.0)
    event = testing.sqs_event([str(i) for i in range(10)])
    response = process_partial_response(event, handler, processor, context)
    assert context.get_remaining_time_in_millis() > 0  # returned before Lambda's timeout
    failed = positions(response, event)
    assert 0 < len(failed) < 10
    assert failed == list(range(failed[0], 10))
    reasons = [f.exception for f in processor.failed_records]
    assert all(isinstance(e, DeadlineExceededError) for e in reasons)
    assert "longest record so far" in str(reasons[0])


@pytest.mark.parametrize("facade", ["process_partial_response", "with"])
def test_plain_handlers_without_a_loop_stop_at_the_deadline(facade: str) -> None:
    # Plain handlers from the sync facades run as plain calls, without a loop: the
    # deadline is read between records, and nothing starts after it.
    ran: list[int] = []
    loops: list[bool] = []

    def handler(record: SQSRecord) -> None:
        n = int(record.json_body["n"])
        ran.append(n)
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)
        if n == 1:
            time.sleep(0.3)

    processor = BatchProcessor(
        EventType.SQS, deadline_margin=0.1, raise_on_entire_batch_failure=False
    )
    event = sqs_event(4)
    context = FakeLambdaContext(0.35)
    if facade == "with":
        with processor(event["Records"], handler, lambda_context=context):
            processor.process()
        response = processor.response()
    else:
        response = process_partial_response(event, handler, processor, context)
    assert ran == [0, 1]
    assert ids(response) == [2, 3]
    assert all(isinstance(f.exception, DeadlineExceededError) for f in processor.failed_records)
    assert loops == [False, False]

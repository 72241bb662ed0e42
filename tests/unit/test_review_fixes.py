"""Regressions found in review: each test failed before its fix."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from pydantic import BaseModel

from aiobatch import (
    AioSQSActions,
    BatchProcessor,
    EventType,
    PartialSQSProcessor,
    SqsFifoPartialProcessor,
    SQSRecord,
    SyncInAsyncError,
    aprocess_partial_response,
    process_partial_response,
)
from aiobatch._sqs.clients import COLD_CLIENT_TIME
from aiobatch.testing import FakeSQS
from tests import events
from tests.unit.test_deadline import FakeContext


def sqs_event(count: int, **kwargs: Any) -> dict[str, Any]:
    return {"Records": [events.sqs(n, **kwargs) for n in range(count)]}


def test_powertools_context_manager_keywords() -> None:
    processor = BatchProcessor(EventType.SQS)
    seen: list[str] = []

    def record_handler(record: SQSRecord) -> None:
        seen.append(record.message_id)

    batch = sqs_event(2)["Records"]
    with processor(records=batch, handler=record_handler):
        processed = processor.process()
    assert [r[0] for r in processed] == ["success", "success"]
    assert seen == ["m-0", "m-1"]
    with pytest.raises(TypeError, match="not both"):
        processor(batch, record_handler, handler=record_handler)


@pytest.mark.parametrize("processor_type", ["batch", "fifo", "threads"])
def test_plain_function_returning_a_coroutine_is_awaited(processor_type: str) -> None:
    ran: list[int] = []

    async def work(record: SQSRecord) -> None:
        await asyncio.sleep(0)
        ran.append(int(record.json_body["n"]))
        if record.json_body["n"] == 1:
            raise ValueError("one")

    if processor_type == "fifo":
        processor: BatchProcessor = SqsFifoPartialProcessor(skip_group_on_error=True)
        event = sqs_event(3, group="g")
    else:
        processor = BatchProcessor(EventType.SQS, use_threads=processor_type == "threads")
        event = sqs_event(3)
    response = process_partial_response(event, lambda record: work(record), processor)
    assert [i["itemIdentifier"] for i in response["batchItemFailures"]] == (
        ["m-1", "m-2"] if processor_type == "fifo" else ["m-1"]
    )
    assert sorted(ran) == ([0, 1] if processor_type == "fifo" else [0, 1, 2])


async def test_fifo_handler_raising_cancelled_error_does_not_hang() -> None:
    async def handler(record: SQSRecord) -> None:
        await asyncio.sleep(0)
        if record.json_body["n"] == 0:
            raise asyncio.CancelledError

    processor = SqsFifoPartialProcessor(max_concurrency=2)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(
            aprocess_partial_response(sqs_event(3, group="a"), handler, processor), timeout=10
        )


class Person(BaseModel):
    messageId: str
    body: int


async def test_model_validation_failure_never_logs_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = sqs_event(2)
    event["Records"][0]["body"] = "SSN 078-05-1120 Jane Doe"
    event["Records"][1]["body"] = "42"

    async def handler(person: Person) -> int:
        return person.body

    processor = BatchProcessor(EventType.SQS, model=Person, raise_on_entire_batch_failure=False)
    with caplog.at_level(logging.DEBUG, logger="aiobatch"):
        response = await aprocess_partial_response(event, handler, processor)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    (failed,) = processor.failed_records
    assert "body" in str(failed.exception)
    assert "SSN" not in str(failed.exception)
    assert processor.fail_messages
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        assert "078-05-1120" not in text


async def test_unfinished_records_are_summarised_in_one_log_line(
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
            sqs_event(300), handler, processor, FakeContext(250)
        )
    assert len(response["batchItemFailures"]) == 300
    lines = [r.getMessage() for r in caplog.records if r.name == "aiobatch"]
    assert len(lines) == 1
    assert lines[0].startswith("300 records did not finish")
    assert "m-0" in lines[0]
    assert "and 250 more" in lines[0]


@pytest.mark.parametrize(("startup", "margin"), [(None, 0.25), (0.1, 0.1)])
async def test_delete_mode_keeps_time_for_a_cold_client(
    startup: float | None, margin: float
) -> None:
    for cold in (COLD_CLIENT_TIME, 0.0):
        processor = PartialSQSProcessor(sqs=FakeSQS(startup_time=cold), deadline_margin=startup)
        async with processor(
            sqs_event(1)["Records"], lambda record: None, lambda_context=FakeContext(1000)
        ):
            await processor.aprocess()
        batch = processor.batch
        assert batch is not None
        assert batch.deadline is not None
        # 1 s left: the margin (automatic: 0.25 s), plus time to make the client.
        assert batch.deadline.lambda_end - batch.deadline.batch_end == pytest.approx(margin + cold)
    assert AioSQSActions().startup_time() == COLD_CLIENT_TIME


def test_sync_facade_in_another_thread_while_busy_is_a_clear_error() -> None:
    inside = threading.Event()
    release = threading.Event()
    outcome: dict[str, Any] = {}

    def slow(record: SQSRecord) -> None:
        inside.set()
        release.wait(10)

    def first() -> None:
        outcome["first"] = process_partial_response(
            sqs_event(1), slow, BatchProcessor(EventType.SQS)
        )

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(10)
        ran: list[Any] = []
        with pytest.raises(SyncInAsyncError, match="another thread"):
            process_partial_response(sqs_event(1), ran.append, BatchProcessor(EventType.SQS))
        assert ran == []
    finally:
        release.set()
        thread.join(10)
    assert outcome["first"] == {"batchItemFailures": []}


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
        first = process_partial_response(sqs_event(2), handler, processor, FakeContext(300))
        assert len(first["batchItemFailures"]) == 2
        later = {"Records": [events.sqs(n) for n in range(100, 104)]}
        second = process_partial_response(later, handler, processor, FakeContext(2000))
        assert second == {"batchItemFailures": []}
    finally:
        release.set()


def test_invalid_event_leaves_no_state_of_the_last_run() -> None:
    processor = BatchProcessor(EventType.SQS)

    def handler(record: SQSRecord) -> None:
        if record.message_id == "m-1":
            raise ValueError("x")

    first = process_partial_response(sqs_event(2), handler, processor)
    assert first == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    bad = sqs_event(1)
    del bad["Records"][0]["messageId"]
    with pytest.raises(ValueError, match="record 0"):
        process_partial_response(bad, handler, processor)
    assert processor.response() == {"batchItemFailures": []}
    assert processor.records == []
    assert processor.fail_messages == []
    assert processor.failed_records == []


async def test_duplicate_copy_of_a_failed_message_is_not_deleted() -> None:
    records = sqs_event(3)["Records"]
    duplicate = dict(records[0], receiptHandle="rh-again", body='{"n": 9, "fail": true}')
    records.append(duplicate)

    async def handler(record: SQSRecord) -> None:
        if record.json_body["fail"]:
            raise ValueError("copy failed")

    sqs = FakeSQS()
    processor = PartialSQSProcessor(suppress_exception=True, sqs=sqs)
    async with processor(records, handler):
        await processor.aprocess()
    assert [[r.message_id for r in call] for call in sqs.delete_calls] == [["m-1", "m-2"]]
    (kept,) = processor.undeleted_messages
    assert kept.message_id == "m-0"
    assert kept.code == "DuplicateOfFailedMessage"

"""Calling the record handler: async, plain ``def`` inline or in threads, a plain function
returning a coroutine, the ``lambda_context`` keyword, and validation into a model."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from pydantic import BaseModel, Json

from aiobatch import (
    BatchProcessor,
    EventType,
    PartialSQSProcessor,
    RecordTimeoutError,
    RecordValidationError,
    SqsFifoPartialProcessor,
    SQSRecord,
    aprocess_partial_response,
    process_partial_response,
    testing,
)
from aiobatch.testing import FakeLambdaContext
from tests import events


def test_sync_handlers_run_inline_in_input_order() -> None:
    seen: list[tuple[int, str]] = []

    def handler(record: SQSRecord) -> int:
        seen.append((int(record.json_body["n"]), threading.current_thread().name))
        return 1

    processor = PartialSQSProcessor(max_concurrency=8)
    with processor(events.sqs_event(6)["Records"], handler):
        processor.process()
    assert [n for n, _ in seen] == list(range(6))
    assert {name for _, name in seen} == {threading.current_thread().name}


def test_sync_handlers_in_threads_respect_the_bound() -> None:
    lock = threading.Lock()
    state = {"running": 0, "peak": 0}
    barrier = threading.Barrier(3, timeout=10)

    def handler(record: SQSRecord) -> str:
        with lock:
            state["running"] += 1
            state["peak"] = max(state["peak"], state["running"])
        barrier.wait()
        with lock:
            state["running"] -= 1
        return threading.current_thread().name

    processor = PartialSQSProcessor(max_concurrency=3, use_threads=True)
    with processor(events.sqs_event(9)["Records"], handler):
        results = processor.process()
    assert state["peak"] == 3
    assert all(r[0] == "success" and r[1].startswith("aiobatch") for r in results)


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
        event = events.sqs_event(3, group="g")
    else:
        processor = BatchProcessor(EventType.SQS, use_threads=processor_type == "threads")
        event = events.sqs_event(3)
    response = process_partial_response(event, lambda record: work(record), processor)
    assert [i["itemIdentifier"] for i in response["batchItemFailures"]] == (
        ["m-1", "m-2"] if processor_type == "fifo" else ["m-1"]
    )
    assert sorted(ran) == ([0, 1] if processor_type == "fifo" else [0, 1, 2])


async def test_lambda_context_is_passed_by_keyword_when_declared() -> None:
    context = FakeLambdaContext()
    got: list[Any] = []

    async def handler(record: SQSRecord, lambda_context: Any) -> None:
        got.append(lambda_context)

    def plain(record: SQSRecord) -> None:
        got.append("plain")

    processor = PartialSQSProcessor()
    async with processor(events.sqs_event(2)["Records"], handler, lambda_context=context):
        await processor.aprocess()
    async with processor(events.sqs_event(1)["Records"], plain, lambda_context=context):
        await processor.aprocess()
    assert got == [context, context, "plain"]


async def test_record_is_an_sqs_record_and_a_mapping() -> None:
    seen: list[SQSRecord] = []

    async def handler(record: SQSRecord) -> str:
        seen.append(record)
        return str(record["body"])

    processor = PartialSQSProcessor()
    async with processor(events.sqs_event(1)["Records"], handler):
        ((status, result, record),) = await processor.aprocess()
    assert status == "success"
    assert isinstance(seen[0], SQSRecord)
    assert result == seen[0].body
    # A view of the same record (the handler's own is not kept after it succeeds).
    assert isinstance(record, SQSRecord)
    assert record == seen[0]
    assert record.raw_event is seen[0].raw_event


# Models


class Order(BaseModel):
    n: int
    fail: bool


class SqsOrder(BaseModel):
    messageId: str
    body: Json[Order]


class KinesisData(BaseModel):
    sequenceNumber: str
    partitionKey: str
    data: str


class KinesisOrder(BaseModel):
    kinesis: KinesisData
    eventSource: str


class DynamoData(BaseModel):
    SequenceNumber: str
    NewImage: dict[str, dict[str, Any]]


class DynamoOrder(BaseModel):
    dynamodb: DynamoData


MODELS: dict[EventType, type[BaseModel]] = {
    EventType.SQS: SqsOrder,
    EventType.KinesisDataStreams: KinesisOrder,
    EventType.DynamoDBStreams: DynamoOrder,
}


def break_record(event_type: EventType, raw: dict[str, Any]) -> None:
    if event_type is EventType.SQS:
        raw["body"] = "not json"
    elif event_type is EventType.KinesisDataStreams:
        del raw["kinesis"]["partitionKey"]
    else:
        raw["dynamodb"]["NewImage"] = "not a map"


@pytest.mark.parametrize("event_type", events.EVENT_TYPES)
async def test_model_validation_failure_fails_only_that_record(event_type: EventType) -> None:
    event = events.event(event_type, 4)
    break_record(event_type, event["Records"][2])
    seen: list[Any] = []

    async def record(model: Any) -> None:
        seen.append(model)

    processor = BatchProcessor(event_type, model=MODELS[event_type])
    response = await aprocess_partial_response(event, record, processor)
    assert response == events.failures(event, [2])
    assert len(seen) == 3
    assert all(isinstance(model, MODELS[event_type]) for model in seen)
    if event_type is EventType.SQS:
        assert [model.body.n for model in seen] == [0, 1, 3]
    (failed,) = processor.failed_records
    assert isinstance(failed.exception, RecordValidationError)
    assert isinstance(failed.exception, ValueError)
    assert failed.exception.errors


class Person(BaseModel):
    messageId: str
    body: int


async def test_model_validation_failure_never_logs_the_body(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = events.sqs_event(2)
    event["Records"][0]["body"] = "SSN 078-05-1120 Jane Doe"
    event["Records"][1]["body"] = "42"

    async def handler(person: Person) -> int:
        return person.body

    processor = BatchProcessor(EventType.SQS, model=Person, raise_on_entire_batch_failure=False)
    with caplog.at_level(logging.DEBUG, logger="aiobatch"):
        response = await aprocess_partial_response(event, handler, processor)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    (failed,) = processor.failed_records
    assert "int_parsing" in str(failed.exception)  # what kind of error, not where
    assert "SSN" not in str(failed.exception)
    assert isinstance(failed.exception, RecordValidationError)
    assert [e["loc"] for e in failed.exception.errors] == [("body",)]  # where, for code
    assert processor.fail_messages
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        assert "078-05-1120" not in text


def positions(response: Any, event: dict[str, Any]) -> list[int]:
    """The batch positions of the records a response names."""
    position = {r["messageId"]: i for i, r in enumerate(event["Records"])}
    return [position[f["itemIdentifier"]] for f in response["batchItemFailures"]]


def test_threads_timing_out_never_starve_later_records_or_the_next_invocation() -> None:
    release = threading.Event()

    def handler(record: SQSRecord) -> None:
        if record.body == "stuck":
            release.wait(10)

    processor = BatchProcessor(
        EventType.SQS, use_threads=True, max_concurrency=2, record_timeout=0.2
    )
    try:
        event = testing.sqs_event(["stuck", "stuck", "a", "b", "c", "d"])
        response = process_partial_response(event, handler, processor)
        assert positions(response, event) == [0, 1]
        assert all(isinstance(f.exception, RecordTimeoutError) for f in processor.failed_records)
        later = testing.sqs_event(["e", "f", "g"])
        assert process_partial_response(later, handler, processor) == {"batchItemFailures": []}
    finally:
        release.set()


async def test_plain_function_returning_a_coroutine_obeys_record_timeout() -> None:
    async def slow() -> None:
        await asyncio.sleep(5)

    processor = BatchProcessor(
        EventType.SQS, record_timeout=0.05, raise_on_entire_batch_failure=False
    )
    response = await aprocess_partial_response(
        testing.sqs_event(["a"]), lambda r: slow(), processor
    )
    assert len(response["batchItemFailures"]) == 1
    assert isinstance(processor.failed_records[0].exception, RecordTimeoutError)


def test_a_callable_object_with_a_generator_call_is_refused() -> None:
    class Generating:
        def __call__(self, record: Any) -> Any:
            yield record

    with pytest.raises(TypeError, match="generator function"):
        process_partial_response(events.sqs_event(1), Generating(), BatchProcessor(EventType.SQS))


@pytest.mark.parametrize("use_threads", [False, True])
def test_a_plain_function_returning_a_generator_fails_its_record(use_threads: bool) -> None:
    ran: list[Any] = []

    def generator(record: Any) -> Any:
        ran.append(record)
        yield record

    processor = BatchProcessor(
        EventType.SQS, use_threads=use_threads, raise_on_entire_batch_failure=False
    )
    response = process_partial_response(
        events.sqs_event(2), lambda record: generator(record), processor
    )
    assert len(response["batchItemFailures"]) == 2  # never reported a success
    assert ran == []
    assert all("generator" in str(f.exception) for f in processor.failed_records)

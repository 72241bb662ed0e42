"""Malformed events of every source fail whole, before any handler runs, with an error
naming the problem; a refused event leaves nothing of the last run behind."""

from __future__ import annotations

from typing import Any

import pytest

from aiobatch import (
    BatchProcessor,
    EventType,
    InvalidEventError,
    PartialSQSProcessor,
    SQSRecord,
    aprocess_partial_response,
    batch_processor,
    process_partial_response,
)
from aiobatch.testing import FakeSQS
from tests import events

handled: list[Any] = []


def handler(record: Any) -> None:
    handled.append(record)


@pytest.fixture(autouse=True)
def _reset() -> None:
    handled.clear()


def lambda_handler_for(processor: PartialSQSProcessor) -> Any:
    @batch_processor(record_handler=handler, processor=processor)
    def lambda_handler(event: Any, context: Any) -> str:
        return "ran"

    return lambda_handler


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (None, "must be a dict"),
        (["Records"], "must be a dict"),
        ({}, "no 'Records'"),
        ({"Records": "x"}, "'Records' must be a list"),
        ({"Records": {"a": 1}}, "'Records' must be a list"),
    ],
)
def test_bad_event_shape(event: Any, words: str) -> None:
    processor = PartialSQSProcessor()
    with pytest.raises(InvalidEventError, match=words) as caught:
        lambda_handler_for(processor)(event, None)
    assert isinstance(caught.value, ValueError)
    assert caught.value.field == "Records"
    assert handled == []


def _broken(index: int, change: Any) -> list[Any]:
    batch: list[Any] = events.sqs_records(3)
    change(batch, index)
    return batch


CASES = [
    ("not a dict", lambda b, i: b.__setitem__(i, "text"), "Records", "must be a dict"),
    ("no messageId", lambda b, i: b[i].pop("messageId"), "messageId", "'messageId' is missing"),
    ("empty messageId", lambda b, i: b[i].update(messageId=""), "messageId", "non-empty"),
    ("no receipt", lambda b, i: b[i].pop("receiptHandle"), "receiptHandle", "missing"),
    ("no ARN", lambda b, i: b[i].pop("eventSourceARN"), "eventSourceARN", "missing"),
    (
        "malformed ARN",
        lambda b, i: b[i].update(eventSourceARN="arn:aws:sqs:eu-west-1:orders"),
        "eventSourceARN",
        "not an SQS queue ARN",
    ),
    (
        "kinesis ARN",
        lambda b, i: b[i].update(eventSourceARN="arn:aws:kinesis:eu-west-1:111122223333:s"),
        "eventSourceARN",
        "not an SQS queue ARN",
    ),
    (
        "other source",
        lambda b, i: b[i].update(eventSource="aws:kinesis"),
        "eventSource",
        "'aws:kinesis'",
    ),
    ("no source", lambda b, i: b[i].pop("eventSource"), "eventSource", "None"),
]


@pytest.mark.parametrize(("name", "change", "field", "words"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("index", [0, 2])
def test_bad_record(name: str, change: Any, field: str, words: str, index: int) -> None:
    batch = _broken(index, change)
    sqs = FakeSQS()
    processor = PartialSQSProcessor(sqs=sqs)
    with pytest.raises(InvalidEventError, match=words) as caught:
        lambda_handler_for(processor)({"Records": batch}, None)
    assert caught.value.index == index
    assert caught.value.field == field
    assert f"record {index}" in str(caught.value)
    assert handled == []
    assert sqs.delete_calls == []


async def test_bad_record_through_the_async_context_manager() -> None:
    batch = _broken(1, lambda b, i: b[i].pop("receiptHandle"))
    processor = PartialSQSProcessor()
    with pytest.raises(InvalidEventError, match="record 1"):
        async with processor(batch, handler):
            await processor.aprocess()
    assert handled == []


@pytest.mark.parametrize("event_type", events.EVENT_TYPES)
@pytest.mark.parametrize("bad", [None, "", 0])
async def test_missing_or_empty_identifier_fails_the_call(event_type: EventType, bad: Any) -> None:
    event = events.event(event_type, 3)
    raw = event["Records"][1]
    if event_type is EventType.SQS:
        raw["messageId"] = bad
    elif event_type is EventType.KinesisDataStreams:
        raw["kinesis"]["sequenceNumber"] = bad
    else:
        raw["dynamodb"]["SequenceNumber"] = bad
    calls: list[Any] = []

    async def record(record: Any) -> None:
        calls.append(record)

    with pytest.raises(InvalidEventError, match="record 1") as caught:
        await aprocess_partial_response(event, record, BatchProcessor(event_type))
    assert caught.value.index == 1
    assert calls == []


@pytest.mark.parametrize("event_type", events.EVENT_TYPES)
async def test_record_of_another_source_is_rejected(event_type: EventType) -> None:
    other = EventType.SQS if event_type is not EventType.SQS else EventType.KinesisDataStreams
    event = events.event(event_type, 2)
    event["Records"].append(events.record(other, 2))
    with pytest.raises(InvalidEventError, match="record 2") as caught:
        await aprocess_partial_response(event, handler, BatchProcessor(event_type))
    assert caught.value.field == "eventSource"


@pytest.mark.parametrize("event", [None, [], {}, {"Records": None}, {"Records": [1]}])
def test_bad_events(event: Any) -> None:
    with pytest.raises(InvalidEventError):
        process_partial_response(event, handler, BatchProcessor(EventType.SQS))


def test_event_type_is_checked() -> None:
    with pytest.raises(TypeError, match="EventType"):
        BatchProcessor("SQS")  # type: ignore[arg-type]


def test_invalid_event_leaves_no_state_of_the_last_run() -> None:
    processor = BatchProcessor(EventType.SQS)

    def handler(record: SQSRecord) -> None:
        if record.message_id == "m-1":
            raise ValueError("x")

    first = process_partial_response(events.sqs_event(2), handler, processor)
    assert first == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    bad = events.sqs_event(1)
    del bad["Records"][0]["messageId"]
    with pytest.raises(ValueError, match="record 0"):
        process_partial_response(bad, handler, processor)
    assert processor.response() == {"batchItemFailures": []}
    assert processor.records == []
    assert processor.fail_messages == []
    assert processor.failed_records == []


class _RecordDict(dict[str, Any]):
    """A dict subclass, as a test's own record type might be."""


@pytest.mark.parametrize("event_type", events.EVENT_TYPES)
def test_records_of_a_dict_subclass_are_taken_and_a_bad_one_after_them_is_named(
    event_type: EventType,
) -> None:
    event = events.event(event_type, 3)
    event["Records"][1] = _RecordDict(event["Records"][1])
    assert process_partial_response(event, handler, BatchProcessor(event_type)) == {
        "batchItemFailures": []
    }
    assert len(handled) == 3
    handled.clear()

    event["Records"][2]["eventSource"] = "aws:elsewhere"
    with pytest.raises(InvalidEventError, match="record 2") as caught:
        process_partial_response(event, handler, BatchProcessor(event_type))
    assert caught.value.field == "eventSource"
    assert handled == []

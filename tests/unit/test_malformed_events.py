"""Malformed events through every entry point: a clear InvalidEventError naming the place,
before any handler runs, and nothing deleted."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from aiobatch import (
    BatchProcessor,
    EventType,
    InvalidEventError,
    PartialSQSProcessor,
    SqsFifoPartialProcessor,
    aprocess_partial_response,
    async_batch_processor,
    async_process_partial_response,
    batch_processor,
    process_partial_response,
)
from aiobatch.testing import FakeSQS, dynamodb_event, dynamodb_record, kinesis_event, sqs_event

SQS, KINESIS, DYNAMODB, FIFO, DELETE = "sqs", "kinesis", "dynamodb", "fifo", "delete"


def good_event(kind: str) -> dict[str, Any]:
    if kind == KINESIS:
        return kinesis_event([{"n": n} for n in range(3)])
    if kind == DYNAMODB:
        return dynamodb_event(
            dynamodb_record(keys={"pk": f"k{n}"}, new_image={"pk": f"k{n}"}) for n in range(3)
        )
    if kind == FIFO:
        return sqs_event(["a", "b", "c"], message_group_id="g")
    return sqs_event(["a", "b", "c"])


@dataclass(frozen=True)
class Case:
    name: str
    kinds: tuple[str, ...]
    change: Callable[[dict[str, Any], int], Any]  # mutates the record at index, or returns an event
    field: str
    words: str
    event_level: bool = False


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any], int], None]:
    def change(event: dict[str, Any], index: int) -> None:
        target = event["Records"][index]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(path: tuple[str, ...]) -> Callable[[dict[str, Any], int], None]:
    def change(event: dict[str, Any], index: int) -> None:
        target = event["Records"][index]
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def _replace_record(value: Any) -> Callable[[dict[str, Any], int], None]:
    def change(event: dict[str, Any], index: int) -> None:
        event["Records"][index] = value

    return change


def _event(value: Any) -> Callable[[dict[str, Any], int], Any]:
    return lambda event, index: copy.deepcopy(value)


ALL = (SQS, KINESIS, DYNAMODB, FIFO, DELETE)
SQS_LIKE = (SQS, FIFO, DELETE)
ID_FIELD = {
    SQS: ("messageId",),
    FIFO: ("messageId",),
    DELETE: ("messageId",),
    KINESIS: ("kinesis", "sequenceNumber"),
    DYNAMODB: ("dynamodb", "SequenceNumber"),
}

CASES = [
    # The event itself.
    Case("event is None", ALL, _event(None), "Records", "must be a dict", True),
    Case("event is a list", ALL, _event([]), "Records", "must be a dict", True),
    Case("event is a string", ALL, _event("Records"), "Records", "must be a dict", True),
    Case("event is a number", ALL, _event(7), "Records", "must be a dict", True),
    Case("event is empty", ALL, _event({}), "Records", "no 'Records' key", True),
    Case("lower-case records key", ALL, _event({"records": []}), "Records", "no 'Records'", True),
    Case("Records is None", ALL, _event({"Records": None}), "Records", "must be a list", True),
    Case("Records is a dict", ALL, _event({"Records": {}}), "Records", "must be a list", True),
    Case("Records is a string", ALL, _event({"Records": "[]"}), "Records", "must be a list", True),
    Case("Records is a number", ALL, _event({"Records": 3}), "Records", "must be a list", True),
    # A record that is not a record.
    Case("record is None", ALL, _replace_record(None), "Records", "must be a dict"),
    Case("record is a string", ALL, _replace_record("{}"), "Records", "must be a dict"),
    Case("record is a list", ALL, _replace_record([]), "Records", "must be a dict"),
    Case("record is a number", ALL, _replace_record(1), "Records", "must be a dict"),
    # eventSource.
    Case("no eventSource", ALL, _drop(("eventSource",)), "eventSource", "this processor takes"),
    Case("eventSource None", ALL, _set(("eventSource",), None), "eventSource", "takes"),
    Case("eventSource of SNS", ALL, _set(("eventSource",), "aws:sns"), "eventSource", "takes"),
    Case(
        "SQS record, stream",
        (KINESIS, DYNAMODB),
        _set(("eventSource",), "aws:sqs"),
        "eventSource",
        "takes",
    ),
    Case(
        "stream record, SQS",
        SQS_LIKE,
        _set(("eventSource",), "aws:kinesis"),
        "eventSource",
        "takes",
    ),
    # The item identifier.
    Case("messageId missing", SQS_LIKE, _drop(("messageId",)), "messageId", "is missing"),
    Case("messageId None", SQS_LIKE, _set(("messageId",), None), "messageId", "is missing"),
    Case("messageId empty", SQS_LIKE, _set(("messageId",), ""), "messageId", "non-empty string"),
    Case("messageId a number", SQS_LIKE, _set(("messageId",), 12), "messageId", "non-empty string"),
    Case("messageId a list", SQS_LIKE, _set(("messageId",), ["m"]), "messageId", "non-empty"),
    Case("kinesis missing", (KINESIS,), _drop(("kinesis",)), "kinesis.sequenceNumber", "missing"),
    Case("kinesis None", (KINESIS,), _set(("kinesis",), None), "kinesis.sequenceNumber", "missing"),
    Case(
        "kinesis a string", (KINESIS,), _set(("kinesis",), "x"), "kinesis.sequenceNumber", "missing"
    ),
    Case(
        "sequenceNumber missing",
        (KINESIS,),
        _drop(("kinesis", "sequenceNumber")),
        "kinesis.sequenceNumber",
        "missing",
    ),
    Case(
        "sequenceNumber empty",
        (KINESIS,),
        _set(("kinesis", "sequenceNumber"), ""),
        "kinesis.sequenceNumber",
        "non-empty",
    ),
    Case(
        "sequenceNumber a number",
        (KINESIS,),
        _set(("kinesis", "sequenceNumber"), 5),
        "kinesis.sequenceNumber",
        "non-empty",
    ),
    Case(
        "dynamodb missing", (DYNAMODB,), _drop(("dynamodb",)), "dynamodb.SequenceNumber", "missing"
    ),
    Case(
        "dynamodb a list",
        (DYNAMODB,),
        _set(("dynamodb",), []),
        "dynamodb.SequenceNumber",
        "missing",
    ),
    Case(
        "SequenceNumber missing",
        (DYNAMODB,),
        _drop(("dynamodb", "SequenceNumber")),
        "dynamodb.SequenceNumber",
        "missing",
    ),
    Case(
        "SequenceNumber empty",
        (DYNAMODB,),
        _set(("dynamodb", "SequenceNumber"), ""),
        "dynamodb.SequenceNumber",
        "non-empty",
    ),
    Case(
        "SequenceNumber a number",
        (DYNAMODB,),
        _set(("dynamodb", "SequenceNumber"), 7),
        "dynamodb.SequenceNumber",
        "non-empty",
    ),
    # What delete mode needs besides.
    Case("receiptHandle missing", (DELETE,), _drop(("receiptHandle",)), "receiptHandle", "missing"),
    Case(
        "receiptHandle empty", (DELETE,), _set(("receiptHandle",), ""), "receiptHandle", "non-empty"
    ),
    Case(
        "receiptHandle a number",
        (DELETE,),
        _set(("receiptHandle",), 9),
        "receiptHandle",
        "non-empty",
    ),
    Case(
        "eventSourceARN missing", (DELETE,), _drop(("eventSourceARN",)), "eventSourceARN", "missing"
    ),
    Case(
        "eventSourceARN empty",
        (DELETE,),
        _set(("eventSourceARN",), ""),
        "eventSourceARN",
        "non-empty",
    ),
    Case(
        "eventSourceARN a dict",
        (DELETE,),
        _set(("eventSourceARN",), {}),
        "eventSourceARN",
        "non-empty",
    ),
    Case(
        "ARN of SNS",
        (DELETE,),
        _set(("eventSourceARN",), "arn:aws:sns:eu-west-1:111122223333:t"),
        "eventSourceARN",
        "not an SQS queue ARN",
    ),
    Case(
        "ARN without account",
        (DELETE,),
        _set(("eventSourceARN",), "arn:aws:sqs:eu-west-1::q"),
        "eventSourceARN",
        "not an SQS queue ARN",
    ),
    Case(
        "ARN short account",
        (DELETE,),
        _set(("eventSourceARN",), "arn:aws:sqs:eu-west-1:1:q"),
        "eventSourceARN",
        "not an SQS queue ARN",
    ),
    Case(
        "ARN without name",
        (DELETE,),
        _set(("eventSourceARN",), "arn:aws:sqs:eu-west-1:111122223333"),
        "eventSourceARN",
        "not an SQS queue ARN",
    ),
    Case(
        "ARN bad region",
        (DELETE,),
        _set(("eventSourceARN",), "arn:aws:sqs:EU:111122223333:q"),
        "eventSourceARN",
        "not an SQS queue ARN",
    ),
    Case(
        "ARN a queue URL",
        (DELETE,),
        _set(("eventSourceARN",), "https://sqs.eu-west-1.amazonaws.com/111122223333/q"),
        "eventSourceARN",
        "not an SQS queue ARN",
    ),
    Case(
        "ARN name too long",
        (DELETE,),
        _set(("eventSourceARN",), "arn:aws:sqs:eu-west-1:111122223333:" + "q" * 81),
        "eventSourceARN",
        "not an SQS queue ARN",
    ),
]


def processor_for(kind: str, sqs: FakeSQS) -> Any:
    if kind == KINESIS:
        return BatchProcessor(EventType.KinesisDataStreams)
    if kind == DYNAMODB:
        return BatchProcessor(EventType.DynamoDBStreams)
    if kind == FIFO:
        return SqsFifoPartialProcessor()
    if kind == DELETE:
        return PartialSQSProcessor(sqs=sqs)
    return BatchProcessor(EventType.SQS)


ENTRY_POINTS = [
    "process_partial_response",
    "aprocess_partial_response",
    "async_process_partial_response",
    "batch_processor",
    "async_batch_processor",
    "with",
    "async with",
]


def run(entry: str, processor: Any, event: Any, handler: Callable[[Any], Any]) -> None:
    if entry == "process_partial_response":
        process_partial_response(event, handler, processor)
    elif entry == "aprocess_partial_response":
        asyncio.run(aprocess_partial_response(event, handler, processor))
    elif entry == "async_process_partial_response":
        async_process_partial_response(event, handler, processor)
    elif entry == "batch_processor":
        batch_processor(record_handler=handler, processor=processor)(lambda e, c: None)(event, None)
    elif entry == "async_batch_processor":

        async def lambda_handler(event: Any, context: Any) -> None:
            return None

        wrapped = async_batch_processor(record_handler=handler, processor=processor)(lambda_handler)
        asyncio.run(wrapped(event, None))
    elif entry == "with":
        records = event["Records"] if isinstance(event, dict) and "Records" in event else event
        with processor(records, handler):
            processor.process()
    else:
        records = event["Records"] if isinstance(event, dict) and "Records" in event else event

        async def go() -> None:
            async with processor(records, handler):
                await processor.aprocess()

        asyncio.run(go())


def applies(case: Case, kind: str, entry: str) -> bool:
    if kind == DELETE and "partial_response" in entry:
        return False  # delete mode is refused by those before the event is read
    if case.event_level and entry in ("with", "async with"):
        # The context managers take the records: only a bad Records value applies.
        event = case.change(good_event(kind), 0)
        return isinstance(event, dict) and "Records" in event
    return True


PARAMS = [
    pytest.param(case, kind, entry, index, id=f"{case.name}-{kind}-{entry}-{index}")
    for case in CASES
    for kind in case.kinds
    for entry in ENTRY_POINTS
    if applies(case, kind, entry)
    for index in ((0,) if case.event_level else (0, 2))
]


def test_the_matrix_is_wide() -> None:
    events = {(case.name, kind) for case in CASES for kind in case.kinds}
    assert len(CASES) >= 45
    assert len(events) >= 100


@pytest.mark.parametrize(("case", "kind", "entry", "index"), PARAMS)
def test_malformed_event_is_refused_before_any_handler(
    case: Case, kind: str, entry: str, index: int
) -> None:
    event = good_event(kind)
    changed = case.change(event, index)
    if changed is not None or case.event_level:
        event = changed
    ran: list[Any] = []
    sqs = FakeSQS()
    with pytest.raises(InvalidEventError, match=case.words) as caught:
        run(entry, processor_for(kind, sqs), event, ran.append)
    assert ran == []
    assert sqs.delete_calls == []
    error = caught.value
    assert error.field == case.field
    if not case.event_level:
        assert error.index == index
        assert str(error).startswith(f"record {index}: ")

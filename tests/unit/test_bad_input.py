"""Malformed events fail whole, before any handler runs, with an error naming the problem."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from aiobatch import InvalidEventError, PartialSQSProcessor, batch_processor
from aiobatch._arn import parse_sqs_arn
from aiobatch.testing import FakeSQS
from tests.unit.test_processing import records

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
    batch = copy.deepcopy(records(3))
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


@pytest.mark.parametrize(
    ("arn", "url"),
    [
        (
            "arn:aws:sqs:eu-west-1:111122223333:orders",
            "https://sqs.eu-west-1.amazonaws.com/111122223333/orders",
        ),
        (
            "arn:aws-cn:sqs:cn-north-1:111122223333:orders.fifo",
            "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/orders.fifo",
        ),
        (
            "arn:aws-us-gov:sqs:us-gov-west-1:111122223333:orders",
            "https://sqs.us-gov-west-1.amazonaws.com/111122223333/orders",
        ),
    ],
)
async def test_queue_url_and_region_for_each_partition(arn: str, url: str) -> None:
    """The client made for the ARN's region resolves the partition's endpoint."""
    import aioboto3

    queue = parse_sqs_arn(arn)
    assert queue is not None
    session = aioboto3.Session(aws_access_key_id="a", aws_secret_access_key="b")
    async with session.client("sqs", region_name=queue.region) as client:
        assert queue.url_on(client.meta.endpoint_url) == url


def test_endpoint_override_url() -> None:
    queue = parse_sqs_arn("arn:aws:sqs:eu-west-1:111122223333:orders")
    assert queue is not None
    assert queue.url_on("http://127.0.0.1:5000/") == "http://127.0.0.1:5000/111122223333/orders"

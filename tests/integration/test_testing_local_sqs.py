"""aiobatch.testing.LocalSQS against moto on 127.0.0.1: queues, sends and Lambda events."""

from __future__ import annotations

import hashlib
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

import pytest

from aiobatch import PartialSQSProcessor, SQSBatchProcessingError, SQSRecord
from aiobatch.testing import LocalQueue, LocalSQS, sqs_record
from tests.events import sample


def sample_keys(name: str) -> tuple[set[str], set[str]]:
    """The record keys and system attribute keys of a sample event's first record."""
    record: dict[str, Any] = sample(name)["Records"][0]
    return set(record), set(record["attributes"])


@pytest.fixture
def sqs(local_sqs: LocalSQS) -> LocalSQS:
    """The run's server (tests/moto.py); tests that start and stop their own make one."""
    return local_sqs


@pytest.fixture
def standard(sqs: LocalSQS) -> LocalQueue:
    return sqs.create_queue()


@pytest.fixture
def fifo(sqs: LocalSQS) -> LocalQueue:
    return sqs.create_queue(fifo=True, dead_letter_queue=True)


def test_server_is_on_loopback_and_env_points_at_it(sqs: LocalSQS) -> None:
    parsed = urlparse(sqs.endpoint_url)
    assert parsed.scheme == "http"
    assert parsed.hostname == "127.0.0.1"
    assert parsed.port
    assert sqs.env() == {
        "AWS_ENDPOINT_URL_SQS": sqs.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    assert sqs.client.meta.endpoint_url == sqs.endpoint_url
    assert sqs.client.meta.region_name == "us-east-1"


def test_standard_queue_send_and_receive_event(standard: LocalQueue) -> None:
    assert urlparse(standard.url).hostname == "127.0.0.1"
    assert standard.arn == f"arn:aws:sqs:us-east-1:123456789012:{standard.name}"
    assert not standard.fifo
    assert standard.dead_letter is None
    bodies = [json.dumps({"n": n}) for n in range(3)]
    ids = standard.send(bodies)
    assert len(set(ids)) == 3

    event = standard.receive_event()
    records = event["Records"]
    assert sorted(record["body"] for record in records) == bodies
    assert {record["messageId"] for record in records} == set(ids)
    record_keys, attribute_keys = sample_keys("sqs")
    for record in records:
        assert record_keys - {"messageAttributes"} <= set(record)
        assert record["messageAttributes"] == {}
        assert attribute_keys <= set(record["attributes"])
        assert "MessageGroupId" not in record["attributes"]
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == standard.arn
        assert record["awsRegion"] == "us-east-1"
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert json.loads(json.dumps(event)) == event
    # The received messages are hidden, as while a function handles them.
    assert standard.receive_event() == {"Records": []}
    assert standard.approximate_count() == 0
    assert standard.approximate_count(include_hidden=True) == 3


def test_non_json_bodies_are_sent_as_json(standard: LocalQueue) -> None:
    standard.send([{"a": 1}, "plain"])
    assert sorted(standard.drain_bodies()) == sorted(['{"a": 1}', "plain"])


def test_fifo_queue_with_a_dead_letter_queue(sqs: LocalSQS, fifo: LocalQueue) -> None:
    assert fifo.fifo
    assert fifo.name.endswith(".fifo")
    dead_letter = fifo.dead_letter
    assert dead_letter is not None
    assert dead_letter.fifo
    assert dead_letter.name == fifo.name.removesuffix(".fifo") + "-dlq.fifo"
    attributes = sqs.client.get_queue_attributes(QueueUrl=fifo.url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["FifoQueue"] == "true"
    assert attributes["VisibilityTimeout"] == "30"
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == dead_letter.arn
    assert int(policy["maxReceiveCount"]) == 3


def test_fifo_receive_event_has_the_fifo_attributes_in_order(
    sqs: LocalSQS, fifo: LocalQueue
) -> None:
    bodies = [f"order-{n}" for n in range(6)]
    fifo.send(bodies, message_group_id=lambda index: f"cust-{index % 2}")
    record_keys, attribute_keys = sample_keys("sqs-fifo")
    received: list[dict[str, Any]] = []
    for _ in range(6):
        received += fifo.receive_event(visibility_timeout=60)["Records"]
        if len(received) == 6:
            break
        # A FIFO queue holds back a group while its messages are in flight.
        for record in received:
            sqs.client.delete_message(QueueUrl=fifo.url, ReceiptHandle=record["receiptHandle"])
    assert sorted(record["body"] for record in received) == bodies
    for record in received:
        assert record_keys - {"messageAttributes"} <= set(record)
        assert attribute_keys <= set(record["attributes"])
        assert record["eventSourceARN"] == fifo.arn
        assert record["attributes"]["MessageGroupId"] == f"cust-{int(record['body'][-1]) % 2}"
        assert record["attributes"]["MessageDeduplicationId"]
        assert record["attributes"]["SequenceNumber"].isdigit()
    for group in ("cust-0", "cust-1"):
        in_group = [r["body"] for r in received if r["attributes"]["MessageGroupId"] == group]
        assert in_group == sorted(in_group)


def test_fifo_send_needs_a_group_and_equal_bodies_are_all_kept(fifo: LocalQueue) -> None:
    with pytest.raises(ValueError, match="message_group_id"):
        fifo.send(["x"])
    fifo.send(["same"] * 3, message_group_id="g")
    assert fifo.drain_bodies() == ["same"] * 3


def test_message_attributes_arrive_in_lambda_shape_with_the_sqs_md5(
    standard: LocalQueue,
) -> None:
    attributes: dict[str, str | int | float | bytes] = {
        "tenant": "acme",
        "n": 5,
        "ratio": 0.25,
        "raw": b"\x00\x01",
    }
    standard.send(["x"], message_attributes=attributes)
    (record,) = standard.receive_event()["Records"]
    built = sqs_record("x", message_attributes=attributes)
    assert record["messageAttributes"] == built["messageAttributes"]
    assert record["md5OfMessageAttributes"] == built["md5OfMessageAttributes"]


def test_send_in_batches_drain_and_counts(standard: LocalQueue) -> None:
    bodies = [f"m{n}" for n in range(25)]
    ids = standard.send(bodies)
    assert len(set(ids)) == 25
    assert standard.approximate_count() == 25
    drained = standard.drain_bodies()
    assert sorted(drained) == sorted(bodies)
    assert standard.drain_bodies() == []
    assert standard.approximate_count() == 0
    assert standard.approximate_count(include_hidden=True) == 25


def test_fifo_drain_takes_a_whole_group(fifo: LocalQueue) -> None:
    bodies = [f"m{n:02d}" for n in range(15)]
    fifo.send(bodies, message_group_id="one")
    assert fifo.drain_bodies() == bodies
    assert fifo.approximate_count(include_hidden=True) == 0


def test_redrive_moves_a_message_to_the_dead_letter_queue(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(dead_letter_queue=True, max_receive_count=1)
    assert queue.dead_letter is not None
    queue.send(["poison"])
    (record,) = queue.receive_event(visibility_timeout=0)["Records"]
    assert record["body"] == "poison"
    assert queue.receive_event()["Records"] == []
    assert queue.dead_letter.drain_bodies() == ["poison"]


def test_receive_event_limits(standard: LocalQueue) -> None:
    standard.send([str(n) for n in range(5)])
    assert len(standard.receive_event(2)["Records"]) == 2
    with pytest.raises(ValueError, match="max_messages"):
        standard.receive_event(11)
    with pytest.raises(ValueError, match="max_messages"):
        standard.receive_event(0)


def test_named_queues(sqs: LocalSQS) -> None:
    named = sqs.create_queue("orders-named")
    assert named.name == "orders-named"
    assert named.url.endswith("/orders-named")
    implied = sqs.create_queue("orders-implied.fifo")
    assert implied.fifo
    suffixed = sqs.create_queue("orders-suffixed", fifo=True, visibility_timeout=5)
    assert suffixed.name == "orders-suffixed.fifo"
    attributes = sqs.client.get_queue_attributes(
        QueueUrl=suffixed.url, AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "5"


def test_client_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Everything here would send a client elsewhere; only loopback ports are named.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "bogus")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "bogus")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with LocalSQS() as local:
        queue = local.create_queue()
        queue.send(["hello"])
        assert queue.drain_bodies() == ["hello"]
        assert local.client.meta.region_name == "us-east-1"


def test_other_region(sqs: LocalSQS) -> None:
    with LocalSQS(region="eu-west-1") as local:
        queue = local.create_queue()
        assert queue.arn.startswith("arn:aws:sqs:eu-west-1:")
        queue.send(["x"])
        (record,) = queue.receive_event()["Records"]
        assert record["awsRegion"] == "eu-west-1"
        assert local.env()["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_start_stop_and_cleanup(sqs: LocalSQS) -> None:
    local = LocalSQS().start()
    with pytest.raises(RuntimeError, match="already started"):
        local.start()
    queue = local.create_queue(dead_letter_queue=True)
    assert queue.dead_letter is not None
    names = {queue.name, queue.dead_letter.name}
    local.stop()
    local.stop()
    with pytest.raises(RuntimeError, match="not started"):
        _ = local.endpoint_url
    # moto keeps one set of queues per process: the other server sees what is left.
    listed = sqs.client.list_queues(QueueNamePrefix=queue.name).get("QueueUrls", [])
    assert not any(url.rsplit("/", 1)[-1] in names for url in listed)


async def test_delete_mode_end_to_end(
    sqs: LocalSQS, standard: LocalQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the helpers are for: a Lambda event off a local queue, through aiobatch."""
    for name, value in sqs.env().items():
        monkeypatch.setenv(name, value)
    standard.send([{"n": n, "fail": n == 1} for n in range(4)])
    event = standard.receive_event()
    assert len(event["Records"]) == 4

    async def handle(record: SQSRecord) -> None:
        if record.json_body["fail"]:
            raise ValueError("refused")

    processor = PartialSQSProcessor()
    with pytest.raises(SQSBatchProcessingError):
        async with processor(event["Records"], handle):
            await processor.aprocess()
    # The three successes are deleted; the failure stays, hidden until it times out.
    assert standard.approximate_count(include_hidden=True) == 1


def test_concurrent_deletes_all_take_effect(standard: LocalQueue, sqs: LocalSQS) -> None:
    # moto rewrites a queue's message list without a lock: deletes served at once by its
    # threads can undo each other. LocalSQS makes them take turns, as real SQS would.
    count = 200
    standard.send([f"m{i}" for i in range(count)])
    handles: list[str] = []
    while len(handles) < count:
        event = standard.receive_event(10, visibility_timeout=300)
        handles += [record["receiptHandle"] for record in event["Records"]]
    chunks = [handles[i : i + 10] for i in range(0, count, 10)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # thread switches inside moto's handlers
    try:
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(
                pool.map(
                    lambda chunk: sqs.client.delete_message_batch(
                        QueueUrl=standard.url,
                        Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)],
                    ),
                    chunks,
                )
            )
    finally:
        sys.setswitchinterval(switch)
    assert sum(len(a.get("Successful", [])) for a in answers) == count
    attributes = sqs.client.get_queue_attributes(
        QueueUrl=standard.url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


@pytest.mark.parametrize("kind", ["standard", "fifo"])
def test_powertools_parser_model_accepts_the_events_built_from_received_messages(
    sqs: LocalSQS, kind: str
) -> None:
    # The shape `aiobatch run` will hand to handlers: Powertools' own pydantic model of
    # Lambda's SQS event must take it as Lambda's.
    from aws_lambda_powertools.utilities.parser.models import SqsModel

    queue = sqs.create_queue(fifo=kind == "fifo")
    ids = queue.send(
        ["plain", {"n": 1}],
        message_group_id="g" if kind == "fifo" else None,
        message_attributes={"kind": "text", "count": 3, "blob": b"\x00\x01"},
    )
    event = queue.receive_event(10)
    parsed = SqsModel.model_validate(event)
    assert [record.messageId for record in parsed.Records] == ids
    record = parsed.Records[0]
    assert record.body == "plain"
    assert record.eventSource == "aws:sqs"
    assert record.eventSourceARN == queue.arn
    assert record.attributes.ApproximateReceiveCount == "1"
    assert set(record.messageAttributes) == {"kind", "count", "blob"}
    assert record.messageAttributes["kind"].stringValue == "text"
    assert record.messageAttributes["blob"].binaryValue is not None
    if kind == "fifo":
        assert record.attributes.MessageGroupId == "g"
        assert record.attributes.SequenceNumber
        assert record.attributes.MessageDeduplicationId

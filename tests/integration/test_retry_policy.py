"""The retry policy against a moto server: real HTTP, the real SQS JSON protocol.

``retry=Backoff(...)`` sets each failed message's visibility by its receive count
(ChangeMessageVisibilityBatch); ``non_retryable=`` sends matching failures to the
dead-letter queue (SendMessageBatch) and counts them handled only once SQS confirmed
the copy. Calls are read back from the wire (every attempt, as sent) and the outcome
from the queues themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from aiobatch import (
    Backoff,
    BatchProcessingError,
    BatchProcessor,
    EventType,
    PartialItemFailureResponse,
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SqsFifoPartialProcessor,
    SQSRecord,
    aprocess_partial_response,
    process_partial_response,
)
from aiobatch._sqs import batch_calls
from aiobatch.testing import FakeLambdaContext, event_from_messages
from tests.moto import MakeQueue, Queue
from tests.wire import Wire, entry_fails, server_error, session_with

ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# What SQS takes in a message body and in a String attribute's value.
SQS_TEXT = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
MAX_BATCH_PAYLOAD = 1024 * 1024
ERROR_TYPE = "aiobatch.ErrorType"
ERROR_MESSAGE = "aiobatch.ErrorMessage"
TWELVE_HOURS = 43_200


class PoisonError(Exception):
    """What a handler raises for a record that can never succeed."""


# --- the wire ----------------------------------------------------------------------------


@dataclass
class Wires:
    """Every attempt of each batch call a session's clients sent, one Wire per call."""

    change: Wire = field(default_factory=Wire)
    send: Wire = field(default_factory=Wire)
    delete: Wire = field(default_factory=Wire)
    attributes: Wire = field(default_factory=Wire)

    @property
    def operations(self) -> list[str]:
        return [request.operation for request in self.delete.requests]

    def timeouts(self) -> dict[str, int]:
        """The VisibilityTimeout each receipt handle was last given."""
        return {
            entry["ReceiptHandle"]: entry["VisibilityTimeout"]
            for attempt in self.change.attempts
            for entry in attempt["Entries"]
        }

    def sent_entries(self) -> list[dict[str, Any]]:
        return [entry for attempt in self.send.attempts for entry in attempt["Entries"]]

    def deleted_handles(self) -> set[str]:
        return {
            entry["ReceiptHandle"]
            for attempt in self.delete.attempts
            for entry in attempt["Entries"]
        }


def session_for(wires: Wires) -> Any:
    """An aioboto3 session whose clients report every batch call to ``wires``."""
    session = session_with(wires.delete)
    for operation, wire in (
        ("ChangeMessageVisibilityBatch", wires.change),
        ("SendMessageBatch", wires.send),
        ("GetQueueAttributes", wires.attributes),
    ):
        session.events.register_first(f"before-send.sqs.{operation}", wire.before_send)
    return session


def payload_size(entry: dict[str, Any]) -> int:
    """What a SendMessageBatch entry counts toward SQS's 1 MiB a call (as sent: binary
    values are base64 on the wire)."""
    size = len(entry["MessageBody"].encode())
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(value["DataType"].encode())
        if "StringValue" in value:
            size += len(value["StringValue"].encode())
        if "BinaryValue" in value:
            size += len(value["BinaryValue"]) * 3 // 4
    return size


def check_calls(wires: Wires) -> None:
    """What real SQS refuses and moto accepts: no entry, more than ten, bad or equal Ids,
    a timeout past 12 hours, a send over 1 MiB, text SQS does not take."""
    for wire in (wires.change, wires.send, wires.delete):
        for attempt in wire.attempts:
            ids = [entry["Id"] for entry in attempt["Entries"]]
            assert 1 <= len(ids) <= 10, ids
            assert len(set(ids)) == len(ids), ids
            assert all(ENTRY_ID.fullmatch(entry_id) for entry_id in ids), ids
    for attempt in wires.change.attempts:
        for entry in attempt["Entries"]:
            assert isinstance(entry["VisibilityTimeout"], int)
            assert 0 <= entry["VisibilityTimeout"] <= TWELVE_HOURS
    for attempt in wires.send.attempts:
        assert sum(payload_size(entry) for entry in attempt["Entries"]) <= MAX_BATCH_PAYLOAD
        for entry in attempt["Entries"]:
            attributes = entry.get("MessageAttributes") or {}
            assert len(attributes) <= 10
            for name, value in attributes.items():
                if "StringValue" in value:
                    text = value["StringValue"]
                    assert text, name
                    assert SQS_TEXT.fullmatch(text), f"{name}: {text!r}"


@pytest.fixture
def wires() -> Wires:
    return Wires()


@pytest.fixture(autouse=True)
def _no_client_retry_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_calls, "RETRY_BASE_DELAY", 0.0)
    import botocore.retries.standard as standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


# --- queues and messages -------------------------------------------------------------------


def body(n: int, kind: str) -> str:
    """Record ``n``'s body; ``kind``: o ok, s ok after 0.3 s, r retryable failure, f the
    same after 0.1 s, p poison, h hangs."""
    return json.dumps({"n": n, "kind": kind})


def number(message: dict[str, Any]) -> int:
    n: int = json.loads(message["Body"])["n"]
    return n


async def handler(record: SQSRecord) -> str:
    kind, n = record.json_body["kind"], record.json_body["n"]
    if kind == "p":
        raise PoisonError(f"record {n} can never succeed")
    if kind == "f":
        await asyncio.sleep(0.1)
    if kind in "rf":
        raise ValueError(f"record {n} failed for now")
    if kind == "h":
        await asyncio.Event().wait()
    if kind == "s":
        await asyncio.sleep(0.3)
    return record.message_id


def send(
    queue: Queue,
    kinds: str,
    *,
    groups: str | None = None,
    first: int = 0,
    attributes: dict[str, Any] | None = None,
) -> None:
    """One message per letter of ``kinds``, numbered from ``first``; FIFO: one group per
    letter of ``groups``."""
    for offset, kind in enumerate(kinds):
        n = first + offset
        extra: dict[str, Any] = {}
        if groups is not None:
            extra = {"MessageGroupId": groups[offset], "MessageDeduplicationId": f"d-{n}"}
        if attributes:
            extra["MessageAttributes"] = attributes
        queue.client.send_message(QueueUrl=queue.url, MessageBody=body(n, kind), **extra)


def receive(queue: Queue, count: int, *, visibility: int = 300) -> list[dict[str, Any]]:
    """Receive ``count`` messages (each once), sorted by number."""
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + 10
    while len(found) < count:
        assert time.monotonic() < deadline, f"received {len(found)} of {count}"
        response = queue.client.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        for message in response.get("Messages", []):
            found[message["MessageId"]] = message
    return sorted(found.values(), key=number)


def release(queue: Queue, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        queue.client.change_message_visibility(
            QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


def receive_event(queue: Queue, count: int, *, times: int = 1) -> dict[str, Any]:
    """Lambda's event of ``count`` messages on their ``times``-th receive."""
    for _ in range(times - 1):
        release(queue, receive(queue, count))
    messages = receive(queue, count)
    for message in messages:
        assert message["Attributes"]["ApproximateReceiveCount"] == str(times)
    event = event_from_messages(messages, queue_arn=queue.arn, region=queue.region)
    return event


def add_dead_letter_queue(make_queue: MakeQueue, source: Queue, *, fifo: bool = False) -> Queue:
    """A new queue, made ``source``'s dead-letter queue (after 10 receives)."""
    dlq = make_queue(fifo=fifo)
    policy = {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": "10"}
    source.client.set_queue_attributes(
        QueueUrl=source.url, Attributes={"RedrivePolicy": json.dumps(policy)}
    )
    return dlq


def drain(queue: Queue) -> list[dict[str, Any]]:
    """Every message visible on ``queue`` now, with all its attributes, by number."""
    found: dict[str, dict[str, Any]] = {}
    while True:
        response = queue.client.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=300,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return sorted(found.values(), key=number)
        for message in messages:
            found[message["MessageId"]] = message


def drain_after_release(queue: Queue, event: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message of ``event`` still on ``queue`` (made visible again: a deleted one
    refuses), and any other there."""
    for record in event["Records"]:
        with contextlib.suppress(queue.client.exceptions.ReceiptHandleIsInvalid):
            queue.client.change_message_visibility(
                QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )
    return drain(queue)


def wait_visible(queue: Queue, message_ids: set[str], *, within: float) -> dict[str, float]:
    """Poll ``queue``: the seconds after which each of ``message_ids`` was first seen."""
    start = time.monotonic()
    seen: dict[str, float] = {}
    while message_ids - seen.keys() and time.monotonic() - start < within:
        response = queue.client.receive_message(
            QueueUrl=queue.url, MaxNumberOfMessages=10, VisibilityTimeout=60
        )
        for message in response.get("Messages", []):
            if message["MessageId"] in message_ids:
                seen.setdefault(message["MessageId"], time.monotonic() - start)
        time.sleep(0.1)
    return seen


def failed_ids(response: PartialItemFailureResponse) -> list[str]:
    return [str(item["itemIdentifier"]) for item in response["batchItemFailures"]]


def ids(event: dict[str, Any], *indices: int) -> list[str]:
    return [event["Records"][i]["messageId"] for i in indices]


def handles(event: dict[str, Any], *indices: int) -> list[str]:
    return [event["Records"][i]["receiptHandle"] for i in indices]


@pytest.fixture
def fifo_queue(sqs_env: str, make_queue: MakeQueue) -> Queue:
    return make_queue(fifo=True)


@pytest.fixture
def caplog_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING):
        yield caplog


# --- backoff -------------------------------------------------------------------------------


async def test_backoff_grows_with_each_records_receive_count_up_to_max(
    queue: Queue, wires: Wires
) -> None:
    # Record 2 is received a third time, record 1 a second, record 0 a first time.
    send(queue, "r", first=2)
    release(queue, receive(queue, 1))
    send(queue, "r", first=1)
    release(queue, receive(queue, 2))
    send(queue, "r", first=0)
    send(queue, "o", first=3)
    messages = receive(queue, 4)
    counts = [int(m["Attributes"]["ApproximateReceiveCount"]) for m in messages]
    assert counts == [1, 2, 3, 1]
    event = event_from_messages(messages, queue_arn=queue.arn)
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=10, factor=3, max=60, jitter=False),
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0, 1, 2)
    # 10 * 3 ** (count - 1): 10, 30, 90 capped at 60; the success gets none.
    assert wires.timeouts() == dict(zip(handles(event, 0, 1, 2), [10, 30, 60], strict=True))
    check_calls(wires)
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.backoff_set, summary.backoff_failed) == (3, 0)
    assert (summary.sent_to_dlq, summary.dlq_failed) == (0, 0)
    assert drain(queue) == []  # all three hidden by their backoff, the success by its receive


async def test_backed_off_messages_come_back_after_their_backoff(
    queue: Queue, wires: Wires
) -> None:
    # Record 1 on its second receive: 1 * 3 ** 1 = 3 s; record 0 on its first: 1 s.
    send(queue, "r", first=1)
    release(queue, receive(queue, 1))
    send(queue, "r", first=0)
    messages = receive(queue, 2)
    event = event_from_messages(messages, queue_arn=queue.arn)
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=1, factor=3, max=60, jitter=False),
        session=session_for(wires),
        raise_on_entire_batch_failure=False,
    )

    response = await aprocess_partial_response(event, handler, processor)
    set_at = time.monotonic()

    assert failed_ids(response) == ids(event, 0, 1)
    assert sorted(wires.timeouts().values()) == [1, 3]
    # Received with a 300 s visibility timeout: only the backoff can bring them back.
    seen = await asyncio.to_thread(wait_visible, queue, set(ids(event, 0, 1)), within=6.0)
    assert time.monotonic() - set_at < 10
    first, second = (seen.get(i) for i in ids(event, 0, 1))
    assert first is not None, "the 1 s backoff never ended"
    assert second is not None, "the 3 s backoff never ended"
    assert 0.4 <= first <= 2.5, first
    assert 2.4 <= second <= 4.5, second


async def test_jittered_backoff_is_between_half_and_all_of_the_delay_in_calls_of_ten(
    queue: Queue, wires: Wires
) -> None:
    send(queue, "r" * 12 + "o")
    event = receive_event(queue, 13)
    processor = BatchProcessor(
        EventType.SQS, retry=Backoff(base=40, jitter=True), session=session_for(wires)
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, *range(12))
    timeouts = wires.timeouts()
    assert set(timeouts) == set(handles(event, *range(12)))
    assert all(20 <= seconds <= 40 for seconds in timeouts.values()), timeouts
    assert len(set(timeouts.values())) > 1, "jitter drew one value for twelve messages"
    assert sorted(len(attempt["Entries"]) for attempt in wires.change.attempts) == [2, 10]
    check_calls(wires)
    assert processor.batch is not None
    assert processor.batch.summary().backoff_set == 12


async def test_jittered_backoff_is_at_least_a_second(queue: Queue, wires: Wires) -> None:
    send(queue, "rrro")
    event = receive_event(queue, 4)
    processor = BatchProcessor(
        EventType.SQS, retry=Backoff(base=1, jitter=True), session=session_for(wires)
    )

    await aprocess_partial_response(event, handler, processor)

    assert list(wires.timeouts().values()) == [1, 1, 1]


def test_sync_with_block_and_plain_handler_back_off_and_dead_letter(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "rpo")
    event = receive_event(queue, 3, times=2)
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=6, factor=2, jitter=False),
        non_retryable=PoisonError,
        session=session_for(wires),
    )

    def plain_handler(record: SQSRecord) -> str:
        kind = record.json_body["kind"]
        if kind == "p":
            raise PoisonError("poison")
        if kind == "r":
            raise ValueError("later")
        return record.message_id

    with processor(event["Records"], plain_handler):
        processor.process()

    assert failed_ids(processor.response()) == ids(event, 0)
    assert wires.timeouts() == {handles(event, 0)[0]: 12}
    assert [m["Body"] for m in drain(dlq)] == [body(1, "p")]
    check_calls(wires)


def test_the_config_given_is_used_for_the_policys_calls(queue: Queue, wires: Wires) -> None:
    from botocore.config import Config

    send(queue, "ro")
    event = receive_event(queue, 2)
    wires.change.faults.extend([server_error] * 20)
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=5),
        session=session_for(wires),
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )

    response = process_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0)
    assert len(wires.change.attempts) == 1  # no retry of the 500: the config's
    assert processor.batch is not None
    assert processor.batch.summary().backoff_failed == 1


async def test_backoff_stays_under_sqss_twelve_hours(queue: Queue, wires: Wires) -> None:
    send(queue, "ro")
    event = receive_event(queue, 2, times=2)
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=TWELVE_HOURS, factor=2, max=TWELVE_HOURS, jitter=False),
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0)
    [seconds] = wires.timeouts().values()
    assert 42_000 <= seconds < TWELVE_HOURS
    check_calls(wires)


async def test_a_whole_failed_batch_is_still_backed_off(queue: Queue, wires: Wires) -> None:
    send(queue, "rr")
    event = receive_event(queue, 2)
    processor = BatchProcessor(
        EventType.SQS, retry=Backoff(base=7, jitter=False), session=session_for(wires)
    )

    with pytest.raises(BatchProcessingError):
        await aprocess_partial_response(event, handler, processor)

    assert wires.timeouts() == dict.fromkeys(handles(event, 0, 1), 7)


async def test_a_refused_backoff_leaves_the_record_failed(queue: Queue, wires: Wires) -> None:
    send(queue, "rro")
    event = receive_event(queue, 3)
    wires.change.faults.append(entry_fails(sender_fault=True, code="ReceiptHandleIsInvalid"))
    processor = BatchProcessor(
        EventType.SQS, retry=Backoff(base=5, jitter=False), session=session_for(wires)
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0, 1)
    assert len(wires.change.attempts) == 1  # a sender fault is not sent again
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.backoff_set, summary.backoff_failed) == (1, 1)


async def test_a_backoff_moto_refuses_for_one_entry_fails_only_that_one(
    queue: Queue, wires: Wires
) -> None:
    send(queue, "rro")
    event = receive_event(queue, 3)
    event["Records"][0]["receiptHandle"] = "bogus"
    processor = BatchProcessor(
        EventType.SQS, retry=Backoff(base=5, jitter=False), session=session_for(wires)
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0, 1)
    assert wires.timeouts() == dict.fromkeys(handles(event, 0, 1), 5)
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.backoff_set, summary.backoff_failed) == (1, 1)
    check_calls(wires)


async def test_a_backoff_call_that_fails_outright_leaves_the_records_failed(
    queue: Queue, wires: Wires
) -> None:
    send(queue, "ro")
    event = receive_event(queue, 2)
    wires.change.faults.extend([server_error] * 20)
    processor = BatchProcessor(
        EventType.SQS, retry=Backoff(base=5, jitter=False), session=session_for(wires)
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0)
    assert wires.change.faked == len(wires.change.attempts) >= 1
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.backoff_set, summary.backoff_failed) == (0, 1)


async def test_records_cut_by_the_deadline_get_no_backoff_and_a_dead_lettered_one_is_handled(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "rhop")
    event = receive_event(queue, 4)
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=9, jitter=False),
        non_retryable=PoisonError,
        deadline_margin=1.5,
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor, FakeLambdaContext(2.5))

    assert failed_ids(response) == ids(event, 0, 1)  # 3 is in the dead-letter queue
    assert wires.timeouts() == {handles(event, 0)[0]: 9}  # not the hung record 1
    assert [m["Body"] for m in drain(dlq)] == [body(3, "p")]
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.unfinished, summary.backoff_set, summary.sent_to_dlq) == (1, 1, 1)


# --- the dead-letter queue -----------------------------------------------------------------

ATTRIBUTES: dict[str, Any] = {
    "kind": {"DataType": "String", "StringValue": "order"},
    "price": {"DataType": "Number", "StringValue": "42.50"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\xffbinary\x80"},
    "zipped": {"DataType": "Binary.gzip", "BinaryValue": b"\x1f\x8b\x08"},
}


async def test_a_non_retryable_failure_goes_to_the_dead_letter_queue_intact(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "opr", attributes=ATTRIBUTES)
    event = receive_event(queue, 3)
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=5, jitter=False),
        non_retryable=(KeyError, PoisonError),
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 2)
    [copy] = drain(dlq)
    assert copy["Body"] == body(1, "p")
    attributes = copy["MessageAttributes"]
    assert {name: attributes[name] for name in ATTRIBUTES} == ATTRIBUTES
    assert attributes[ERROR_TYPE] == {"DataType": "String", "StringValue": "PoisonError"}
    assert attributes[ERROR_MESSAGE] == {
        "DataType": "String",
        "StringValue": "record 1 can never succeed",
    }
    assert len(attributes) == len(ATTRIBUTES) + 2
    assert wires.timeouts() == {handles(event, 2)[0]: 5}  # the poison record has none
    assert "GetQueueAttributes" in wires.operations
    [sent] = wires.sent_entries()
    assert sent["MessageBody"] == body(1, "p")
    check_calls(wires)
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.sent_to_dlq, summary.dlq_failed) == (1, 0)
    assert (summary.backoff_set, summary.backoff_failed) == (1, 0)


def test_the_sync_facade_sends_to_the_dead_letter_queue_of_a_predicate(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "ppr")
    event = receive_event(queue, 3)
    processor = BatchProcessor(
        EventType.SQS,
        non_retryable=lambda exc: "never" in str(exc),
        session=session_for(wires),
    )

    response = process_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 2)
    assert [m["Body"] for m in drain(dlq)] == [body(0, "p"), body(1, "p")]
    assert wires.change.attempts == []  # no retry=: no backoff
    check_calls(wires)


@pytest.mark.parametrize("given", ["arn", "aws-url", "endpoint-url"])
async def test_dead_letter_queue_given_is_used_without_a_redrive_policy(
    queue: Queue, make_queue: MakeQueue, wires: Wires, given: str
) -> None:
    dlq = make_queue()
    name = dlq.arn.rsplit(":", 1)[-1]
    dead_letter_queue = {
        "arn": dlq.arn,
        "aws-url": f"https://sqs.{dlq.region}.amazonaws.com/123456789012/{name}",
        "endpoint-url": dlq.url,  # the queue's URL on the moto server, as it gives it
    }[given]
    send(queue, "po")
    event = receive_event(queue, 2)
    processor = BatchProcessor(
        EventType.SQS,
        non_retryable=PoisonError,
        dead_letter_queue=dead_letter_queue,
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == []
    assert [m["Body"] for m in drain(dlq)] == [body(0, "p")]
    assert [attempt["QueueUrl"] for attempt in wires.send.attempts] == [dlq.url]


async def test_the_reason_takes_only_the_attributes_left_of_sqss_ten(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)

    def attributes(count: int) -> dict[str, Any]:
        return {f"a{i}": {"DataType": "String", "StringValue": f"v{i}"} for i in range(count)}

    for n, count in enumerate((8, 9, 10)):
        send(queue, "p", first=n, attributes=attributes(count))
    event = receive_event(queue, 3)
    processor = BatchProcessor(
        EventType.SQS,
        non_retryable=PoisonError,
        session=session_for(wires),
        raise_on_entire_batch_failure=False,
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == []
    copies = [m["MessageAttributes"] for m in drain(dlq)]
    assert [len(copy) for copy in copies] == [10, 10, 10]
    for copy, count in zip(copies, (8, 9, 10), strict=True):
        assert {k: v for k, v in copy.items() if not k.startswith("aiobatch.")} == attributes(count)
    assert {ERROR_TYPE, ERROR_MESSAGE} <= copies[0].keys()
    assert len({ERROR_TYPE, ERROR_MESSAGE} & copies[1].keys()) == 1
    check_calls(wires)


async def test_a_batch_whose_every_record_went_to_the_dead_letter_queue_does_not_raise(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "pp")
    event = receive_event(queue, 2)
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=5),
        non_retryable=PoisonError,
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert response == {"batchItemFailures": []}
    assert len(drain(dlq)) == 2
    assert wires.change.attempts == []


async def test_twelve_non_retryable_records_go_in_calls_of_at_most_ten(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "p" * 12 + "o")
    event = receive_event(queue, 13)
    processor = BatchProcessor(EventType.SQS, non_retryable=PoisonError, session=session_for(wires))

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == []
    assert sorted(len(attempt["Entries"]) for attempt in wires.send.attempts) == [2, 10]
    assert [m["Body"] for m in drain(dlq)] == [body(n, "p") for n in range(12)]
    check_calls(wires)
    assert processor.batch is not None
    assert processor.batch.summary().sent_to_dlq == 12


async def test_large_non_retryable_messages_go_in_calls_of_at_most_one_mebibyte(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    padding = "x" * 400_000
    for n in range(3):
        queue.client.send_message(
            QueueUrl=queue.url, MessageBody=json.dumps({"n": n, "kind": "p", "pad": padding})
        )
    send(queue, "o", first=3)
    event = receive_event(queue, 4)
    processor = BatchProcessor(EventType.SQS, non_retryable=PoisonError, session=session_for(wires))

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == []
    assert len(wires.send.attempts) >= 2
    check_calls(wires)
    assert [number(m) for m in drain(dlq)] == [0, 1, 2]


async def test_records_of_two_queues_go_to_each_queues_dead_letter_queue(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    other = make_queue()
    dlq, other_dlq = (
        add_dead_letter_queue(make_queue, queue),
        add_dead_letter_queue(make_queue, other),
    )
    send(queue, "po")
    send(other, "rp", first=2)
    first, second = receive_event(queue, 2), receive_event(other, 2)
    event = {"Records": first["Records"] + second["Records"]}
    processor = BatchProcessor(EventType.SQS, non_retryable=PoisonError, session=session_for(wires))

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 2)
    assert [m["Body"] for m in drain(dlq)] == [body(0, "p")]
    assert [m["Body"] for m in drain(other_dlq)] == [body(3, "p")]
    check_calls(wires)


async def test_an_error_text_sqs_would_refuse_does_not_go_on_the_wire(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    """SQS refuses a String attribute holding characters outside its set (as for a body),
    so such an exception text would keep the record out of the dead-letter queue for
    good on real SQS (moto takes it)."""
    add_dead_letter_queue(make_queue, queue)
    send(queue, "o")
    event = receive_event(queue, 1)

    def raw_text_handler(record: SQSRecord) -> None:
        raise PoisonError("unreadable byte \x00 in \x1b[31mfield\x1b[0m")

    processor = BatchProcessor(
        EventType.SQS,
        non_retryable=PoisonError,
        session=session_for(wires),
        raise_on_entire_batch_failure=False,
    )

    await aprocess_partial_response(event, raw_text_handler, processor)

    assert len(wires.sent_entries()) == 1
    check_calls(wires)


# --- failed sends: the message is retried, never lost --------------------------------------


@pytest.mark.parametrize("fault", ["deleted", "too-small"])
async def test_a_dead_letter_queue_that_refuses_leaves_the_record_to_back_off_and_come_back(
    queue: Queue, make_queue: MakeQueue, wires: Wires, fault: str
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    if fault == "deleted":
        queue.client.delete_queue(QueueUrl=dlq.url)
    else:  # the message is over the dead-letter queue's size limit
        queue.client.set_queue_attributes(
            QueueUrl=dlq.url, Attributes={"MaximumMessageSize": "1024"}
        )
    queue.client.send_message(
        QueueUrl=queue.url, MessageBody=json.dumps({"n": 0, "kind": "p", "pad": "x" * 1100})
    )
    send(queue, "o", first=1)
    event = receive_event(queue, 2)
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=1, jitter=False),
        non_retryable=PoisonError,
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0)
    assert wires.timeouts() == {handles(event, 0)[0]: 1}
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.sent_to_dlq, summary.dlq_failed, summary.backoff_set) == (0, 1, 1)
    seen = await asyncio.to_thread(wait_visible, queue, set(ids(event, 0)), within=5.0)
    assert set(seen) == set(ids(event, 0)), "the message was not retried"
    if fault == "too-small":
        assert drain(dlq) == []


async def test_a_refused_send_keeps_the_record_failed(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "pp")
    event = receive_event(queue, 2)
    # The first entry refused; the other one answered sent (in moto's place).
    wires.send.faults.append(entry_fails(sender_fault=True, code="InvalidParameterValue"))
    processor = BatchProcessor(
        EventType.SQS,
        non_retryable=PoisonError,
        session=session_for(wires),
        raise_on_entire_batch_failure=False,
    )

    response = await aprocess_partial_response(event, handler, processor)

    [refused] = wires.send.attempts[0]["Entries"][:1]
    refused_index = next(
        i for i, r in enumerate(event["Records"]) if r["body"] == refused["MessageBody"]
    )
    assert failed_ids(response) == ids(event, refused_index)
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.sent_to_dlq, summary.dlq_failed) == (1, 1)
    assert drain(dlq) == []  # the fake answered in moto's place
    check_calls(wires)


async def test_a_send_that_keeps_failing_on_the_server_leaves_the_message_on_its_queue(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "po")
    event = receive_event(queue, 2)
    wires.send.faults.extend([server_error] * 20)
    processor = BatchProcessor(EventType.SQS, non_retryable=PoisonError, session=session_for(wires))

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0)
    assert wires.send.faked == len(wires.send.attempts) >= 1
    assert drain(dlq) == []
    assert [m["Body"] for m in drain_after_release(queue, event)] == [body(0, "p"), body(1, "o")]


async def test_a_queue_without_a_dead_letter_queue_keeps_the_record_failed_and_warns(
    queue: Queue, wires: Wires, caplog_warnings: pytest.LogCaptureFixture
) -> None:
    send(queue, "po")
    event = receive_event(queue, 2)
    processor = BatchProcessor(EventType.SQS, non_retryable=PoisonError, session=session_for(wires))

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0)
    assert wires.send.attempts == []
    warnings = [r for r in caplog_warnings.records if r.levelno == logging.WARNING]
    assert any(queue.arn in r.getMessage() for r in warnings), [r.getMessage() for r in warnings]
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.sent_to_dlq, summary.dlq_failed) == (0, 1)


# --- FIFO ----------------------------------------------------------------------------------


async def test_fifo_dead_letter_copy_keeps_its_group_and_is_deduplicated_by_message_id(
    fifo_queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, fifo_queue, fifo=True)
    send(fifo_queue, "opo", groups="aab")
    event = receive_event(fifo_queue, 3)
    processor = SqsFifoPartialProcessor(
        non_retryable=PoisonError, max_concurrency=1, session=session_for(wires)
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 2)  # skipped after the failure; 1 is handled
    [sent] = wires.sent_entries()
    assert sent["MessageGroupId"] == "a"
    assert sent["MessageDeduplicationId"] == ids(event, 1)[0]
    [copy] = drain(dlq)
    assert copy["Body"] == body(1, "p")
    assert copy["Attributes"]["MessageGroupId"] == "a"
    assert copy["Attributes"]["MessageDeduplicationId"] == ids(event, 1)[0]
    assert copy["MessageAttributes"][ERROR_TYPE]["StringValue"] == "PoisonError"
    check_calls(wires)


async def test_fifo_rest_of_the_failed_group_gets_the_failed_records_backoff(
    fifo_queue: Queue, wires: Wires
) -> None:
    send(fifo_queue, "oroooo", groups="aabaab")
    event = receive_event(fifo_queue, 6, times=2)
    processor = SqsFifoPartialProcessor(
        retry=Backoff(base=100, factor=2, jitter=True),
        max_concurrency=1,
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 1, 2, 3, 4, 5)
    timeouts = wires.timeouts()
    # The failed record 1 (second receive: 100 to 200 s) and the rest of group a (3, 4),
    # which did not run, with the same value; group b's skipped records get none.
    assert set(timeouts) == set(handles(event, 1, 3, 4))
    assert len(set(timeouts.values())) == 1
    assert 100 <= timeouts[handles(event, 1)[0]] <= 200
    check_calls(wires)
    assert processor.batch is not None
    assert processor.batch.summary().backoff_set == 3


async def test_fifo_groups_skipped_on_their_own_error_share_their_own_backoff(
    fifo_queue: Queue, wires: Wires
) -> None:
    send(fifo_queue, "rroo" + "o", groups="ababc")
    event = receive_event(fifo_queue, 5)
    processor = SqsFifoPartialProcessor(
        retry=Backoff(base=60, factor=2, jitter=True),
        skip_group_on_error=True,
        max_concurrency=1,
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 0, 1, 2, 3)
    timeouts = wires.timeouts()
    a0, b1, a2, b3 = handles(event, 0, 1, 2, 3)
    assert set(timeouts) == {a0, b1, a2, b3}
    assert timeouts[a0] == timeouts[a2]
    assert timeouts[b1] == timeouts[b3]
    assert all(30 <= seconds <= 60 for seconds in timeouts.values()), timeouts


async def test_fifo_a_record_that_succeeded_but_is_reported_failed_gets_no_backoff(
    fifo_queue: Queue, wires: Wires
) -> None:
    # Record 1 (group b) is running when record 0 (group a) fails; it succeeds, and is
    # reported failed (it comes after the failure), but it did not fail.
    send(fifo_queue, "fso", groups="aba")
    event = receive_event(fifo_queue, 3)
    processor = SqsFifoPartialProcessor(
        retry=Backoff(base=30, jitter=False), max_concurrency=2, session=session_for(wires)
    )
    ran: list[int] = []

    async def recording(record: SQSRecord) -> str:
        ran.append(record.json_body["n"])
        return await handler(record)

    with pytest.raises(BatchProcessingError, match="All records failed"):
        await aprocess_partial_response(event, recording, processor)

    assert ran == [0, 1]
    assert wires.timeouts() == dict.fromkeys(handles(event, 0, 2), 30)
    check_calls(wires)


async def test_fifo_record_whose_send_failed_backs_off_with_the_rest_of_its_group(
    fifo_queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    add_dead_letter_queue(make_queue, fifo_queue, fifo=True)
    send(fifo_queue, "opoo", groups="aaba")
    event = receive_event(fifo_queue, 4)
    wires.send.faults.extend([server_error] * 20)
    processor = SqsFifoPartialProcessor(
        retry=Backoff(base=80, jitter=True),
        non_retryable=PoisonError,
        max_concurrency=1,
        session=session_for(wires),
    )

    response = await aprocess_partial_response(event, handler, processor)

    assert failed_ids(response) == ids(event, 1, 2, 3)
    timeouts = wires.timeouts()
    assert set(timeouts) == set(handles(event, 1, 3))
    assert len(set(timeouts.values())) == 1
    assert 40 <= timeouts[handles(event, 1)[0]] <= 80
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.sent_to_dlq, summary.dlq_failed) == (0, 1)


async def test_fifo_rest_of_group_stays_hidden_until_the_failed_records_backoff_ends(
    fifo_queue: Queue, wires: Wires
) -> None:
    send(fifo_queue, "roo", groups="aab")
    event = receive_event(fifo_queue, 3)
    processor = SqsFifoPartialProcessor(
        retry=Backoff(base=2, jitter=False),
        max_concurrency=1,
        session=session_for(wires),
        raise_on_entire_batch_failure=False,
    )

    response = await aprocess_partial_response(event, handler, processor)
    set_at = time.monotonic()

    assert failed_ids(response) == ids(event, 0, 1, 2)
    assert wires.timeouts() == dict.fromkeys(handles(event, 0, 1), 2)
    # Group a (0 and 1) comes back after 2 s; group b's record 2 waits for its 300 s.
    seen = await asyncio.to_thread(wait_visible, fifo_queue, set(ids(event, 0, 1)), within=5.0)
    assert set(ids(event, 0)) <= seen.keys(), "the failed record never came back"
    assert time.monotonic() - set_at < 10
    assert 1.4 <= seen[ids(event, 0)[0]] <= 4.0, seen
    assert ids(event, 2)[0] not in seen


# --- delete mode ---------------------------------------------------------------------------


async def test_delete_mode_deletes_the_dead_lettered_record_and_raises_for_the_rest(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "opr", attributes=ATTRIBUTES)
    event = receive_event(queue, 3)
    processor = PartialSQSProcessor(
        session=session_for(wires),
        retry=Backoff(base=4, jitter=False),
        non_retryable=PoisonError,
    )

    with pytest.raises(SQSBatchProcessingError) as caught:
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert 2 in [f.index for f in caught.value.failed_records]
    assert caught.value.undeleted_messages == []
    assert wires.deleted_handles() == set(handles(event, 0, 1))
    assert wires.timeouts() == {handles(event, 2)[0]: 4}
    [copy] = drain(dlq)
    assert copy["Body"] == body(1, "p")
    assert {k: copy["MessageAttributes"][k] for k in ATTRIBUTES} == ATTRIBUTES
    check_calls(wires)
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.sent_to_dlq, summary.backoff_set) == (1, 1)
    assert [m["Body"] for m in drain_after_release(queue, event)] == [body(2, "r")]


async def test_delete_mode_returns_normally_when_every_failure_went_to_the_dead_letter_queue(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "opp")
    event = receive_event(queue, 3)
    processor = PartialSQSProcessor(session=session_for(wires), non_retryable=PoisonError)

    async with processor(event["Records"], handler):
        await processor.aprocess()

    assert wires.deleted_handles() == set(handles(event, 0, 1, 2))
    assert [m["Body"] for m in drain(dlq)] == [body(1, "p"), body(2, "p")]
    assert processor.batch is not None
    assert processor.batch.summary().sent_to_dlq == 2
    check_calls(wires)


async def test_delete_mode_keeps_a_record_whose_send_failed(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "op")
    event = receive_event(queue, 2)
    wires.send.faults.extend([server_error] * 20)
    processor = PartialSQSProcessor(
        session=session_for(wires), non_retryable=PoisonError, retry=Backoff(base=3)
    )

    with pytest.raises(SQSBatchProcessingError) as caught:
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert [f.index for f in caught.value.failed_records] == [1]
    assert wires.deleted_handles() == set(handles(event, 0))
    assert set(wires.timeouts()) == set(handles(event, 1))  # it backs off as any failure
    assert drain(dlq) == []
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.sent_to_dlq, summary.dlq_failed) == (0, 1)
    assert [m["Body"] for m in drain_after_release(queue, event)] == [body(1, "p")]


async def test_delete_mode_on_fifo_backs_off_the_rest_of_the_group_and_deletes_the_others(
    fifo_queue: Queue, wires: Wires
) -> None:
    send(fifo_queue, "rooo", groups="aabb")
    event = receive_event(fifo_queue, 4)
    processor = PartialSQSProcessor(session=session_for(wires), retry=Backoff(base=50, jitter=True))

    with pytest.raises(SQSBatchProcessingError):
        async with processor(event["Records"], handler):
            await processor.aprocess()

    timeouts = wires.timeouts()
    assert set(timeouts) == set(handles(event, 0, 1))
    assert len(set(timeouts.values())) == 1
    assert 25 <= timeouts[handles(event, 0)[0]] <= 50
    assert wires.deleted_handles() == set(handles(event, 2, 3))
    check_calls(wires)


async def test_delete_mode_on_fifo_dead_letters_and_deletes_but_keeps_the_rest_of_the_group(
    fifo_queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, fifo_queue, fifo=True)
    send(fifo_queue, "pooo", groups="gagb")
    event = receive_event(fifo_queue, 4)
    processor = PartialSQSProcessor(
        session=session_for(wires),
        retry=Backoff(base=20, jitter=False),
        non_retryable=PoisonError,
    )

    with pytest.raises(SQSBatchProcessingError):  # record 2 did not run: it is retried
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert wires.deleted_handles() == set(handles(event, 0, 1, 3))
    [copy] = drain(dlq)
    assert copy["Body"] == body(0, "p")
    assert copy["Attributes"]["MessageGroupId"] == "g"
    assert copy["Attributes"]["MessageDeduplicationId"] == ids(event, 0)[0]
    check_calls(wires)


def test_delete_mode_sync_with_block_deletes_the_dead_lettered_record(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "po")
    event = receive_event(queue, 2)
    processor = PartialSQSProcessor(session=session_for(wires), non_retryable=PoisonError)

    def plain_handler(record: SQSRecord) -> str:
        if record.json_body["kind"] == "p":
            raise PoisonError("poison")
        return record.message_id

    with processor(event["Records"], plain_handler):
        processor.process()

    assert wires.deleted_handles() == set(handles(event, 0, 1))
    assert [m["Body"] for m in drain(dlq)] == [body(0, "p")]


async def test_the_emf_line_counts_what_sqs_confirmed(
    queue: Queue, make_queue: MakeQueue, wires: Wires
) -> None:
    import io

    from aiobatch import EMFMetrics
    from tests.emf import check_emf

    dlq = add_dead_letter_queue(make_queue, queue)
    send(queue, "oprr")
    event = receive_event(queue, 4)
    stream = io.StringIO()
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(base=5, jitter=False),
        non_retryable=PoisonError,
        session=session_for(wires),
        metrics=EMFMetrics(namespace="Orders", dimensions={"Service": "orders"}, stream=stream),
    )

    await aprocess_partial_response(event, handler, processor)

    [line] = stream.getvalue().splitlines()
    document = check_emf(line)
    assert (document["Records"], document["Succeeded"], document["Failed"]) == (4, 1, 3)
    assert (document["SentToDLQ"], document["BackoffSet"]) == (1, 2)
    assert document["FailedByType"] == {"PoisonError": 1, "ValueError": 2}
    assert len(drain(dlq)) == 1
    assert len(wires.timeouts()) == 2

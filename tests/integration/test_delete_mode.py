"""PartialSQSProcessor against a moto server: real HTTP, the real SQS JSON protocol."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from aiobatch import (
    AioSQSActions,
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SQSRecord,
    batch_processor,
)
from aiobatch._sqs import batch_calls
from aiobatch._version import __version__
from aiobatch.testing import FakeLambdaContext
from tests.events import bodies
from tests.moto import MakeQueue, Queue
from tests.wire import (
    Wire,
    entry_fails,
    server_error,
    session_with,
    throttled,
    throttled_query_compatible,
)

ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_calls, "RETRY_BASE_DELAY", 0.0)
    import botocore.retries.standard as standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


async def handler(record: SQSRecord) -> str:
    if record.json_body["fail"]:
        raise ValueError(f"order {record.json_body['n']} is invalid")
    return record.message_id


def check_sent(wire: Wire) -> None:
    """What real SQS would refuse and moto accepts: more than 10 entries, bad or equal Ids."""
    for attempt in wire.attempts:
        ids = [entry["Id"] for entry in attempt["Entries"]]
        assert 1 <= len(ids) <= 10
        assert len(set(ids)) == len(ids)
        assert all(ENTRY_ID.fullmatch(entry_id) for entry_id in ids)


async def test_partial_failure_deletes_exactly_the_successes(queue: Queue, wire: Wire) -> None:
    queue.send(bodies(5, fail={1, 3}))
    event = queue.receive_event(5)
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError) as caught:
        async with processor(event["Records"], handler):
            results = await processor.aprocess()

    assert [result[0] for result in results] == ["success", "fail", "success", "fail", "success"]
    assert queue.remaining_bodies(event) == [bodies(5, fail={1, 3})[i] for i in (1, 3)]
    check_sent(wire)
    deleted = {entry["ReceiptHandle"] for entry in wire.attempts[0]["Entries"]}
    assert deleted == {event["Records"][i]["receiptHandle"] for i in (0, 2, 4)}
    error = caught.value
    assert "2 of 5 records failed" in str(error)
    assert "record 1: ValueError" in str(error)
    assert "order 1 is invalid" not in str(error)  # exception texts can hold record data
    assert [f.index for f in error.failed_records] == [1, 3]
    assert all(isinstance(f.exception, ValueError) for f in error.failed_records)
    assert error.failed_records[0].exception.__traceback__ is not None
    assert error.undeleted_messages == []


async def test_23_successes_and_one_failure_make_three_calls(queue: Queue, wire: Wire) -> None:
    queue.send(bodies(24, fail={7}))
    event = queue.receive_event(24)
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError):
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert sorted(wire.entries_per_attempt) == [3, 10, 10]
    check_sent(wire)
    sent = [entry["ReceiptHandle"] for attempt in wire.attempts for entry in attempt["Entries"]]
    assert len(sent) == len(set(sent)) == 23
    assert event["Records"][7]["receiptHandle"] not in sent
    assert queue.remaining_bodies(event) == [bodies(24, fail={7})[7]]


async def test_all_succeeded_makes_no_call(queue: Queue, wire: Wire) -> None:
    queue.send(bodies(12))
    event = queue.receive_event(12)
    processor = PartialSQSProcessor(session=session_with(wire))

    async with processor(event["Records"], handler):
        results = await processor.aprocess()

    assert [r[1] for r in results] == [r["messageId"] for r in event["Records"]]
    assert wire.attempts == []
    assert isinstance(processor.sqs, AioSQSActions)
    assert processor.sqs.clients_created == 0


async def test_all_failed_makes_no_call_and_raises(queue: Queue, wire: Wire) -> None:
    queue.send(bodies(3, fail={0, 1, 2}))
    event = queue.receive_event(3)
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError, match="3 of 3 records failed"):
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert wire.attempts == []
    assert len(queue.remaining_bodies(event)) == 3


async def test_records_of_two_queues_are_deleted_per_queue(
    make_queue: MakeQueue, queue: Queue, wire: Wire
) -> None:
    other = make_queue()
    queue.send(bodies(3, fail={1}))
    other.send(bodies(2))
    first, second = queue.receive_event(3), other.receive_event(2)
    records = first["Records"] + second["Records"]
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError):
        async with processor(records, handler):
            await processor.aprocess()

    by_url = {attempt["QueueUrl"]: len(attempt["Entries"]) for attempt in wire.attempts}
    assert by_url == {queue.url: 2, other.url: 2}
    assert queue.remaining_bodies(first) == [bodies(3, fail={1})[1]]
    assert other.remaining_bodies(second) == []


async def test_throttling_and_server_errors_are_retried(queue: Queue, wire: Wire) -> None:
    queue.send(bodies(3, fail={2}))
    event = queue.receive_event(3)
    wire.faults.extend([throttled, server_error])
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError) as caught:
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert wire.faked == 2
    assert len(wire.attempts) == 3  # two faults, then moto answered
    assert caught.value.undeleted_messages == []
    assert queue.remaining_bodies(event) == [bodies(3, fail={2})[2]]


async def test_throttling_in_the_query_compatible_form_is_retried(
    queue: Queue, wire: Wire, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_calls, "RETRY_BASE_DELAY", 0.0)
    queue.send(bodies(3, fail={2}))
    event = queue.receive_event(3)
    wire.faults.extend([throttled_query_compatible] * 2)
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError) as caught:
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert wire.faked == 2
    assert len(wire.attempts) == 3  # botocore gave up on each at once; aiobatch retried
    assert caught.value.undeleted_messages == []
    assert queue.remaining_bodies(event) == [bodies(3, fail={2})[2]]


def test_switching_between_asyncio_run_and_the_sync_facade_keeps_one_client_per_loop(
    queue: Queue, wire: Wire
) -> None:
    processor = PartialSQSProcessor(session=session_with(wire), suppress_exception=True)

    async def in_a_loop(event: dict[str, Any]) -> None:
        async with processor(event["Records"], handler):
            await processor.aprocess()

    for n in range(6):
        queue.send(bodies(2, fail={0}))
        event = queue.receive_event(2)
        if n % 2:
            with processor(event["Records"], handler):
                processor.process()
        else:
            asyncio.run(in_a_loop(event))
    assert isinstance(processor.sqs, AioSQSActions)
    # One client for the sync facade's loop, kept; one for each asyncio.run, closed with
    # its loop. It used to be a new one at every switch, the old ones left open.
    assert processor.sqs.clients_created == 1 + 3


def test_a_loop_closed_without_shutdown_leaves_no_unclosed_client(queue: Queue) -> None:
    queue.send(bodies(2, fail={0}))
    event = queue.receive_event(2)
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        from aiobatch import PartialSQSProcessor

        processor = PartialSQSProcessor(suppress_exception=True)

        def handler(record):
            if json.loads(record["body"])["fail"]:
                raise ValueError("bad")

        async def run(event):
            async with processor(event["Records"], handler):
                await processor.aprocess()

        loop = asyncio.new_event_loop()
        loop.run_until_complete(run(json.load(sys.stdin)))
        loop.close()  # without shutdown_asyncgens
        print(processor.sqs.clients_created)
        """
    )
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_") or k == "PATH"}
    result = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", script],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    assert "Unclosed" not in result.stderr
    assert queue.remaining_bodies(event) == [bodies(2, fail={0})[0]]


async def test_server_side_entry_failure_is_retried(queue: Queue, wire: Wire) -> None:
    queue.send(bodies(4, fail={3}))
    event = queue.receive_event(4)
    wire.faults.append(entry_fails(sender_fault=False))
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError) as caught:
        async with processor(event["Records"], handler):
            await processor.aprocess()

    first, retry = wire.attempts
    assert len(first["Entries"]) == 3
    assert retry["Entries"] == first["Entries"][:1]
    assert caught.value.undeleted_messages == []


async def test_entry_that_keeps_failing_is_reported(queue: Queue, wire: Wire) -> None:
    queue.send(bodies(4, fail={3}))
    event = queue.receive_event(4)
    wire.faults.extend([entry_fails(sender_fault=False)] * (1 + batch_calls.ENTRY_RETRIES))
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError) as caught:
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert wire.entries_per_attempt == [3, 1, 1, 1]
    (undeleted,) = caught.value.undeleted_messages
    assert undeleted.message_id == event["Records"][0]["messageId"]
    assert undeleted.code == "InternalError"
    assert undeleted.sender_fault is False
    assert undeleted.queue_url == queue.url
    assert "could not be deleted" in str(caught.value)
    assert event["Records"][0]["messageId"] in str(caught.value)


async def test_sender_fault_is_not_retried_and_is_reported(queue: Queue, wire: Wire) -> None:
    queue.send(bodies(2, fail={1}))
    event = queue.receive_event(2)
    event["Records"][0]["receiptHandle"] = "bogus"
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError) as caught:
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert len(wire.attempts) == 1  # moto answers Failed with SenderFault true
    (undeleted,) = caught.value.undeleted_messages
    assert undeleted.sender_fault is True
    assert undeleted.message_id == event["Records"][0]["messageId"]


async def test_suppressed_undeleted_messages_are_logged_and_kept(
    queue: Queue, wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    queue.send(bodies(2, fail={1}))
    event = queue.receive_event(2)
    event["Records"][0]["receiptHandle"] = "bogus"
    processor = PartialSQSProcessor(session=session_with(wire), suppress_exception=True)

    async with processor(event["Records"], handler):
        await processor.aprocess()

    (undeleted,) = processor.undeleted_messages
    errors = [r for r in caplog.records if r.levelname == "ERROR" and r.name == "aiobatch"]
    assert len(errors) == 1
    assert undeleted.message_id in errors[0].getMessage()
    for record in caplog.records:
        for body in queue.sent:
            assert body not in record.getMessage()


def test_sync_facade_reuses_one_client_across_warm_invocations(queue: Queue, wire: Wire) -> None:
    processor = PartialSQSProcessor(session=session_with(wire), suppress_exception=True)

    def record_handler(record: dict[str, Any]) -> str:
        if json.loads(record["body"])["fail"]:
            raise ValueError("bad")
        return "ok"

    @batch_processor(record_handler=record_handler, processor=processor)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        return {"statusCode": 200}

    for _ in range(2):
        queue.send(bodies(3, fail={0}))
        event = queue.receive_event(3)
        assert lambda_handler(event, None) == {"statusCode": 200}
        assert queue.remaining_bodies(event) == [bodies(3, fail={0})[0]]

    assert isinstance(processor.sqs, AioSQSActions)
    assert processor.sqs.clients_created == 1
    assert len(wire.attempts) == 2


def test_a_warm_invocation_sends_one_delete_message_batch_and_nothing_else(
    queue: Queue, wire: Wire
) -> None:
    processor = PartialSQSProcessor(session=session_with(wire))

    def record_handler(record: SQSRecord) -> str:
        if record.json_body["fail"]:
            raise ValueError("bad")
        return record.message_id

    def lambda_handler(event: dict[str, Any], context: Any) -> None:
        with processor(event["Records"], record_handler, lambda_context=context):
            processor.process()

    for invocation in ("cold", "warm"):
        queue.send(bodies(10, fail={4}))
        event = queue.receive_event(10)
        requests, clients = len(wire.requests), wire.clients_made
        with pytest.raises(SQSBatchProcessingError, match="1 of 10 records failed"):
            lambda_handler(event, FakeLambdaContext())
        assert queue.remaining_bodies(event) == [bodies(10, fail={4})[4]], invocation

    assert isinstance(processor.sqs, AioSQSActions)
    assert processor.sqs.clients_created == 1
    # The warm invocation: no client made, one HTTP request, the delete of the nine.
    assert wire.clients_made == clients == 1
    assert [request.operation for request in wire.requests[requests:]] == ["DeleteMessageBatch"]
    sent = [entry["ReceiptHandle"] for entry in wire.attempts[-1]["Entries"]]
    successes = [record for record in event["Records"] if record["body"] != bodies(10, {4})[4]]
    assert len(sent) == len(successes) == 9
    assert sorted(sent) == sorted(record["receiptHandle"] for record in successes)
    check_sent(wire)


@pytest.mark.parametrize("app_id", [None, "orders-app"])
async def test_requests_carry_aiobatchs_user_agent_or_botocores_with_an_app_id(
    queue: Queue, wire: Wire, monkeypatch: pytest.MonkeyPatch, app_id: str | None
) -> None:
    if app_id is not None:
        monkeypatch.setenv("AWS_SDK_UA_APP_ID", app_id)
    queue.send(bodies(3, fail={1}))
    event = queue.receive_event(3)
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError):
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert queue.remaining_bodies(event) == [bodies(3, fail={1})[1]]
    [request] = wire.requests
    if app_id is None:
        assert request.user_agent.startswith(f"aiobatch/{__version__} aiobotocore/")
        assert " botocore/" in request.user_agent  # aiobotocore's session adds it
    else:
        assert not request.user_agent.startswith("aiobatch/")
        assert f" app/{app_id}" in request.user_agent


def test_deadline_deletes_finished_successes_and_returns_in_time(queue: Queue, wire: Wire) -> None:
    queue.send(bodies(6))
    event = queue.receive_event(6)
    never = asyncio.Event()

    async def record_handler(record: SQSRecord) -> None:
        if record.json_body["n"] in (4, 5):
            await never.wait()

    # Cleanup gets the margin plus the cold-client allowance (0.5 s): making the client
    # and one delete call. 0.3 s of margin was too little on a loaded CI machine once.
    processor = PartialSQSProcessor(session=session_with(wire), deadline_margin=1.0)
    context = FakeLambdaContext(3.0)

    @batch_processor(record_handler=record_handler, processor=processor)
    def lambda_handler(event: dict[str, Any], context: Any) -> str:
        return "unreachable"

    with pytest.raises(SQSBatchProcessingError, match="2 of 6 records failed") as caught:
        lambda_handler(event, context)
    assert context.get_remaining_time_in_millis() > 0
    assert [f.index for f in caught.value.failed_records] == [4, 5]
    assert all(isinstance(f.exception, TimeoutError) for f in caught.value.failed_records)
    assert processor.undeleted_messages == []
    assert queue.remaining_bodies(event) == bodies(6)[4:]


async def test_client_is_made_for_the_queues_region(
    sqs_env: str, make_queue: MakeQueue, monkeypatch: pytest.MonkeyPatch, wire: Wire
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    other = make_queue(region="eu-west-1")
    assert ":eu-west-1:" in other.arn
    other.send(bodies(2, fail={1}))
    event = other.receive_event(2)
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError):
        async with processor(event["Records"], handler):
            await processor.aprocess()

    # moto keeps a queue per region: a us-east-1 client would not find this one.
    assert processor.undeleted_messages == []
    assert other.remaining_bodies(event) == [bodies(2, fail={1})[1]]


async def test_general_endpoint_override_is_honoured(
    moto_endpoint: str, make_queue: MakeQueue, monkeypatch: pytest.MonkeyPatch, wire: Wire
) -> None:
    queue = make_queue()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    queue.send(bodies(2, fail={0}))
    event = queue.receive_event(2)
    processor = PartialSQSProcessor(session=session_with(wire))

    with pytest.raises(SQSBatchProcessingError):
        async with processor(event["Records"], handler):
            await processor.aprocess()

    assert [attempt["QueueUrl"] for attempt in wire.attempts] == [queue.url]
    assert queue.remaining_bodies(event) == [bodies(2, fail={0})[0]]

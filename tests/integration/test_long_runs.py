"""A thousand warm invocations of each facade in one process: memory, threads, sockets,
tasks and SQS clients stay flat."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import resource
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from aiobatch import (
    BatchProcessor,
    EventType,
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SqsFifoPartialProcessor,
    aprocess_partial_response,
    batch_processor,
    process_partial_response,
)
from aiobatch.testing import FakeLambdaContext, event_from_messages, sqs_event

INVOCATIONS = 1000
WARM_UP = 100
PAGE = resource.getpagesize()


def snapshot() -> dict[str, int]:
    gc.collect()
    with open("/proc/self/statm") as statm:
        rss = int(statm.read().split()[1]) * PAGE
    sockets = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed while listed
            sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    objects = gc.get_objects()
    return {
        "rss": rss,
        "threads": threading.active_count(),
        "sockets": sockets,
        "pending_tasks": sum(isinstance(o, asyncio.Task) and not o.done() for o in objects),
        "sqs_clients": sum(type(o).__name__ == "SQS" and hasattr(o, "meta") for o in objects),
    }


@pytest.fixture(autouse=True)
def _quiet_logs() -> Iterator[None]:
    """pytest keeps every log record it captures: at 1,000 invocations that is the
    growth, not aiobatch's. Keep the failure lines out."""
    loggers = [logging.getLogger(name) for name in ("aiobatch",)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def assert_flat(invoke: Callable[[int], Any]) -> dict[str, int]:
    for n in range(WARM_UP):
        invoke(n)
    warm = snapshot()
    for n in range(WARM_UP, INVOCATIONS):
        invoke(n)
    end = snapshot()
    assert end["rss"] - warm["rss"] < 4 * 2**20, (warm, end)
    assert end["threads"] <= warm["threads"], (warm, end)
    assert end["sockets"] <= warm["sockets"], (warm, end)
    assert end["pending_tasks"] == warm["pending_tasks"], (warm, end)
    assert end["sqs_clients"] == warm["sqs_clients"], (warm, end)
    return end


def event(n: int, fifo: bool = False) -> dict[str, Any]:
    bodies = [f'{{"n": {n}, "i": {i}, "fail": {str(i == 3).lower()}}}' for i in range(10)]
    return sqs_event(bodies, message_group_id=(lambda i: f"g{i % 3}") if fifo else None)


def failing(record: Any) -> None:
    if record.json_body["fail"]:
        raise ValueError("no")


async def afailing(record: Any) -> None:
    await asyncio.sleep(0)
    failing(record)


@pytest.mark.timeout(300)
def test_partial_response_sync_facade_stays_flat() -> None:
    processor = BatchProcessor(EventType.SQS)

    def invoke(n: int) -> None:
        response = process_partial_response(event(n), afailing, processor, FakeLambdaContext(3))
        assert len(response["batchItemFailures"]) == 1

    assert_flat(invoke)


@pytest.mark.timeout(300)
def test_fifo_sync_facade_stays_flat() -> None:
    processor = SqsFifoPartialProcessor()

    def invoke(n: int) -> None:
        response = process_partial_response(event(n, fifo=True), failing, processor)
        assert len(response["batchItemFailures"]) == 7  # the failure and all after it

    assert_flat(invoke)


@pytest.mark.timeout(300)
def test_partial_response_async_facade_stays_flat() -> None:
    processor = BatchProcessor(EventType.SQS, use_threads=True, max_concurrency=4)

    async def main() -> dict[str, int]:
        loop = asyncio.get_running_loop()

        def invoke(n: int) -> None:
            # One invocation after another on this loop, as Lambda's async runtime does.
            response = asyncio.run_coroutine_threadsafe(
                aprocess_partial_response(event(n), failing, processor), loop
            ).result(30)
            assert len(response["batchItemFailures"]) == 1

        return await asyncio.to_thread(assert_flat, invoke)

    asyncio.run(main())


MOTO_SERVER = """
import sys, time
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the test closes it
"""


@pytest.fixture(scope="module")
def moto_elsewhere() -> Iterator[str]:
    """A moto server in its own process, so that its memory is not counted as ours."""
    server = subprocess.Popen(
        [sys.executable, "-c", MOTO_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    try:
        yield f"http://127.0.0.1:{int(server.stdout.readline())}"
    finally:
        server.stdin.close()
        server.wait(10)
        server.stdout.close()


@pytest.mark.timeout(600)
def test_delete_mode_against_a_queue_stays_flat(
    moto_elsewhere: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {
        "AWS_ENDPOINT_URL_SQS": moto_elsewhere,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("sqs", endpoint_url=moto_elsewhere, region_name="us-east-1")
    url = client.create_queue(QueueName="long-run")["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    queue_arn = arn["Attributes"]["QueueArn"]
    processor = PartialSQSProcessor()

    @batch_processor(record_handler=failing, processor=processor)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        return {"statusCode": 200}

    def invoke(n: int) -> None:
        client.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "MessageBody": f'{{"fail": {str(i == 1).lower()}}}'}
                for i in range(3)
            ],
        )
        messages: list[dict[str, Any]] = []
        while len(messages) < 3:
            answer = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60
            )
            messages += answer.get("Messages", [])
        with pytest.raises(SQSBatchProcessingError) as caught:
            lambda_handler(
                event_from_messages(messages, queue_arn=queue_arn), FakeLambdaContext(10)
            )
        assert caught.value.undeleted_messages == []
        (failed,) = caught.value.failed_records
        # Off to a dead-letter queue, as it were: the queue stays small.
        client.delete_message(QueueUrl=url, ReceiptHandle=failed.record.receipt_handle)

    end = assert_flat(invoke)
    assert end["sqs_clients"] == 2  # aiobatch's, and this test's own

"""A thousand warm invocations of each facade, each in a fresh process of its own:
memory, threads, sockets, tasks and SQS clients stay flat, and no ResourceWarning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCENARIOS = textwrap.dedent(
    """
    import asyncio, contextlib, gc, json, logging, os, resource, sys, threading

    import boto3

    from aiobatch import (
        BatchProcessor, EventType, PartialSQSProcessor, SQSBatchProcessingError,
        SqsFifoPartialProcessor, aprocess_partial_response, batch_processor,
        process_partial_response,
    )
    from aiobatch.testing import FakeLambdaContext, event_from_messages, sqs_event

    INVOCATIONS, WARM_UP = 1000, 100
    logging.getLogger("aiobatch").setLevel(logging.ERROR)

    def snapshot():
        gc.collect()
        with open("/proc/self/statm") as statm:
            rss = int(statm.read().split()[1]) * resource.getpagesize()
        sockets = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                sockets += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        objects = gc.get_objects()
        return {
            "rss": rss,
            "threads": threading.active_count(),
            "sockets": sockets,
            "pending_tasks": sum(isinstance(o, asyncio.Task) and not o.done() for o in objects),
            "sqs_clients": sum(type(o).__name__ == "SQS" and hasattr(o, "meta") for o in objects),
        }

    def measure(invoke):
        for n in range(WARM_UP):
            invoke(n)
        warm = snapshot()
        for n in range(WARM_UP, INVOCATIONS):
            invoke(n)
        return {"warm": warm, "end": snapshot()}

    def event(n, fifo=False):
        bodies = [json.dumps({"n": n, "i": i, "fail": i == 3}) for i in range(10)]
        return sqs_event(bodies, message_group_id=(lambda i: f"g{i % 3}") if fifo else None)

    def failing(record):
        if record.json_body["fail"]:
            raise ValueError("no")

    async def afailing(record):
        await asyncio.sleep(0)
        failing(record)

    def partial_sync():
        processor = BatchProcessor(EventType.SQS)
        def invoke(n):
            response = process_partial_response(event(n), afailing, processor, FakeLambdaContext(3))
            assert len(response["batchItemFailures"]) == 1
        return measure(invoke)

    def fifo_sync():
        processor = SqsFifoPartialProcessor()
        def invoke(n):
            response = process_partial_response(event(n, fifo=True), failing, processor)
            assert len(response["batchItemFailures"]) == 7  # the failure and all after it
        return measure(invoke)

    def partial_async():
        processor = BatchProcessor(EventType.SQS, use_threads=True, max_concurrency=4)
        async def main():
            loop = asyncio.get_running_loop()
            def invoke(n):
                # One invocation after another on this loop, as Lambda's async runtime does.
                response = asyncio.run_coroutine_threadsafe(
                    aprocess_partial_response(event(n), failing, processor), loop
                ).result(30)
                assert len(response["batchItemFailures"]) == 1
            return await asyncio.to_thread(measure, invoke)
        return asyncio.run(main())

    def delete_mode(endpoint):
        client = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
        url = client.create_queue(QueueName="long-run")["QueueUrl"]
        attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arn = attributes["Attributes"]["QueueArn"]
        processor = PartialSQSProcessor()

        @batch_processor(record_handler=failing, processor=processor)
        def lambda_handler(event, context):
            return {"statusCode": 200}

        def invoke(n):
            client.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": json.dumps({"fail": i == 1})} for i in range(3)
            ])
            messages = []
            while len(messages) < 3:
                answer = client.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60
                )
                messages += answer.get("Messages", [])
            try:
                lambda_handler(event_from_messages(messages, queue_arn=arn), FakeLambdaContext(10))
            except SQSBatchProcessingError as error:
                assert error.undeleted_messages == []
                (failed,) = error.failed_records
                # Off to a dead-letter queue, as it were: the queue stays small.
                client.delete_message(QueueUrl=url, ReceiptHandle=failed.record.receipt_handle)
            else:
                raise AssertionError("one record failed, yet nothing was raised")

        result = measure(invoke)
        result["clients_created"] = processor.sqs.clients_created
        return result

    name, *args = sys.argv[1:]
    print(json.dumps(globals()[name](*args)))
    """
)

MOTO_SERVER = textwrap.dedent(
    """
    import sys
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    print(server.get_host_and_port()[1], flush=True)
    sys.stdin.read()  # until the test closes it
    """
)


def run(scenario: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", SCENARIOS, scenario, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=540,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ResourceWarning" not in result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    warm, end = outcome["warm"], outcome["end"]
    assert end["rss"] - warm["rss"] < 2 * 2**20, (warm, end)
    assert end["threads"] <= warm["threads"], (warm, end)
    assert end["sockets"] <= warm["sockets"], (warm, end)
    assert end["pending_tasks"] == warm["pending_tasks"], (warm, end)
    assert end["sqs_clients"] == warm["sqs_clients"], (warm, end)
    return outcome


@pytest.mark.timeout(600)
@pytest.mark.parametrize("scenario", ["partial_sync", "fifo_sync", "partial_async"])
def test_a_thousand_warm_invocations_stay_flat(scenario: str) -> None:
    run(scenario)


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
def test_a_thousand_warm_delete_mode_invocations_against_a_queue_stay_flat(
    moto_elsewhere: str,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_ENDPOINT_URL_SQS": moto_elsewhere,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    outcome = run("delete_mode", moto_elsewhere, env=env)
    assert outcome["clients_created"] == 1
    assert outcome["end"]["sqs_clients"] == 2  # aiobatch's, and the scenario's own

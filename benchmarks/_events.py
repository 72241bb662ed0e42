"""Synthetic Lambda SQS events, built in memory, and the record handlers of the cases."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def sqs_record(index: int, arn: str, group: str | None = None) -> dict[str, Any]:
    attributes = {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1764200000000",
        "SenderId": "AROAEXAMPLEROLEID:producer",
        "ApproximateFirstReceiveTimestamp": "1764200000050",
    }
    if group is not None:
        attributes["MessageGroupId"] = group
        attributes["MessageDeduplicationId"] = f"dedup-{index}"
        attributes["SequenceNumber"] = f"{18890000000000000000 + index}"
    return {
        "messageId": f"5f1c6b2e-0000-4000-8000-{index:012d}",
        "receiptHandle": f"AQEBbench{index:08d}receipthandle==",
        "body": json.dumps({"order": index}),
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": "549f43409a214c5a2b1d4ef2915927cc",
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


def sqs_event(count: int, *, queue: str = "bench") -> dict[str, Any]:
    arn = queue_arn(queue)
    return {"Records": [sqs_record(index, arn) for index in range(count)]}


def fifo_event(count: int, groups: int) -> dict[str, Any]:
    """Records of ``groups`` message groups, interleaved (record i is in group i % groups)."""
    arn = queue_arn("bench.fifo")
    return {"Records": [sqs_record(index, arn, f"g{index % groups}") for index in range(count)]}


def message_ids(event: dict[str, Any], every: int) -> frozenset[str]:
    """The messageIds of every ``every``-th record (the first, the eleventh, ...)."""
    return frozenset(record["messageId"] for record in event["Records"][::every])


class BenchFailure(Exception):
    """What a failing record handler raises."""


async def noop_async(record: Any) -> None:
    return None


def noop_sync(record: Any) -> None:
    return None


def failing_async(failing: Collection[str]) -> Callable[[Any], Awaitable[None]]:
    async def handler(record: Any) -> None:
        if record["messageId"] in failing:
            raise BenchFailure("this record fails")

    return handler


def failing_sync(failing: Collection[str]) -> Callable[[Any], None]:
    def handler(record: Any) -> None:
        if record["messageId"] in failing:
            raise BenchFailure("this record fails")

    return handler


def sleeping_async(seconds: float) -> Callable[[Any], Awaitable[None]]:
    async def handler(record: Any) -> None:
        await asyncio.sleep(seconds)

    return handler


def sleeping_sync(seconds: float) -> Callable[[Any], None]:
    def handler(record: Any) -> None:
        time.sleep(seconds)

    return handler


def expect_failures(count: int) -> Callable[[Any], None]:
    """A check of a partial batch response: exactly ``count`` failures reported."""

    def check(response: Any) -> None:
        failures = response["batchItemFailures"]
        if len(failures) != count:
            raise AssertionError(f"expected {count} batchItemFailures, got {len(failures)}")

    return check


def expect_results(count: int, failures: int = 0) -> Callable[[Any], None]:
    """A check of ``process()`` results: ``count`` tuples, ``failures`` of them "fail"."""

    def check(results: Any) -> None:
        failed = sum(1 for result in results if result[0] == "fail")
        if len(results) != count or failed != failures:
            raise AssertionError(
                f"expected {count} results with {failures} failures, "
                f"got {len(results)} with {failed}"
            )

    return check

"""The cases' Lambda SQS events (made by ``aiobatch.testing``), record handlers and checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiobatch.testing import DEFAULT_FIFO_QUEUE_ARN, DEFAULT_QUEUE_ARN, sqs_event

QUEUE_ARN = DEFAULT_QUEUE_ARN
REGION, ACCOUNT, QUEUE = QUEUE_ARN.split(":")[3:6]


def standard_event(count: int) -> dict[str, Any]:
    """A standard queue's event of ``count`` records with small JSON bodies."""
    return sqs_event(({"order": index} for index in range(count)), queue_arn=QUEUE_ARN)


def fifo_event(count: int, groups: int) -> dict[str, Any]:
    """Records of ``groups`` message groups, interleaved (record i is in group i % groups)."""
    return sqs_event(
        ({"order": index} for index in range(count)),
        queue_arn=DEFAULT_FIFO_QUEUE_ARN,
        message_group_id=lambda index: f"g{index % groups}",
    )


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


def failing_handler(is_async: bool, failing: Collection[str]) -> Callable[[Any], Any]:
    """A no-op handler, ``async def`` or ``def``, that raises on the ``failing`` messageIds."""
    if not failing:
        return noop_async if is_async else noop_sync
    return (failing_async if is_async else failing_sync)(failing)


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

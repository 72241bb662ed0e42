"""Async record handlers, run concurrently under a bound, in an ``async def`` handler.

The record handler awaits I/O (here ``asyncio.sleep`` stands in for a call to a payment
service), so the processor runs many at once, but never more than ``max_concurrency``:
a counter records the most that were running together. Two forms are shown, each as
one invocation on its own event loop:

- ``@async_batch_processor`` on an ``async def`` handler, with two failing payments;
- ``async with processor(...)`` and ``await processor.aprocess()``, whose results come
  back in input order, whatever order the handlers finished in.

The record handler also takes ``lambda_context``, the Lambda context, by keyword: it
bounds its I/O by the time the invocation has left.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from _local_sqs import ids_by_message, local_sqs, receive, still_on_queue

from aiobatch import (
    LambdaContext,
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SQSRecord,
    async_batch_processor,
)
from aiobatch.testing import FakeLambdaContext, LocalSQS

logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")

MAX_CONCURRENCY = 4

processor = PartialSQSProcessor(max_concurrency=MAX_CONCURRENCY)


class Gauge:
    """How many handlers are running now, and the most that ran at once."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.running = self.peak = 0
        self.finished: list[int] = []


gauge = Gauge()


async def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> str:
    payment = record.json_body
    gauge.running += 1
    gauge.peak = max(gauge.peak, gauge.running)
    try:
        # Leave a second of the invocation's time for deleting and reporting.
        async with asyncio.timeout(lambda_context.get_remaining_time_in_millis() / 1000 - 1):
            await asyncio.sleep(random.uniform(0.005, 0.03))  # the payment service
        if payment["amount"] <= 0:
            raise ValueError(f"payment {payment['id']}: amount must be positive")
        return f"payment {payment['id']} captured"
    finally:
        gauge.running -= 1
        gauge.finished.append(payment["id"])


@async_batch_processor(record_handler=record_handler, processor=processor)
async def lambda_handler(event: dict[str, Any], context: object) -> dict[str, int]:
    return {"statusCode": 200}


async def context_manager_handler(event: dict[str, Any], context: object) -> list[dict[str, str]]:
    async with processor(event["Records"], record_handler, lambda_context=context):
        results = await processor.aprocess()
    # Only what Lambda can serialise: each record's id and outcome, not the tuples.
    return [
        {"messageId": record.message_id, "status": status, "result": result}
        for status, result, record in results
    ]


def with_decorator(sqs: LocalSQS) -> None:
    queue = sqs.create_queue("payments")
    queue.send([{"id": n, "amount": 0 if n in (5, 9) else 10 * n + 5} for n in range(12)])
    event = receive(queue, 12)
    ids = ids_by_message(event)
    gauge.reset()

    print(f"@async_batch_processor, 12 payments, max_concurrency={MAX_CONCURRENCY}:")
    try:
        asyncio.run(lambda_handler(event, FakeLambdaContext()))
    except SQSBatchProcessingError as exc:
        error = exc
    else:
        raise AssertionError("a batch with failures must raise")
    print(f"  raised SQSBatchProcessingError: {error.msg}")
    for failed in error.failed_records:
        print(f"  failed: {failed.exception}")
    left = sorted(ids[m] for m in still_on_queue(sqs, queue, event))
    print(f"  handlers running at once: at most {gauge.peak}")
    print(f"  still on the queue, to be redelivered: payments {left}")
    assert gauge.peak == MAX_CONCURRENCY, "concurrent, and never beyond the bound"
    assert left == [5, 9], "exactly the failed payments stay on the queue"
    assert not error.undeleted_messages


def with_context_manager(sqs: LocalSQS) -> None:
    queue = sqs.create_queue("refunds")
    queue.send([{"id": n, "amount": n + 1} for n in range(8)])
    event = queue.receive_event(8)
    ids = ids_by_message(event)
    gauge.reset()

    print("async with processor(...) + aprocess(), 8 payments, all succeed:")
    results = asyncio.run(context_manager_handler(event, FakeLambdaContext()))
    outcomes = [result["status"] for result in results]
    in_order = [ids[result["messageId"]] for result in results]
    print(f"  outcomes: {outcomes.count('success')} success, {outcomes.count('fail')} fail")
    print(f"  handlers finished in this order: payments {gauge.finished}")
    print(f"  results come back in input order: payments {in_order}")
    print(f"  handlers running at once: at most {gauge.peak}")
    assert outcomes == ["success"] * 8
    assert in_order == [ids[r["messageId"]] for r in event["Records"]]
    assert gauge.peak == MAX_CONCURRENCY
    assert len(still_on_queue(sqs, queue, event)) == 8, "all successes: Lambda deletes the batch"


def main() -> None:
    with local_sqs() as sqs:
        with_decorator(sqs)
        with_context_manager(sqs)


if __name__ == "__main__":
    main()

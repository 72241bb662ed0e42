"""``aiobatch demo``: a Lambda SQS handler run by the worker on a local SQS.

Two hundred orders go on a queue with a dead-letter queue (three receives). The handler
is an ordinary Lambda handler using ``process_partial_response``: most orders succeed,
some fail once and succeed when redelivered, and a few are poison and fail every time,
so that SQS moves them to the dead-letter queue. The worker runs until the queue is
empty and prints its summary, and the demo shows where every order ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

from ._facades import process_partial_response
from ._records.sqs import SQSRecord
from ._response_mode import BatchProcessor
from ._sources import EventType

ORDERS = 200
POISON = frozenset({17, 42, 99, 123, 186})
FLAKY = frozenset(range(5, ORDERS, 13)) - POISON

processor = BatchProcessor(EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    order = record.json_body
    if order["id"] in POISON:
        raise ValueError("this order can never be processed")
    if order["id"] in FLAKY and record.attributes.approximate_receive_count == "1":
        raise ConnectionError("the payment service did not answer; try again")
    time.sleep(0.002)  # the work


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event, record_handler, processor, context)


def main() -> int:
    from ._report import ConsoleReporter
    from ._worker import Worker, WorkerOptions
    from .testing import LocalSQS

    out = sys.stderr
    # The processor logs each failed record; here the worker's own lines tell the story.
    logging.getLogger("aiobatch").setLevel(logging.ERROR)
    try:
        local = LocalSQS()
    except ImportError:
        print(
            "aiobatch demo needs moto's server and boto3: pip install 'aiobatch-lambda[local]'",
            file=out,
        )
        return 2
    with local:
        queue = local.create_queue(
            "orders", dead_letter_queue=True, max_receive_count=3, visibility_timeout=1
        )
        assert queue.dead_letter is not None
        print(
            f"Sending {ORDERS} orders to a local SQS queue: {len(FLAKY)} fail once and then "
            f"succeed, {len(POISON)} are poison ({sorted(POISON)}). The dead-letter queue "
            "takes a message after 3 receives.\n",
            file=out,
        )
        queue.send([{"id": n, "amount": n % 50 + 1} for n in range(ORDERS)])
        options = WorkerOptions(
            queue_url=queue.url,
            endpoint_url=local.endpoint_url,
            batch_size=10,
            concurrency=4,
            timeout=1.0,
            wait_time=1,
            until_empty=True,
            function_name="orders",
        )
        import aioboto3

        session = aioboto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=local.region
        )
        reporter = ConsoleReporter(out)
        worker = Worker(lambda_handler, options, session=session, reporter=reporter)
        print(f"$ aiobatch run aiobatch._demo:lambda_handler --queue-url {queue.url} \\", file=out)
        print("      --concurrency 4 --timeout 1 --wait-time 1 --until-empty\n", file=out)
        asyncio.run(worker.run())
        dead = sorted(json.loads(body)["id"] for body in queue.dead_letter.drain_bodies())
        print(
            f"\nIn the dead-letter queue: orders {dead}; left on the queue: "
            f"{queue.approximate_count(include_hidden=True)}.",
            file=out,
        )
        lost = ORDERS - worker.stats.deleted - len(dead)
        print(
            f"Every order is accounted for: {worker.stats.deleted} processed and deleted, "
            f"{len(dead)} dead-lettered, {lost} lost."
            if lost == 0
            else f"{lost} orders are unaccounted for: this is a bug, please report it.",
            file=out,
        )
        return 0 if lost == 0 and set(dead) == POISON else 1

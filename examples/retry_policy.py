"""Partial batch response with a retry policy and metrics.

Three kinds of outcome in one batch of orders:

- valid orders succeed: Lambda deletes them (they are not in ``batchItemFailures``);
- an order the warehouse cannot take right now fails with ``WarehouseBusy``: it is
  reported failed and hidden for a backoff that grows with its receive count
  (``retry=Backoff(...)``), instead of coming back after the queue's visibility
  timeout;
- an order that can never succeed (``InvalidOrder``) goes to the queue's dead-letter
  queue at once (``non_retryable=``), with why it failed, and is left out of
  ``batchItemFailures``, so Lambda deletes it: no retries wasted on it.

``metrics=EMFMetrics(...)`` prints one CloudWatch Embedded Metric Format line per
batch to stdout; in Lambda, CloudWatch turns it into metrics with no API call.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from _local_sqs import local_sqs

from aiobatch import (
    Backoff,
    BatchProcessor,
    EMFMetrics,
    EventType,
    PartialItemFailureResponse,
    SQSRecord,
    process_partial_response,
)
from aiobatch.testing import FakeLambdaContext

logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


class InvalidOrder(Exception):
    """The order itself is wrong: retrying cannot help."""


class WarehouseBusy(Exception):
    """A passing problem: worth trying again later."""


def record_handler(record: SQSRecord) -> None:
    order = record.json_body
    if order["quantity"] <= 0:
        raise InvalidOrder(f"order {order['id']}: quantity must be positive")
    if order.get("busy"):
        raise WarehouseBusy("the warehouse is busy")


processor = BatchProcessor(
    EventType.SQS,
    retry=Backoff(base=2, factor=2, max=900),
    non_retryable=(InvalidOrder,),
    metrics=EMFMetrics(namespace="Orders", dimensions={"Service": "orders"}),
)


def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event, record_handler, processor, context)


def main() -> None:
    with local_sqs() as sqs:
        queue = sqs.create_queue("orders", dead_letter_queue=True, visibility_timeout=60)
        dead_letter = queue.dead_letter
        assert dead_letter is not None
        queue.send(
            [
                {"id": 1, "quantity": 2},
                {"id": 2, "quantity": 0},
                {"id": 3, "quantity": 1, "busy": True},
                {"id": 4, "quantity": 5},
            ]
        )
        event = queue.receive_event(4, visibility_timeout=60)
        ids = {r["messageId"]: json.loads(r["body"])["id"] for r in event["Records"]}
        while len(ids) < 4:  # a receive may return fewer
            more = queue.receive_event(4 - len(ids), visibility_timeout=60)["Records"]
            event["Records"] += more
            ids |= {r["messageId"]: json.loads(r["body"])["id"] for r in more}

        print("The EMF line of the batch (stdout; CloudWatch makes metrics of it in Lambda):")
        response = lambda_handler(event, FakeLambdaContext())
        failed = sorted(ids[item["itemIdentifier"]] for item in response["batchItemFailures"])
        print(f"Reported failed, for Lambda to leave on the queue: orders {failed}")
        assert failed == [3], failed

        in_dlq = sqs.client.receive_message(
            QueueUrl=dead_letter.url, MessageAttributeNames=["All"], WaitTimeSeconds=1
        )["Messages"]
        [message] = in_dlq
        why = message["MessageAttributes"]["aiobatch.ErrorType"]["StringValue"]
        print(f"In the dead-letter queue at once: order {json.loads(message['Body'])['id']}, {why}")
        assert json.loads(message["Body"]) == {"id": 2, "quantity": 0}
        assert why == "InvalidOrder"

        # Order 3 is hidden for its backoff (1 to 2 s on a first failure), not the
        # queue's 60 s visibility timeout.
        began = time.monotonic()
        again: list[dict[str, Any]] = []
        while not again and time.monotonic() - began < 10:
            again = queue.receive_event(1, wait_seconds=1)["Records"]
        [record] = again
        print(
            f"Back after {time.monotonic() - began:.1f} s, not 60 s: order "
            f"{json.loads(record['body'])['id']}, receive "
            f"{record['attributes']['ApproximateReceiveCount']}"
        )
        assert json.loads(record["body"])["id"] == 3
        assert time.monotonic() - began < 10


if __name__ == "__main__":
    main()

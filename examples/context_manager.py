"""PartialSQSProcessor as a context manager, in a plain ``def`` Lambda handler.

The processor lives at module level, as it would in a Lambda function, so a warm
invocation reuses it (and its SQS client). The first invocation gets six orders, two of
them invalid: leaving the ``with`` block deletes the four successes and raises
``SQSBatchProcessingError``, so only the two failures come back. The second, warm
invocation gets those two again with three new orders: the new ones are deleted, the
invalid ones stay for another round (in production, until the queue's redrive policy
moves them to a dead-letter queue).
"""

from __future__ import annotations

import logging
from typing import Any

from _local_sqs import ids_by_message, local_sqs, still_on_queue

from aiobatch import PartialSQSProcessor, SQSBatchProcessingError, SQSRecord, UndeletedMessage
from aiobatch.testing import FakeLambdaContext, LocalQueue, LocalSQS

logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")

processor = PartialSQSProcessor()


def record_handler(record: SQSRecord) -> str:
    order = record.json_body
    if order["quantity"] <= 0:
        # The message says which order, never what is in it.
        raise ValueError(f"order {order['id']}: quantity must be positive")
    return f"order {order['id']} accepted"


def lambda_handler(event: dict[str, Any], context: object) -> dict[str, list[str]]:
    with processor(event["Records"], record_handler, lambda_context=context):
        results = processor.process()
    # Only what Lambda can serialise: the results, not the (status, result, record) tuples.
    return {"accepted": [result for _, result, _ in results]}


def invoke(sqs: LocalSQS, queue: LocalQueue, event: dict[str, Any], title: str) -> list[int]:
    """Call the handler as Lambda would, print the outcome; returns the orders left."""
    ids = ids_by_message(event)
    print(f"{title}: orders {sorted(ids.values())}")
    undeleted: list[UndeletedMessage] = []
    try:
        response = lambda_handler(event, FakeLambdaContext())
    except SQSBatchProcessingError as error:
        print(f"  raised SQSBatchProcessingError: {error.msg}")
        for failed in error.failed_records:
            print(f"  failed: {failed.exception}")
        undeleted = error.undeleted_messages
    else:
        print(f"  returned {len(response['accepted'])} results, all successes")
    left = sorted(ids[m] for m in still_on_queue(sqs, queue, event))
    deleted = sorted(set(ids.values()) - set(left))
    print(f"  deleted from the queue: orders {deleted}")
    print(f"  still on the queue, to be redelivered: orders {left}")
    assert not undeleted, "every success must have been deleted"
    return left


def main() -> None:
    with local_sqs() as sqs:
        queue = sqs.create_queue("orders")
        queue.send([{"id": n, "quantity": 0 if n in (2, 4) else n + 1} for n in range(6)])
        first = queue.receive_event(6)
        left = invoke(sqs, queue, first, "First invocation")
        assert left == [2, 4], "exactly the failed orders stay on the queue"

        # still_on_queue made orders 2 and 4 visible again: they come back, with new ones.
        queue.send([{"id": n, "quantity": 1} for n in range(6, 9)])
        second = queue.receive_event(5)
        left = invoke(sqs, queue, second, "Second, warm invocation (same processor)")
        assert sorted(ids_by_message(second).values()) == [2, 4, 6, 7, 8]
        assert left == [2, 4], "the new orders are deleted, the invalid ones stay"
        assert len(processor.failed_records) == 2, "each run starts with a clean slate"

        # Every order valid: the handler returns plain JSON, and deletes nothing itself
        # (Lambda deletes the batch when the function returns normally).
        valid = sqs.create_queue("valid-orders")
        valid.send([{"id": n, "quantity": 1} for n in range(9, 12)])
        left = invoke(sqs, valid, valid.receive_event(3), "Third invocation, every order valid")
        assert left == [9, 10, 11], "all succeeded: aiobatch deletes nothing, Lambda does"


if __name__ == "__main__":
    main()

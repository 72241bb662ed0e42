"""The ``batch_processor`` decorator on a plain ``def`` Lambda handler.

The decorator runs the record handler over ``event["Records"]`` before the handler's
own body. When every record succeeds it makes no SQS call and the handler's return
value comes back (Lambda then deletes the whole batch itself). When some fail, the
successes are deleted and ``SQSBatchProcessingError`` is raised, so that only the
failed messages are redelivered.
"""

from __future__ import annotations

import logging
from typing import Any

from _local_sqs import ids_by_message, local_sqs, still_on_queue

from aiobatch import PartialSQSProcessor, SQSBatchProcessingError, SQSRecord, batch_processor
from aiobatch.testing import FakeLambdaContext, LocalSQS

logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


def record_handler(record: SQSRecord) -> str:
    order = record.json_body
    if order["quantity"] <= 0:
        raise ValueError(f"order {order['id']}: quantity must be positive")
    return f"order {order['id']} accepted"


@batch_processor(record_handler=record_handler, processor=PartialSQSProcessor())
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, int]:
    return {"statusCode": 200}


def all_succeed(sqs: LocalSQS) -> None:
    queue = sqs.create_queue("orders-all-good")
    queue.send([{"id": n, "quantity": 1} for n in range(5)])
    event = queue.receive_event(5)
    ids = ids_by_message(event)

    response = lambda_handler(event, FakeLambdaContext())
    left = sorted(ids[m] for m in still_on_queue(sqs, queue, event))
    print("All five orders succeed:")
    print(f"  the handler returned {response}")
    print(f"  still on the queue (no delete call; Lambda deletes the batch): orders {left}")
    assert response == {"statusCode": 200}
    assert left == sorted(ids.values()), "nothing is deleted when nothing failed"


def some_fail(sqs: LocalSQS) -> None:
    queue = sqs.create_queue("orders-some-bad")
    queue.send([{"id": n, "quantity": -1 if n in (1, 3) else 1} for n in range(5)])
    event = queue.receive_event(5)
    ids = ids_by_message(event)

    print("Orders 1 and 3 fail:")
    try:
        lambda_handler(event, FakeLambdaContext())
    except SQSBatchProcessingError as exc:
        error = exc
    else:
        raise AssertionError("a batch with failures must raise")
    failed = sorted(ids[f.record.message_id] for f in error.failed_records)
    left = sorted(ids[m] for m in still_on_queue(sqs, queue, event))
    print(f"  the handler raised SQSBatchProcessingError: {error.msg}")
    print(f"  failed: orders {failed}")
    print(f"  still on the queue, to be redelivered: orders {left}")
    assert failed == [1, 3]
    assert not error.undeleted_messages
    assert left == [1, 3], "exactly the failed orders stay on the queue"


def main() -> None:
    with local_sqs() as sqs:
        all_succeed(sqs)
        some_fail(sqs)


if __name__ == "__main__":
    main()

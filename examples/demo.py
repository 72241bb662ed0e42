"""`make demo`: a batch with failing messages through PartialSQSProcessor, on a local SQS.

It starts an embedded moto SQS server, sends ten orders (two of them invalid), hands
them to a Lambda-style handler as one batch, and shows which messages were deleted and
which stay on the queue to be redelivered.
"""

from __future__ import annotations

import logging

from _local_sqs import ids_by_message, local_sqs, still_on_queue

from aiobatch import PartialSQSProcessor, SQSBatchProcessingError, SQSRecord, batch_processor
from aiobatch.testing import FakeLambdaContext

logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")

processor = PartialSQSProcessor(max_concurrency=10)


async def record_handler(record: SQSRecord) -> str:
    order = record.json_body
    if order["quantity"] <= 0:
        raise ValueError(f"order {order['id']} has quantity {order['quantity']}")
    return f"order {order['id']} accepted"


@batch_processor(record_handler=record_handler, processor=processor)
def lambda_handler(event: dict, context: object) -> dict:
    return {"statusCode": 200}


def main() -> None:
    with local_sqs() as sqs:
        queue = sqs.create_queue("orders")
        queue.send([{"id": n, "quantity": 0 if n in (3, 7) else n + 1} for n in range(10)])
        event = queue.receive_event(10)
        ids = ids_by_message(event)

        try:
            lambda_handler(event, FakeLambdaContext())
        except SQSBatchProcessingError as error:
            print(f"The handler raised, as it should with failures:\n  {error.msg}")
            for failed in error.failed_records:
                print(f"  failed: order {ids[failed.record.message_id]}: {failed.exception}")

        left = still_on_queue(sqs, queue, event)
        deleted = [m for m in ids if m not in left]
        print(f"Deleted from the queue: orders {sorted(ids[m] for m in deleted)}")
        print(f"Left on the queue for redelivery: orders {sorted(ids[m] for m in left)}")
        assert sorted(ids[m] for m in left) == [3, 7], "only the failed orders may stay"

        valid = sqs.create_queue("valid-orders")
        valid.send([{"id": n, "quantity": 1} for n in range(10, 13)])
        response = lambda_handler(valid.receive_event(3), FakeLambdaContext())
        print(f"A batch of valid orders: the handler returned {response}; Lambda deletes it.")


if __name__ == "__main__":
    main()

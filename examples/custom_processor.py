"""A custom processor: successful results go to a DynamoDB table.

``MyPartialProcessor`` subclasses ``BasePartialProcessor`` with plain ``def`` hooks:
``_prepare`` opens the table, ``_process_record`` runs the record handler on each record
(one at a time, in order), ``success_handler`` keeps an item per success, and ``_clean``
writes them all at once with a batch writer. The example creates the table on a local
moto server, runs a batch of four people (one without a birth year) through
``@batch_processor``, and scans the table.

``_clean`` raises when a record failed: a Lambda handler that returned normally would
make Lambda delete the whole batch, failures included. The batch then comes back whole;
the items are keyed by message id, so writing them again is harmless.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal

import boto3
from _local_sqs import ids_by_message, local_sqs

from aiobatch import BasePartialProcessor, BatchProcessingError, batch_processor
from aiobatch.testing import FakeLambdaContext

logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")

TABLE = "ages"
THIS_YEAR = 2025


def record_handler(record: dict[str, Any]) -> int:
    person = json.loads(record["body"])
    if "born" not in person:
        raise ValueError(f"person {person['id']}: no birth year")
    return THIS_YEAR - int(person["born"])


class MyPartialProcessor(BasePartialProcessor):
    """Process records and store the successful results in a DynamoDB table."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        super().__init__()

    def _prepare(self) -> None:
        # Called once, before processing.
        self.ddb_table = boto3.resource("dynamodb").Table(self.table_name)

    def _clean(self) -> None:
        # Called once, when the context manager exits: all successes in one batch write.
        with self.ddb_table.batch_writer() as batch:
            for item in self.success_messages:
                batch.put_item(Item=item)
        if self.fail_messages:
            raise BatchProcessingError(
                f"{len(self.fail_messages)} of {len(self.records)} records failed",
                self.failed_records,
            )

    def _process_record(self, record: dict[str, Any]) -> tuple[str, Any, Any]:
        assert self.handler is not None  # set by processor(records, record_handler)
        try:
            result = self.handler(record)
            return self.success_handler(record, result)
        except Exception as exc:
            return self.failure_handler(record, exc)

    def success_handler(
        self, record: dict[str, Any], result: Any
    ) -> tuple[Literal["success"], Any, Any]:
        # What to store, instead of the record itself: the table's key and the result.
        self.success_messages.append({"id": record["messageId"], "age": result})
        return ("success", result, record)


@batch_processor(record_handler=record_handler, processor=MyPartialProcessor(TABLE))
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, int]:
    return {"statusCode": 200}


def create_table() -> None:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def main() -> None:
    with local_sqs() as sqs:
        create_table()
        queue = sqs.create_queue("people")
        queue.send([{"id": "p1", "born": 1990}, {"id": "p2", "born": 2001}, {"id": "p3"}])
        queue.send([{"id": "p4", "born": 1975}])
        event = queue.receive_event(4)
        people = ids_by_message(event)

        try:
            lambda_handler(event, FakeLambdaContext())
        except BatchProcessingError as error:
            print(f"The handler raised BatchProcessingError: {error.msg}")
            for failed in error.failed_records:
                print(f"  failed: {failed.exception}")
        else:
            raise AssertionError("a batch with a failure must raise")

        items = boto3.resource("dynamodb").Table(TABLE).scan()["Items"]
        stored = sorted((people[str(item["id"])], int(item["age"])) for item in items)
        print(f"Stored in table {TABLE!r}:")
        for person, age in stored:
            print(f"  {person}: age {age}")
        assert stored == [("p1", 35), ("p2", 24), ("p4", 50)], "only the successes are stored"

        valid = sqs.create_queue("valid-people")
        valid.send([{"id": "p5", "born": 2010}])
        response = lambda_handler(valid.receive_event(1), FakeLambdaContext())
        print(f"Every record valid: the handler returned {response}")


if __name__ == "__main__":
    main()

"""SQS FIFO in partial batch response mode, with a pydantic model of the record.

Payments for two accounts arrive on a FIFO queue, one message group per account, so
that each account's payments are applied in the order they were sent. The record
handler gets each record validated by ``PaymentRecord`` (its body parsed as JSON into a
``Payment``), never a raw dict.

``SqsFifoPartialProcessor(skip_group_on_error=True)`` runs the two accounts
concurrently, each in order. Account ``acme``'s second payment is invalid (a negative
amount): it fails validation, so its third payment does not run (``RecordSkippedError``:
applying it before the second would break the account's order). Account ``globex`` goes
on. The response names the two ``acme`` payments; Lambda deletes the others, and the two
come back later, in order, for the next invocation.

In Lambda: the event source mapping needs ``FunctionResponseTypes:
[ReportBatchItemFailures]`` (``aiobatch check FUNCTION`` says whether it has it).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from _local_sqs import local_sqs
from pydantic import BaseModel, Field, Json

from aiobatch import (
    PartialItemFailureResponse,
    RecordSkippedError,
    RecordValidationError,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aiobatch.testing import FakeLambdaContext, LocalQueue, LocalSQS

logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")


class Payment(BaseModel):
    account: str
    number: int
    amount: Decimal = Field(gt=0)


class PaymentRecord(BaseModel):
    """The parts of the SQS record the handler uses; pydantic ignores the rest."""

    messageId: str
    body: Json[Payment]


balances: dict[str, Decimal] = {}
applied: list[tuple[str, int]] = []


def record_handler(record: PaymentRecord) -> None:
    payment = record.body
    balances[payment.account] = balances.get(payment.account, Decimal(0)) + payment.amount
    applied.append((payment.account, payment.number))


processor = SqsFifoPartialProcessor(model=PaymentRecord, skip_group_on_error=True)


def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event, record_handler, processor, context)


def lambda_applies(sqs: LocalSQS, queue: LocalQueue, event: dict[str, Any], response: Any) -> None:
    """What Lambda does with the response: delete every message not reported failed."""
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    for record in event["Records"]:
        if record["messageId"] not in failed:
            sqs.client.delete_message(QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"])


def main() -> None:
    with local_sqs() as sqs:
        queue = sqs.create_queue("payments.fifo")
        payments = [
            {"account": "acme", "number": 1, "amount": "10.00"},
            {"account": "globex", "number": 1, "amount": "7.50"},
            {"account": "acme", "number": 2, "amount": "-3.00"},  # invalid
            {"account": "globex", "number": 2, "amount": "2.50"},
            {"account": "acme", "number": 3, "amount": "1.00"},
        ]
        ids = queue.send(payments, message_group_id=lambda index: payments[index]["account"])
        names = {
            message_id: f"{p['account']} #{p['number']}"
            for message_id, p in zip(ids, payments, strict=True)
        }

        event = queue.receive_event(10, visibility_timeout=2)
        assert len(event["Records"]) == 5, "one receive got all five, each group in order"
        response = lambda_handler(event, FakeLambdaContext())
        failed = [names[item["itemIdentifier"]] for item in response["batchItemFailures"]]
        print(f"Applied, each account in order: {applied}")
        print(f"Balances: { {account: str(total) for account, total in balances.items()} }")
        print(f"Reported failed (acme #2 invalid, acme #3 skipped to keep order): {failed}")
        assert failed == ["acme #2", "acme #3"]
        assert applied.index(("globex", 1)) < applied.index(("globex", 2))
        assert balances == {"acme": Decimal("10.00"), "globex": Decimal("10.00")}
        invalid, skipped = processor.failed_records
        assert isinstance(invalid.exception, RecordValidationError)
        where = [".".join(map(str, error["loc"])) for error in invalid.exception.errors]
        print(f"Why acme #2 failed: {invalid.exception} at {where} (never the value)")
        assert where == ["body.amount"]
        assert "-3" not in str(invalid.exception)
        assert isinstance(skipped.exception, RecordSkippedError)
        print(f"Why acme #3 failed: {type(skipped.exception).__name__}, its group had failed")

        lambda_applies(sqs, queue, event, response)
        again = queue.receive_event(10, wait_seconds=5)["Records"]
        back = [names[record["messageId"]] for record in again]
        print(f"After the visibility timeout, redelivered to the next invocation: {back}")
        assert sorted(back) == ["acme #2", "acme #3"]


if __name__ == "__main__":
    main()

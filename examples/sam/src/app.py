"""The orders function: partial batch response, with aiobatch's retry policy.

A failed order is hidden for a backoff that grows with its receive count; an order
that can never succeed goes to the dead-letter queue at once, with why; one EMF line
per batch gives CloudWatch the batch's metrics.
"""

from __future__ import annotations

from typing import Any

from aiobatch import (
    Backoff,
    BatchProcessor,
    EMFMetrics,
    EventType,
    PartialItemFailureResponse,
    SQSRecord,
    process_partial_response,
)


class InvalidOrder(Exception):
    """The order itself is wrong: retrying cannot help."""


def record_handler(record: SQSRecord) -> None:
    order = record.json_body
    if not isinstance(order, dict) or order.get("quantity", 0) <= 0:
        raise InvalidOrder("an order needs a positive quantity")
    # ... take the order; an exception here is retried after a backoff


# Made once, in Lambda's init phase: its SQS client stays warm between invocations.
processor = BatchProcessor(
    EventType.SQS,
    retry=Backoff(base=10, max=900),
    non_retryable=(InvalidOrder,),
    metrics=EMFMetrics(namespace="Orders"),
)


def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event, record_handler, processor, context)

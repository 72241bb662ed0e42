"""The Lambda handler the container runs, unchanged from the one deployed to Lambda."""

from __future__ import annotations

from typing import Any

from aiobatch import BatchProcessor, EventType, SQSRecord, process_partial_response

processor = BatchProcessor(EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    order = record.json_body
    if order.get("quantity", 1) <= 0:
        raise ValueError("an order needs a positive quantity")


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return process_partial_response(event, record_handler, processor, context)

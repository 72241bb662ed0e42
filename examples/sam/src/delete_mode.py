"""The payments function: delete mode.

When some records fail, the successes are deleted and the function raises, so that
Lambda redelivers only the failed messages: no ReportBatchItemFailures needed.
"""

from __future__ import annotations

from typing import Any

from aiobatch import PartialSQSProcessor, SQSRecord, batch_processor


def record_handler(record: SQSRecord) -> None:
    payment = record.json_body
    if not isinstance(payment, dict) or "amount" not in payment:
        raise ValueError("a payment needs an amount")


processor = PartialSQSProcessor()


@batch_processor(record_handler=record_handler, processor=processor)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return {"statusCode": 200}

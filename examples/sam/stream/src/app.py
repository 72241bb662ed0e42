"""The readings function: Kinesis, partial batch responses, one partition key at a time.

``ordered=True`` runs each partition key's records in order (keys concurrently);
``stop_on_first_failure=True`` starts nothing after a failure, and the response names
the lowest failed record and everything after it: where Lambda restarts the shard.
"""

from __future__ import annotations

from typing import Any

from aiobatch import (
    BatchProcessor,
    EventType,
    KinesisStreamRecord,
    PartialItemFailureResponse,
    process_partial_response,
)


def record_handler(record: KinesisStreamRecord) -> None:
    reading = record.kinesis.data_as_json()
    if not isinstance(reading, dict) or "value" not in reading:
        raise ValueError("a reading needs a value")


processor = BatchProcessor(
    EventType.KinesisDataStreams, ordered=True, stop_on_first_failure=True, metrics="emf"
)


def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event, record_handler, processor, context)

"""Names that exist only so that code written for Powertools runs unchanged."""

from __future__ import annotations

from typing import Any

from ._facades import process_partial_response
from ._records import DynamoDBStreamRecord
from ._response_mode import BatchProcessor
from ._types import LambdaContext, PartialItemFailureResponse, RecordHandler

DynamoDBRecord = DynamoDBStreamRecord
"""Powertools' name for :class:`DynamoDBStreamRecord`."""


class AsyncBatchProcessor(BatchProcessor):
    """Powertools' name for :class:`BatchProcessor` with async handlers.

    Every processor here takes async and sync handlers alike; this class exists so
    that code written for Powertools runs after changing only the import.
    """

    def async_process(self) -> list[Any]:
        """Powertools' name: run the records from sync code (``process()``)."""
        return self.process()


def async_process_partial_response(
    event: Any,
    record_handler: RecordHandler,
    processor: BatchProcessor,
    context: LambdaContext | None = None,
) -> PartialItemFailureResponse:
    """Powertools' name and convention: a plain call that runs async handlers.

    The same as :func:`process_partial_response`: every aiobatch processor runs async
    and sync handlers alike, on one process-wide event loop. Inside a running event
    loop, ``await aprocess_partial_response(...)`` instead.
    """
    return process_partial_response(event, record_handler, processor, context)

"""aiobatch: async-first partial batch processing for AWS Lambda."""

from ._decorators import async_batch_processor, batch_processor
from ._exceptions import (
    AiobatchError,
    BatchProcessingError,
    FailedRecord,
    InvalidEventError,
    SQSBatchProcessingError,
    SyncInAsyncError,
    UndeletedMessage,
)
from ._processor import AsyncBasePartialProcessor, BasePartialProcessor
from ._records import SQSRecord
from ._sqs_delete import PartialSQSProcessor

__all__ = [
    "AiobatchError",
    "AsyncBasePartialProcessor",
    "BasePartialProcessor",
    "BatchProcessingError",
    "FailedRecord",
    "InvalidEventError",
    "PartialSQSProcessor",
    "SQSBatchProcessingError",
    "SQSRecord",
    "SyncInAsyncError",
    "UndeletedMessage",
    "async_batch_processor",
    "batch_processor",
]

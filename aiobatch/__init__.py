"""aiobatch: async-first partial batch processing for AWS Lambda."""

from ._decorators import async_batch_processor, batch_processor
from ._exceptions import (
    AiobatchError,
    BatchProcessingError,
    DeadlineExceededError,
    ExceptionInfo,
    FailedRecord,
    InvalidEventError,
    RecordSkippedError,
    RecordValidationError,
    SQSBatchProcessingError,
    SyncInAsyncError,
    UndeletedMessage,
)
from ._partial import (
    AsyncBatchProcessor,
    BatchProcessor,
    EventType,
    PartialItemFailureResponse,
    SqsFifoPartialProcessor,
    aprocess_partial_response,
    async_process_partial_response,
    process_partial_response,
)
from ._processor import (
    AsyncBasePartialProcessor,
    BasePartialProcessor,
    FailureResponse,
    SuccessResponse,
)
from ._records import (
    DynamoDBRecord,
    DynamoDBStreamRecord,
    KinesisStreamRecord,
    SQSRecord,
)
from ._sqs_delete import PartialSQSProcessor

__all__ = [
    "AiobatchError",
    "AsyncBasePartialProcessor",
    "AsyncBatchProcessor",
    "BasePartialProcessor",
    "BatchProcessingError",
    "BatchProcessor",
    "DeadlineExceededError",
    "DynamoDBRecord",
    "DynamoDBStreamRecord",
    "EventType",
    "ExceptionInfo",
    "FailedRecord",
    "FailureResponse",
    "InvalidEventError",
    "KinesisStreamRecord",
    "PartialItemFailureResponse",
    "PartialSQSProcessor",
    "RecordSkippedError",
    "RecordValidationError",
    "SQSBatchProcessingError",
    "SQSRecord",
    "SqsFifoPartialProcessor",
    "SuccessResponse",
    "SyncInAsyncError",
    "UndeletedMessage",
    "aprocess_partial_response",
    "async_batch_processor",
    "async_process_partial_response",
    "batch_processor",
    "process_partial_response",
]

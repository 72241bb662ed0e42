"""aiobatch: async-first partial batch processing for AWS Lambda."""

import contextlib

from ._batch import Batch, BatchState, BatchSummary
from ._compat import AsyncBatchProcessor, DynamoDBRecord, async_process_partial_response
from ._delete_mode import PartialSQSProcessor
from ._exceptions import (
    AiobatchError,
    BatchProcessingError,
    DeadlineExceededError,
    ExceptionInfo,
    FailedRecord,
    InvalidEventError,
    RecordSkippedError,
    RecordTimeoutError,
    RecordValidationError,
    SQSBatchProcessingError,
    SyncInAsyncError,
    UndeletedMessage,
)
from ._facades import (
    aprocess_partial_response,
    async_batch_processor,
    batch_processor,
    process_partial_response,
)
from ._processor import AsyncBasePartialProcessor, BasePartialProcessor
from ._records import (
    DynamoDBRecordEventName,
    DynamoDBStreamRecord,
    KinesisStreamRecord,
    KinesisStreamRecordPayload,
    SQSMessageAttribute,
    SQSMessageAttributes,
    SQSRecord,
    SQSRecordAttributes,
    StreamRecord,
    StreamViewType,
)
from ._response_mode import BatchProcessor, SqsFifoPartialProcessor
from ._sources import EventType
from ._sqs import AioSQSActions, SQSActions
from ._types import (
    FailureResponse,
    LambdaContext,
    PartialItemFailure,
    PartialItemFailureResponse,
    RecordHandler,
    SuccessResponse,
)
from ._version import __version__

__all__ = [
    "AioSQSActions",
    "AiobatchError",
    "AsyncBasePartialProcessor",
    "AsyncBatchProcessor",
    "BasePartialProcessor",
    "Batch",
    "BatchProcessingError",
    "BatchProcessor",
    "BatchState",
    "BatchSummary",
    "DeadlineExceededError",
    "DynamoDBRecord",
    "DynamoDBRecordEventName",
    "DynamoDBStreamRecord",
    "EventType",
    "ExceptionInfo",
    "FailedRecord",
    "FailureResponse",
    "InvalidEventError",
    "KinesisStreamRecord",
    "KinesisStreamRecordPayload",
    "LambdaContext",
    "PartialItemFailure",
    "PartialItemFailureResponse",
    "PartialSQSProcessor",
    "RecordHandler",
    "RecordSkippedError",
    "RecordTimeoutError",
    "RecordValidationError",
    "SQSActions",
    "SQSBatchProcessingError",
    "SQSMessageAttribute",
    "SQSMessageAttributes",
    "SQSRecord",
    "SQSRecordAttributes",
    "SqsFifoPartialProcessor",
    "StreamRecord",
    "StreamViewType",
    "SuccessResponse",
    "SyncInAsyncError",
    "UndeletedMessage",
    "__version__",
    "aprocess_partial_response",
    "async_batch_processor",
    "async_process_partial_response",
    "batch_processor",
    "process_partial_response",
]

# Show public classes as aiobatch.X (in reprs, tracebacks and docs), not where they live.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("aiobatch."):
        with contextlib.suppress(AttributeError, TypeError):  # aliases of builtins
            _obj.__module__ = "aiobatch"
del _name, _obj

"""aiobatch: async-first partial batch processing for AWS Lambda."""

import contextlib
import importlib
from typing import TYPE_CHECKING

from ._batch import Batch, BatchState, BatchSummary
from ._compat import (
    DEFAULT_RESPONSE,
    AsyncBatchProcessor,
    BasePartialBatchProcessor,
    BatchTypeModels,
    DynamoDBRecord,
    PartialItemFailures,
    async_process_partial_response,
    sqs_batch_processor,
)
from ._delete_mode import PartialSQSProcessor
from ._exceptions import (
    AiobatchError,
    BaseBatchProcessingError,
    BatchProcessingError,
    DeadlineExceededError,
    ExceptionInfo,
    FailedRecord,
    InvalidEventError,
    RecordSkippedError,
    RecordTimeoutError,
    RecordValidationError,
    SQSBatchProcessingError,
    SQSFifoCircuitBreakerError,
    SQSFifoMessageGroupCircuitBreakerError,
    SyncInAsyncError,
    UndeletedMessage,
    UnexpectedBatchTypeError,
)
from ._facades import (
    aprocess_partial_response,
    async_batch_processor,
    batch_processor,
    process_partial_response,
)
from ._metrics import EMFMetrics, OpenTelemetryMetrics
from ._processor import AsyncBasePartialProcessor, BasePartialProcessor
from ._records import (
    DynamoDBRecordEventName,
    DynamoDBStreamRecord,
    KafkaEventRecord,
    KinesisStreamRecord,
    KinesisStreamRecordPayload,
    S3Event,
    S3EventRecord,
    SNSMessage,
    SQSMessageAttribute,
    SQSMessageAttributes,
    SQSRecord,
    SQSRecordAttributes,
    StreamRecord,
    StreamViewType,
)
from ._response_mode import BatchProcessor, SqsFifoPartialProcessor
from ._retry import Backoff
from ._sources import EventType
from ._types import (
    FailureResponse,
    KafkaItemIdentifier,
    LambdaContext,
    PartialItemFailure,
    PartialItemFailureResponse,
    RecordHandler,
    SuccessResponse,
)
from ._version import __version__

__all__ = [
    "DEFAULT_RESPONSE",
    "AioSQSActions",
    "AiobatchError",
    "AsyncBasePartialProcessor",
    "AsyncBatchProcessor",
    "Backoff",
    "BaseBatchProcessingError",
    "BasePartialBatchProcessor",
    "BasePartialProcessor",
    "Batch",
    "BatchProcessingError",
    "BatchProcessor",
    "BatchState",
    "BatchSummary",
    "BatchTypeModels",
    "DeadlineExceededError",
    "DynamoDBRecord",
    "DynamoDBRecordEventName",
    "DynamoDBStreamRecord",
    "EMFMetrics",
    "EventType",
    "ExceptionInfo",
    "FailedRecord",
    "FailureResponse",
    "InvalidEventError",
    "KafkaEventRecord",
    "KafkaItemIdentifier",
    "KinesisStreamRecord",
    "KinesisStreamRecordPayload",
    "LambdaContext",
    "OpenTelemetryMetrics",
    "PartialItemFailure",
    "PartialItemFailureResponse",
    "PartialItemFailures",
    "PartialSQSProcessor",
    "RecordHandler",
    "RecordSkippedError",
    "RecordTimeoutError",
    "RecordValidationError",
    "S3Event",
    "S3EventRecord",
    "SNSMessage",
    "SQSActions",
    "SQSBatchProcessingError",
    "SQSFifoCircuitBreakerError",
    "SQSFifoMessageGroupCircuitBreakerError",
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
    "UnexpectedBatchTypeError",
    "__version__",
    "aprocess_partial_response",
    "async_batch_processor",
    "async_process_partial_response",
    "batch_processor",
    "process_partial_response",
    "sqs_batch_processor",
]

_LAZY = {"AioSQSActions": "._sqs", "SQSActions": "._sqs"}
"""Names of the SQS layer, imported on first use: only delete mode needs it."""


def _show_as_ours(obj: object) -> None:
    """Show a public class as aiobatch.X (in reprs, tracebacks and docs), not where it
    lives."""
    if getattr(obj, "__module__", "").startswith("aiobatch."):
        with contextlib.suppress(AttributeError, TypeError):  # aliases of builtins
            obj.__module__ = "aiobatch"


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aiobatch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    _show_as_ours(value)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names with the lazy ones, before their first use too (for ``dir()``
    and completion)."""
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:
    from ._sqs import AioSQSActions, SQSActions

for _name in __all__:
    if _name not in _LAZY:
        _show_as_ours(globals()[_name])
del _name

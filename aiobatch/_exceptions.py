"""Errors raised by aiobatch.

The hierarchy::

    AiobatchError
    ├── BatchProcessingError               some records failed; carries their exceptions
    │   └── SQSBatchProcessingError        ... in delete mode; also carries undeleted successes
    ├── InvalidEventError (ValueError)     the event or a record is malformed
    ├── SyncInAsyncError (RuntimeError)    the sync facade was called inside a running loop
    │
    │   the exception of one record, never raised out of a run:
    ├── RecordValidationError (ValueError) the record does not fit the processor's model
    ├── RecordSkippedError                 not started because an earlier record failed
    └── DeadlineExceededError (TimeoutError)  the batch deadline passed before it finished
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

ExceptionInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class AiobatchError(Exception):
    """Root of every error aiobatch raises."""


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """One record whose handler failed: its position in the batch, the record and the error."""

    index: int
    record: Any
    exception: BaseException


@dataclass(frozen=True, slots=True)
class UndeletedMessage:
    """A successfully processed SQS message that could not be deleted from its queue.

    It will be redelivered when its visibility timeout expires. ``sender_fault`` is
    ``True`` when SQS blamed the request (a stale receipt handle, say), ``False`` when it
    kept failing on the server's side after retries, and ``None`` when the whole call
    failed (``code`` then names the exception).
    """

    message_id: str
    queue_url: str
    code: str
    message: str
    sender_fault: bool | None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class BatchProcessingError(AiobatchError):
    """Some (or all) records of a batch failed.

    ``failed_records`` lists each failure in input order, with the exception (and so its
    traceback). ``child_exceptions`` gives the same as ``(type, value, traceback)``
    tuples, as Powertools does.
    """

    def __init__(self, msg: str, failed_records: Sequence[FailedRecord] = ()) -> None:
        self.msg = msg
        self.failed_records: list[FailedRecord] = list(failed_records)
        super().__init__(self._format())

    @property
    def child_exceptions(self) -> list[ExceptionInfo]:
        return [
            (type(f.exception), f.exception, f.exception.__traceback__) for f in self.failed_records
        ]

    def _format(self) -> str:
        lines = [self.msg]
        lines += [f"  record {f.index}: {_describe(f.exception)}" for f in self.failed_records]
        return "\n".join(lines)


class SQSBatchProcessingError(BatchProcessingError):
    """Delete mode: records failed, and the successful messages were deleted.

    ``undeleted_messages`` lists successes that could not be deleted; they will be
    redelivered along with the failures.
    """

    def __init__(
        self,
        msg: str,
        failed_records: Sequence[FailedRecord] = (),
        undeleted_messages: Sequence[UndeletedMessage] = (),
    ) -> None:
        self.undeleted_messages: list[UndeletedMessage] = list(undeleted_messages)
        super().__init__(msg, failed_records)

    def _format(self) -> str:
        lines = [super()._format()]
        lines += [
            f"  not deleted: message {u.message_id} of {u.queue_url}: {u.code}: {u.message}"
            for u in self.undeleted_messages
        ]
        return "\n".join(lines)


class InvalidEventError(AiobatchError, ValueError):
    """The event, or one of its records, does not have the shape the processor needs.

    ``index`` is the position of the offending record (``None`` for the event itself) and
    ``field`` the key that is missing or wrong.
    """

    def __init__(self, msg: str, *, index: int | None = None, field: str | None = None) -> None:
        self.index = index
        self.field = field
        super().__init__(msg)


class SyncInAsyncError(AiobatchError, RuntimeError):
    """A sync facade was called from inside a running event loop; use the async API."""


class RecordSkippedError(AiobatchError):
    """A record was not started because an earlier record failed (FIFO, ordered modes)."""


class DeadlineExceededError(AiobatchError, TimeoutError):
    """The batch deadline, taken from the Lambda context, passed before this record
    finished or started; it is reported failed so that it is retried."""


class RecordValidationError(AiobatchError, ValueError):
    """A record does not fit the processor's ``model``; it fails alone.

    The message and ``errors`` name the fields and what is wrong with them, never
    their values: a record can hold personal data, and this text is logged.
    """

    def __init__(self, msg: str, errors: Sequence[dict[str, Any]] = ()) -> None:
        self.errors = list(errors)
        super().__init__(msg)

    @classmethod
    def from_pydantic(cls, exc: Any) -> RecordValidationError:
        errors = exc.errors(include_input=False, include_url=False, include_context=False)
        details = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ())) or '(record)'}: "
            f"{error.get('msg', '')}"
            for error in errors
        )
        return cls(f"{len(errors)} validation error(s) for {exc.title}: {details}", errors)

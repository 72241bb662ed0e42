"""Errors raised by aiobatch.

The hierarchy:

```text
AiobatchError
├── BatchProcessingError               some records failed; carries their exceptions
│   └── SQSBatchProcessingError        ... in delete mode; also carries undeleted successes
├── InvalidEventError (ValueError)     the event or a record is malformed
│   └── UnexpectedBatchTypeError       no record list where the processor looks
│                                      (also a BatchProcessingError, as in Powertools)
├── SyncInAsyncError (RuntimeError)    the sync facade was called inside a running loop
│
│   the exception of one record, never raised out of a run:
├── RecordValidationError (ValueError) the record does not fit the processor's model
├── RecordSkippedError                 not started because an earlier record failed
│   ├── SQSFifoCircuitBreakerError     ... in a FIFO batch (Powertools' name)
│   └── SQSFifoMessageGroupCircuitBreakerError  ... of its message group
├── RecordTimeoutError (TimeoutError)  its handler ran longer than record_timeout
└── DeadlineExceededError (TimeoutError)  the batch deadline passed before it finished
```
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, NamedTuple

ExceptionInfo = tuple[type[BaseException], BaseException, TracebackType | None]
"""An exception as ``sys.exc_info()`` gives it: ``(type, value, traceback)``."""


class AiobatchError(Exception):
    """Root of every error aiobatch raises."""


class FailedRecord:
    """One record whose handler failed: its position in the batch, the record and the error.

    Immutable. (Not a NamedTuple, whose ``index`` would hide ``tuple.index``; not a
    dataclass, which costs milliseconds at import.)
    """

    __slots__ = ("exception", "index", "record")

    index: int
    record: Any
    exception: BaseException

    def __init__(self, index: int, record: Any, exception: BaseException) -> None:
        set_field = object.__setattr__
        set_field(self, "index", index)
        set_field(self, "record", record)
        set_field(self, "exception", exception)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"FailedRecord is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"FailedRecord is immutable: cannot delete {name!r}")

    def _fields(self) -> tuple[int, Any, BaseException]:
        return (self.index, self.record, self.exception)

    def __eq__(self, other: object) -> bool:
        if type(other) is not FailedRecord:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> tuple[type[FailedRecord], tuple[int, Any, BaseException]]:
        # copy, deepcopy and pickle make a new one rather than set its fields.
        return (FailedRecord, self._fields())

    def __repr__(self) -> str:
        return (
            f"FailedRecord(index={self.index!r}, record={self.record!r}, "
            f"exception={self.exception!r})"
        )


class UndeletedMessage(NamedTuple):
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


def describe(exc: BaseException, *, full: bool = False) -> str:
    """An exception in one line that cannot carry a record's data, unless ``full``.

    A handler's exception text can hold anything, the record's body included, and what
    is logged or raised ends up in CloudWatch: by default only the type is shown. The
    exceptions aiobatch makes say what happened in words of its own, and validation
    errors (aiobatch's or pydantic's, raised by ``model=`` or by a handler) show the
    kinds of error: not the input, nor the locations, which can hold keys taken from the
    record. ``full=True`` gives ``str(exc)`` too (for a ``RecordValidationError``, the
    locations).
    """
    name = type(exc).__name__
    if full:
        if isinstance(exc, RecordValidationError):
            return f"{name}: {_validation_summary(exc.title, exc.errors, locations=True)}"
        text = text_of(exc)
        return f"{name}: {text}" if text else name
    if isinstance(exc, _OWN_WORDS):
        return f"{name}: {text_of(exc)}"
    errors = getattr(exc, "errors", None)
    if callable(errors) and hasattr(exc, "title"):  # a pydantic ValidationError
        try:
            return f"{name}: {_validation_summary(exc.title, errors(include_input=False))}"
        except Exception:  # not pydantic after all
            return name
    return name


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (``response["Error"]["Code"]``),
    or ``None`` for any other exception."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def text_of(exc: BaseException) -> str:
    """``str(exc)``, or a placeholder when the exception cannot be printed: one record's
    odd exception must never break the batch."""
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__} whose str() raised>"


def _validation_summary(title: str, errors: Sequence[Any], *, locations: bool = False) -> str:
    """``N validation error(s) for Title: type, ...``: the kinds of error; never the input,
    nor a message a custom validator may have filled with it. ``locations`` adds where
    (``body.age: int_parsing``); a location can hold a key taken from the record."""
    if locations:
        details = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ())) or '(record)'}: "
            f"{error.get('type', 'error')}"
            for error in errors
        )
    else:
        details = ", ".join(str(error.get("type", "error")) for error in errors)
    return f"{len(errors)} validation error(s) for {title}: {details}"


class BatchProcessingError(AiobatchError):
    """Some (or all) records of a batch failed.

    ``failed_records`` lists each failure in input order, with the exception (and so its
    traceback). ``child_exceptions`` gives the same as ``(type, value, traceback)``
    tuples, as Powertools does.
    """

    def __init__(
        self, msg: str, failed_records: Sequence[FailedRecord] = (), *, full_text: bool = False
    ) -> None:
        self.msg = msg
        self.failed_records: list[FailedRecord] = list(failed_records)
        self._full_text = full_text  # show the exceptions' texts (log_exception_text=True)
        super().__init__(self._format())

    @property
    def child_exceptions(self) -> list[ExceptionInfo]:
        return [
            (type(f.exception), f.exception, f.exception.__traceback__) for f in self.failed_records
        ]

    def _format(self) -> str:
        lines = [self.msg]
        lines += [
            f"  record {f.index}: {describe(f.exception, full=self._full_text)}"
            for f in self.failed_records
        ]
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
        *,
        full_text: bool = False,
    ) -> None:
        self.undeleted_messages: list[UndeletedMessage] = list(undeleted_messages)
        super().__init__(msg, failed_records, full_text=full_text)

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


class UnexpectedBatchTypeError(InvalidEventError, BatchProcessingError):
    """The event holds no record list where the processor looks for one (not a dict, no
    ``Records``, ``Records`` not a list): not a batch of the processor's type.

    Powertools' name and place in its hierarchy (a :class:`BatchProcessingError`); also
    an :class:`InvalidEventError`, like every malformed event.
    """

    def __init__(self, msg: str, *, field: str | None = None) -> None:
        super().__init__(msg, field=field)  # InvalidEventError, then BatchProcessingError


class SyncInAsyncError(AiobatchError, RuntimeError):
    """A sync facade was called from inside a running event loop; use the async API."""


class RecordSkippedError(AiobatchError):
    """A record was not started because an earlier record failed (FIFO, ordered modes)."""


class RecordTimeoutError(AiobatchError, TimeoutError):
    """A record's handler ran longer than ``record_timeout``; it fails alone."""


class SQSFifoCircuitBreakerError(RecordSkippedError):
    """A FIFO record not processed (or not counted) because an earlier record of the
    batch failed. Powertools' name."""


class SQSFifoMessageGroupCircuitBreakerError(RecordSkippedError):
    """A FIFO record not processed because an earlier record of its message group failed
    (``skip_group_on_error=True``). Powertools' name."""


class DeadlineExceededError(AiobatchError, TimeoutError):
    """The batch deadline, taken from the Lambda context, passed before this record
    finished or started; it is reported failed so that it is retried."""


class RecordValidationError(AiobatchError, ValueError):
    """A record does not fit the processor's ``model``; it fails alone.

    The message names the kinds of error; ``errors`` (pydantic's, without the input)
    also says where. Neither holds the record's values: a record can hold personal data,
    and the message is logged.
    """

    def __init__(self, msg: str, errors: Sequence[dict[str, Any]] = (), title: str = "") -> None:
        self.errors = list(errors)
        self.title = title
        super().__init__(msg)

    @classmethod
    def from_pydantic(cls, exc: Any) -> RecordValidationError:
        errors = exc.errors(include_input=False, include_url=False, include_context=False)
        return cls(_validation_summary(exc.title, errors), errors, exc.title)


BaseBatchProcessingError = BatchProcessingError
"""Powertools' name for the base of its batch errors; here the same class."""

_OWN_WORDS = (
    RecordValidationError,
    RecordSkippedError,
    RecordTimeoutError,
    DeadlineExceededError,
    InvalidEventError,
)
"""aiobatch's exceptions of one record, whose texts it writes itself, without data."""

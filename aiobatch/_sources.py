"""Event sources: one descriptor each, and the validation every mode runs on them.

Everything aiobatch knows of a source is in its :class:`EventSource`: where the records
are in the event, what ``batchItemFailures`` names a record by, the key that orders
it, the view a handler gets, and where Lambda restarts after a failure. Validation,
logging, the response and the ordered modes read the descriptor and nothing else, so
a failed record is named by the same identifier in the log line and in the response.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Hashable, Sequence
from typing import Any, NamedTuple

from ._arn import ARN_SHAPE, parse_sqs_arn
from ._exceptions import InvalidEventError, UnexpectedBatchTypeError
from ._records import DynamoDBStreamRecord, KinesisStreamRecord, SQSRecord


class EventType(enum.Enum):
    """The event source of a batch, as in Powertools."""

    SQS = "SQS"
    KinesisDataStreams = "KinesisDataStreams"
    DynamoDBStreams = "DynamoDBStreams"


def _dig(record: Any, path: Sequence[str]) -> Any:
    value = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _string_key(path: tuple[str, ...]) -> Callable[[dict[str, Any]], Hashable | None]:
    def key(record: dict[str, Any]) -> Hashable | None:
        value = _dig(record, path)
        return value if isinstance(value, str) else None

    return key


def _json_key(path: tuple[str, ...]) -> Callable[[dict[str, Any]], Hashable | None]:
    def key(record: dict[str, Any]) -> Hashable | None:
        value = _dig(record, path)
        # DynamoDB-JSON is str/bool/list/dict all the way down: a canonical text is
        # hashable, and equal keys give equal texts whatever the types inside.
        return json.dumps(value, sort_keys=True, default=repr) if value is not None else None

    return key


class EventSource(NamedTuple):
    """What aiobatch knows of one event source."""

    event_type: EventType
    event_source: str
    """The value of each record's ``eventSource``."""
    id_path: tuple[str, ...]
    """Where the record's item identifier (``batchItemFailures``) is."""
    order_key: Callable[[dict[str, Any]], Hashable | None]
    """The key whose records must run in order (FIFO group, partition key, item keys)."""
    wrap: Callable[[dict[str, Any]], Any]
    """The record view a handler gets."""
    restarts_from_lowest_failure: bool
    """Whether Lambda restarts the batch from its lowest failed record (streams)."""
    records_key: str = "Records"

    @property
    def id_field(self) -> str:
        return ".".join(self.id_path)

    def item_id(self, record: Any) -> Any:
        """The identifier ``batchItemFailures`` and the logs name ``record`` by."""
        return _dig(record, self.id_path)

    def records_of(self, event: Any) -> list[Any]:
        """The list of records of a Lambda event, checked to be a list."""
        return records_of(event, self.records_key)


def _sqs_group(record: dict[str, Any]) -> Hashable | None:
    group = _dig(record, ("attributes", "MessageGroupId"))
    return group if isinstance(group, str) else None


SQS = EventSource(EventType.SQS, "aws:sqs", ("messageId",), _sqs_group, SQSRecord, False)
KINESIS = EventSource(
    EventType.KinesisDataStreams,
    "aws:kinesis",
    ("kinesis", "sequenceNumber"),
    _string_key(("kinesis", "partitionKey")),
    KinesisStreamRecord,
    True,
)
DYNAMODB = EventSource(
    EventType.DynamoDBStreams,
    "aws:dynamodb",
    ("dynamodb", "SequenceNumber"),
    _json_key(("dynamodb", "Keys")),
    DynamoDBStreamRecord,
    True,
)

SOURCES = {source.event_type: source for source in (SQS, KINESIS, DYNAMODB)}
_BY_NAME = {source.event_source: source for source in SOURCES.values()}


def source_of_record(record: Any) -> EventSource | None:
    """The source a record says it comes from, if aiobatch knows it."""
    name = record.get("eventSource") if hasattr(record, "get") else None
    return _BY_NAME.get(name) if isinstance(name, str) else None


def log_id(record: Any) -> str:
    """How a log line names a record of unknown source: its item identifier, never its
    content; ``?`` when it has none."""
    source = source_of_record(record)
    value = source.item_id(record) if source is not None else None
    return value if isinstance(value, str) and value else "?"


UNEXPECTED = "Unexpected batch event type. Possible values are: " + ", ".join(
    event_type.value for event_type in EventType
)


def records_of(event: Any, key: str = "Records") -> list[Any]:
    """The list of records under ``key`` of a Lambda event, checked to be a list."""
    if not isinstance(event, dict):
        problem = f"the event must be a dict with a '{key}' list, got {type(event).__name__}"
    elif key not in event:
        problem = f"the event has no '{key}' key"
    elif not isinstance(event[key], list):
        problem = f"'{key}' must be a list, got {type(event[key]).__name__}"
    else:
        records: list[Any] = event[key]
        return records
    raise UnexpectedBatchTypeError(f"{UNEXPECTED}: {problem}", field=key)


def check_list(records: Any, key: str = "Records") -> list[Any]:
    if not isinstance(records, list):
        raise InvalidEventError(f"'{key}' must be a list, got {type(records).__name__}", field=key)
    return records


class Field(NamedTuple):
    """A top-level string field a mode needs on every record, beyond its identifier."""

    name: str
    valid: Callable[[str], bool] = bool
    shape: str = "valid"  # what a valid value is, for the error message


RECEIPT_HANDLE = Field("receiptHandle")
QUEUE_ARN = Field(
    "eventSourceARN", lambda arn: parse_sqs_arn(arn) is not None, f"an SQS queue ARN ({ARN_SHAPE})"
)


def validate(records: Any, source: EventSource, fields: Sequence[Field] = ()) -> list[Any]:
    """Check that every record is a dict of ``source`` with a non-empty identifier (and
    ``fields``); returns the list. Raises :class:`InvalidEventError` naming the first
    record that is not, before any handler runs.
    """
    checked = check_list(records, source.records_key)
    expected, path = source.event_source, source.id_path
    head, rest = path[0], path[1:]
    for index, record in enumerate(checked):
        # The common case in a few cheap tests; any doubt goes to the detailed check.
        try:
            identifier = record[head]
            for key in rest:
                identifier = identifier[key]
            ok = (
                type(record) is dict
                and type(identifier) is str
                and identifier != ""
                and record["eventSource"] == expected
            )
            for field in fields:
                value = record[field.name]
                if type(value) is not str or not field.valid(value):
                    ok = False
        except (KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            _explain(record, index, source, fields)
    return checked


def _bad(index: int, field: str, problem: str) -> InvalidEventError:
    return InvalidEventError(f"record {index}: {problem}", index=index, field=field)


def _explain(record: Any, index: int, source: EventSource, fields: Sequence[Field]) -> None:
    """Raise InvalidEventError for what is wrong with ``record``; return when the record
    is fine after all (a dict or str subclass, which the quick test does not take)."""
    if not isinstance(record, dict):
        raise _bad(index, source.records_key, f"must be a dict, got {type(record).__name__}")
    found = record.get("eventSource")
    if found != source.event_source:
        raise _bad(
            index,
            "eventSource",
            f"'eventSource' is {found!r}, this processor takes {source.event_source!r}",
        )
    identifier = source.item_id(record)
    if not isinstance(identifier, str) or not identifier:
        problem = "is missing" if identifier is None else "must be a non-empty string"
        raise _bad(
            index,
            source.id_field,
            f"'{source.id_field}' {problem}; Lambda would fail the whole batch on an empty "
            "item identifier",
        )
    for field in fields:
        value = record.get(field.name)
        if not isinstance(value, str) or not value:
            problem = "is missing" if value is None else "must be a non-empty string"
            raise _bad(index, field.name, f"'{field.name}' {problem}")
        if not field.valid(value):
            raise _bad(index, field.name, f"'{field.name}' {value!r} is not {field.shape}")

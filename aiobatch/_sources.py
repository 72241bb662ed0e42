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
from operator import itemgetter
from typing import Any, NamedTuple

from ._arn import ARN_SHAPE, parse_sqs_arn
from ._exceptions import InvalidEventError, UnexpectedBatchTypeError
from ._records import DynamoDBStreamRecord, KafkaEventRecord, KinesisStreamRecord, SQSRecord


class EventType(enum.Enum):
    """The event source of a batch, as in Powertools."""

    SQS = "SQS"
    KinesisDataStreams = "KinesisDataStreams"
    DynamoDBStreams = "DynamoDBStreams"
    Kafka = "Kafka"


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
    event_source: str | None
    """The value of each record's ``eventSource`` (``None``: records do not say)."""
    id_path: tuple[str, ...]
    """Where the record's item identifier (``batchItemFailures``) is."""
    order_key: Callable[[dict[str, Any]], Hashable | None]
    """The key whose records must run in order (FIFO group, partition key, item keys)."""
    wrap: Callable[[dict[str, Any]], Any]
    """The record view a handler gets."""
    restarts_from_lowest_failure: bool
    """Whether Lambda restarts the batch from its lowest failed record (streams)."""
    records_key: str = "Records"
    composite: Composite | None = None
    """For an identifier made of several fields (Kafka): how to check, build and name it."""

    @property
    def event_name(self) -> str:
        """The event type's name, as in ``BatchSummary.event_type``."""
        return _EVENT_NAMES[self.event_type]

    @property
    def id_field(self) -> str:
        return ".".join(self.id_path)

    def item_id(self, record: Any) -> Any:
        """The identifier ``batchItemFailures`` names ``record`` by."""
        if self.composite is not None:
            return self.composite.identify(record)
        return _dig(record, self.id_path)

    def log_name(self, record: Any) -> str:
        """How the logs name ``record``: what identifies it to Lambda, never its content."""
        if self.composite is not None:
            return self.composite.name(record)
        try:  # the common case, without a call per key
            value = record
            for key in self.id_path:
                value = value[key]
        except (KeyError, TypeError, IndexError):
            value = _dig(record, self.id_path)  # a mapping that is no dict, say
        return value if isinstance(value, str) and value else "?"

    def records_of(self, event: Any) -> list[Any]:
        """The list of records of a Lambda event, checked to be a list."""
        if self.composite is not None:
            return self.composite.records_of(event)
        if type(event) is dict:  # the common case, without a call more
            records = event.get(self.records_key)
            if type(records) is list:
                return records
        return records_of(event, self.records_key)


class Composite(NamedTuple):
    """A source whose records are grouped in the event and named by several fields."""

    records_of: Callable[[Any], list[Any]]
    check: Callable[[Any, int], None]  # raises InvalidEventError for a malformed record
    identify: Callable[[Any], Any]
    name: Callable[[Any], str]


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

KAFKA_STRUCTURE = (
    "Invalid Kafka event structure. Expected 'records' to be a non-empty dict with "
    "topic-partition keys"
)


def _kafka_records(event: Any) -> list[Any]:
    """The records of a Kafka event, flattened: each topic-partition's list, in order."""
    if not isinstance(event, dict):
        problem = f"the event must be a dict, got {type(event).__name__}"
    elif not isinstance(event.get("records"), dict) or not event["records"]:
        found = event.get("records")
        problem = "the event has no 'records'" if found is None else "got " + type(found).__name__
        if isinstance(found, dict):
            problem = "got an empty dict"
    else:
        flat: list[Any] = []
        for key, records in event["records"].items():
            if not isinstance(records, list):
                raise InvalidEventError(
                    f"records[{key!r}] must be a list of records, got {type(records).__name__}",
                    field=f"records.{key}",
                )
            flat.extend(records)
        return flat
    raise UnexpectedBatchTypeError(f"{KAFKA_STRUCTURE}: {problem}", field="records")


def _kafka_check(record: Any, index: int) -> None:
    if not isinstance(record, dict):
        raise _bad(index, "records", f"must be a dict, got {type(record).__name__}")
    topic = record.get("topic")
    if not isinstance(topic, str) or not topic:
        problem = "is missing" if topic is None else "must be a non-empty string"
        raise _bad(index, "topic", f"'topic' {problem}")
    for field in ("partition", "offset"):
        value = record.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problem = "is missing" if value is None else "must be a whole number, at least 0"
            raise _bad(
                index,
                field,
                f"'{field}' {problem}; Lambda names a failed Kafka record by topic, partition "
                "and offset",
            )


def _kafka_identify(record: Any) -> dict[str, Any]:
    return {"partition": f"{record['topic']}-{record['partition']}", "offset": record["offset"]}


def _kafka_name(record: Any) -> str:
    try:
        return f"{record['topic']}-{record['partition']}@{record['offset']}"
    except (KeyError, TypeError):
        return "?"


def _kafka_partition(record: dict[str, Any]) -> Hashable | None:
    topic, partition = record.get("topic"), record.get("partition")
    return f"{topic}-{partition}" if isinstance(topic, str) else None


KAFKA = EventSource(
    EventType.Kafka,
    None,
    ("topic", "partition", "offset"),
    _kafka_partition,
    KafkaEventRecord,
    True,
    "records",
    Composite(_kafka_records, _kafka_check, _kafka_identify, _kafka_name),
)

SOURCES = {source.event_type: source for source in (SQS, KINESIS, DYNAMODB, KAFKA)}
_EVENT_NAMES = {event_type: event_type.value for event_type in EventType}
_BY_NAME = {source.event_source: source for source in SOURCES.values() if source.event_source}


def source_of_record(record: Any) -> EventSource | None:
    """The source a record says it comes from, if aiobatch knows it."""
    name = record.get("eventSource") if hasattr(record, "get") else None
    return _BY_NAME.get(name) if isinstance(name, str) else None


def log_id(record: Any) -> str:
    """How a log line names a record of unknown source: its item identifier, never its
    content; ``?`` when it has none."""
    source = source_of_record(record)
    return source.log_name(record) if source is not None else "?"


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
    valid: Callable[[str], bool] | None = None
    """A check beyond being a non-empty string, for a value that every record of a batch
    shares (the queue ARN): run once per distinct value."""
    shape: str = "valid"  # what a valid value is, for the error message


RECEIPT_HANDLE = Field("receiptHandle")
QUEUE_ARN = Field(
    "eventSourceARN",
    lambda arn: parse_sqs_arn(arn) is not None,
    f"an SQS queue ARN ({ARN_SHAPE})",
)


def validate(records: Any, source: EventSource, fields: Sequence[Field] = ()) -> list[Any]:
    """Check that every record is a dict of ``source`` with a non-empty identifier (and
    ``fields``); returns the list. Raises :class:`InvalidEventError` naming the first
    record that is not, before any handler runs.
    """
    checked = records if type(records) is list else check_list(records, source.records_key)
    if source.composite is not None:
        check = source.composite.check
        for index, record in enumerate(checked):
            check(record, index)
        return checked
    # The common case in a few cheap tests, with no call per record (0.1 us a record,
    # half what one more call costs); any doubt goes to the detailed check of each.
    expected, path = source.event_source, source.id_path
    try:
        if not fields and len(path) <= 2:  # every source's identifier (Kafka's aside)
            outer, inner = path[0], path[1] if len(path) == 2 else None
            for record in checked:
                identifier = record[outer]
                if inner is not None:
                    if type(identifier) is not dict:  # as item_id reads it: dicts only
                        break
                    identifier = identifier[inner]
                if (
                    type(record) is not dict
                    or type(identifier) is not str
                    or not identifier
                    or record["eventSource"] != expected
                ):
                    break
            else:
                return checked
        elif _quick_check(checked, source, fields):
            return checked
    except (KeyError, TypeError, IndexError):
        pass
    for index, record in enumerate(checked):  # raises for the first bad record
        _explain(record, index, source, fields)
    return checked


def _quick_check(checked: list[Any], source: EventSource, fields: Sequence[Field]) -> bool:
    """The cheap tests of every record, for any identifier path and fields; False (or
    KeyError, TypeError, IndexError) at the first record they doubt."""
    get_id = _id_getter(source.id_path)
    expected = source.event_source
    # Fields that must be non-empty strings; and fields whose value every record of a
    # batch shares (the queue ARN), checked once per distinct value.
    required = [field.name for field in fields if field.valid is None]
    shared = [(field.name, field.valid, set[str]()) for field in fields if field.valid]
    for record in checked:
        identifier = get_id(record)
        if (
            type(record) is not dict
            or type(identifier) is not str
            or not identifier
            or record["eventSource"] != expected
        ):
            return False
        for name in required:
            value = record[name]
            if type(value) is not str or not value:
                return False
        for name, valid, passed in shared:
            value = record[name]
            if value not in passed:
                if type(value) is not str or not valid(value):
                    return False
                passed.add(value)
    return True


_ID_GETTERS: dict[tuple[str, ...], Callable[[Any], Any]] = {}


def _id_getter(path: tuple[str, ...]) -> Callable[[Any], Any]:
    """What reads the identifier at ``path`` of a record (KeyError, TypeError when
    missing), made once per path."""
    getter = _ID_GETTERS.get(path)
    if getter is None:
        getter = _ID_GETTERS[path] = itemgetter(*path) if len(path) == 1 else _path_getter(path)
    return getter


def _path_getter(path: Sequence[str]) -> Callable[[Any], Any]:
    head, rest = path[0], path[1:]

    def get(record: Any) -> Any:
        value = record[head]
        for key in rest:
            value = value[key]
        return value

    return get


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
        if field.valid is not None and not field.valid(value):
            raise _bad(index, field.name, f"'{field.name}' {value!r} is not {field.shape}")

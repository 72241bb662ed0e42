"""Read-only record wrappers for SQS, Kinesis and DynamoDB Streams events.

Names and properties follow Powertools for AWS Lambda's data classes, so that a record
handler written for Powertools works unchanged. A wrapper holds the record's dict
without copying or validating it; properties read from it on access.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Never, Self, TypeVar, overload

# The DNS suffix of each AWS partition, from botocore's partitions.json. SQS queue URLs
# use the same host as the regional endpoint: sqs.<region>.<suffix>.
_DNS_SUFFIXES = {
    "aws": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
    "aws-us-gov": "amazonaws.com",
    "aws-eusc": "amazonaws.eu",
    "aws-iso": "c2s.ic.gov",
    "aws-iso-b": "sc2s.sgov.gov",
    "aws-iso-e": "cloud.adc-e.uk",
    "aws-iso-f": "csp.hci.ic.gov",
}


class _DictWrapper(Mapping[str, Any]):
    """A read-only mapping over one record's dict, with typed properties.

    Equal only to a wrapper of the same type over equal data. ``repr`` shows identifiers,
    never content, since bodies and images can hold personal data.
    """

    __slots__ = ("_data",)

    # (shown name, key in the dict) pairs for repr; empty means "show the keys".
    _repr_keys: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _DictWrapper) and type(other) is type(self):
            return self._data == other._data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        name = type(self).__name__
        if not self._repr_keys:
            return f"{name}(keys={list(self._data)!r})"
        shown = ", ".join(f"{label}={self._data.get(key)!r}" for label, key in self._repr_keys)
        return f"{name}({shown})"

    @property
    def raw_event(self) -> dict[str, Any]:
        """The wrapped dict itself (not a copy)."""
        return self._data


_T = TypeVar("_T")


class _Key(property, Generic[_T]):
    """A read-only property that returns one key of a wrapper's dict.

    ``_Key(key, doc)`` reads ``_data[key]`` (``KeyError`` when missing);
    ``_Key(key, doc, optional=True)`` reads ``_data.get(key)`` and must be declared
    ``_Key[T | None]``. ``doc`` becomes its ``__doc__``. It is a class attribute, so it
    does not clash with the wrappers' ``__slots__``.

    It subclasses ``property`` rather than defining ``__get__`` in Python: access then
    costs what a hand-written property costs (a Python ``__get__`` costs about a third
    more), and ``help()``, IDEs, ``inspect`` and a setter's ``AttributeError`` treat it
    as the property it replaces. The ``__get__`` and ``__set__`` below are for type
    checkers only.
    """

    @overload
    def __init__(self: _Key[_T | None], key: str, doc: str, *, optional: Literal[True]) -> None: ...
    @overload
    def __init__(self, key: str, doc: str, *, optional: Literal[False] = False) -> None: ...
    def __init__(self, key: str, doc: str, *, optional: bool = False) -> None:
        if optional:

            def get(wrapper: _DictWrapper) -> Any:
                return wrapper._data.get(key)
        else:

            def get(wrapper: _DictWrapper) -> Any:
                return wrapper._data[key]

        super().__init__(get)
        # property's own doc= argument is not kept on a subclass in Python 3.11.
        self.__doc__ = doc

    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: type[Any], /) -> Self: ...
        @overload
        def __get__(self, instance: _DictWrapper, owner: type[Any] | None = None, /) -> _T: ...
        def __get__(self, instance: Any, owner: type[Any] | None = None, /) -> Any: ...
        def __set__(self, instance: _DictWrapper, value: Never, /) -> None: ...


def _queue_url(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs" or not all(parts[3:]):
        raise ValueError(
            f"{arn!r} is not an SQS queue ARN (arn:<partition>:sqs:<region>:<account>:<name>)"
        )
    _, partition, _, region, account, name = parts
    try:
        suffix = _DNS_SUFFIXES[partition]
    except KeyError:
        raise ValueError(
            f"unknown AWS partition {partition!r} in {arn!r}: cannot build its queue URL"
        ) from None
    return f"https://sqs.{region}.{suffix}/{account}/{name}"


class SQSRecordAttributes(_DictWrapper):
    """The system attributes of an SQS message (``attributes``)."""

    __slots__ = ()

    aws_trace_header: _Key[str | None] = _Key(
        "AWSTraceHeader", "The X-Ray trace header, or ``None``.", optional=True
    )
    approximate_receive_count: _Key[str] = _Key(
        "ApproximateReceiveCount", "How many times the message has been received and not deleted."
    )
    sent_timestamp: _Key[str] = _Key(
        "SentTimestamp", "When the message was sent, in epoch milliseconds."
    )
    sender_id: _Key[str] = _Key("SenderId", "The IAM user or role ID that sent the message.")
    approximate_first_receive_timestamp: _Key[str] = _Key(
        "ApproximateFirstReceiveTimestamp",
        "When the message was first received, in epoch milliseconds.",
    )
    sequence_number: _Key[str | None] = _Key(
        "SequenceNumber",
        "The FIFO sequence number, or ``None`` on a standard queue.",
        optional=True,
    )
    message_group_id: _Key[str | None] = _Key(
        "MessageGroupId", "The FIFO message group, or ``None`` on a standard queue.", optional=True
    )
    message_deduplication_id: _Key[str | None] = _Key(
        "MessageDeduplicationId", "The FIFO deduplication token, or ``None``.", optional=True
    )
    dead_letter_queue_source_arn: _Key[str | None] = _Key(
        "DeadLetterQueueSourceArn",
        "The queue that moved the message to this dead-letter queue, or ``None``.",
        optional=True,
    )


class SQSMessageAttribute(_DictWrapper):
    """One user-defined message attribute."""

    __slots__ = ()
    _repr_keys = (("data_type", "dataType"),)

    string_value: _Key[str | None] = _Key(
        "stringValue",
        "The value of a ``String`` or ``Number`` attribute, or ``None``.",
        optional=True,
    )
    binary_value: _Key[str | None] = _Key(
        "binaryValue",
        "The base64-encoded value of a ``Binary`` attribute, or ``None``.",
        optional=True,
    )
    data_type: _Key[str] = _Key(
        "dataType", "``String``, ``Number`` or ``Binary``, with any custom suffix."
    )


class SQSMessageAttributes(_DictWrapper):
    """The user-defined message attributes, by name.

    As in Powertools, ``attributes[name]`` is ``None`` for a name that is not there,
    rather than raising ``KeyError``; ``in`` and ``get`` behave as on a dict.
    """

    __slots__ = ()

    def __getitem__(self, key: str) -> SQSMessageAttribute | None:
        item = self._data.get(key)
        return None if item is None else SQSMessageAttribute(item)

    def get(self, key: str, default: Any = None) -> Any:
        """The attribute named ``key``, or ``default`` when there is none."""
        item = self._data.get(key)
        return default if item is None else SQSMessageAttribute(item)


class SQSRecord(_DictWrapper):
    """An SQS message as Lambda delivers it.

    In a record handler::

        async def handle(record: SQSRecord) -> None:
            order = record.json_body  # the body, parsed once
            group = record.attributes.message_group_id  # None on a standard queue
    """

    __slots__ = ("_json_body",)
    _repr_keys = (("message_id", "messageId"),)
    _json_body: Any

    message_id: _Key[str] = _Key("messageId", "The message's unique identifier.")
    receipt_handle: _Key[str] = _Key(
        "receiptHandle", "The handle of this receipt of the message, needed to delete it."
    )
    body: _Key[str] = _Key("body", "The message body.")

    @property
    def json_body(self) -> Any:
        """The body parsed as JSON; parsed once, then cached."""
        try:
            return self._json_body
        except AttributeError:
            self._json_body = json.loads(self._data["body"])
            return self._json_body

    @property
    def attributes(self) -> SQSRecordAttributes:
        """The message's system attributes (empty when the record has none)."""
        return SQSRecordAttributes(self._data.get("attributes") or {})

    @property
    def message_attributes(self) -> SQSMessageAttributes:
        """The message's user-defined attributes (empty when the record has none)."""
        return SQSMessageAttributes(self._data.get("messageAttributes") or {})

    md5_of_body: _Key[str] = _Key("md5OfBody", "The MD5 digest of the body.")
    event_source: _Key[str] = _Key("eventSource", "``aws:sqs``.")
    event_source_arn: _Key[str] = _Key(
        "eventSourceARN", "The ARN of the queue the message came from."
    )
    aws_region: _Key[str] = _Key("awsRegion", "The queue's region.")

    @property
    def queue_url(self) -> str:
        """The queue's URL, built from ``eventSourceARN``.

        ``arn:aws:sqs:eu-west-1:111122223333:orders`` gives
        ``https://sqs.eu-west-1.amazonaws.com/111122223333/orders``. Raises ``ValueError``
        for an ARN that is not an SQS queue ARN or names an unknown partition.
        """
        return _queue_url(self._data["eventSourceARN"])


class KinesisStreamRecordPayload(_DictWrapper):
    """The ``kinesis`` part of a Kinesis Data Streams record."""

    __slots__ = ()
    _repr_keys = (("sequence_number", "sequenceNumber"),)

    @property
    def approximate_arrival_timestamp(self) -> float:
        """When the record reached the stream, in epoch seconds."""
        return float(self._data["approximateArrivalTimestamp"])

    data: _Key[str] = _Key("data", "The data blob, base64-encoded as delivered.")
    kinesis_schema_version: _Key[str] = _Key("kinesisSchemaVersion", "The record's schema version.")
    partition_key: _Key[str] = _Key("partitionKey", "The key that chose the record's shard.")
    sequence_number: _Key[str] = _Key("sequenceNumber", "The record's identifier within its shard.")

    def data_as_bytes(self) -> bytes:
        """The data blob, base64-decoded."""
        return base64.b64decode(self._data["data"])

    def data_as_text(self) -> str:
        """The data blob decoded as UTF-8 text."""
        return self.data_as_bytes().decode("utf-8")

    def data_as_json(self) -> Any:
        """The data blob parsed as JSON."""
        return json.loads(self.data_as_bytes())


class KinesisStreamRecord(_DictWrapper):
    """A Kinesis Data Streams record as Lambda delivers it."""

    __slots__ = ()
    _repr_keys = (("event_id", "eventID"),)

    aws_region: _Key[str] = _Key("awsRegion", "The stream's region.")
    event_id: _Key[str] = _Key("eventID", "``<shard id>:<sequence number>``.")
    event_name: _Key[str] = _Key("eventName", "``aws:kinesis:record``.")
    event_source: _Key[str] = _Key("eventSource", "``aws:kinesis``.")
    event_source_arn: _Key[str] = _Key(
        "eventSourceARN", "The ARN of the stream (or of its consumer)."
    )
    event_version: _Key[str] = _Key(
        "eventVersion", "The event format version, ``<major>.<minor>``."
    )
    invoke_identity_arn: _Key[str] = _Key(
        "invokeIdentityArn", "The ARN of the identity that invoked the function."
    )

    @property
    def kinesis(self) -> KinesisStreamRecordPayload:
        """The record's payload: data, partition key, sequence number."""
        return KinesisStreamRecordPayload(self._data["kinesis"])


def deserialize_dynamodb_value(value: dict[str, Any]) -> Any:
    """Convert one DynamoDB-JSON attribute value to a Python value.

    ``S`` gives ``str``, ``N`` ``Decimal``, ``B`` ``bytes`` (base64-decoded), ``BOOL``
    ``bool``, ``NULL`` ``None``, ``M`` ``dict``, ``L`` ``list``, ``SS``/``NS``/``BS``
    sets of those. Raises ``ValueError`` for an unknown type tag.

    >>> deserialize_dynamodb_value({"M": {"n": {"N": "1.5"}, "t": {"SS": ["a"]}}})
    {'n': Decimal('1.5'), 't': {'a'}}
    """
    if len(value) != 1:
        raise ValueError(
            f"a DynamoDB attribute value has exactly one type tag, got {sorted(value)!r}"
        )
    ((tag, inner),) = value.items()
    match tag:
        case "S" | "BOOL":
            return inner
        case "N":
            # Exact, unlike boto3's 38-digit context, which rejects valid numbers with
            # trailing zeros such as 1E+40 (boto/boto3#2500).
            return Decimal(inner)
        case "M":
            return {k: deserialize_dynamodb_value(v) for k, v in inner.items()}
        case "L":
            return [deserialize_dynamodb_value(v) for v in inner]
        case "NULL":
            return None
        case "B":
            return base64.b64decode(inner)
        case "SS":
            return set(inner)
        case "NS":
            return {Decimal(n) for n in inner}
        case "BS":
            return {base64.b64decode(b) for b in inner}
    raise ValueError(f"unknown DynamoDB type tag {tag!r}")


def _deserialize_image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {name: deserialize_dynamodb_value(value) for name, value in image.items()}


class DynamoDBRecordEventName(StrEnum):
    """What happened to the item; equal to the plain string too."""

    INSERT = "INSERT"
    MODIFY = "MODIFY"
    REMOVE = "REMOVE"


class StreamViewType(StrEnum):
    """Which images the stream captures; equal to the plain string too."""

    KEYS_ONLY = "KEYS_ONLY"
    NEW_IMAGE = "NEW_IMAGE"
    OLD_IMAGE = "OLD_IMAGE"
    NEW_AND_OLD_IMAGES = "NEW_AND_OLD_IMAGES"


class StreamRecord(_DictWrapper):
    """The ``dynamodb`` part of a DynamoDB Streams record.

    ``keys``, ``new_image`` and ``old_image`` are decoded from DynamoDB JSON on each
    access. As in Powertools, ``keys`` is a property and so hides ``Mapping.keys()``:
    use ``raw_event`` for the dict itself.
    """

    __slots__ = ()
    _repr_keys = (("sequence_number", "SequenceNumber"),)

    @property
    def approximate_creation_date_time(self) -> int | None:
        """When the change was made, in epoch seconds, or ``None``."""
        value = self._data.get("ApproximateCreationDateTime")
        return None if value is None else int(value)

    @property
    def keys(self) -> dict[str, Any] | None:  # type: ignore[override]
        """The changed item's primary key, decoded, or ``None``."""
        return _deserialize_image(self._data.get("Keys"))

    @property
    def new_image(self) -> dict[str, Any] | None:
        """The item after the change, decoded, or ``None``."""
        return _deserialize_image(self._data.get("NewImage"))

    @property
    def old_image(self) -> dict[str, Any] | None:
        """The item before the change, decoded, or ``None``."""
        return _deserialize_image(self._data.get("OldImage"))

    sequence_number: _Key[str | None] = _Key(
        "SequenceNumber", "The record's sequence number, or ``None``.", optional=True
    )

    @property
    def size_bytes(self) -> int | None:
        """The record's size in bytes, or ``None``."""
        value = self._data.get("SizeBytes")
        return None if value is None else int(value)

    @property
    def stream_view_type(self) -> StreamViewType | None:
        """Which images the stream captures, or ``None``."""
        value = self._data.get("StreamViewType")
        return None if value is None else StreamViewType(value)


class DynamoDBStreamRecord(_DictWrapper):
    """A DynamoDB Streams record as Lambda delivers it.

    In a record handler::

        async def handle(record: DynamoDBStreamRecord) -> None:
            if record.event_name == "MODIFY" and record.dynamodb is not None:
                image = record.dynamodb.new_image or {}  # decoded: {"visits": Decimal("11")}
    """

    __slots__ = ()
    _repr_keys = (("event_id", "eventID"), ("event_name", "eventName"))

    aws_region: _Key[str | None] = _Key(
        "awsRegion", "The table's region, or ``None``.", optional=True
    )
    event_id: _Key[str | None] = _Key(
        "eventID", "The record's unique identifier, or ``None``.", optional=True
    )

    @property
    def event_name(self) -> DynamoDBRecordEventName | None:
        """``INSERT``, ``MODIFY`` or ``REMOVE``, or ``None``."""
        value = self._data.get("eventName")
        return None if value is None else DynamoDBRecordEventName(value)

    event_source: _Key[str | None] = _Key(
        "eventSource", "``aws:dynamodb``, or ``None``.", optional=True
    )
    event_source_arn: _Key[str | None] = _Key(
        "eventSourceARN", "The ARN of the table's stream, or ``None``.", optional=True
    )
    event_version: _Key[str | None] = _Key(
        "eventVersion", "The event format version, or ``None``.", optional=True
    )
    user_identity: _Key[dict[str, Any] | None] = _Key(
        "userIdentity",
        "Who made the change (e.g. the TTL service for expiries), or ``None``.",
        optional=True,
    )

    @property
    def dynamodb(self) -> StreamRecord | None:
        """The change itself: keys, images, sequence number; or ``None``."""
        stream_record = self._data.get("dynamodb")
        return None if stream_record is None else StreamRecord(stream_record)


DynamoDBRecord = DynamoDBStreamRecord
"""Powertools' name for :class:`DynamoDBStreamRecord`."""

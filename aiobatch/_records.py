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
from typing import Any, ClassVar

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

    @property
    def aws_trace_header(self) -> str | None:
        """The X-Ray trace header, or ``None``."""
        return self._data.get("AWSTraceHeader")

    @property
    def approximate_receive_count(self) -> str:
        """How many times the message has been received and not deleted."""
        value: str = self._data["ApproximateReceiveCount"]
        return value

    @property
    def sent_timestamp(self) -> str:
        """When the message was sent, in epoch milliseconds."""
        value: str = self._data["SentTimestamp"]
        return value

    @property
    def sender_id(self) -> str:
        """The IAM user or role ID that sent the message."""
        value: str = self._data["SenderId"]
        return value

    @property
    def approximate_first_receive_timestamp(self) -> str:
        """When the message was first received, in epoch milliseconds."""
        value: str = self._data["ApproximateFirstReceiveTimestamp"]
        return value

    @property
    def sequence_number(self) -> str | None:
        """The FIFO sequence number, or ``None`` on a standard queue."""
        return self._data.get("SequenceNumber")

    @property
    def message_group_id(self) -> str | None:
        """The FIFO message group, or ``None`` on a standard queue."""
        return self._data.get("MessageGroupId")

    @property
    def message_deduplication_id(self) -> str | None:
        """The FIFO deduplication token, or ``None``."""
        return self._data.get("MessageDeduplicationId")

    @property
    def dead_letter_queue_source_arn(self) -> str | None:
        """The queue that moved the message to this dead-letter queue, or ``None``."""
        return self._data.get("DeadLetterQueueSourceArn")


class SQSMessageAttribute(_DictWrapper):
    """One user-defined message attribute."""

    __slots__ = ()
    _repr_keys = (("data_type", "dataType"),)

    @property
    def string_value(self) -> str | None:
        """The value of a ``String`` or ``Number`` attribute, or ``None``."""
        return self._data.get("stringValue")

    @property
    def binary_value(self) -> str | None:
        """The base64-encoded value of a ``Binary`` attribute, or ``None``."""
        return self._data.get("binaryValue")

    @property
    def data_type(self) -> str:
        """``String``, ``Number`` or ``Binary``, with any custom suffix."""
        value: str = self._data["dataType"]
        return value


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

    @property
    def message_id(self) -> str:
        """The message's unique identifier."""
        value: str = self._data["messageId"]
        return value

    @property
    def receipt_handle(self) -> str:
        """The handle of this receipt of the message, needed to delete it."""
        value: str = self._data["receiptHandle"]
        return value

    @property
    def body(self) -> str:
        """The message body."""
        value: str = self._data["body"]
        return value

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

    @property
    def md5_of_body(self) -> str:
        """The MD5 digest of the body."""
        value: str = self._data["md5OfBody"]
        return value

    @property
    def event_source(self) -> str:
        """``aws:sqs``."""
        value: str = self._data["eventSource"]
        return value

    @property
    def event_source_arn(self) -> str:
        """The ARN of the queue the message came from."""
        value: str = self._data["eventSourceARN"]
        return value

    @property
    def aws_region(self) -> str:
        """The queue's region."""
        value: str = self._data["awsRegion"]
        return value

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

    @property
    def data(self) -> str:
        """The data blob, base64-encoded as delivered."""
        value: str = self._data["data"]
        return value

    @property
    def kinesis_schema_version(self) -> str:
        """The record's schema version."""
        value: str = self._data["kinesisSchemaVersion"]
        return value

    @property
    def partition_key(self) -> str:
        """The key that chose the record's shard."""
        value: str = self._data["partitionKey"]
        return value

    @property
    def sequence_number(self) -> str:
        """The record's identifier within its shard."""
        value: str = self._data["sequenceNumber"]
        return value

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

    @property
    def aws_region(self) -> str:
        """The stream's region."""
        value: str = self._data["awsRegion"]
        return value

    @property
    def event_id(self) -> str:
        """``<shard id>:<sequence number>``."""
        value: str = self._data["eventID"]
        return value

    @property
    def event_name(self) -> str:
        """``aws:kinesis:record``."""
        value: str = self._data["eventName"]
        return value

    @property
    def event_source(self) -> str:
        """``aws:kinesis``."""
        value: str = self._data["eventSource"]
        return value

    @property
    def event_source_arn(self) -> str:
        """The ARN of the stream (or of its consumer)."""
        value: str = self._data["eventSourceARN"]
        return value

    @property
    def event_version(self) -> str:
        """The event format version, ``<major>.<minor>``."""
        value: str = self._data["eventVersion"]
        return value

    @property
    def invoke_identity_arn(self) -> str:
        """The ARN of the identity that invoked the function."""
        value: str = self._data["invokeIdentityArn"]
        return value

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

    @property
    def sequence_number(self) -> str | None:
        """The record's sequence number, or ``None``."""
        return self._data.get("SequenceNumber")

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

    @property
    def aws_region(self) -> str | None:
        """The table's region, or ``None``."""
        return self._data.get("awsRegion")

    @property
    def event_id(self) -> str | None:
        """The record's unique identifier, or ``None``."""
        return self._data.get("eventID")

    @property
    def event_name(self) -> DynamoDBRecordEventName | None:
        """``INSERT``, ``MODIFY`` or ``REMOVE``, or ``None``."""
        value = self._data.get("eventName")
        return None if value is None else DynamoDBRecordEventName(value)

    @property
    def event_source(self) -> str | None:
        """``aws:dynamodb``, or ``None``."""
        return self._data.get("eventSource")

    @property
    def event_source_arn(self) -> str | None:
        """The ARN of the table's stream, or ``None``."""
        return self._data.get("eventSourceARN")

    @property
    def event_version(self) -> str | None:
        """The event format version, or ``None``."""
        return self._data.get("eventVersion")

    @property
    def user_identity(self) -> dict[str, Any] | None:
        """Who made the change (e.g. the TTL service for expiries), or ``None``."""
        return self._data.get("userIdentity")

    @property
    def dynamodb(self) -> StreamRecord | None:
        """The change itself: keys, images, sequence number; or ``None``."""
        stream_record = self._data.get("dynamodb")
        return None if stream_record is None else StreamRecord(stream_record)


DynamoDBRecord = DynamoDBStreamRecord
"""Powertools' name for :class:`DynamoDBStreamRecord`."""

"""The view of a DynamoDB Streams record, and the DynamoDB-JSON decoder it uses."""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .._lazy import LazyModule
from ._base import _DictWrapper, _Key

if TYPE_CHECKING:
    import decimal
else:
    decimal = LazyModule("decimal", globals())  # only for DynamoDB numbers


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
            return decimal.Decimal(inner)
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
            return {decimal.Decimal(n) for n in inner}
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

    approximate_creation_date_time: _Key[int | None] = _Key(
        "ApproximateCreationDateTime",
        "When the change was made, in epoch seconds, or ``None``.",
        optional=True,
        convert=int,
    )

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

    size_bytes: _Key[int | None] = _Key(
        "SizeBytes", "The record's size in bytes, or ``None``.", optional=True, convert=int
    )

    stream_view_type: _Key[StreamViewType | None] = _Key(
        "StreamViewType",
        "Which images the stream captures, or ``None``.",
        optional=True,
        convert=StreamViewType,
    )


class DynamoDBStreamRecord(_DictWrapper):
    """A DynamoDB Streams record as Lambda delivers it.

    In a record handler:

    ```python
    async def handle(record: DynamoDBStreamRecord) -> None:
        if record.event_name == "MODIFY" and record.dynamodb is not None:
            image = record.dynamodb.new_image or {}  # decoded: {"visits": Decimal("11")}
    ```
    """

    __slots__ = ()
    _repr_keys = (("event_id", "eventID"), ("event_name", "eventName"))

    aws_region: _Key[str | None] = _Key(
        "awsRegion", "The table's region, or ``None``.", optional=True
    )
    event_id: _Key[str | None] = _Key(
        "eventID", "The record's unique identifier, or ``None``.", optional=True
    )

    event_name: _Key[DynamoDBRecordEventName | None] = _Key(
        "eventName",
        "``INSERT``, ``MODIFY`` or ``REMOVE``, or ``None``.",
        optional=True,
        convert=DynamoDBRecordEventName,
    )

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

    dynamodb: _Key[StreamRecord | None] = _Key(
        "dynamodb",
        "The change itself: keys, images, sequence number; or ``None``.",
        optional=True,
        convert=StreamRecord,
    )

"""Test helpers for code that uses aiobatch: fake Lambda contexts, events and a local SQS.

The builders return plain, JSON-serialisable dicts in the exact shape Lambda delivers
for SQS, Kinesis Data Streams and DynamoDB Streams, with realistic ids, timestamps and
checksums. :class:`FakeLambdaContext` stands in for Lambda's context object, with a
clock that a test can drive. :class:`LocalSQS` runs moto's SQS on 127.0.0.1 for tests
that need a real queue; it is the only part that needs the ``testing`` extra (moto and
boto3), which it imports when it is first made, never when this module is imported.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import importlib
import itertools
import json
import logging
import math
import os
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Self

from ._fake_sqs import FakeSQS
from ._sqs.batch_calls import send_chunks
from ._sqs.events import b64 as _b64
from ._sqs.events import lambda_record

__all__ = [
    "DEFAULT_FIFO_QUEUE_ARN",
    "DEFAULT_KAFKA_CLUSTER_ARN",
    "DEFAULT_QUEUE_ARN",
    "DEFAULT_STREAM_ARN",
    "DEFAULT_TABLE_STREAM_ARN",
    "FakeLambdaContext",
    "FakeSQS",
    "LocalQueue",
    "LocalSQS",
    "dynamodb_event",
    "dynamodb_record",
    "event_from_messages",
    "kafka_event",
    "kafka_record",
    "kinesis_event",
    "kinesis_record",
    "sqs_event",
    "sqs_record",
]

_REGION = "us-east-1"
_ACCOUNT = "123456789012"

DEFAULT_QUEUE_ARN = f"arn:aws:sqs:{_REGION}:{_ACCOUNT}:test-queue"
"""The standard queue that :func:`sqs_record` and :func:`sqs_event` use by default."""

DEFAULT_FIFO_QUEUE_ARN = f"arn:aws:sqs:{_REGION}:{_ACCOUNT}:test-queue.fifo"
"""The FIFO queue a record with a message group gets when no queue ARN is given."""

DEFAULT_STREAM_ARN = f"arn:aws:kinesis:{_REGION}:{_ACCOUNT}:stream/test-stream"
"""The Kinesis data stream that :func:`kinesis_record` uses by default."""

DEFAULT_TABLE_STREAM_ARN = (
    f"arn:aws:dynamodb:{_REGION}:{_ACCOUNT}:table/test-table/stream/2025-01-01T00:00:00.000"
)
"""The DynamoDB table stream that :func:`dynamodb_record` uses by default."""

_INSTALL_HINT = (
    "LocalSQS needs moto (with its server) and boto3; install them with "
    "pip install 'aiobatch-lambda[testing]'"
)

_SENDER_ID = "AIDAIENQZJOLO23YVJ4VO"

# One counter for every generated sequence number, so that they increase across calls
# and sources within a process. next() on itertools.count is atomic under the GIL.
_counter = itertools.count(1)
_SQS_SEQUENCE_BASE = 18_849_496_460_467_696_128  # 20 digits, like an SQS FIFO sequence
_KINESIS_SEQUENCE_BASE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898
_DYNAMODB_SEQUENCE_BASE = 4_421_584_500_000_000_017_450_439_091

_EventName = Literal["INSERT", "MODIFY", "REMOVE"]
_ViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


# --- Lambda context ---------------------------------------------------------------------


class FakeLambdaContext:
    """A stand-in for the context object Lambda passes to a handler.

    ``timeout`` is the number of seconds left when it is made;
    :meth:`get_remaining_time_in_millis` counts down from it with ``clock``, so a test
    can pass a fake clock to fix the time left exactly. aiobatch reads it once, when a
    batch starts, and keeps its deadline on the event loop's own clock from then on.
    """

    def __init__(
        self,
        timeout: float = 30.0,
        *,
        function_name: str = "test-function",
        memory_limit_in_mb: int = 128,
        aws_request_id: str | None = None,
        function_version: str = "$LATEST",
        invoked_function_arn: str | None = None,
        log_group_name: str | None = None,
        log_stream_name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not timeout >= 0 or math.isinf(timeout):
            raise ValueError(f"timeout must be a finite number of seconds >= 0, got {timeout!r}")
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = (
            invoked_function_arn
            if invoked_function_arn is not None
            else f"arn:aws:lambda:{_REGION}:{_ACCOUNT}:function:{function_name}"
        )
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id if aws_request_id is not None else str(uuid.uuid4())
        self.log_group_name = (
            log_group_name if log_group_name is not None else f"/aws/lambda/{function_name}"
        )
        self.log_stream_name = (
            log_stream_name
            if log_stream_name is not None
            else time.strftime("%Y/%m/%d", time.gmtime())
            + f"/[{function_version}]{uuid.uuid4().hex}"
        )
        self.identity: Any = None
        self.client_context: Any = None
        self._clock = clock
        self._deadline = clock() + timeout

    def get_remaining_time_in_millis(self) -> int:
        """Whole milliseconds left before the deadline, never below zero."""
        return max(0, int((self._deadline - self._clock()) * 1000))

    def __repr__(self) -> str:
        return (
            f"FakeLambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r}, "
            f"remaining_ms={self.get_remaining_time_in_millis()})"
        )


# --- shared helpers ---------------------------------------------------------------------


def _arn_parts(arn: str, service: str) -> tuple[str, str]:
    """The region and account of an ARN of ``service``; ValueError when it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != service or not parts[3]:
        raise ValueError(
            f"{arn!r} is not an {service} ARN (arn:<partition>:{service}:<region>:<account>:...)"
        )
    return parts[3], parts[4]


def _now_millis() -> int:
    return time.time_ns() // 1_000_000


def _as_text(value: Any) -> str:
    """A body or payload as text: a str as is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def _number_text(value: int | float | Decimal) -> str:
    """A number as the text SQS and DynamoDB carry; NaN and infinities are refused."""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("NaN and infinite numbers cannot be sent to AWS")
        return repr(value)
    if not value.is_finite():
        raise ValueError("NaN and infinite numbers cannot be sent to AWS")
    return str(value)


# --- SQS --------------------------------------------------------------------------------


def _lambda_message_attribute(name: str, value: str | int | float | bytes) -> dict[str, Any]:
    """One message attribute in the camel-case shape of Lambda's SQS event."""
    attribute: dict[str, Any]
    if isinstance(value, bool):
        raise TypeError(
            f"message attribute {name!r}: SQS has no boolean type; send a str or an int"
        )
    if isinstance(value, str):
        attribute = {"stringValue": value}
        data_type = "String"
    elif isinstance(value, int | float):
        attribute = {"stringValue": _number_text(value)}
        data_type = "Number"
    elif isinstance(value, bytes | bytearray):
        attribute = {"binaryValue": _b64(bytes(value))}
        data_type = "Binary"
    else:
        raise TypeError(
            f"message attribute {name!r}: a value of type {type(value).__qualname__} cannot "
            "be an SQS message attribute (use str, int, float or bytes)"
        )
    attribute |= {"stringListValues": [], "binaryListValues": [], "dataType": data_type}
    return attribute


def _api_message_attribute(name: str, value: str | int | float | bytes) -> dict[str, Any]:
    """One message attribute in the shape of SQS's SendMessage API."""
    shaped = _lambda_message_attribute(name, value)
    if "binaryValue" in shaped:
        return {
            "DataType": shaped["dataType"],
            "BinaryValue": base64.b64decode(shaped["binaryValue"]),
        }
    return {"DataType": shaped["dataType"], "StringValue": shaped["stringValue"]}


def _message_attributes_md5(attributes: Mapping[str, Mapping[str, Any]]) -> str:
    """The ``MD5OfMessageAttributes`` SQS computes, from Lambda-shaped attributes."""

    def field(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        attribute = attributes[name]
        digest.update(field(name.encode()))
        digest.update(field(str(attribute["dataType"]).encode()))
        if "stringValue" in attribute:
            digest.update(b"\x01" + field(str(attribute["stringValue"]).encode()))
        elif "binaryValue" in attribute:
            digest.update(b"\x02" + field(base64.b64decode(attribute["binaryValue"])))
    return digest.hexdigest()


def _receipt_handle() -> str:
    return "AQEB" + _b64(os.urandom(96))


def sqs_record(
    body: Any,
    *,
    message_id: str | None = None,
    receipt_handle: str | None = None,
    queue_arn: str = DEFAULT_QUEUE_ARN,
    message_group_id: str | None = None,
    message_deduplication_id: str | None = None,
    sequence_number: str | None = None,
    receive_count: int = 1,
    sent_timestamp: int | None = None,
    message_attributes: Mapping[str, str | int | float | bytes] | None = None,
) -> dict[str, Any]:
    """One record of Lambda's SQS event.

    A ``body`` that is not a ``str`` is sent as its JSON text. A ``message_group_id``
    makes it a FIFO record, with a content-based deduplication id and an increasing
    sequence number unless given, on :data:`DEFAULT_FIFO_QUEUE_ARN` unless another FIFO
    queue is named. ``sent_timestamp`` is in epoch milliseconds (now by default), and
    ``message_attributes`` map a name to a str, a number or bytes.
    """
    text = _as_text(body)
    fifo = message_group_id is not None
    if fifo and queue_arn == DEFAULT_QUEUE_ARN:
        queue_arn = DEFAULT_FIFO_QUEUE_ARN
    region, _ = _arn_parts(queue_arn, "sqs")
    if fifo != queue_arn.endswith(".fifo"):
        raise ValueError(
            "a FIFO record needs a FIFO queue ARN (ending in .fifo)"
            if fifo
            else "a record on a FIFO queue needs a message_group_id"
        )
    if not fifo and (message_deduplication_id is not None or sequence_number is not None):
        raise ValueError(
            "message_deduplication_id and sequence_number belong to FIFO records; "
            "pass message_group_id too"
        )
    if receive_count < 1:
        raise ValueError(f"receive_count must be at least 1, got {receive_count}")
    sent = _now_millis() if sent_timestamp is None else sent_timestamp
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(sent),
        "SenderId": _SENDER_ID,
        "ApproximateFirstReceiveTimestamp": str(sent + 7),
    }
    if message_group_id is not None:
        attributes |= {
            "MessageGroupId": message_group_id,
            "MessageDeduplicationId": (
                message_deduplication_id
                if message_deduplication_id is not None
                else hashlib.sha256(text.encode()).hexdigest()
            ),
            "SequenceNumber": (
                sequence_number
                if sequence_number is not None
                else str(_SQS_SEQUENCE_BASE + next(_counter))
            ),
        }
    lambda_attributes = {
        name: _lambda_message_attribute(name, value)
        for name, value in (message_attributes or {}).items()
    }
    record: dict[str, Any] = {
        "messageId": message_id if message_id is not None else str(uuid.uuid4()),
        "receiptHandle": receipt_handle if receipt_handle is not None else _receipt_handle(),
        "body": text,
        "attributes": attributes,
        "messageAttributes": lambda_attributes,
        "md5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
    }
    if lambda_attributes:
        record["md5OfMessageAttributes"] = _message_attributes_md5(lambda_attributes)
    record |= {"eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": region}
    return record


def sqs_event(
    bodies: Iterable[Any],
    *,
    queue_arn: str = DEFAULT_QUEUE_ARN,
    message_group_id: str | Callable[[int], str] | None = None,
) -> dict[str, Any]:
    """Lambda's SQS event with one record per body, in order.

    With ``message_group_id`` it is a FIFO event; a callable gets each record's index
    and returns its group.
    """
    records = []
    for index, body in enumerate(bodies):
        group = message_group_id(index) if callable(message_group_id) else message_group_id
        records.append(sqs_record(body, queue_arn=queue_arn, message_group_id=group))
    return {"Records": records}


def event_from_messages(
    messages: Iterable[Mapping[str, Any]],
    *,
    queue_arn: str,
    region: str | None = None,
) -> dict[str, Any]:
    """Lambda's SQS event made from the ``Messages`` of a ReceiveMessage response.

    Receive with ``MessageSystemAttributeNames=["All"]`` (or ``AttributeNames``) and
    ``MessageAttributeNames=["All"]`` for a complete record. The region is read from
    ``queue_arn`` unless given.
    """
    arn_region, _ = _arn_parts(queue_arn, "sqs")
    region = region if region is not None else arn_region
    return {"Records": [lambda_record(message, queue_arn, region) for message in messages]}


# --- Kinesis ----------------------------------------------------------------------------


def kinesis_record(
    data: Any,
    *,
    partition_key: str = "1",
    sequence_number: str | None = None,
    stream_arn: str = DEFAULT_STREAM_ARN,
    shard_id: str = "shardId-000000000000",
    arrival_timestamp: float | None = None,
) -> dict[str, Any]:
    """One record of Lambda's Kinesis Data Streams event.

    ``data`` is put in base64 as is when it is bytes, as UTF-8 when it is a str, and as
    its JSON text otherwise. The sequence number increases from call to call unless
    given; ``arrival_timestamp`` is in epoch seconds (now by default).
    """
    raw = bytes(data) if isinstance(data, bytes | bytearray) else _as_text(data).encode()
    region, account = _arn_parts(stream_arn, "kinesis")
    sequence = (
        sequence_number
        if sequence_number is not None
        else str(_KINESIS_SEQUENCE_BASE + next(_counter))
    )
    arrival = time.time() if arrival_timestamp is None else arrival_timestamp
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": sequence,
            "data": _b64(raw),
            "approximateArrivalTimestamp": round(arrival, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{account}:role/lambda-role",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }


def kinesis_event(
    datas: Iterable[Any],
    *,
    partition_key: str | Callable[[int], str] = "1",
    stream_arn: str = DEFAULT_STREAM_ARN,
    shard_id: str = "shardId-000000000000",
) -> dict[str, Any]:
    """Lambda's Kinesis event with one record per payload, sequence numbers increasing.

    A callable ``partition_key`` gets each record's index and returns its key.
    """
    records = []
    for index, data in enumerate(datas):
        key = partition_key(index) if callable(partition_key) else partition_key
        records.append(
            kinesis_record(data, partition_key=key, stream_arn=stream_arn, shard_id=shard_id)
        )
    return {"Records": records}


# --- Kafka (Amazon MSK, self-managed) ----------------------------------------------------

DEFAULT_KAFKA_CLUSTER_ARN = (
    f"arn:aws:kafka:{_REGION}:{_ACCOUNT}:cluster/test-cluster/"
    "abcd1234-abcd-cafe-abab-9876543210ab-4"
)
"""The MSK cluster that :func:`kafka_event` names by default."""

_kafka_offsets: dict[str, itertools.count[int]] = {}


def kafka_record(
    value: bytes | str | Any,
    *,
    topic: str = "mytopic",
    partition: int = 0,
    offset: int | None = None,
    key: bytes | str | None = None,
    headers: Mapping[str, bytes | str] | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    """One record of Lambda's Kafka event.

    A ``value`` (or ``key``) that is not ``bytes`` or ``str`` is sent as its JSON text;
    both are base64-encoded, as Lambda delivers them. ``offset`` increases per
    topic-partition unless given; ``headers`` become Lambda's ``[{name: [byte, ...]}]``.
    """
    partition_key = f"{topic}-{partition}"
    if offset is None:
        offset = next(_kafka_offsets.setdefault(partition_key, itertools.count()))
    record: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp": _now_millis() if timestamp is None else timestamp,
        "timestampType": "CREATE_TIME",
        "value": _b64(_as_bytes(value)),
        "headers": [{name: list(_as_bytes(data))} for name, data in (headers or {}).items()],
    }
    if key is not None:
        record["key"] = _b64(_as_bytes(key))
    return record


def kafka_event(
    values: Iterable[Any],
    *,
    topic: str = "mytopic",
    partition: int | Callable[[int], int] = 0,
    event_source: str = "aws:kafka",
    cluster_arn: str = DEFAULT_KAFKA_CLUSTER_ARN,
) -> dict[str, Any]:
    """Lambda's Kafka event with one record per value, grouped by topic-partition.

    A callable ``partition`` gets each record's index and returns its partition.
    ``event_source`` is ``aws:kafka`` (MSK) or ``SelfManagedKafka``; a self-managed
    event has no cluster ARN.
    """
    records: dict[str, list[dict[str, Any]]] = {}
    for index, value in enumerate(values):
        number = partition(index) if callable(partition) else partition
        record = kafka_record(value, topic=topic, partition=number)
        records.setdefault(f"{topic}-{number}", []).append(record)
    event: dict[str, Any] = {
        "eventSource": event_source,
        "bootstrapServers": (
            "b-1.test-cluster.kafka.us-east-1.amazonaws.com:9092,"
            "b-2.test-cluster.kafka.us-east-1.amazonaws.com:9092"
        ),
        "records": records,
    }
    if event_source == "aws:kafka":
        event["eventSourceArn"] = cluster_arn
    return event


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return _as_text(value).encode("utf-8")


# --- DynamoDB Streams -------------------------------------------------------------------


def _type_error(value: object, path: str) -> TypeError:
    # The type only: the value may be anything a test holds, secrets included.
    return TypeError(
        f"{path}: a value of type {type(value).__qualname__} has no DynamoDB JSON form "
        "(use str, bool, int, float, Decimal, None, bytes, list, tuple, Mapping or a set)"
    )


def _serialize(value: Any, path: str) -> dict[str, Any]:
    """A Python value in DynamoDB JSON."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": _number_text(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bytes | bytearray):
        return {"B": _b64(bytes(value))}
    if isinstance(value, list | tuple):
        return {"L": [_serialize(item, f"{path}[{i}]") for i, item in enumerate(value)]}
    if isinstance(value, Mapping):
        return {"M": _serialize_map(value, path)}
    if isinstance(value, set | frozenset):
        return _serialize_set(value, path)
    raise _type_error(value, path)


def _serialize_set(value: set[Any] | frozenset[Any], path: str) -> dict[str, Any]:
    if not value:
        raise ValueError(f"{path}: DynamoDB has no empty sets")
    if all(isinstance(item, str) for item in value):
        return {"SS": sorted(value)}
    if all(
        isinstance(item, int | float | Decimal) and not isinstance(item, bool) for item in value
    ):
        return {"NS": [_number_text(item) for item in sorted(value, key=Decimal)]}
    if all(isinstance(item, bytes | bytearray) for item in value):
        return {"BS": [_b64(bytes(item)) for item in sorted(value)]}
    kinds = sorted({type(item).__qualname__ for item in value})
    raise TypeError(
        f"{path}: a set must hold only str, only numbers or only bytes, got {', '.join(kinds)}"
    )


def _serialize_map(value: Mapping[Any, Any], path: str) -> dict[str, Any]:
    result = {}
    for name, item in value.items():
        if not isinstance(name, str):
            raise TypeError(f"{path}: attribute names must be str, got {type(name).__qualname__}")
        result[name] = _serialize(item, f"{path}.{name}")
    return result


def _value_size(typed: Mapping[str, Any]) -> int:
    """Roughly the bytes DynamoDB counts for one value in DynamoDB JSON."""
    ((kind, inner),) = typed.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return (len(inner.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS"):
        return sum(len(item.encode()) for item in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(item)) for item in inner)
    if kind == "M":
        return 3 + _size(inner) + len(inner)
    return 3 + sum(_value_size(item) + 1 for item in inner)  # L


def _size(item: Mapping[str, Any]) -> int:
    """Roughly the bytes DynamoDB counts for attributes in DynamoDB JSON."""
    return sum(len(name.encode()) + _value_size(typed) for name, typed in item.items())


def dynamodb_record(
    *,
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    event_name: _EventName | None = None,
    sequence_number: str | None = None,
    stream_arn: str = DEFAULT_TABLE_STREAM_ARN,
    stream_view_type: _ViewType | None = None,
) -> dict[str, Any]:
    """One record of Lambda's DynamoDB Streams event, from plain Python values.

    Keys and images are written as DynamoDB JSON: str as S, bool as BOOL, numbers as N,
    None as NULL, bytes as B, lists and tuples as L, mappings as M, and sets of str,
    numbers or bytes as SS, NS or BS; any other type is a TypeError. The event name is
    INSERT with only a new image, REMOVE with only an old one and MODIFY with both,
    unless given; the stream view type is the one that carries the images given.
    """
    if not keys:
        raise ValueError("keys must name at least the partition key")
    if event_name is None:
        if old_image is not None and new_image is None:
            event_name = "REMOVE"
        elif old_image is not None:
            event_name = "MODIFY"
        else:
            event_name = "INSERT"
    if (event_name == "INSERT" and old_image is not None) or (
        event_name == "REMOVE" and new_image is not None
    ):
        raise ValueError(f"an {event_name} record cannot have that image")
    if stream_view_type is None:
        if new_image is None and old_image is None:
            stream_view_type = "KEYS_ONLY"
        elif event_name == "MODIFY" and old_image is None:
            stream_view_type = "NEW_IMAGE"
        elif event_name == "MODIFY" and new_image is None:
            stream_view_type = "OLD_IMAGE"
        else:
            stream_view_type = "NEW_AND_OLD_IMAGES"
    else:
        carries_new = stream_view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
        carries_old = stream_view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
        if (new_image is not None and not carries_new) or (
            old_image is not None and not carries_old
        ):
            raise ValueError(f"a {stream_view_type} stream does not carry the images given")
    region, _ = _arn_parts(stream_arn, "dynamodb")
    stream: dict[str, Any] = {
        "ApproximateCreationDateTime": int(time.time()),
        "Keys": _serialize_map(keys, "Keys"),
        "SequenceNumber": (
            sequence_number
            if sequence_number is not None
            else str(_DYNAMODB_SEQUENCE_BASE + next(_counter))
        ),
    }
    images = {}
    if new_image is not None:
        images["NewImage"] = _serialize_map(new_image, "NewImage")
    if old_image is not None:
        images["OldImage"] = _serialize_map(old_image, "OldImage")
    stream["SizeBytes"] = _size(stream["Keys"]) + sum(_size(image) for image in images.values())
    stream["StreamViewType"] = stream_view_type
    stream |= images
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }


def dynamodb_event(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Lambda's DynamoDB Streams event holding ``records`` (from :func:`dynamodb_record`)."""
    return {"Records": list(records)}


# --- a local SQS ------------------------------------------------------------------------


class LocalQueue:
    """A queue on a :class:`LocalSQS`, with helpers to feed it and read it back."""

    def __init__(
        self,
        sqs: LocalSQS,
        *,
        url: str,
        arn: str,
        name: str,
        dead_letter: LocalQueue | None = None,
    ) -> None:
        self._sqs = sqs
        self.url = url
        self.arn = arn
        self.name = name
        self.dead_letter = dead_letter

    @property
    def fifo(self) -> bool:
        """Whether this is a FIFO queue."""
        return self.name.endswith(".fifo")

    def send(
        self,
        bodies: Iterable[Any],
        *,
        message_group_id: str | Callable[[int], str] | None = None,
        message_attributes: Mapping[str, str | int | float | bytes] | None = None,
    ) -> list[str]:
        """Send the bodies in calls of up to ten (and 1 MiB); return their ids, in order.

        A body that is not a ``str`` is sent as its JSON text. A FIFO queue needs
        ``message_group_id`` (a callable gets each body's index); every message gets its
        own deduplication id, so equal bodies are all delivered. ``message_attributes``
        are sent with every message.
        """
        if self.fifo and message_group_id is None:
            raise ValueError(f"{self.name} is a FIFO queue: pass message_group_id")
        attributes = {
            name: _api_message_attribute(name, value)
            for name, value in (message_attributes or {}).items()
        }
        entries: list[dict[str, Any]] = []
        for index, body in enumerate(bodies):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": _as_text(body)}
            if attributes:
                entry["MessageAttributes"] = attributes
            if message_group_id is not None:
                entry["MessageGroupId"] = (
                    message_group_id(index) if callable(message_group_id) else message_group_id
                )
                entry["MessageDeduplicationId"] = uuid.uuid4().hex
            entries.append(entry)
        ids: dict[str, str] = {}
        for chunk in send_chunks(entries):
            response = self._sqs.client.send_message_batch(QueueUrl=self.url, Entries=chunk)
            if response.get("Failed"):
                failures = ", ".join(
                    f"entry {failure['Id']}: {failure.get('Code')}"
                    for failure in response["Failed"]
                )
                raise RuntimeError(f"SQS refused some messages for {self.name}: {failures}")
            ids |= {item["Id"]: item["MessageId"] for item in response["Successful"]}
        return [ids[str(index)] for index in range(len(entries))]

    def receive_event(
        self, max_messages: int = 10, *, wait_seconds: int = 0, visibility_timeout: int = 30
    ) -> dict[str, Any]:
        """One receive, shaped as Lambda's SQS event; it may hold fewer records.

        The messages stay hidden for ``visibility_timeout`` seconds, as they would while
        a Lambda function handles them.
        """
        if not 1 <= max_messages <= 10:
            raise ValueError(f"max_messages must be 1 to 10, got {max_messages}")
        response = self._sqs.client.receive_message(
            QueueUrl=self.url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=visibility_timeout,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return event_from_messages(
            response.get("Messages", []), queue_arn=self.arn, region=self._sqs.region
        )

    def drain_bodies(self, *, visibility_timeout: int = 300) -> list[str]:
        """The bodies of every message visible now, in the order received.

        On a standard queue they stay on the queue, hidden for ``visibility_timeout``
        seconds. On a FIFO queue they are deleted: a hidden message holds back the rest
        of its message group, so the queue could not be drained otherwise.
        """
        found: list[str] = []
        while True:
            response = self._sqs.client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=visibility_timeout
            )
            messages = response.get("Messages", [])
            if not messages:
                return found
            found.extend(message["Body"] for message in messages)
            if self.fifo:
                self._sqs.client.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
                        for i, message in enumerate(messages)
                    ],
                )

    def approximate_count(self, *, include_hidden: bool = False) -> int:
        """SQS's approximate number of visible messages.

        With ``include_hidden``, messages in flight and delayed ones are counted too.
        """
        names = ["ApproximateNumberOfMessages"]
        if include_hidden:
            names += ["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
        response = self._sqs.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return sum(int(response["Attributes"].get(name, 0)) for name in names)

    def __repr__(self) -> str:
        return f"LocalQueue(name={self.name!r}, url={self.url!r})"


_moto_lock = threading.Lock()
_moto_state = threading.local()  # .locked: this thread holds _moto_lock; .scan_at: a
# locked receive's fixed instant (epoch ms) while it scans; .quiet: skip the counts


def _begin_scan(queue: Any, now: Callable[[], float]) -> None:
    """Start a scan of ``queue`` by a locked receive, at one fixed instant.

    moto learns that a message's visibility timeout ran out one message at a time as it
    scans, each at its own instant: the group of a FIFO batch that timed out as a whole
    stays blocked until the scan passes its last message, which is then delivered
    first, out of order. So the scan's clock stands still (every message of a batch
    also gets one deadline), and the messages no longer in flight are cleared first.
    """
    _moto_state.scan_at = now()
    pending = queue.pending_messages
    pending.difference_update([message for message in pending if message.visible])


def _serialise_moto() -> None:
    """Make moto's SQS calls that change a queue take turns (once per process).

    moto's server handles requests on threads, and its SQS model has no lock around
    them. ``Queue.delete_message`` rebuilds the queue's message list from a copy and
    stores it back, so a delete undoes a concurrent delete (a message reported deleted
    comes back) or send (a message sent is gone). ``receive_message`` scans and marks
    messages unlocked, so receives at once can deliver one message twice, or both move
    it to the dead-letter queue and fail; a visibility change during a scan fails it;
    and it delivers a FIFO group's messages that time out together out of order
    (:func:`_begin_scan`). Real SQS does none of this, so neither may the SQS a test
    runs against. Sends, receives, deletes and visibility changes now hold one lock; a
    receive waiting for messages (long polling) lets the others run.
    """
    models = importlib.import_module("moto.sqs.models")
    queue_class, backend_class = models.Queue, models.SQSBackend
    if getattr(queue_class.delete_message, "_aiobatch_serialised", False):
        return
    moto_clock = models.unix_time_millis

    def clock() -> float:
        # moto's own goes through datetime, about 2 µs a call; it is called for every
        # message on the queue each time a message is sent or received.
        return time.time() * 1000.0

    def scan_clock(dt: Any = None) -> float:
        if dt is not None:
            return float(moto_clock(dt))
        scan_at = getattr(_moto_state, "scan_at", None)
        return clock() if scan_at is None else float(scan_at)

    def locked(method: Callable[..., Any], *, quiet: bool = False) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            if getattr(_moto_state, "locked", False):  # called from a locked call
                return method(*args, **kwargs)
            with _moto_lock:
                _moto_state.locked, _moto_state.quiet = True, quiet
                try:
                    return method(*args, **kwargs)
                finally:
                    _moto_state.locked = _moto_state.quiet = False
                    _moto_state.scan_at = None

        return call

    receive = backend_class.receive_message
    wait = queue_class.wait_for_messages

    @functools.wraps(receive)
    def scanning_receive(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # Called holding the lock. moto's own long poll keeps what it learnt of the
        # queue's in-flight FIFO groups from before it waited, and so could hand out a
        # group's next message while another receive holds its first: here every scan
        # is moto's single one (no wait), made afresh, and the waits between scans let
        # the other calls run.
        queue = self.get_queue(queue_name)
        deadline = time.monotonic() + float(wait_seconds_timeout or 0)
        while True:
            _begin_scan(queue, clock)
            found = receive(self, queue_name, count, 0, *args, **kwargs)
            _moto_state.scan_at = None
            left = deadline - time.monotonic()
            if found or left <= 0:
                return found
            _moto_state.locked = False
            _moto_lock.release()
            try:
                started = time.monotonic()
                wait(queue, min(left, 1.0))
                if time.monotonic() - started < 0.01:
                    # Visible messages, all of FIFO groups in flight: do not spin.
                    time.sleep(min(left, 0.02))
            finally:
                _moto_lock.acquire()
                _moto_state.locked = True

    # A send or a receive reads one or two of a queue's attributes (the retention
    # period, content-based deduplication) through moto's ``attributes``, which also
    # counts the queue's messages three times over: for every message sent or
    # delivered, so 3,000 sends took 30 s and each receive from a queue of 3,000 half a
    # second. Within a send or a receive, and only in its thread, the counts are 0.
    def uncounted(count: Any) -> property:
        def fget(self: Any) -> int:
            return 0 if getattr(_moto_state, "quiet", False) else int(count(self))

        return property(fget)

    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        setattr(queue_class, name, uncounted(getattr(queue_class, name).fget))

    delete = locked(queue_class.delete_message)
    delete._aiobatch_serialised = True  # type: ignore[attr-defined]
    queue_class.delete_message = delete
    backend_class.receive_message = locked(functools.wraps(receive)(scanning_receive), quiet=True)
    backend_class.send_message = locked(backend_class.send_message, quiet=True)
    backend_class.change_message_visibility = locked(backend_class.change_message_visibility)
    models.unix_time_millis = scan_clock  # type: ignore[attr-defined]


class LocalSQS:
    """SQS on 127.0.0.1 for tests, served by moto in a background thread.

    ```python
    with LocalSQS() as sqs:
        queue = sqs.create_queue(fifo=True, dead_letter_queue=True)
        for name, value in sqs.env().items():
            monkeypatch.setenv(name, value)
        queue.send(["a", "b"], message_group_id="g")
        event = queue.receive_event()
    ```

    It needs the ``testing`` extra (moto and boto3) and raises ImportError without it.
    Its client carries its own credentials and region and ignores the environment's.
    moto keeps one set of queues per process, so queue names are made unique and
    :meth:`stop` deletes the queues this instance made.
    """

    def __init__(self, *, region: str = _REGION, port: int = 0) -> None:
        try:
            self._moto_server = importlib.import_module("moto.server")
            self._boto3 = importlib.import_module("boto3")
            self._botocore_config = importlib.import_module("botocore.config")
        except ImportError as error:
            raise ImportError(_INSTALL_HINT) from error
        self.region = region
        self.port = port
        self._server: Any = None
        self._client: Any = None
        self._endpoint_url: str | None = None
        self._queues: list[LocalQueue] = []

    def start(self) -> Self:
        """Start the server on a free port of 127.0.0.1; returns this object."""
        if self._server is not None:
            raise RuntimeError("this LocalSQS is already started")
        _serialise_moto()
        # moto's server logs every request through werkzeug: keep that out of the way.
        werkzeug = logging.getLogger("werkzeug")
        if werkzeug.level == logging.NOTSET:
            werkzeug.setLevel(logging.ERROR)
        server = self._moto_server.ThreadedMotoServer(
            ip_address="127.0.0.1", port=self.port, verbose=False
        )
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint_url = f"http://{host}:{port}"
        session = self._boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=self.region,
        )
        self._client = session.client(
            "sqs",
            endpoint_url=self._endpoint_url,
            # proxies={} keeps HTTP(S)_PROXY from the environment out of the way.
            config=self._botocore_config.Config(proxies={}, retries={"max_attempts": 2}),
        )
        return self

    def stop(self) -> None:
        """Delete the queues this instance made and stop the server; safe to repeat."""
        server, self._server = self._server, None
        if server is None:
            return
        try:
            for queue in self._queues:
                # Best effort: a test may have deleted the queue already.
                with contextlib.suppress(Exception):
                    self._client.delete_queue(QueueUrl=queue.url)
        finally:
            self._queues.clear()
            self._client.close()
            self._client = None
            self._endpoint_url = None
            server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def endpoint_url(self) -> str:
        """The server's URL, ``http://127.0.0.1:<port>``."""
        if self._endpoint_url is None:
            raise RuntimeError("LocalSQS is not started: use start() or a with block")
        return self._endpoint_url

    @property
    def client(self) -> Any:
        """A boto3 SQS client bound to this server."""
        if self._client is None:
            raise RuntimeError("LocalSQS is not started: use start() or a with block")
        return self._client

    def env(self) -> dict[str, str]:
        """Environment variables that point SDK clients (boto3, aioboto3) at this server."""
        return {
            "AWS_ENDPOINT_URL_SQS": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
        }

    def create_queue(
        self,
        name: str | None = None,
        *,
        fifo: bool = False,
        dead_letter_queue: bool = False,
        max_receive_count: int = 3,
        visibility_timeout: int = 30,
    ) -> LocalQueue:
        """Create a queue, by default with a fresh unique name.

        A name ending in ``.fifo`` makes a FIFO queue, as does ``fifo=True`` (which adds
        the suffix). With ``dead_letter_queue`` a DLQ of the same kind is made first and
        the queue's RedrivePolicy sends it a message after ``max_receive_count`` receives.
        """
        if name is None:
            name = f"test-queue-{uuid.uuid4().hex[:12]}"
        fifo = fifo or name.endswith(".fifo")
        base = name.removesuffix(".fifo")
        suffix = ".fifo" if fifo else ""
        dead_letter = (
            self._create(f"{base}-dlq{suffix}", fifo, visibility_timeout, None)
            if dead_letter_queue
            else None
        )
        attributes: dict[str, str] = {}
        if dead_letter is not None:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dead_letter.arn, "maxReceiveCount": str(max_receive_count)}
            )
        return self._create(base + suffix, fifo, visibility_timeout, dead_letter, attributes)

    def _create(
        self,
        name: str,
        fifo: bool,
        visibility_timeout: int,
        dead_letter: LocalQueue | None,
        extra: dict[str, str] | None = None,
    ) -> LocalQueue:
        attributes = {"VisibilityTimeout": str(visibility_timeout)} | (extra or {})
        if fifo:
            attributes["FifoQueue"] = "true"
        url = self.client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        queue = LocalQueue(self, url=url, arn=arn, name=name, dead_letter=dead_letter)
        self._queues.append(queue)
        return queue

    def __repr__(self) -> str:
        state = self._endpoint_url or "stopped"
        return f"LocalSQS(region={self.region!r}, {state})"

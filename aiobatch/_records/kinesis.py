"""The view of a Kinesis Data Streams record, as Lambda delivers it."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from ._base import _DictWrapper, _Key


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

    def data_zlib_compressed_as_json(self) -> Any:
        """The data blob, gzip- or zlib-decompressed, parsed as JSON (CloudWatch Logs
        subscriptions deliver their data this way)."""
        return json.loads(zlib.decompress(self.data_as_bytes(), zlib.MAX_WBITS | 32))


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

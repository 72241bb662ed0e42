"""The view of a Kafka record (Amazon MSK or self-managed Apache Kafka), as Lambda
delivers it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from typing import Any

from ._base import _DictWrapper, _Key


def _header_bytes(values: list[int]) -> bytes:
    """A header value as Lambda sends it (a list of byte values, signed as Java's are)."""
    return bytes(value & 0xFF for value in values)


class KafkaHeaders(Mapping[str, bytes]):
    """A record's headers, decoded, by name; names are matched without regard to case.

    A name given twice keeps its last value, as Powertools does.
    """

    __slots__ = ("_by_name", "_names")

    def __init__(self, headers: list[dict[str, list[int]]]) -> None:
        self._by_name: dict[str, bytes] = {}
        self._names: dict[str, str] = {}
        for chunk in headers:
            for name, values in chunk.items():
                self._by_name[name.lower()] = _header_bytes(values)
                self._names[name.lower()] = name

    def __getitem__(self, name: str) -> bytes:
        return self._by_name[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._by_name == {str(k).lower(): v for k, v in other.items()}
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"KafkaHeaders(names={list(self._names.values())!r})"


class KafkaEventRecordSchemaMetadata(_DictWrapper):
    """Which schema a key or value was written with (schema registry integration)."""

    __slots__ = ()

    data_format: _Key[str | None] = _Key("dataFormat", "``AVRO``, ``JSON``, ...", optional=True)
    schema_id: _Key[str | None] = _Key("schemaId", "The schema's id.", optional=True)


class KafkaEventRecord(_DictWrapper):
    """A Kafka record as Lambda delivers it: one of ``event["records"]["<topic>-<n>"]``.

    In a record handler:

    ```python
    def handle(record: KafkaEventRecord) -> None:
        order = record.json_value  # the value, base64-decoded and parsed once
        trace = record.decoded_headers.get("traceparent")  # bytes, or None
    ```
    """

    __slots__ = ("_json_value",)
    _repr_keys = (("topic", "topic"), ("partition", "partition"), ("offset", "offset"))
    _json_value: Any

    topic: _Key[str] = _Key("topic", "The topic.")
    partition: _Key[int] = _Key("partition", "The partition within the topic.")
    offset: _Key[int] = _Key("offset", "The record's offset within its partition.")
    timestamp: _Key[int] = _Key("timestamp", "The record's timestamp, in epoch milliseconds.")
    timestamp_type: _Key[str] = _Key("timestampType", "``CREATE_TIME`` or ``LOG_APPEND_TIME``.")
    key: _Key[str | None] = _Key(
        "key", "The key, base64-encoded as delivered, or ``None``.", optional=True
    )
    value: _Key[str] = _Key("value", "The value, base64-encoded as delivered.")
    headers: _Key[list[dict[str, list[int]]]] = _Key(
        "headers", "The headers as delivered: a list of ``{name: [byte, ...]}``."
    )
    key_schema_metadata: _Key[KafkaEventRecordSchemaMetadata | None] = _Key(
        "keySchemaMetadata",
        "The key's schema, or ``None``.",
        optional=True,
        convert=KafkaEventRecordSchemaMetadata,
    )
    value_schema_metadata: _Key[KafkaEventRecordSchemaMetadata | None] = _Key(
        "valueSchemaMetadata",
        "The value's schema, or ``None``.",
        optional=True,
        convert=KafkaEventRecordSchemaMetadata,
    )

    @property
    def decoded_key(self) -> bytes | None:
        """The key, base64-decoded, or ``None`` when the record has none."""
        key = self._data.get("key")
        return None if key is None else base64.b64decode(key)

    @property
    def decoded_value(self) -> bytes:
        """The value, base64-decoded."""
        return base64.b64decode(self._data["value"])

    @property
    def json_value(self) -> Any:
        """The value parsed as JSON (UTF-8); parsed once, then cached."""
        try:
            return self._json_value
        except AttributeError:
            self._json_value = json.loads(self.decoded_value.decode("utf-8"))
            return self._json_value

    @property
    def decoded_headers(self) -> KafkaHeaders:
        """The headers, decoded to bytes, by name (any case)."""
        return KafkaHeaders(self._data.get("headers") or [])

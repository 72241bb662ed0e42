"""Events that arrive inside an SQS message's body: S3 notifications and SNS messages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus

from ._base import _DictWrapper, _Key


class S3Bucket(_DictWrapper):
    """The bucket of an S3 event record."""

    __slots__ = ()
    _repr_keys = (("name", "name"),)

    name: _Key[str] = _Key("name", "The bucket's name.")
    arn: _Key[str] = _Key("arn", "The bucket's ARN.")


class S3Object(_DictWrapper):
    """The object of an S3 event record."""

    __slots__ = ()
    _repr_keys = (("key", "key"),)

    key: _Key[str] = _Key("key", "The object key, URL-encoded as S3 sends it.")
    size: _Key[int | None] = _Key("size", "The object's size in bytes, or ``None``.", optional=True)
    etag: _Key[str | None] = _Key("eTag", "The object's ETag, or ``None``.", optional=True)
    version_id: _Key[str | None] = _Key(
        "versionId", "The object's version, or ``None``.", optional=True
    )
    sequencer: _Key[str | None] = _Key(
        "sequencer", "Orders events of one key, or ``None``.", optional=True
    )


class S3Message(_DictWrapper):
    """The ``s3`` part of an S3 event record."""

    __slots__ = ()

    s3_schema_version: _Key[str] = _Key("s3SchemaVersion", "The schema version.")
    configuration_id: _Key[str] = _Key("configurationId", "The notification's configuration.")
    bucket: _Key[S3Bucket] = _Key("bucket", "The bucket.", convert=S3Bucket)
    get_object: _Key[S3Object] = _Key("object", "The object (Powertools' name).", convert=S3Object)


class S3EventRecord(_DictWrapper):
    """One record of an S3 event notification."""

    __slots__ = ()
    _repr_keys = (("event_name", "eventName"),)

    event_version: _Key[str] = _Key("eventVersion", "The event format version.")
    event_source: _Key[str] = _Key("eventSource", "``aws:s3``.")
    aws_region: _Key[str] = _Key("awsRegion", "The bucket's region.")
    event_time: _Key[str] = _Key("eventTime", "When it happened, ISO 8601.")
    event_name: _Key[str] = _Key("eventName", "``ObjectCreated:Put``, ``ObjectRemoved:Delete``...")
    s3: _Key[S3Message] = _Key("s3", "The bucket and object.", convert=S3Message)


class S3Event(_DictWrapper):
    """An S3 event notification, as S3 sends it to a queue (the message body)."""

    __slots__ = ()

    @property
    def records(self) -> Iterator[S3EventRecord]:
        """Each record of the notification."""
        for record in self._data["Records"]:
            yield S3EventRecord(record)

    @property
    def record(self) -> S3EventRecord:
        """The first record (a notification usually has one)."""
        return S3EventRecord(self._data["Records"][0])

    @property
    def bucket_name(self) -> str:
        """The first record's bucket."""
        return str(self._data["Records"][0]["s3"]["bucket"]["name"])

    @property
    def object_key(self) -> str:
        """The first record's object key, URL-decoded."""
        return unquote_plus(self._data["Records"][0]["s3"]["object"]["key"])


class SNSMessage(_DictWrapper):
    """An SNS notification as SNS delivers it to a queue (the message body, without raw
    message delivery)."""

    __slots__ = ()
    _repr_keys = (("message_id", "MessageId"),)

    get_type: _Key[str] = _Key("Type", "``Notification``.")
    message_id: _Key[str] = _Key("MessageId", "The SNS message id.")
    topic_arn: _Key[str] = _Key("TopicArn", "The topic it was published to.")
    subject: _Key[str | None] = _Key("Subject", "The subject, or ``None``.", optional=True)
    message: _Key[str] = _Key("Message", "The message published.")
    timestamp: _Key[str] = _Key("Timestamp", "When it was published, ISO 8601.")
    signature_version: _Key[str] = _Key("SignatureVersion", "The signature's version.")
    signature: _Key[str] = _Key("Signature", "The message's signature.")
    signing_cert_url: _Key[str] = _Key("SigningCertURL", "Where the signing certificate is.")
    unsubscribe_url: _Key[str] = _Key("UnsubscribeURL", "Where to unsubscribe.")

    @property
    def message_attributes(self) -> dict[str, Any]:
        """The message attributes, ``{name: {"Type": ..., "Value": ...}}``."""
        attributes: dict[str, Any] = self._data.get("MessageAttributes") or {}
        return attributes

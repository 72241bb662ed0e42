"""The view of an SQS record, as Lambda delivers it."""

from __future__ import annotations

import json
from typing import Any

from .._arn import require_sqs_arn
from ._base import _DictWrapper, _Key
from .nested import S3Event, SNSMessage


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

    In a record handler:

    ```python
    async def handle(record: SQSRecord) -> None:
        order = record.json_body  # the body, parsed once
        group = record.attributes.message_group_id  # None on a standard queue
    ```
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
    def decoded_nested_s3_event(self) -> S3Event:
        """The body as an S3 event notification (a bucket notifying this queue)."""
        return S3Event(self.json_body)

    @property
    def decoded_nested_sns_event(self) -> SNSMessage:
        """The body as an SNS notification (a topic this queue subscribes to)."""
        return SNSMessage(self.json_body)

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
        return require_sqs_arn(self._data["eventSourceARN"]).public_url()

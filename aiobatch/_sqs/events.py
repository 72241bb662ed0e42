"""Lambda's SQS event, made from what ReceiveMessage returns.

The one place that knows how Lambda's SQS event source mapping turns a received message
into a record: :func:`aiobatch.testing.event_from_messages` and the ``aiobatch run``
worker both build their events here.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """A message attribute in Lambda's camel-case shape (lists always present)."""
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = b64(bytes(value["BinaryValue"]))
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [b64(bytes(item)) for item in value.get("BinaryListValues", [])]
    attribute["dataType"] = value["DataType"]
    return attribute


def lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of Lambda's SQS event for one message of a ReceiveMessage response.

    Receive with ``MessageSystemAttributeNames=["All"]`` and
    ``MessageAttributeNames=["All"]`` for every field Lambda sends.
    """
    body = str(message["Body"])
    system = message.get("Attributes") or {}
    attributes = message.get("MessageAttributes")
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(system),  # strings, as botocore parses them
        "messageAttributes": (
            {name: _attribute(value) for name, value in attributes.items()} if attributes else {}
        ),
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region
    return record

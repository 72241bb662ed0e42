"""Synthetic Lambda events of every source, in the shapes of tests/fixtures/events."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent / "fixtures" / "events"


def sample(name: str) -> dict[str, Any]:
    """A fresh copy of a sample event (sqs, sqs-fifo, kinesis, dynamodb)."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def sqs(n: int, *, group: str | None = None, fail: bool = False) -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": "1", "SentTimestamp": "1764200000000"}
    if group is not None:
        attributes |= {"MessageGroupId": group, "MessageDeduplicationId": f"d-{n}"}
    return {
        "messageId": f"m-{n}",
        "receiptHandle": f"rh-{n}",
        "body": json.dumps({"n": n, "fail": fail}),
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:111122223333:orders"
        + (".fifo" if group is not None else ""),
        "awsRegion": "eu-west-1",
    }


def kinesis(n: int, *, key: str = "k", fail: bool = False) -> dict[str, Any]:
    data = base64.b64encode(json.dumps({"n": n, "fail": fail}).encode()).decode()
    sequence = f"4959022400000000000000000000000000000000{n:04d}"
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": key,
            "sequenceNumber": sequence,
            "data": data,
            "approximateArrivalTimestamp": 1764200000.5 + n,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::111122223333:role/consumer",
        "awsRegion": "eu-west-1",
        "eventSourceARN": "arn:aws:kinesis:eu-west-1:111122223333:stream/readings",
    }


def dynamodb(n: int, *, key: str = "k", fail: bool = False) -> dict[str, Any]:
    return {
        "eventID": f"e-{n}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1764200000,
            "Keys": {"pk": {"S": key}},
            "NewImage": {
                "pk": {"S": key},
                "n": {"N": str(n)},
                "fail": {"BOOL": fail},
            },
            "SequenceNumber": f"{n + 1:021d}",
            "SizeBytes": 59,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:111122223333:table/t/stream/2026",
    }


def payload(record: Any) -> dict[str, Any]:
    """The ``{"n", "fail"}`` payload of a wrapped record of any source."""
    if hasattr(record, "json_body"):
        body: dict[str, Any] = record.json_body
        return body
    if hasattr(record, "kinesis"):
        data: dict[str, Any] = record.kinesis.data_as_json()
        return data
    image = record.dynamodb.new_image
    return {"n": int(image["n"]), "fail": image["fail"]}


def identifier(raw: dict[str, Any]) -> str:
    if "messageId" in raw:
        return str(raw["messageId"])
    if "kinesis" in raw:
        return str(raw["kinesis"]["sequenceNumber"])
    return str(raw["dynamodb"]["SequenceNumber"])

"""The tests' own events: numbered records of every source, and the sample events.

Record ``n`` carries the payload ``{"n": n, "fail": fail}`` and a predictable
identifier (SQS ``m-{n}``, Kinesis and DynamoDB sequence numbers increasing with ``n``),
which the assertions rely on. The records are built with :mod:`aiobatch.testing`'s
builders, so they have every field Lambda sends; ``sample()`` loads the real-shaped
events of ``tests/fixtures/events``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

from aiobatch import EventType
from aiobatch.testing import dynamodb_record, kinesis_record, sqs_record

EVENTS = Path(__file__).resolve().parent / "fixtures" / "events"

QUEUE_ARN = "arn:aws:sqs:eu-west-1:111122223333:orders"
FIFO_QUEUE_ARN = QUEUE_ARN + ".fifo"
STREAM_ARN = "arn:aws:kinesis:eu-west-1:111122223333:stream/readings"
TABLE_STREAM_ARN = "arn:aws:dynamodb:eu-west-1:111122223333:table/t/stream/2026"
SENT_TIMESTAMP = 1_764_200_000_000

EVENT_TYPES = (EventType.SQS, EventType.KinesisDataStreams, EventType.DynamoDBStreams)
"""The sources :func:`record` and :func:`event` make records of."""


def sample(name: str) -> dict[str, Any]:
    """A fresh copy of a sample event (sqs, sqs-fifo, kinesis, dynamodb)."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def body(n: int, fail: bool = False) -> str:
    """The JSON text every numbered record carries."""
    return json.dumps({"n": n, "fail": fail})


def bodies(count: int, fail: Collection[int] = ()) -> list[str]:
    """The bodies of records ``0 .. count - 1``; those in ``fail`` say so."""
    return [body(n, n in fail) for n in range(count)]


def sqs(n: int, *, group: str | None = None, fail: bool = False) -> dict[str, Any]:
    """SQS record ``n``: message id ``m-{n}``, receipt handle ``rh-{n}``; FIFO with a group."""
    fifo = group is not None
    return sqs_record(
        body(n, fail),
        message_id=f"m-{n}",
        receipt_handle=f"rh-{n}",
        queue_arn=FIFO_QUEUE_ARN if fifo else QUEUE_ARN,
        message_group_id=group,
        message_deduplication_id=f"d-{n}" if fifo else None,
        sequence_number=f"{n + 1:020d}" if fifo else None,
        sent_timestamp=SENT_TIMESTAMP,
    )


def kinesis(n: int, *, key: str = "k", fail: bool = False) -> dict[str, Any]:
    """Kinesis record ``n``, its sequence number increasing with ``n``."""
    return kinesis_record(
        {"n": n, "fail": fail},
        partition_key=key,
        sequence_number=f"4959022400000000000000000000000000000000{n:04d}",
        stream_arn=STREAM_ARN,
        arrival_timestamp=SENT_TIMESTAMP / 1000 + 0.5 + n,
    )


def dynamodb(n: int, *, key: str = "k", fail: bool = False) -> dict[str, Any]:
    """DynamoDB Streams INSERT record ``n`` of item ``{"pk": key, "n": n, "fail": fail}``."""
    return dynamodb_record(
        keys={"pk": key},
        new_image={"pk": key, "n": n, "fail": fail},
        sequence_number=f"{n + 1:021d}",
        stream_arn=TABLE_STREAM_ARN,
        stream_view_type="NEW_AND_OLD_IMAGES",
    )


def record(event_type: EventType, n: int, *, fail: bool = False) -> dict[str, Any]:
    """Record ``n`` of any source."""
    if event_type is EventType.SQS:
        return sqs(n, fail=fail)
    if event_type is EventType.KinesisDataStreams:
        return kinesis(n, fail=fail)
    if event_type is EventType.DynamoDBStreams:
        return dynamodb(n, fail=fail)
    raise ValueError(f"no numbered records of {event_type}")


def event(event_type: EventType, count: int, fail: Collection[int] = ()) -> dict[str, Any]:
    """An event of records ``0 .. count - 1`` of any source; those in ``fail`` say so."""
    return {"Records": [record(event_type, n, fail=n in fail) for n in range(count)]}


def sqs_records(
    count: int, fail: Collection[int] = (), *, group: str | None = None
) -> list[dict[str, Any]]:
    """SQS records ``0 .. count - 1``; with ``group``, all in that FIFO group."""
    return [sqs(n, group=group, fail=n in fail) for n in range(count)]


def sqs_event(
    count: int, fail: Collection[int] = (), *, group: str | None = None
) -> dict[str, Any]:
    """An SQS event of records ``0 .. count - 1``; with ``group``, all in that FIFO group."""
    return {"Records": sqs_records(count, fail, group=group)}


def fifo_event(groups: str, fail: Collection[int] = ()) -> dict[str, Any]:
    """A FIFO event with one record per letter of ``groups``, the letter its group."""
    return {"Records": [sqs(n, group=group, fail=n in fail) for n, group in enumerate(groups)]}


def payload(record: Any) -> dict[str, Any]:
    """The ``{"n", "fail"}`` payload of a wrapped record of any source."""
    if hasattr(record, "json_body"):
        parsed: dict[str, Any] = record.json_body
        return parsed
    if hasattr(record, "kinesis"):
        data: dict[str, Any] = record.kinesis.data_as_json()
        return data
    image = record.dynamodb.new_image
    return {"n": int(image["n"]), "fail": image["fail"]}


def identifier(raw: dict[str, Any]) -> str:
    """The identifier Lambda's partial batch response names a raw record by."""
    if "messageId" in raw:
        return str(raw["messageId"])
    if "kinesis" in raw:
        return str(raw["kinesis"]["sequenceNumber"])
    return str(raw["dynamodb"]["SequenceNumber"])


def failures(event: dict[str, Any], indices: list[int]) -> dict[str, Any]:
    """The partial batch response that names the records of ``event`` at ``indices``."""
    return {
        "batchItemFailures": [{"itemIdentifier": identifier(event["Records"][i])} for i in indices]
    }

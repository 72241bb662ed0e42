"""What the examples share: aiobatch.testing's local SQS, with this process's AWS
clients pointed at it, bigger batches than one receive, and what the stories print:
which messages are still on a queue, and the ids in their bodies.

The examples run the library for real: real HTTP, the SQS JSON protocol, nothing
outside 127.0.0.1. In Lambda none of this exists: the event comes from the event
source mapping and the client talks to SQS.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiobatch.testing import LocalQueue, LocalSQS

# moto's server logs every request at INFO through werkzeug, which sets that level itself.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@contextmanager
def local_sqs() -> Iterator[LocalSQS]:
    """Start moto on a free loopback port and point SQS (and DynamoDB) clients at it."""
    with LocalSQS() as sqs:
        # moto serves every service on its one port: the DynamoDB example uses it too.
        settings = sqs.env() | {"AWS_ENDPOINT_URL_DYNAMODB": sqs.endpoint_url}
        saved = {name: os.environ.get(name) for name in settings}
        os.environ.update(settings)
        try:
            yield sqs
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def receive(queue: LocalQueue, count: int) -> dict[str, Any]:
    """``count`` messages received as one Lambda event. One receive gets at most ten;
    Lambda's batches, with a batching window, can be bigger."""
    records: list[dict[str, Any]] = []
    while len(records) < count:
        received = queue.receive_event(min(10, count - len(records)))["Records"]
        if not received:
            raise RuntimeError(f"{queue.name}: only {len(records)} of {count} messages received")
        records += received
    return {"Records": records}


def ids_by_message(event: dict[str, Any]) -> dict[str, Any]:
    """Message id -> the ``id`` in the message's JSON body, for printing."""
    return {r["messageId"]: json.loads(r["body"])["id"] for r in event["Records"]}


def still_on_queue(sqs: LocalSQS, queue: LocalQueue, event: dict[str, Any]) -> list[str]:
    """The message ids of the event that were not deleted; they are made visible again,
    as they would be once their visibility timeout ran out."""
    left = []
    for record in event["Records"]:
        try:  # a deleted message's receipt handle is refused
            sqs.client.change_message_visibility(
                QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )
        except sqs.client.exceptions.ReceiptHandleIsInvalid:
            continue
        left.append(record["messageId"])
    return left

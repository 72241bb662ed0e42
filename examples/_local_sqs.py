"""A local SQS for the examples: an embedded moto server on loopback, and a queue.

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

import boto3
from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.WARNING)

REGION = "us-east-1"


class FakeContext:
    """The part of Lambda's context object aiobatch reads."""

    function_name = "example"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@contextmanager
def local_sqs() -> Iterator[str]:
    """Start moto on a free loopback port and point SQS clients at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in _SETTINGS}
    os.environ.update(
        AWS_ENDPOINT_URL_SQS=endpoint,
        AWS_ENDPOINT_URL_DYNAMODB=endpoint,
        AWS_ACCESS_KEY_ID="example",
        AWS_SECRET_ACCESS_KEY="example",
        AWS_DEFAULT_REGION=REGION,
    )
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


_SETTINGS = (
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
)


class Queue:
    """A queue with some messages on it, received as Lambda would hand them over."""

    def __init__(self, name: str) -> None:
        self.client = boto3.client("sqs", region_name=REGION)
        self.url = self.client.create_queue(QueueName=name)["QueueUrl"]
        self.arn = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def send(self, payloads: list[dict[str, Any]]) -> None:
        for start in range(0, len(payloads), 10):
            self.client.send_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "MessageBody": json.dumps(p)}
                    for i, p in enumerate(payloads[start : start + 10])
                ],
            )

    def lambda_event(self, count: int) -> dict[str, Any]:
        """Receive ``count`` messages and shape them as Lambda's SQS event."""
        records: list[dict[str, Any]] = []
        while len(records) < count:
            response = self.client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=min(10, count - len(records))
            )
            records += [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arn,
                    "awsRegion": REGION,
                }
                for m in response.get("Messages", [])
            ]
        return {"Records": records}

    def still_on_queue(self, event: dict[str, Any]) -> list[str]:
        """The message ids of the event that were not deleted (they would come back)."""
        left = []
        for record in event["Records"]:
            try:  # a deleted message's receipt handle is refused
                self.client.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
            except self.client.exceptions.ReceiptHandleIsInvalid:
                continue
            left.append(record["messageId"])
        return left

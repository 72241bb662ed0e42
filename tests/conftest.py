"""Shared fixtures: a moto SQS server on loopback, fresh queues, call recording and faults."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server for the whole run, on 127.0.0.1 and a free port."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _clean_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's AWS settings, and none reaches real AWS."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def sqs_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point every SQS client at the moto server through the standard override."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    return moto_endpoint


@dataclass
class Queue:
    """A fresh moto queue and a sync client to seed and inspect it."""

    client: Any
    url: str
    arn: str
    region: str = REGION
    sent: list[str] = field(default_factory=list)

    def send(self, bodies: list[str]) -> None:
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            self.client.send_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)],
            )
        self.sent.extend(bodies)

    def receive_event(self, count: int) -> dict[str, Any]:
        """Receive ``count`` messages and shape them as Lambda's SQS event."""
        records: list[dict[str, Any]] = []
        while len(records) < count:
            response = self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, count - len(records)),
                VisibilityTimeout=300,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
            )
            for message in response.get("Messages", []):
                records.append(
                    {
                        "messageId": message["MessageId"],
                        "receiptHandle": message["ReceiptHandle"],
                        "body": message["Body"],
                        "attributes": message.get("Attributes", {}),
                        "messageAttributes": {},
                        "md5OfBody": message["MD5OfBody"],
                        "eventSource": "aws:sqs",
                        "eventSourceARN": self.arn,
                        "awsRegion": self.region,
                    }
                )
        records.sort(key=lambda record: json.loads(record["body"])["n"])
        return {"Records": records}

    def remaining_bodies(self, event: dict[str, Any]) -> list[str]:
        """The bodies of the event's messages that are still on the queue, sorted.

        Every message of the event is made visible again (a deleted one refuses), then
        the queue is drained.
        """
        for record in event["Records"]:
            with contextlib.suppress(self.client.exceptions.ReceiptHandleIsInvalid):
                self.client.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
                )
        found: dict[str, str] = {}
        while True:
            response = self.client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=300
            )
            messages = response.get("Messages", [])
            if not messages:
                return sorted(found.values(), key=lambda body: json.loads(body)["n"])
            for message in messages:
                found[message["MessageId"]] = message["Body"]


def make_queue(endpoint: str, *, fifo: bool = False, region: str = REGION) -> Queue:
    client = boto3.client(
        "sqs",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    name = f"q-{uuid.uuid4().hex[:16]}" + (".fifo" if fifo else "")
    attributes = {"FifoQueue": "true"} if fifo else {}
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Queue(client, url, arn, region)


@pytest.fixture
def queue(sqs_env: str) -> Queue:
    return make_queue(sqs_env)


def bodies(count: int, fail: set[int] | frozenset[int] = frozenset()) -> list[str]:
    return [json.dumps({"n": n, "fail": n in fail}) for n in range(count)]

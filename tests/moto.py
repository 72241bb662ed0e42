"""A moto SQS server on loopback for the whole run, and fresh queues on it.

Loaded as a pytest plugin by ``tests/conftest.py``. The server is
:class:`aiobatch.testing.LocalSQS` (moto's ``ThreadedMotoServer`` on 127.0.0.1 and a
free port); :class:`Queue` seeds a queue and turns what it receives into Lambda's SQS
event with :func:`aiobatch.testing.event_from_messages`.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import boto3
import pytest
from botocore.config import Config

from aiobatch.testing import LocalSQS, event_from_messages

REGION = "us-east-1"


def _n(body: str) -> int:
    number: int = json.loads(body)["n"]
    return number


@dataclass
class Queue:
    """A fresh moto queue and a sync client to seed and inspect it.

    Its messages carry the bodies of :func:`tests.events.bodies`; events and remaining
    bodies come back ordered by their ``n``.
    """

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
        messages: list[dict[str, Any]] = []
        while len(messages) < count:
            response = self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, count - len(messages)),
                VisibilityTimeout=300,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            )
            messages.extend(response.get("Messages", []))
        event = event_from_messages(messages, queue_arn=self.arn, region=self.region)
        event["Records"].sort(key=lambda record: _n(record["body"]))
        return event

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
                return sorted(found.values(), key=_n)
            for message in messages:
                found[message["MessageId"]] = message["Body"]


class MakeQueue(Protocol):
    """The ``make_queue`` fixture: a fresh queue on the moto server."""

    def __call__(self, *, fifo: bool = False, region: str = REGION) -> Queue: ...


@pytest.fixture(scope="session")
def local_sqs() -> Iterator[LocalSQS]:
    """One moto server for the whole run, on 127.0.0.1 and a free port."""
    with LocalSQS(region=REGION) as sqs:
        yield sqs


@pytest.fixture(scope="session")
def moto_endpoint(local_sqs: LocalSQS) -> str:
    return local_sqs.endpoint_url


@pytest.fixture
def sqs_env(local_sqs: LocalSQS, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point every SQS client at the moto server through the standard override."""
    for name, value in local_sqs.env().items():
        monkeypatch.setenv(name, value)
    return local_sqs.endpoint_url


@pytest.fixture
def make_queue(moto_endpoint: str) -> Iterator[MakeQueue]:
    """Make a fresh queue on the moto server: ``make_queue(fifo=False, region=REGION)``."""
    clients: dict[str, Any] = {}

    def make(*, fifo: bool = False, region: str = REGION) -> Queue:
        if region not in clients:
            clients[region] = boto3.client(
                "sqs",
                region_name=region,
                endpoint_url=moto_endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(proxies={}),
            )
        client = clients[region]
        name = f"q-{uuid.uuid4().hex[:16]}" + (".fifo" if fifo else "")
        attributes = {"FifoQueue": "true"} if fifo else {}
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return Queue(client, url, arn, region)

    yield make
    for client in clients.values():
        client.close()


@pytest.fixture
def queue(sqs_env: str, make_queue: MakeQueue) -> Queue:
    """A fresh standard queue, with every SQS client pointed at its server."""
    return make_queue()

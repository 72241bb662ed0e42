"""A stub SQS endpoint for the benchmarks that call SQS, run in its own process.

``python -m benchmarks._stub_sqs --delay 0.005`` listens on 127.0.0.1 (a free port),
prints ``PORT <port>``, and answers, in SQS's JSON protocol, until its standard input
closes, each after ``delay`` seconds:

- DeleteMessageBatch, ChangeMessageVisibilityBatch and SendMessageBatch: every entry
  Successful (a sent one with a new MessageId and its body's MD5);
- ReceiveMessage: always ``MaxNumberOfMessages`` (1 by default) new synthetic messages,
  each with a MessageId, ReceiptHandle, small JSON Body, its MD5OfBody and the system
  Attributes SQS sends for ``All`` on a standard queue (no message attributes);
- GetQueueAttributes: a standard queue (no FifoQueue) named by the last segment of the
  QueueUrl's path, ``arn:aws:sqs:us-east-1:123456789012:<name>``, VisibilityTimeout 30,
  a RedrivePolicy naming ``<name>-dlq`` (maxReceiveCount 5), and a few more of its
  settings (no message counts: the stub has no queue).

Any other call is a 400 ``UnsupportedOperation``. ``GET /__stats`` returns what it has
seen: ``calls`` and ``entries`` (DeleteMessageBatch calls and the entries they
deleted), ``visibility_calls`` and ``visibility_entries`` (ChangeMessageVisibilityBatch),
``receives`` and ``received`` (ReceiveMessage calls and the messages they returned),
``sends`` and ``sent`` (SendMessageBatch),
``attribute_calls``, ``unsupported`` and ``connections``.

Its own process, so that serving requests never competes with the client for the
GIL or the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import sys
import time
import uuid
import weakref
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

JSON_1_0 = "application/x-amz-json-1.0"
REGION = "us-east-1"
ACCOUNT = "123456789012"
SENDER_ID = "AIDAIENQZJOLO23YVJ4VO"  # the shape of an IAM user's id, as SQS reports it


class Stub:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self.entries = 0
        self.visibility_calls = 0
        self.visibility_entries = 0
        self.receives = 0
        self.received = 0
        self.attribute_calls = 0
        self.sends = 0
        self.sent = 0
        self.unsupported = 0
        self.connections = 0
        self._sequence = 0
        self._seen: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()

    def stats(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "entries": self.entries,
            "visibility_calls": self.visibility_calls,
            "visibility_entries": self.visibility_entries,
            "receives": self.receives,
            "received": self.received,
            "attribute_calls": self.attribute_calls,
            "sends": self.sends,
            "sent": self.sent,
            "unsupported": self.unsupported,
            "connections": self.connections,
        }

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET" and request.path == "/__stats":
            return web.json_response(self.stats())
        transport = request.transport
        if transport is not None and transport not in self._seen:
            self._seen.add(transport)
            self.connections += 1
        target = request.headers.get("X-Amz-Target", "")
        body = json.loads(await request.read() or b"{}")
        answer = {
            "AmazonSQS.DeleteMessageBatch": self.delete_message_batch,
            "AmazonSQS.ChangeMessageVisibilityBatch": self.change_message_visibility_batch,
            "AmazonSQS.ReceiveMessage": self.receive_message,
            "AmazonSQS.GetQueueAttributes": self.get_queue_attributes,
            "AmazonSQS.SendMessageBatch": self.send_message_batch,
        }.get(target)
        if answer is None:
            self.unsupported += 1
            error = {
                "__type": "com.amazonaws.sqs#UnsupportedOperation",
                "message": (
                    "this stub answers DeleteMessageBatch, ChangeMessageVisibilityBatch, "
                    "SendMessageBatch, ReceiveMessage and GetQueueAttributes only, not "
                    f"{target!r}"
                ),
            }
            return web.Response(status=400, body=json.dumps(error), content_type=JSON_1_0)
        await asyncio.sleep(self.delay)
        return web.Response(
            body=json.dumps(answer(body)),
            content_type=JSON_1_0,
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )

    def delete_message_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        entries = body.get("Entries", [])
        self.calls += 1
        self.entries += len(entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in entries], "Failed": []}

    def change_message_visibility_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        entries = body.get("Entries", [])
        self.visibility_calls += 1
        self.visibility_entries += len(entries)
        return {"Successful": [{"Id": entry["Id"]} for entry in entries], "Failed": []}

    def send_message_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        entries = body.get("Entries", [])
        self.sends += 1
        self.sent += len(entries)
        return {
            "Successful": [
                {
                    "Id": entry["Id"],
                    "MessageId": str(uuid.uuid4()),
                    "MD5OfMessageBody": hashlib.md5(
                        str(entry.get("MessageBody", "")).encode(), usedforsecurity=False
                    ).hexdigest(),
                }
                for entry in entries
            ],
            "Failed": [],
        }

    def receive_message(self, body: dict[str, Any]) -> dict[str, Any]:
        count = int(body.get("MaxNumberOfMessages", 1))
        now = str(int(time.time() * 1000))
        messages = []
        for _ in range(count):
            self._sequence += 1
            text = json.dumps({"order": self._sequence})
            messages.append(
                {
                    "MessageId": str(uuid.uuid4()),
                    # Real receipt handles are opaque base64 of about this length.
                    "ReceiptHandle": "AQEB" + base64.b64encode(os.urandom(132)).decode(),
                    "MD5OfBody": hashlib.md5(text.encode(), usedforsecurity=False).hexdigest(),
                    "Body": text,
                    "Attributes": {
                        "SenderId": SENDER_ID,
                        "ApproximateFirstReceiveTimestamp": now,
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": now,
                    },
                }
            )
        self.receives += 1
        self.received += count
        return {"Messages": messages}

    def get_queue_attributes(self, body: dict[str, Any]) -> dict[str, Any]:
        self.attribute_calls += 1
        name = urlsplit(str(body.get("QueueUrl", ""))).path.rstrip("/").rsplit("/", 1)[-1]
        return {
            "Attributes": {
                "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                "VisibilityTimeout": "30",
                "DelaySeconds": "0",
                "MaximumMessageSize": "262144",
                "MessageRetentionPeriod": "345600",
                "ReceiveMessageWaitTimeSeconds": "0",
                "SqsManagedSseEnabled": "true",
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-dlq",
                        "maxReceiveCount": 5,
                    }
                ),
            }
        }


async def serve(delay: float) -> None:
    stub = Stub(delay)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stub.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.005, help="seconds before answering")
    args = parser.parse_args()
    asyncio.run(serve(args.delay))


if __name__ == "__main__":
    main()

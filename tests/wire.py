"""Watching and faking what goes over the wire to SQS, through botocore's event hooks.

``before-send`` sees each HTTP attempt as sent (after serialisation and signing), so
the recorder asserts on the real request bodies, retries included. A scripted fault
answers an attempt itself instead of letting it reach moto.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aioboto3
from aiobotocore.awsrequest import AioAWSResponse

Fault = Callable[[dict[str, Any]], tuple[Any, ...]]
"""Answers an attempt: (status, body), or (status, body, extra headers)."""


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self) -> bytes:
        return self._data


@dataclass
class Wire:
    """Every DeleteMessageBatch attempt sent, and the faults still to play."""

    attempts: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault | None] = field(default_factory=deque)
    faked: int = 0

    @property
    def entries_per_attempt(self) -> list[int]:
        return [len(attempt["Entries"]) for attempt in self.attempts]

    async def before_send(self, request: Any, **_: Any) -> AioAWSResponse | None:
        payload = json.loads(request.body)
        self.attempts.append(payload)
        fault = self.faults.popleft() if self.faults else None
        if fault is None:
            return None
        self.faked += 1
        status, body, *extra = fault(payload)
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fake"}
        for more in extra:
            headers |= more
        return AioAWSResponse(request.url, status, headers, _Body(data))


def session_with(wire: Wire) -> Any:
    """An aioboto3 session whose SQS clients report to ``wire``."""
    session = aioboto3.Session()
    session.events.register_first("before-send.sqs.DeleteMessageBatch", wire.before_send)
    return session


def throttled(_: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return 400, {"__type": "com.amazonaws.sqs#ThrottlingException", "message": "Rate exceeded"}


def throttled_query_compatible(_: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Throttling in SQS's query-compatible form, whose code botocore does not retry."""
    return (
        400,
        {"__type": "com.amazonaws.sqs#RequestThrottled", "message": "Rate exceeded"},
        {"x-amzn-query-error": "AWS.SimpleQueueService.RequestThrottled;Sender"},
    )


def server_error(_: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return 500, {"__type": "com.amazonaws.sqs#InternalError", "message": "We are sorry"}


def entry_fails(*, sender_fault: bool, code: str = "InternalError") -> Fault:
    """An HTTP 200 answer in which the first entry failed and the rest were deleted.

    It answers in moto's place, so the "deleted" entries stay on moto's queue: tests
    using it assert on the attempts and the processor, not on the queue.
    """

    def fault(payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        first, *rest = payload["Entries"]
        return 200, {
            "Successful": [{"Id": entry["Id"]} for entry in rest],
            "Failed": [
                {
                    "Id": first["Id"],
                    "SenderFault": sender_fault,
                    "Code": code,
                    "Message": "injected",
                }
            ],
        }

    return fault

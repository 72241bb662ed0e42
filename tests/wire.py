"""Watching and faking what goes over the wire to SQS, through botocore's event hooks.

``before-send`` sees each HTTP attempt as sent (after serialisation and signing), so
the recorder asserts on the real request bodies, retries included. A scripted fault
answers an attempt itself instead of letting it reach moto. The session's clients also
report every request they send, of any operation, and every client made.
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


@dataclass(frozen=True)
class Request:
    """An HTTP request a client of the session sent: its operation and User-Agent."""

    operation: str
    user_agent: str


@dataclass
class Wire:
    """Every DeleteMessageBatch attempt sent, and the faults still to play."""

    attempts: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault | None] = field(default_factory=deque)
    faked: int = 0
    requests: list[Request] = field(default_factory=list)
    clients_made: int = 0

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

    def saw_request(self, request: Any, event_name: str, **_: Any) -> None:
        user_agent = request.headers["User-Agent"]
        if isinstance(user_agent, bytes):
            user_agent = user_agent.decode()
        self.requests.append(Request(event_name.rsplit(".", 1)[-1], user_agent))

    def saw_client(self, **_: Any) -> None:
        self.clients_made += 1


def session_with(wire: Wire) -> Any:
    """An aioboto3 session whose clients report to ``wire``."""
    session = aioboto3.Session()
    session.events.register_first("before-send.sqs.DeleteMessageBatch", wire.before_send)
    session.events.register("before-send", wire.saw_request)
    session.events.register("creating-client-class", wire.saw_client)
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

"""SQS's ``*Batch`` calls, written once: chunks of ten, every entry checked, retries.

DeleteMessageBatch, ChangeMessageVisibilityBatch and SendMessageBatch share one answer
shape (``Successful`` and ``Failed`` entries, ``SenderFault``), so one function makes
them all: entries go out in calls of at most ten per queue, issued concurrently under a
bound; entries that failed on the server's side are sent again with jittered backoff;
whatever is not confirmed is returned, never assumed done.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .._arn import QueueRef
from .._engine import Plan, run_all
from .._exceptions import error_code
from .clients import SQSClients

T = TypeVar("T")

MAX_ENTRIES_PER_CALL = 10
"""SQS's batch calls take at most ten entries."""

ENTRY_RETRIES = 3
"""How many more times an entry that failed on the server's side is sent again."""

RETRY_BASE_DELAY = 0.05
"""Seconds before the first entry retry; doubled each time, with full jitter."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One of SQS's batch calls."""

    name: str
    method: str


DELETE = Operation("DeleteMessageBatch", "delete_message_batch")
CHANGE_VISIBILITY = Operation("ChangeMessageVisibilityBatch", "change_message_visibility_batch")
SEND = Operation("SendMessageBatch", "send_message_batch")


MAX_BATCH_PAYLOAD = 1024 * 1024
"""SendMessageBatch takes at most 1 MiB of messages (bodies and attributes) a call."""


def message_size(entry: Mapping[str, Any]) -> int:
    """What a SendMessageBatch entry counts toward :data:`MAX_BATCH_PAYLOAD`: its body's
    and its message attributes' bytes (name, type and value)."""
    size = len(str(entry["MessageBody"]).encode())
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        if "StringValue" in value:
            size += len(str(value["StringValue"]).encode())
        if "BinaryValue" in value:
            size += len(bytes(value["BinaryValue"]))
    return size


def send_chunks(entries: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """``entries`` in order, in calls of at most ten and 1 MiB (an entry larger than that
    alone goes alone, for SQS to refuse)."""
    return _chunks(entries, message_size)


def _by_size(entries: Sequence[Entry]) -> list[list[Entry]]:
    """SendMessageBatch's calls of :class:`Entry`: as :func:`send_chunks`."""
    return _chunks(entries, lambda entry: message_size(entry.fields))


def _chunks(entries: Sequence[T], size_of: Callable[[T], int]) -> list[list[T]]:
    chunks: list[list[T]] = []
    size = 0
    for entry in entries:
        entry_size = size_of(entry)
        if (
            not chunks
            or len(chunks[-1]) == MAX_ENTRIES_PER_CALL
            or (size + entry_size > MAX_BATCH_PAYLOAD)
        ):
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry_size
    return chunks


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a batch call: its Id and fields, and the message it is about."""

    id: str
    message_id: str
    fields: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """An entry SQS did not confirm. ``sender_fault`` is ``True`` when SQS blamed the
    request, ``False`` when it kept failing on the server's side, ``None`` when the
    whole call failed (``code`` names the exception)."""

    entry: Entry
    queue_url: str
    code: str
    message: str
    sender_fault: bool | None


_THROTTLING_CODES = frozenset(
    {"RequestThrottled", "Throttling", "ThrottlingException", "RequestThrottledException"}
)


def throttled(exc: Exception) -> bool:
    """Whether a botocore ``ClientError`` says the request was throttled.

    botocore retries SQS's ``RequestThrottled`` itself, but an answer in SQS's
    query-compatible form (``x-amzn-query-error: AWS.SimpleQueueService.RequestThrottled;
    Sender``) gets the prefixed code, which botocore does not know as throttling.
    """
    code = error_code(exc)
    return code is not None and code.rsplit(".", 1)[-1] in _THROTTLING_CODES


def retry_delay(attempt: int) -> float:
    """Full-jitter exponential backoff before entry retry number ``attempt`` (from 1)."""
    return random.uniform(0, RETRY_BASE_DELAY * 2 ** (attempt - 1))


@dataclass(slots=True)
class _Call:
    """One call's worth of entries for one queue, and its progress."""

    queue: QueueRef
    pending: dict[str, Entry]  # entry Id -> entry, not yet confirmed
    url: str = ""
    unconfirmed: list[Unconfirmed] = field(default_factory=list)


class BatchCaller:
    """Makes one operation's batch calls through ``clients``; counts the attempts."""

    def __init__(self, clients: SQSClients) -> None:
        self.clients = clients
        self.calls = 0

    async def call(
        self,
        operation: Operation,
        entries: Mapping[QueueRef, Sequence[Entry]],
        deadline: float | None = None,
    ) -> list[Unconfirmed]:
        """Send every entry; returns those SQS did not confirm.

        Entry Ids must be unique per queue and match ``[A-Za-z0-9_-]{1,80}``. Past
        ``deadline`` (event loop time) no call starts and calls under way are
        abandoned: their unconfirmed entries are returned.
        """
        calls: list[_Call] = []
        for queue, queue_entries in entries.items():
            chunks: list[Sequence[Entry]]
            if operation is SEND:
                chunks = list(_by_size(queue_entries))
            else:
                chunks = [
                    queue_entries[start : start + MAX_ENTRIES_PER_CALL]
                    for start in range(0, len(queue_entries), MAX_ENTRIES_PER_CALL)
                ]
            for chunk in chunks:
                calls.append(_Call(queue, {entry.id: entry for entry in chunk}))
        if len(calls) == 1 and deadline is None:
            # One call and no deadline (a worker's batch of ten): what run_all would do
            # for it, without its pool (about 30 µs).
            try:
                return await self._one_call(operation, calls[0])
            except Exception as exc:
                return _call_error(0, calls[0], exc)
        plan = Plan(
            concurrency=self.clients.max_pool_connections,
            deadline=deadline,
            deadline_text="the function was about to time out",
        )

        async def one(call: _Call) -> list[Unconfirmed]:
            return await self._one_call(operation, call)

        outcomes = await run_all(calls, one, _done, _call_error, plan)
        return [unconfirmed for outcome in outcomes for unconfirmed in outcome]

    async def _one_call(self, operation: Operation, call: _Call) -> list[Unconfirmed]:
        client = await self.clients.get(call.queue.region)
        call.url = url = call.queue.url_on(client.meta.endpoint_url)
        method = getattr(client, operation.method)
        last_error: dict[str, tuple[str, str]] = {}
        for attempt in range(ENTRY_RETRIES + 1):
            if attempt:
                await asyncio.sleep(retry_delay(attempt))
            self.calls += 1
            # botocore retries throttling, 5xx and connection errors itself; what it
            # still raises reaches _call_error with the entries left pending.
            try:
                response = await method(
                    QueueUrl=url,
                    Entries=[{"Id": entry.id, **entry.fields} for entry in call.pending.values()],
                )
            except Exception as exc:
                if attempt < ENTRY_RETRIES and throttled(exc):
                    continue
                raise
            confirmed = {entry.get("Id") for entry in response.get("Successful", ())}
            failed = {entry.get("Id"): entry for entry in response.get("Failed", ())}
            retry: dict[str, Entry] = {}
            for entry_id, entry in call.pending.items():
                if entry_id in confirmed:
                    continue
                answer = failed.get(entry_id)
                if answer is None:
                    last_error[entry_id] = ("NotConfirmed", "the response did not mention it")
                    retry[entry_id] = entry
                    continue
                code, message = str(answer.get("Code", "")), str(answer.get("Message", ""))
                if answer.get("SenderFault", False):
                    call.unconfirmed.append(Unconfirmed(entry, url, code, message, True))
                else:
                    last_error[entry_id] = (code, message)
                    retry[entry_id] = entry
            call.pending = retry
            if not retry:
                break
        for entry_id, entry in call.pending.items():
            call.unconfirmed.append(Unconfirmed(entry, url, *last_error[entry_id], False))
        return call.unconfirmed


def _done(index: int, call: _Call, unconfirmed: list[Unconfirmed]) -> list[Unconfirmed]:
    return unconfirmed


def _call_error(index: int, call: _Call, exc: Exception) -> list[Unconfirmed]:
    """The call failed (an error botocore gave up on, the deadline, making the client):
    whatever it had not confirmed is not done."""
    url = call.url or call.queue.arn
    code, message = type(exc).__name__, str(exc)
    return call.unconfirmed + [
        Unconfirmed(entry, url, code, message, None) for entry in call.pending.values()
    ]

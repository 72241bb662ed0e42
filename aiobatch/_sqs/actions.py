"""The seam between delete mode and SQS: a small protocol and its aioboto3 implementation.

``PartialSQSProcessor(sqs=...)`` takes anything with these methods, so tests can pass a
recording fake (:class:`aiobatch.testing.FakeSQS`) instead of reaching for a network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

from .._arn import QueueRef, require_sqs_arn
from .._exceptions import UndeletedMessage
from .._records import SQSRecord
from .batch_calls import CHANGE_VISIBILITY, DELETE, SEND, BatchCaller, Entry, Unconfirmed
from .clients import COLD_CLIENT_TIME, SQSClients


@runtime_checkable
class SQSActions(Protocol):
    """What delete mode asks of SQS."""

    def startup_time(self) -> float:
        """Seconds the next call may need before it is sent (making a client the first
        time); 0 when ready. Delete mode leaves this much more time for cleanup."""
        ...

    async def delete_messages(
        self, messages: Sequence[SQSRecord], *, deadline: float | None = None
    ) -> list[UndeletedMessage]:
        """Delete ``messages``; return those that could not be deleted, each with why.

        Past ``deadline`` (event loop time) give up and report what is unconfirmed.
        """
        ...

    async def aclose(self) -> None:
        """Release clients and connections."""
        ...


class CallFailure(NamedTuple):
    """An entry of a visibility change or a send that SQS did not confirm."""

    entry_id: str
    message_id: str
    queue_url: str
    code: str
    message: str
    sender_fault: bool | None


VisibilityChange = tuple[str, str, str, str, int]
"""A visibility change: entry Id, message id, queue ARN, receipt handle, seconds."""

OutgoingMessage = tuple[str, str, Mapping[str, Any]]
"""A message to send: entry Id, the id of the message it copies, SendMessage fields."""


@runtime_checkable
class SQSRetryActions(SQSActions, Protocol):
    """What the retry policy (``retry=``, ``non_retryable=``) asks of SQS besides
    deletes. Entry Ids are unique per call and match ``[A-Za-z0-9_-]{1,80}``."""

    async def change_visibility(
        self, changes: Sequence[VisibilityChange], *, deadline: float | None = None
    ) -> list[CallFailure]:
        """Set each message's visibility timeout; return the changes not confirmed."""
        ...

    async def dead_letter_queue_arn(self, queue_arn: str) -> str | None:
        """The ARN of the queue's dead-letter queue (its ``RedrivePolicy``), or ``None``
        when it has none. Raises when the queue cannot be asked."""
        ...

    async def send_messages(
        self,
        queue: QueueRef,
        messages: Sequence[OutgoingMessage],
        *,
        deadline: float | None = None,
    ) -> list[CallFailure]:
        """Send the messages to ``queue``; return those SQS did not confirm."""
        ...


def _failures(unconfirmed: Sequence[Unconfirmed]) -> list[CallFailure]:
    return [
        CallFailure(u.entry.id, u.entry.message_id, u.queue_url, u.code, u.message, u.sender_fault)
        for u in unconfirmed
    ]


class AioSQSActions:
    """:class:`SQSActions` on aioboto3: one client per region, cached per event loop.

    ``session`` (an ``aioboto3.Session``) and ``config`` (a ``botocore.config.Config``,
    merged over aiobatch's defaults: ``standard`` retries, 50 pooled connections, no
    parameter validation, a fixed User-Agent) are optional. ``clients_created`` and
    ``calls`` count clients made and call attempts. Making one imports aioboto3.
    """

    def __init__(self, session: Any = None, config: Any = None) -> None:
        # Imported now, when the processor is made (Lambda's init phase, at module level)
        # rather than in the first invocation, whose deadline it would eat: about 0.3 to
        # 0.8 s, and nothing can interrupt an import.
        try:
            import aioboto3  # noqa: F401
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"{exc}: delete mode and the retry policy call SQS through aioboto3; "
                "pip install 'aiobatch-lambda[sqs]'",
                name=exc.name,
            ) from exc

        self._clients = SQSClients(session, config)
        self._caller = BatchCaller(self._clients)

    @property
    def clients_created(self) -> int:
        return self._clients.created

    @property
    def calls(self) -> int:
        return self._caller.calls

    def startup_time(self) -> float:
        return 0.0 if self._clients.ready() else COLD_CLIENT_TIME

    async def delete_messages(
        self, messages: Sequence[SQSRecord], *, deadline: float | None = None
    ) -> list[UndeletedMessage]:
        """Chunked DeleteMessageBatch per queue; entry Ids are positions in ``messages``."""
        by_queue: dict[QueueRef, list[Entry]] = {}
        for position, record in enumerate(messages):
            queue = require_sqs_arn(record.event_source_arn)
            entry = Entry(
                str(position), record.message_id, {"ReceiptHandle": record.receipt_handle}
            )
            by_queue.setdefault(queue, []).append(entry)
        unconfirmed = await self._caller.call(DELETE, by_queue, deadline)
        return [
            UndeletedMessage(u.entry.message_id, u.queue_url, u.code, u.message, u.sender_fault)
            for u in unconfirmed
        ]

    async def change_visibility(
        self, changes: Sequence[VisibilityChange], *, deadline: float | None = None
    ) -> list[CallFailure]:
        """Chunked ChangeMessageVisibilityBatch per queue."""
        by_queue: dict[QueueRef, list[Entry]] = {}
        for entry_id, message_id, queue_arn, receipt_handle, seconds in changes:
            entry = Entry(
                entry_id,
                message_id,
                {"ReceiptHandle": receipt_handle, "VisibilityTimeout": seconds},
            )
            by_queue.setdefault(require_sqs_arn(queue_arn), []).append(entry)
        return _failures(await self._caller.call(CHANGE_VISIBILITY, by_queue, deadline))

    async def dead_letter_queue_arn(self, queue_arn: str) -> str | None:
        queue = require_sqs_arn(queue_arn)
        client = await self._clients.get(queue.region)
        response = await client.get_queue_attributes(
            QueueUrl=queue.url_on(client.meta.endpoint_url), AttributeNames=["RedrivePolicy"]
        )
        return redrive_target_arn(response.get("Attributes", {}).get("RedrivePolicy"))

    async def send_messages(
        self,
        queue: QueueRef,
        messages: Sequence[OutgoingMessage],
        *,
        deadline: float | None = None,
    ) -> list[CallFailure]:
        """SendMessageBatch in calls of at most ten messages and 1 MiB."""
        entries = [Entry(entry_id, message_id, fields) for entry_id, message_id, fields in messages]
        return _failures(await self._caller.call(SEND, {queue: entries}, deadline))

    async def aclose(self) -> None:
        await self._clients.aclose()


def redrive_target_arn(policy: Any) -> str | None:
    """The ``deadLetterTargetArn`` of a queue's ``RedrivePolicy`` attribute (JSON)."""
    if not isinstance(policy, str) or not policy:
        return None
    try:
        arn = json.loads(policy).get("deadLetterTargetArn")
    except (ValueError, AttributeError):
        return None
    return arn if isinstance(arn, str) and arn else None

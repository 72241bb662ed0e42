"""The seam between delete mode and SQS: a small protocol and its aioboto3 implementation.

``PartialSQSProcessor(sqs=...)`` takes anything with these methods, so tests can pass a
recording fake (:class:`aiobatch.testing.FakeSQS`) instead of reaching for a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from .._arn import QueueRef, require_sqs_arn
from .._exceptions import UndeletedMessage
from .._records import SQSRecord
from .batch_calls import DELETE, BatchCaller, Entry
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
        import aioboto3  # noqa: F401

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

    async def aclose(self) -> None:
        await self._clients.aclose()

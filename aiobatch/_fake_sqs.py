"""A recording stand-in for SQS, for unit tests of delete mode and the retry policy
(aiobatch.testing.FakeSQS)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ._arn import QueueRef, parse_sqs_arn
from ._exceptions import UndeletedMessage
from ._records import SQSRecord
from ._sqs.actions import CallFailure, OutgoingMessage, VisibilityChange


def _url(arn: str) -> str:
    queue = parse_sqs_arn(arn)
    return queue.public_url() if queue is not None else arn


class FakeSQS:
    """An :class:`~aiobatch.SQSActions` that records what a processor asks of SQS,
    without a network: ``PartialSQSProcessor(sqs=FakeSQS())``, or
    ``BatchProcessor(EventType.SQS, retry=Backoff(), sqs=FakeSQS())``.

    ``delete_calls`` holds the messages of each :meth:`delete_messages` call,
    ``deadlines`` the deadline each was given, ``deleted`` every message it confirmed.
    Messages whose id is in ``undeletable`` are answered as SQS answers a stale receipt
    handle (``ReceiptHandleIsInvalid``, the sender's fault), and so not deleted.
    ``startup_time`` is what it says a first call needs (real clients: 0.5 s cold).

    The retry policy's calls: ``visibility`` maps each message id to the visibility
    timeout it was last given (``unchangeable`` ids are refused); ``sent`` lists
    ``(queue ARN, message id, SendMessage fields)`` of each message sent to a
    dead-letter queue (``unsendable`` ids are refused); ``dead_letter_queues`` maps a
    queue's ARN to its dead-letter queue's, as its redrive policy would;
    ``retry_deadlines`` holds the deadline of each visibility change and send call.
    """

    def __init__(
        self,
        *,
        undeletable: Collection[str] = (),
        startup_time: float = 0.0,
        dead_letter_queues: Mapping[str, str] | None = None,
        unchangeable: Collection[str] = (),
        unsendable: Collection[str] = (),
    ) -> None:
        self.undeletable = set(undeletable)
        self.unchangeable = set(unchangeable)
        self.unsendable = set(unsendable)
        self.dead_letter_queues = dict(dead_letter_queues or {})
        self.delete_calls: list[list[SQSRecord]] = []
        self.deadlines: list[float | None] = []
        self.deleted: list[SQSRecord] = []
        self.visibility: dict[str, int] = {}
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.retry_deadlines: list[float | None] = []
        self.closed = 0
        self._startup_time = startup_time

    def startup_time(self) -> float:
        return self._startup_time

    async def delete_messages(
        self, messages: Sequence[SQSRecord], *, deadline: float | None = None
    ) -> list[UndeletedMessage]:
        self.delete_calls.append(list(messages))
        self.deadlines.append(deadline)
        undeleted: list[UndeletedMessage] = []
        for message in messages:
            if message.message_id in self.undeletable:
                undeleted.append(
                    UndeletedMessage(
                        message.message_id,
                        _url(message.event_source_arn),
                        "ReceiptHandleIsInvalid",
                        "the receipt handle is not valid (FakeSQS)",
                        True,
                    )
                )
            else:
                self.deleted.append(message)
        return undeleted

    async def change_visibility(
        self, changes: Sequence[VisibilityChange], *, deadline: float | None = None
    ) -> list[CallFailure]:
        self.retry_deadlines.append(deadline)
        refused: list[CallFailure] = []
        for entry_id, message_id, queue_arn, _receipt_handle, seconds in changes:
            if message_id in self.unchangeable:
                refused.append(
                    CallFailure(
                        entry_id,
                        message_id,
                        _url(queue_arn),
                        "ReceiptHandleIsInvalid",
                        "the receipt handle is not valid (FakeSQS)",
                        True,
                    )
                )
            else:
                self.visibility[message_id] = seconds
        return refused

    async def dead_letter_queue_arn(self, queue_arn: str) -> str | None:
        return self.dead_letter_queues.get(queue_arn)

    async def send_messages(
        self,
        queue: QueueRef,
        messages: Sequence[OutgoingMessage],
        *,
        deadline: float | None = None,
    ) -> list[CallFailure]:
        self.retry_deadlines.append(deadline)
        refused: list[CallFailure] = []
        for entry_id, message_id, fields in messages:
            if message_id in self.unsendable:
                refused.append(
                    CallFailure(
                        entry_id,
                        message_id,
                        _url(queue.arn),
                        "InternalError",
                        "the send failed (FakeSQS)",
                        False,
                    )
                )
            else:
                self.sent.append((queue.arn, message_id, dict(fields)))
        return refused

    async def aclose(self) -> None:
        self.closed += 1

"""A recording stand-in for SQS, for unit tests of delete mode (aiobatch.testing.FakeSQS)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ._arn import parse_sqs_arn
from ._exceptions import UndeletedMessage
from ._records import SQSRecord


class FakeSQS:
    """An :class:`~aiobatch.SQSActions` that records what delete mode asks, without a
    network: ``PartialSQSProcessor(sqs=FakeSQS())``.

    ``delete_calls`` holds the messages of each :meth:`delete_messages` call,
    ``deadlines`` the deadline each was given, ``deleted`` every message it confirmed.
    Messages whose id is in ``undeletable`` are answered as SQS answers a stale receipt
    handle (``ReceiptHandleIsInvalid``, the sender's fault), and so not deleted.
    ``startup_time`` is what it says a first call needs (real clients: 0.5 s cold).
    """

    def __init__(self, *, undeletable: Collection[str] = (), startup_time: float = 0.0) -> None:
        self.undeletable = set(undeletable)
        self.delete_calls: list[list[SQSRecord]] = []
        self.deadlines: list[float | None] = []
        self.deleted: list[SQSRecord] = []
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
                queue = parse_sqs_arn(message.event_source_arn)
                url = queue.public_url() if queue is not None else message.event_source_arn
                undeleted.append(
                    UndeletedMessage(
                        message.message_id,
                        url,
                        "ReceiptHandleIsInvalid",
                        "the receipt handle is not valid (FakeSQS)",
                        True,
                    )
                )
            else:
                self.deleted.append(message)
        return undeleted

    async def aclose(self) -> None:
        self.closed += 1

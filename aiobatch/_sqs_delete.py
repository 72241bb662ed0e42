"""Deleting successfully processed messages: chunked DeleteMessageBatch with retries.

aioboto3 is imported here, lazily, the first time a delete is needed: the
partial-response path never pays for it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _engine
from ._events import QueueRef, parse_sqs_arn, sqs_records
from ._exceptions import SQSBatchProcessingError, UndeletedMessage
from ._processor import DEFAULT_MAX_CONCURRENCY, RecordHandlerProcessor
from ._records import SQSRecord

logger = logging.getLogger("aiobatch")

MAX_ENTRIES_PER_CALL = 10
"""DeleteMessageBatch takes at most ten entries."""

ENTRY_RETRIES = 3
"""How many more times an entry that failed on the server's side is sent again."""

RETRY_BASE_DELAY = 0.05
"""Seconds before the first entry retry; doubled each time, with full jitter."""

DEFAULT_MAX_POOL_CONNECTIONS = 50

RETURN_TIME = 0.1
"""Seconds kept, when Lambda's timeout is known, between the deletes and the timeout."""

COLD_CLIENT_TIME = 0.5
"""Seconds added to the automatic deadline margin while no SQS client is made: importing
aioboto3 and making a client takes about 0.27 s on a developer machine, several times
that on a small Lambda."""


def queue_url(endpoint_url: str, queue: QueueRef) -> str:
    """The queue URL on an endpoint: ``<endpoint>/<account>/<name>``.

    The client's endpoint is right for the queue's partition (``amazonaws.com``,
    ``amazonaws.com.cn``, ...) and reflects any endpoint override.
    """
    return f"{endpoint_url.rstrip('/')}/{queue.account}/{queue.name}"


def retry_delay(attempt: int) -> float:
    """Full-jitter exponential backoff before entry retry number ``attempt`` (from 1)."""
    return random.uniform(0, RETRY_BASE_DELAY * 2 ** (attempt - 1))


@dataclass(slots=True)
class _Call:
    """One DeleteMessageBatch call's worth of entries for one queue, and its progress."""

    queue: QueueRef
    pending: dict[str, SQSRecord]  # entry Id -> record, not yet confirmed deleted
    url: str = ""
    undeleted: list[UndeletedMessage] = field(default_factory=list)


def default_config(user_config: Any = None) -> Any:
    """Our client defaults (standard retry mode, a pool sized for concurrent deletes),
    overridden by anything the user's botocore ``Config`` sets."""
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 5},
        max_pool_connections=DEFAULT_MAX_POOL_CONNECTIONS,
    )
    return config if user_config is None else config.merge(user_config)


class SQSClients:
    """aioboto3 SQS clients, one per region, cached for the event loop that made them.

    Clients are bound to their event loop. The cache is dropped when the loop changes,
    and closed when its loop shuts down: an async generator left suspended on the loop
    is finalised by ``loop.shutdown_asyncgens()``, which ``asyncio.run`` and
    ``asyncio.Runner.close`` (the sync facade's, at process exit) both call.
    """

    def __init__(self, session: Any = None, config: Any = None) -> None:
        self._session = session
        self._user_config = config
        self._config: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, Any] = {}
        self._lock: asyncio.Lock | None = None
        self._closer: AsyncIterator[None] | None = None
        self.created = 0

    def ready(self) -> bool:
        """Whether a client is made on the running loop."""
        return bool(self._clients) and self._loop is asyncio.get_running_loop()

    @property
    def max_pool_connections(self) -> int:
        return int(self._get_config().max_pool_connections)

    def _get_config(self) -> Any:
        if self._config is None:
            self._config = default_config(self._user_config)
        return self._config

    async def get(self, region: str) -> Any:
        """The client for ``region`` on the running loop, made on first use."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            await self._bind(loop)
        client = self._clients.get(region)
        if client is None:
            assert self._lock is not None
            async with self._lock:
                client = self._clients.get(region)
                if client is None:
                    client = await self._make(region)
                    self._clients[region] = client
        return client

    async def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        # Clients of another loop cannot be closed from this one; that loop's own
        # shutdown closes them.
        self._loop = loop
        self._clients = {}
        self._lock = asyncio.Lock()
        self._closer = closer = _close_at_shutdown(self._clients)
        # Held here until its loop shuts down: dropped with its processor, the generator
        # would be finalised on a loop that may never run again, leaving clients open.
        _closers[id(self._clients)] = closer
        await anext(closer)

    async def _make(self, region: str) -> Any:
        session = self._session
        if session is None:
            import aioboto3

            session = self._session = aioboto3.Session()
        client = await session.client(
            "sqs", region_name=region, config=self._get_config()
        ).__aenter__()
        self.created += 1
        return client


_closers: dict[int, AsyncIterator[None]] = {}


async def _close_at_shutdown(clients: dict[str, Any]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        _closers.pop(id(clients), None)
        for client in list(clients.values()):
            try:
                await client.close()
            except Exception:  # closing must not mask the reason the loop is ending
                logger.debug("closing an SQS client failed", exc_info=True)
        clients.clear()


class SQSDeleter:
    """Deletes messages in chunks of ten, calls issued concurrently under a bound."""

    def __init__(self, clients: SQSClients) -> None:
        self.clients = clients
        self.calls = 0

    async def delete(
        self, records: Sequence[tuple[int, SQSRecord]], deadline: float | None = None
    ) -> list[UndeletedMessage]:
        """Delete each ``(index, record)``; returns the messages that could not be deleted.

        The entry Id of a record is its index in the batch: unique within a call, and
        within ``[A-Za-z0-9_-]{1,80}`` as SQS requires. Past ``deadline`` (event loop
        time) no call starts and calls under way are abandoned: their unconfirmed
        entries are reported, never assumed deleted.
        """
        by_queue: dict[str, list[tuple[int, SQSRecord]]] = {}
        for index, record in records:
            by_queue.setdefault(record.event_source_arn, []).append((index, record))
        calls: list[_Call] = []
        for arn, queue_records in by_queue.items():
            queue = parse_sqs_arn(arn)
            if queue is None:  # validated with the event; kept as a guard, never dropped
                raise ValueError(f"not an SQS queue ARN: {arn!r}")
            for start in range(0, len(queue_records), MAX_ENTRIES_PER_CALL):
                chunk = queue_records[start : start + MAX_ENTRIES_PER_CALL]
                calls.append(_Call(queue, {str(index): record for index, record in chunk}))
        plan = _engine.Plan(
            concurrency=self.clients.max_pool_connections,
            deadline=deadline,
            deadline_text="the function was about to time out",
        )
        outcomes = await _engine.run_all(calls, self._delete_call, self._call_error, plan)
        return [undeleted for outcome in outcomes for undeleted in outcome]

    async def _delete_call(self, call: _Call) -> list[UndeletedMessage]:
        client = await self.clients.get(call.queue.region)
        call.url = url = queue_url(client.meta.endpoint_url, call.queue)
        last_error: dict[str, tuple[str, str]] = {}
        for attempt in range(ENTRY_RETRIES + 1):
            if attempt:
                await asyncio.sleep(retry_delay(attempt))
            self.calls += 1
            # botocore retries throttling, 5xx and connection errors itself; what it
            # still raises reaches _call_error with the entries left pending.
            response = await client.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": entry_id, "ReceiptHandle": record.receipt_handle}
                    for entry_id, record in call.pending.items()
                ],
            )
            confirmed = {entry.get("Id") for entry in response.get("Successful", ())}
            failed = {entry.get("Id"): entry for entry in response.get("Failed", ())}
            retry: dict[str, SQSRecord] = {}
            for entry_id, record in call.pending.items():
                if entry_id in confirmed:
                    continue
                entry = failed.get(entry_id)
                if entry is None:
                    last_error[entry_id] = ("NotConfirmed", "the response did not mention it")
                    retry[entry_id] = record
                    continue
                code, message = str(entry.get("Code", "")), str(entry.get("Message", ""))
                if entry.get("SenderFault", False):
                    call.undeleted.append(_one(record, url, code, message, True))
                else:
                    last_error[entry_id] = (code, message)
                    retry[entry_id] = record
            call.pending = retry
            if not retry:
                break
        for entry_id, record in call.pending.items():
            call.undeleted.append(_one(record, url, *last_error[entry_id], False))
        return call.undeleted

    def _call_error(self, index: int, call: _Call, exc: Exception) -> list[UndeletedMessage]:
        """The call failed (an error botocore gave up on, the deadline, making the
        client): whatever it had not confirmed is not deleted."""
        url = call.url or call.queue.arn
        return call.undeleted + _undeleted(call.pending, url, type(exc).__name__, str(exc), None)


def _one(
    record: SQSRecord, url: str, code: str, message: str, sender_fault: bool | None
) -> UndeletedMessage:
    return UndeletedMessage(record.message_id, url, code, message, sender_fault)


def _undeleted(
    entries: dict[str, SQSRecord], url: str, code: str, message: str, sender_fault: bool | None
) -> list[UndeletedMessage]:
    return [_one(record, url, code, message, sender_fault) for record in entries.values()]


class PartialSQSProcessor(RecordHandlerProcessor):
    """Delete mode: when some records fail, delete the successful messages and raise.

    Lambda then redelivers only the failed messages. Needs ``sqs:DeleteMessageBatch``
    on the queue. With every record a success nothing is called (Lambda deletes the
    batch itself); with every record a failure nothing is deleted.

    ::

        processor = PartialSQSProcessor()

        def lambda_handler(event, context):
            with processor(event["Records"], record_handler, lambda_context=context):
                processor.process()

    ``session`` (an ``aioboto3.Session``) and ``config`` (a ``botocore.config.Config``,
    merged over aiobatch's defaults: ``standard`` retries, 50 pooled connections) are
    optional. ``suppress_exception=True`` returns instead of raising; the messages that
    could not be deleted are then logged at ERROR and kept in
    :attr:`undeleted_messages`.
    """

    def __init__(
        self,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        suppress_exception: bool = False,
        session: Any = None,
        config: Any = None,
        use_threads: bool = False,
        record_timeout: float | None = None,
        deadline_margin: float | None = None,
    ) -> None:
        super().__init__(
            max_concurrency=max_concurrency,
            use_threads=use_threads,
            record_timeout=record_timeout,
            deadline_margin=deadline_margin,
        )
        self.suppress_exception = suppress_exception
        self._clients = SQSClients(session, config)
        self._deleter = SQSDeleter(self._clients)
        self.undeleted_messages: list[UndeletedMessage] = []

    def _parse_records(self, records: Sequence[Any]) -> list[SQSRecord]:
        return sqs_records(records)

    def _cleanup_allowance(self) -> float:
        return 0.0 if self._clients.ready() else COLD_CLIENT_TIME

    async def _prepare(self) -> None:
        self.undeleted_messages = []

    async def _clean(self) -> None:
        results = self._results
        if results is None:  # processing never finished: delete nothing
            return
        successes: list[tuple[int, SQSRecord]] = []
        failed_ids: set[str] = set()
        for index, (record, result) in enumerate(zip(self.records, results, strict=True)):
            if result[0] == "success":
                successes.append((index, record))
            else:
                failed_ids.add(record.message_id)
        if not failed_ids:
            return
        failed_count = len(results) - len(successes)
        # SQS may deliver one message twice in a batch. Deleting a success's copy would
        # delete the message whose other copy failed: keep it, and say so.
        kept = [
            UndeletedMessage(
                record.message_id,
                record.event_source_arn,
                "DuplicateOfFailedMessage",
                "another copy of this message failed in the same batch",
                None,
            )
            for _, record in successes
            if record.message_id in failed_ids
        ]
        if kept:
            successes = [(i, r) for i, r in successes if r.message_id not in failed_ids]
        self.undeleted_messages = kept
        if successes:
            deadline = None if self.lambda_end is None else self.lambda_end - RETURN_TIME
            self.undeleted_messages += await self._deleter.delete(successes, deadline)
        successes_count = len(successes) + len(kept)
        undeleted = self.undeleted_messages
        summary = (
            f"{failed_count} of {len(results)} records failed and will be redelivered; "
            f"{successes_count - len(undeleted)} successful messages were deleted"
        )
        if undeleted:
            summary += f", {len(undeleted)} could not be deleted and will be redelivered too"
        if self.suppress_exception:
            for message in undeleted:
                logger.error(
                    "message %s of %s could not be deleted: %s: %s",
                    message.message_id,
                    message.queue_url,
                    message.code,
                    message.message,
                )
            return
        raise SQSBatchProcessingError(summary, self.failed_records, undeleted)

"""Delete mode: delete the successful messages of a partly failed batch, then raise.

Lambda then redelivers only the failed messages. The deletes go through an
:class:`~aiobatch.SQSActions` (aioboto3 unless one is given).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

from ._arn import parse_sqs_arn
from ._batch import Batch
from ._engine import Stop
from ._exceptions import SQSBatchProcessingError, UndeletedMessage
from ._processor import (
    DEFAULT_MAX_CONCURRENCY,
    BatchEndHook,
    BatchStartHook,
    RecordHandlerProcessor,
    _Lane,
)
from ._records import SQSRecord
from ._retry import Backoff, NonRetryable, make_policy
from ._sources import QUEUE_ARN, RECEIPT_HANDLE, SQS, validate

if TYPE_CHECKING:
    from ._sqs import SQSActions


class _Deletes:
    """What ``PartialSQSProcessor._clean`` returns: the deletes, run when awaited (not
    a coroutine, so that one a plain override never awaits is no warning: the
    lifecycle runs the deletes then, see ``_after_clean``)."""

    __slots__ = ("batch", "processor")

    def __init__(self, processor: PartialSQSProcessor, batch: Batch) -> None:
        self.processor = processor
        self.batch = batch

    def __await__(self) -> Generator[Any, None, None]:
        return self.processor._delete(self.batch).__await__()


def _queue_url(arn: str) -> str:
    """The queue's URL on AWS for an undeleted message's report; the ARN if unknown."""
    queue = parse_sqs_arn(arn)
    try:
        return arn if queue is None else queue.public_url()
    except ValueError:  # an unknown partition
        return arn


class PartialSQSProcessor(RecordHandlerProcessor):
    """Delete mode: when some records fail, delete the successful messages and raise.

    Lambda then redelivers only the failed messages. Needs ``sqs:DeleteMessage`` on the
    queue (what authorises DeleteMessageBatch). With every record a success nothing is
    called (Lambda deletes the batch itself); with every record a failure nothing is
    deleted. Records of a FIFO
    queue run one at a time per message group, in order; after a failure the rest of
    its group is neither run nor deleted, while other groups go on.

    ```python
    processor = PartialSQSProcessor()

    def lambda_handler(event, context):
        with processor(event["Records"], record_handler, lambda_context=context):
            processor.process()
        return {"statusCode": 200}
    ```

    ``session`` (an ``aioboto3.Session``) and ``config`` (a ``botocore.config.Config``,
    merged over aiobatch's defaults: ``standard`` retries, 50 pooled connections, no
    parameter validation, a fixed User-Agent) are optional; ``sqs=`` replaces both with
    any :class:`~aiobatch.SQSActions` (a fake in tests). ``suppress_exception=True``
    returns instead of raising; the messages that could not be deleted are then logged
    at ERROR and kept in :attr:`undeleted_messages`. :meth:`aclose` closes the SQS
    clients, for long-running use; otherwise they close when their event loop shuts down.
    """

    source = SQS

    def __init__(
        self,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        suppress_exception: bool = False,
        session: Any = None,
        config: Any = None,
        sqs: SQSActions | None = None,
        use_threads: bool = False,
        record_timeout: float | None = None,
        deadline_margin: float | None = None,
        on_batch_start: BatchStartHook | None = None,
        on_batch_end: BatchEndHook | None = None,
        metrics: Any = None,
        log_summary: bool = False,
        log_exception_text: bool = False,
        logger: logging.Logger | None = None,
        retry: Backoff | None = None,
        non_retryable: NonRetryable | None = None,
        dead_letter_queue: str | None = None,
    ) -> None:
        super().__init__(
            max_concurrency=max_concurrency,
            use_threads=use_threads,
            record_timeout=record_timeout,
            deadline_margin=deadline_margin,
            on_batch_start=on_batch_start,
            on_batch_end=on_batch_end,
            metrics=metrics,
            log_summary=log_summary,
            log_exception_text=log_exception_text,
            logger=logger,
        )
        if sqs is not None and (session is not None or config is not None):
            raise TypeError("pass sqs= or session=/config=, not both")
        self.suppress_exception = suppress_exception
        if sqs is None:
            # The SQS layer is imported only by delete mode, and only when one is made.
            from ._sqs import AioSQSActions

            sqs = AioSQSActions(session, config)
        self.sqs: SQSActions = sqs
        self._policy, _ = make_policy(
            retry=retry,
            non_retryable=non_retryable,
            dead_letter_queue=dead_letter_queue,
            sqs=sqs,
            session=None,
            config=None,
            logger=self.logger,
        )

    @property
    def max_message_batch(self) -> int:
        """How many entries one DeleteMessageBatch call takes: 10 (Powertools' name)."""
        return 10

    @property
    def undeleted_messages(self) -> list[UndeletedMessage]:
        """Successes of the current batch that could not be deleted."""
        batch = self.batch
        return batch.undeleted_messages if batch is not None else []

    def _parse_records(self, records: Any) -> list[dict[str, Any]]:
        # A copy: a handler may change the event.
        policy = self._policy
        return validate(
            records, SQS, (RECEIPT_HANDLE, QUEUE_ARN) if policy is None else policy.fields
        ).copy()

    def _view(self) -> Callable[[Any], SQSRecord]:
        return SQSRecord

    def _set_up(self, records: Any, handler: Any, lambda_context: Any) -> Batch:
        batch = super()._set_up(records, handler, lambda_context)
        # Validated: every record has a queue ARN. One queue per batch, as a rule.
        queues = {record["eventSourceARN"] for record in records}
        batch.fifo = any(arn.endswith(".fifo") for arn in queues)
        return batch

    def _order(self, batch: Batch) -> tuple[bool, Stop]:
        # A FIFO queue's messages of one group must be handled in order: each group runs
        # one record at a time, and after a failure the rest of its group does not run
        # and is not deleted, so it comes back in order. Other groups go on.
        if batch.fifo:
            return True, Stop.KEY
        return super()._order(batch)

    def _cleanup_allowance(self) -> float:
        return self.sqs.startup_time()

    def _inline_ok(self, lane: _Lane) -> bool:
        return False  # its deletes are calls on the event loop

    def _clean(self) -> Any:
        """Delete the successes of a partly failed batch, then raise
        :class:`SQSBatchProcessingError`. Returns an awaitable that does it: the
        lifecycle awaits it, and so may an ``async def`` override (``await
        super()._clean()``). A plain ``def`` override that calls ``super()._clean()``
        (Powertools' way) cannot await it: the deletes then run when the override
        returns. They always run: without them Lambda would delete the whole batch,
        failed messages included."""
        return _Deletes(self, self._require_batch())

    def _after_clean(self, batch: Batch) -> Awaitable[None] | None:
        return None if batch.deletes_ran else self._delete(batch)

    async def _delete(self, batch: Batch) -> None:
        if batch.deletes_ran:  # awaited twice: once is enough
            return
        batch.deletes_ran = True
        records: list[SQSRecord] = batch.records
        failures = batch.failures
        if not failures:
            return
        # Records whose copy is confirmed in the dead-letter queue are handled: deleted
        # with the successes. The rest of the failures are left for Lambda to redeliver.
        handled = batch.dead_lettered
        failed_ids = {records[i].message_id for i in failures if i not in handled}
        successes = [r for i, r in enumerate(records) if i not in failures or i in handled]
        # SQS may deliver one message twice in a batch. Deleting a success's copy would
        # delete the message whose other copy failed: keep it, and say so.
        kept = [
            UndeletedMessage(
                record.message_id,
                _queue_url(record.event_source_arn),
                "DuplicateOfFailedMessage",
                "another copy of this message failed in the same batch",
                None,
            )
            for record in successes
            if record.message_id in failed_ids
        ]
        if kept:
            successes = [r for r in successes if r.message_id not in failed_ids]
        undeleted = batch.undeleted_messages
        undeleted += kept
        if successes:
            deadline = batch.deadline
            undeleted += await self.sqs.delete_messages(
                successes, deadline=None if deadline is None else deadline.cleanup_end
            )
        batch.deleted = len(successes) + len(kept) - len(undeleted)
        counts = f"{len(failures)} of {len(records)} records failed; "
        if handled:
            counts += (
                f"{len(handled)} failed non-retryably and were sent to the dead-letter queue; "
                f"{batch.deleted} successful or dead-lettered messages were deleted"
            )
        else:
            counts += f"{batch.deleted} successful messages were deleted"
        if undeleted:
            counts += f", {len(undeleted)} could not be deleted"
        if not failed_ids:
            # Every failure is in the dead-letter queue: nothing is to be retried. A
            # normal return has Lambda delete the batch, and so any message whose
            # delete failed here.
            self.logger.warning(
                "%s; every failed record is in the dead-letter queue, so the function "
                "returns normally",
                counts,
            )
            return
        if self.suppress_exception:
            self.logger.warning(
                "suppress_exception=True: %s. The function returns normally, so Lambda "
                "deletes the whole batch, failed messages included, unless the event "
                "source mapping reports batch item failures",
                counts,
            )
            for message in undeleted:
                self.logger.error(
                    "message %s of %s could not be deleted: %s: %s",
                    message.message_id,
                    message.queue_url,
                    message.code,
                    message.message,
                )
            return
        raise SQSBatchProcessingError(
            f"{counts}; the failed messages and those not deleted will be redelivered",
            batch.failed_records(),
            undeleted,
            full_text=self.log_exception_text,
        )

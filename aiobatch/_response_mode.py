"""Partial batch response mode: report failures to Lambda in ``batchItemFailures``.

The function returns ``{"batchItemFailures": [{"itemIdentifier": ...}]}`` (the event
source mapping has ``ReportBatchItemFailures`` on) and Lambda itself deletes the rest
(SQS) or moves the checkpoint (streams). No AWS call, no aioboto3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._batch import Batch, BatchState
from ._engine import UNSET, Stop
from ._exceptions import (
    BatchProcessingError,
    RecordValidationError,
    SQSFifoCircuitBreakerError,
    SQSFifoMessageGroupCircuitBreakerError,
)
from ._processor import (
    DEFAULT_MAX_CONCURRENCY,
    BatchEndHook,
    BatchStartHook,
    RecordHandlerProcessor,
    loop_free,
)
from ._retry import Backoff, NonRetryable, make_policy
from ._sources import SOURCES, EventSource, EventType, validate
from ._types import PartialItemFailureResponse

if TYPE_CHECKING:
    from ._sqs import SQSActions


class BatchProcessor(RecordHandlerProcessor):
    """Run a record handler over a batch and build Lambda's partial batch response.

    ```python
    processor = BatchProcessor(EventType.SQS)

    def lambda_handler(event, context):
        return process_partial_response(event, record_handler, processor, context)
    ```

    ``batchItemFailures`` lists the failed records in input order. When every record
    fails, :class:`BatchProcessingError` is raised so that Lambda retries the batch,
    unless ``raise_on_entire_batch_failure=False``; :meth:`response` holds the full
    list either way.

    ``model`` is a pydantic model of the whole record: the handler gets the validated
    instance, and a record that fails validation fails alone. ``ordered=True`` runs
    the records of one key (SQS ``MessageGroupId``, Kinesis partition key, DynamoDB
    ``Keys``) one at a time in input order, different keys concurrently.
    ``stop_on_first_failure=True`` starts no record after the first failure; for
    streams the response then names the lowest failed record and everything after it,
    which is where Lambda restarts the shard.
    """

    source: EventSource

    def __init__(
        self,
        event_type: EventType,
        model: Any = None,
        raise_on_entire_batch_failure: bool = True,
        logger: logging.Logger | None = None,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        use_threads: bool = False,
        ordered: bool = False,
        stop_on_first_failure: bool = False,
        record_timeout: float | None = None,
        deadline_margin: float | None = None,
        on_batch_start: BatchStartHook | None = None,
        on_batch_end: BatchEndHook | None = None,
        metrics: Any = None,
        log_summary: bool = False,
        log_exception_text: bool = False,
        retry: Backoff | None = None,
        non_retryable: NonRetryable | None = None,
        dead_letter_queue: str | None = None,
        session: Any = None,
        config: Any = None,
        sqs: SQSActions | None = None,
    ) -> None:
        if not isinstance(event_type, EventType):
            raise TypeError(f"event_type must be an EventType, got {event_type!r}")
        if event_type is not EventType.SQS and (
            retry is not None or non_retryable is not None or dead_letter_queue is not None
        ):
            raise ValueError(
                f"retry=, non_retryable= and dead_letter_queue= are for SQS; {event_type.value} "
                "records are retried from their shard's checkpoint, which a partial "
                "response moves"
            )
        if sqs is not None and (session is not None or config is not None):
            raise TypeError("pass sqs= or session=/config=, not both")
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
        self.event_type = event_type
        self.source = SOURCES[event_type]
        self.model = model
        self.raise_on_entire_batch_failure = raise_on_entire_batch_failure
        self.ordered = ordered
        self.stop_on_first_failure = stop_on_first_failure
        self._policy, self.sqs = make_policy(
            retry=retry,
            non_retryable=non_retryable,
            dead_letter_queue=dead_letter_queue,
            sqs=sqs,
            session=session,
            config=config,
            logger=self.logger,
        )

    def _cleanup_allowance(self) -> float:
        sqs = self.sqs if self._policy is not None else None
        return 0.0 if sqs is None else float(sqs.startup_time())

    @property
    def _stop(self) -> Stop:  # type: ignore[override]
        return Stop.BATCH if self.stop_on_first_failure else Stop.NOTHING

    def _parse_records(self, records: Any) -> list[Any]:
        # A copy: a handler may change the event. The retry policy's calls need more
        # of each record, checked now rather than after the handlers ran.
        policy = self._policy
        return validate(records, self.source, () if policy is None else policy.fields).copy()

    def _view(self) -> Callable[[Any], Any]:
        return self.source.wrap

    def _convert(self) -> Callable[[Any], Any] | None:
        model = self.model
        if model is None:
            return None

        def validated(record: Any) -> Any:
            try:
                return model.model_validate(record.raw_event)
            except Exception as exc:
                if callable(getattr(exc, "errors", None)) and hasattr(exc, "title"):
                    raise RecordValidationError.from_pydantic(exc) from None
                raise

        return validated

    @property
    def batch_response(self) -> PartialItemFailureResponse:
        """The partial batch response of the current batch."""
        return self.response()

    def response(self) -> PartialItemFailureResponse:
        """The partial batch response of the current (or last) batch."""
        batch = self.batch
        return {"batchItemFailures": []} if batch is None else self._response_of(batch)

    def _response_of(self, batch: Batch) -> PartialItemFailureResponse:
        """The response ``_clean`` made; or, when the batch ended without one (an
        override of ``_clean`` that did not call ``super()._clean()``, a run cut short
        by an exception), one made now, so that no record is reported a success it was
        not. Before the batch ends it is empty, as in Powertools."""
        response = batch.response
        if response is None:
            if batch.state is not BatchState.FINISHED:
                return {"batchItemFailures": []}
            response = batch.response = self._make_response(batch)
        return response

    def _make_response(self, batch: Batch) -> PartialItemFailureResponse:
        records = batch.raw_records
        failures = batch.failures
        if batch.completed:
            if not failures:
                return {"batchItemFailures": []}
            failed = self._failed_indices(len(records), batch.failed_indices())
            handled = batch.dead_lettered
            if handled:  # in the dead-letter queue: Lambda deletes them
                failed = [index for index in failed if index not in handled]
        else:  # every record not known to have succeeded, in input order
            values = batch.values
            failed = [
                index
                for index in range(len(records))
                if values is None or values[index] is UNSET or index in failures
            ]
            if failed and (self.ordered or self._stop is not Stop.NOTHING):
                failed = list(range(failed[0], len(records)))  # in order: and all after
        item_id = self.source.item_id
        return {"batchItemFailures": [{"itemIdentifier": item_id(records[i])} for i in failed]}

    def _failed_indices(self, count: int, failed: list[int]) -> list[int]:
        """What to report: the failures, or, when a stream stopped at its first failure,
        the lowest failed record and everything after it (where Lambda restarts)."""
        if failed and self._stop is Stop.BATCH and self.source.restarts_from_lowest_failure:
            return list(range(failed[0], count))
        return failed

    @loop_free
    def _clean(self) -> None:
        batch = self.batch
        if batch is None:
            batch = self._require_batch()  # raises
        if not batch.failures and batch.completed:  # the common case, without a call
            batch.response = {"batchItemFailures": []}
            return
        response = batch.response = self._make_response(batch)
        records, failed = batch.raw_records, response["batchItemFailures"]
        if failed and len(failed) == len(records) and self.raise_on_entire_batch_failure:
            raise BatchProcessingError(
                f"All records failed processing. {len(failed)} of {len(records)} failed; "
                "Lambda will retry the batch.",
                batch.failed_records(),
                full_text=self.log_exception_text,
            )


class SqsFifoPartialProcessor(BatchProcessor):
    """Partial batch response for SQS FIFO queues.

    Records start in input order, except that a record waits while an earlier record
    of its ``MessageGroupId`` is unfinished: each group runs one record at a time, in
    order, and groups run concurrently, at most ``max_concurrency`` records at once
    (``max_concurrency=1`` runs the batch exactly in input order).

    After the first failure no further record starts, and the response names the first
    failed record in input order and every record after it, as Lambda's FIFO contract
    asks: a record after it that was already running may finish, but is reported
    failed; a record before it that succeeds is a success. With
    ``skip_group_on_error=True`` the same holds per message group; other groups go on.
    Within a group, no record is ever reported a success after an earlier record of
    that group failed.
    """

    _skipped_error = SQSFifoCircuitBreakerError
    _group_skipped_error = SQSFifoMessageGroupCircuitBreakerError

    circuit_breaker_exc = (
        SQSFifoCircuitBreakerError,
        SQSFifoCircuitBreakerError("A previous record failed processing"),
        None,
    )
    """Powertools' name: what a record skipped after a failure is reported with."""

    group_circuit_breaker_exc = (
        SQSFifoMessageGroupCircuitBreakerError,
        SQSFifoMessageGroupCircuitBreakerError(
            "A previous record from this message group failed processing"
        ),
        None,
    )
    """Powertools' name: the same with ``skip_group_on_error=True``."""

    def __init__(
        self,
        model: Any = None,
        skip_group_on_error: bool = False,
        logger: logging.Logger | None = None,
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        use_threads: bool = False,
        record_timeout: float | None = None,
        deadline_margin: float | None = None,
        raise_on_entire_batch_failure: bool = True,
        on_batch_start: BatchStartHook | None = None,
        on_batch_end: BatchEndHook | None = None,
        metrics: Any = None,
        log_summary: bool = False,
        log_exception_text: bool = False,
        retry: Backoff | None = None,
        non_retryable: NonRetryable | None = None,
        dead_letter_queue: str | None = None,
        session: Any = None,
        config: Any = None,
        sqs: SQSActions | None = None,
    ) -> None:
        super().__init__(
            EventType.SQS,
            model=model,
            raise_on_entire_batch_failure=raise_on_entire_batch_failure,
            max_concurrency=max_concurrency,
            use_threads=use_threads,
            ordered=True,
            record_timeout=record_timeout,
            deadline_margin=deadline_margin,
            on_batch_start=on_batch_start,
            on_batch_end=on_batch_end,
            metrics=metrics,
            log_summary=log_summary,
            log_exception_text=log_exception_text,
            logger=logger,
            retry=retry,
            non_retryable=non_retryable,
            dead_letter_queue=dead_letter_queue,
            session=session,
            config=config,
            sqs=sqs,
        )
        self.skip_group_on_error = skip_group_on_error

    @property
    def _stop(self) -> Stop:  # type: ignore[override]
        return Stop.KEY if self.skip_group_on_error else Stop.BATCH

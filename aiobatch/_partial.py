"""Partial batch response mode: report failures to Lambda in ``batchItemFailures``.

The function returns ``{"batchItemFailures": [{"itemIdentifier": ...}]}`` (the event
source mapping has ``ReportBatchItemFailures`` on) and Lambda itself deletes the rest
(SQS) or moves the checkpoint (streams). No AWS call, no aioboto3.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypedDict

from . import _engine
from ._events import (
    check_records_list,
    records_of,
    require_dict,
    require_source,
)
from ._exceptions import BatchProcessingError, InvalidEventError, RecordValidationError
from ._processor import (
    DEFAULT_MAX_CONCURRENCY,
    RecordHandler,
    RecordHandlerProcessor,
)
from ._records import DynamoDBStreamRecord, KinesisStreamRecord, SQSRecord
from ._runner import run_sync


class EventType(enum.Enum):
    """The event source of a batch, as in Powertools."""

    SQS = "SQS"
    KinesisDataStreams = "KinesisDataStreams"
    DynamoDBStreams = "DynamoDBStreams"


class PartialItemFailure(TypedDict):
    itemIdentifier: str


class PartialItemFailureResponse(TypedDict):
    batchItemFailures: list[PartialItemFailure]


def _dig(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _sqs_group(record: dict[str, Any]) -> Hashable | None:
    group = _dig(record, ("attributes", "MessageGroupId"))
    return group if isinstance(group, str) else None


def _kinesis_key(record: dict[str, Any]) -> Hashable | None:
    key = _dig(record, ("kinesis", "partitionKey"))
    return key if isinstance(key, str) else None


def _dynamodb_key(record: dict[str, Any]) -> Hashable | None:
    keys = _dig(record, ("dynamodb", "Keys"))
    return json.dumps(keys, sort_keys=True) if isinstance(keys, dict) else None


@dataclass(frozen=True, slots=True)
class _Source:
    event_source: str  # the records' eventSource
    identifier: tuple[str, ...]  # where the item identifier is
    get_identifier: Callable[[dict[str, Any]], Any]  # the same, fast; raises on odd shapes
    wrap: Callable[[dict[str, Any]], Any]
    order_key: Callable[[dict[str, Any]], Hashable | None]
    is_stream: bool


_SOURCES = {
    EventType.SQS: _Source(
        "aws:sqs", ("messageId",), itemgetter("messageId"), SQSRecord, _sqs_group, False
    ),
    EventType.KinesisDataStreams: _Source(
        "aws:kinesis",
        ("kinesis", "sequenceNumber"),
        lambda record: record["kinesis"]["sequenceNumber"],
        KinesisStreamRecord,
        _kinesis_key,
        True,
    ),
    EventType.DynamoDBStreams: _Source(
        "aws:dynamodb",
        ("dynamodb", "SequenceNumber"),
        lambda record: record["dynamodb"]["SequenceNumber"],
        DynamoDBStreamRecord,
        _dynamodb_key,
        True,
    ),
}


class BatchProcessor(RecordHandlerProcessor):
    """Run a record handler over a batch and build Lambda's partial batch response.

    ::

        processor = BatchProcessor(EventType.SQS)

        def lambda_handler(event, context):
            return process_partial_response(event, record_handler, processor, context)

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

    def __init__(
        self,
        event_type: EventType,
        *,
        model: Any = None,
        raise_on_entire_batch_failure: bool = True,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        use_threads: bool = False,
        ordered: bool = False,
        stop_on_first_failure: bool = False,
        record_timeout: float | None = None,
        deadline_margin: float | None = None,
    ) -> None:
        if not isinstance(event_type, EventType):
            raise TypeError(f"event_type must be an EventType, got {event_type!r}")
        super().__init__(
            max_concurrency=max_concurrency,
            use_threads=use_threads,
            record_timeout=record_timeout,
            deadline_margin=deadline_margin,
        )
        self.event_type = event_type
        self.model = model
        self._converts = model is not None
        self.raise_on_entire_batch_failure = raise_on_entire_batch_failure
        self.ordered = ordered
        self.stop_on_first_failure = stop_on_first_failure
        self._source = _SOURCES[event_type]
        self.batch_response: PartialItemFailureResponse = {"batchItemFailures": []}

    def _parse_records(self, records: Sequence[Any]) -> list[Any]:
        source = self._source
        records = check_records_list(records)
        expected, get_id = source.event_source, source.get_identifier
        for record in records:
            # The common case in one cheap test; any doubt goes to the detailed check.
            try:
                identifier = get_id(record)
                ok = (
                    type(record) is dict
                    and type(identifier) is str
                    and identifier != ""
                    and record["eventSource"] == expected
                )
            except (KeyError, TypeError, IndexError):
                ok = False
            if not ok:
                self._reject(records)
        return list(map(source.wrap, records))

    def _reject(self, records: list[Any]) -> None:
        """Raise InvalidEventError for the first record that is not well formed."""
        source = self._source
        field = ".".join(source.identifier)
        for index, raw in enumerate(records):
            record = require_dict(raw, index)
            require_source(record, index, source.event_source, "eventSource")
            identifier = _dig(record, source.identifier)
            if not isinstance(identifier, str) or not identifier:
                problem = "is missing" if identifier is None else "must be a non-empty string"
                raise InvalidEventError(
                    f"record {index}: '{field}' {problem}; Lambda would fail the whole "
                    "batch on an empty item identifier",
                    index=index,
                    field=field,
                )
        raise AssertionError("a record failed the quick check but passed the detailed one")

    def _handler_input(self, record: Any) -> Any:
        if self.model is None:
            return record
        try:
            return self.model.model_validate(record.raw_event)
        except Exception as exc:
            if callable(getattr(exc, "errors", None)) and hasattr(exc, "title"):
                raise RecordValidationError.from_pydantic(exc) from None
            raise

    def _plan(self, concurrency: int) -> _engine.Plan:
        plan = super()._plan(concurrency)
        if self.ordered:
            key = self._source.order_key
            plan.keys = [key(record.raw_event) for record in self.records]
        if self.stop_on_first_failure:
            plan.stop = _engine.Stop.BATCH
        return plan

    def _reset(self) -> None:
        super()._reset()
        self.batch_response = {"batchItemFailures": []}

    def response(self) -> PartialItemFailureResponse:
        """The partial batch response of the last run."""
        return self.batch_response

    def _failed_indices(self) -> list[int]:
        results = self._results or []
        failed = [index for index, result in enumerate(results) if result[0] != "success"]
        if failed and self.stop_on_first_failure and self._source.is_stream:
            failed = list(range(failed[0], len(results)))
        return failed

    async def _clean(self) -> None:
        if self._results is None:  # processing did not finish
            return
        failed = self._failed_indices()
        path, records = self._source.identifier, self.records
        self.batch_response = {
            "batchItemFailures": [
                {"itemIdentifier": _dig(records[i].raw_event, path)} for i in failed
            ]
        }
        if failed and len(failed) == len(self._results) and self.raise_on_entire_batch_failure:
            raise BatchProcessingError(
                f"All {len(failed)} records failed processing; Lambda will retry the batch.",
                self.failed_records,
            )


class AsyncBatchProcessor(BatchProcessor):
    """Powertools' name for :class:`BatchProcessor` with async handlers.

    Every processor here takes async and sync handlers alike; this class exists so
    that code written for Powertools runs after changing only the import.
    """

    def async_process(self) -> list[Any]:
        """Powertools' name: run the records from sync code (``process()``)."""
        return self.process()


class SqsFifoPartialProcessor(BatchProcessor):
    """Partial batch response for SQS FIFO queues.

    Records start in input order, except that a record waits while an earlier record
    of its ``MessageGroupId`` is unfinished: each group runs one record at a time, in
    order, and groups run concurrently, at most ``max_concurrency`` records at once
    (``max_concurrency=1`` runs the batch exactly in input order).

    After the first failure no further record starts, and every record not yet finished
    at that moment is reported failed, even one that completes afterwards, as Lambda's
    FIFO contract asks. With ``skip_group_on_error=True`` only
    the rest of the failed record's group is skipped and reported; other groups go on.
    Within a group, no record is ever reported a success after an earlier record of
    that group failed.
    """

    def __init__(
        self,
        *,
        skip_group_on_error: bool = False,
        model: Any = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        use_threads: bool = False,
        record_timeout: float | None = None,
        deadline_margin: float | None = None,
        raise_on_entire_batch_failure: bool = True,
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
        )
        self.skip_group_on_error = skip_group_on_error

    def _plan(self, concurrency: int) -> _engine.Plan:
        plan = super()._plan(concurrency)
        plan.stop = _engine.Stop.KEY if self.skip_group_on_error else _engine.Stop.BATCH
        return plan


def process_partial_response(
    event: Any,
    record_handler: RecordHandler,
    processor: BatchProcessor,
    context: Any = None,
) -> PartialItemFailureResponse:
    """Process a Lambda event and return its partial batch response (sync).

    ::

        processor = BatchProcessor(EventType.SQS)

        def lambda_handler(event, context):
            return process_partial_response(event, record_handler, processor, context)
    """
    return run_sync(
        "`await aprocess_partial_response(event, record_handler, processor, context)`",
        aprocess_partial_response,
        event,
        record_handler,
        processor,
        context,
    )


async def aprocess_partial_response(
    event: Any,
    record_handler: RecordHandler,
    processor: BatchProcessor,
    context: Any = None,
) -> PartialItemFailureResponse:
    """The awaitable form of :func:`process_partial_response`."""
    records = records_of(event)
    async with processor(records, record_handler, lambda_context=context):
        await processor.aprocess()
    return processor.response()


def async_process_partial_response(
    event: Any,
    record_handler: RecordHandler,
    processor: BatchProcessor,
    context: Any = None,
) -> PartialItemFailureResponse:
    """Powertools' name and convention: a plain call that runs async handlers.

    The same as :func:`process_partial_response`: every aiobatch processor runs async
    and sync handlers alike, on one process-wide event loop. Inside a running event
    loop, ``await aprocess_partial_response(...)`` instead.
    """
    return process_partial_response(event, record_handler, processor, context)

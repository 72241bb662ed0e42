"""Names that exist only so that code written for Powertools runs unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from ._delete_mode import PartialSQSProcessor
from ._facades import batch_processor, process_partial_response
from ._records import DynamoDBStreamRecord
from ._response_mode import BatchProcessor
from ._types import (
    LambdaContext,
    PartialItemFailure,
    PartialItemFailureResponse,
    RecordHandler,
    RecordResult,
)

T = TypeVar("T")

BasePartialBatchProcessor = BatchProcessor
"""Powertools' name for the base of its partial-response processors; here the same."""

BatchTypeModels: TypeAlias = "type[Any] | None"
"""Powertools' name for what ``model=`` takes: a pydantic model class, or ``None``."""

PartialItemFailures = PartialItemFailure
"""Powertools' name for one entry of ``batchItemFailures``."""

DEFAULT_RESPONSE: PartialItemFailureResponse = {"batchItemFailures": []}
"""The response of a batch with no failure (Powertools' name). Do not change it."""

DynamoDBRecord = DynamoDBStreamRecord
"""Powertools' name for :class:`DynamoDBStreamRecord`."""


class AsyncBatchProcessor(BatchProcessor):
    """Powertools' name for :class:`BatchProcessor` with async handlers.

    Every processor here takes async and sync handlers alike; this class exists so
    that code written for Powertools runs after changing only the import.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Powertools' per-record hook of this class is `_async_process_record`: a
        # subclass written for Powertools overrides that one.
        if "_async_process_record" in cls.__dict__ and "_process_record" not in cls.__dict__:
            cls._process_record = cls.__dict__["_async_process_record"]  # type: ignore[method-assign]

    async def _async_process_record(self, record: Any) -> RecordResult:
        """Powertools' name for the per-record step (an override may call it through
        ``super()``)."""
        return await BatchProcessor._process_record(self, record)

    def async_process(self) -> list[Any]:
        """Powertools' name: run the records from sync code (``process()``)."""
        return self.process()


def async_process_partial_response(
    event: Any,
    record_handler: RecordHandler,
    processor: BatchProcessor,
    context: LambdaContext | None = None,
) -> PartialItemFailureResponse:
    """Powertools' name and convention: a plain call that runs async handlers.

    The same as :func:`process_partial_response`: every aiobatch processor runs async
    and sync handlers alike, on an event loop per thread. Inside a running event
    loop, ``await aprocess_partial_response(...)`` instead.
    """
    return process_partial_response(event, record_handler, processor, context)


def sqs_batch_processor(
    *,
    record_handler: RecordHandler,
    config: Any = None,
    boto3_session: Any = None,
    suppress_exception: bool = False,
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """The first generation's decorator (Powertools v1): delete mode, made for you.

    ```python
    @sqs_batch_processor(record_handler=record_handler, suppress_exception=True)
    def lambda_handler(event, context):
        return {"statusCode": 200}
    ```

    Makes one :class:`PartialSQSProcessor` when the handler is decorated (module level:
    Lambda's init phase), reused by warm invocations. ``config`` is a botocore
    ``Config``, merged over aiobatch's defaults. ``boto3_session`` is a *sync*
    ``boto3.Session``, which aiobatch's async clients cannot use: its region and its
    credentials, frozen as they are when the handler is decorated, make an
    ``aioboto3.Session``. For credentials that refresh (assumed roles), make the
    processor yourself with ``PartialSQSProcessor(session=aioboto3.Session(...))``.
    """
    session = None
    if boto3_session is not None:
        import aioboto3

        credentials = boto3_session.get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
        session = aioboto3.Session(
            region_name=boto3_session.region_name,
            aws_access_key_id=getattr(frozen, "access_key", None),
            aws_secret_access_key=getattr(frozen, "secret_key", None),
            aws_session_token=getattr(frozen, "token", None),
        )
    processor = PartialSQSProcessor(
        config=config, session=session, suppress_exception=suppress_exception
    )
    return batch_processor(record_handler=record_handler, processor=processor)

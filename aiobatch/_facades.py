"""Every way to run a batch from a Lambda handler, over one lifecycle coroutine.

``process_partial_response`` and friends and both decorators validate the event in the
caller's context, then run :func:`run_batch` (the sync ones through the one
sync-to-async bridge, entering the event loop once per invocation).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, overload

from ._batch import Batch
from ._processor import AsyncBasePartialProcessor, BasePartialProcessor, _Processor
from ._response_mode import BatchProcessor
from ._sources import records_of
from ._types import LambdaContext, PartialItemFailureResponse, RecordHandler

T = TypeVar("T")
Processor = AsyncBasePartialProcessor | BasePartialProcessor


def set_up(processor: _Processor, event: Any, handler: RecordHandler, context: Any) -> Batch:
    """Validate ``event`` and set up its batch on ``processor``, before anything runs."""
    if _Processor not in type(processor).__mro__:  # isinstance calls ABCMeta's, in Python
        raise TypeError(f"processor must be an aiobatch processor, got {type(processor).__name__}")
    source = processor.source
    records = source.records_of(event) if source is not None else records_of(event)
    return processor._set_up(records, handler, context)


async def run_batch(
    processor: _Processor,
    event: Any,
    handler: RecordHandler,
    context: LambdaContext | None = None,
) -> Batch:
    """Run ``handler`` over the records of ``event`` with ``processor``: the whole
    lifecycle (hooks, ``_prepare``, the records, ``_clean``) in one coroutine."""
    return await processor._run(set_up(processor, event, handler, context))


def _response_processor(processor: Any) -> BatchProcessor:
    if not isinstance(processor, BatchProcessor):
        raise TypeError(
            "process_partial_response needs a partial-response processor (BatchProcessor, "
            f"SqsFifoPartialProcessor), got {type(processor).__name__}; a "
            "PartialSQSProcessor deletes messages itself: use it with `with processor(...)` "
            "or @batch_processor"
        )
    return processor


def process_partial_response(
    event: Any,
    record_handler: RecordHandler,
    processor: BatchProcessor,
    context: LambdaContext | None = None,
) -> PartialItemFailureResponse:
    """Process a Lambda event and return its partial batch response (sync).

    ```python
    processor = BatchProcessor(EventType.SQS)

    def lambda_handler(event, context):
        return process_partial_response(event, record_handler, processor, context)
    ```
    """
    if not isinstance(processor, BatchProcessor):
        processor = _response_processor(processor)  # raises
    batch = set_up(processor, event, record_handler, context)
    processor._run_sync(
        "`await aprocess_partial_response(event, record_handler, processor, context)`",
        processor._run,
        processor._run_direct,
        batch,
    )
    response = batch.response  # what _clean made, most of the time
    return response if response is not None else processor._response_of(batch)


async def aprocess_partial_response(
    event: Any,
    record_handler: RecordHandler,
    processor: BatchProcessor,
    context: LambdaContext | None = None,
) -> PartialItemFailureResponse:
    """The awaitable form of :func:`process_partial_response`."""
    processor = _response_processor(processor)
    batch = await run_batch(processor, event, record_handler, context)
    return processor._response_of(batch)


def batch_processor(
    *, record_handler: RecordHandler, processor: Processor
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Process ``event["Records"]`` with ``processor``, then call the handler.

    For plain ``def lambda_handler(event, context)``:

    ```python
    @batch_processor(record_handler=record_handler, processor=PartialSQSProcessor())
    def lambda_handler(event, context):
        return {"statusCode": 200}
    ```
    """

    def decorator(handler: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(handler)
        def wrapper(event: Any, context: Any = None, *args: Any, **kwargs: Any) -> T:
            batch = set_up(processor, event, record_handler, context)
            processor._run_sync(
                "`@async_batch_processor` on an `async def` handler",
                processor._run,
                processor._run_direct,
                batch,
            )
            return handler(event, context, *args, **kwargs)

        return wrapper

    return decorator


def async_batch_processor(
    *, record_handler: RecordHandler, processor: Processor
) -> _AsyncBatchDecorator:
    """Like :func:`batch_processor`, for async record handlers.

    On an ``async def`` Lambda handler the wrapper is ``async def`` too, and awaits the
    batch:

    ```python
    @async_batch_processor(record_handler=record_handler, processor=processor)
    async def lambda_handler(event, context):
        return {"statusCode": 200}
    ```

    On a plain ``def`` Lambda handler (Powertools' documented form) the wrapper is plain
    too: it runs the batch through the sync facade and returns the handler's value.
    """
    return _AsyncBatchDecorator(record_handler, processor)


class _AsyncBatchDecorator:
    def __init__(self, record_handler: RecordHandler, processor: Processor) -> None:
        self.record_handler = record_handler
        self.processor = processor

    @overload
    def __call__(
        self, handler: Callable[..., Coroutine[Any, Any, T]]
    ) -> Callable[..., Coroutine[Any, Any, T]]: ...
    @overload
    def __call__(self, handler: Callable[..., T]) -> Callable[..., T]: ...
    def __call__(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        record_handler, processor = self.record_handler, self.processor
        if not inspect.iscoroutinefunction(handler):
            return batch_processor(record_handler=record_handler, processor=processor)(handler)

        @functools.wraps(handler)
        async def wrapper(event: Any, context: Any = None, *args: Any, **kwargs: Any) -> Any:
            await run_batch(processor, event, record_handler, context)
            return await handler(event, context, *args, **kwargs)

        return wrapper

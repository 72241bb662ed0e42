"""Decorators that run a processor over a Lambda event before the handler itself."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ._events import records_of
from ._processor import AsyncBasePartialProcessor, BasePartialProcessor, RecordHandler

T = TypeVar("T")
Processor = AsyncBasePartialProcessor | BasePartialProcessor


def batch_processor(
    *, record_handler: RecordHandler, processor: Processor
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Process ``event["Records"]`` with ``processor``, then call the handler.

    For plain ``def lambda_handler(event, context)``::

        @batch_processor(record_handler=record_handler, processor=PartialSQSProcessor())
        def lambda_handler(event, context):
            return {"statusCode": 200}
    """

    def decorator(handler: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(handler)
        def wrapper(event: Any, context: Any = None, *args: Any, **kwargs: Any) -> T:
            records = records_of(event)
            with processor(records, record_handler, lambda_context=context):
                processor.process()
            return handler(event, context, *args, **kwargs)

        return wrapper

    return decorator


def async_batch_processor(
    *, record_handler: RecordHandler, processor: Processor
) -> Callable[[Callable[..., Awaitable[T]]], Callable[..., Coroutine[Any, Any, T]]]:
    """Like :func:`batch_processor`, for ``async def`` handlers; the caller awaits it::

    @async_batch_processor(record_handler=record_handler, processor=processor)
    async def lambda_handler(event, context):
        return {"statusCode": 200}

    asyncio.run(lambda_handler(event, context))
    """

    def decorator(handler: Callable[..., Awaitable[T]]) -> Callable[..., Coroutine[Any, Any, T]]:
        @functools.wraps(handler)
        async def wrapper(event: Any, context: Any = None, *args: Any, **kwargs: Any) -> T:
            records = records_of(event)
            async with processor(records, record_handler, lambda_context=context):
                await processor.aprocess()
            return await handler(event, context, *args, **kwargs)

        return wrapper

    return decorator

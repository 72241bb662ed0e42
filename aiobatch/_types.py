"""Types that appear in public signatures: the Lambda context, handlers, results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeAlias, TypedDict, runtime_checkable


@runtime_checkable
class LambdaContext(Protocol):
    """What aiobatch reads of Lambda's context object: the time left.

    Lambda's own context, Powertools' ``LambdaContext`` and
    :class:`aiobatch.testing.FakeLambdaContext` all fit. A context without it (``None``,
    a ``MagicMock``) means no deadline.
    """

    def get_remaining_time_in_millis(self) -> int: ...


RecordHandler: TypeAlias = Callable[..., Any]
"""A record handler: ``def`` or ``async def``, taking the record (and optionally a
``lambda_context`` keyword)."""

SuccessResponse: TypeAlias = tuple[Literal["success"], Any, Any]
"""``("success", handler result, record)``, as in Powertools."""

FailureResponse: TypeAlias = tuple[Literal["fail"], str, Any]
"""``("fail", "ExceptionType:message", record)``, as in Powertools."""

RecordResult: TypeAlias = tuple[str, Any, Any]


class KafkaItemIdentifier(TypedDict):
    """How ``batchItemFailures`` names a Kafka record: ``"<topic>-<partition>"`` and its
    offset."""

    partition: str
    offset: int


class PartialItemFailure(TypedDict):
    """One entry of ``batchItemFailures``: the identifier of a failed record."""

    itemIdentifier: str | KafkaItemIdentifier


class PartialItemFailureResponse(TypedDict):
    """The partial batch response Lambda reads: ``{"batchItemFailures": [...]}``."""

    batchItemFailures: list[PartialItemFailure]

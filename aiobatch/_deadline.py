"""The deadline of a batch, as one value made from the Lambda context.

Lambda kills the function at its timeout. A batch stops starting records a margin
before that, leaving time for cleanup (the deletes, the response); the cleanup itself
stops a little before the end.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

RETURN_TIME = 0.1
"""Seconds kept between the end of cleanup and Lambda's timeout, to return."""


def remaining_seconds(lambda_context: Any) -> float | None:
    """Seconds left before Lambda's timeout, or ``None`` when the context cannot say.

    A context without a working ``get_remaining_time_in_millis`` (``None``, a
    ``MagicMock`` in a user's test) means no deadline.
    """
    method = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if not callable(method):
        return None
    try:
        millis = method()
    except Exception:
        return None
    if type(millis) is int:  # what Lambda's own context returns
        return millis / 1000
    if isinstance(millis, bool) or not isinstance(millis, int | float):
        return None
    if not math.isfinite(millis):  # NaN or infinite: not a time left
        return None
    return millis / 1000


def automatic_margin(remaining: float) -> float:
    """The default safety margin: a tenth of the time left, from 0.25 s to 3 s.

    Enough for the deletes of a large batch and the response, while a fake context with
    1,000 ms left still gives the batch 750 ms.
    """
    tenth = remaining / 10
    return 0.25 if tenth < 0.25 else 3.0 if tenth > 3.0 else tenth


class Deadline(NamedTuple):
    """When a batch must stop, on the event loop's clock.

    ``batch_end``: no record starts after it, and records still running are cut short.
    ``cleanup_end``: calls made after processing (deletes) are abandoned. ``lambda_end``:
    Lambda's timeout.
    """

    lambda_end: float
    batch_end: float
    margin: float
    remaining: float

    @classmethod
    def from_context(
        cls,
        lambda_context: Any,
        now: float,
        *,
        margin: float | None = None,
        cleanup_allowance: float = 0.0,
    ) -> Deadline | None:
        """The deadline of a batch starting at ``now``, or ``None`` without a timeout.

        ``margin`` replaces the automatic margin; ``cleanup_allowance`` (the time
        cleanup needs before it can start, such as making an SQS client the first time)
        is added to either.
        """
        remaining = remaining_seconds(lambda_context)
        if remaining is None:
            return None
        if margin is None:
            margin = automatic_margin(remaining)
        margin += cleanup_allowance
        # tuple.__new__: cls(...) through a NamedTuple's Python-level __new__ costs about
        # as much again, once per batch.
        return tuple.__new__(cls, (now + remaining, now + remaining - margin, margin, remaining))

    @property
    def cleanup_end(self) -> float:
        return self.lambda_end - RETURN_TIME

    def describe(self) -> str:
        """Why a record cut short by this deadline failed."""
        return (
            f"the batch deadline passed before this record finished: {self.margin:.3f} s "
            f"before Lambda's timeout ({self.remaining:.3f} s were left when the batch started)"
        )

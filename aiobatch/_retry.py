"""What happens to an SQS batch's failed records after it ran: visibility backoff, and
non-retryable failures sent to the dead-letter queue at once.

Both run between processing and cleanup (``_clean``), on the SQS call layer, bounded by
the batch's deadline like the deletes. Neither ever loses a message: a record is taken
off the failures only once SQS confirmed its copy in the dead-letter queue; a backoff
that could not be set leaves the message to come back after the queue's own timeout.
"""

from __future__ import annotations

import base64
import binascii
import logging
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias, cast

from ._arn import QueueRef, parse_sqs_arn
from ._exceptions import (
    DeadlineExceededError,
    RecordSkippedError,
    RecordValidationError,
    error_code,
    text_of,
)
from ._sources import QUEUE_ARN, RECEIPT_HANDLE, Field

if TYPE_CHECKING:
    from ._batch import Batch

MAX_VISIBILITY_TIMEOUT = 43_200
"""SQS's limit: a message stays hidden at most 12 hours from the receive that hid it."""

RECEIVE_SLACK = 330
"""Seconds a message may have been received before its batch started: Lambda's largest
batching window (300 s), and some. A backoff is capped so that the 12 hours, counted
from that receive, are never exceeded (SQS refuses a change past them)."""

ERROR_TYPE_ATTRIBUTE = "aiobatch.ErrorType"
ERROR_MESSAGE_ATTRIBUTE = "aiobatch.ErrorMessage"
"""The message attributes a message sent to the dead-letter queue gets: the type of the
exception its handler raised, and the exception's text (cut to
:data:`MAX_ERROR_MESSAGE`)."""

MAX_ERROR_MESSAGE = 1024
MAX_MESSAGE_ATTRIBUTES = 10
"""SQS takes at most ten message attributes a message."""

_UNFINISHED = (DeadlineExceededError, RecordSkippedError)

BODY = Field("body")

NonRetryable: TypeAlias = (
    "type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]"
)


class Backoff:
    """How long a failed SQS message stays hidden before it is retried.

    After a batch, each record that failed of its own error gets a visibility timeout
    of ``base * factor ** (receives - 1)`` seconds, where ``receives`` is its
    ``ApproximateReceiveCount``, at most ``max`` and never past SQS's 12-hour limit.
    With ``jitter`` (the default) the delay is drawn evenly between half of that and
    all of it, so that messages that failed together do not all come back together:

    ```python
    processor = BatchProcessor(EventType.SQS, retry=Backoff(base=10, max=900))
    ```

    gives 5 to 10 s after the first failure, 10 to 20 s after the second, then 20 to
    40, 40 to 80, ... up to 450 to 900 s. Needs ``sqs:ChangeMessageVisibility``.
    """

    # A plain class, not a frozen dataclass: making that compiles its methods at
    # import, about 1.3 ms of every cold start.
    __slots__ = ("base", "factor", "jitter", "max")

    base: float
    factor: float
    max: float
    jitter: bool

    def __init__(
        self,
        base: float = 30.0,
        factor: float = 2.0,
        max: float = float(MAX_VISIBILITY_TIMEOUT),
        jitter: bool = True,
    ) -> None:
        for name, value in (("base", base), ("factor", factor), ("max", max), ("jitter", jitter)):
            object.__setattr__(self, name, value)
        self._check()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Backoff is immutable: make another to change {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Backoff is immutable: cannot delete {name}")

    def __repr__(self) -> str:
        return (
            f"Backoff(base={self.base!r}, factor={self.factor!r}, max={self.max!r}, "
            f"jitter={self.jitter!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Backoff):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __reduce__(self) -> tuple[type[Backoff], tuple[float, float, float, bool]]:
        return Backoff, self._fields()

    def _fields(self) -> tuple[float, float, float, bool]:
        return self.base, self.factor, self.max, self.jitter

    def _check(self) -> None:
        for name, low in (("base", 0.0), ("factor", 1.0), ("max", 0.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"Backoff {name} must be a number, got {type(value).__name__}")
            if not math.isfinite(value) or value < low or (low == 0.0 and value == 0):
                bound = "at least 1" if name == "factor" else "positive"
                raise ValueError(f"Backoff {name} must be finite and {bound}, got {value!r}")
        if self.max > MAX_VISIBILITY_TIMEOUT:
            raise ValueError(
                f"Backoff max must be at most {MAX_VISIBILITY_TIMEOUT} s (SQS's 12 hours), "
                f"got {self.max!r}"
            )
        if not isinstance(self.jitter, bool):
            raise TypeError(f"Backoff jitter must be True or False, got {self.jitter!r}")

    def delay(self, receive_count: int, *, rand: Callable[[], float] = random.random) -> int:
        """Whole seconds to hide a message that failed on its ``receive_count``-th
        receive (1 for the first): at least 1, at most ``max``."""
        attempt = max(1, receive_count)
        try:
            seconds = self.base * self.factor ** (attempt - 1)
        except OverflowError:
            seconds = math.inf
        seconds = min(seconds, self.max)
        if self.jitter:
            seconds = seconds / 2 + rand() * seconds / 2
        return max(1, min(MAX_VISIBILITY_TIMEOUT, round(seconds)))


def non_retryable_matcher(spec: Any) -> Callable[[BaseException], bool] | None:
    """What ``non_retryable=`` means: exception types (one or a tuple), or a predicate
    of the exception. ``None`` or an empty tuple: nothing is non-retryable.

    A pydantic ``ValidationError`` among the types also matches
    :class:`~aiobatch.RecordValidationError`, which is what a ``model=`` processor's
    handler fails with when a record does not validate."""
    if spec is None:
        return None
    if isinstance(spec, type):
        spec = (spec,)
    if isinstance(spec, tuple | list | frozenset | set):
        types = tuple(spec)
        for kind in types:
            if not (isinstance(kind, type) and issubclass(kind, BaseException)):
                raise TypeError(
                    "non_retryable must be exception types or a function of the exception, "
                    f"got {kind!r} among the types"
                )
        if not types:
            return None
        if any(_is_pydantic_validation_error(kind) for kind in types):
            types = (*types, RecordValidationError)
        return _OneOf(types)
    if callable(spec):
        return cast(Callable[[BaseException], bool], spec)
    raise TypeError(
        "non_retryable must be exception types or a function of the exception, "
        f"got {type(spec).__name__}"
    )


class _OneOf:
    """``non_retryable=`` types: whether an exception is one of them (a class, not a
    closure, so that a processor pickles)."""

    __slots__ = ("types",)

    def __init__(self, types: tuple[type[BaseException], ...]) -> None:
        self.types = types

    def __call__(self, exc: BaseException) -> bool:
        return isinstance(exc, self.types)


def _is_pydantic_validation_error(kind: type[BaseException]) -> bool:
    return kind.__name__ == "ValidationError" and kind.__module__.split(".")[0] in {
        "pydantic",
        "pydantic_core",
    }


class DeadLetterTarget(NamedTuple):
    """Where a queue's non-retryable messages go: the dead-letter queue, as an ARN
    (the SQS layer builds its URL on the client's endpoint)."""

    queue: QueueRef

    @property
    def fifo(self) -> bool:
        return self.queue.fifo


def dead_letter_target(value: str, *, source: QueueRef | None = None) -> DeadLetterTarget:
    """``dead_letter_queue=``: a queue ARN, or a queue URL (on AWS, or on any endpoint,
    such as a local one: its region and partition are then the source queue's)."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"dead_letter_queue must be a queue ARN or URL, got {value!r}")
    queue = parse_sqs_arn(value)
    if queue is not None:
        return DeadLetterTarget(queue)
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    path = [part for part in parts.path.split("/") if part]
    host = parts.hostname or ""
    if parts.scheme in {"http", "https"} and len(path) == 2:
        account, name = path
        region = partition = None
        labels = host.split(".")
        if len(labels) >= 4 and labels[0] == "sqs" and "amazonaws" in labels:
            region = labels[1]
            partition = "aws-cn" if host.endswith(".cn") else "aws"
        elif source is not None:
            region, partition = source.region, source.partition
        if region is not None and partition is not None:
            queue = parse_sqs_arn(f"arn:{partition}:sqs:{region}:{account}:{name}")
            if queue is not None:
                return DeadLetterTarget(queue)
    raise ValueError(
        f"dead_letter_queue {value!r} is neither an SQS queue ARN nor a queue URL "
        "(https://sqs.<region>.amazonaws.com/<account>/<name>)"
    )


_ANY_SOURCE = QueueRef("arn:aws:sqs:us-east-1:000000000000:source", "aws", "us-east-1", "0", "s")


def check_dead_letter_queue(value: str) -> None:
    """Refuse a ``dead_letter_queue=`` that is neither an ARN nor a queue URL; a URL on
    another endpoint takes its region from each source queue when it is used."""
    dead_letter_target(value, source=_ANY_SOURCE)


# What SQS takes in a message or a String attribute: XML's characters (#x9, #xA, #xD,
# #x20 to #xD7FF, #xE000 to #xFFFD, #x10000 to #x10FFFF). An exception's text may hold
# anything; whatever else it holds goes as U+FFFD.
_NOT_SQS_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def sqs_text(text: str) -> str:
    """``text`` with every character SQS refuses replaced by U+FFFD."""
    return _NOT_SQS_TEXT.sub("\ufffd", text)


def _api_attribute(value: Mapping[str, Any]) -> dict[str, Any] | None:
    """A message attribute in Lambda's shape (``stringValue``, ``binaryValue`` in
    base64, ``dataType``) as SendMessage takes it; ``None`` when it has no value."""
    data_type = value.get("dataType")
    if not isinstance(data_type, str) or not data_type:
        return None
    string = value.get("stringValue")
    if isinstance(string, str):
        return {"DataType": data_type, "StringValue": string}
    binary = value.get("binaryValue")
    if isinstance(binary, str):
        try:
            return {"DataType": data_type, "BinaryValue": base64.b64decode(binary, validate=True)}
        except (binascii.Error, ValueError):
            return None
    return None


def dead_letter_fields(
    record: Mapping[str, Any], exc: BaseException, target: DeadLetterTarget
) -> dict[str, Any]:
    """The SendMessageBatch entry (less its Id) that puts ``record`` in the dead-letter
    queue: its body and message attributes as they were, why it failed in two
    attributes of aiobatch's (as many as fit in SQS's ten), its trace header, and for
    a FIFO queue its group and a deduplication id (its message id: a send retried
    within five minutes is not a second copy)."""
    attributes: dict[str, Any] = {}
    for name, value in (record.get("messageAttributes") or {}).items():
        if isinstance(value, Mapping):
            converted = _api_attribute(value)
            if converted is not None:
                attributes[name] = converted
    reason = (
        (ERROR_TYPE_ATTRIBUTE, type(exc).__name__),
        (ERROR_MESSAGE_ATTRIBUTE, sqs_text(text_of(exc)[:MAX_ERROR_MESSAGE])),
    )
    for name, text in reason:
        if text and len(attributes) < MAX_MESSAGE_ATTRIBUTES:
            attributes[name] = {"DataType": "String", "StringValue": text}
    fields: dict[str, Any] = {"MessageBody": record["body"]}
    if attributes:
        fields["MessageAttributes"] = attributes
    system = record.get("attributes") or {}
    trace = system.get("AWSTraceHeader")
    if isinstance(trace, str) and trace:
        fields["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": trace}
        }
    if target.fifo:
        group = system.get("MessageGroupId")
        fields["MessageGroupId"] = group if isinstance(group, str) and group else "aiobatch"
        fields["MessageDeduplicationId"] = str(record["messageId"])[:128]
    return fields


def receive_count(record: Mapping[str, Any]) -> int:
    """The record's ``ApproximateReceiveCount``; 1 when it is missing or odd."""
    raw: Any = (record.get("attributes") or {}).get("ApproximateReceiveCount")
    try:
        return max(1, int(raw))
    except (TypeError, ValueError):
        return 1


class PolicyOutcome(NamedTuple):
    """What the retry policy did to one batch."""

    dead_lettered: frozenset[int]  # indices whose copy SQS confirmed in the DLQ
    dead_letter_failed: int  # non-retryable records not sent (no DLQ, an error)
    backoff_set: int
    backoff_failed: int


class RetryPolicy:
    """A processor's ``retry=`` and ``non_retryable=``, applied to a finished batch."""

    def __init__(
        self,
        *,
        backoff: Backoff | None,
        non_retryable: Callable[[BaseException], bool] | None,
        dead_letter_queue: str | None,
        sqs: Any,
        logger: logging.Logger | logging.LoggerAdapter[Any],
    ) -> None:
        self.backoff = backoff
        self.non_retryable = non_retryable
        self.dead_letter_queue = dead_letter_queue
        self.sqs = sqs
        self.logger = logger
        # The dead-letter queue of each source queue, by its ARN: None when it has none.
        # (dead_letter_queue was checked by make_policy; it is resolved per source queue.)
        self._targets: dict[str, DeadLetterTarget | None] = {}

    @property
    def fields(self) -> tuple[Field, ...]:
        """What every record must have for the policy's calls, checked before any
        handler runs: a receipt handle and the queue's ARN, and a body to send."""
        if self.non_retryable is None:
            return (RECEIPT_HANDLE, QUEUE_ARN)
        return (RECEIPT_HANDLE, QUEUE_ARN, BODY)

    def __deepcopy__(self, memo: dict[int, Any]) -> RetryPolicy:
        """A copy's policy shares the SQS layer (its clients are bound to their event
        loops, as a processor's ``sqs`` is shared by ``copy.deepcopy``) and the logger;
        it learns the dead-letter queues afresh."""
        return RetryPolicy(
            backoff=self.backoff,
            non_retryable=self.non_retryable,
            dead_letter_queue=self.dead_letter_queue,
            sqs=self.sqs,
            logger=self.logger,
        )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_targets"] = {}
        return state

    async def apply(self, batch: Batch, *, deadline: float | None) -> PolicyOutcome:
        """Send the batch's non-retryable failures to the dead-letter queue, and set the
        backoff of its other failures (for FIFO, of the rest of each failed record's
        group too). Records that failed for no error of their own (skipped, cut short
        by the deadline) are left alone.

        Each half runs to its end whatever the other does: one that raises (a defect)
        is logged, and what the other did still counts."""
        import asyncio

        records, failures = batch.raw_records, batch.failures
        own = {index: exc for index, exc in failures.items() if not isinstance(exc, _UNFINISHED)}
        to_dead_letter = self._to_dead_letter(records, failures, own)
        dead_lettered: set[int] = set()
        counts = {"dead_letter_failed": 0, "backoff_set": 0, "backoff_failed": 0}

        async def dead_letter() -> None:
            try:
                counts["dead_letter_failed"] += await self._dead_letter(
                    records, own, to_dead_letter, deadline, dead_lettered
                )
            except Exception as exc:
                self._failed("dead-letter sends", exc)
                counts["dead_letter_failed"] += len(to_dead_letter) - len(dead_lettered)

        async def back_off(indices: list[int]) -> None:
            try:
                done, failed = await self._back_off(batch, records, failures, indices, deadline)
            except Exception as exc:
                self._failed("backoffs", exc)
                return
            counts["backoff_set"] += done
            counts["backoff_failed"] += failed

        chosen = set(to_dead_letter)
        retried = [index for index in sorted(own) if index not in chosen]
        jobs = []
        if to_dead_letter:
            jobs.append(dead_letter())
        if self.backoff is not None and retried:
            jobs.append(back_off(retried))
        if jobs:
            await asyncio.gather(*jobs)
        if self.backoff is not None:
            not_sent = [index for index in to_dead_letter if index not in dead_lettered]
            if not_sent:  # a failure like any other now: it backs off as they do
                await back_off(not_sent)
        return PolicyOutcome(
            frozenset(dead_lettered),
            counts["dead_letter_failed"],
            counts["backoff_set"],
            counts["backoff_failed"],
        )

    def _to_dead_letter(
        self,
        records: Sequence[Mapping[str, Any]],
        failures: Mapping[int, BaseException],
        own: Mapping[int, BaseException],
    ) -> list[int]:
        """The failed records to send to the dead-letter queue: those whose exception
        matches ``non_retryable``, and only when every failed copy of their message in
        the batch (SQS may deliver one twice) does: a message also to be retried is not
        sent too."""
        if self.non_retryable is None:
            return []
        matching = {index for index, exc in own.items() if self._matches(exc)}
        if not matching:
            return []
        retried_ids = {
            records[index].get("messageId") for index in failures if index not in matching
        }
        return [
            index
            for index in sorted(matching)
            if records[index].get("messageId") not in retried_ids
        ]

    def _failed(self, what: str, exc: Exception) -> None:
        self.logger.error(
            "the retry policy's %s failed (%s); the records they did not reach are "
            "reported failed as usual",
            what,
            type(exc).__name__,
            exc_info=exc if self.logger.isEnabledFor(logging.DEBUG) else None,
        )

    def _matches(self, exc: BaseException) -> bool:
        matcher = self.non_retryable
        assert matcher is not None
        try:
            return bool(matcher(exc))
        except Exception as error:
            self.logger.error(
                "the non_retryable predicate raised %s; the record is retried as usual",
                type(error).__name__,
            )
            return False

    async def _target(self, queue_arn: str, deadline: float | None) -> DeadLetterTarget | None:
        """The dead-letter queue of ``queue_arn``: the one given, or its redrive
        policy's (asked once per queue, within ``deadline``, and kept). Raises what
        asking raised, ``TimeoutError`` at the deadline."""
        import asyncio

        if queue_arn in self._targets:
            return self._targets[queue_arn]
        source = parse_sqs_arn(queue_arn)
        if self.dead_letter_queue is not None:
            target: DeadLetterTarget | None = dead_letter_target(
                self.dead_letter_queue, source=source
            )
        else:
            ask = self.sqs.dead_letter_queue_arn(queue_arn)
            if deadline is None:
                arn = await ask
            else:
                async with asyncio.timeout_at(deadline):
                    arn = await ask
            target = None if arn is None else dead_letter_target(arn)
            if target is None:
                self.logger.warning(
                    "non_retryable: queue %s has no dead-letter queue (no RedrivePolicy), "
                    "so non-retryable records are retried as usual; give one with "
                    "dead_letter_queue=",
                    queue_arn,
                )
        self._targets[queue_arn] = target
        return target

    async def _dead_letter(
        self,
        records: Sequence[Mapping[str, Any]],
        own: Mapping[int, BaseException],
        indices: Sequence[int],
        deadline: float | None,
        sent: set[int],
    ) -> int:
        """Send the records at ``indices`` to their queues' dead-letter queues; add each
        one SQS confirmed to ``sent`` as soon as it is known. Returns how many were not
        sent. One copy of a message is sent; its twins count as sent with it."""
        by_queue: dict[str, dict[str, list[int]]] = {}
        for index in indices:
            copies = by_queue.setdefault(records[index]["eventSourceARN"], {})
            copies.setdefault(str(records[index]["messageId"]), []).append(index)
        failed = 0
        for queue_arn, by_message in by_queue.items():
            queue_indices = [index for twins in by_message.values() for index in twins]
            try:
                target = await self._target(queue_arn, deadline)
            except Exception as exc:
                self.logger.warning(
                    "non_retryable: could not read the redrive policy of %s (%s); %d "
                    "non-retryable records are retried as usual. %s",
                    queue_arn,
                    error_code(exc) or type(exc).__name__,
                    len(queue_indices),
                    "The function's deadline came first."
                    if isinstance(exc, TimeoutError)
                    else "It needs sqs:GetQueueAttributes, or give dead_letter_queue=",
                )
                failed += len(queue_indices)
                continue
            if target is None:
                failed += len(queue_indices)
                continue
            messages = []
            for twins in by_message.values():
                index = twins[0]
                fields = dead_letter_fields(records[index], own[index], target)
                messages.append((str(index), str(records[index]["messageId"]), fields))
            unconfirmed = await self.sqs.send_messages(target.queue, messages, deadline=deadline)
            refused = {entry.entry_id for entry in unconfirmed}
            for twins in by_message.values():
                if str(twins[0]) not in refused:
                    sent.update(twins)
                else:
                    failed += len(twins)
            if unconfirmed:
                self.logger.warning(
                    "non_retryable: %d of %d messages could not be sent to the dead-letter "
                    "queue %s, so they are retried as usual: %s",
                    len(unconfirmed),
                    len(queue_indices),
                    target.queue.arn,
                    ", ".join(f"{u.message_id} ({u.code})" for u in unconfirmed),
                )
        return failed

    async def _back_off(
        self,
        batch: Batch,
        records: Sequence[Mapping[str, Any]],
        failures: Mapping[int, BaseException],
        indices: Iterable[int],
        deadline: float | None,
    ) -> tuple[int, int]:
        backoff = self.backoff
        assert backoff is not None
        elapsed = time.perf_counter() - batch.started_at if batch.started_at else 0.0
        cap = max(1, MAX_VISIBILITY_TIMEOUT - RECEIVE_SLACK - math.ceil(elapsed))
        timeouts: dict[int, int] = {}
        for index in indices:
            timeouts[index] = min(cap, backoff.delay(receive_count(records[index])))
        # FIFO: the rest of each failed record's group that did not run comes back with
        # it, not before: the group's order holds.
        for index, seconds in sorted(timeouts.items()):
            if str(records[index]["eventSourceARN"]).endswith(".fifo"):
                group = message_group(records[index])
                for later in range(index + 1, len(records)):
                    if (
                        later not in timeouts
                        and isinstance(failures.get(later), _UNFINISHED)
                        and message_group(records[later]) == group
                        and records[later]["eventSourceARN"] == records[index]["eventSourceARN"]
                    ):
                        timeouts[later] = seconds
        if not timeouts:
            return 0, 0
        changes = [
            (
                str(index),
                str(records[index]["messageId"]),
                records[index]["eventSourceARN"],
                records[index]["receiptHandle"],
                seconds,
            )
            for index, seconds in sorted(timeouts.items())
        ]
        unconfirmed = await self.sqs.change_visibility(changes, deadline=deadline)
        if unconfirmed:
            self.logger.warning(
                "retry: the backoff of %d of %d failed messages could not be set; they come "
                "back after the queue's visibility timeout: %s",
                len(unconfirmed),
                len(changes),
                ", ".join(f"{u.message_id} ({u.code})" for u in unconfirmed),
            )
        return len(changes) - len(unconfirmed), len(unconfirmed)


def message_group(record: Mapping[str, Any]) -> Any:
    """An SQS record's ``MessageGroupId`` (FIFO), or ``None``."""
    return (record.get("attributes") or {}).get("MessageGroupId")


def make_policy(
    *,
    retry: Any,
    non_retryable: Any,
    dead_letter_queue: Any,
    sqs: Any,
    session: Any,
    config: Any,
    logger: logging.Logger | logging.LoggerAdapter[Any],
) -> tuple[RetryPolicy | None, Any]:
    """A processor's retry policy from its options (``None`` when both are off), and
    the SQS actions it uses: ``sqs`` if given, else aioboto3's, made only when needed
    (the partial-response path imports no AWS SDK otherwise)."""
    if retry is not None and not isinstance(retry, Backoff):
        raise TypeError(f"retry must be a Backoff, got {type(retry).__name__}")
    matcher = non_retryable_matcher(non_retryable)
    if dead_letter_queue is not None:
        check_dead_letter_queue(dead_letter_queue)  # now, not at the first failure
        if matcher is None:
            raise TypeError("dead_letter_queue= is where non_retryable= records go: give both")
    if retry is None and matcher is None:
        return None, sqs
    if sqs is None:
        from ._sqs import AioSQSActions

        sqs = AioSQSActions(session, config)  # without aioboto3: an error saying what to install
    else:
        needed = ["change_visibility"] if retry is not None else []
        if matcher is not None:
            needed.append("send_messages")
            if dead_letter_queue is None:
                needed.append("dead_letter_queue_arn")
        missing = [name for name in needed if not callable(getattr(sqs, name, None))]
        if missing:
            raise TypeError(
                f"sqs= {type(sqs).__name__} has no {', '.join(missing)}, which "
                "retry= and non_retryable= need"
            )
    policy = RetryPolicy(
        backoff=retry,
        non_retryable=matcher,
        dead_letter_queue=dead_letter_queue,
        sqs=sqs,
        logger=logger,
    )
    return policy, sqs

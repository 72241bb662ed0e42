"""The ``aiobatch run`` worker: Lambda's SQS event source mapping, in one process.

A worker long-polls a queue, gathers batches as the event source mapping does (batch
size, batching window, Lambda's 6 MB payload limit), builds each event exactly as
Lambda would, invokes the user's unchanged Lambda handler with a Lambda-like context,
and applies its result as Lambda does: a normal return deletes the batch, except the
``batchItemFailures`` it names; a handler that raises or overruns its timeout deletes
nothing, and its messages come back after the queue's visibility timeout.

``concurrency`` slots run at once, each receiving its own batches: async handlers on the
worker's event loop, ``def`` handlers each on its slot's own thread, so that a handler
using aiobatch's sync facade keeps its event loop and clients warm between invocations,
as in a warm Lambda environment.

Nothing is deleted unless the handler's result says so; every delete is checked entry by
entry; what could not be deleted, and every message released at shutdown, is counted.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import inspect
import json
import math
import os
import queue
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

from ._arn import QueueRef, parse_sqs_arn
from ._exceptions import error_code
from ._retry import MAX_VISIBILITY_TIMEOUT, Backoff, message_group, receive_count
from ._sqs.batch_calls import CHANGE_VISIBILITY, DELETE, BatchCaller, Entry, Unconfirmed
from ._sqs.clients import SQSClients
from ._sqs.events import lambda_record

MAX_PAYLOAD = 6 * 1024 * 1024
"""Lambda invokes with what it has gathered once the event would pass 6 MB."""

_EVENT_FRAME = len('{"Records": []}')

MAX_BATCH_SIZE = 10_000
MAX_FIFO_BATCH_SIZE = 10
MAX_BATCHING_WINDOW = 300
MAX_TIMEOUT = 900
MAX_WAIT_TIME = 20

_RECEIVE_RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)

_HELD_POLL = 1
"""Seconds a receive waits at most while a slot holds messages in a batching window."""


class StartupError(Exception):
    """The worker cannot start; the message is one line saying why and what to do."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How a worker receives and invokes; the defaults are Lambda's where it has one."""

    queue_url: str
    batch_size: int = 10
    batching_window: float = 0.0
    concurrency: int = 1
    timeout: float = 3.0
    memory_limit_in_mb: int = 128
    function_name: str = "aiobatch-worker"
    report_batch_item_failures: bool = True
    wait_time: int = MAX_WAIT_TIME
    heartbeat: bool = False
    drain_timeout: float | None = None
    until_empty: bool = False
    max_messages: int | None = None
    log_exception_text: bool = False
    region: str | None = None
    endpoint_url: str | None = None
    backoff: Backoff | None = None
    """Not Lambda's: hide each failed message for a delay growing with its receive
    count, instead of until the queue's visibility timeout (see :class:`Backoff`)."""

    def problems(self) -> list[str]:
        """What is wrong with these options, each as a sentence; empty when all is well."""
        found = []
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            found.append(f"--batch-size must be 1 to {MAX_BATCH_SIZE:,}, got {self.batch_size}")
        if not 0 <= self.batching_window <= MAX_BATCHING_WINDOW:
            found.append(
                f"--batching-window must be 0 to {MAX_BATCHING_WINDOW} seconds, "
                f"got {self.batching_window:g}"
            )
        elif self.batch_size > 10 and self.batching_window < 1:
            found.append(
                "a --batch-size above 10 needs a --batching-window of at least 1 second, "
                "as Lambda requires"
            )
        if self.concurrency < 1:
            found.append(f"--concurrency must be at least 1, got {self.concurrency}")
        if not 0 < self.timeout <= MAX_TIMEOUT:
            found.append(f"--timeout must be above 0 and at most {MAX_TIMEOUT} seconds")
        if not 128 <= self.memory_limit_in_mb <= 10_240:
            found.append(f"--memory must be 128 to 10240 MB, got {self.memory_limit_in_mb}")
        if not 0 <= self.wait_time <= MAX_WAIT_TIME:
            found.append(f"--wait-time must be 0 to {MAX_WAIT_TIME} seconds, got {self.wait_time}")
        if self.max_messages is not None and self.max_messages < 1:
            found.append(f"--max-messages must be at least 1, got {self.max_messages}")
        if self.drain_timeout is not None and not self.drain_timeout >= 0:
            found.append(f"--drain-timeout must be 0 or more seconds, got {self.drain_timeout}")
        return found


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """What the worker learnt of its queue before receiving anything."""

    url: str
    arn: str
    region: str
    fifo: bool
    visibility_timeout: int
    dead_letter_arn: str | None = None
    max_receive_count: int | None = None

    @property
    def ref(self) -> QueueRef:
        ref = parse_sqs_arn(self.arn)
        if ref is None:
            raise ValueError(f"the queue's ARN {self.arn!r} is not an SQS queue ARN")
        return ref


@dataclass(slots=True)
class Invocation:
    """One invocation and what came of it; what a reporter is told of each."""

    request_id: str
    records: int
    failed: int = 0
    deleted: int = 0
    undeleted: int = 0
    duration: float = 0.0
    problem: str | None = None  # why the whole batch failed, when it did
    traceback: str | None = None  # the handler's, with log_exception_text only
    timed_out: bool = False


class Histogram:
    """Durations in buckets 2 % wide: percentiles of a long run in constant memory."""

    _RATIO = math.log(1.02)

    def __init__(self) -> None:
        self._counts: dict[int, int] = {}
        self.count = 0
        self.low = math.inf
        self.high = 0.0

    def add(self, seconds: float) -> None:
        bucket = math.floor(math.log(max(seconds, 1e-6)) / self._RATIO)
        self._counts[bucket] = self._counts.get(bucket, 0) + 1
        self.count += 1
        self.low = min(self.low, seconds)
        self.high = max(self.high, seconds)

    def percentile(self, fraction: float) -> float | None:
        """The duration below which ``fraction`` of them fall (within 2 %)."""
        if not self.count:
            return None
        rank = max(1, math.ceil(fraction * self.count))
        buckets = sorted(self._counts)
        totals = []
        total = 0
        for bucket in buckets:
            total += self._counts[bucket]
            totals.append(total)
        bucket = buckets[bisect.bisect_left(totals, rank)]
        return min(max(math.exp((bucket + 0.5) * self._RATIO), self.low), self.high)


@dataclass(slots=True)
class Stats:
    """Counters of a worker's run, read by reporters while it runs and at its end."""

    received: int = 0
    succeeded: int = 0
    failed: int = 0
    deleted: int = 0
    undeleted: int = 0
    released: int = 0
    abandoned: int = 0
    redelivered: int = 0
    invocations: int = 0
    failed_invocations: int = 0
    timed_out: int = 0
    in_flight: int = 0
    backoff_set: int = 0
    started: float = field(default_factory=time.monotonic)
    durations: Histogram = field(default_factory=Histogram)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def summary(self) -> dict[str, Any]:
        """The run's totals as a JSON-serialisable dict (durations in milliseconds)."""
        p50 = self.durations.percentile(0.50)
        p99 = self.durations.percentile(0.99)
        return {
            "received": self.received,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "deleted": self.deleted,
            "undeleted": self.undeleted,
            "released": self.released,
            "abandoned": self.abandoned,
            "redelivered": self.redelivered,
            "invocations": self.invocations,
            "failed_invocations": self.failed_invocations,
            "timed_out": self.timed_out,
            "backoff_set": self.backoff_set,
            "invocation_p50_ms": None if p50 is None else round(p50 * 1000, 3),
            "invocation_p99_ms": None if p99 is None else round(p99 * 1000, 3),
            "elapsed_s": round(self.elapsed(), 3),
        }


class Reporter(Protocol):
    """Where a worker tells what it does; ``interval`` is how often :meth:`tick` runs."""

    interval: float

    def started(self, queue: QueueInfo, options: WorkerOptions) -> None: ...

    def invoked(self, invocation: Invocation, stats: Stats) -> None: ...

    def warning(self, text: str, **fields: Any) -> None: ...

    def info(self, text: str, **fields: Any) -> None: ...

    def tick(self, stats: Stats) -> None: ...

    def finished(self, stats: Stats) -> None: ...


class SilentReporter:
    """A reporter that says nothing (for embedding and benchmarks)."""

    interval = 3600.0

    def started(self, queue: QueueInfo, options: WorkerOptions) -> None:
        pass

    def invoked(self, invocation: Invocation, stats: Stats) -> None:
        pass

    def warning(self, text: str, **fields: Any) -> None:
        pass

    def info(self, text: str, **fields: Any) -> None:
        pass

    def tick(self, stats: Stats) -> None:
        pass

    def finished(self, stats: Stats) -> None:
        pass


# --- judging a result, as Lambda does ---------------------------------------------------


class Malformed(Exception):
    """The handler's response fails the whole batch, as Lambda treats it."""


def _lambda_json(value: Any) -> Any:
    # The Lambda Python runtime serialises Decimal as a number and nothing else extra.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def failed_identifiers(result: Any, batch_ids: Iterable[str], report: bool) -> set[str]:
    """The message ids the handler's ``result`` reports failed.

    Raises :class:`Malformed` when Lambda would fail the whole batch: a result the
    runtime cannot serialise, or (with ``report``, ReportBatchItemFailures) a
    ``batchItemFailures`` that is not a list of ``{"itemIdentifier": <an id of this
    batch>}``. No ``batchItemFailures``, ``null`` or ``[]``: nothing failed.
    """
    if result is None:
        return set()
    try:
        text = json.dumps(result, default=_lambda_json, ensure_ascii=False)
        decoded = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise Malformed(f"the runtime cannot serialise its result: {exc}") from None
    if len(text) > MAX_PAYLOAD // 4 and len(text.encode()) > MAX_PAYLOAD:
        raise Malformed("its response is over Lambda's 6 MB limit")
    if not report or not isinstance(decoded, dict):
        return set()
    failures = decoded.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        raise Malformed(f"batchItemFailures is a {type(failures).__name__}, not a list")
    known = set(batch_ids)
    failed: set[str] = set()
    for index, failure in enumerate(failures):
        if not isinstance(failure, dict) or "itemIdentifier" not in failure:
            raise Malformed(f"batchItemFailures[{index}] has no itemIdentifier")
        identifier = failure["itemIdentifier"]
        if not isinstance(identifier, str) or not identifier:
            raise Malformed(
                f"batchItemFailures[{index}] has an itemIdentifier that is null, empty or "
                "not a string"
            )
        if identifier not in known:
            raise Malformed(
                f"batchItemFailures[{index}] names an itemIdentifier that is not in the batch"
            )
        failed.add(identifier)
    return failed


# --- def handlers: a thread per slot ----------------------------------------------------


class _HandlerThread:
    """A daemon thread that runs one slot's ``def`` handler calls, one at a time.

    One thread per slot, kept across invocations, is what keeps a warm environment's
    state (aiobatch's per-thread event loop and its clients). A thread whose call
    overran its timeout is abandoned, as Lambda abandons a timed-out environment: it
    finishes on its own, its result is dropped, and the slot gets a new thread.
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def call(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put((fn, args, future, loop))
        return future

    def close(self) -> None:
        self._jobs.put(None)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args, future, loop = job
            try:
                outcome: tuple[bool, Any] = (True, fn(*args))
            except Exception as exc:
                outcome = (False, exc)
            except BaseException as exc:
                # SystemExit or KeyboardInterrupt from a handler in its own thread is a
                # failed invocation, not a reason for the worker to stop.
                outcome = (False, _handler_exit(exc))
            # The loop may be gone (an abandoned call finishing after the worker ended).
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, outcome)


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


@dataclass(slots=True)
class _Received:
    """A received message and its Lambda record, with an upper bound on the record's
    JSON size (``measured`` once it is the exact size)."""

    record: dict[str, Any]
    message_id: str
    receipt_handle: str
    size: int
    received_at: float  # event loop time of the receive, then of the last heartbeat
    measured: bool = False
    hidden_since: float = 0.0  # event loop time of the receive: SQS's 12 hours count from it

    def measure(self) -> int:
        if not self.measured:
            self.size = json_size(self.record)
            self.measured = True
        return self.size


def json_size(record: Mapping[str, Any]) -> int:
    """A record's bytes in the event: its UTF-8 JSON, and the ", " before the next."""
    return len(json.dumps(record, ensure_ascii=False).encode()) + 2


def _size_bound(record: Mapping[str, Any]) -> int:
    """An upper bound on :func:`json_size`, cheaper than measuring.

    In UTF-8 JSON a character takes at most 6 bytes (a control character's ``\\u001f``;
    any other at most 4). The fields SQS fills in (ids, the receipt handle, system
    attributes) are nearly always printable ASCII, at most 2 bytes a character
    (``\\"``); when they are not, 6 a character is assumed for them too.
    """
    if record["messageAttributes"]:
        return json_size(record)
    attributes = record["attributes"]
    given = "".join(
        (
            record["receiptHandle"],
            record["messageId"],
            record["eventSourceARN"],
            record["awsRegion"],
            *attributes,
            *attributes.values(),
        )
    )
    # Printable ASCII takes at most 2 bytes a character in JSON; anything else 6.
    per_character = 2 if given.isascii() and given.isprintable() else 6
    return 6 * len(record["body"]) + per_character * len(given) + 16 * len(attributes) + 512


class LambdaContext:
    """The context object a worker passes its handler, with Lambda's attributes.

    Its log stream names its slot, as a Lambda log stream names one execution
    environment; :meth:`get_remaining_time_in_millis` counts down from the function
    timeout, from the moment the invocation started.
    """

    __slots__ = (
        "_deadline",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
    )

    def __init__(self, function: _Function, log_stream_name: str, timeout: float) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_limit_in_mb
        self.log_group_name = function.log_group_name
        self.log_stream_name = log_stream_name
        self.aws_request_id = str(uuid.uuid4())
        self.identity: Any = None
        self.client_context: Any = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        """Whole milliseconds left before the function timeout, never below zero."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r}, "
            f"remaining_ms={self.get_remaining_time_in_millis()})"
        )


@dataclass(frozen=True, slots=True)
class _Function:
    """What every invocation's context shares."""

    name: str
    arn: str
    memory_limit_in_mb: int
    log_group_name: str


@dataclass(slots=True)
class _Slot:
    index: int
    log_stream_name: str = ""
    thread: _HandlerThread | None = None
    # Received and not invoked: a batch being gathered, or messages that did not fit
    # (6 MB). Whatever is here when its slot leaves a phase is released.
    held: list[_Received] = field(default_factory=list)
    task: asyncio.Task[None] | None = None  # the slot's loop
    phase: str = "idle"  # "gathering" (stop() cuts it), "handler" (the drain timeout
    # cuts it), "applying" (deletes: never cut)
    cut: bool = False  # stop() cancelled its receive
    drained: bool = False  # the drain timeout cancelled its handler


def is_async_handler(handler: Callable[..., Any]) -> bool:
    """Whether calling ``handler`` gives a coroutine (an ``async def`` or ``__call__``)."""
    if inspect.iscoroutinefunction(handler):
        return True
    call = getattr(type(handler), "__call__", None)  # noqa: B004
    return call is not None and inspect.iscoroutinefunction(call)


def region_of_url(url: str) -> str | None:
    """The region in an SQS queue URL's host, or ``None`` (a local endpoint's URL)."""
    host = urlsplit(url).hostname or ""
    parts = host.split(".")
    if len(parts) >= 4 and parts[0] == "sqs":
        return parts[1]
    if len(parts) >= 4 and parts[1] == "queue":
        return parts[0]
    return None


def resolve_region(region: str | None, queue_url: str | None, session: Any) -> str:
    """The region to call: ``region`` if given, else the queue URL's, else
    ``AWS_REGION`` (which botocore does not read), else the session's
    (``AWS_DEFAULT_REGION``, the profile); :class:`StartupError` when there is none."""
    found = (
        region
        or (queue_url and region_of_url(queue_url))
        or os.environ.get("AWS_REGION")
        or session.region_name
    )
    if not found:
        raise StartupError(
            "no AWS region: pass --region, or set AWS_REGION (or AWS_DEFAULT_REGION)"
        )
    return str(found)


class Worker:
    """Runs ``handler`` (a Lambda handler, ``(event, context)``) over a queue's batches.

    ``session`` is an ``aioboto3.Session`` (credentials, region); ``config`` a botocore
    ``Config`` merged over aiobatch's client defaults. Call :meth:`check` first (it
    raises :class:`StartupError`), then :meth:`run`; :meth:`stop` asks a run to end:
    no more receives, batches in flight get ``drain_timeout`` seconds, messages held
    but not yet invoked are released.
    """

    def __init__(
        self,
        handler: Callable[[Any, Any], Any],
        options: WorkerOptions,
        *,
        session: Any = None,
        config: Any = None,
        reporter: Reporter | None = None,
    ) -> None:
        problems = options.problems()
        if problems:
            raise StartupError("; ".join(problems))
        self.handler = handler
        self.options = options
        self.reporter: Reporter = reporter if reporter is not None else SilentReporter()
        self.stats = Stats()
        self.error: str | None = None  # why the run ended early, when it did
        self._is_async = is_async_handler(handler)
        self._session = session
        self._config = config
        self._queue: QueueInfo | None = None
        self._clients = SQSClients()
        self._caller = BatchCaller(self._clients)
        self._stopping: asyncio.Event | None = None
        self._slots: list[_Slot] = []
        self._capped = 0  # slots that stopped at max_messages

    # --- start ---------------------------------------------------------------------------

    def _make_session(self) -> Any:
        if self._session is None:
            import aioboto3

            self._session = aioboto3.Session()
        return self._session

    def _region(self) -> str:
        return resolve_region(self.options.region, self.options.queue_url, self._make_session())

    async def check(self) -> QueueInfo:
        """Read the queue's attributes: proves the endpoint, the credentials and the
        queue, and checks the options against the queue as Lambda would."""
        from botocore.config import Config

        region = self._region()
        session = self._make_session()
        # A short-lived client with few retries: a bad endpoint should fail in seconds.
        quick = Config(connect_timeout=5, read_timeout=10, retries={"total_max_attempts": 2})
        try:
            async with session.client(
                "sqs", region_name=region, endpoint_url=self.options.endpoint_url, config=quick
            ) as client:
                response = await client.get_queue_attributes(
                    QueueUrl=self.options.queue_url, AttributeNames=["All"]
                )
        except Exception as exc:
            raise StartupError(
                describe_startup_error(exc, self.options.queue_url, self.options.endpoint_url)
            ) from None
        info = _queue_info(self.options.queue_url, response.get("Attributes", {}))
        problems = _mismatches(info, self.options)
        if problems:
            raise StartupError("; ".join(problems))
        try:
            info.ref  # noqa: B018
        except ValueError as exc:
            raise StartupError(str(exc)) from None
        self._queue = info
        return info

    @property
    def queue(self) -> QueueInfo:
        """The queue, as :meth:`check` found it."""
        if self._queue is None:
            raise RuntimeError("the worker has not checked its queue yet: call check()")
        return self._queue

    # --- run -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop receiving; the run drains and returns. Safe to call from the loop only."""
        if self._stopping is None or self._stopping.is_set():
            return
        self._stopping.set()
        for slot in self._slots:
            # A slot that holds messages ends its short receive (at most _HELD_POLL
            # seconds) and hands them to run() to release; one holding none is cut.
            if (
                slot.phase == "gathering"
                and slot.task is not None
                and not slot.cut
                and not slot.held
            ):
                slot.cut = True
                slot.task.cancel()

    @property
    def stopping(self) -> bool:
        return self._stopping is not None and self._stopping.is_set()

    async def run(self) -> Stats:
        """Receive and invoke until :meth:`stop` (or an empty queue with
        ``until_empty``); returns the run's counters."""
        if self._queue is None:
            await self.check()
        options = self.options
        self._stopping = asyncio.Event()
        pool = max(10, 2 * options.concurrency)
        from botocore.config import Config

        user = self._config
        config = Config(max_pool_connections=pool, read_timeout=options.wait_time + 40)
        if user is not None:
            config = config.merge(user)
        self._clients = SQSClients(self._make_session(), config, endpoint_url=options.endpoint_url)
        self._caller = BatchCaller(self._clients)
        self.stats = Stats()
        self._capped = 0
        self.reporter.started(self.queue, options)
        self._function = _Function(
            options.function_name,
            f"arn:aws:lambda:{self.queue.region}:{self.queue.ref.account}"
            f":function:{options.function_name}",
            options.memory_limit_in_mb,
            f"/aws/lambda/{options.function_name}",
        )
        day = time.strftime("%Y/%m/%d", time.gmtime())
        self._slots = [
            _Slot(index, f"{day}/[$LATEST]{uuid.uuid4().hex}")
            for index in range(options.concurrency)
        ]
        for advice in _advice(self.queue, options):
            self.reporter.warning(advice)
        ticker = asyncio.create_task(self._tick())
        tasks = [asyncio.create_task(self._serve(slot)) for slot in self._slots]
        for task in tasks:
            task.add_done_callback(self._slot_ended)
        try:
            await self._stopping.wait()
            drain = options.timeout if options.drain_timeout is None else options.drain_timeout
            _, pending = await asyncio.wait(tasks, timeout=drain)
            running = [s for s in self._slots if s.task in pending and s.phase == "handler"]
            if running:
                self.reporter.warning(
                    f"{len(running)} invocation(s) still running after the drain timeout "
                    f"({drain:g} s): cancelled; their messages were not deleted and come "
                    "back after the visibility timeout"
                )
                for slot in running:
                    assert slot.task is not None
                    slot.drained = True
                    slot.task.cancel()
            # The rest are finishing deletes, or a receive stop() has just cut short.
            if pending:
                await asyncio.wait(pending)
            for task in tasks:
                error = None if task.cancelled() else task.exception()
                if error is not None:
                    raise error
        finally:
            ticker.cancel()
            for task in tasks:  # run() itself cancelled: its slots go with it
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await self._release([m for slot in self._slots for m in slot.held])
            finally:
                for slot in self._slots:
                    slot.held = []
                    if slot.thread is not None:
                        slot.thread.close()
                await self._clients.aclose()
                # Let the slots' threads end now, each closing its event loop (and the
                # clients a sync facade kept on it) itself, rather than at interpreter
                # exit, where closing a daemon thread's loop fails. One still running a
                # handler that the drain cut short is not waited for long.
                deadline = time.monotonic() + 2.0
                for slot in self._slots:
                    if slot.thread is not None:
                        slot.thread.join(max(0.0, deadline - time.monotonic()))
                        slot.thread = None
        self.reporter.finished(self.stats)
        return self.stats

    def _slot_ended(self, task: asyncio.Task[None]) -> None:
        # A slot ends early only by a bug: stop the others rather than run on with fewer
        # (run() raises the error once they have drained).
        if task.cancelled():
            if not self.stopping:
                self._fail("a worker slot was cancelled")
            return
        error = task.exception()
        if error is not None:
            self._fail(f"a worker slot failed ({_error_name(error)})")

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.reporter.interval)
            self.reporter.tick(self.stats)

    async def _serve(self, slot: _Slot) -> None:
        slot.task = asyncio.current_task()
        while not self.stopping:
            if self._received_enough():
                # Received enough: no more receives. The last slot to see it ends the
                # run; the others have finished theirs by then.
                self._capped += 1
                if self._capped == len(self._slots):
                    self.stop()
                return
            slot.phase = "gathering"
            try:
                batch = await self._gather(slot)
            except asyncio.CancelledError:
                if slot.cut:
                    return  # stop() cut a receive short; run() releases what it held
                raise
            finally:
                slot.phase = "idle"
            if slot.held:  # what did not fit: back to the queue at once
                held, slot.held = slot.held, []
                await self._release(held)
            if not batch:
                if self.options.until_empty and await self._drained():
                    self.stop()
                continue
            if self.stopping:
                slot.held = batch
                return
            await self._invoke(slot, batch)

    async def _drained(self) -> bool:
        """Whether the queue holds nothing, visible, in flight or delayed, and this
        worker runs nothing."""
        if self.stats.in_flight:
            return False
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        try:
            client = await self._clients.get(self.queue.ref.region)
            response = await client.get_queue_attributes(
                QueueUrl=self.options.queue_url, AttributeNames=names
            )
        except Exception as exc:  # the next receive retries or stops as it should
            self.reporter.warning(f"reading the queue's counts failed ({_error_name(exc)})")
            return False
        attributes = response.get("Attributes", {})
        return sum(int(attributes.get(name, 0)) for name in names) == 0

    async def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        """One ReceiveMessage. Errors that can pass (a network error, throttling) are
        retried with backoff, for as long as they last, each logged; one that cannot
        (the queue is gone, access denied) stops the worker."""
        attempt = 0
        while True:
            try:
                client = await self._clients.get(self.queue.ref.region)
                response = await client.receive_message(
                    QueueUrl=self.options.queue_url,
                    MaxNumberOfMessages=count,
                    WaitTimeSeconds=wait,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
                messages: list[dict[str, Any]] = response.get("Messages", [])
                return messages
            except Exception as exc:
                fatal = _fatal_receive_error(exc)
                if fatal is not None:
                    self._fail(f"receiving failed: {fatal}")
                    raise asyncio.CancelledError from None
                delay = _RECEIVE_RETRY_DELAYS[min(attempt, len(_RECEIVE_RETRY_DELAYS) - 1)]
                attempt += 1
                self.reporter.warning(
                    f"receiving failed ({_error_name(exc)}); retrying in {delay:g} s",
                    attempt=attempt,
                )
                await asyncio.sleep(delay)

    def _received_enough(self) -> bool:
        """Whether ``max_messages`` are in (those released again do not count)."""
        cap = self.options.max_messages
        return cap is not None and self.stats.received - self.stats.released >= cap

    def _fail(self, reason: str) -> None:
        """Stop the run because of ``reason``: the exit code will say so."""
        if self.error is None:
            self.error = reason
            self.reporter.warning(f"{reason}; stopping")
        self.stop()

    async def _gather(self, slot: _Slot) -> list[_Received]:
        """A batch, as the event source mapping gathers one.

        It returns as soon as there is something when there is no batching window; with
        one, when the batch is full, the window (counted from the first message) has
        passed, or the next record would take the event past 6 MB. An empty list: a
        long poll came back empty.
        """
        options = self.options
        batch = slot.held  # the same list: what a cut receive leaves is released
        size = _EVENT_FRAME
        window_end: float | None = None
        positions: dict[str, int] = {}  # message id -> its place in the batch
        loop = asyncio.get_running_loop()
        while len(batch) < options.batch_size:
            if batch:
                if self._received_enough() or self.stopping:
                    break
                if window_end is None:
                    window_end = loop.time() + options.batching_window
                left = window_end - loop.time()
                if left <= 0:
                    break
                # Short polls while messages are held: stop() lets such a receive end
                # rather than cut it, since a long poll cut on the client side goes on
                # on the server and could take the held messages again, once released.
                wait = min(options.wait_time, math.ceil(left), _HELD_POLL)
                if options.heartbeat:
                    await self._keep_hidden(batch)
            else:
                # --until-empty finds out the queue is empty at the end of a long poll:
                # keep those short.
                wait = min(options.wait_time, 2) if options.until_empty else options.wait_time
            messages = await self._receive(min(10, options.batch_size - len(batch)), wait)
            if not messages and not batch:
                if not wait:  # a short poll came back empty: do not spin on it
                    await asyncio.sleep(1)
                break
            overflow: list[_Received] = []
            now = loop.time()
            for message in messages:
                item = self._received(message, now)
                position = positions.get(item.message_id)
                if position is not None:
                    # Back again: its visibility timeout ran out during a long window.
                    # The new receipt handle takes the old one's place, counted once.
                    size += item.size - batch[position].size
                    batch[position] = item
                    self.stats.received -= 1
                    continue
                if not overflow and size + item.size > MAX_PAYLOAD:
                    # The bounds say it may not fit: measure them exactly.
                    size = sum(x.measure() for x in batch) + _EVENT_FRAME
                    item.measure()
                if overflow or size + item.size > MAX_PAYLOAD:
                    overflow.append(item)
                else:
                    positions[item.message_id] = len(batch)
                    batch.append(item)
                    size += item.size
            if overflow:
                # Released, not carried into a later batch: a carried message could pass
                # its visibility timeout before that batch starts, and on a FIFO queue
                # SQS keeps the group's order itself.
                slot.held = overflow
                return batch
        slot.held = []
        return batch

    async def _keep_hidden(self, batch: list[_Received]) -> None:
        """With --heartbeat, extend a batch still being gathered before it can come back."""
        interval = self._heartbeat_interval()
        now = asyncio.get_running_loop().time()
        stale = [item for item in batch if now - item.received_at >= interval]
        if stale:
            await self._change_visibility(stale, self.queue.visibility_timeout)
            for item in stale:
                item.received_at = now

    def _received(self, message: Mapping[str, Any], now: float) -> _Received:
        record = lambda_record(message, self.queue.arn, self.queue.region)
        self.stats.received += 1
        if record["attributes"].get("ApproximateReceiveCount", "1") != "1":
            self.stats.redelivered += 1
        return _Received(
            record,
            record["messageId"],
            record["receiptHandle"],
            _size_bound(record),
            now,
            hidden_since=now,
        )

    async def _invoke(self, slot: _Slot, batch: list[_Received]) -> None:
        options = self.options
        context = LambdaContext(self._function, slot.log_stream_name, options.timeout)
        event = {"Records": [item.record for item in batch]}
        ids = [item.message_id for item in batch]
        invocation = Invocation(context.aws_request_id, len(batch))
        self.stats.in_flight += 1
        loop = asyncio.get_running_loop()
        started = loop.time()
        heartbeat = asyncio.create_task(self._heartbeat(batch)) if options.heartbeat else None
        failed: set[str]
        try:
            slot.phase = "handler"
            try:
                result = await self._call(slot, event, context)
                failed = failed_identifiers(result, ids, options.report_batch_item_failures)
            except _TimedOut:
                invocation.timed_out = True
                invocation.problem = f"timed out after {options.timeout:g} s"
                failed = set(ids)
            except Malformed as exc:
                invocation.problem = f"returned a response Lambda rejects: {exc}"
                failed = set(ids)
            except asyncio.CancelledError:
                # The drain timeout: nothing deleted, the messages come back.
                self.stats.abandoned += len(batch)
                raise
            except Exception as exc:
                invocation.problem = f"raised {_error_name(exc)}"
                if options.log_exception_text and not isinstance(exc, _HandlerExit):
                    # Asked for: the text may carry record data.
                    invocation.traceback = "".join(traceback.format_exception(exc)).rstrip()
                failed = set(ids)
            finally:
                if heartbeat is not None:
                    heartbeat.cancel()
                    # Ended before the deletes and backoffs: an extension of its still
                    # on the wire must not land after them.
                    await asyncio.wait([heartbeat])
            # From here on nothing cuts the invocation short: what succeeded is deleted
            # and counted, however long the deletes take.
            slot.phase = "applying"
            invocation.duration = loop.time() - started
            invocation.failed = len(failed)
            succeeded = [item for item in batch if item.message_id not in failed]
            if options.backoff is not None and failed:
                backoff = self._back_off([item for item in batch if item.message_id in failed])
                undeleted, _ = await asyncio.gather(
                    self._delete(succeeded) if succeeded else _nothing(), backoff
                )
            else:
                undeleted = await self._delete(succeeded) if succeeded else []
            invocation.deleted = len(succeeded) - len(undeleted)
            invocation.undeleted = len(undeleted)
        finally:
            slot.phase = "idle"
            self.stats.in_flight -= 1
        stats = self.stats
        stats.invocations += 1
        stats.failed_invocations += invocation.problem is not None
        stats.timed_out += invocation.timed_out
        stats.succeeded += len(batch) - invocation.failed
        stats.failed += invocation.failed
        stats.deleted += invocation.deleted
        stats.undeleted += invocation.undeleted
        stats.durations.add(invocation.duration)
        if undeleted:
            codes = sorted({u.code for u in undeleted})
            self.reporter.warning(
                f"{len(undeleted)} message(s) the handler succeeded on could not be deleted "
                f"({', '.join(codes)}); they come back after the visibility timeout",
                request_id=invocation.request_id,
                message_ids=[u.entry.message_id for u in undeleted],
            )
        self.reporter.invoked(invocation, stats)

    async def _call(self, slot: _Slot, event: dict[str, Any], context: Any) -> Any:
        """The handler's result; :class:`_TimedOut` when it overran ``timeout``."""
        scope = asyncio.timeout(self.options.timeout)
        loop = asyncio.get_running_loop()
        started = loop.time()
        if self._is_async:
            try:
                async with scope:
                    result = await self.handler(event, context)
            except TimeoutError:
                if scope.expired():
                    raise _TimedOut from None
                raise  # the handler's own
            except asyncio.CancelledError as exc:
                if slot.drained:
                    raise  # the worker's: the drain timeout
                # The handler's own (it cancelled its task, or let a cancelled task's
                # error out): a failed invocation; the slot goes on.
                task = asyncio.current_task()
                if task is not None:
                    while task.cancelling():
                        task.uncancel()
                raise _handler_exit(exc) from None
            except (SystemExit, KeyboardInterrupt) as exc:
                # Signals reach the worker through its loop, never as exceptions in a
                # handler: these are the handler's, and fail its batch, as in Lambda.
                raise _handler_exit(exc) from None
            if scope.expired() or loop.time() - started > self.options.timeout:
                # It swallowed the cancellation, or blocked the loop past its timeout so
                # that the timer could not fire: Lambda would have stopped it.
                raise _TimedOut
            return result
        if slot.thread is None:
            slot.thread = _HandlerThread(f"aiobatch-handler-{slot.index}")
        future = slot.thread.call(self.handler, event, context)
        try:
            async with scope:
                result = await future
            if loop.time() - started > self.options.timeout:
                raise _TimedOut  # the loop was blocked (by an async handler) meanwhile
            return result
        except TimeoutError:
            if not scope.expired():
                raise
            slot.thread.close()  # abandoned: it ends when the handler returns
            slot.thread = None
            raise _TimedOut from None

    async def _heartbeat(self, batch: list[_Received]) -> None:
        """Keep the batch's messages hidden while its invocation runs: extended to the
        queue's visibility timeout a third of it after the oldest was received (at once,
        if a batching window took that long), and every third of it from then on."""
        visibility = self.queue.visibility_timeout
        interval = self._heartbeat_interval()
        loop = asyncio.get_running_loop()
        due = min(item.received_at for item in batch) + interval
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            unconfirmed = await self._change_visibility(batch, visibility)
            if unconfirmed:
                self.reporter.warning(
                    f"extending the visibility of {len(unconfirmed)} message(s) failed "
                    f"({', '.join(sorted({u.code for u in unconfirmed}))})"
                )
            due = loop.time() + interval

    def _heartbeat_interval(self) -> float:
        """How often --heartbeat extends: a third of the visibility timeout."""
        return max(0.5, self.queue.visibility_timeout / 3)

    async def _delete(self, items: list[_Received]) -> list[Unconfirmed]:
        return await self._caller.call(DELETE, self._entries(items, {}))

    async def _change_visibility(self, items: list[_Received], seconds: int) -> list[Unconfirmed]:
        extra = {"VisibilityTimeout": seconds}
        return await self._caller.call(CHANGE_VISIBILITY, self._entries(items, extra))

    def _entries(
        self, items: list[_Received], extra: Mapping[str, Any]
    ) -> dict[QueueRef, list[Entry]]:
        """A batch call's entries for ``items``: Ids are their positions."""
        entries = [
            Entry(str(index), item.message_id, {"ReceiptHandle": item.receipt_handle, **extra})
            for index, item in enumerate(items)
        ]
        return {self.queue.ref: entries}

    async def _back_off(self, failed: list[_Received]) -> None:
        """``--backoff``: hide each failed message for its delay, never past SQS's 12
        hours from its receive.

        In a FIFO queue only the first failed message's group backs off, all of it for
        that message's delay, so that it comes back together and in order: by Lambda's
        FIFO rule the handler reports its first failure and everything after it, and
        what follows in other groups may never have run."""
        backoff = self.options.backoff
        assert backoff is not None
        if self.queue.fifo:
            group = message_group(failed[0].record)
            failed = [item for item in failed if message_group(item.record) == group]
            delays = [backoff.delay(receive_count(failed[0].record))] * len(failed)
        else:
            delays = [backoff.delay(receive_count(item.record)) for item in failed]
        now = asyncio.get_running_loop().time()
        entries = []
        for index, (item, seconds) in enumerate(zip(failed, delays, strict=True)):
            left = MAX_VISIBILITY_TIMEOUT - math.ceil(now - item.hidden_since) - 5
            fields = {"ReceiptHandle": item.receipt_handle, "VisibilityTimeout": min(seconds, left)}
            if left > 0:
                entries.append(Entry(str(index), item.message_id, fields))
        if not entries:
            return
        unconfirmed = await self._caller.call(CHANGE_VISIBILITY, {self.queue.ref: entries})
        self.stats.backoff_set += len(entries) - len(unconfirmed)
        self._warn_unconfirmed(unconfirmed, "failed message(s) whose backoff could not be set")

    async def _release(self, items: list[_Received]) -> None:
        """Make received messages that no handler saw visible again at once."""
        if not items:
            return
        unconfirmed = await self._change_visibility(items, 0)
        self.stats.released += len(items) - len(unconfirmed)
        self._warn_unconfirmed(unconfirmed, "received message(s) that could not be released")

    def _warn_unconfirmed(self, unconfirmed: list[Unconfirmed], what: str) -> None:
        """Name the messages whose visibility change SQS did not confirm: they come
        back after the queue's visibility timeout."""
        if unconfirmed:
            self.reporter.warning(
                f"{len(unconfirmed)} {what}; they come back after the visibility timeout",
                message_ids=[u.entry.message_id for u in unconfirmed],
            )


async def _nothing() -> list[Unconfirmed]:
    return []


class _HandlerExit(Exception):
    """A handler raised a ``BaseException`` that is not an ``Exception``
    (``SystemExit``, ``KeyboardInterrupt``, its own ``CancelledError``)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _handler_exit(exc: BaseException) -> _HandlerExit:
    # Only the type's name is kept: the exception's text may carry record data.
    return _HandlerExit(type(exc).__name__)


class _TimedOut(Exception):
    """The handler overran the function timeout."""


def _error_name(exc: BaseException) -> str:
    """An exception's type, and its AWS error code if it has one: never its text, which
    may carry record data."""
    if isinstance(exc, _HandlerExit):
        return exc.name
    code = error_code(exc)
    return type(exc).__name__ if code is None else f"{type(exc).__name__} {code}"


_FATAL_CODES = {
    "AWS.SimpleQueueService.NonExistentQueue": "the queue does not exist (any more)",
    "QueueDoesNotExist": "the queue does not exist (any more)",
    "AccessDenied": "access denied",
    "AccessDeniedException": "access denied",
    "InvalidClientTokenId": "the credentials are not valid",
    "UnrecognizedClientException": "the credentials are not valid",
    "SignatureDoesNotMatch": "the credentials are not valid",
}


def _fatal_receive_error(exc: BaseException) -> str | None:
    """Why calling the queue can never work, or ``None`` for an error worth retrying."""
    code = error_code(exc)
    if code is None:
        return None
    return _FATAL_CODES.get(code) or _FATAL_CODES.get(code.rsplit(".", 1)[-1])


def describe_access_error(exc: BaseException, endpoint: str) -> str | None:
    """One line for missing credentials or an endpoint out of reach; ``None`` for any
    other error. ``endpoint`` names the endpoint ("the SQS endpoint (AWS)")."""
    name = type(exc).__name__
    if name == "NoCredentialsError":
        return (
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run where a role provides them"
        )
    if name in {"EndpointConnectionError", "ConnectTimeoutError", "ConnectionClosedError"}:
        return f"cannot reach {endpoint}: {exc}"
    return None


def describe_startup_error(exc: BaseException, queue: str, endpoint_url: str | None) -> str:
    """One line for why the first call to the queue failed."""
    name = type(exc).__name__
    code = error_code(exc)
    where = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_SQS") or "AWS"
    access = describe_access_error(exc, f"the SQS endpoint ({where})")
    if access is not None:
        return access
    if code is not None:
        meaning = _fatal_receive_error(exc)
        if meaning is not None:
            return f"{queue}: {meaning} ({code})"
        return f"the first call to {queue} failed: {code}"
    return f"the first call to {queue} failed: {name}: {exc}"


def _queue_info(url: str, attributes: Mapping[str, str]) -> QueueInfo:
    arn = attributes.get("QueueArn", "")
    ref = parse_sqs_arn(arn)
    region = ref.region if ref is not None else ""
    dead_letter_arn: str | None = None
    max_receive_count: int | None = None
    redrive = attributes.get("RedrivePolicy")
    if redrive:
        with contextlib.suppress(ValueError, TypeError, KeyError):
            policy = json.loads(redrive)
            dead_letter_arn = policy["deadLetterTargetArn"]
            max_receive_count = int(policy["maxReceiveCount"])
    return QueueInfo(
        url=url,
        arn=arn,
        region=region,
        fifo=attributes.get("FifoQueue", "false").lower() == "true",
        visibility_timeout=int(attributes.get("VisibilityTimeout", "30")),
        dead_letter_arn=dead_letter_arn,
        max_receive_count=max_receive_count,
    )


def _advice(info: QueueInfo, options: WorkerOptions) -> list[str]:
    """Settings Lambda accepts but that can deliver a batch's messages twice."""
    found = []
    span = options.timeout + options.batching_window
    if not options.heartbeat and info.visibility_timeout < span:
        found.append(
            f"the queue's visibility timeout ({info.visibility_timeout} s) is shorter than "
            f"--timeout plus --batching-window ({span:g} s): a message received early in a "
            "window can come back while its batch runs. AWS advises a visibility timeout "
            "of 6 times the timeout plus the window; or pass --heartbeat"
        )
    if options.until_empty and info.dead_letter_arn is None:
        found.append(
            "--until-empty on a queue without a dead-letter queue: a message that always "
            "fails comes back for ever, and the worker with it"
        )
    return found


def _mismatches(info: QueueInfo, options: WorkerOptions) -> list[str]:
    """Options that Lambda would refuse for this queue."""
    found = []
    if info.fifo and options.batch_size > MAX_FIFO_BATCH_SIZE:
        found.append(
            f"a FIFO queue takes a --batch-size of at most {MAX_FIFO_BATCH_SIZE}, "
            f"got {options.batch_size}"
        )
    if info.fifo and options.batching_window:
        found.append("a FIFO queue takes no --batching-window (Lambda does not support one)")
    if info.visibility_timeout < options.timeout and not options.heartbeat:
        found.append(
            f"the queue's visibility timeout ({info.visibility_timeout} s) is shorter than "
            f"--timeout ({options.timeout:g} s), which Lambda refuses: a batch could be "
            "delivered again while it runs. Raise the queue's VisibilityTimeout (AWS "
            "advises 6 times the timeout), lower --timeout, or pass --heartbeat"
        )
    return found

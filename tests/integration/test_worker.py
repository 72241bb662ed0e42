"""The ``aiobatch run`` worker in-process against the moto server: Lambda's event,
context, batching and result rules, concurrency, timeouts, FIFO order, heartbeats and
checked deletes. Signals, exit codes and the command line are in test_cli.py."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import aioboto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from aiobatch import (
    Backoff,
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    SQSRecord,
    aprocess_partial_response,
    process_partial_response,
)
from aiobatch._worker import Invocation, SilentReporter, Stats, Worker, WorkerOptions
from aiobatch.testing import LocalQueue, LocalSQS
from tests.integration.test_testing_local_sqs import sample_keys


class Recorder(SilentReporter):
    """A reporter that keeps what it is told and can stop the worker after ``stop_after``
    invocations."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.stop_after = stop_after
        self.worker: Worker | None = None
        self.invocations: list[Invocation] = []
        self.warnings: list[str] = []

    def invoked(self, invocation: Invocation, stats: Stats) -> None:
        self.invocations.append(invocation)
        if self.stop_after is not None and len(self.invocations) >= self.stop_after:
            assert self.worker is not None
            self.worker.stop()

    def warning(self, text: str, **fields: Any) -> None:
        self.warnings.append(text)


def session(sqs: LocalSQS) -> Any:
    return aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=sqs.region
    )


async def run_worker(
    sqs: LocalSQS,
    queue: LocalQueue,
    handler: Callable[[Any, Any], Any],
    *,
    stop_after: int | None = None,
    limit: float = 30,
    botocore_session: Any = None,
    **options: Any,
) -> tuple[Stats, Recorder]:
    """Run a worker on ``queue`` until ``stop_after`` invocations (or the queue is empty,
    with ``until_empty=True``); fails the test after ``limit`` seconds."""
    options.setdefault("wait_time", 1)
    reporter = Recorder(stop_after)
    aio_session = (
        aioboto3.Session(
            botocore_session=botocore_session,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=sqs.region,
        )
        if botocore_session is not None
        else session(sqs)
    )
    worker = Worker(
        handler,
        WorkerOptions(queue_url=queue.url, endpoint_url=sqs.endpoint_url, **options),
        session=aio_session,
        reporter=reporter,
    )
    reporter.worker = worker
    async with asyncio.timeout(limit):
        stats = await worker.run()
    return stats, reporter


@pytest.fixture
def sqs(local_sqs: LocalSQS) -> LocalSQS:
    return local_sqs


def hidden(queue: LocalQueue) -> int:
    return queue.approximate_count(include_hidden=True) - queue.approximate_count()


# --- the event and the context -----------------------------------------------------------


async def test_events_have_lambdas_shape_and_powertools_parses_them(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(
        [{"n": n} for n in range(3)],
        message_attributes={"kind": "order", "count": 3, "blob": b"\x00\x01"},
    )
    events: list[dict[str, Any]] = []

    async def handler(event: dict[str, Any], context: Any) -> None:
        events.append(json.loads(json.dumps(event)))

    await run_worker(sqs, queue, handler, until_empty=True)
    records = [record for event in events for record in event["Records"]]
    assert sorted(json.loads(r["body"])["n"] for r in records) == [0, 1, 2]
    keys, attribute_keys = sample_keys("sqs")
    record = records[0]
    assert set(record) == keys | {"md5OfMessageAttributes"}
    assert set(record["attributes"]) >= attribute_keys
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == sqs.region
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "order",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    for event in events:
        SqsModel.model_validate(event)


async def test_fifo_events_carry_the_fifo_attributes(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(fifo=True)
    queue.send(["a", "b"], message_group_id="g1")
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        events.append(event)

    await run_worker(sqs, queue, handler, until_empty=True)
    records = [record for event in events for record in event["Records"]]
    assert [r["body"] for r in records] == ["a", "b"]
    for record in records:
        assert record["attributes"]["MessageGroupId"] == "g1"
        assert {"MessageDeduplicationId", "SequenceNumber"} <= set(record["attributes"])
        SqsModel.model_validate({"Records": [record]})


async def test_the_context_is_lambda_like_and_counts_down(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(["x", "y"])
    seen: list[tuple[Any, ...]] = []

    async def handler(event: dict[str, Any], context: Any) -> None:
        first = context.get_remaining_time_in_millis()
        await asyncio.sleep(0.05)
        seen.append(
            (
                context.function_name,
                context.memory_limit_in_mb,
                context.aws_request_id,
                context.invoked_function_arn,
                first,
                context.get_remaining_time_in_millis(),
            )
        )

    await run_worker(
        sqs,
        queue,
        handler,
        until_empty=True,
        batch_size=1,
        timeout=7,
        memory_limit_in_mb=512,
        function_name="orders",
    )
    assert len(seen) == 2
    assert seen[0][2] != seen[1][2]  # a request id per invocation
    for name, memory, _, arn, first, later in seen:
        assert (name, memory) == ("orders", 512)
        assert arn == "arn:aws:lambda:us-east-1:123456789012:function:orders"
        assert 6_500 < first <= 7_000
        assert later <= first - 40


# --- applying the result --------------------------------------------------------------------


@pytest.mark.parametrize(
    "result", [None, {}, {"batchItemFailures": []}, "done", {"statusCode": 200}], ids=repr
)
async def test_a_normal_return_deletes_the_whole_batch(sqs: LocalSQS, result: Any) -> None:
    queue = sqs.create_queue()
    queue.send(range(5))

    async def handler(event: dict[str, Any], context: Any) -> Any:
        return result

    stats, _ = await run_worker(sqs, queue, handler, until_empty=True)
    assert (stats.received, stats.succeeded, stats.deleted, stats.failed) == (5, 5, 5, 0)
    assert queue.approximate_count(include_hidden=True) == 0


async def test_reported_failures_stay_and_the_rest_is_deleted(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send([{"n": n} for n in range(10)])
    failed_ids: set[str] = set()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failures = [r["messageId"] for r in event["Records"] if json.loads(r["body"])["n"] % 3 == 0]
        failed_ids.update(failures)
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}

    stats, _ = await run_worker(sqs, queue, handler, stop_after=1, batch_size=10)
    assert stats.received == 10, "one receive of ten on an idle moto queue"
    assert (stats.failed, stats.deleted) == (4, 6)
    assert queue.approximate_count(include_hidden=True) == 4
    assert hidden(queue) == 4  # left to the visibility timeout, as Lambda does


@pytest.mark.parametrize(
    "make_result",
    [
        lambda ids: {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        lambda ids: {"batchItemFailures": [{"itemIdentifier": ""}]},
        lambda ids: {"batchItemFailures": [{"itemIdentifier": None}]},
        lambda ids: {"batchItemFailures": [{"messageId": ids[0]}]},
        lambda ids: {"batchItemFailures": ids[0]},
        lambda ids: {"set": set(ids)},
    ],
    ids=["unknown id", "empty id", "null id", "bad key", "not a list", "not serialisable"],
)
async def test_a_malformed_response_fails_the_whole_batch(
    sqs: LocalSQS, make_result: Callable[[list[str]], Any]
) -> None:
    queue = sqs.create_queue()
    queue.send(range(3))

    async def handler(event: dict[str, Any], context: Any) -> Any:
        return make_result([r["messageId"] for r in event["Records"]])

    stats, reporter = await run_worker(sqs, queue, handler, stop_after=1)
    assert (stats.deleted, stats.failed, stats.failed_invocations) == (0, 3, 1)
    assert reporter.invocations[0].problem is not None
    assert "Lambda rejects" in reporter.invocations[0].problem
    assert hidden(queue) == 3


async def test_without_reporting_batch_item_failures_everything_is_deleted(
    sqs: LocalSQS,
) -> None:
    queue = sqs.create_queue()
    queue.send(range(4))

    def handler(event: dict[str, Any], context: Any) -> Any:
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}

    stats, _ = await run_worker(
        sqs, queue, handler, until_empty=True, report_batch_item_failures=False
    )
    assert (stats.deleted, stats.failed) == (4, 0)
    assert queue.approximate_count(include_hidden=True) == 0


@pytest.mark.parametrize("kind", ["async", "def"])
async def test_a_handler_that_raises_deletes_nothing(sqs: LocalSQS, kind: str) -> None:
    queue = sqs.create_queue()
    queue.send(range(3))
    secret = "card-4111-1111"

    def fail(event: dict[str, Any], context: Any) -> None:
        raise ValueError(f"cannot charge {secret}")

    async def fail_async(event: dict[str, Any], context: Any) -> None:
        fail(event, context)

    stats, reporter = await run_worker(
        sqs, queue, fail_async if kind == "async" else fail, stop_after=1
    )
    assert (stats.deleted, stats.failed, stats.failed_invocations) == (0, 3, 1)
    assert reporter.invocations[0].problem == "raised ValueError"
    assert all(secret not in text for text in reporter.warnings)
    assert hidden(queue) == 3


async def test_system_exit_in_a_def_handler_fails_its_batch_only(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(["a"])
    calls = 0

    def handler(event: dict[str, Any], context: Any) -> None:
        nonlocal calls
        calls += 1
        raise SystemExit(3)

    stats, reporter = await run_worker(sqs, queue, handler, stop_after=1)
    assert (calls, stats.failed, stats.deleted) == (1, 1, 0)
    assert reporter.invocations[0].problem == "raised SystemExit"


# --- timeouts --------------------------------------------------------------------------------


async def test_an_async_handler_past_its_timeout_is_cancelled(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(["slow"])
    cancelled = asyncio.Event()

    async def handler(event: dict[str, Any], context: Any) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    stats, reporter = await run_worker(sqs, queue, handler, stop_after=1, timeout=0.3)
    assert cancelled.is_set()
    assert (stats.timed_out, stats.deleted, stats.failed) == (1, 0, 1)
    assert reporter.invocations[0].timed_out
    assert reporter.invocations[0].problem == "timed out after 0.3 s"
    assert hidden(queue) == 1


async def test_a_handlers_own_timeout_error_is_a_failure_not_a_timeout(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(["x"])

    async def handler(event: dict[str, Any], context: Any) -> None:
        raise TimeoutError("the database did not answer")

    stats, reporter = await run_worker(sqs, queue, handler, stop_after=1)
    assert (stats.timed_out, stats.failed) == (0, 1)
    assert reporter.invocations[0].problem == "raised TimeoutError"


async def test_a_def_handler_past_its_timeout_is_abandoned_and_its_slot_goes_on(
    sqs: LocalSQS,
) -> None:
    queue = sqs.create_queue()
    queue.send(["first"])
    release = threading.Event()
    threads: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        threads.append(threading.current_thread().name + str(threading.get_ident()))
        if len(threads) == 1:
            release.wait(10)  # overruns; finishes only when the test lets it

    first, _ = await run_worker(sqs, queue, handler, stop_after=1, timeout=0.3)
    assert first.timed_out == 1
    assert first.deleted == 0
    queue.send(["second"])
    second, _ = await run_worker(sqs, queue, handler, stop_after=1, timeout=5, wait_time=1)
    release.set()
    assert second.deleted >= 1
    assert len(set(threads)) == len(threads), "the overrun thread was not reused"


# --- concurrency ----------------------------------------------------------------------------


async def test_async_invocations_run_concurrently(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(range(3))
    arrived = 0
    all_in = asyncio.Event()

    async def handler(event: dict[str, Any], context: Any) -> None:
        nonlocal arrived
        arrived += 1
        if arrived == 3:
            all_in.set()
        await all_in.wait()  # three at once, or the timeout fails them

    stats, _ = await run_worker(
        sqs, queue, handler, until_empty=True, batch_size=1, concurrency=3, timeout=10
    )
    assert (stats.deleted, stats.failed) == (3, 0)


async def test_def_handlers_using_the_sync_facade_run_at_once_on_their_own_threads(
    sqs: LocalSQS,
) -> None:
    queue = sqs.create_queue()
    queue.send(range(30))
    barrier = threading.Barrier(3, timeout=10)
    calls = itertools.count()
    loops: dict[str, set[int]] = defaultdict(set)
    processor = BatchProcessor(EventType.SQS)

    async def record_handler(record: SQSRecord) -> None:
        loops[threading.current_thread().name].add(id(asyncio.get_running_loop()))

    def handler(event: dict[str, Any], context: Any) -> Any:
        if next(calls) < 3:
            barrier.wait()  # the first three meet here, or BrokenBarrierError fails them
        return process_partial_response(event, record_handler, processor, context)

    stats, _ = await run_worker(
        sqs, queue, handler, until_empty=True, batch_size=2, concurrency=3, timeout=15
    )
    assert (stats.deleted, stats.failed) == (30, 0)
    assert len(loops) == 3, "three slots, three threads"
    assert all(len(ids) == 1 for ids in loops.values()), "each thread keeps its loop"


# --- gathering batches ----------------------------------------------------------------------


async def test_a_batching_window_gathers_more_than_ten(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(range(25))
    sizes: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        sizes.append(len(event["Records"]))

    stats, _ = await run_worker(sqs, queue, handler, stop_after=1, batch_size=25, batching_window=3)
    assert sizes == [25]
    assert stats.deleted == 25


async def test_without_a_window_it_invokes_with_what_one_receive_brings(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(range(3))
    sizes: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        sizes.append(len(event["Records"]))

    started = time.monotonic()
    await run_worker(sqs, queue, handler, stop_after=1, batch_size=10, wait_time=5)
    assert sizes == [3]
    assert time.monotonic() - started < 4, "it did not wait to fill the batch"


async def test_the_event_never_passes_six_megabytes(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    for _ in range(40):  # 8 MB of bodies, one call each: a batch call takes 1 MB at most
        sqs.client.send_message(QueueUrl=queue.url, MessageBody="x" * 200_000)
    sizes: list[tuple[int, int]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        sizes.append((len(event["Records"]), len(json.dumps(event))))

    stats, _ = await run_worker(
        sqs, queue, handler, until_empty=True, batch_size=100, batching_window=2
    )
    assert stats.deleted == 40
    assert sum(count for count, _ in sizes) == 40
    assert all(size <= 6 * 1024 * 1024 for _, size in sizes), sizes
    assert max(count for count, _ in sizes) >= 25, "batches were filled up to the limit"
    # What did not fit went back to the queue at once, and came again.
    assert stats.released == stats.received - 40 == stats.redelivered


async def test_redelivered_messages_are_counted(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(visibility_timeout=1)
    queue.send(["again"])
    receive_counts: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> Any:
        record = event["Records"][0]
        receive_counts.append(record["attributes"]["ApproximateReceiveCount"])
        if len(receive_counts) == 1:
            return {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
        return None

    stats, _ = await run_worker(sqs, queue, handler, until_empty=True, timeout=1)
    assert receive_counts == ["1", "2"]
    assert (stats.received, stats.redelivered, stats.deleted, stats.failed) == (2, 1, 1, 1)


# --- FIFO -----------------------------------------------------------------------------------


async def test_fifo_order_per_group_across_batches_with_concurrency(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(fifo=True)
    groups = {f"g{g}": [f"g{g}-{n}" for n in range(12)] for g in range(4)}
    for group, bodies in groups.items():
        queue.send(bodies, message_group_id=group)
    seen: dict[str, list[str]] = defaultdict(list)
    processor = SqsFifoPartialProcessor()

    async def record_handler(record: SQSRecord) -> None:
        seen[record.attributes.message_group_id or ""].append(record.body)
        await asyncio.sleep(0.001)

    async def handler(event: dict[str, Any], context: Any) -> Any:
        return await aprocess_partial_response(event, record_handler, processor, context)

    stats, _ = await run_worker(sqs, queue, handler, until_empty=True, batch_size=3, concurrency=4)
    assert stats.deleted == 48
    for group, bodies in groups.items():
        assert seen[group] == bodies


async def test_fifo_order_holds_when_a_failed_batch_comes_back(sqs: LocalSQS) -> None:
    """A failure fails the rest of its group's batch (SqsFifoPartialProcessor); they come
    back together after the visibility timeout and must be redone in order, before any
    later message of the group."""
    queue = sqs.create_queue(fifo=True, visibility_timeout=1)
    groups = {f"g{g}": [f"g{g}-{n}" for n in range(9)] for g in range(3)}
    for group, bodies in groups.items():
        queue.send(bodies, message_group_id=group)
    done: dict[str, list[str]] = defaultdict(list)
    failed_once: set[str] = set()
    processor = SqsFifoPartialProcessor()

    def record_handler(record: SQSRecord) -> None:
        body = record.body
        if body.endswith("-4") and body not in failed_once:
            failed_once.add(body)
            raise ConnectionError("try again")
        done[record.attributes.message_group_id or ""].append(body)

    def handler(event: dict[str, Any], context: Any) -> Any:
        return process_partial_response(event, record_handler, processor, context)

    stats, _ = await run_worker(
        sqs, queue, handler, until_empty=True, batch_size=3, concurrency=3, timeout=1
    )
    assert failed_once == {"g0-4", "g1-4", "g2-4"}
    for group, bodies in groups.items():
        assert done[group] == bodies
    assert stats.deleted == 27


async def test_a_fifo_batch_rejects_a_window_and_big_batches(sqs: LocalSQS) -> None:
    from aiobatch._worker import StartupError

    queue = sqs.create_queue(fifo=True)
    cases: list[dict[str, Any]] = [{"batch_size": 11, "batching_window": 1}, {"batching_window": 2}]
    for options in cases:
        worker = Worker(
            lambda event, context: None,
            WorkerOptions(queue_url=queue.url, endpoint_url=sqs.endpoint_url, **options),
            session=session(sqs),
        )
        with pytest.raises(StartupError, match="FIFO"):
            await worker.check()


# --- visibility and deletes -----------------------------------------------------------------


async def test_backoff_hides_failed_messages_by_their_receive_count(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(visibility_timeout=60)
    queue.send([{"n": n} for n in range(3)])

    async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        failed = [r for r in event["Records"] if json.loads(r["body"])["n"] == 1]
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}

    stats, _ = await run_worker(
        sqs,
        queue,
        handler,
        stop_after=1,
        batching_window=1,
        backoff=Backoff(base=2, jitter=False),
    )
    assert (stats.deleted, stats.failed, stats.backoff_set) == (2, 1, 1)
    # Back after its 2 s backoff, not the queue's 60 s visibility timeout.
    began = time.monotonic()
    event = queue.receive_event(wait_seconds=5)
    while not event["Records"] and time.monotonic() - began < 10:
        event = queue.receive_event(wait_seconds=5)
    [record] = event["Records"]
    assert json.loads(record["body"]) == {"n": 1}
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert time.monotonic() - began < 10


async def test_backoff_keeps_a_fifo_group_together(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(fifo=True, visibility_timeout=60)
    queue.send([{"n": n} for n in range(3)], message_group_id="g")
    seen: list[int] = []

    async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        numbers = [json.loads(r["body"])["n"] for r in event["Records"]]
        seen.extend(numbers)
        if 1 not in numbers or seen.count(1) > 1:
            return {}
        # n=1 fails, n=2 after it is not run: both reported, as Lambda's FIFO rule asks.
        at = numbers.index(1)
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"][at:]]
        }

    stats, reporter = await run_worker(
        sqs,
        queue,
        handler,
        stop_after=2,
        limit=20,
        backoff=Backoff(base=2, factor=10, jitter=False),
    )
    assert stats.backoff_set == 2
    assert seen == [0, 1, 2, 1, 2]  # the group came back together, in order
    assert reporter.warnings == []


async def test_backoff_leaves_fifo_groups_that_never_ran_alone(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(fifo=True, visibility_timeout=60)
    queue.send([{"n": 0}, {"n": 1}], message_group_id="a")
    queue.send([{"n": 2}], message_group_id="b")

    async def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # Lambda's FIFO rule: the first failure (n=0, group a) and everything after it.
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    stats, reporter = await run_worker(
        sqs, queue, handler, stop_after=1, backoff=Backoff(base=30, jitter=False)
    )
    assert len(reporter.invocations) == 1
    assert stats.failed == 3  # one receive of all three (a FIFO queue takes no window)
    assert stats.backoff_set == 2  # group a only: group b's record may never have run
    assert reporter.warnings == []


async def test_a_heartbeat_keeps_a_long_batch_hidden(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(visibility_timeout=2)
    queue.send(["long"])
    stolen: list[Any] = []

    async def handler(event: dict[str, Any], context: Any) -> None:
        await asyncio.sleep(3.5)  # past the 2 s visibility timeout
        stolen.append(queue.receive_event(wait_seconds=0)["Records"])

    stats, _ = await run_worker(sqs, queue, handler, stop_after=1, timeout=6, heartbeat=True)
    assert stolen == [[]], "no other consumer received the message while it ran"
    assert stats.deleted == 1
    assert queue.approximate_count(include_hidden=True) == 0


async def test_without_heartbeat_a_timeout_past_the_visibility_is_refused(sqs: LocalSQS) -> None:
    from aiobatch._worker import StartupError

    queue = sqs.create_queue(visibility_timeout=2)
    worker = Worker(
        lambda event, context: None,
        WorkerOptions(queue_url=queue.url, endpoint_url=sqs.endpoint_url, timeout=5),
        session=session(sqs),
    )
    with pytest.raises(StartupError, match=r"visibility timeout \(2 s\) is shorter"):
        await worker.check()


async def test_deletes_are_checked_entry_by_entry(sqs: LocalSQS) -> None:
    from aiobotocore.session import AioSession

    queue = sqs.create_queue()
    queue.send(range(4))
    sent: list[list[str]] = []

    def spoil_one(params: dict[str, Any], **kwargs: Any) -> None:
        entries = params["Entries"]
        sent.append([entry["Id"] for entry in entries])
        entries[0]["ReceiptHandle"] = "not-a-receipt-handle"

    botocore_session = AioSession()
    botocore_session.register("provide-client-params.sqs.DeleteMessageBatch", spoil_one)

    async def handler(event: dict[str, Any], context: Any) -> None:
        return None

    stats, reporter = await run_worker(
        sqs, queue, handler, stop_after=1, botocore_session=botocore_session
    )
    assert all(len(ids) <= 10 and len(set(ids)) == len(ids) for ids in sent)
    assert (stats.succeeded, stats.deleted, stats.undeleted) == (4, 3, 1)
    assert reporter.invocations[0].undeleted == 1
    assert any("could not be deleted" in text for text in reporter.warnings)
    assert hidden(queue) == 1, "the undeleted message comes back after the visibility timeout"


async def test_until_empty_waits_for_messages_in_flight(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(visibility_timeout=1, dead_letter_queue=True, max_receive_count=2)
    queue.send(["poison", "fine"])
    counts: Counter[str] = Counter()

    def handler(event: dict[str, Any], context: Any) -> Any:
        failures = []
        for record in event["Records"]:
            counts[record["body"]] += 1
            if record["body"] == "poison":
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    stats, _ = await run_worker(sqs, queue, handler, until_empty=True, timeout=1)
    assert counts == {"fine": 1, "poison": 2}
    assert queue.approximate_count(include_hidden=True) == 0
    assert queue.dead_letter is not None
    assert queue.dead_letter.drain_bodies() == ["poison"]
    assert stats.deleted == 1


async def test_max_messages_stops_receiving_and_finishes_what_it_has(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(range(25))
    sizes: list[int] = []

    async def handler(event: dict[str, Any], context: Any) -> None:
        sizes.append(len(event["Records"]))

    stats, _ = await run_worker(sqs, queue, handler, batch_size=5, max_messages=12)
    assert sizes == [5, 5, 5], "it stops receiving once 12 are in, and finishes those"
    assert (stats.received, stats.deleted, stats.released) == (15, 15, 0)
    assert queue.approximate_count(include_hidden=True) == 10


async def test_a_handler_that_swallows_its_timeout_still_timed_out(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(["slow"])

    async def handler(event: dict[str, Any], context: Any) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(5)
        return None  # as if it had finished: Lambda would have stopped it

    stats, _ = await run_worker(sqs, queue, handler, stop_after=1, timeout=0.3)
    assert (stats.timed_out, stats.deleted, stats.failed) == (1, 0, 1)
    assert hidden(queue) == 1


async def test_a_handler_cancelling_its_own_task_fails_only_its_batch(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(["a"])
    calls = 0

    async def handler(event: dict[str, Any], context: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)
        return None

    stats, reporter = await run_worker(sqs, queue, handler, stop_after=1)
    assert reporter.invocations[0].problem == "raised CancelledError"
    assert (stats.failed, stats.deleted) == (1, 0)
    queue.send(["b"])  # the slot still receives and invokes
    stats, _ = await run_worker(sqs, queue, handler, stop_after=1)
    assert stats.deleted == 1


async def test_a_one_second_window_gathers_a_full_batch(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(range(25))
    sizes: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        sizes.append(len(event["Records"]))

    await run_worker(sqs, queue, handler, stop_after=1, batch_size=25, batching_window=1)
    assert sizes == [25]


async def test_a_heartbeat_keeps_a_batch_hidden_while_it_is_gathered(sqs: LocalSQS) -> None:
    queue = sqs.create_queue(visibility_timeout=2)
    queue.send(["a", "b", "c"])
    events: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        events.append([record["messageId"] for record in event["Records"]])

    stats, _ = await run_worker(
        sqs, queue, handler, stop_after=1, batch_size=20, batching_window=5, heartbeat=True
    )
    assert len(events[0]) == len(set(events[0])) == 3
    assert (stats.received, stats.redelivered, stats.deleted) == (3, 0, 3)


async def test_the_drain_timeout_never_cuts_deletes_short(sqs: LocalSQS) -> None:
    from aiobotocore.session import AioSession

    queue = sqs.create_queue()
    queue.send(["a", "b", "c"])

    async def slow_delete(**kwargs: Any) -> None:
        await asyncio.sleep(1.5)  # SQS answering slowly

    botocore_session = AioSession()
    botocore_session.register("before-send.sqs.DeleteMessageBatch", slow_delete)
    reporter = Recorder()

    async def handler(event: dict[str, Any], context: Any) -> None:
        assert reporter.worker is not None
        reporter.worker.stop()  # a SIGTERM now: the handler still succeeds

    reporter.worker = Worker(
        handler,
        WorkerOptions(
            queue_url=queue.url, endpoint_url=sqs.endpoint_url, wait_time=1, drain_timeout=0.2
        ),
        session=aioboto3.Session(
            botocore_session=botocore_session,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=sqs.region,
        ),
        reporter=reporter,
    )
    stats = await asyncio.wait_for(reporter.worker.run(), 30)
    assert (stats.deleted, stats.abandoned, stats.succeeded) == (3, 0, 3)
    assert not reporter.warnings
    assert queue.approximate_count(include_hidden=True) == 0


async def test_an_async_handler_blocking_the_loop_past_its_timeout_timed_out(
    sqs: LocalSQS,
) -> None:
    queue = sqs.create_queue()
    queue.send(["x"])

    async def handler(event: dict[str, Any], context: Any) -> None:
        time.sleep(1.3)  # noqa: ASYNC251 - the mistake under test: the timer cannot fire

    stats, _ = await run_worker(sqs, queue, handler, stop_after=1, timeout=1)
    assert (stats.timed_out, stats.deleted, stats.failed) == (1, 0, 1)


async def test_exception_text_and_traceback_only_when_asked(sqs: LocalSQS) -> None:
    queue = sqs.create_queue()
    queue.send(["a", "b"])

    def handler(event: dict[str, Any], context: Any) -> None:
        raise ValueError(f"cannot handle {event['Records'][0]['body']}")

    _, quiet = await run_worker(sqs, queue, handler, stop_after=1, batch_size=1)
    assert quiet.invocations[0].traceback is None
    _, told = await run_worker(
        sqs, queue, handler, stop_after=1, batch_size=1, log_exception_text=True
    )
    shown = told.invocations[0].traceback
    assert shown is not None
    assert shown.startswith("Traceback (most recent call last):")
    assert shown.endswith(("ValueError: cannot handle b", "ValueError: cannot handle a"))

"""Partial batch response mode for every event type; FIFO and ordered streams."""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiobatch import (
    AsyncBatchProcessor,
    BatchProcessingError,
    BatchProcessor,
    DynamoDBStreamRecord,
    EventType,
    KinesisStreamRecord,
    PartialItemFailureResponse,
    PartialSQSProcessor,
    RecordSkippedError,
    SqsFifoPartialProcessor,
    SQSRecord,
    aprocess_partial_response,
    async_process_partial_response,
    process_partial_response,
    testing,
)
from aiobatch.testing import FakeSQS
from tests import events
from tests.events import failures, identifier, payload

WRAPPERS = {
    EventType.SQS: SQSRecord,
    EventType.KinesisDataStreams: KinesisStreamRecord,
    EventType.DynamoDBStreams: DynamoDBStreamRecord,
}
ALL_TYPES = events.EVENT_TYPES


async def handler(record: Any) -> int:
    data = payload(record)
    if data["fail"]:
        raise ValueError(f"record {data['n']} failed")
    return int(data["n"])


@pytest.mark.parametrize("event_type", ALL_TYPES)
async def test_all_succeed(event_type: EventType) -> None:
    event = events.event(event_type, 5)
    processor = BatchProcessor(event_type)
    assert await aprocess_partial_response(event, handler, processor) == {"batchItemFailures": []}


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_partial_failure_sync(event_type: EventType) -> None:
    event = events.event(event_type, 6, fail={4, 1})
    processor = BatchProcessor(event_type)
    response = process_partial_response(event, handler, processor)
    assert response == failures(event, [1, 4])
    assert processor.response() == response
    assert [type(r) for r in processor.success_messages] == [WRAPPERS[event_type]] * 4


@pytest.mark.parametrize("event_type", ALL_TYPES)
async def test_all_failed_raises_and_keeps_the_response(event_type: EventType) -> None:
    event = events.event(event_type, 3, fail={0, 1, 2})
    processor = BatchProcessor(event_type)
    with pytest.raises(
        BatchProcessingError, match=r"All records failed processing\. 3 of 3 failed"
    ) as caught:
        await aprocess_partial_response(event, handler, processor)
    assert processor.response() == failures(event, [0, 1, 2])
    assert [f.index for f in caught.value.failed_records] == [0, 1, 2]
    assert all(isinstance(info[1], ValueError) for info in caught.value.child_exceptions)


@pytest.mark.parametrize("event_type", ALL_TYPES)
async def test_all_failed_reported_when_not_raising(event_type: EventType) -> None:
    event = events.event(event_type, 3, fail={0, 1, 2})
    processor = BatchProcessor(event_type, raise_on_entire_batch_failure=False)
    response = await aprocess_partial_response(event, handler, processor)
    assert response == failures(event, [0, 1, 2])


@pytest.mark.parametrize("event_type", ALL_TYPES)
async def test_empty_batch(event_type: EventType) -> None:
    calls: list[Any] = []

    async def record(record: Any) -> None:
        calls.append(record)

    processor = BatchProcessor(event_type)
    assert await aprocess_partial_response({"Records": []}, record, processor) == {
        "batchItemFailures": []
    }
    assert calls == []


@pytest.mark.parametrize("event_type", ALL_TYPES)
async def test_failures_in_input_order_when_later_records_finish_first(
    event_type: EventType,
) -> None:
    event = events.event(event_type, 6, fail={0, 2, 5})
    gates = [asyncio.Event() for _ in range(6)]
    finished: list[int] = []

    async def slow_first(record: Any) -> int:
        data = payload(record)
        n = int(data["n"])
        await gates[n].wait()
        finished.append(n)
        if n:
            gates[n - 1].set()
        if data["fail"]:
            raise ValueError(n)
        return n

    gates[5].set()
    processor = BatchProcessor(event_type, max_concurrency=6)
    response = await aprocess_partial_response(event, slow_first, processor)
    assert finished == [5, 4, 3, 2, 1, 0]
    assert response == failures(event, [0, 2, 5])


@pytest.mark.parametrize(
    "make",
    [
        lambda: BatchProcessor(EventType.SQS, max_concurrency=4),
        lambda: AsyncBatchProcessor(EventType.KinesisDataStreams, max_concurrency=4),
        lambda: BatchProcessor(EventType.DynamoDBStreams, max_concurrency=4, ordered=True),
        lambda: SqsFifoPartialProcessor(max_concurrency=4),
        lambda: SqsFifoPartialProcessor(max_concurrency=4, skip_group_on_error=True),
    ],
)
async def test_peak_concurrency_equals_max_concurrency(make: Callable[[], BatchProcessor]) -> None:
    processor = make()
    if processor.event_type is EventType.SQS:
        records = [events.sqs(n, group=f"g{n % 6}") for n in range(24)]
    elif processor.event_type is EventType.KinesisDataStreams:
        records = [events.kinesis(n, key=f"k{n % 6}") for n in range(24)]
    else:
        records = [events.dynamodb(n, key=f"k{n % 6}") for n in range(24)]
    running = peak = 0
    full = asyncio.Event()

    async def hold(record: Any) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 4:
            full.set()
        await full.wait()
        await asyncio.sleep(0)
        running -= 1

    response = await aprocess_partial_response({"Records": records}, hold, processor)
    assert response == {"batchItemFailures": []}
    assert peak == 4


# FIFO


def run_fifo(
    groups: str, fail: set[int], *, skip: bool, concurrency: int = 10
) -> tuple[PartialItemFailureResponse, list[int], SqsFifoPartialProcessor]:
    started: list[int] = []

    async def record(record: SQSRecord) -> int:
        started.append(int(record.json_body["n"]))
        await asyncio.sleep(0)
        return await handler(record)

    processor = SqsFifoPartialProcessor(
        skip_group_on_error=skip, max_concurrency=concurrency, raise_on_entire_batch_failure=False
    )
    event = events.fifo_event(groups, fail)
    response = process_partial_response(event, record, processor)
    failed = [int(str(item["itemIdentifier"])[2:]) for item in response["batchItemFailures"]]
    return response, failed, processor


def test_fifo_sequential_matches_powertools_order() -> None:
    _, failed, processor = run_fifo("abab", {1}, skip=False, concurrency=1)
    assert failed == [1, 2, 3]
    skipped = [f.exception for f in processor.failed_records[1:]]
    assert all(isinstance(e, RecordSkippedError) for e in skipped)


@pytest.mark.parametrize(
    ("groups", "fail", "skip", "expected"),
    [
        # first record: 2 (group b) was running beside it, so it is not finished either
        ("aabbc", {0}, False, [0, 1, 2, 3, 4]),
        ("aabbc", {4}, False, [4]),  # last record
        ("abcabc", {0, 4}, True, [0, 3, 4]),  # failures in two groups, skipping groups
        ("abcabc", {0}, True, [0, 3]),
        ("aabbc", {0}, True, [0, 1]),
        ("abcab", {4}, True, [4]),
    ],
)
def test_fifo_cases(groups: str, fail: set[int], skip: bool, expected: list[int]) -> None:
    _, failed, _ = run_fifo(groups, fail, skip=skip, concurrency=2)
    assert failed == expected


def test_fifo_default_stops_the_batch_at_the_first_failure() -> None:
    """Groups a and b interleaved; b's first record fails while a's first runs."""
    _, failed, processor = run_fifo("abab", {1}, skip=False, concurrency=2)
    # 0 and 1 start together; 0 finishes first and 2 (its group is free) starts before
    # 1 fails. 2 was not finished when 1 failed: it is reported failed whatever it
    # returns. 3 never starts.
    assert failed == [1, 2, 3]
    assert [r.message_id for r in processor.success_messages] == ["m-0"]
    skipped = [f.exception for f in processor.failed_records[1:]]
    assert all(isinstance(e, RecordSkippedError) for e in skipped)
    assert "finished after an earlier record failed" in str(skipped[0])


async def test_fifo_handler_raising_cancelled_error_does_not_hang() -> None:
    async def handler(record: SQSRecord) -> None:
        await asyncio.sleep(0)
        if record.json_body["n"] == 0:
            raise asyncio.CancelledError

    processor = SqsFifoPartialProcessor(max_concurrency=2)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(
            aprocess_partial_response(events.sqs_event(3, group="a"), handler, processor),
            timeout=10,
        )


@settings(max_examples=100, deadline=None)
@given(
    groups=st.text(alphabet="abcd", min_size=1, max_size=10),
    data=st.data(),
    skip=st.booleans(),
    concurrency=st.integers(1, 4),
)
def test_fifo_group_invariant(
    groups: str, data: st.DataObject, skip: bool, concurrency: int
) -> None:
    fail = data.draw(st.sets(st.integers(0, len(groups) - 1)))
    _, failed, _ = run_fifo(groups, fail, skip=skip, concurrency=concurrency)
    assert set(fail) <= set(failed)
    for i, group in enumerate(groups):
        if i in failed:
            later = [j for j in range(i + 1, len(groups)) if groups[j] == group]
            assert set(later) <= set(failed), "a success after a failure in its group"
    if concurrency == 1 and not skip and failed:
        assert failed == list(range(min(fail), len(groups)))


# Streams: ordered and stop-on-first-failure


@pytest.mark.parametrize("event_type", [EventType.KinesisDataStreams, EventType.DynamoDBStreams])
async def test_stream_stop_on_first_failure_reports_lowest_and_after(event_type: EventType) -> None:
    make = events.kinesis if event_type is EventType.KinesisDataStreams else events.dynamodb
    records = [make(n, key="k" if n % 2 else "j", fail=n in {3, 5}) for n in range(8)]
    started: list[int] = []

    async def record(record: Any) -> int:
        started.append(payload(record)["n"])
        return await handler(record)

    processor = BatchProcessor(event_type, ordered=True, stop_on_first_failure=True)
    response = await aprocess_partial_response({"Records": records}, record, processor)
    event = {"Records": records}
    first = response["batchItemFailures"][0]["itemIdentifier"]
    assert first == identifier(records[3])
    assert response == failures(event, list(range(3, 8)))
    assert 3 in started


async def test_ordered_stream_runs_one_key_at_a_time_in_order() -> None:
    records = [events.kinesis(n, key="ab"[n % 2]) for n in range(10)]
    running: set[str] = set()
    order: dict[str, list[int]] = {"a": [], "b": []}

    async def record(record: KinesisStreamRecord) -> None:
        key = record.kinesis.partition_key
        assert key not in running
        running.add(key)
        order[key].append(payload(record)["n"])
        await asyncio.sleep(0)
        running.discard(key)

    processor = BatchProcessor(EventType.KinesisDataStreams, ordered=True, max_concurrency=5)
    await aprocess_partial_response({"Records": records}, record, processor)
    assert order == {"a": [0, 2, 4, 6, 8], "b": [1, 3, 5, 7, 9]}


# No AWS in partial-response mode


def test_no_aws_call_or_sdk_in_partial_mode() -> None:
    processor = BatchProcessor(EventType.SQS)
    assert processor.sqs is None  # SQS actions only with retry= or non_retryable=
    response = process_partial_response(events.event(EventType.SQS, 2, {0}), handler, processor)
    assert len(response["batchItemFailures"]) == 1


# Powertools' documented examples, with only the import changed


def test_powertools_context_manager_keywords() -> None:
    processor = BatchProcessor(EventType.SQS)
    seen: list[str] = []

    def record_handler(record: SQSRecord) -> None:
        seen.append(record.message_id)

    batch = events.sqs_event(2)["Records"]
    with processor(records=batch, handler=record_handler):
        processed = processor.process()
    assert [r[0] for r in processed] == ["success", "success"]
    assert seen == ["m-0", "m-1"]
    with pytest.raises(TypeError, match="not both"):
        processor(batch, record_handler, handler=record_handler)


def test_powertools_batch_processor_example() -> None:
    from aiobatch import BatchProcessor, EventType, process_partial_response
    from aiobatch import SQSRecord as PtSQSRecord

    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: PtSQSRecord) -> None:
        payload: str = record.json_body  # if json string data, otherwise record.body for str
        if payload["fail"]:  # type: ignore[index]
            raise ValueError("fail")

    def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    event = events.sample("sqs")
    assert lambda_handler(event, None) == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]
    }


def test_powertools_async_batch_processor_example() -> None:
    from aiobatch import AsyncBatchProcessor, EventType

    processor = AsyncBatchProcessor(event_type=EventType.KinesisDataStreams)

    async def async_record_handler(record: KinesisStreamRecord) -> None:
        data = record.kinesis.data_as_json()
        if data["reading"] == 1:
            raise ValueError("bad reading")

    def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        return async_process_partial_response(
            event=event, record_handler=async_record_handler, processor=processor, context=context
        )

    event = events.sample("kinesis")
    assert lambda_handler(event, None) == {
        "batchItemFailures": [{"itemIdentifier": event["Records"][1]["kinesis"]["sequenceNumber"]}]
    }


def test_powertools_fifo_example_and_lambda_context() -> None:
    from aiobatch import SqsFifoPartialProcessor, process_partial_response

    processor = SqsFifoPartialProcessor()
    contexts: list[Any] = []

    def record_handler(record: SQSRecord, lambda_context: Any) -> None:
        contexts.append(lambda_context)
        if record.json_body["order"] == 2:
            raise ValueError("order 2")

    def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    event = events.sample("sqs-fifo")
    orders = [json.loads(r["body"])["order"] for r in event["Records"]]
    context = object()
    response = lambda_handler(event, context)
    failed_at = orders.index(2)
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": r["messageId"]} for r in event["Records"][failed_at:]
        ]
    }
    assert contexts
    assert all(c is context for c in contexts)


def test_powertools_dynamodb_example() -> None:
    from aiobatch import BatchProcessor, DynamoDBRecord, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    seen: list[Any] = []

    def record_handler(record: DynamoDBRecord) -> None:
        if record.dynamodb and record.dynamodb.new_image:
            seen.append(record.dynamodb.new_image.get("pk"))

    def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )

    assert lambda_handler(events.sample("dynamodb"), None) == {"batchItemFailures": []}
    assert seen
    assert all(isinstance(pk, str) for pk in seen)


@pytest.mark.parametrize("skip", [False, True])
async def test_fifo_record_running_when_another_group_fails(skip: bool) -> None:
    """m-1 (group b) is still running when m-0 (group a) fails."""
    m1_started, m0_failed = asyncio.Event(), asyncio.Event()

    async def handler(record: SQSRecord) -> None:
        if record.message_id == "m-0":
            await m1_started.wait()
            m0_failed.set()
            raise ValueError("boom")
        if record.message_id == "m-1":
            m1_started.set()
            await m0_failed.wait()
            await asyncio.sleep(0)

    processor = SqsFifoPartialProcessor(
        max_concurrency=2, skip_group_on_error=skip, raise_on_entire_batch_failure=False
    )
    response = await aprocess_partial_response(events.fifo_event("aba"), handler, processor)
    failed = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    # Default: everything not finished at the first failure is reported. Skipping
    # groups: only group a's rest; b goes on.
    assert failed == (["m-0", "m-2"] if skip else ["m-0", "m-1", "m-2"])


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    count=st.integers(0, 30),
    concurrency=st.integers(1, 8),
    event_type=st.sampled_from(ALL_TYPES),
)
def test_nothing_lost_and_order_kept(
    data: st.DataObject, count: int, concurrency: int, event_type: EventType
) -> None:
    """Whatever fails and whatever order records finish in: one result per record, in
    input order; exactly the failed records are reported, in input order."""
    fail = data.draw(st.sets(st.integers(0, max(count - 1, 0))) if count else st.just(set()))
    yields = data.draw(st.lists(st.integers(0, 4), min_size=count, max_size=count))
    event = events.event(event_type, count, fail)

    async def record(record: Any) -> int:
        n = int(payload(record)["n"])
        for _ in range(yields[n]):
            await asyncio.sleep(0)
        return await handler(record)

    processor = BatchProcessor(
        event_type, max_concurrency=concurrency, raise_on_entire_batch_failure=False
    )
    response = process_partial_response(event, record, processor)
    assert response == failures(event, sorted(fail))
    batch = processor.batch
    assert batch is not None
    results = batch.results or []
    assert len(results) == count
    assert [r[2].raw_event for r in results] == event["Records"]
    assert [r[1] for r in results if r[0] == "success"] == [
        n for n in range(count) if n not in fail
    ]


def grouped_event(bodies: list[str], groups: str) -> dict[str, Any]:
    """An SQS FIFO event: record i in message group ``groups[i]``."""
    return testing.sqs_event(bodies, message_group_id=lambda i: groups[i])


def positions(response: Any, event: dict[str, Any]) -> list[int]:
    """The batch positions of the records a response names."""
    position = {r["messageId"]: i for i, r in enumerate(event["Records"])}
    return [position[f["itemIdentifier"]] for f in response["batchItemFailures"]]


@pytest.mark.parametrize("skip_group", [False, True])
async def test_fifo_success_before_the_first_failure_in_input_order_is_a_success(
    skip_group: bool,
) -> None:
    event = grouped_event(["0", "1", "2", "3"], "abab")
    fails_first = asyncio.Event()
    order: list[str] = []

    async def handler(record: SQSRecord) -> None:
        if record.body == "0":  # earlier in input order, still running when 1 fails
            await fails_first.wait()
            order.append("0 done")
            return
        if record.body == "1":
            order.append("1 failed")
            fails_first.set()
            raise ValueError("one")

    processor = SqsFifoPartialProcessor(skip_group_on_error=skip_group, max_concurrency=2)
    response = await aprocess_partial_response(event, handler, processor)
    assert order == ["1 failed", "0 done"]
    assert [r.body for r in processor.success_messages][:1] == ["0"]
    if skip_group:
        assert positions(response, event) == [1, 3]  # only group b from its failure on
    else:
        assert positions(response, event) == [1, 2, 3]


async def test_stream_stop_on_first_failure_reports_from_the_lowest_failure() -> None:
    event = testing.kinesis_event([{"n": n} for n in range(4)])
    release = asyncio.Event()

    async def handler(record: Any) -> None:
        n = record.kinesis.data_as_json()["n"]
        if n == 0:
            await release.wait()
        if n == 1:
            release.set()
            raise ValueError("one")

    processor = BatchProcessor(
        EventType.KinesisDataStreams, stop_on_first_failure=True, max_concurrency=2
    )
    response = await aprocess_partial_response(event, handler, processor)
    sequence = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert response["batchItemFailures"] == [{"itemIdentifier": s} for s in sequence[1:]]


async def test_ordered_dynamodb_accepts_keys_of_every_type() -> None:
    keys: list[dict[str, Any]] = [{"pk": b"\x00bin"}, {"pk": 7}, {"pk": "s", "sk": 1.5}, {"pk": 7}]
    event = testing.dynamodb_event(testing.dynamodb_record(keys=k, new_image=k) for k in keys)
    seen: list[Any] = []
    processor = BatchProcessor(EventType.DynamoDBStreams, ordered=True, stop_on_first_failure=True)
    response = await aprocess_partial_response(event, seen.append, processor)
    assert response == {"batchItemFailures": []}
    assert len(seen) == 4


def test_process_partial_response_refuses_delete_mode_before_any_handler() -> None:
    ran: list[Any] = []
    delete_mode: Any = PartialSQSProcessor(sqs=FakeSQS())
    with pytest.raises(TypeError, match="PartialSQSProcessor deletes messages itself"):
        process_partial_response(testing.sqs_event(["a"]), ran.append, delete_mode)
    assert ran == []


@pytest.mark.parametrize("skip_group", [False, True])
def test_a_custom_process_record_keeps_the_fifo_circuit_breaker(skip_group: bool) -> None:
    """A failure _process_record reports by returning stops the group like a raised one."""
    ran: list[str] = []

    class Logging(SqsFifoPartialProcessor):
        async def _process_record(self, record: Any) -> Any:
            return await super()._process_record(record)

    def record_handler(record: SQSRecord) -> None:
        ran.append(record.body)
        if record.body == "fail":
            raise ValueError("x")

    event = testing.sqs_event(["ok0", "fail", "ok2"], message_group_id="g")
    processor = Logging(skip_group_on_error=skip_group)
    response = process_partial_response(event, record_handler, processor)
    assert ran == ["ok0", "fail"]  # nothing after the group's failure runs
    assert positions(response, event) == [1, 2]


def test_a_custom_process_record_in_delete_mode_deletes_nothing_after_a_fifo_failure() -> None:
    from aiobatch import PartialSQSProcessor, SQSBatchProcessingError
    from aiobatch.testing import FakeSQS

    class Logging(PartialSQSProcessor):
        async def _process_record(self, record: Any) -> Any:
            return await super()._process_record(record)

    def record_handler(record: SQSRecord) -> None:
        if record.body == "fail":
            raise ValueError("x")

    sqs = FakeSQS()
    processor = Logging(sqs=sqs)
    event = testing.sqs_event(["ok0", "fail", "ok2"], message_group_id="g")
    with pytest.raises(SQSBatchProcessingError), processor(event["Records"], record_handler):
        processor.process()
    assert [m.body for m in sqs.deleted] == ["ok0"]


def test_failed_records_and_the_error_copy_and_pickle() -> None:
    processor = BatchProcessor(EventType.SQS)
    event = testing.sqs_event(["bad"])

    def handler(record: Any) -> None:
        raise ValueError("bad")

    with pytest.raises(BatchProcessingError) as caught:
        process_partial_response(event, handler, processor)
    (failed,) = caught.value.failed_records
    assert copy.copy(failed) == failed
    assert copy.deepcopy(failed).index == 0
    again = pickle.loads(pickle.dumps(caught.value))
    assert [f.index for f in again.failed_records] == [0]
    assert isinstance(again.failed_records[0].exception, ValueError)
    with pytest.raises(AttributeError, match="immutable"):
        failed.index = 1


class _CleanCallsSuper(BatchProcessor):
    """Powertools' way to add to the end of a batch: a plain `_clean` calling super()."""

    cleaned = 0

    def _clean(self) -> None:
        super()._clean()
        type(self).cleaned += 1


class _PrepareCallsSuper(BatchProcessor):
    prepared = 0

    def _prepare(self) -> None:
        super()._prepare()
        type(self).prepared += 1


class _AsyncCleanAwaitsSuper(BatchProcessor):
    cleaned = 0

    async def _clean(self) -> None:
        await super()._clean()
        type(self).cleaned += 1


class _CleanForgetsSuper(BatchProcessor):
    def _clean(self) -> None:
        pass


def _fails_on_bad(record: SQSRecord) -> None:
    if record.body == "bad":
        raise ValueError("bad record")


@pytest.mark.parametrize(
    "processor_class",
    [_CleanCallsSuper, _PrepareCallsSuper, _AsyncCleanAwaitsSuper, _CleanForgetsSuper],
)
@pytest.mark.parametrize("facade", ["sync", "async", "with"])
def test_a_subclass_overriding_prepare_or_clean_still_reports_every_failure(
    processor_class: type[BatchProcessor], facade: str
) -> None:
    # A failed record reported a success is a lost message: Lambda deletes it.
    event = testing.sqs_event(["ok", "bad", "ok"])
    bad = event["Records"][1]["messageId"]
    processor = processor_class(EventType.SQS)
    for _ in range(2):  # the second batch of a handler takes the decisions of the first
        if facade == "sync":
            response = process_partial_response(event, _fails_on_bad, processor)
        elif facade == "async":
            response = asyncio.run(aprocess_partial_response(event, _fails_on_bad, processor))
        else:
            with processor(event["Records"], _fails_on_bad):
                processor.process()
            response = processor.response()
        assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
        assert processor.response() == response
    assert getattr(processor_class, "cleaned", 2) == getattr(processor_class, "prepared", 2) == 2
    _CleanCallsSuper.cleaned = _PrepareCallsSuper.prepared = _AsyncCleanAwaitsSuper.cleaned = 0


def test_a_plain_clean_override_that_calls_super_still_raises_when_every_record_fails() -> None:
    event = testing.sqs_event(["bad", "bad"])
    with pytest.raises(BatchProcessingError, match="All records failed"):
        process_partial_response(event, _fails_on_bad, _CleanCallsSuper(EventType.SQS))


def test_a_run_cut_short_reports_every_record_not_known_to_have_succeeded() -> None:
    event = testing.sqs_event(["ok", "stop", "ok"])
    ids = [record["messageId"] for record in event["Records"]]

    def handler(record: SQSRecord) -> None:
        if record.body == "stop":
            raise KeyboardInterrupt

    processor = BatchProcessor(EventType.SQS)
    with pytest.raises(KeyboardInterrupt):
        process_partial_response(event, handler, processor)
    assert processor.response() == {
        "batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]
    }

    fifo = SqsFifoPartialProcessor()
    fifo_event = testing.sqs_event(["stop", "ok"], message_group_id=lambda i: f"g{i}")
    fifo_ids = [record["messageId"] for record in fifo_event["Records"]]
    with pytest.raises(KeyboardInterrupt):
        process_partial_response(fifo_event, handler, fifo)
    assert fifo.response() == {
        "batchItemFailures": [{"itemIdentifier": fifo_ids[0]}, {"itemIdentifier": fifo_ids[1]}]
    }

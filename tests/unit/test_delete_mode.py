"""Delete mode without the network: the delete phase is a FakeSQS that records its calls."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiobatch import (
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SQSRecord,
    batch_processor,
    testing,
)
from aiobatch.testing import FakeSQS
from tests.events import sqs_records


class Peak:
    """Counts handlers running at once; releases them all once ``expected`` are in."""

    def __init__(self, expected: int) -> None:
        self.running = 0
        self.peak = 0
        self.expected = expected
        self.full = asyncio.Event()

    async def __call__(self, record: SQSRecord) -> int:
        self.running += 1
        self.peak = max(self.peak, self.running)
        if self.running >= self.expected:
            self.full.set()
        await self.full.wait()
        self.running -= 1
        return int(record.json_body["n"])


@pytest.mark.parametrize("bound", [1, 3, 10])
async def test_peak_concurrency_equals_max_concurrency(bound: int) -> None:
    handler = Peak(bound)
    processor = PartialSQSProcessor(max_concurrency=bound)
    async with processor(sqs_records(25), handler):
        results = await processor.aprocess()
    assert handler.peak == bound
    assert [r[1] for r in results] == list(range(25))


async def test_results_keep_input_order_when_later_records_finish_first() -> None:
    gates = [asyncio.Event() for _ in range(5)]
    finished: list[int] = []

    async def handler(record: SQSRecord) -> int:
        n = int(record.json_body["n"])
        await gates[n].wait()
        finished.append(n)
        if n > 0:
            gates[n - 1].set()
        return n

    gates[4].set()
    processor = PartialSQSProcessor(max_concurrency=5)
    async with processor(sqs_records(5), handler):
        results = await processor.aprocess()
    assert finished == [4, 3, 2, 1, 0]
    assert [r[1] for r in results] == [0, 1, 2, 3, 4]
    assert [r[2].message_id for r in results] == [f"m-{n}" for n in range(5)]


class Interrupt(BaseException):
    pass


@pytest.mark.parametrize("bound", [1, 4])
async def test_base_exception_stops_the_run_and_deletes_nothing(bound: int) -> None:
    started = asyncio.Event()
    cancelled: list[int] = []
    seen: list[int] = []

    async def handler(record: SQSRecord) -> None:
        n = int(record.json_body["n"])
        seen.append(n)
        if n == 1:
            await started.wait()
            raise Interrupt
        started.set()
        if bound == 1:
            return  # inline: record 1 runs only after this one returns
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(n)
            raise

    sqs = FakeSQS()
    processor = PartialSQSProcessor(max_concurrency=bound, sqs=sqs)
    with pytest.raises(Interrupt):
        async with processor(sqs_records(3), handler):
            await processor.aprocess()
    assert sqs.delete_calls == []
    assert 1 in seen
    if bound > 1:  # every other handler under way was cancelled (and 0 was)
        assert sorted(cancelled) == sorted(n for n in seen if n != 1)
        assert 0 in cancelled
    else:
        assert (cancelled, seen) == ([], [0, 1])


async def test_cancelling_the_run_cancels_handlers_and_deletes_nothing() -> None:
    started = 0
    all_started = asyncio.Event()

    async def handler(record: SQSRecord) -> None:
        nonlocal started
        started += 1
        if started == 3:
            all_started.set()
        await asyncio.Event().wait()

    sqs = FakeSQS()
    processor = PartialSQSProcessor(max_concurrency=3, sqs=sqs)

    async def run() -> None:
        async with processor(sqs_records(5), handler):
            await processor.aprocess()

    task = asyncio.create_task(run())
    await all_started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert started == 3
    assert sqs.delete_calls == []


async def test_handler_raising_cancelled_error_stops_the_run() -> None:
    async def handler(record: SQSRecord) -> None:
        if record.json_body["n"] == 1:
            raise asyncio.CancelledError
        await asyncio.sleep(0)

    sqs = FakeSQS()
    processor = PartialSQSProcessor(max_concurrency=4, sqs=sqs)
    with pytest.raises(asyncio.CancelledError):
        async with processor(sqs_records(4), handler):
            await processor.aprocess()
    assert sqs.delete_calls == []


async def test_empty_batch_runs_nothing_and_returns_empty() -> None:
    calls: list[Any] = []

    async def handler(record: SQSRecord) -> None:
        calls.append(record)

    sqs = FakeSQS()
    processor = PartialSQSProcessor(sqs=sqs)
    async with processor([], handler):
        assert await processor.aprocess() == []
    assert calls == []
    assert sqs.delete_calls == []


def test_empty_batch_through_the_sync_facade() -> None:
    sqs = FakeSQS()
    processor = PartialSQSProcessor(sqs=sqs)

    @batch_processor(record_handler=lambda record: None, processor=processor)
    def lambda_handler(event: Any, context: Any) -> str:
        return "ran"

    assert lambda_handler({"Records": []}, None) == "ran"
    with processor([], lambda record: None):
        assert processor.process() == []
    assert sqs.delete_calls == []


async def test_duplicate_copy_of_a_failed_message_is_not_deleted() -> None:
    batch = sqs_records(3)
    duplicate = dict(batch[0], receiptHandle="rh-again", body='{"n": 9, "fail": true}')
    batch.append(duplicate)

    async def handler(record: SQSRecord) -> None:
        if record.json_body["fail"]:
            raise ValueError("copy failed")

    sqs = FakeSQS()
    processor = PartialSQSProcessor(suppress_exception=True, sqs=sqs)
    async with processor(batch, handler):
        await processor.aprocess()
    assert [[r.message_id for r in call] for call in sqs.delete_calls] == [["m-1", "m-2"]]
    (kept,) = processor.undeleted_messages
    assert kept.message_id == "m-0"
    assert kept.code == "DuplicateOfFailedMessage"


@settings(max_examples=100, deadline=None)
@given(data=st.data(), count=st.integers(1, 40), concurrency=st.integers(1, 8))
def test_delete_mode_deletes_exactly_the_successes(
    data: st.DataObject, count: int, concurrency: int
) -> None:
    """Whatever fails and whatever order records finish in: the delete phase is handed
    exactly the successes, never a failed message; it is skipped when nothing failed."""
    fail = data.draw(st.sets(st.integers(0, count - 1)))
    yields = data.draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))

    sqs = FakeSQS()

    async def handler(record: SQSRecord) -> None:
        n = int(record.json_body["n"])
        for _ in range(yields[n]):
            await asyncio.sleep(0)
        if record.json_body["fail"]:
            raise ValueError(n)

    processor = PartialSQSProcessor(max_concurrency=concurrency, sqs=sqs)

    async def run() -> None:
        async with processor(sqs_records(count, fail), handler):
            await processor.aprocess()

    if fail:
        with pytest.raises(SQSBatchProcessingError) as caught:
            asyncio.run(run())
        assert [f.index for f in caught.value.failed_records] == sorted(fail)
        expected = [f"m-{n}" for n in range(count) if n not in fail]
        handed = [[record.message_id for record in call] for call in sqs.delete_calls]
        assert handed == ([expected] if expected else [])
    else:
        asyncio.run(run())
        assert sqs.delete_calls == []


def grouped_event(bodies: list[str], groups: str) -> dict[str, Any]:
    """An SQS FIFO event: record i in message group ``groups[i]``."""
    return testing.sqs_event(bodies, message_group_id=lambda i: groups[i])


@settings(max_examples=150, deadline=None)
@given(
    groups=st.text(alphabet="abc", min_size=1, max_size=10),
    data=st.data(),
    concurrency=st.integers(1, 4),
)
def test_delete_mode_fifo_runs_groups_in_order_and_deletes_nothing_after_a_failure(
    groups: str, data: st.DataObject, concurrency: int
) -> None:
    fail = data.draw(st.sets(st.integers(0, len(groups) - 1)))
    yields = data.draw(st.lists(st.integers(0, 3), min_size=len(groups), max_size=len(groups)))
    event = grouped_event([str(i) for i in range(len(groups))], groups)
    started: list[int] = []

    async def handler(record: SQSRecord) -> None:
        n = int(record.body)
        started.append(n)
        for _ in range(yields[n]):
            await asyncio.sleep(0)
        if n in fail:
            raise ValueError(n)

    sqs = FakeSQS()
    processor = PartialSQSProcessor(sqs=sqs, max_concurrency=concurrency)

    async def run() -> None:
        async with processor(event["Records"], handler):
            await processor.aprocess()

    if fail:
        with pytest.raises(SQSBatchProcessingError):
            asyncio.run(run())
    else:
        asyncio.run(run())
    deleted = {int(m.body) for m in sqs.deleted}
    for group in set(groups):
        members = [i for i, g in enumerate(groups) if g == group]
        ran = [i for i in started if groups[i] == group]
        assert ran == sorted(ran)  # one at a time, in order
        first_failure = next((i for i in members if i in fail), None)
        if first_failure is not None:
            after = [i for i in members if i > first_failure]
            assert not set(after) & set(ran)  # nothing after the failure ran...
            assert not (set(after) | {first_failure}) & deleted  # ...or was deleted
        if fail:  # the successes are deleted; with none failed, Lambda deletes the batch
            assert {i for i in members if i not in fail and i in ran} == {
                i for i in members if i in deleted
            }
    if not fail:
        assert deleted == set()


def test_suppressed_failures_are_logged_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    processor = PartialSQSProcessor(sqs=FakeSQS(), suppress_exception=True)

    def handler(record: SQSRecord) -> None:
        if record.body == "bad":
            raise ValueError("x")

    with (
        caplog.at_level(logging.WARNING, logger="aiobatch"),
        processor(testing.sqs_event(["ok", "bad"])["Records"], handler),
    ):
        processor.process()
    (line,) = [r.getMessage() for r in caplog.records if "suppress_exception" in r.getMessage()]
    assert "Lambda deletes the whole batch" in line


@settings(max_examples=100, deadline=None)
@given(
    count=st.integers(1, 12),
    data=st.data(),
)
def test_delete_mode_summary_counts_what_really_happened(count: int, data: st.DataObject) -> None:
    fail = data.draw(st.sets(st.integers(0, count - 1), min_size=1))
    undeletable = data.draw(st.sets(st.integers(0, count - 1)))
    event = testing.sqs_event([str(i) for i in range(count)])
    records = event["Records"]
    sqs = FakeSQS(undeletable={records[i]["messageId"] for i in undeletable})
    processor = PartialSQSProcessor(sqs=sqs)

    def handler(record: SQSRecord) -> None:
        if int(record.body) in fail:
            raise ValueError("x")

    with pytest.raises(SQSBatchProcessingError) as caught, processor(records, handler):
        processor.process()
    successes = count - len(fail)
    deleted = len(sqs.deleted)
    not_deleted = successes - deleted
    text = str(caught.value).splitlines()[0]
    assert f"{len(fail)} of {count} records failed" in text
    assert f"{deleted} successful messages were deleted" in text
    assert len(caught.value.undeleted_messages) == not_deleted
    if not_deleted:
        assert f"{not_deleted} could not be deleted" in text
    else:
        assert "could not be deleted" not in text

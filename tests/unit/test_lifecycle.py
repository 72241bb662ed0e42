"""The lifecycle every processor shares: a Batch per run, hooks, misuse, concurrency,
failures and their logs, reuse, custom processors on the Powertools base classes."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any
from unittest.mock import patch

import pytest

from aiobatch import (
    AsyncBasePartialProcessor,
    BasePartialProcessor,
    Batch,
    BatchProcessor,
    BatchState,
    BatchSummary,
    DeadlineExceededError,
    EventType,
    InvalidEventError,
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SQSRecord,
    aprocess_partial_response,
    async_batch_processor,
    batch_processor,
    process_partial_response,
    testing,
)
from aiobatch.testing import FakeLambdaContext, FakeSQS
from tests import events
from tests.events import sqs_event, sqs_records


async def failing(record: SQSRecord) -> int:
    if record.json_body["fail"]:
        raise ValueError("no")
    return int(record.json_body["n"])


class Hooks:
    def __init__(self) -> None:
        self.started: list[Batch] = []
        self.ended: list[BatchSummary] = []

    def start(self, batch: Batch) -> None:
        assert batch.state is BatchState.STARTED
        self.started.append(batch)

    async def end(self, summary: BatchSummary) -> None:
        await asyncio.sleep(0)
        self.ended.append(summary)


def test_hooks_fire_once_per_batch_through_the_sync_facade() -> None:
    hooks = Hooks()
    processor = BatchProcessor(EventType.SQS, on_batch_start=hooks.start, on_batch_end=hooks.end)
    response = process_partial_response(sqs_event(4, frozenset({1})), failing, processor)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert len(hooks.started) == 1
    assert [r.message_id for r in hooks.started[0].records] == ["m-0", "m-1", "m-2", "m-3"]
    (summary,) = hooks.ended
    assert (summary.records, summary.succeeded, summary.failed) == (4, 3, 1)
    assert dict(summary.failed_by_type) == {"ValueError": 1}
    assert summary.event_type == "SQS"
    assert summary.completed
    assert not summary.deadline_cut
    assert summary.duration >= summary.processing_duration >= 0
    with pytest.raises(AttributeError):
        summary.failed = 0  # type: ignore[misc]


def test_summary_of_a_delete_mode_batch_counts_deletes_and_undeleted() -> None:
    hooks = Hooks()
    sqs = FakeSQS(undeletable={"m-2"})
    processor = PartialSQSProcessor(sqs=sqs, on_batch_end=hooks.end)

    @batch_processor(record_handler=failing, processor=processor)
    def lambda_handler(event: Any, context: Any) -> str:
        return "unreachable"

    with pytest.raises(SQSBatchProcessingError) as caught:
        lambda_handler(sqs_event(4, frozenset({0})), None)
    (summary,) = hooks.ended
    assert summary.deleted == 2
    assert [u.message_id for u in summary.undeleted_messages] == ["m-2"]
    assert [u.message_id for u in caught.value.undeleted_messages] == ["m-2"]
    assert "2 successful messages were deleted, 1 could not be deleted" in str(caught.value)


async def test_a_hook_that_raises_is_logged_and_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(argument: Any) -> None:
        raise RuntimeError("hook bug")

    processor = BatchProcessor(EventType.SQS, on_batch_start=broken, on_batch_end=broken)
    with caplog.at_level(logging.ERROR, logger="aiobatch"):
        response = await aprocess_partial_response(sqs_event(2, frozenset({0})), failing, processor)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert messages == [
        "the on_batch_start hook raised RuntimeError; the batch is unaffected",
        "the on_batch_end hook raised RuntimeError; the batch is unaffected",
    ]


async def test_on_batch_end_fires_when_every_record_failed_and_the_batch_raises() -> None:
    hooks = Hooks()
    processor = BatchProcessor(EventType.SQS, on_batch_end=hooks.end)
    with pytest.raises(Exception, match=r"All records failed processing\. 2 of 2 failed"):
        await aprocess_partial_response(sqs_event(2, frozenset({0, 1})), failing, processor)
    (summary,) = hooks.ended
    assert summary.failed == 2
    assert summary.completed


async def test_on_batch_end_says_incomplete_when_processing_was_cancelled() -> None:
    hooks = Hooks()
    processor = BatchProcessor(EventType.SQS, on_batch_end=hooks.end)
    started = asyncio.Event()

    async def hang(record: SQSRecord) -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(aprocess_partial_response(sqs_event(2), hang, processor))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (summary,) = hooks.ended
    assert not summary.completed
    assert summary.succeeded == 0


@pytest.mark.parametrize("bad", ["not callable", 3])
def test_hooks_must_be_callable(bad: Any) -> None:
    with pytest.raises(TypeError, match="on_batch_end must be callable"):
        BatchProcessor(EventType.SQS, on_batch_end=bad)


async def test_one_processor_serves_concurrent_batches_without_mixing_them() -> None:
    """Two batches at once on one processor: each gets its own response and records."""
    processor = BatchProcessor(EventType.SQS)
    first_in = asyncio.Event()
    second_done = asyncio.Event()

    async def handler(record: SQSRecord) -> None:
        if record.message_id == "a-0":
            first_in.set()
            await second_done.wait()  # the first batch is still running...
        if record.json_body["fail"]:
            raise ValueError("no")

    def event(prefix: str, fail: int) -> dict[str, Any]:
        records = [events.sqs(n, fail=n == fail) for n in range(3)]
        for record in records:
            record["messageId"] = record["messageId"].replace("m-", f"{prefix}-")
        return {"Records": records}

    async def first() -> tuple[Any, list[str]]:
        response = await aprocess_partial_response(event("a", 2), handler, processor)
        return response, [r.message_id for r in processor.success_messages]

    async def second() -> tuple[Any, list[str]]:
        await first_in.wait()
        response = await aprocess_partial_response(event("b", 0), handler, processor)
        seen = [r.message_id for r in processor.success_messages]
        second_done.set()  # ...while the second one runs from start to end
        return response, seen

    (response_a, seen_a), (response_b, seen_b) = await asyncio.gather(first(), second())
    assert response_a == {"batchItemFailures": [{"itemIdentifier": "a-2"}]}
    assert response_b == {"batchItemFailures": [{"itemIdentifier": "b-0"}]}
    assert sorted(seen_a) == ["a-0", "a-1"]  # success_messages: in completion order
    assert sorted(seen_b) == ["b-1", "b-2"]


async def test_each_task_with_the_context_manager_sees_its_own_batch() -> None:
    processor = BatchProcessor(EventType.SQS)
    both_set_up = asyncio.Barrier(2)

    async def run(count: int) -> list[Any]:
        async with processor(sqs_event(count)["Records"], failing):
            await both_set_up.wait()
            results = await processor.aprocess()
        assert len(processor.records) == count
        return results

    results = await asyncio.gather(run(2), run(3))
    assert [len(r) for r in results] == [2, 3]


def test_processing_twice_is_a_clear_error() -> None:
    processor = BatchProcessor(EventType.SQS)
    with processor(sqs_event(1)["Records"], failing):
        processor.process()
        with pytest.raises(RuntimeError, match="called twice"):
            processor.process()


def test_leaving_the_block_without_processing_is_a_clear_error() -> None:
    processor = BatchProcessor(EventType.SQS)
    with (
        pytest.raises(RuntimeError, match=r"ended without processor\.process"),
        processor(sqs_event(1)["Records"], failing),
    ):
        pass


def test_an_error_inside_the_block_is_not_masked() -> None:
    processor = BatchProcessor(EventType.SQS)
    with pytest.raises(KeyError, match="mine"), processor(sqs_event(1)["Records"], failing):
        raise KeyError("mine")


def test_process_outside_the_block_and_reusing_a_finished_batch_are_clear_errors() -> None:
    processor = BatchProcessor(EventType.SQS)
    with pytest.raises(RuntimeError, match="no batch is set up"):
        processor.process()
    processor(sqs_event(1)["Records"], failing)
    with pytest.raises(RuntimeError, match="outside the `with"):
        processor.process()
    with processor:
        processor.process()
    with pytest.raises(RuntimeError, match="finished"), processor:
        pass


async def test_aclose_closes_the_sqs_seam() -> None:
    sqs = FakeSQS()
    processor = PartialSQSProcessor(sqs=sqs)
    await processor.aclose()
    assert sqs.closed == 1


def test_sqs_seam_and_session_are_exclusive() -> None:
    with pytest.raises(TypeError, match="not both"):
        PartialSQSProcessor(sqs=FakeSQS(), config=object())


async def test_deadline_is_one_value_shared_by_the_records_and_the_deletes() -> None:
    context = FakeLambdaContext(2.0, clock=lambda: 0.0)  # always 2000 ms left
    sqs = FakeSQS(startup_time=0.5)
    processor = PartialSQSProcessor(sqs=sqs, deadline_margin=0.2)

    async def handler(record: SQSRecord) -> None:
        if record.json_body["fail"]:
            raise ValueError("no")

    with pytest.raises(SQSBatchProcessingError):
        async with processor(sqs_event(3, frozenset({1}))["Records"], handler, context):
            await processor.aprocess()
    batch = processor.batch
    assert batch is not None
    deadline = batch.deadline
    assert deadline is not None
    assert deadline.margin == pytest.approx(0.7)  # the explicit margin plus the cold client
    assert deadline.lambda_end - deadline.batch_end == pytest.approx(0.7)
    assert sqs.deadlines == [deadline.cleanup_end]
    assert "0.700 s before Lambda's timeout" in deadline.describe()
    assert not isinstance(batch.failures[1], DeadlineExceededError)


@pytest.mark.parametrize("facade", ["decorator", "process_partial_response"])
def test_each_sync_facade_enters_the_event_loop_once(
    facade: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries: list[object] = []
    original = asyncio.Runner.run

    def counting(self: asyncio.Runner, coro: Any, *, context: Any = None) -> Any:
        entries.append(coro)
        return original(self, coro, context=context)

    monkeypatch.setattr(asyncio.Runner, "run", counting)
    event = sqs_event(3, frozenset({1}))
    if facade == "decorator":
        processor: Any = PartialSQSProcessor(sqs=FakeSQS())

        @batch_processor(record_handler=failing, processor=processor)
        def lambda_handler(event: Any, context: Any) -> str:
            return "unreachable"

        with pytest.raises(SQSBatchProcessingError):
            lambda_handler(event, None)
    else:
        processor = BatchProcessor(EventType.SQS)
        process_partial_response(event, failing, processor)
    assert len(entries) == 1


def test_dict_subclass_records_and_str_subclass_identifiers_are_accepted() -> None:
    import json
    from collections import OrderedDict

    class Text(str):
        pass

    event = json.loads(json.dumps(sqs_event(2, frozenset({1}))), object_pairs_hook=OrderedDict)
    event["Records"][1]["messageId"] = Text("m-1")
    response = process_partial_response(event, failing, BatchProcessor(EventType.SQS))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    sqs = FakeSQS()
    deleting = PartialSQSProcessor(sqs=sqs, suppress_exception=True)
    with deleting(event["Records"], failing):
        deleting.process()
    assert [m.message_id for m in sqs.deleted] == ["m-0"]


def test_a_generator_function_handler_is_refused_before_any_record_runs() -> None:
    ran: list[Any] = []

    def generator(record: SQSRecord) -> Any:
        ran.append(record)
        yield record

    with pytest.raises(TypeError, match="generator function"):
        process_partial_response(sqs_event(2), generator, BatchProcessor(EventType.SQS))
    assert ran == []


@pytest.mark.parametrize("option", ["record_timeout", "deadline_margin"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_non_finite_or_negative_seconds_are_refused(option: str, value: float) -> None:
    options: dict[str, Any] = {option: value}
    with pytest.raises(ValueError, match=option):
        BatchProcessor(EventType.SQS, **options)


def test_a_batch_repr_is_short_and_holds_no_record_data() -> None:
    processor = BatchProcessor(EventType.SQS)
    process_partial_response(sqs_event(500, frozenset({3})), failing, processor)
    text = repr(processor.batch)
    assert text == "<Batch SQS of 500 records, finished, 1 failed>"


# Failures, their logs, reuse


def quiet_delete_mode() -> PartialSQSProcessor:
    """Delete mode with a fake delete phase that never raises: only the run is under test."""
    return PartialSQSProcessor(sqs=FakeSQS(), suppress_exception=True)


async def test_exception_fails_only_its_record_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(record: SQSRecord) -> int:
        if record.json_body["fail"]:
            raise KeyError("secret-free")
        return 1

    processor = quiet_delete_mode()
    async with processor(sqs_records(4, fail={2}), handler):
        results = await processor.aprocess()
    assert [r[0] for r in results] == ["success", "success", "fail", "success"]
    assert results[2][1] == "KeyError:'secret-free'"
    assert [f.index for f in processor.failed_records] == [2]
    assert len(processor.exceptions) == 1
    assert processor.exceptions[0][0] is KeyError
    warnings = [r for r in caplog.records if r.getMessage().startswith("record ")]
    assert len(warnings) == 1
    assert warnings[0].levelname == "WARNING"
    assert "m-2" in warnings[0].getMessage()
    assert '"n": 2' not in warnings[0].getMessage()


@pytest.mark.parametrize("level", [logging.WARNING, logging.DEBUG])
async def test_failure_log_has_a_traceback_only_at_debug(
    caplog: pytest.LogCaptureFixture, level: int
) -> None:
    async def handler(record: SQSRecord) -> None:
        raise ValueError("nope")

    processor = quiet_delete_mode()
    with caplog.at_level(level, logger="aiobatch"):
        async with processor(sqs_records(1), handler):
            await processor.aprocess()
    (warning,) = [r for r in caplog.records if r.getMessage().startswith("record ")]
    assert warning.getMessage() == "record m-0 failed: ValueError"  # the text may hold data
    assert (warning.exc_info is not None) == (level == logging.DEBUG)
    assert processor.failed_records[0].exception.__traceback__ is not None


async def test_reused_processor_leaks_nothing_between_runs() -> None:
    async def handler(record: SQSRecord) -> int:
        if record.json_body["fail"]:
            raise ValueError("no")
        return 1

    processor = quiet_delete_mode()
    async with processor(sqs_records(3, fail={0, 1}), handler):
        await processor.aprocess()
    assert len(processor.fail_messages) == 2
    async with processor(sqs_records(2), handler):
        results = await processor.aprocess()
    assert len(results) == 2
    assert processor.fail_messages == []
    assert processor.exceptions == []
    assert processor.failed_records == []
    assert len(processor.success_messages) == 2


def test_success_and_failure_handler_shapes() -> None:
    processor = PartialSQSProcessor()
    record = {"messageId": "x"}
    assert processor.success_handler(record, 5) == ("success", 5, record)
    status, text, same = processor.failure_handler(record, ValueError("boom"))
    assert (status, same) == ("fail", record)
    assert "ValueError" in text
    assert "boom" in text


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_max_concurrency_must_be_a_positive_int(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="max_concurrency"):
        PartialSQSProcessor(max_concurrency=bad)


# Custom processors on the Powertools base classes


class SeedProcessor(BasePartialProcessor):
    """The seed's custom processor, with its typos fixed and a list for a table."""

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        self.table: list[dict[str, Any]] = []
        self.events: list[str] = []
        super().__init__()

    def _prepare(self) -> None:
        self.events.append("prepare")
        self.success_messages.clear()

    def _clean(self) -> None:
        self.events.append("clean")
        self.table.extend(self.success_messages)

    def _process_record(self, record: dict[str, Any]) -> Any:
        assert self.handler is not None
        try:
            result = self.handler(record)
            return self.success_handler(record, result)
        except Exception as exc:
            return self.failure_handler(record, exc)

    def success_handler(self, record: Any, result: Any) -> Any:
        entry = ("success", result, record)
        self.success_messages.append({"age": result})
        return entry


def test_seed_custom_processor_runs_as_written() -> None:
    def record_handler(record: dict[str, Any]) -> int:
        if record["messageId"] == "m-1":
            raise ValueError("unlucky")
        return int(record["messageId"][-1]) * 10

    processor = SeedProcessor("dummy-table")

    @batch_processor(record_handler=record_handler, processor=processor)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        return {"statusCode": 200}

    assert lambda_handler({"Records": sqs_records(3)}, None) == {"statusCode": 200}
    assert processor.table == [{"age": 0}, {"age": 20}]
    assert processor.events == ["prepare", "clean"]
    assert [f.index for f in processor.failed_records] == [1]


async def test_custom_async_processor_and_async_decorator() -> None:
    class Collect(AsyncBasePartialProcessor):
        def __init__(self) -> None:
            super().__init__(max_concurrency=2)
            self.log: list[str] = []

        async def _prepare(self) -> None:
            self.log.append("prepare")

        async def _clean(self) -> None:
            self.log.append("clean")

        async def _process_record(self, record: dict[str, Any]) -> Any:
            assert self.handler is not None
            try:
                return self.success_handler(record, await self.handler(record))
            except Exception as exc:
                return self.failure_handler(record, exc)

    async def record_handler(record: dict[str, Any]) -> str:
        return str(record["messageId"])

    processor = Collect()

    @async_batch_processor(record_handler=record_handler, processor=processor)
    async def lambda_handler(event: dict[str, Any], context: Any) -> str:
        return "done"

    assert await lambda_handler({"Records": sqs_records(3)}, None) == "done"
    assert processor.log == ["prepare", "clean"]
    assert processor.success_messages == sqs_records(3)


def positions(response: Any, event: dict[str, Any]) -> list[int]:
    """The batch positions of the records a response names."""
    position = {r["messageId"]: i for i, r in enumerate(event["Records"])}
    return [position[f["itemIdentifier"]] for f in response["batchItemFailures"]]


@pytest.mark.parametrize("kind", ["plain", "async"])
def test_overlapping_runs_from_threads_get_their_own_answers(kind: str) -> None:
    # Plain handlers run without an event loop; async ones on a loop of each thread's:
    # threads never take turns.
    processor = BatchProcessor(EventType.SQS)
    inside = threading.Event()
    release = threading.Event()
    outcome: dict[str, Any] = {}

    def check(record: SQSRecord) -> None:
        if record.body.startswith("bad"):
            raise ValueError("x")

    def plain(record: SQSRecord) -> None:
        if record.body == "slow":
            inside.set()
            release.wait(10)
        check(record)

    async def waits(record: SQSRecord) -> None:
        if record.body == "slow":
            inside.set()
            await asyncio.to_thread(release.wait, 10)
        check(record)

    handler = plain if kind == "plain" else waits

    def first() -> None:
        event = testing.sqs_event(["slow", "bad-a"])
        with processor(event["Records"], handler):
            processor.process()
        outcome["first"] = (processor.response(), event)

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(10)
    second_event = testing.sqs_event(["ok", "bad-b"])
    try:
        outcome["second"] = process_partial_response(second_event, handler, processor)
    finally:
        release.set()
        thread.join(10)
    response, event = outcome["first"]
    assert positions(response, event) == [1]
    assert positions(outcome["second"], second_event) == [1]
    assert processor.response() == outcome["second"]  # this thread's batch


def test_handler_overrides_that_return_nothing_keep_the_outcome() -> None:
    class Quiet(BatchProcessor):
        def success_handler(self, record: Any, result: Any) -> Any:
            super().success_handler(record, result)

        def failure_handler(self, record: Any, exception: Any) -> Any:
            super().failure_handler(record, exception)

    def handler(record: SQSRecord) -> None:
        if record.body == "bad":
            raise ValueError("x")

    processor = Quiet(EventType.SQS)
    event = testing.sqs_event(["ok", "bad"])
    assert positions(process_partial_response(event, handler, processor), event) == [1]
    with processor(event["Records"], handler):
        results = processor.process()
    assert [r[0] for r in results] == ["success", "fail"]


async def test_a_refused_set_up_shows_no_batch_not_another_tasks() -> None:
    processor = BatchProcessor(EventType.SQS)
    refused = asyncio.Event()
    other_done = asyncio.Event()
    seen: dict[str, Any] = {}

    async def a() -> None:
        bad = sqs_event(1)
        del bad["Records"][0]["messageId"]
        with pytest.raises(InvalidEventError):
            processor(bad["Records"], failing)
        refused.set()
        await other_done.wait()
        seen["batch"] = processor.batch
        seen["records"] = list(processor.records)

    async def b() -> None:
        await refused.wait()
        await aprocess_partial_response(sqs_event(2), failing, processor)
        other_done.set()

    await asyncio.gather(a(), b())
    assert seen == {"batch": None, "records": []}


def test_threaded_handlers_see_their_own_batch() -> None:
    processor = BatchProcessor(EventType.SQS, use_threads=True, max_concurrency=2)
    seen: dict[str, Any] = {}

    def handler(record: SQSRecord) -> None:
        time.sleep(0.05)  # both batches are under way
        seen[record.message_id] = processor.lambda_context

    async def run(context: Any, count: int) -> None:
        records = sqs_event(count)["Records"]
        for record in records:
            record["messageId"] += f"-{context}"
        async with processor(records, handler, context):
            await processor.aprocess()

    async def main() -> None:
        await asyncio.gather(run("A", 2), run("B", 2))

    asyncio.run(main())
    assert seen == {"m-0-A": "A", "m-1-A": "A", "m-0-B": "B", "m-1-B": "B"}


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_bookkeeping_read_after_the_run_matches_what_the_handlers_saw(kind: str) -> None:
    # Nothing is kept per record while the batch runs: these are made when read.
    seen: dict[str, Any] = {}

    def plain(record: SQSRecord) -> str:
        seen[record.body] = record
        if record.body.startswith("bad"):
            raise ValueError(record.body)
        return record.body.upper()

    async def coroutine(record: SQSRecord) -> str:
        return plain(record)

    event = testing.sqs_event(["a", "bad-1", "b", "bad-2"])
    processor = BatchProcessor(EventType.SQS)
    async with processor(event["Records"], plain if kind == "sync" else coroutine):
        results = await processor.aprocess()
    raw = event["Records"]
    assert [r[0] for r in results] == ["success", "fail", "success", "fail"]
    assert results[0] == ("success", "A", raw[0])
    assert results[1] == ("fail", "ValueError:bad-1", raw[1])
    assert results[1][2] is seen["bad-1"]  # the failure's record is the handler's own
    assert processor.success_messages == [raw[0], raw[2]]
    assert all(isinstance(r, SQSRecord) for r in processor.success_messages)
    assert processor.fail_messages == [seen["bad-1"], seen["bad-2"]]
    assert processor.fail_messages[0] is seen["bad-1"]
    assert [(t, str(e)) for t, e, _ in processor.exceptions] == [
        (ValueError, "bad-1"),
        (ValueError, "bad-2"),
    ]
    assert all(tb is not None for _, _, tb in processor.exceptions)
    assert [f.index for f in processor.failed_records] == [1, 3]
    assert processor.failed_records[1].record is seen["bad-2"]
    assert processor.records == raw


def test_lists_a_user_appends_to_after_the_run_keep_the_addition() -> None:
    processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
    process_partial_response(testing.sqs_event(["a"]), lambda record: None, processor)
    processor.success_messages.append("extra")
    processor.fail_messages.append("extra")
    assert processor.success_messages[-1] == "extra"
    assert processor.fail_messages == ["extra"]


def test_a_handler_equal_to_the_last_one_is_still_the_one_called() -> None:
    class Counter:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def __call__(self, record: SQSRecord) -> None:
            self.seen.append(record.body)

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Counter)

        __hash__ = object.__hash__

    processor = BatchProcessor(EventType.SQS)
    first, second = Counter(), Counter()
    process_partial_response(testing.sqs_event(["one"]), first, processor)
    process_partial_response(testing.sqs_event(["two"]), second, processor)
    assert (first.seen, second.seen) == (["one"], ["two"])


def test_hooks_and_handlers_set_on_the_processor_itself_are_used() -> None:
    processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
    calls: list[str] = []

    async def prepare() -> None:
        await asyncio.sleep(0)  # needs a loop
        calls.append("prepare")

    def failure_handler(record: Any, exception: Any) -> Any:
        calls.append("failure")
        return ("fail", "mine", record)

    processor._prepare = prepare  # type: ignore[method-assign]
    processor.failure_handler = failure_handler  # type: ignore[method-assign]

    def handler(record: SQSRecord) -> None:
        raise ValueError("x")

    event = testing.sqs_event(["a"])
    with processor(event["Records"], handler):
        results = processor.process()
    assert calls == ["prepare", "failure"]
    assert results == [("fail", "mine", event["Records"][0])]


def test_a_plain_processor_whose_process_record_is_async_fails_its_records() -> None:
    ran: list[Any] = []

    class Mistaken(BasePartialProcessor):
        def _prepare(self) -> None:
            pass

        def _clean(self) -> None:
            pass

        async def _process_record(self, record: Any) -> Any:  # type: ignore[override]
            ran.append(record)
            return self.success_handler(record, None)

    processor = Mistaken()
    with processor([{"n": 1}], lambda record: None):
        results = processor.process()
    assert ran == []  # never ran: so never reported a success
    assert results[0][0] == "fail"
    assert "returned an awaitable" in results[0][1]


@pytest.mark.parametrize("kind", ["plain", "async"])
def test_a_clean_patched_on_the_class_after_the_processor_was_made_runs(kind: str) -> None:
    # The usual test of a Lambda whose processor is made at module level.
    processor = BatchProcessor(EventType.SQS)
    calls: list[str] = []

    def plain(self: Any) -> None:
        calls.append("plain")

    async def coroutine(self: Any) -> None:
        calls.append("async")

    with patch.object(BatchProcessor, "_clean", plain if kind == "plain" else coroutine):
        process_partial_response(testing.sqs_event(["a"]), lambda record: None, processor)
    assert calls == [kind]


@pytest.mark.parametrize("escape", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("handler_kind", ["plain", "async"])
def test_an_escape_from_on_batch_start_still_ends_the_batch(
    escape: type[BaseException], handler_kind: str
) -> None:
    ended: list[BatchSummary] = []

    def start(batch: Batch) -> None:
        raise escape()

    async def coroutine(record: SQSRecord) -> None:
        pass

    processor = BatchProcessor(EventType.SQS, on_batch_start=start, on_batch_end=ended.append)
    handler = (lambda record: None) if handler_kind == "plain" else coroutine
    with pytest.raises(escape):
        process_partial_response(testing.sqs_event(["a"]), handler, processor)
    batch = processor.batch
    assert batch is not None
    assert batch.state is BatchState.FINISHED
    assert len(ended) == 1
    assert not ended[0].completed


def test_a_patch_of_the_class_after_a_batch_of_the_same_handler_is_honoured() -> None:
    # A processor decides once per handler how its batches run, and decides again when
    # a processor class changes: the second batch must see the patch, the third not.
    processor = BatchProcessor(EventType.SQS)
    calls: list[str] = []

    def handler(record: SQSRecord) -> None:
        calls.append("record")

    def clean(self: Any) -> None:
        calls.append("patched clean")

    event = testing.sqs_event(["a"])
    process_partial_response(event, handler, processor)
    with patch.object(BatchProcessor, "_clean", clean):
        process_partial_response(event, handler, processor)
    assert process_partial_response(event, handler, processor) == {"batchItemFailures": []}
    assert calls == ["record", "record", "patched clean", "record"]


def test_attributes_set_on_the_processor_after_a_batch_are_honoured() -> None:
    processor = BatchProcessor(EventType.SQS)
    seen: list[str] = []

    def handler(record: SQSRecord) -> None:
        if record.body == "fail":
            raise ValueError("no")

    event = testing.sqs_event(["ok", "fail"])
    process_partial_response(event, handler, processor)

    async def on_batch_end(summary: BatchSummary) -> None:
        await asyncio.sleep(0)
        seen.append(f"end {summary.succeeded}/{summary.records}")

    def success_handler(record: Any, result: Any) -> Any:
        seen.append("success")
        return ("success", result, record)

    processor.on_batch_end = on_batch_end
    processor.success_handler = success_handler  # type: ignore[method-assign]
    response = process_partial_response(event, handler, processor)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert seen == ["success", "end 1/2"]
    assert processor.success_messages == []  # the override kept nothing itself

    del processor.success_handler
    processor.on_batch_end = None
    process_partial_response(event, handler, processor)
    assert seen == ["success", "end 1/2"]  # neither runs any more
    assert [r.body for r in processor.success_messages] == ["ok"]

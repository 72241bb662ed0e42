"""The engine and the processor lifecycle, without the network."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aiobatch
from aiobatch import (
    AsyncBasePartialProcessor,
    BasePartialProcessor,
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SQSRecord,
    SyncInAsyncError,
    async_batch_processor,
    batch_processor,
)
from aiobatch._processor import RecordHandlerProcessor
from aiobatch.testing import FakeSQS


def sqs_record(n: int, *, fail: bool = False) -> dict[str, Any]:
    return {
        "messageId": f"m-{n}",
        "receiptHandle": f"rh-{n}",
        "body": f'{{"n": {n}, "fail": {"true" if fail else "false"}}}',
        "attributes": {},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:111122223333:orders",
        "awsRegion": "eu-west-1",
    }


def records(count: int, fail: set[int] | frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    return [sqs_record(n, fail=n in fail) for n in range(count)]


class QuietSQSProcessor(PartialSQSProcessor):
    """Delete mode with the delete phase left out: only the run is under test."""

    async def _clean(self) -> None:
        return None


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
    async with processor(records(25), handler):
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
    async with processor(records(5), handler):
        results = await processor.aprocess()
    assert finished == [4, 3, 2, 1, 0]
    assert [r[1] for r in results] == [0, 1, 2, 3, 4]
    assert [r[2].message_id for r in results] == [f"m-{n}" for n in range(5)]


def test_sync_handlers_run_inline_in_input_order() -> None:
    seen: list[tuple[int, str]] = []

    def handler(record: SQSRecord) -> int:
        seen.append((int(record.json_body["n"]), threading.current_thread().name))
        return 1

    processor = PartialSQSProcessor(max_concurrency=8)
    with processor(records(6), handler):
        processor.process()
    assert [n for n, _ in seen] == list(range(6))
    assert {name for _, name in seen} == {threading.current_thread().name}


def test_sync_handlers_in_threads_respect_the_bound() -> None:
    lock = threading.Lock()
    state = {"running": 0, "peak": 0}
    barrier = threading.Barrier(3, timeout=10)

    def handler(record: SQSRecord) -> str:
        with lock:
            state["running"] += 1
            state["peak"] = max(state["peak"], state["running"])
        barrier.wait()
        with lock:
            state["running"] -= 1
        return threading.current_thread().name

    processor = PartialSQSProcessor(max_concurrency=3, use_threads=True)
    with processor(records(9), handler):
        results = processor.process()
    assert state["peak"] == 3
    assert all(r[0] == "success" and r[1].startswith("aiobatch") for r in results)


async def test_lambda_context_is_passed_by_keyword_when_declared() -> None:
    context = object()
    got: list[Any] = []

    async def handler(record: SQSRecord, lambda_context: Any) -> None:
        got.append(lambda_context)

    def plain(record: SQSRecord) -> None:
        got.append("plain")

    processor = PartialSQSProcessor()
    async with processor(records(2), handler, lambda_context=context):
        await processor.aprocess()
    async with processor(records(1), plain, lambda_context=context):
        await processor.aprocess()
    assert got == [context, context, "plain"]


async def test_record_is_an_sqs_record_and_a_mapping() -> None:
    seen: list[SQSRecord] = []

    async def handler(record: SQSRecord) -> str:
        seen.append(record)
        return str(record["body"])

    processor = PartialSQSProcessor()
    async with processor(records(1), handler):
        ((status, result, record),) = await processor.aprocess()
    assert status == "success"
    assert isinstance(seen[0], SQSRecord)
    assert result == seen[0].body
    assert record is seen[0]


async def test_exception_fails_only_its_record_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(record: SQSRecord) -> int:
        if record.json_body["fail"]:
            raise KeyError("secret-free")
        return 1

    processor = QuietSQSProcessor()
    async with processor(records(4, fail={2}), handler):
        results = await processor.aprocess()
    assert [r[0] for r in results] == ["success", "success", "fail", "success"]
    assert results[2][1] == "KeyError:'secret-free'"
    assert [f.index for f in processor.failed_records] == [2]
    assert len(processor.exceptions) == 1
    assert processor.exceptions[0][0] is KeyError
    warnings = [r for r in caplog.records if r.name == "aiobatch" and r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "m-2" in warnings[0].getMessage()
    assert '"n": 2' not in warnings[0].getMessage()


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
        async with processor(records(3), handler):
            await processor.aprocess()
    assert sqs.delete_calls == []
    assert sorted(cancelled) == ([0, 2] if bound > 1 else [])
    assert sorted(seen) == ([0, 1, 2] if bound > 1 else [0, 1])


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
        async with processor(records(5), handler):
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
        async with processor(records(4), handler):
            await processor.aprocess()
    assert sqs.delete_calls == []


async def test_reused_processor_leaks_nothing_between_runs() -> None:
    async def handler(record: SQSRecord) -> int:
        if record.json_body["fail"]:
            raise ValueError("no")
        return 1

    processor = QuietSQSProcessor()
    async with processor(records(3, fail={0, 1}), handler):
        await processor.aprocess()
    assert len(processor.fail_messages) == 2
    async with processor(records(2), handler):
        results = await processor.aprocess()
    assert len(results) == 2
    assert processor.fail_messages == []
    assert processor.exceptions == []
    assert processor.failed_records == []
    assert len(processor.success_messages) == 2


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


async def test_sync_facade_inside_a_running_loop_is_a_clear_error() -> None:
    processor = PartialSQSProcessor()
    with pytest.raises(SyncInAsyncError, match="aprocess") as caught:
        processor(records(1), lambda record: None).process()
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(SyncInAsyncError, match="async with"):
        processor.__enter__()


def test_sync_facade_keeps_one_event_loop_per_process() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def handler(record: SQSRecord) -> None:
        loops.append(asyncio.get_running_loop())

    processor = PartialSQSProcessor()
    for _ in range(2):
        with processor(records(1), handler):
            processor.process()
    assert loops[0] is loops[1]
    assert not loops[0].is_closed()


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

    assert lambda_handler({"Records": records(3)}, None) == {"statusCode": 200}
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

    assert await lambda_handler({"Records": records(3)}, None) == "done"
    assert processor.log == ["prepare", "clean"]
    assert processor.success_messages == records(3)


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


def test_public_names_are_exported_and_sorted() -> None:
    public = {name for name in dir(aiobatch) if not name.startswith("_")}
    assert sorted(aiobatch.__all__) == aiobatch.__all__
    assert set(aiobatch.__all__) - {"__version__"} <= public
    for name in aiobatch.__all__:
        value = getattr(aiobatch, name)
        if isinstance(value, type) or (callable(value) and hasattr(value, "__code__")):
            assert value.__module__.startswith("aiobatch"), name
    assert RecordHandlerProcessor.__name__ not in aiobatch.__all__


def test_importing_aiobatch_imports_no_aws_sdk() -> None:
    code = textwrap.dedent(
        """
        import sys
        from aiobatch import BatchProcessor, EventType, process_partial_response

        def handler(record):
            if record["messageId"] == "m":
                raise ValueError("m")

        record = {"messageId": "m", "body": "", "eventSource": "aws:sqs"}
        event = {"Records": [record, dict(record, messageId="n")]}
        print(process_partial_response(event, handler, BatchProcessor(EventType.SQS)))
        sdk = {"aioboto3", "aiobotocore", "botocore", "boto3", "aiohttp", "pydantic"}
        print(sorted(m for m in sys.modules if m.split(".")[0] in sdk))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    response, modules = out.stdout.strip().splitlines()
    assert response == "{'batchItemFailures': [{'itemIdentifier': 'm'}]}"
    assert modules == "[]"


@pytest.mark.parametrize("level", [logging.WARNING, logging.DEBUG])
async def test_failure_log_has_a_traceback_only_at_debug(
    caplog: pytest.LogCaptureFixture, level: int
) -> None:
    async def handler(record: SQSRecord) -> None:
        raise ValueError("nope")

    processor = QuietSQSProcessor()
    with caplog.at_level(level, logger="aiobatch"):
        async with processor(records(1), handler):
            await processor.aprocess()
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage() == "record m-0 failed: ValueError: nope"
    assert (warning.exc_info is not None) == (level == logging.DEBUG)
    assert processor.failed_records[0].exception.__traceback__ is not None


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
        async with processor(records(count, fail), handler):
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

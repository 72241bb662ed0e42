"""The one sync-to-async bridge: one event loop per process, refused where it would block."""

from __future__ import annotations

import asyncio
import contextvars
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from aiobatch import (
    BatchProcessor,
    DeadlineExceededError,
    EventType,
    PartialSQSProcessor,
    SQSRecord,
    SyncInAsyncError,
    process_partial_response,
    testing,
)
from tests import events


async def handler(record: Any) -> int:
    data = events.payload(record)
    if data["fail"]:
        raise ValueError(f"record {data['n']} failed")
    return int(data["n"])


def test_sync_facade_keeps_one_event_loop_per_process() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def handler(record: SQSRecord) -> None:
        loops.append(asyncio.get_running_loop())

    processor = PartialSQSProcessor()
    for _ in range(2):
        with processor(events.sqs_event(1)["Records"], handler):
            processor.process()
    assert loops[0] is loops[1]
    assert not loops[0].is_closed()


async def test_sync_facade_inside_a_running_loop_is_a_clear_error() -> None:
    processor = PartialSQSProcessor()
    with pytest.raises(SyncInAsyncError, match="aprocess") as caught:
        processor(events.sqs_event(1)["Records"], lambda record: None).process()
    assert isinstance(caught.value, RuntimeError)
    with pytest.raises(SyncInAsyncError, match="async with"):
        processor.__enter__()


async def test_sync_call_inside_a_running_loop_points_to_the_async_api() -> None:
    with pytest.raises(SyncInAsyncError, match="aprocess_partial_response"):
        process_partial_response(
            events.event(EventType.SQS, 1), handler, BatchProcessor(EventType.SQS)
        )


def test_threads_run_batches_that_need_a_loop_at_once_each_on_its_own() -> None:
    inside = threading.Event()
    release = threading.Event()
    outcome: dict[str, Any] = {}
    loops: dict[str, Any] = {}

    async def slow(record: SQSRecord) -> None:
        loops["first"] = asyncio.get_running_loop()
        inside.set()
        await asyncio.to_thread(release.wait, 10)

    def first() -> None:
        outcome["first"] = process_partial_response(
            events.sqs_event(1), slow, BatchProcessor(EventType.SQS)
        )
        process_partial_response(events.sqs_event(1), note("first again"), processor)

    async def record_it(record: SQSRecord) -> None:
        loops["second"] = asyncio.get_running_loop()
        ran.append(record)

    def note(name: str) -> Any:
        async def handler(record: SQSRecord) -> None:
            loops[name] = asyncio.get_running_loop()

        return handler

    processor = BatchProcessor(EventType.SQS)

    thread = threading.Thread(target=first)
    thread.start()
    ran: list[Any] = []
    try:
        assert inside.wait(10)
        event = events.sqs_event(2)
        response = process_partial_response(event, record_it, BatchProcessor(EventType.SQS))
        assert response == {"batchItemFailures": []}  # while the first thread's waits
        assert [record.message_id for record in ran] == [
            record["messageId"] for record in event["Records"]
        ]
    finally:
        release.set()
        thread.join(10)
    assert outcome["first"] == {"batchItemFailures": []}
    assert loops["first"] is not loops["second"]
    assert loops["first again"] is loops["first"]  # a thread keeps its loop
    process_partial_response(events.sqs_event(1), note("second again"), processor)
    assert loops["second again"] is loops["second"]
    assert loops["first"].is_closed()  # closed with its thread
    assert not loops["second"].is_closed()


@pytest.mark.parametrize("escape", [SystemExit, KeyboardInterrupt])
def test_an_escape_from_one_handler_leaves_nothing_for_the_next_invocation(
    escape: type[BaseException],
) -> None:
    processor = BatchProcessor(EventType.SQS)
    ran: list[str] = []

    async def handler(record: SQSRecord) -> None:
        if record.body == "exit":
            raise escape()
        await asyncio.sleep(0.01)
        ran.append(record.body)

    with pytest.raises(escape):
        process_partial_response(testing.sqs_event(["a", "exit", "b"]), handler, processor)
    ran.clear()
    response = process_partial_response(testing.sqs_event(["c"]), handler, processor)
    assert response == {"batchItemFailures": []}
    assert ran == ["c"]


PLAIN_RUN = """
import sys
import aiobatch
from aiobatch import BatchProcessor, EventType, process_partial_response

def record(n):
    return {"messageId": f"m-{n}", "receiptHandle": "r", "body": str(n),
            "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {},
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q"}

def handler(record):
    if record.body == "1":
        raise ValueError("no")

assert "asyncio" not in sys.modules, "imported by import aiobatch"
response = process_partial_response(
    {"Records": [record(0), record(1)]}, handler, BatchProcessor(EventType.SQS)
)
assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}, response
assert "asyncio" not in sys.modules, "imported by a plain run"

async def async_handler(record):
    pass

response = process_partial_response(
    {"Records": [record(0)]}, async_handler, BatchProcessor(EventType.SQS)
)
assert response == {"batchItemFailures": []}, response
assert "asyncio" in sys.modules
print("ok")
"""


def test_plain_handlers_never_import_asyncio_and_async_ones_do() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_RUN], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_coroutine_a_plain_handler_returns_runs_on_the_loop_within_the_deadline() -> None:
    # The batch runs without a loop; the coroutine goes to the process-wide one, and the
    # deadline still bounds it.
    loops: list[Any] = []

    async def slow() -> None:
        loops.append(asyncio.get_running_loop())
        await asyncio.Event().wait()

    processor = BatchProcessor(
        EventType.SQS, deadline_margin=0.2, raise_on_entire_batch_failure=False
    )
    event = testing.sqs_event(["slow", "next"])
    started = time.monotonic()
    response = process_partial_response(
        event, lambda record: slow(), processor, testing.FakeLambdaContext(0.5)
    )
    assert time.monotonic() - started < 5
    assert [i["itemIdentifier"] for i in response["batchItemFailures"]] == [
        r["messageId"] for r in event["Records"]
    ]
    exceptions = [f.exception for f in processor.failed_records]
    assert all(isinstance(e, DeadlineExceededError) for e in exceptions)
    assert len(loops) == 1  # the second record never started


def test_a_plain_handlers_coroutine_never_waits_for_another_threads_loop() -> None:
    # The shared loop is busy in one thread: the other runs its coroutine on a loop of
    # its own rather than wait (the busy thread may be waiting for it).
    inside = threading.Event()
    release = threading.Event()
    loops: dict[str, Any] = {}

    async def first(record: Any) -> str:
        loops["first"] = asyncio.get_running_loop()
        inside.set()
        await asyncio.to_thread(release.wait, 10)
        return "first"

    async def second(record: Any) -> str:
        loops["second"] = asyncio.get_running_loop()
        return "second"

    outcome: dict[str, Any] = {}

    def run(name: str, coroutine: Any) -> None:
        processor = BatchProcessor(EventType.SQS)
        event = testing.sqs_event([name])
        with processor(event["Records"], lambda record: coroutine(record)):
            outcome[name] = processor.process()

    thread = threading.Thread(target=run, args=("first", first))
    thread.start()
    try:
        assert inside.wait(10)
        run("second", second)  # while the first still holds the shared loop
        assert "first" not in outcome
    finally:
        release.set()
        thread.join(10)
    assert outcome["first"][0][:2] == ("success", "first")
    assert outcome["second"][0][:2] == ("success", "second")
    assert loops["second"] is not loops["first"]


def test_context_variables_a_plain_handler_sets_stay_in_the_batch() -> None:
    seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="caller")

    def handler(record: Any) -> None:
        seen.set("handler")

    process_partial_response(testing.sqs_event(["a"]), handler, BatchProcessor(EventType.SQS))
    assert seen.get() == "caller"


def test_a_batch_in_a_handler_thread_of_a_batch_on_the_loop_does_not_deadlock() -> None:
    # The outer batch holds the shared loop and waits for its thread; the inner batch,
    # run without a loop in that thread, must not wait for the outer one's loop.
    inner = BatchProcessor(EventType.SQS)
    outer = BatchProcessor(EventType.SQS, use_threads=True)

    async def work(record: SQSRecord) -> str:
        await asyncio.sleep(0)
        return record.body

    def handler(record: SQSRecord) -> Any:
        event = testing.sqs_event([record.body])
        return process_partial_response(event, lambda inner_record: work(inner_record), inner)

    done: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: done.update(
            r=process_partial_response(testing.sqs_event(["a"]), handler, outer)
        ),
        daemon=True,
    )
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "deadlocked"
    assert done["r"] == {"batchItemFailures": []}

"""Subclasses, mixins, patches and copies of the built-in processors, written the ways
Powertools' users write them: no failure may be reported a success, and a change made
after a processor's first batch applies to its next one."""

from __future__ import annotations

import asyncio
import copy
import sys
from typing import Any, Protocol
from unittest import mock

import pytest

from aiobatch import (
    AsyncBasePartialProcessor,
    AsyncBatchProcessor,
    BatchProcessor,
    EventType,
    InvalidEventError,
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SqsFifoPartialProcessor,
    SQSRecord,
    async_process_partial_response,
    process_partial_response,
    testing,
)
from aiobatch.testing import FakeSQS


def fails_on_bad(record: SQSRecord) -> str:
    if record.body == "bad":
        raise ValueError("bad record")
    return record.body


async def fails_on_bad_async(record: SQSRecord) -> str:
    return fails_on_bad(record)


EVENT_BODIES = ["ok", "bad", "ok"]


class _PlainCleanCallsSuper(PartialSQSProcessor):
    def _clean(self) -> None:
        self.ran = True
        super()._clean()  # Powertools' way: the deletes cannot be awaited here


class _PlainCleanSkipsSuper(PartialSQSProcessor):
    def _clean(self) -> None:
        self.ran = True


class _AsyncCleanAwaitsSuper(PartialSQSProcessor):
    async def _clean(self) -> None:
        self.ran = True
        await super()._clean()  # raises SQSBatchProcessingError


@pytest.mark.parametrize(
    "processor_class", [_PlainCleanCallsSuper, _PlainCleanSkipsSuper, _AsyncCleanAwaitsSuper]
)
@pytest.mark.parametrize("handler", [fails_on_bad, fails_on_bad_async])
def test_delete_mode_deletes_the_successes_and_raises_whatever_clean_override(
    processor_class: type[PartialSQSProcessor], handler: Any
) -> None:
    # Without the deletes and the error, Lambda would delete the whole batch.
    sqs = FakeSQS()
    processor = processor_class(sqs=sqs)
    event = testing.sqs_event(EVENT_BODIES)
    with (
        pytest.raises(SQSBatchProcessingError, match="1 of 3 records failed"),
        processor(event["Records"], handler),
    ):
        processor.process()
    assert processor.ran  # type: ignore[attr-defined]
    assert sorted(message.body for message in sqs.deleted) == ["ok", "ok"]
    assert len(sqs.delete_calls) == 1  # once, not twice


class FlushMixin:
    """A plain base class of the user's, mixed into a processor."""

    def _clean(self) -> Any:
        return super()._clean()  # type: ignore[misc]


class _WithMixin(FlushMixin, BatchProcessor):
    pass


def test_a_patch_of_a_mixin_after_the_first_batch_is_honoured() -> None:
    processor = _WithMixin(EventType.SQS)
    event = testing.sqs_event(["a", "b"])
    process_partial_response(event, fails_on_bad, processor)
    with mock.patch.object(FlushMixin, "_clean", autospec=True) as patched:
        patched.side_effect = lambda self: BatchProcessor._clean(self)
        process_partial_response(event, fails_on_bad, processor)
    assert patched.call_count == 1

    async def reject(self: Any, record: Any) -> Any:
        return self.failure_handler(record, ValueError("rejected"))

    with (
        mock.patch.object(FlushMixin, "_process_record", reject, create=True),
        pytest.raises(Exception, match="All records failed"),
    ):
        process_partial_response(event, fails_on_bad, processor)
    assert process_partial_response(event, fails_on_bad, processor) == {"batchItemFailures": []}


class _StaticPrepare(BatchProcessor):
    prepared = 0

    @staticmethod
    def _prepare() -> None:
        _StaticPrepare.prepared += 1


class _ClassClean(BatchProcessor):
    cleaned = 0

    @classmethod
    def _clean(cls) -> None:
        cls.cleaned += 1


@pytest.mark.parametrize("handler", [fails_on_bad, fails_on_bad_async])
def test_hooks_are_called_bound_whichever_path_runs_the_batch(handler: Any) -> None:
    event = testing.sqs_event(["a"])
    assert process_partial_response(event, handler, _StaticPrepare(EventType.SQS)) == {
        "batchItemFailures": []
    }
    process_partial_response(event, handler, _ClassClean(EventType.SQS))
    assert _StaticPrepare.prepared == _ClassClean.cleaned == 1
    _StaticPrepare.prepared = _ClassClean.cleaned = 0

    processor = BatchProcessor(EventType.SQS)
    with mock.patch.object(BatchProcessor, "_clean") as patched:
        process_partial_response(event, handler, processor)
    patched.assert_called_once_with()


class _AsyncBase(AsyncBasePartialProcessor):
    async def _prepare(self) -> None:
        await super()._prepare()

    async def _clean(self) -> None:
        await super()._clean()

    async def _process_record(self, record: Any) -> Any:
        return self.success_handler(record, record["n"])


def test_an_async_base_subclass_may_await_the_parents_hooks() -> None:
    processor = _AsyncBase()

    async def run() -> Any:
        async with processor([{"n": 1}, {"n": 2}], lambda record: None):
            return await processor.aprocess()

    assert [result[:2] for result in asyncio.run(run())] == [("success", 1), ("success", 2)]


class _Strict:
    @classmethod
    def model_validate(cls, raw: Any) -> Any:
        if raw["body"] != "valid":
            raise ValueError("rejected by the model")
        return raw


def test_a_copy_of_a_processor_decides_for_itself() -> None:
    base = BatchProcessor(EventType.SQS)
    event = testing.sqs_event(["valid", "garbage"])
    assert process_partial_response(event, lambda item: None, base) == {"batchItemFailures": []}
    for strict in (copy.copy(base), copy.deepcopy(base)):
        strict.model = _Strict
        response = process_partial_response(event, lambda item: None, strict)
        garbage = event["Records"][1]["messageId"]
        assert response == {"batchItemFailures": [{"itemIdentifier": garbage}]}
        assert base.response() == {"batchItemFailures": []}  # each keeps its own batch


class _SupportsResponse(Protocol):
    def response(self) -> Any: ...


def test_a_processor_may_also_subclass_a_protocol() -> None:
    class Declared(BatchProcessor, _SupportsResponse):
        pass

    event = testing.sqs_event(EVENT_BODIES)
    bad = event["Records"][1]["messageId"]
    assert process_partial_response(event, fails_on_bad, Declared(EventType.SQS)) == {
        "batchItemFailures": [{"itemIdentifier": bad}]
    }


class _CleanSkipsSuper(BatchProcessor):
    def _clean(self) -> None:
        pass


def test_the_response_is_empty_until_the_batch_ends_then_names_every_failure() -> None:
    processor = _CleanSkipsSuper(EventType.SQS)
    event = testing.sqs_event(EVENT_BODIES)
    bad = event["Records"][1]["messageId"]
    with processor(event["Records"], fails_on_bad):
        assert processor.response() == {"batchItemFailures": []}  # as in Powertools
        processor.process()
        assert processor.response() == {"batchItemFailures": []}
    assert processor.response() == {"batchItemFailures": [{"itemIdentifier": bad}]}


class _PlainProcessRecord(BatchProcessor):
    def _process_record(self, record: Any) -> Any:
        try:
            return self.success_handler(record, self.handler(record))
        except Exception:
            return self.failure_handler(record=record, exception=sys.exc_info())


def test_a_plain_process_record_override_runs_each_record_once() -> None:
    seen: list[str] = []

    def handler(record: SQSRecord) -> str:
        seen.append(record.body)
        return fails_on_bad(record)

    event = testing.sqs_event(EVENT_BODIES)
    bad = event["Records"][1]["messageId"]
    response = process_partial_response(event, handler, _PlainProcessRecord(EventType.SQS))
    assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
    assert seen == EVENT_BODIES


def test_a_stream_record_whose_payload_is_no_dict_is_refused_before_any_handler() -> None:
    class Payload(dict[str, Any]):
        pass

    event = testing.kinesis_event(["a", "b"])
    event["Records"][0]["kinesis"] = Payload(event["Records"][0]["kinesis"])  # a dict: fine
    assert process_partial_response(
        event, lambda record: None, BatchProcessor(EventType.KinesisDataStreams)
    ) == {"batchItemFailures": []}

    from collections import UserDict

    event["Records"][1]["kinesis"] = UserDict(event["Records"][1]["kinesis"])
    ran: list[Any] = []
    with pytest.raises(InvalidEventError, match="record 1"):
        process_partial_response(event, ran.append, BatchProcessor(EventType.KinesisDataStreams))
    assert ran == []


def test_stop_and_thread_settings_set_after_the_first_batch_apply_to_the_next() -> None:
    import threading

    ran: list[str] = []
    threads: set[str] = set()

    def handler(record: SQSRecord) -> None:
        ran.append(record.body)
        threads.add(threading.current_thread().name)
        fails_on_bad(record)

    event = testing.sqs_event(EVENT_BODIES)
    processor = BatchProcessor(EventType.SQS)
    process_partial_response(event, handler, processor)
    assert ran == EVENT_BODIES
    assert threads == {threading.current_thread().name}

    ran.clear()
    processor.stop_on_first_failure = True
    response = process_partial_response(event, handler, processor)
    assert ran == ["ok", "bad"]  # nothing starts after the first failure
    assert len(response["batchItemFailures"]) == 2

    ran.clear()
    threads.clear()
    processor.stop_on_first_failure = False
    processor.use_threads = True
    process_partial_response(event, handler, processor)
    assert sorted(ran) == sorted(EVENT_BODIES)
    assert threads
    assert all(name.startswith("aiobatch") for name in threads)

    fifo = SqsFifoPartialProcessor(raise_on_entire_batch_failure=False)
    fifo_event = testing.sqs_event(["bad", "ok"], message_group_id=lambda index: f"g{index}")
    ran.clear()
    assert len(process_partial_response(fifo_event, handler, fifo)["batchItemFailures"]) == 2
    fifo.skip_group_on_error = True
    ran.clear()
    response = process_partial_response(fifo_event, handler, fifo)
    assert ran == ["bad", "ok"]  # another group goes on
    assert len(response["batchItemFailures"]) == 1


def test_a_wrapped_or_autospecced_hook_is_called_once_on_every_path() -> None:
    import functools

    calls: list[str] = []
    original = BatchProcessor._clean

    @functools.wraps(original)
    def counting(self: Any) -> Any:
        calls.append("clean")
        return original(self)

    event = testing.sqs_event(EVENT_BODIES)
    bad = event["Records"][1]["messageId"]
    for handler in (fails_on_bad, fails_on_bad_async):
        with mock.patch.object(BatchProcessor, "_clean", counting):
            response = process_partial_response(event, handler, BatchProcessor(EventType.SQS))
        assert response == {"batchItemFailures": [{"itemIdentifier": bad}]}
        with mock.patch.object(BatchProcessor, "_prepare", autospec=True) as spied:
            process_partial_response(event, handler, BatchProcessor(EventType.SQS))
        assert spied.call_count == 1
    assert calls == ["clean", "clean"]


class _AwaitsNothing(BatchProcessor):
    def _process_record(self, record: Any) -> Any:
        return self.success_handler(record, self.handler(record))  # an async handler's


def test_an_async_handler_a_plain_process_record_never_awaits_fails_its_record() -> None:
    event = testing.sqs_event(["a", "b"])
    processor = _AwaitsNothing(EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event, fails_on_bad_async, processor)
    assert len(response["batchItemFailures"]) == 2
    assert processor.success_messages == []
    assert [type(exc[1]) for exc in processor.exceptions] == [TypeError, TypeError]


def test_processors_copy_and_pickle_after_running_threads() -> None:
    import pickle

    processor = BatchProcessor(EventType.SQS, use_threads=True)
    event = testing.sqs_event(EVENT_BODIES)
    process_partial_response(event, fails_on_bad, processor)
    for twin in (copy.deepcopy(processor), pickle.loads(pickle.dumps(processor))):
        assert twin.batch is None  # a batch of its own, none yet
        response = process_partial_response(event, fails_on_bad, twin)
        assert response == processor.response()


class _PowertoolsAsyncStep(AsyncBatchProcessor):
    """Written for Powertools: its per-record hook of this class."""

    async def _async_process_record(self, record: Any) -> Any:
        if record["body"] == "invalid":
            return self.failure_handler(record, ValueError("schema"))
        return await super()._async_process_record(record)


def test_a_powertools_async_process_record_override_runs_each_record() -> None:
    event = testing.sqs_event(["ok", "invalid", "bad"])
    ids = [record["messageId"] for record in event["Records"]]
    response = async_process_partial_response(
        event, fails_on_bad_async, _PowertoolsAsyncStep(EventType.SQS)
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in ids[1:]]}

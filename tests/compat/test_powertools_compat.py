"""Code written for Powertools' batch utility, run against aiobatch: the same results.

Each test calls aiobatch the way a Powertools user does (positional arguments, keyword
hooks, the documented testing pattern) and checks what Powertools' own tests check, in
words of our own. Where aiobatch deliberately differs, the migration table of
docs/migrating.md says so, and the test checks aiobatch's behaviour.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from pydantic import BaseModel, Json

from aiobatch import (
    BatchProcessingError,
    BatchProcessor,
    EventType,
    InvalidEventError,
    PartialSQSProcessor,
    SqsFifoPartialProcessor,
    UnexpectedBatchTypeError,
    async_batch_processor,
    batch_processor,
    process_partial_response,
    testing,
)
from aiobatch.testing import FakeSQS

EVENTS = {
    EventType.SQS: lambda: testing.sqs_event(['{"ok": true}', '{"ok": false}']),
    EventType.KinesisDataStreams: lambda: testing.kinesis_event([{"ok": True}, {"ok": False}]),
    EventType.DynamoDBStreams: lambda: testing.dynamodb_event(
        testing.dynamodb_record(keys={"pk": str(n)}, new_image={"pk": str(n), "ok": n == 0})
        for n in range(2)
    ),
}


def ok_of(record: Any) -> bool:
    if hasattr(record, "json_body"):
        return bool(record.json_body["ok"])
    if hasattr(record, "kinesis"):
        return bool(record.kinesis.data_as_json()["ok"])
    return bool(record.dynamodb.new_image["ok"])


def handler(record: Any) -> str:
    if not ok_of(record):
        raise ValueError("not ok")
    return "done"


@pytest.mark.parametrize("event_type", list(EVENTS))
def test_bookkeeping_holds_what_compares_equal_to_the_raw_records(event_type: EventType) -> None:
    event = EVENTS[event_type]()
    processor = BatchProcessor(event_type)
    with processor(event["Records"], handler):
        results = processor.process()
    success, failure = event["Records"]
    assert results[0] == ("success", "done", success)
    assert results[1][0] == "fail"
    assert results[1][2] == failure
    assert processor.success_messages == [success]
    assert processor.fail_messages == [failure]
    assert processor.success_messages[0] == event["Records"][0]  # Powertools' testing pattern


def test_delete_mode_bookkeeping_compares_equal_to_the_raw_records() -> None:
    event = EVENTS[EventType.SQS]()
    processor = PartialSQSProcessor(sqs=FakeSQS(), suppress_exception=True)
    with processor(event["Records"], handler):
        processor.process()
    assert processor.success_messages == [event["Records"][0]]
    assert processor.fail_messages == [event["Records"][1]]


def test_async_batch_processor_on_a_plain_def_lambda_handler_returns_its_value() -> None:
    seen: list[str] = []

    async def record_handler(record: Any) -> None:
        await asyncio.sleep(0)
        seen.append(record.message_id)

    processor = BatchProcessor(EventType.SQS)

    @async_batch_processor(record_handler=record_handler, processor=processor)
    def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
        return dict(processor.response())

    event = testing.sqs_event(["a", "b"])
    result = lambda_handler(event, None)
    assert result == {"batchItemFailures": []}
    assert sorted(seen) == sorted(r["messageId"] for r in event["Records"])


async def test_async_batch_processor_on_an_async_def_lambda_handler_is_awaitable() -> None:
    async def record_handler(record: Any) -> None:
        await asyncio.sleep(0)

    processor = BatchProcessor(EventType.SQS)

    @async_batch_processor(record_handler=record_handler, processor=processor)
    async def lambda_handler(event: Any, context: Any) -> str:
        return "async"

    assert await lambda_handler(testing.sqs_event(["a"]), None) == "async"


class Order(BaseModel):
    ok: bool


class OrderRecord(BaseModel):
    messageId: str
    body: Json[Order]


def test_constructors_take_powertools_positional_arguments() -> None:
    processor = BatchProcessor(EventType.SQS, OrderRecord, False)
    assert processor.model is OrderRecord
    assert processor.raise_on_entire_batch_failure is False
    event = testing.sqs_event(['{"ok": false}'])
    response = process_partial_response(event, lambda order: None, processor)
    assert response == {"batchItemFailures": []}  # the model parsed; nothing failed
    fifo = SqsFifoPartialProcessor(OrderRecord, True)
    assert fifo.model is OrderRecord
    assert fifo.skip_group_on_error is True


@pytest.mark.parametrize("make", [BatchProcessor, SqsFifoPartialProcessor, PartialSQSProcessor])
def test_every_processor_logs_to_the_logger_it_is_given(
    make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mine = logging.getLogger("my.app")
    processor: Any
    if make is BatchProcessor:
        processor = make(EventType.SQS, logger=mine)
    elif make is PartialSQSProcessor:
        processor = make(sqs=FakeSQS(), suppress_exception=True, logger=mine)
    else:
        processor = make(logger=mine)
    event = testing.sqs_event(['{"ok": true}', '{"ok": false}'], message_group_id="g")
    if make is not SqsFifoPartialProcessor:
        event = testing.sqs_event(['{"ok": true}', '{"ok": false}'])
    with caplog.at_level(logging.WARNING), processor(event["Records"], handler):
        processor.process()
    names = {r.name for r in caplog.records}
    assert names == {"my.app"}


def test_a_powertools_failure_handler_override_gets_an_exc_info_tuple() -> None:
    unpacked: list[tuple[Any, ...]] = []

    class Mine(BatchProcessor):
        def failure_handler(self, record: Any, exception: Any) -> Any:
            exception_type, exception_value, traceback = exception  # as Powertools' docs do
            unpacked.append((exception_type, str(exception_value), traceback is not None))
            return super().failure_handler(record, exception)

    processor = Mine(EventType.SQS)
    event = testing.sqs_event(['{"ok": true}', '{"ok": false}'])
    response = process_partial_response(event, handler, processor)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert unpacked == [(ValueError, "not ok", True)]
    assert processor.fail_messages == [event["Records"][1]]  # bookkeeping intact
    assert processor.exceptions[0][0] is ValueError


def test_a_seed_style_process_record_passes_the_exception_itself() -> None:
    class Mine(BatchProcessor):
        async def _process_record(self, record: Any) -> Any:
            try:
                return self.success_handler(record, handler(record))
            except Exception as exc:
                return self.failure_handler(record, exc)

    processor = Mine(EventType.SQS, raise_on_entire_batch_failure=False)
    event = testing.sqs_event(['{"ok": true}', '{"ok": false}'])
    response = process_partial_response(event, handler, processor)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert processor.exceptions[0][0] is ValueError


def test_when_every_record_fails_the_message_starts_as_powertools_does() -> None:
    event = testing.sqs_event(['{"ok": false}', '{"ok": false}'])
    with pytest.raises(BatchProcessingError) as caught:
        process_partial_response(event, handler, BatchProcessor(EventType.SQS))
    assert str(caught.value).startswith("All records failed processing. ")


@pytest.mark.parametrize("event", [{}, {"Records": None}, {"Records": "not a list"}])
def test_an_event_without_a_record_list_is_an_unexpected_batch_type(event: Any) -> None:
    with pytest.raises(UnexpectedBatchTypeError) as caught:
        process_partial_response(event, handler, BatchProcessor(EventType.SQS))
    error = caught.value
    assert "Unexpected batch event type. Possible values are: SQS, KinesisDataStreams" in str(error)
    assert isinstance(error, BatchProcessingError)  # where Powertools puts it
    assert isinstance(error, InvalidEventError)  # and where aiobatch puts malformed events


def test_the_decorator_sees_a_kafka_shaped_event_as_an_unexpected_batch_type() -> None:
    kafka_event = {"eventSource": "aws:kafka", "records": {"topic-0": []}}
    ran: list[Any] = []
    decorated = batch_processor(record_handler=ran.append, processor=BatchProcessor(EventType.SQS))
    with pytest.raises(UnexpectedBatchTypeError, match="no 'Records' key"):
        decorated(lambda event, context: None)(kafka_event, None)
    assert ran == []


def kafka_value(record: Any) -> str:
    value = str(record.decoded_value.decode("utf-8"))
    if "fail" in value:
        raise ValueError("Failed to process record.")
    return value


def test_kafka_through_the_context_manager_with_records_flattened_by_hand() -> None:
    event = testing.kafka_event(["ok", "fail"])
    records = [r for topic_records in event["records"].values() for r in topic_records]
    processor = BatchProcessor(event_type=EventType.Kafka)
    with processor(records, kafka_value):
        processor.process()
    (failure,) = processor.response()["batchItemFailures"]
    assert failure["itemIdentifier"] == {"partition": "mytopic-0", "offset": records[1]["offset"]}


def test_kafka_through_powertools_async_names() -> None:
    from aiobatch import AsyncBatchProcessor, async_process_partial_response

    async def record_handler(record: Any) -> str:
        await asyncio.sleep(0)
        return kafka_value(record)

    event = testing.kafka_event(["ok", "fail"])
    response = async_process_partial_response(
        event=event, record_handler=record_handler, processor=AsyncBatchProcessor(EventType.Kafka)
    )
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        {"partition": "mytopic-0", "offset": event["records"]["mytopic-0"][1]["offset"]}
    ]


def test_kafka_records_from_two_topic_partitions() -> None:
    event = {
        "eventSource": "aws:kafka",
        "records": {
            "topic1-0": [
                testing.kafka_record("ok", topic="topic1"),
                testing.kafka_record("fail", topic="topic1"),
            ],
            "topic2-1": [
                testing.kafka_record("ok", topic="topic2", partition=1),
                testing.kafka_record("fail", topic="topic2", partition=1),
            ],
        },
    }
    response = process_partial_response(event, kafka_value, BatchProcessor(EventType.Kafka))
    partitions = [f["itemIdentifier"]["partition"] for f in response["batchItemFailures"]]  # type: ignore[index]
    assert partitions == ["topic1-0", "topic2-1"]


def test_powertools_names_are_importable_from_aiobatch() -> None:
    import aiobatch

    assert aiobatch.BaseBatchProcessingError is BatchProcessingError
    assert issubclass(aiobatch.UnexpectedBatchTypeError, aiobatch.BaseBatchProcessingError)
    assert issubclass(BatchProcessor, aiobatch.BasePartialBatchProcessor)
    assert issubclass(aiobatch.AsyncBatchProcessor, aiobatch.BasePartialBatchProcessor)
    assert aiobatch.DEFAULT_RESPONSE == {"batchItemFailures": []}
    failure: aiobatch.PartialItemFailures = {"itemIdentifier": "m-1"}
    assert failure["itemIdentifier"] == "m-1"
    model: aiobatch.BatchTypeModels = OrderRecord
    assert model is OrderRecord
    kafka: aiobatch.KafkaItemIdentifier = {"partition": "t-0", "offset": 1}
    assert kafka["offset"] == 1
    assert aiobatch.PartialSQSProcessor(sqs=FakeSQS()).max_message_batch == 10


@pytest.mark.parametrize("skip_group", [False, True])
def test_fifo_skipped_records_get_powertools_circuit_breaker_errors(skip_group: bool) -> None:
    from aiobatch import SQSFifoCircuitBreakerError, SQSFifoMessageGroupCircuitBreakerError

    event = testing.sqs_event(
        ['{"ok": false}', '{"ok": true}', '{"ok": true}'], message_group_id="g"
    )
    processor = SqsFifoPartialProcessor(skip_group_on_error=skip_group)
    with pytest.raises(BatchProcessingError):
        process_partial_response(event, handler, processor)
    expected = SQSFifoMessageGroupCircuitBreakerError if skip_group else SQSFifoCircuitBreakerError
    skipped = [f.exception for f in processor.failed_records[1:]]
    assert [type(e) for e in skipped] == [expected, expected]
    breaker = processor.group_circuit_breaker_exc if skip_group else processor.circuit_breaker_exc
    assert breaker[0] is expected


def test_v1_sqs_batch_processor_decorator_deletes_the_successes(
    local_sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiobatch import SQSBatchProcessingError, sqs_batch_processor

    for name, value in local_sqs.env().items():
        monkeypatch.setenv(name, value)
    queue = local_sqs.create_queue()
    queue.send(['{"ok": true}', '{"ok": false}', '{"ok": true}'])
    event = queue.receive_event(3)

    @sqs_batch_processor(record_handler=handler)
    def lambda_handler(event: Any, context: Any) -> dict[str, int]:
        return {"statusCode": 200}

    with pytest.raises(SQSBatchProcessingError) as caught:
        lambda_handler(event, None)
    assert len(caught.value.failed_records) == 1
    assert caught.value.undeleted_messages == []
    assert queue.drain_bodies() == []  # the failure is in flight; the successes are gone


def test_v1_decorator_with_suppress_exception_and_a_boto3_session(
    local_sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from aiobatch import sqs_batch_processor

    for name, value in local_sqs.env().items():
        monkeypatch.setenv(name, value)
    queue = local_sqs.create_queue()
    queue.send(['{"ok": true}', '{"ok": false}'])
    event = queue.receive_event(2)
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )

    @sqs_batch_processor(record_handler=handler, boto3_session=session, suppress_exception=True)
    def lambda_handler(event: Any, context: Any) -> dict[str, int]:
        return {"statusCode": 200}

    assert lambda_handler(event, None) == {"statusCode": 200}


def test_kinesis_zlib_compressed_data_as_json() -> None:
    import base64
    import gzip
    import zlib

    from aiobatch import KinesisStreamRecord

    for packed in (gzip.compress(b'{"logGroup": "g"}'), zlib.compress(b'{"logGroup": "g"}')):
        record = testing.kinesis_record(b"")
        record["kinesis"]["data"] = base64.b64encode(packed).decode()
        assert KinesisStreamRecord(record).kinesis.data_zlib_compressed_as_json() == {
            "logGroup": "g"
        }

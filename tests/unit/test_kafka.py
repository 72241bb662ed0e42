"""Kafka (Amazon MSK and self-managed) as the fourth event source."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from aiobatch import (
    BatchProcessingError,
    BatchProcessor,
    EventType,
    InvalidEventError,
    KafkaEventRecord,
    UnexpectedBatchTypeError,
    aprocess_partial_response,
    batch_processor,
    process_partial_response,
    testing,
)

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "events" / "kafka.json"


def sample() -> dict[str, Any]:
    event: dict[str, Any] = json.loads(SAMPLE.read_text())
    return event


def handler(record: KafkaEventRecord) -> int:
    value = record.json_value
    if value["fail"]:
        raise ValueError("failed")
    return int(value["order"])


def test_the_sample_event_gives_composite_identifiers_in_lambdas_order() -> None:
    processor = BatchProcessor(EventType.Kafka)
    response = process_partial_response(sample(), handler, processor)
    assert response == {
        "batchItemFailures": [{"itemIdentifier": {"partition": "orders-0", "offset": 16}}]
    }
    assert [r.offset for r in processor.success_messages] == [15, 7]
    assert json.loads(json.dumps(response)) == response  # what Lambda serialises


def test_record_view_properties() -> None:
    first, second, third = (r for rs in sample()["records"].values() for r in rs)
    record = KafkaEventRecord(first)
    assert (record.topic, record.partition, record.offset) == ("orders", 0, 15)
    assert record.timestamp == 1764200000000
    assert record.timestamp_type == "CREATE_TIME"
    assert record.key == "b3JkZXItMQ=="
    assert record.decoded_key == b"order-1"
    assert record.decoded_value == b'{"order": 1, "fail": false}'
    assert record.json_value == {"order": 1, "fail": False}
    assert record.json_value is record.json_value  # parsed once
    assert record.headers == first["headers"]
    assert record.decoded_headers == {"traceparent": b"00-ab", "source": b"web"}
    assert record.decoded_headers["SOURCE"] == b"web"  # any case
    assert "TraceParent" in record.decoded_headers
    assert record.key_schema_metadata is not None
    assert record.key_schema_metadata.data_format == "AVRO"
    assert record.value_schema_metadata is not None
    assert record.value_schema_metadata.schema_id == "1234"
    assert KafkaEventRecord(second).key is None  # no key field
    assert KafkaEventRecord(second).decoded_key is None
    assert KafkaEventRecord(second).key_schema_metadata is None
    assert KafkaEventRecord(third).key is None  # "key": null
    assert KafkaEventRecord(third).decoded_headers["negative"] == b"\xff\x01"  # Java's bytes
    assert repr(record) == "KafkaEventRecord(topic='orders', partition=0, offset=15)"
    assert record == first


def test_ordered_and_stop_on_first_failure_key_by_topic_partition() -> None:
    event = testing.kafka_event(
        [{"n": n, "fail": n == 2} for n in range(6)], partition=lambda i: i % 2
    )
    order: list[tuple[int, int]] = []

    async def record_handler(record: KafkaEventRecord) -> None:
        await asyncio.sleep(0)
        value = record.json_value
        order.append((record.partition, value["n"]))
        if value["fail"]:
            raise ValueError("failed")

    processor = BatchProcessor(EventType.Kafka, ordered=True, stop_on_first_failure=True)
    response = asyncio.run(aprocess_partial_response(event, record_handler, processor))
    for partition in (0, 1):
        seen = [n for p, n in order if p == partition]
        assert seen == sorted(seen)  # each topic-partition in order
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert {"partition": "mytopic-0", "offset": failed[0]["offset"]} == failed[0]  # type: ignore[index]
    assert all(isinstance(f, dict) for f in failed)


def test_a_model_gets_the_raw_record() -> None:
    class Record(BaseModel):
        topic: str
        partition: int
        offset: int

    seen: list[Record] = []
    processor = BatchProcessor(EventType.Kafka, model=Record)
    process_partial_response(testing.kafka_event(["a", "b"]), seen.append, processor)
    assert [r.topic for r in seen] == ["mytopic", "mytopic"]


def test_the_decorator_takes_kafka_events_too() -> None:
    processor = BatchProcessor(EventType.Kafka)

    @batch_processor(record_handler=handler, processor=processor)
    def lambda_handler(event: Any, context: Any) -> Any:
        return processor.response()

    assert lambda_handler(sample(), None) == {
        "batchItemFailures": [{"itemIdentifier": {"partition": "orders-0", "offset": 16}}]
    }


def test_every_record_failing_raises() -> None:
    event = testing.kafka_event([{"order": 1, "fail": True}, {"order": 2, "fail": True}])
    with pytest.raises(BatchProcessingError, match="All records failed processing"):
        process_partial_response(event, handler, BatchProcessor(EventType.Kafka))


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"eventSource": "aws:kafka"}, "no 'records'"),
        ({"eventSource": "aws:kafka", "records": {}}, "empty dict"),
        ({"eventSource": "aws:kafka", "records": []}, "got list"),
        ({"Records": []}, "no 'records'"),
        ("not an event", "must be a dict"),
    ],
)
def test_an_event_without_kafka_records_is_an_unexpected_batch_type(event: Any, words: str) -> None:
    ran: list[Any] = []
    with pytest.raises(UnexpectedBatchTypeError, match="Invalid Kafka event structure") as caught:
        process_partial_response(event, ran.append, BatchProcessor(EventType.Kafka))
    assert words in str(caught.value)
    assert ran == []


def _broken(change: Any) -> dict[str, Any]:
    event = testing.kafka_event(["a", "b", "c"])
    change(event["records"]["mytopic-0"])
    return event


@pytest.mark.parametrize(
    ("change", "field", "index"),
    [
        (lambda rs: rs.__setitem__(1, "text"), "records", 1),
        (lambda rs: rs[2].pop("offset"), "offset", 2),
        (lambda rs: rs[0].__setitem__("offset", "15"), "offset", 0),
        (lambda rs: rs[0].__setitem__("offset", -1), "offset", 0),
        (lambda rs: rs[1].__setitem__("partition", True), "partition", 1),
        (lambda rs: rs[1].pop("partition"), "partition", 1),
        (lambda rs: rs[0].__setitem__("topic", ""), "topic", 0),
        (lambda rs: rs[2].pop("topic"), "topic", 2),
    ],
)
def test_a_malformed_kafka_record_is_named_before_any_handler(
    change: Any, field: str, index: int
) -> None:
    ran: list[Any] = []
    with pytest.raises(InvalidEventError) as caught:
        process_partial_response(_broken(change), ran.append, BatchProcessor(EventType.Kafka))
    assert caught.value.field == field
    assert caught.value.index == index
    assert ran == []


def test_a_topic_partition_that_is_not_a_list_is_named() -> None:
    event = {"eventSource": "aws:kafka", "records": {"mytopic-0": {"offset": 1}}}
    with pytest.raises(InvalidEventError, match=r"records\['mytopic-0'\] must be a list"):
        process_partial_response(event, print, BatchProcessor(EventType.Kafka))


def test_a_kafka_event_given_to_other_processors_is_an_unexpected_batch_type() -> None:
    for event_type in (EventType.SQS, EventType.KinesisDataStreams, EventType.DynamoDBStreams):
        with pytest.raises(UnexpectedBatchTypeError, match="no 'Records' key"):
            process_partial_response(sample(), print, BatchProcessor(event_type))


def test_failures_are_logged_by_topic_partition_and_offset(
    caplog: pytest.LogCaptureFixture,
) -> None:
    process_partial_response(sample(), handler, BatchProcessor(EventType.Kafka))
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("record")]
    assert line == "record orders-0@16 failed: ValueError"

"""aiobatch.testing without a network: builders, the fake context and the lazy imports."""

from __future__ import annotations

import ast
import base64
import hashlib
import inspect
import json
import subprocess
import sys
import uuid
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aiobatch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
    testing,
)
from aiobatch.testing import (
    DEFAULT_FIFO_QUEUE_ARN,
    DEFAULT_QUEUE_ARN,
    DEFAULT_STREAM_ARN,
    DEFAULT_TABLE_STREAM_ARN,
    FakeLambdaContext,
    LocalSQS,
    dynamodb_event,
    dynamodb_record,
    event_from_messages,
    kinesis_event,
    kinesis_record,
    sqs_event,
    sqs_record,
)
from tests import events

MODULE_SOURCE = Path(testing.__file__).read_text()


def fixture(name: str) -> list[dict[str, Any]]:
    """The records of a sample event."""
    records: list[dict[str, Any]] = events.sample(name)["Records"]
    return records


def assert_same_shape(expected: Any, actual: Any, path: str = "record") -> None:
    """Every key of ``expected`` is in ``actual``, recursively, with values of the same type."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
    if isinstance(expected, dict):
        missing = expected.keys() - actual.keys()
        assert not missing, f"{path} lacks {sorted(missing)}"
        for key, value in expected.items():
            assert_same_shape(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list) and expected and actual:
        assert_same_shape(expected[0], actual[0], f"{path}[0]")


def json_round_trip(event: dict[str, Any]) -> None:
    assert json.loads(json.dumps(event)) == event


def decode(typed: Mapping[str, Any]) -> Any:
    """A small DynamoDB JSON decoder, independent of the module under test."""
    ((kind, value),) = typed.items()
    if kind == "S":
        return value
    if kind == "N":
        return Decimal(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        assert value is True
        return None
    if kind == "B":
        return base64.b64decode(value)
    if kind == "L":
        return [decode(item) for item in value]
    if kind == "M":
        return {name: decode(item) for name, item in value.items()}
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {Decimal(item) for item in value}
    if kind == "BS":
        return {base64.b64decode(item) for item in value}
    raise AssertionError(f"unknown DynamoDB type {kind}")


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- module hygiene -----------------------------------------------------------------------


def test_importing_the_module_loads_no_aws_library_and_only_the_standard_library() -> None:
    code = (
        "import sys, json\n"
        "import aiobatch\n"
        "before = set(sys.modules)\n"
        "import aiobatch.testing\n"
        "new = {name.split('.')[0] for name in set(sys.modules) - before}\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'new': sorted(new)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(result.stdout)
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert loaded.isdisjoint({"moto", "boto3", "botocore", "aioboto3", "aiobotocore"})
    assert "aiobatch" in loaded
    assert set(report["new"]) - {"aiobatch"} <= sys.stdlib_module_names


def test_module_imports_only_the_standard_library_and_aiobatch_itself() -> None:
    tree = ast.parse(MODULE_SOURCE)
    top_level: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            assert node.module is not None
            top_level.add(node.module.split(".")[0])
    assert top_level - {"__future__"} <= sys.stdlib_module_names


def test_all_is_sorted_and_every_public_name_is_documented() -> None:
    assert testing.__all__ == sorted(testing.__all__)
    assert testing.__doc__
    for name in testing.__all__:
        value = getattr(testing, name)
        if callable(value):
            assert inspect.getdoc(value), name
        else:
            # Module constants carry a docstring line right after their assignment.
            assert f"{name} = " in MODULE_SOURCE
            after = MODULE_SOURCE.split(f"{name} = ", 1)[1]
            assert '"""' in after.split("\n\n", 1)[0], name
    for cls in (testing.FakeLambdaContext, testing.LocalSQS, testing.LocalQueue):
        for attr, member in vars(cls).items():
            if not attr.startswith("_") and callable(member):
                assert inspect.getdoc(member), f"{cls.__name__}.{attr}"


# --- FakeLambdaContext --------------------------------------------------------------------


def test_context_counts_down_with_the_clock_and_stops_at_zero() -> None:
    clock = FakeClock()
    context = FakeLambdaContext(2.5, clock=clock)
    assert context.get_remaining_time_in_millis() == 2500
    clock.now += 1.0
    assert context.get_remaining_time_in_millis() == 1500
    clock.now += 1.4996
    assert context.get_remaining_time_in_millis() == 0  # 0.4 ms left: whole ms, floored
    clock.now += 10
    assert context.get_remaining_time_in_millis() == 0


def test_context_with_the_real_clock_starts_near_its_timeout() -> None:
    context = FakeLambdaContext(5)
    assert 4000 < context.get_remaining_time_in_millis() <= 5000


def test_context_attributes_and_defaults() -> None:
    context = FakeLambdaContext(clock=FakeClock())
    assert context.get_remaining_time_in_millis() == 30_000
    assert context.function_name == "test-function"
    assert context.function_version == "$LATEST"
    assert context.memory_limit_in_mb == 128
    assert (
        context.invoked_function_arn
        == "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    )
    assert context.log_group_name == "/aws/lambda/test-function"
    assert "/[$LATEST]" in context.log_stream_name
    assert str(uuid.UUID(context.aws_request_id)) == context.aws_request_id
    assert context.aws_request_id != FakeLambdaContext().aws_request_id


def test_context_takes_every_attribute() -> None:
    context = FakeLambdaContext(
        1,
        function_name="orders",
        memory_limit_in_mb=512,
        aws_request_id="req-1",
        function_version="7",
        invoked_function_arn="arn:aws:lambda:eu-west-1:111122223333:function:orders:live",
        log_group_name="/custom",
        log_stream_name="stream",
    )
    assert (context.function_name, context.memory_limit_in_mb) == ("orders", 512)
    assert (context.aws_request_id, context.function_version) == ("req-1", "7")
    assert context.invoked_function_arn.endswith(":orders:live")
    assert (context.log_group_name, context.log_stream_name) == ("/custom", "stream")
    assert FakeLambdaContext(function_name="orders").invoked_function_arn.endswith(
        ":function:orders"
    )


@pytest.mark.parametrize("timeout", [-1.0, float("nan"), float("inf")])
def test_context_refuses_a_bad_timeout(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        FakeLambdaContext(timeout)


# --- SQS ----------------------------------------------------------------------------------


def test_sqs_record_has_every_field_of_the_sample() -> None:
    sample = fixture("sqs")
    for expected in sample:
        record = sqs_record(
            json.loads(expected["body"]),
            queue_arn=expected["eventSourceARN"],
            message_attributes={"tenant": "acme"},
        )
        assert_same_shape(expected, record)
        assert record["body"] == expected["body"]
        assert record["md5OfBody"] == expected["md5OfBody"]
        assert record["messageAttributes"] == expected["messageAttributes"]
        assert record["awsRegion"] == "eu-west-1"
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == expected["eventSourceARN"]


def test_sqs_fifo_record_has_every_field_of_the_fifo_sample() -> None:
    for expected in fixture("sqs-fifo"):
        record = sqs_record(
            expected["body"],
            queue_arn=expected["eventSourceARN"],
            message_group_id=expected["attributes"]["MessageGroupId"],
            message_attributes={"tenant": "acme"},
        )
        assert_same_shape(expected, record)
        assert record["md5OfBody"] == expected["md5OfBody"]
        assert record["attributes"]["MessageGroupId"] == expected["attributes"]["MessageGroupId"]


def test_sqs_record_fields() -> None:
    record = sqs_record(
        "hello",
        message_id="m-1",
        receipt_handle="rh-1",
        receive_count=3,
        sent_timestamp=1764200000000,
    )
    assert record["messageId"] == "m-1"
    assert record["receiptHandle"] == "rh-1"
    assert record["body"] == "hello"
    assert record["md5OfBody"] == hashlib.md5(b"hello").hexdigest()
    assert record["eventSourceARN"] == DEFAULT_QUEUE_ARN
    assert record["awsRegion"] == "us-east-1"
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "3"
    assert attributes["SentTimestamp"] == "1764200000000"
    assert int(attributes["ApproximateFirstReceiveTimestamp"]) >= 1764200000000
    assert attributes["SenderId"]
    assert all(isinstance(value, str) for value in attributes.values())
    assert not {"MessageGroupId", "MessageDeduplicationId", "SequenceNumber"} & attributes.keys()
    assert record["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in record


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"a": 1, "b": [True, None]}, '{"a": 1, "b": [true, null]}'),
        ([1, 2], "[1, 2]"),
        (7, "7"),
        (None, "null"),
        ("already text", "already text"),
        ("é ☃", "é ☃"),
    ],
)
def test_sqs_body_is_json_unless_str_and_md5_is_of_its_utf8(body: Any, text: str) -> None:
    record = sqs_record(body)
    assert record["body"] == text
    assert record["md5OfBody"] == hashlib.md5(text.encode("utf-8")).hexdigest()
    json_round_trip({"Records": [record]})


def test_sqs_defaults_are_fresh_each_time() -> None:
    records = [sqs_record("same") for _ in range(50)]
    message_ids = {record["messageId"] for record in records}
    handles = {record["receiptHandle"] for record in records}
    assert len(message_ids) == len(handles) == 50
    for message_id in message_ids:
        assert str(uuid.UUID(message_id)) == message_id


def test_sqs_fifo_defaults() -> None:
    body = {"order": 1}
    record = sqs_record(body, message_group_id="cust-a")
    text = json.dumps(body)
    assert record["eventSourceARN"] == DEFAULT_FIFO_QUEUE_ARN
    assert DEFAULT_FIFO_QUEUE_ARN == DEFAULT_QUEUE_ARN + ".fifo"
    attributes = record["attributes"]
    assert attributes["MessageGroupId"] == "cust-a"
    assert attributes["MessageDeduplicationId"] == hashlib.sha256(text.encode()).hexdigest()
    assert len(attributes["SequenceNumber"]) == 20
    assert attributes["SequenceNumber"].isdigit()


def test_sqs_fifo_sequence_numbers_increase_across_calls() -> None:
    numbers = [
        sqs_record(i, message_group_id="g")["attributes"]["SequenceNumber"] for i in range(20)
    ]
    numbers += [
        record["attributes"]["SequenceNumber"]
        for record in sqs_event(range(5), message_group_id="g")["Records"]
    ]
    assert all(len(number) == 20 for number in numbers)
    assert [int(number) for number in numbers] == sorted({int(number) for number in numbers})


def test_sqs_fifo_record_takes_explicit_ids_and_queue() -> None:
    arn = "arn:aws:sqs:eu-west-1:111122223333:orders.fifo"
    record = sqs_record(
        "x",
        queue_arn=arn,
        message_group_id="g",
        message_deduplication_id="d-1",
        sequence_number="18890000000000000000",
    )
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "eu-west-1"
    assert record["attributes"]["MessageDeduplicationId"] == "d-1"
    assert record["attributes"]["SequenceNumber"] == "18890000000000000000"


def test_sqs_record_refuses_inconsistent_fifo_arguments() -> None:
    with pytest.raises(ValueError, match="FIFO queue ARN"):
        sqs_record("x", queue_arn="arn:aws:sqs:eu-west-1:111122223333:orders", message_group_id="g")
    with pytest.raises(ValueError, match="message_group_id"):
        sqs_record("x", queue_arn=DEFAULT_FIFO_QUEUE_ARN)
    with pytest.raises(ValueError, match="FIFO records"):
        sqs_record("x", message_deduplication_id="d")
    with pytest.raises(ValueError, match="FIFO records"):
        sqs_record("x", sequence_number="1")
    with pytest.raises(ValueError, match="receive_count"):
        sqs_record("x", receive_count=0)


@pytest.mark.parametrize(
    "arn",
    [
        "not an arn",
        "arn:aws:kinesis:us-east-1:123456789012:stream/s",
        "arn:aws:sqs::123456789012:q",
    ],
)
def test_sqs_record_refuses_a_non_sqs_arn(arn: str) -> None:
    with pytest.raises(ValueError, match="not an sqs ARN"):
        sqs_record("x", queue_arn=arn)


def test_sqs_message_attributes_in_lambda_shape_with_the_sqs_md5() -> None:
    record = sqs_record("x", message_attributes={"s": "v", "n": 5, "b": b"\x00\x01", "f": 1.5})
    assert record["messageAttributes"] == {
        "s": {
            "stringValue": "v",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "n": {
            "stringValue": "5",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "b": {
            "binaryValue": "AAE=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
        "f": {
            "stringValue": "1.5",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
    }
    # The digest moto (and SQS) return for s=String "v", n=Number "5", b=Binary 00 01.
    three = sqs_record("x", message_attributes={"s": "v", "n": 5, "b": b"\x00\x01"})
    assert three["md5OfMessageAttributes"] == "bf134c47c9b8f5cbe91e1850b600be32"
    json_round_trip({"Records": [record]})


@pytest.mark.parametrize("value", [True, object(), [1], None])
def test_sqs_message_attributes_refuse_other_types(value: Any) -> None:
    with pytest.raises(TypeError, match=type(value).__qualname__):
        sqs_record("x", message_attributes={"a": value})


def test_sqs_event_and_callable_groups() -> None:
    event = sqs_event(["a", {"b": 1}, 3])
    assert [record["body"] for record in event["Records"]] == ["a", '{"b": 1}', "3"]
    assert {record["eventSourceARN"] for record in event["Records"]} == {DEFAULT_QUEUE_ARN}
    json_round_trip(event)

    fifo = sqs_event(range(4), message_group_id=lambda index: f"g{index % 2}")
    groups = [record["attributes"]["MessageGroupId"] for record in fifo["Records"]]
    assert groups == ["g0", "g1", "g0", "g1"]
    assert {record["eventSourceARN"] for record in fifo["Records"]} == {DEFAULT_FIFO_QUEUE_ARN}
    json_round_trip(fifo)

    same = sqs_event(["x", "y"], message_group_id="only")
    assert {record["attributes"]["MessageGroupId"] for record in same["Records"]} == {"only"}
    assert sqs_event([]) == {"Records": []}


# --- event_from_messages ------------------------------------------------------------------

RECEIVED = {
    "Messages": [
        {
            "MessageId": "0d2d6c8f-6f0c-4d2e-9c6e-3b8f0b7b9a01",
            "ReceiptHandle": "AQEBhandle-1",
            "MD5OfBody": hashlib.md5(b'{"order": 1}').hexdigest(),
            "Body": '{"order": 1}',
            "Attributes": {
                "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
                "SentTimestamp": "1764200000000",
                "ApproximateReceiveCount": "2",
                "ApproximateFirstReceiveTimestamp": "1764200000050",
                "MessageDeduplicationId": "d-1",
                "MessageGroupId": "cust-a",
                "SequenceNumber": "18890000000000000001",
            },
            "MD5OfMessageAttributes": "2eb06838c6b0865923d30cdcb0ec9e42",
            "MessageAttributes": {
                "s": {"StringValue": "v", "DataType": "String"},
                "n": {"StringValue": "5", "DataType": "Number.int"},
                "b": {"BinaryValue": b"\x00\x01", "DataType": "Binary"},
            },
        },
        {
            "MessageId": "0d2d6c8f-6f0c-4d2e-9c6e-3b8f0b7b9a02",
            "ReceiptHandle": "AQEBhandle-2",
            "MD5OfBody": hashlib.md5(b"plain").hexdigest(),
            "Body": "plain",
            "Attributes": {
                "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
                "SentTimestamp": "1764200000001",
                "ApproximateReceiveCount": "1",
                "ApproximateFirstReceiveTimestamp": "1764200000051",
                "MessageDeduplicationId": "d-2",
                "MessageGroupId": "cust-b",
                "SequenceNumber": "18890000000000000002",
            },
        },
    ]
}


def test_event_from_messages_converts_a_receive_response() -> None:
    arn = "arn:aws:sqs:eu-west-1:111122223333:orders.fifo"
    event = event_from_messages(RECEIVED["Messages"], queue_arn=arn)
    first, second = event["Records"]
    assert first == {
        "messageId": "0d2d6c8f-6f0c-4d2e-9c6e-3b8f0b7b9a01",
        "receiptHandle": "AQEBhandle-1",
        "body": '{"order": 1}',
        "attributes": RECEIVED["Messages"][0]["Attributes"],
        "messageAttributes": {
            "s": {
                "stringValue": "v",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            },
            "n": {
                "stringValue": "5",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Number.int",
            },
            "b": {
                "binaryValue": "AAE=",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "Binary",
            },
        },
        "md5OfBody": hashlib.md5(b'{"order": 1}').hexdigest(),
        "md5OfMessageAttributes": "2eb06838c6b0865923d30cdcb0ec9e42",
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": "eu-west-1",
    }
    assert second["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in second
    assert second["attributes"]["MessageGroupId"] == "cust-b"
    for expected in fixture("sqs-fifo")[:1]:
        assert_same_shape(expected | {"messageAttributes": {}}, second)
    json_round_trip(event)


def test_event_from_messages_region_and_missing_parts() -> None:
    message = {"MessageId": "m", "ReceiptHandle": "rh", "Body": "b"}
    event = event_from_messages(
        [message], queue_arn="arn:aws:sqs:eu-west-1:111122223333:q", region="eu-central-1"
    )
    (record,) = event["Records"]
    assert record["awsRegion"] == "eu-central-1"
    assert record["attributes"] == {}
    assert record["messageAttributes"] == {}
    assert record["md5OfBody"] == hashlib.md5(b"b").hexdigest()
    assert event_from_messages([], queue_arn=DEFAULT_QUEUE_ARN) == {"Records": []}
    with pytest.raises(ValueError, match="not an sqs ARN"):
        event_from_messages([message], queue_arn="arn:aws:sns:us-east-1:123456789012:t")


# --- Kinesis ------------------------------------------------------------------------------


def test_kinesis_record_has_every_field_of_the_sample() -> None:
    for expected in fixture("kinesis"):
        payload = expected["kinesis"]
        record = kinesis_record(
            base64.b64decode(payload["data"]),
            partition_key=payload["partitionKey"],
            stream_arn=expected["eventSourceARN"],
        )
        assert_same_shape(expected, record)
        assert record["kinesis"]["data"] == payload["data"]
        assert record["kinesis"]["partitionKey"] == payload["partitionKey"]
        assert record["awsRegion"] == "eu-west-1"
        assert record["invokeIdentityArn"].startswith("arn:aws:iam::111122223333:role/")
        assert record["eventSourceARN"] == expected["eventSourceARN"]
        for key in ("eventSource", "eventVersion", "eventName"):
            assert record[key] == expected[key]


@pytest.mark.parametrize(
    ("data", "raw"),
    [(b"\x00\xffbin", b"\x00\xffbin"), ("tëxt", "tëxt".encode()), ({"n": 1}, b'{"n": 1}')],
)
def test_kinesis_data_is_base64_of_bytes_text_or_json(data: Any, raw: bytes) -> None:
    record = kinesis_record(data, arrival_timestamp=1764200000.5)
    assert base64.b64decode(record["kinesis"]["data"]) == raw
    assert record["kinesis"]["approximateArrivalTimestamp"] == 1764200000.5
    json_round_trip({"Records": [record]})


def test_kinesis_ids_and_sequence_numbers() -> None:
    record = kinesis_record("x", sequence_number="42", shard_id="shardId-000000000007")
    assert record["kinesis"]["sequenceNumber"] == "42"
    assert record["eventID"] == "shardId-000000000007:42"
    assert record["eventSourceARN"] == DEFAULT_STREAM_ARN

    numbers = [kinesis_record(i)["kinesis"]["sequenceNumber"] for i in range(10)]
    numbers += [r["kinesis"]["sequenceNumber"] for r in kinesis_event(range(10))["Records"]]
    assert all(number.isdigit() and len(number) == 56 for number in numbers)
    assert [int(number) for number in numbers] == sorted({int(number) for number in numbers})
    event = kinesis_event(["a", "b"])
    for record in event["Records"]:
        assert record["eventID"] == f"shardId-000000000000:{record['kinesis']['sequenceNumber']}"


def test_kinesis_event_partition_keys() -> None:
    event = kinesis_event(range(3), partition_key=lambda index: f"sensor-{index}")
    assert [r["kinesis"]["partitionKey"] for r in event["Records"]] == [
        "sensor-0",
        "sensor-1",
        "sensor-2",
    ]
    assert {r["kinesis"]["partitionKey"] for r in kinesis_event("ab")["Records"]} == {"1"}
    json_round_trip(event)


# --- DynamoDB Streams ---------------------------------------------------------------------


def image(pk: str, visits: int, name: str) -> dict[str, Any]:
    return {
        "pk": pk,
        "visits": visits,
        "tags": {"a", "b"},
        "active": True,
        "profile": {"name": name},
    }


def test_dynamodb_record_matches_the_sample() -> None:
    samples = fixture("dynamodb")
    arn = samples[0]["eventSourceARN"]
    built = [
        dynamodb_record(keys={"pk": "user#0"}, new_image=image("user#0", 10, "n0"), stream_arn=arn),
        dynamodb_record(
            keys={"pk": "user#1"},
            new_image=image("user#1", 11, "n1"),
            old_image=image("user#1", 10, "n1"),
            stream_arn=arn,
        ),
        dynamodb_record(keys={"pk": "user#2"}, old_image=image("user#2", 11, "n2"), stream_arn=arn),
    ]
    for expected, record in zip(samples, built, strict=True):
        assert_same_shape(expected, record)
        assert record["eventName"] == expected["eventName"]
        assert record["eventSourceARN"] == arn
        assert record["awsRegion"] == "eu-west-1"
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        for key in ("Keys", "NewImage", "OldImage"):
            assert record["dynamodb"].get(key) == expected["dynamodb"].get(key), key
        assert record["dynamodb"]["SizeBytes"] > 0
        json_round_trip({"Records": [record]})


@pytest.mark.parametrize(
    ("value", "typed"),
    [
        ("text", {"S": "text"}),
        ("", {"S": ""}),
        (True, {"BOOL": True}),
        (False, {"BOOL": False}),
        (0, {"N": "0"}),
        (-12345678901234567890, {"N": "-12345678901234567890"}),
        (1.5, {"N": "1.5"}),
        (Decimal("3.14159"), {"N": "3.14159"}),
        (None, {"NULL": True}),
        (b"\x00\x01\xff", {"B": "AAH/"}),
        ([1, "a", None], {"L": [{"N": "1"}, {"S": "a"}, {"NULL": True}]}),
        ((True,), {"L": [{"BOOL": True}]}),
        ([], {"L": []}),
        ({"k": {"n": 1}}, {"M": {"k": {"M": {"n": {"N": "1"}}}}}),
        ({}, {"M": {}}),
        ({"b", "a"}, {"SS": ["a", "b"]}),
        (frozenset({3, 1.5, Decimal("2")}), {"NS": ["1.5", "2", "3"]}),
        ({b"y", b"x"}, {"BS": ["eA==", "eQ=="]}),
    ],
)
def test_dynamodb_serialisation_of_every_type(value: Any, typed: dict[str, Any]) -> None:
    record = dynamodb_record(keys={"pk": "k"}, new_image={"pk": "k", "v": value})
    assert record["dynamodb"]["NewImage"]["v"] == typed
    # Numbers come back as Decimal, which compares equal to the int or float sent.
    assert decode(typed) == (list(value) if isinstance(value, tuple) else value)
    json_round_trip({"Records": [record]})


class Secret:
    def __repr__(self) -> str:
        return "hunter2"

    __str__ = __repr__


@pytest.mark.parametrize(
    "image",
    [
        {"v": Secret()},
        {"v": [1, {"deep": Secret()}]},
        {"v": {Secret()}},
    ],
)
def test_dynamodb_refuses_other_types_naming_the_type_not_the_value(image: Any) -> None:
    with pytest.raises(TypeError) as raised:
        dynamodb_record(keys={"pk": "k"}, new_image=image)
    assert "Secret" in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_dynamodb_refuses_mixed_sets_non_str_names_and_bad_numbers() -> None:
    with pytest.raises(TypeError, match="int, str"):
        dynamodb_record(keys={"pk": "k"}, new_image={"v": {1, "hunter2"}})
    with pytest.raises(TypeError) as raised:
        dynamodb_record(keys={"pk": "k"}, new_image={"v": {1, "hunter2"}})
    assert "hunter2" not in str(raised.value)
    not_str_names: Any = {1: "x"}
    with pytest.raises(TypeError, match="names must be str"):
        dynamodb_record(keys={"pk": "k"}, new_image=not_str_names)
    with pytest.raises(TypeError, match="bool"):
        dynamodb_record(keys={"pk": "k"}, new_image={"v": {True, False}})
    with pytest.raises(ValueError, match="empty sets"):
        dynamodb_record(keys={"pk": "k"}, new_image={"v": set()})
    for bad in (float("nan"), float("inf"), Decimal("NaN")):
        with pytest.raises(ValueError, match="NaN"):
            dynamodb_record(keys={"pk": "k"}, new_image={"v": bad})


def test_dynamodb_event_names_and_view_types() -> None:
    def kind(**kwargs: Any) -> tuple[str, str]:
        record = dynamodb_record(keys={"pk": "k"}, **kwargs)
        return record["eventName"], record["dynamodb"]["StreamViewType"]

    new, old = {"pk": "k", "v": 2}, {"pk": "k", "v": 1}
    assert kind(new_image=new) == ("INSERT", "NEW_AND_OLD_IMAGES")
    assert kind(old_image=old) == ("REMOVE", "NEW_AND_OLD_IMAGES")
    assert kind(new_image=new, old_image=old) == ("MODIFY", "NEW_AND_OLD_IMAGES")
    assert kind() == ("INSERT", "KEYS_ONLY")
    assert kind(event_name="REMOVE") == ("REMOVE", "KEYS_ONLY")
    assert kind(event_name="MODIFY", new_image=new) == ("MODIFY", "NEW_IMAGE")
    assert kind(event_name="MODIFY", old_image=old) == ("MODIFY", "OLD_IMAGE")
    assert kind(new_image=new, stream_view_type="NEW_IMAGE") == ("INSERT", "NEW_IMAGE")
    with pytest.raises(ValueError, match="INSERT"):
        dynamodb_record(keys={"pk": "k"}, event_name="INSERT", old_image=old)
    with pytest.raises(ValueError, match="REMOVE"):
        dynamodb_record(keys={"pk": "k"}, event_name="REMOVE", new_image=new)
    with pytest.raises(ValueError, match="KEYS_ONLY"):
        dynamodb_record(keys={"pk": "k"}, new_image=new, stream_view_type="KEYS_ONLY")
    with pytest.raises(ValueError, match="keys"):
        dynamodb_record(keys={})


def test_dynamodb_record_fields_and_unique_ids() -> None:
    records = [dynamodb_record(keys={"pk": f"k{i}"}, new_image={"pk": f"k{i}"}) for i in range(20)]
    event = dynamodb_event(iter(records))
    assert event == {"Records": records}
    numbers = [record["dynamodb"]["SequenceNumber"] for record in records]
    assert all(number.isdigit() for number in numbers)
    assert [int(number) for number in numbers] == sorted({int(number) for number in numbers})
    assert len({record["eventID"] for record in records}) == 20
    first = records[0]
    assert first["eventSourceARN"] == DEFAULT_TABLE_STREAM_ARN
    assert first["awsRegion"] == "us-east-1"
    assert first["eventSource"] == "aws:dynamodb"
    assert first["eventVersion"] == "1.1"
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int)
    assert first["dynamodb"]["Keys"] == {"pk": {"S": "k0"}}
    explicit = dynamodb_record(keys={"pk": "k"}, sequence_number="111")
    assert explicit["dynamodb"]["SequenceNumber"] == "111"
    json_round_trip(event)


def test_dynamodb_size_grows_with_the_item() -> None:
    small = dynamodb_record(keys={"pk": "k"}, new_image={"pk": "k"})
    large = dynamodb_record(keys={"pk": "k"}, new_image={"pk": "k", "blob": "x" * 1000})
    assert 0 < small["dynamodb"]["SizeBytes"] < large["dynamodb"]["SizeBytes"]
    assert large["dynamodb"]["SizeBytes"] >= 1000


# --- the events through aiobatch ----------------------------------------------------------


def fails(record: Any) -> bool:
    if "body" in record:
        return bool(record.json_body["fail"])
    if "kinesis" in record:
        return bool(record.kinesis.data_as_json()["fail"])
    return bool(record.dynamodb.new_image["fail"])


def handler(record: Any) -> None:
    if fails(record):
        raise ValueError("refused")


@pytest.mark.parametrize(
    ("event_type", "build", "identifier"),
    [
        (EventType.SQS, sqs_event, lambda r: r["messageId"]),
        (EventType.KinesisDataStreams, kinesis_event, lambda r: r["kinesis"]["sequenceNumber"]),
        (
            EventType.DynamoDBStreams,
            lambda payloads: dynamodb_event(
                dynamodb_record(keys={"pk": str(i)}, new_image={"pk": str(i)} | payload)
                for i, payload in enumerate(payloads)
            ),
            lambda r: r["dynamodb"]["SequenceNumber"],
        ),
    ],
)
def test_built_events_go_through_aiobatch(
    event_type: EventType, build: Any, identifier: Any
) -> None:
    event = build([{"fail": n in (1, 3)} for n in range(4)])
    response = process_partial_response(
        event, handler, BatchProcessor(event_type), FakeLambdaContext(clock=FakeClock())
    )
    expected = [identifier(event["Records"][n]) for n in (1, 3)]
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == expected


def test_built_fifo_event_goes_through_the_fifo_processor() -> None:
    event = sqs_event([{"fail": n == 1} for n in range(4)], message_group_id="g")
    response = process_partial_response(event, handler, SqsFifoPartialProcessor())
    ids = [record["messageId"] for record in event["Records"]]
    # One group: the failure and everything after it are reported failed.
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == ids[1:]


# --- LocalSQS without a server ------------------------------------------------------------


@pytest.mark.parametrize("missing", ["moto.server", "boto3"])
def test_local_sqs_without_its_extra_says_how_to_install_it(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)
    with pytest.raises(ImportError, match=r"aiobatch-lambda\[testing\]") as raised:
        LocalSQS()
    assert raised.value.__cause__ is not None


def test_local_sqs_before_start_refuses_to_be_used() -> None:
    sqs = LocalSQS(region="eu-west-1")
    assert sqs.region == "eu-west-1"
    with pytest.raises(RuntimeError, match="not started"):
        _ = sqs.endpoint_url
    with pytest.raises(RuntimeError, match="not started"):
        _ = sqs.client
    with pytest.raises(RuntimeError, match="not started"):
        sqs.env()
    sqs.stop()  # stopping what never started is harmless


def test_kafka_builders_have_every_field_of_the_sample() -> None:
    sample = events.sample("kafka")
    event = testing.kafka_event([{"n": 1}, {"n": 2}, {"n": 3}], partition=lambda i: i % 2)
    assert set(event) == set(sample)
    assert list(event["records"]) == ["mytopic-0", "mytopic-1"]
    first = event["records"]["mytopic-0"][0]
    expected = set(sample["records"]["orders-0"][1])  # a record without key or schemas
    assert set(first) == expected
    assert [r["offset"] for r in event["records"]["mytopic-0"]] == sorted(
        r["offset"] for r in event["records"]["mytopic-0"]
    )
    keyed = testing.kafka_record(b"v", key="k", headers={"h": "x"}, offset=5)
    assert keyed["key"] == base64.b64encode(b"k").decode()
    assert keyed["headers"] == [{"h": [120]}]
    assert keyed["offset"] == 5
    assert json.loads(base64.b64decode(first["value"])) == {"n": 1}
    self_managed = testing.kafka_event(["x"], event_source="SelfManagedKafka")
    assert "eventSourceArn" not in self_managed
    assert json.loads(json.dumps(event)) == event

"""Record wrappers: properties against sample events, mapping behaviour, the DynamoDB decoder."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobatch import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
    DynamoDBStreamRecord,
    KinesisStreamRecord,
    KinesisStreamRecordPayload,
    SQSMessageAttribute,
    SQSMessageAttributes,
    SQSRecord,
    SQSRecordAttributes,
    StreamRecord,
    StreamViewType,
    testing,
)
from aiobatch._records import deserialize_dynamodb_value
from tests.events import sample


def raw_records(name: str) -> list[dict[str, Any]]:
    """A fresh copy of a sample event's records, so a test may change them."""
    records: list[dict[str, Any]] = sample(name)["Records"]
    return records


def sample_sqs(index: int = 0, name: str = "sqs") -> SQSRecord:
    return SQSRecord(raw_records(name)[index])


def sample_kinesis(index: int = 0) -> KinesisStreamRecord:
    return KinesisStreamRecord(raw_records("kinesis")[index])


def sample_dynamodb(index: int) -> DynamoDBStreamRecord:
    return DynamoDBStreamRecord(raw_records("dynamodb")[index])


def test_sqs_record_properties() -> None:
    record = sample_sqs(1)
    assert record.message_id == "5f1c6b2e-0000-4000-8000-000000000001"
    assert record.receipt_handle == "AQEBexample0001receipthandle=="
    assert record.body == '{"order": 1, "fail": true}'
    assert record.json_body == {"order": 1, "fail": True}
    assert record.md5_of_body == "560e26eebbfddc6fe6d50e40810aadfa"
    assert record.event_source == "aws:sqs"
    assert record.event_source_arn == "arn:aws:sqs:eu-west-1:111122223333:orders"
    assert record.aws_region == "eu-west-1"
    assert record.queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/orders"


def test_sqs_standard_attributes() -> None:
    attributes = sample_sqs(2).attributes
    assert isinstance(attributes, SQSRecordAttributes)
    assert attributes.approximate_receive_count == "1"
    assert attributes.sent_timestamp == "1764200000002"
    assert attributes.sender_id == "AROAEXAMPLEROLEID:producer"
    assert attributes.approximate_first_receive_timestamp == "1764200000052"
    assert attributes.sequence_number is None
    assert attributes.message_group_id is None
    assert attributes.message_deduplication_id is None
    assert attributes.aws_trace_header is None
    assert attributes.dead_letter_queue_source_arn is None


def test_sqs_fifo_attributes() -> None:
    record = sample_sqs(3, "sqs-fifo")
    attributes = record.attributes
    assert attributes.message_group_id == "cust-c"
    assert attributes.message_deduplication_id == "dedup-3"
    assert attributes.sequence_number == "18890000000000000003"
    assert record.queue_url == "https://sqs.eu-west-1.amazonaws.com/111122223333/orders.fifo"
    assert [sample_sqs(i, "sqs-fifo").attributes.message_group_id for i in range(5)] == [
        "cust-a",
        "cust-b",
        "cust-a",
        "cust-c",
        "cust-b",
    ]


def test_sqs_optional_attributes_when_present() -> None:
    raw = raw_records("sqs")[0]
    raw["attributes"]["AWSTraceHeader"] = "Root=1-5759e988-bd862e3fe1be46a994272793"
    raw["attributes"]["DeadLetterQueueSourceArn"] = "arn:aws:sqs:eu-west-1:111122223333:src"
    attributes = SQSRecord(raw).attributes
    assert attributes.aws_trace_header == "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert attributes.dead_letter_queue_source_arn == "arn:aws:sqs:eu-west-1:111122223333:src"


def test_sqs_message_attributes() -> None:
    attributes = sample_sqs(0).message_attributes
    assert isinstance(attributes, SQSMessageAttributes)
    tenant = attributes["tenant"]
    assert isinstance(tenant, SQSMessageAttribute)
    assert tenant.string_value == "acme"
    assert tenant.binary_value is None
    assert tenant.data_type == "String"
    assert tenant["stringListValues"] == []
    assert list(attributes) == ["tenant"]
    assert len(attributes) == 1
    assert dict(attributes) == {"tenant": tenant}
    assert [type(value) for value in attributes.values()] == [SQSMessageAttribute]


def test_sqs_missing_message_attribute_is_none_as_in_powertools() -> None:
    attributes = sample_sqs(0).message_attributes
    assert attributes["absent"] is None
    assert "absent" not in attributes
    assert "tenant" in attributes
    assert attributes.get("absent") is None
    assert attributes.get("absent", "default") == "default"
    assert isinstance(attributes.get("tenant"), SQSMessageAttribute)


def test_sqs_binary_message_attribute() -> None:
    raw = raw_records("sqs")[0]
    raw["messageAttributes"] = {"blob": {"binaryValue": "AAEC", "dataType": "Binary"}}
    blob = SQSRecord(raw).message_attributes["blob"]
    assert blob is not None
    assert blob.binary_value == "AAEC"
    assert blob.string_value is None
    assert blob.data_type == "Binary"


def test_sqs_missing_optional_parts_are_empty() -> None:
    record = SQSRecord({"messageId": "m-1", "receiptHandle": "rh", "body": "{}"})
    assert dict(record.attributes) == {}
    assert record.attributes.message_group_id is None
    assert dict(record.message_attributes) == {}
    assert record.message_attributes["anything"] is None


@pytest.mark.parametrize(
    ("key", "prop"),
    [("messageId", "message_id"), ("receiptHandle", "receipt_handle"), ("body", "body")],
)
def test_sqs_required_key_missing_raises_key_error(key: str, prop: str) -> None:
    raw = raw_records("sqs")[0]
    del raw[key]
    record = SQSRecord(raw)  # construction does not validate
    with pytest.raises(KeyError, match=key):
        getattr(record, prop)


def test_json_body_is_parsed_once() -> None:
    record = sample_sqs(0)
    first = record.json_body
    assert first == {"order": 0, "fail": False}
    assert record.json_body is first


def test_json_body_of_invalid_json_raises() -> None:
    record = SQSRecord({"messageId": "m-1", "body": "not json"})
    with pytest.raises(json.JSONDecodeError):
        _ = record.json_body


@pytest.mark.parametrize(
    ("arn", "url"),
    [
        (
            "arn:aws:sqs:eu-west-1:111122223333:orders",
            "https://sqs.eu-west-1.amazonaws.com/111122223333/orders",
        ),
        (
            "arn:aws-cn:sqs:cn-north-1:111122223333:orders",
            "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/orders",
        ),
        (
            "arn:aws-us-gov:sqs:us-gov-west-1:111122223333:orders.fifo",
            "https://sqs.us-gov-west-1.amazonaws.com/111122223333/orders.fifo",
        ),
    ],
)
def test_queue_url_per_partition(arn: str, url: str) -> None:
    record = SQSRecord({"messageId": "m-1", "eventSourceARN": arn})
    assert record.queue_url == url


@pytest.mark.parametrize(
    ("arn", "words"),
    [
        ("arn:aws:sns:eu-west-1:111122223333:topic", "not an SQS queue ARN"),
        ("arn:aws:sqs:eu-west-1:111122223333", "not an SQS queue ARN"),
        ("arn:aws:sqs:eu-west-1::orders", "not an SQS queue ARN"),
        ("orders", "not an SQS queue ARN"),
        ("arn:aws-mars:sqs:mars-1:111122223333:orders", "unknown AWS partition 'aws-mars'"),
    ],
)
def test_queue_url_of_a_bad_arn_raises(arn: str, words: str) -> None:
    record = SQSRecord({"messageId": "m-1", "eventSourceARN": arn})
    with pytest.raises(ValueError, match=words):
        _ = record.queue_url


def test_mapping_behaviour() -> None:
    raw = raw_records("sqs")[0]
    record = SQSRecord(raw)
    assert record["body"] == raw["body"]
    assert dict(record) == raw
    assert "messageId" in record
    assert "missing" not in record
    assert record.get("awsRegion") == "eu-west-1"
    assert record.get("missing") is None
    assert record.get("missing", 7) == 7
    assert len(record) == len(raw)
    assert list(record) == list(raw)
    assert list(record.keys()) == list(raw.keys())
    with pytest.raises(KeyError):
        record["missing"]


def test_wrapper_does_not_copy() -> None:
    raw = raw_records("sqs")[0]
    record = SQSRecord(raw)
    assert record.raw_event is raw
    raw["body"] = "changed"
    assert record.body == "changed"


def test_wrapper_is_read_only() -> None:
    record: Any = sample_sqs(0)
    with pytest.raises(TypeError):
        record["body"] = "changed"
    with pytest.raises(TypeError):
        del record["body"]
    with pytest.raises(AttributeError):
        record.extra = 1
    assert not hasattr(record, "__dict__")
    assert record.body == '{"order": 0, "fail": false}'


def test_equality_is_by_type_and_data_and_with_the_raw_record() -> None:
    raw = raw_records("sqs")[0]
    assert SQSRecord(raw) == SQSRecord(json.loads(json.dumps(raw)))
    assert SQSRecord(raw) != sample_sqs(1)
    # Equal to its raw record both ways, as Powertools' users compare bookkeeping.
    assert SQSRecord(raw) == raw
    assert raw == SQSRecord(raw)
    assert SQSRecord(raw) != raw_records("sqs")[1]
    assert SQSRecord(raw) != KinesisStreamRecord(raw)
    with pytest.raises(TypeError, match="unhashable"):
        hash(SQSRecord(raw))


def test_sqs_repr_names_the_message_not_its_content() -> None:
    record = sample_sqs(1)
    text = repr(record)
    assert text == "SQSRecord(message_id='5f1c6b2e-0000-4000-8000-000000000001')"
    assert "order" not in text
    assert "acme" not in repr(record.message_attributes)
    assert "acme" not in repr(record.message_attributes["tenant"])
    assert "String" in repr(record.message_attributes["tenant"])
    assert "producer" not in repr(record.attributes)


def test_repr_never_raises_on_a_record_without_its_identifier() -> None:
    assert repr(SQSRecord({"body": "secret"})) == "SQSRecord(message_id=None)"


def test_kinesis_record_properties() -> None:
    record = sample_kinesis(1)
    assert record.aws_region == "eu-west-1"
    assert record.event_id == "shardId-000000000000:495902240000000000000000000000000000000001"
    assert record.event_name == "aws:kinesis:record"
    assert record.event_source == "aws:kinesis"
    assert record.event_source_arn == "arn:aws:kinesis:eu-west-1:111122223333:stream/readings"
    assert record.event_version == "1.0"
    assert record.invoke_identity_arn == "arn:aws:iam::111122223333:role/consumer"


def test_kinesis_payload() -> None:
    payload = sample_kinesis(1).kinesis
    assert isinstance(payload, KinesisStreamRecordPayload)
    assert payload.approximate_arrival_timestamp == 1764200001.5
    assert isinstance(payload.approximate_arrival_timestamp, float)
    assert payload.data == "eyJyZWFkaW5nIjogMX0="
    assert payload.kinesis_schema_version == "1.0"
    assert payload.partition_key == "sensor-1"
    assert payload.sequence_number == "495902240000000000000000000000000000000001"
    assert payload.data_as_bytes() == b'{"reading": 1}'
    assert payload.data_as_text() == '{"reading": 1}'
    assert payload.data_as_json() == {"reading": 1}


def test_kinesis_data_as_json_of_every_sample() -> None:
    readings = [sample_kinesis(i).kinesis.data_as_json()["reading"] for i in range(3)]
    assert readings == [0, 1, 2]


def test_kinesis_data_as_json_of_non_ascii_text() -> None:
    data = base64.b64encode(json.dumps({"city": "Zürich"}, ensure_ascii=False).encode()).decode()
    payload = KinesisStreamRecordPayload({"data": data})
    assert payload.data_as_json() == {"city": "Zürich"}
    assert payload.data_as_text() == '{"city": "Zürich"}'


def test_kinesis_repr_hides_data_and_partition_key() -> None:
    record = sample_kinesis(0)
    for text in (repr(record), repr(record.kinesis)):
        assert "495902240000000000000000000000000000000000" in text
        assert "eyJyZWFkaW5nIjogMH0=" not in text
        assert "sensor-0" not in text


def test_dynamodb_record_properties() -> None:
    record = sample_dynamodb(0)
    assert record.aws_region == "eu-west-1"
    assert record.event_id == "c4ca4238a0b923820dcc509a6f758490"
    assert record.event_name is DynamoDBRecordEventName.INSERT
    assert record.event_source == "aws:dynamodb"
    assert (
        record.event_source_arn
        == "arn:aws:dynamodb:eu-west-1:111122223333:table/users/stream/2026-11-01T00:00:00.000"
    )
    assert record.event_version == "1.1"
    assert record.user_identity is None


@pytest.mark.parametrize(("index", "name"), [(0, "INSERT"), (1, "MODIFY"), (2, "REMOVE")])
def test_dynamodb_event_name_equals_enum_and_string(index: int, name: str) -> None:
    event_name = sample_dynamodb(index).event_name
    assert event_name == name
    assert event_name == DynamoDBRecordEventName[name]
    assert event_name != "OTHER"
    assert f"{event_name}" == name
    assert str(event_name) == name


def test_dynamodb_stream_record() -> None:
    stream = sample_dynamodb(1).dynamodb
    assert isinstance(stream, StreamRecord)
    assert stream.approximate_creation_date_time == 1764200001
    assert stream.sequence_number == "000000000000000000222"
    assert stream.size_bytes == 59
    assert stream.stream_view_type is StreamViewType.NEW_AND_OLD_IMAGES
    assert stream.stream_view_type == "NEW_AND_OLD_IMAGES"
    assert stream.keys == {"pk": "user#1"}
    assert stream.new_image == {
        "pk": "user#1",
        "visits": Decimal("11"),
        "tags": {"a", "b"},
        "active": True,
        "profile": {"name": "n1"},
    }
    assert stream.old_image == {
        "pk": "user#1",
        "visits": Decimal("10"),
        "tags": {"a", "b"},
        "active": True,
        "profile": {"name": "n1"},
    }


def test_dynamodb_images_absent_are_none() -> None:
    insert = sample_dynamodb(0).dynamodb
    remove = sample_dynamodb(2).dynamodb
    assert insert is not None
    assert remove is not None
    assert insert.old_image is None
    assert insert.new_image is not None
    assert insert.new_image["profile"] == {"name": "n0"}
    assert remove.new_image is None
    assert remove.old_image is not None
    assert remove.old_image["pk"] == "user#2"


def test_dynamodb_missing_optional_parts_are_none() -> None:
    record = DynamoDBStreamRecord({})
    assert record.dynamodb is None
    assert record.event_name is None
    assert record.aws_region is None
    assert record.event_id is None
    assert record.event_source is None
    assert record.event_source_arn is None
    assert record.event_version is None
    stream = StreamRecord({})
    assert stream.keys is None
    assert stream.approximate_creation_date_time is None
    assert stream.size_bytes is None
    assert stream.sequence_number is None
    assert stream.stream_view_type is None


def test_dynamodb_user_identity_of_a_ttl_expiry() -> None:
    raw = raw_records("dynamodb")[2]
    raw["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    record = DynamoDBStreamRecord(raw)
    assert record.user_identity == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_dynamodb_images_are_decoded_lazily() -> None:
    raw = raw_records("dynamodb")[1]
    raw["dynamodb"]["NewImage"]["weird"] = {"X": "1"}
    record = DynamoDBStreamRecord(raw)
    stream = record.dynamodb
    assert stream is not None
    assert stream.keys == {"pk": "user#1"}
    assert stream.old_image is not None
    with pytest.raises(ValueError, match="'X'"):
        _ = stream.new_image


def test_dynamodb_record_alias_and_repr() -> None:
    record = sample_dynamodb(1)
    assert DynamoDBRecord is DynamoDBStreamRecord
    text = repr(record)
    assert text == (
        "DynamoDBStreamRecord(event_id='c4ca4238a0b923820dcc509a6f758491', event_name='MODIFY')"
    )
    assert repr(record.dynamodb) == "StreamRecord(sequence_number='000000000000000000222')"
    assert "user#1" not in repr(record.dynamodb)


def test_stream_record_iterates_like_a_mapping_despite_keys_property() -> None:
    raw = raw_records("dynamodb")[0]["dynamodb"]
    stream = StreamRecord(raw)
    assert list(stream) == list(raw)
    assert stream["SizeBytes"] == 59
    assert stream.raw_event is raw


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"S": "text"}, "text"),
        ({"S": ""}, ""),
        ({"N": "10"}, Decimal("10")),
        ({"N": "-0.125"}, Decimal("-0.125")),
        ({"B": "AAH/"}, b"\x00\x01\xff"),
        ({"BOOL": True}, True),
        ({"BOOL": False}, False),
        ({"NULL": True}, None),
        ({"M": {}}, {}),
        ({"M": {"a": {"S": "x"}, "b": {"N": "1"}}}, {"a": "x", "b": Decimal("1")}),
        ({"L": []}, []),
        ({"L": [{"S": "x"}, {"N": "2"}, {"NULL": True}]}, ["x", Decimal("2"), None]),
        ({"SS": ["a", "b", "a"]}, {"a", "b"}),
        ({"NS": ["1", "2.5"]}, {Decimal("1"), Decimal("2.5")}),
        ({"BS": ["AA==", "AQ=="]}, {b"\x00", b"\x01"}),
    ],
)
def test_deserialize_each_type_tag(value: dict[str, Any], expected: Any) -> None:
    result = deserialize_dynamodb_value(value)
    assert result == expected
    assert type(result) is type(expected)


def test_deserialize_nested_maps_and_lists() -> None:
    value = {
        "M": {
            "order": {
                "M": {
                    "lines": {
                        "L": [
                            {"M": {"sku": {"S": "a-1"}, "qty": {"N": "2"}}},
                            {"L": [{"BOOL": False}, {"SS": ["x"]}, {"M": {}}]},
                        ]
                    },
                    "paid": {"NULL": True},
                }
            }
        }
    }
    assert deserialize_dynamodb_value(value) == {
        "order": {
            "lines": [
                {"sku": "a-1", "qty": Decimal("2")},
                [False, {"x"}, {}],
            ],
            "paid": None,
        }
    }


def test_deserialize_numbers_exactly() -> None:
    # More than 38 characters but only one significant digit: valid in DynamoDB.
    assert deserialize_dynamodb_value({"N": "1" + "0" * 40}) == Decimal("1E+40")
    assert deserialize_dynamodb_value({"N": "0.1"}) == Decimal("0.1")
    assert deserialize_dynamodb_value({"N": "1E-130"}) == Decimal("1E-130")


@pytest.mark.parametrize("tag", ["X", "s", "Map", ""])
def test_deserialize_unknown_tag_raises_naming_it(tag: str) -> None:
    with pytest.raises(ValueError, match=f"unknown DynamoDB type tag '{tag}'"):
        deserialize_dynamodb_value({tag: "1"})


def test_deserialize_unknown_tag_inside_a_list_raises() -> None:
    with pytest.raises(ValueError, match="'Z'"):
        deserialize_dynamodb_value({"L": [{"S": "ok"}, {"Z": "1"}]})


@pytest.mark.parametrize("value", [{}, {"S": "a", "N": "1"}])
def test_deserialize_needs_exactly_one_tag(value: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="exactly one type tag"):
        deserialize_dynamodb_value(value)


def _encode(value: Any) -> dict[str, Any]:
    """DynamoDB JSON as Lambda delivers it, for the round-trip property."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Decimal):
        return {"N": str(value)}
    if isinstance(value, bytes):
        return {"B": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return {"L": [_encode(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _encode(v) for k, v in value.items()}}
    raise AssertionError(value)


_scalars = (
    st.none()
    | st.booleans()
    | st.text()
    | st.binary()
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(_values)
def test_deserialize_round_trips(value: Any) -> None:
    assert deserialize_dynamodb_value(_encode(value)) == value


def test_nested_s3_and_sns_events_in_an_sqs_body() -> None:
    s3_notification = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "eu-west-1",
                "eventTime": "2026-11-27T08:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "uploads",
                    "bucket": {"name": "my-bucket", "arn": "arn:aws:s3:::my-bucket"},
                    "object": {"key": "reports/2026+11/a%26b.csv", "size": 42, "eTag": "e"},
                },
            }
        ]
    }
    record = SQSRecord(testing.sqs_record(s3_notification))
    event = record.decoded_nested_s3_event
    assert event.bucket_name == "my-bucket"
    assert event.object_key == "reports/2026 11/a&b.csv"  # URL-decoded, as Powertools does
    assert event.record.s3.get_object.key == "reports/2026+11/a%26b.csv"
    assert event.record.s3.get_object.size == 42
    assert [r.event_name for r in event.records] == ["ObjectCreated:Put"]
    assert event.record.s3.bucket.arn == "arn:aws:s3:::my-bucket"

    sns_notification = {
        "Type": "Notification",
        "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "TopicArn": "arn:aws:sns:eu-west-1:111122223333:orders",
        "Subject": None,
        "Message": '{"order": 7}',
        "Timestamp": "2026-11-27T08:00:00.000Z",
        "SignatureVersion": "1",
        "Signature": "sig",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/cert.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
        "MessageAttributes": {"kind": {"Type": "String", "Value": "order"}},
    }
    sns = SQSRecord(testing.sqs_record(sns_notification)).decoded_nested_sns_event
    assert sns.message == '{"order": 7}'
    assert sns.topic_arn == "arn:aws:sns:eu-west-1:111122223333:orders"
    assert sns.subject is None
    assert sns.get_type == "Notification"
    assert sns.message_attributes["kind"]["Value"] == "order"
    assert repr(sns) == "SNSMessage(message_id='95df01b4-ee98-5cb9-9903-4c221d41eb5e')"

"""Read-only record views, one module per event source.

Names and properties follow Powertools for AWS Lambda's data classes, so that a record
handler written for Powertools works unchanged. A view holds the record's dict without
copying or validating it; properties read from it on access.
"""

from ._base import _DictWrapper
from .dynamodb import (
    DynamoDBRecordEventName,
    DynamoDBStreamRecord,
    StreamRecord,
    StreamViewType,
    deserialize_dynamodb_value,
)
from .kafka import KafkaEventRecord, KafkaEventRecordSchemaMetadata, KafkaHeaders
from .kinesis import KinesisStreamRecord, KinesisStreamRecordPayload
from .nested import S3Event, S3EventRecord, SNSMessage
from .sqs import SQSMessageAttribute, SQSMessageAttributes, SQSRecord, SQSRecordAttributes

__all__ = [
    "DynamoDBRecordEventName",
    "DynamoDBStreamRecord",
    "KafkaEventRecord",
    "KafkaEventRecordSchemaMetadata",
    "KafkaHeaders",
    "KinesisStreamRecord",
    "KinesisStreamRecordPayload",
    "S3Event",
    "S3EventRecord",
    "SNSMessage",
    "SQSMessageAttribute",
    "SQSMessageAttributes",
    "SQSRecord",
    "SQSRecordAttributes",
    "StreamRecord",
    "StreamViewType",
    "_DictWrapper",
    "deserialize_dynamodb_value",
]

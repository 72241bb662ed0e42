"""SQS queue ARNs: the queue's URL and region in every partition, and behind an endpoint
override."""

from __future__ import annotations

import aioboto3
import pytest

from aiobatch._arn import parse_sqs_arn


@pytest.mark.parametrize(
    ("arn", "url"),
    [
        (
            "arn:aws:sqs:eu-west-1:111122223333:orders",
            "https://sqs.eu-west-1.amazonaws.com/111122223333/orders",
        ),
        (
            "arn:aws-cn:sqs:cn-north-1:111122223333:orders.fifo",
            "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/orders.fifo",
        ),
        (
            "arn:aws-us-gov:sqs:us-gov-west-1:111122223333:orders",
            "https://sqs.us-gov-west-1.amazonaws.com/111122223333/orders",
        ),
    ],
)
async def test_queue_url_and_region_for_each_partition(arn: str, url: str) -> None:
    """The client made for the ARN's region resolves the partition's endpoint."""
    queue = parse_sqs_arn(arn)
    assert queue is not None
    session = aioboto3.Session(aws_access_key_id="a", aws_secret_access_key="b")
    async with session.client("sqs", region_name=queue.region) as client:
        assert queue.url_on(client.meta.endpoint_url) == url


def test_endpoint_override_url() -> None:
    queue = parse_sqs_arn("arn:aws:sqs:eu-west-1:111122223333:orders")
    assert queue is not None
    assert queue.url_on("http://127.0.0.1:5000/") == "http://127.0.0.1:5000/111122223333/orders"

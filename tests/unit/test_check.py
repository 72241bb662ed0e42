"""``aiobatch check``'s rules, on mappings shaped as ListEventSourceMappings returns
them (the calls themselves: tests/integration/test_cli_check.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aiobatch._check import findings_for, source_kind

QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders"
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
GOOD_QUEUE = {
    "VisibilityTimeout": "180",
    "RedrivePolicy": json.dumps({"deadLetterTargetArn": QUEUE + "-dlq", "maxReceiveCount": 5}),
}


def _mapping(source: str, **settings: Any) -> dict[str, Any]:
    return {"UUID": "u-1", "EventSourceArn": source, "State": "Enabled", **settings}


def _texts(mapping: dict[str, Any], **kwargs: Any) -> list[tuple[str, str]]:
    kwargs.setdefault("mode", "partial")
    kwargs.setdefault("function_timeout", 30.0)
    kwargs.setdefault("queue_attributes", GOOD_QUEUE)
    return [(f.level, f.text) for f in findings_for(mapping, **kwargs)]


@pytest.mark.parametrize(
    ("mapping", "kind"),
    [
        (_mapping(QUEUE), "sqs"),
        (_mapping(STREAM), "kinesis"),
        (_mapping(TABLE), "dynamodb"),
        (_mapping("arn:aws:kafka:us-east-1:123456789012:cluster/c/abc"), "kafka"),
        ({"UUID": "u", "Topics": ["t"], "SelfManagedEventSource": {"Endpoints": {}}}, "kafka"),
        (_mapping("arn:aws:mq:us-east-1:123456789012:broker:b:id"), "other"),
    ],
)
def test_source_kind(mapping: dict[str, Any], kind: str) -> None:
    assert source_kind(mapping) == kind


def test_a_stream_without_partial_responses_loses_its_failures_past_the_checkpoint() -> None:
    (finding,) = _texts(_mapping(TABLE, MaximumRetryAttempts=3))
    assert finding[0] == "error"
    assert finding[1] == (
        "ReportBatchItemFailures is off: Lambda ignores the batchItemFailures aiobatch returns, "
        "so a batch that returns normally moves past the whole batch, failed records included. "
        "Add FunctionResponseTypes: [ReportBatchItemFailures] to the mapping"
    )


def test_an_on_failure_destination_bounds_endless_retries() -> None:
    destination = {"OnFailure": {"Destination": QUEUE}}
    mapping = _mapping(
        STREAM,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        MaximumRetryAttempts=-1,
        DestinationConfig=destination,
    )
    assert _texts(mapping) == []


def test_an_unreadable_queue_is_a_warning_that_names_why() -> None:
    mapping = _mapping(QUEUE, FunctionResponseTypes=["ReportBatchItemFailures"])
    (finding,) = _texts(mapping, queue_attributes=None, queue_error="AccessDenied")
    assert finding[0] == "warning"
    assert finding[1].startswith("could not read the queue's attributes (AccessDenied)")


@pytest.mark.parametrize("redrive", ["not json", json.dumps(["a"]), json.dumps({"x": 1})])
def test_a_redrive_policy_without_a_target_counts_as_none(redrive: str) -> None:
    mapping = _mapping(QUEUE, FunctionResponseTypes=["ReportBatchItemFailures"])
    attributes = {"VisibilityTimeout": "180", "RedrivePolicy": redrive}
    (finding,) = _texts(mapping, queue_attributes=attributes)
    assert finding[1].startswith("the queue has no RedrivePolicy")


def test_exactly_six_times_the_timeout_is_enough() -> None:
    mapping = _mapping(QUEUE, FunctionResponseTypes=["ReportBatchItemFailures"])
    assert _texts(mapping, function_timeout=30.0) == []
    (finding,) = _texts(mapping, function_timeout=30.5)
    assert (
        "VisibilityTimeout is 180 s, under 6 x the function's Timeout of 30.5 s (183 s)"
        in (finding[1])
    )


@pytest.mark.parametrize("mode", ["partial", "delete"])
def test_a_source_aiobatch_does_not_process_is_a_warning_only(mode: str) -> None:
    mapping = _mapping("arn:aws:mq:us-east-1:123456789012:broker:b:id")
    assert _texts(mapping, mode=mode) == [
        (
            "warning",
            "not a source aiobatch processes (SQS, Kinesis, DynamoDB Streams, Kafka): not checked",
        )
    ]

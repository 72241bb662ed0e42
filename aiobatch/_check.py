"""``aiobatch check``: read a function's event source mappings, and the queues behind
them, and say which settings aiobatch relies on are missing.

A function cannot see its own event source mapping, so this runs from outside it (a
deploy pipeline, a terminal), with ``lambda:ListEventSourceMappings``,
``lambda:GetFunctionConfiguration`` and ``sqs:GetQueueAttributes``.

:func:`findings_for` is the pure part (one mapping, what was read of its function and
queue); :func:`check_function` makes the calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._arn import parse_sqs_arn
from ._exceptions import error_code
from ._sqs.actions import redrive_target_arn

Mode = Literal["partial", "delete"]
Level = Literal["error", "warning"]

VISIBILITY_FACTOR = 6
"""AWS's advice: a queue's visibility timeout of at least six times the function's."""


@dataclass(frozen=True)
class Finding:
    """One missing or risky setting of one event source mapping."""

    level: Level
    mapping: str
    """The mapping's UUID."""
    source: str
    """The mapping's event source (an ARN, or the Kafka topics)."""
    text: str


@dataclass(frozen=True)
class MappingReport:
    """One event source mapping and what :func:`findings_for` found in it."""

    uuid: str
    kind: str
    """``sqs``, ``kinesis``, ``dynamodb``, ``kafka`` or ``other``."""
    source: str
    state: str
    findings: tuple[Finding, ...]


def source_kind(mapping: Mapping[str, Any]) -> str:
    arn = str(mapping.get("EventSourceArn") or "")
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    if service in {"sqs", "kinesis", "dynamodb", "kafka"}:
        return service
    if mapping.get("SelfManagedEventSource") or mapping.get("Topics"):
        return "kafka"
    return "other"


def source_name(mapping: Mapping[str, Any]) -> str:
    arn = mapping.get("EventSourceArn")
    if arn:
        return str(arn)
    topics = mapping.get("Topics") or []
    return "topics " + ", ".join(str(topic) for topic in topics) if topics else "(no source)"


def findings_for(
    mapping: Mapping[str, Any],
    *,
    mode: Mode,
    function_timeout: float | None,
    queue_attributes: Mapping[str, str] | None,
    queue_error: str | None = None,
) -> list[Finding]:
    """What is missing in ``mapping`` (one entry of ListEventSourceMappings) for a
    handler in ``mode``.

    ``function_timeout`` is the function's ``Timeout`` (``None``: not read);
    ``queue_attributes`` the SQS queue's attributes, ``queue_error`` why they could not
    be read.
    """
    kind = source_kind(mapping)
    uuid = str(mapping.get("UUID", "?"))
    source = source_name(mapping)
    found: list[Finding] = []

    def add(level: Level, text: str) -> None:
        found.append(Finding(level, uuid, source, text))

    if kind == "other":
        add(
            "warning",
            "not a source aiobatch processes (SQS, Kinesis, DynamoDB Streams, Kafka): not checked",
        )
        return found
    if mode == "delete":
        if kind != "sqs":
            add(
                "error",
                f"delete mode handles SQS only, and this mapping reads {kind}: use partial "
                "response mode (BatchProcessor and process_partial_response)",
            )
    elif "ReportBatchItemFailures" not in (mapping.get("FunctionResponseTypes") or []):
        if kind == "sqs":
            lost = "deletes the whole batch, failed records included"
            instead = " (or use delete mode)"
        else:
            lost = "moves past the whole batch, failed records included"
            instead = ""
        add(
            "error",
            "ReportBatchItemFailures is off: Lambda ignores the batchItemFailures aiobatch "
            f"returns, so a batch that returns normally {lost}. Add FunctionResponseTypes: "
            f"[ReportBatchItemFailures] to the mapping{instead}",
        )

    if kind == "sqs":
        if queue_attributes is None:
            reason = f" ({queue_error})" if queue_error else ""
            add(
                "warning",
                f"could not read the queue's attributes{reason}: its visibility timeout and "
                "redrive policy are not checked (this needs sqs:GetQueueAttributes)",
            )
        else:
            _check_queue(add, queue_attributes, function_timeout)
    elif kind in {"kinesis", "dynamodb", "kafka"}:
        if mapping.get("BisectBatchOnFunctionError"):
            add(
                "warning",
                "BisectBatchOnFunctionError is on: aiobatch's response already names the "
                "record to restart from, so bisecting only adds invocations; turn it off",
            )
        retries = mapping.get("MaximumRetryAttempts", -1)
        on_failure = (mapping.get("DestinationConfig") or {}).get("OnFailure") or {}
        if retries in (-1, None) and not on_failure.get("Destination"):
            add(
                "warning",
                "MaximumRetryAttempts is -1 (retry until the record expires) and there is no "
                "on-failure destination: a record that always fails holds back its shard or "
                "partition until it expires; set MaximumRetryAttempts and an OnFailure "
                "destination",
            )
    return found


def _check_queue(
    add: Callable[[Level, str], None], attributes: Mapping[str, str], function_timeout: float | None
) -> None:
    visibility = _number(attributes.get("VisibilityTimeout"))
    if visibility is not None and function_timeout is not None:
        wanted = VISIBILITY_FACTOR * function_timeout
        if visibility < wanted:
            add(
                "warning",
                f"the queue's VisibilityTimeout is {visibility:g} s, under {VISIBILITY_FACTOR} x "
                f"the function's Timeout of {function_timeout:g} s ({wanted:g} s), as AWS "
                "advises: a message can come back while its batch is still being processed "
                "or retried, and run twice",
            )
    if redrive_target_arn(attributes.get("RedrivePolicy")) is None:
        add(
            "warning",
            "the queue has no RedrivePolicy: a message that always fails is retried until "
            "its retention period ends, and non_retryable= needs dead_letter_queue=",
        )


def _number(value: object) -> float | None:
    try:
        return float(str(value))
    except (TypeError, ValueError):
        return None


async def check_function(
    function: str, *, mode: Mode, lambda_client: Any, sqs_client: Any
) -> list[MappingReport]:
    """Every event source mapping of ``function`` (a name or ARN), checked for ``mode``.

    Errors of the Lambda calls propagate (the function does not exist, access denied);
    a queue whose attributes cannot be read is a warning of its mapping.
    """
    # First, so that a function that does not exist is an error, not "no mappings".
    config = await lambda_client.get_function_configuration(FunctionName=function)
    timeouts: dict[str, float | None] = {function: _number(config.get("Timeout"))}
    mappings: list[dict[str, Any]] = []
    paginator = lambda_client.get_paginator("list_event_source_mappings")
    async for page in paginator.paginate(FunctionName=function):
        mappings.extend(page.get("EventSourceMappings") or [])
    # A mapping may invoke a version or an alias, whose Timeout can differ.
    for function_arn in {str(m.get("FunctionArn") or function) for m in mappings}:
        if function_arn not in timeouts:
            config = await lambda_client.get_function_configuration(FunctionName=function_arn)
            timeouts[function_arn] = _number(config.get("Timeout"))

    async def report(mapping: dict[str, Any]) -> MappingReport:
        attributes: dict[str, str] | None = None
        queue_error: str | None = None
        if source_kind(mapping) == "sqs":
            attributes, queue_error = await _queue_attributes(sqs_client, mapping)
        findings = findings_for(
            mapping,
            mode=mode,
            function_timeout=timeouts.get(str(mapping.get("FunctionArn") or function)),
            queue_attributes=attributes,
            queue_error=queue_error,
        )
        return MappingReport(
            uuid=str(mapping.get("UUID", "?")),
            kind=source_kind(mapping),
            source=source_name(mapping),
            state=str(mapping.get("State", "?")),
            findings=tuple(findings),
        )

    return list(await asyncio.gather(*(report(mapping) for mapping in mappings)))


async def _queue_attributes(
    sqs_client: Any, mapping: Mapping[str, Any]
) -> tuple[dict[str, str] | None, str | None]:
    queue = parse_sqs_arn(str(mapping.get("EventSourceArn")))
    if queue is None:
        return None, "not a well-formed SQS ARN"
    url = queue.url_on(sqs_client.meta.endpoint_url)
    try:
        response = await sqs_client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
        )
    except Exception as exc:
        return None, error_code(exc) or type(exc).__name__
    return dict(response.get("Attributes") or {}), None


def summary(reports: Sequence[MappingReport]) -> tuple[int, int]:
    """The number of errors and of warnings."""
    errors = sum(1 for r in reports for f in r.findings if f.level == "error")
    warnings = sum(1 for r in reports for f in r.findings if f.level == "warning")
    return errors, warnings

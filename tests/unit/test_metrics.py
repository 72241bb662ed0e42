"""metrics= (EMF, OpenTelemetry, any function) and log_summary=: one report per batch,
from its summary, never with record data."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from aiobatch import (
    Backoff,
    BatchProcessor,
    BatchSummary,
    EMFMetrics,
    EventType,
    OpenTelemetryMetrics,
    PartialSQSProcessor,
    SQSBatchProcessingError,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aiobatch.testing import FakeSQS
from tests import events
from tests.emf import check_emf

SECRET = "card 4111-1111-1111-1111"


def handler(record: Any) -> str:
    payload = events.payload(record)
    if payload["fail"]:
        raise ValueError(SECRET)  # record data in the text: must not reach any report
    return "ok"


def emf_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [check_emf(line) for line in stream.getvalue().splitlines()]


# -- EMF --


def test_one_emf_line_per_batch_valid_by_the_specification(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "orders")
    stream = io.StringIO()
    processor = BatchProcessor(EventType.SQS, metrics=EMFMetrics(stream=stream))
    process_partial_response(events.sqs_event(5, fail={1, 3}), handler, processor)
    process_partial_response(events.sqs_event(2), handler, processor)

    first, second = emf_lines(stream)
    [directive] = first["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "aiobatch"
    assert directive["Dimensions"] == [["FunctionName"]]
    assert first["FunctionName"] == "orders"
    assert (first["Records"], first["Succeeded"], first["Failed"]) == (5, 3, 2)
    assert (second["Records"], second["Succeeded"], second["Failed"]) == (2, 2, 0)
    assert first["FailedByType"] == {"ValueError": 2}
    assert first["EventType"] == "SQS"
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units["Records"] == "Count"
    assert units["BatchDuration"] == units["HandlerTimeP99"] == "Milliseconds"
    assert 0 <= first["HandlerTimeP50"] <= first["HandlerTimeP99"] <= first["HandlerTimeMax"]
    assert first["BatchDuration"] >= first["HandlerTimeMax"]
    assert SECRET not in stream.getvalue()


def test_namespace_and_dimensions_are_the_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    stream = io.StringIO()
    metrics = EMFMetrics(namespace="Shop/Orders", dimensions={"Service": "orders"}, stream=stream)
    processor = BatchProcessor(EventType.KinesisDataStreams, metrics=metrics)
    process_partial_response(events.event(EventType.KinesisDataStreams, 3), handler, processor)
    [line] = emf_lines(stream)
    [directive] = line["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"]) == ("Shop/Orders", [["Service"]])
    assert line["Service"] == "orders"
    assert line["EventType"] == "KinesisDataStreams"


def test_outside_lambda_the_default_has_no_dimension(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    stream = io.StringIO()
    processor = BatchProcessor(EventType.SQS, metrics=EMFMetrics(stream=stream))
    process_partial_response(events.sqs_event(1), handler, processor)
    [line] = emf_lines(stream)
    assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]


def test_metrics_emf_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    processor = BatchProcessor(EventType.SQS, metrics="emf")
    process_partial_response(events.sqs_event(2, fail={0}), handler, processor)
    [line] = capsys.readouterr().out.splitlines()
    assert check_emf(line)["Failed"] == 1


def test_delete_mode_and_the_retry_policy_counts_reach_the_metrics() -> None:
    stream = io.StringIO()
    sqs = FakeSQS(undeletable={"m-2"})
    processor = PartialSQSProcessor(
        sqs=sqs, retry=Backoff(jitter=False), metrics=EMFMetrics(stream=stream)
    )
    event = events.sqs_event(4, fail={0})
    with pytest.raises(SQSBatchProcessingError), processor(event["Records"], handler):
        processor.process()
    [line] = emf_lines(stream)
    assert (line["Deleted"], line["Undeleted"], line["BackoffSet"]) == (2, 1, 1)


def test_a_fifo_batch_counts_its_skipped_records() -> None:
    summaries: list[BatchSummary] = []
    processor = SqsFifoPartialProcessor(metrics=summaries.append)
    process_partial_response(events.fifo_event("aaba", fail={1}), handler, processor)
    [summary] = summaries
    assert (summary.succeeded, summary.failed, summary.skipped) == (1, 3, 2)
    assert dict(summary.failed_by_type) == {"ValueError": 1, "SQSFifoCircuitBreakerError": 2}
    assert summary.handler_time_p50 is not None  # the one that ran


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"namespace": ""}, ValueError, "namespace must be a string of 1 to 1024"),
        ({"dimensions": {"Service": ""}}, ValueError, "Service's value must be a string"),
        ({"dimensions": {"": "x"}}, ValueError, "dimension name"),
        ({"dimensions": {f"d{i}": "x" for i in range(31)}}, ValueError, "at most 30"),
        ({"dimensions": {"Records": "x"}}, ValueError, "metrics' own names"),
    ],
)
def test_emf_refuses_what_cloudwatch_would(options: dict[str, Any], error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        EMFMetrics(**options)


def test_bad_metrics_options_are_refused() -> None:
    with pytest.raises(ValueError, match="the built-in ones are 'emf' and 'otel'"):
        BatchProcessor(EventType.SQS, metrics="prometheus")
    with pytest.raises(TypeError, match="metrics must be"):
        BatchProcessor(EventType.SQS, metrics=42)
    with pytest.raises(TypeError, match="log_summary must be True or False"):
        BatchProcessor(EventType.SQS, log_summary="yes")  # type: ignore[arg-type]


def test_a_failing_metrics_hook_is_logged_and_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(summary: BatchSummary) -> None:
        raise RuntimeError("metrics backend down")

    processor = BatchProcessor(EventType.SQS, metrics=[broken, "emf"])
    with caplog.at_level(logging.ERROR, logger="aiobatch"):
        response = process_partial_response(events.sqs_event(2, fail={1}), handler, processor)
    assert len(response["batchItemFailures"]) == 1
    assert "the metrics hook raised RuntimeError" in caplog.text


# -- the summary's handler times --


async def test_handler_times_are_measured_for_async_handlers() -> None:
    summaries: list[BatchSummary] = []

    async def slow(record: Any) -> None:
        await asyncio.sleep(0.02 if events.payload(record)["n"] == 3 else 0)

    processor = BatchProcessor(EventType.SQS, on_batch_end=summaries.append)
    async with processor(events.sqs_event(4)["Records"], slow):
        await processor.aprocess()
    [summary] = summaries
    assert summary.handler_time_max is not None
    assert summary.handler_time_p50 is not None
    assert summary.handler_time_max >= 0.015
    assert summary.handler_time_p50 < 0.015


def test_without_a_reader_of_the_summary_nothing_is_measured() -> None:
    processor = BatchProcessor(EventType.SQS)
    process_partial_response(events.sqs_event(3), handler, processor)
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert summary.handler_time_p50 is None
    assert summary.succeeded == 3


# -- log_summary --


def test_log_summary_writes_one_info_line_without_data(caplog: pytest.LogCaptureFixture) -> None:
    processor = BatchProcessor(EventType.SQS, log_summary=True)
    with caplog.at_level(logging.INFO, logger="aiobatch"):
        process_partial_response(events.sqs_event(5, fail={2}), handler, processor)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    [line] = lines
    assert line.startswith("batch of 5 SQS records: 4 succeeded, 1 failed (ValueError: 1); ")
    assert "handler p50" in line
    assert SECRET not in caplog.text


def test_log_summary_is_off_by_default(caplog: pytest.LogCaptureFixture) -> None:
    processor = BatchProcessor(EventType.SQS)
    with caplog.at_level(logging.INFO, logger="aiobatch"):
        process_partial_response(events.sqs_event(2), handler, processor)
    assert [r for r in caplog.records if r.levelno == logging.INFO] == []


# -- OpenTelemetry --


def test_opentelemetry_counts_and_one_span_per_batch() -> None:
    reader = InMemoryMetricReader()
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    otel = OpenTelemetryMetrics(
        meter_provider=MeterProvider(metric_readers=[reader]), tracer_provider=tracer_provider
    )
    processor = SqsFifoPartialProcessor(metrics=otel)
    process_partial_response(events.fifo_event("abab", fail={1}), handler, processor)
    process_partial_response(events.fifo_event("ab"), handler, processor)

    data = reader.get_metrics_data()
    assert data is not None
    points: dict[tuple[str, str | None], Any] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    outcome = (point.attributes or {}).get("aiobatch.outcome")
                    points[(metric.name, None if outcome is None else str(outcome))] = point
    assert points[("aiobatch.records", "succeeded")].value == 3
    assert points[("aiobatch.records", "failed")].value == 1
    assert points[("aiobatch.records", "skipped")].value == 2
    assert points[("aiobatch.batches", None)].value == 2
    assert points[("aiobatch.batch.duration", None)].count == 2
    assert points[("aiobatch.records", "failed")].attributes["aiobatch.event_type"] == "SQS"

    first, second = spans.get_finished_spans()
    assert first.name == second.name == "aiobatch batch"
    assert first.attributes is not None
    assert (first.attributes["aiobatch.records"], first.attributes["aiobatch.failed"]) == (4, 3)
    assert first.start_time is not None
    assert first.end_time is not None
    assert first.start_time < first.end_time
    assert first.status.status_code is StatusCode.UNSET
    assert SECRET not in json.dumps(dict(first.attributes))


def test_metrics_otel_uses_the_global_providers() -> None:
    processor = BatchProcessor(EventType.SQS, metrics="otel")  # no-op providers: no error
    response = process_partial_response(events.sqs_event(2, fail={0}), handler, processor)
    assert len(response["batchItemFailures"]) == 1


def test_emf_refuses_names_on_more_than_one_line() -> None:
    with pytest.raises(ValueError, match="namespace must be one line"):
        EMFMetrics(namespace="Orders\nInjected")
    with pytest.raises(ValueError, match="dimension name must be one line"):
        EMFMetrics(dimensions={"Service\u2028": "orders"})


def test_metrics_takes_instances_not_classes() -> None:
    with pytest.raises(TypeError, match=r"EMFMetrics\(\), not the class"):
        BatchProcessor(EventType.SQS, metrics=EMFMetrics)
    with pytest.raises(TypeError, match="not the class"):
        BatchProcessor(EventType.SQS, metrics=["emf", OpenTelemetryMetrics])


def test_opentelemetry_outcomes_add_up_when_a_run_is_broken_off() -> None:
    reader = InMemoryMetricReader()
    otel = OpenTelemetryMetrics(meter_provider=MeterProvider(metric_readers=[reader]))
    processor = BatchProcessor(EventType.SQS, metrics=otel)

    def stops(record: Any) -> None:
        if events.payload(record)["n"] == 1:
            raise KeyboardInterrupt  # not an Exception: the run is broken off

    with pytest.raises(KeyboardInterrupt):
        process_partial_response(events.sqs_event(4), stops, processor)
    data = reader.get_metrics_data()
    assert data is not None
    counts = {
        str((point.attributes or {}).get("aiobatch.outcome")): getattr(point, "value", 0)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "aiobatch.records"
        for point in metric.data.data_points
    }
    assert sum(counts.values()) == 4
    assert counts["not_completed"] >= 1

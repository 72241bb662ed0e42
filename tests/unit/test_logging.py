"""What aiobatch logs and raises about failed records: never their data by default."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel, Json

from aiobatch import (
    BatchProcessingError,
    BatchProcessor,
    EventType,
    aprocess_partial_response,
    process_partial_response,
    testing,
)


class Person(BaseModel):
    age: int


SECRET = "SSN 078-05-1120"


@pytest.mark.parametrize("kind", ["plain", "pydantic in handler", "model="])
async def test_record_data_never_reaches_logs_or_error_texts(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    event = testing.sqs_event([f'{{"age": "{SECRET}"}}', f'{{"age": "{SECRET}"}}'])

    async def handler(record: Any) -> None:
        if kind == "plain":
            raise ValueError(f"cannot parse {record.body}")
        if kind == "pydantic in handler":
            Person.model_validate_json(record.body)

    model = None
    if kind == "model=":

        class Record(BaseModel):
            body: Json[Person]

        model = Record
    processor = BatchProcessor(EventType.SQS, model=model)
    with caplog.at_level(logging.DEBUG, logger="aiobatch"):
        caplog.set_level(logging.WARNING, logger="aiobatch")
        with pytest.raises(BatchProcessingError) as caught:
            await aprocess_partial_response(event, handler, processor)
    lines = [r.getMessage() for r in caplog.records]
    assert lines
    assert all(SECRET not in line for line in lines)
    assert SECRET not in str(caught.value)
    if kind != "plain":
        assert "int_parsing" in lines[0]  # where and what kind of error, no input


async def test_log_exception_text_shows_the_full_text(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(record: Any) -> None:
        raise ValueError("the whole story")

    processor = BatchProcessor(
        EventType.SQS, log_exception_text=True, raise_on_entire_batch_failure=False
    )
    with caplog.at_level(logging.WARNING, logger="aiobatch"):
        await aprocess_partial_response(testing.sqs_event(["a"]), handler, processor)
    assert "ValueError: the whole story" in caplog.records[0].getMessage()


async def test_keys_taken_from_the_record_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A pydantic location can hold a dict key that came from the record."""

    class Record(BaseModel):
        body: Json[dict[str, int]]

    event = testing.sqs_event([f'{{"{SECRET}": "not a number"}}'])
    processor = BatchProcessor(EventType.SQS, model=Record)
    with (
        caplog.at_level(logging.WARNING, logger="aiobatch"),
        pytest.raises(BatchProcessingError) as caught,
    ):
        await aprocess_partial_response(event, lambda record: None, processor)
    assert SECRET not in str(caught.value)
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    assert "int_parsing" in str(caught.value)


async def test_an_exception_that_cannot_be_printed_fails_only_its_record() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("cannot str")

    def handler(record: Any) -> None:
        if record.body == "bad":
            raise Unprintable

    for full_text in (False, True):
        processor = BatchProcessor(
            EventType.SQS, raise_on_entire_batch_failure=False, log_exception_text=full_text
        )
        event = testing.sqs_event(["ok", "bad", "ok"])
        response = await aprocess_partial_response(event, handler, processor)
        assert response == {
            "batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]
        }
        assert len(processor.success_messages) == 2


def failing_handler(record: Any) -> None:
    if record.body.startswith("bad"):
        raise KeyError(SECRET) if record.body == "bad-key" else ValueError(SECRET)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "aiobatch" and r.levelno == logging.WARNING
    ]


def test_first_failure_has_its_own_line_and_the_rest_one_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = testing.sqs_event(["ok", "bad", "ok", "bad-key", "bad"])
    ids = [r["messageId"] for r in event["Records"]]
    processor = BatchProcessor(EventType.SQS)
    with caplog.at_level(logging.WARNING, logger="aiobatch"):
        process_partial_response(event, failing_handler, processor)
    assert warnings_of(caplog) == [
        f"record {ids[1]} failed: ValueError",
        f"2 more records failed (1 of 1): KeyError: {ids[3]}; ValueError: {ids[4]}",
    ]
    assert all(r.exc_info is None for r in caplog.records)  # no traceback below DEBUG


def test_at_debug_every_failure_also_has_its_own_line_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = testing.sqs_event(["bad", "bad", "bad"])
    ids = [r["messageId"] for r in event["Records"]]
    processor = BatchProcessor(EventType.SQS, raise_on_entire_batch_failure=False)
    with caplog.at_level(logging.DEBUG, logger="aiobatch"):
        process_partial_response(event, failing_handler, processor)
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert [r.getMessage() for r in debug] == [f"record {i} failed: ValueError" for i in ids[1:]]
    assert all(r.exc_info is not None for r in debug)
    assert warnings_of(caplog) == [
        f"record {ids[0]} failed: ValueError",
        f"2 more records failed (1 of 1): ValueError: {ids[1]}, {ids[2]}",
    ]


def test_every_failure_is_named_at_warning_a_hundred_to_a_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    event = testing.sqs_event(["bad"] * 251 + ["ok"])
    ids = [r["messageId"] for r in event["Records"]]
    processor = BatchProcessor(EventType.SQS)
    with caplog.at_level(logging.WARNING, logger="aiobatch"):
        response = process_partial_response(event, failing_handler, processor)
    assert len(response["batchItemFailures"]) == 251
    first, *summaries = warnings_of(caplog)
    assert first == f"record {ids[0]} failed: ValueError"
    assert len(summaries) == 3
    named = []
    for part, line in enumerate(summaries, 1):
        head, names = line.split(": ValueError: ")
        assert head == f"250 more records failed ({part} of 3)"
        named += names.split(", ")
    assert named == ids[1:251]
    assert all(SECRET not in line for line in [first, *summaries])


def test_a_silenced_logger_gets_nothing(caplog: pytest.LogCaptureFixture) -> None:
    processor = BatchProcessor(EventType.SQS)
    event = testing.sqs_event(["bad", "bad", "ok"])
    with caplog.at_level(logging.ERROR, logger="aiobatch"):
        process_partial_response(event, failing_handler, processor)
    assert caplog.records == []
    batch = processor.batch
    assert batch is not None
    assert sorted(batch.failures) == [0, 1]

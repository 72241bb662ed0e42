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

"""retry= and non_retryable= through the public seam (FakeSQS): which records get which
call, and what the processor reports afterwards."""

from __future__ import annotations

import base64
import logging
import pickle
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from aiobatch import (
    Backoff,
    BatchProcessingError,
    BatchProcessor,
    EventType,
    PartialSQSProcessor,
    RecordValidationError,
    SQSBatchProcessingError,
    SqsFifoPartialProcessor,
    SQSRecord,
    process_partial_response,
)
from aiobatch.testing import FakeLambdaContext, FakeSQS, sqs_record
from tests import events

DLQ_ARN = "arn:aws:sqs:eu-west-1:111122223333:orders-dlq"
FIFO_DLQ_ARN = "arn:aws:sqs:eu-west-1:111122223333:orders-dlq.fifo"


class Poison(Exception):
    """A failure retrying cannot fix."""


def handler(record: SQSRecord) -> None:
    payload = record.json_body
    if payload["fail"] == "poison":
        raise Poison(f"order {payload['n']} cannot be read")
    if payload["fail"]:
        raise ValueError("try again")


def record(n: int, fail: Any = False, *, receives: int = 1, group: str | None = None) -> Any:
    return sqs_record(
        {"n": n, "fail": fail},
        message_id=f"m-{n}",
        receipt_handle=f"rh-{n}",
        queue_arn=events.FIFO_QUEUE_ARN if group else events.QUEUE_ARN,
        message_group_id=group,
        receive_count=receives,
    )


def failed_ids(response: Any) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


# -- Backoff --


def test_backoff_grows_with_the_receive_count_up_to_max() -> None:
    backoff = Backoff(base=10, factor=3, max=200, jitter=False)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5)] == [10, 30, 90, 200, 200]
    assert backoff.delay(0) == 10  # a missing count counts as the first receive
    assert Backoff(base=30, jitter=False).delay(10_000) == 43_200  # no overflow


def test_backoff_jitter_draws_between_half_and_all_of_the_delay() -> None:
    backoff = Backoff(base=100, factor=2, jitter=True)
    assert backoff.delay(2, rand=lambda: 0.0) == 100
    assert backoff.delay(2, rand=lambda: 0.999999) == 200
    drawn = {backoff.delay(1) for _ in range(200)}
    assert min(drawn) >= 50
    assert max(drawn) <= 100
    assert len(drawn) > 10


def test_backoff_is_at_least_a_second_and_a_value() -> None:
    assert Backoff(base=0.2, jitter=False).delay(1) == 1
    backoff = Backoff(base=5)
    assert backoff == Backoff(base=5.0)
    assert hash(backoff) == hash(Backoff(base=5.0))
    assert pickle.loads(pickle.dumps(backoff)) == backoff
    assert repr(backoff) == "Backoff(base=5, factor=2.0, max=43200.0, jitter=True)"
    with pytest.raises(AttributeError, match="immutable"):
        backoff.base = 1


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"base": 0}, ValueError, "base must be finite and positive"),
        ({"base": -1}, ValueError, "base"),
        ({"base": float("nan")}, ValueError, "base"),
        ({"factor": 0.5}, ValueError, "factor must be finite and at least 1"),
        ({"max": 43_201}, ValueError, "at most 43200"),
        ({"max": 0}, ValueError, "max"),
        ({"base": "10"}, TypeError, "base must be a number, got str"),
        ({"base": True}, TypeError, "base must be a number, got bool"),
        ({"jitter": 1}, TypeError, "jitter must be True or False"),
    ],
)
def test_backoff_refuses_bad_values(options: dict[str, Any], error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        Backoff(**options)


# -- options --


@pytest.mark.parametrize("event_type", [EventType.KinesisDataStreams, EventType.DynamoDBStreams])
def test_streams_refuse_the_sqs_options(event_type: EventType) -> None:
    with pytest.raises(ValueError, match="for SQS"):
        BatchProcessor(event_type, retry=Backoff())
    with pytest.raises(ValueError, match="for SQS"):
        BatchProcessor(event_type, non_retryable=(Poison,))


def test_bad_options_are_refused_when_the_processor_is_made() -> None:
    with pytest.raises(TypeError, match="retry must be a Backoff, got int"):
        BatchProcessor(EventType.SQS, retry=30)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exception types or a function"):
        BatchProcessor(EventType.SQS, non_retryable=("Poison",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exception types or a function"):
        BatchProcessor(EventType.SQS, non_retryable=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="give both"):
        BatchProcessor(EventType.SQS, dead_letter_queue=DLQ_ARN)
    with pytest.raises(ValueError, match="neither an SQS queue ARN nor a queue URL"):
        BatchProcessor(EventType.SQS, non_retryable=Poison, dead_letter_queue="orders-dlq")
    with pytest.raises(TypeError, match="not both"):
        BatchProcessor(EventType.SQS, retry=Backoff(), sqs=FakeSQS(), session=object())


def test_a_custom_sqs_without_the_calls_is_refused() -> None:
    class DeletesOnly:
        def startup_time(self) -> float:
            return 0.0

        async def delete_messages(self, messages: Any, *, deadline: Any = None) -> list[Any]:
            return []

        async def aclose(self) -> None:
            pass

    with pytest.raises(TypeError, match="has no change_visibility"):
        PartialSQSProcessor(sqs=DeletesOnly(), retry=Backoff())
    with pytest.raises(TypeError, match="send_messages, dead_letter_queue_arn"):
        PartialSQSProcessor(sqs=DeletesOnly(), non_retryable=Poison)
    PartialSQSProcessor(sqs=DeletesOnly())  # delete mode alone needs only deletes


def test_without_the_options_partial_mode_has_no_sqs() -> None:
    processor = BatchProcessor(EventType.SQS)
    assert processor.sqs is None
    assert processor.retry is None


# -- backoff after a batch --


def test_failed_records_back_off_by_their_receive_count() -> None:
    sqs = FakeSQS()
    processor = BatchProcessor(
        EventType.SQS, retry=Backoff(base=10, factor=2, jitter=False), sqs=sqs
    )
    event = {
        "Records": [
            record(0),
            record(1, True, receives=1),
            record(2, True, receives=3),
            record(3),
            record(4, True, receives=40),
        ]
    }
    response = process_partial_response(event, handler, processor)
    assert failed_ids(response) == ["m-1", "m-2", "m-4"]
    assert {k: v for k, v in sqs.visibility.items() if k != "m-4"} == {"m-1": 10, "m-2": 40}
    # At most 12 hours from the receive, which was up to a batching window (300 s) and
    # the batch's run before the change.
    assert 43_200 - 340 <= sqs.visibility["m-4"] <= 43_200 - 331
    summary = processor.batch.summary() if processor.batch else None
    assert summary is not None
    assert summary.backoff_set == 3


def test_a_refused_backoff_leaves_the_record_failed_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sqs = FakeSQS(unchangeable={"m-1"})
    processor = BatchProcessor(EventType.SQS, retry=Backoff(jitter=False), sqs=sqs)
    event = {"Records": [record(0, True), record(1, True)]}
    with caplog.at_level(logging.WARNING, logger="aiobatch"), pytest.raises(BatchProcessingError):
        process_partial_response(event, handler, processor)
    assert processor.response() == {
        "batchItemFailures": [{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]
    }
    assert sqs.visibility == {"m-0": 30}
    assert "backoff of 1 of 2 failed messages could not be set" in caplog.text
    assert "m-1 (ReceiptHandleIsInvalid)" in caplog.text
    assert processor.batch is not None
    assert processor.batch.summary().backoff_failed == 1


def test_no_call_when_nothing_failed() -> None:
    sqs = FakeSQS()
    processor = BatchProcessor(EventType.SQS, retry=Backoff(), non_retryable=Poison, sqs=sqs)
    assert process_partial_response({"Records": [record(0)]}, handler, processor) == {
        "batchItemFailures": []
    }
    assert sqs.visibility == {}
    assert sqs.sent == []
    assert sqs.retry_deadlines == []


def test_fifo_backs_off_the_rest_of_the_failed_group_only() -> None:
    sqs = FakeSQS()
    processor = SqsFifoPartialProcessor(
        skip_group_on_error=True, retry=Backoff(base=60, jitter=False), sqs=sqs
    )
    event = {
        "Records": [
            record(0, group="a"),
            record(1, True, receives=2, group="a"),
            record(2, group="b"),
            record(3, group="a"),
            record(4, group="b"),
            record(5, group="a"),
        ]
    }
    response = process_partial_response(event, handler, processor)
    assert failed_ids(response) == ["m-1", "m-3", "m-5"]
    # The failure's delay for the rest of its group: they come back with it, in order.
    assert sqs.visibility == {"m-1": 120, "m-3": 120, "m-5": 120}


def test_fifo_records_skipped_in_other_groups_get_no_backoff() -> None:
    sqs = FakeSQS()
    processor = SqsFifoPartialProcessor(
        retry=Backoff(base=60, jitter=False),
        sqs=sqs,
        max_concurrency=1,
        raise_on_entire_batch_failure=False,
    )
    event = {"Records": [record(0, True, group="a"), record(1, group="b"), record(2, group="a")]}
    response = process_partial_response(event, handler, processor)
    assert failed_ids(response) == ["m-0", "m-1", "m-2"]
    assert sqs.visibility == {"m-0": 60, "m-2": 60}


def test_records_cut_by_the_deadline_get_no_backoff() -> None:
    import asyncio

    sqs = FakeSQS()
    processor = BatchProcessor(
        EventType.SQS,
        retry=Backoff(jitter=False),
        sqs=sqs,
        deadline_margin=0.05,
        raise_on_entire_batch_failure=False,
    )

    async def slow_or_failing(record: SQSRecord) -> None:
        if record.json_body["fail"]:
            raise ValueError("try again")
        if record.json_body["n"] == 1:
            await asyncio.sleep(30)

    event = {"Records": [record(0, True), record(1)]}
    response = process_partial_response(event, slow_or_failing, processor, FakeLambdaContext(0.3))
    assert failed_ids(response) == ["m-0", "m-1"]
    assert sqs.visibility == {"m-0": 30}
    assert sqs.retry_deadlines
    assert all(d is not None for d in sqs.retry_deadlines)


# -- non-retryable failures --


def test_non_retryable_failures_go_to_the_dead_letter_queue_and_out_of_the_response() -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})
    processor = BatchProcessor(EventType.SQS, non_retryable=(Poison,), sqs=sqs)
    event = {"Records": [record(0), record(1, "poison"), record(2, True)]}
    event["Records"][1]["messageAttributes"] = {
        "tenant": {"stringValue": "acme", "dataType": "String", "binaryValue": None},
        "blob": {"binaryValue": base64.b64encode(b"\x00\x01").decode(), "dataType": "Binary"},
        "count": {"stringValue": "3", "dataType": "Number"},
    }
    event["Records"][1]["attributes"]["AWSTraceHeader"] = "Root=1-5759e988-bd862e3fe1be46a994272793"

    response = process_partial_response(event, handler, processor)

    assert failed_ids(response) == ["m-2"]
    [(queue_arn, message_id, fields)] = sqs.sent
    assert (queue_arn, message_id) == (DLQ_ARN, "m-1")
    assert fields["MessageBody"] == event["Records"][1]["body"]
    assert fields["MessageAttributes"] == {
        "tenant": {"DataType": "String", "StringValue": "acme"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "aiobatch.ErrorType": {"DataType": "String", "StringValue": "Poison"},
        "aiobatch.ErrorMessage": {"DataType": "String", "StringValue": "order 1 cannot be read"},
    }
    assert fields["MessageSystemAttributes"] == {
        "AWSTraceHeader": {
            "DataType": "String",
            "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793",
        }
    }
    assert "MessageGroupId" not in fields
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.failed, summary.sent_to_dlq) == (2, 1)


def test_a_batch_whose_failures_all_went_to_the_dead_letter_queue_does_not_raise() -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})
    processor = BatchProcessor(EventType.SQS, non_retryable=Poison, sqs=sqs)
    event = {"Records": [record(0, "poison"), record(1, "poison")]}
    assert process_partial_response(event, handler, processor) == {"batchItemFailures": []}
    assert [message_id for _, message_id, _ in sqs.sent] == ["m-0", "m-1"]


def test_a_failed_send_keeps_the_record_failed_and_backs_it_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN}, unsendable={"m-1"})
    processor = BatchProcessor(
        EventType.SQS,
        non_retryable=Poison,
        retry=Backoff(base=10, jitter=False),
        sqs=sqs,
    )
    event = {"Records": [record(0, "poison"), record(1, "poison"), record(2)]}
    with caplog.at_level(logging.WARNING, logger="aiobatch"):
        response = process_partial_response(event, handler, processor)
    assert failed_ids(response) == ["m-1"]
    assert [message_id for _, message_id, _ in sqs.sent] == ["m-0"]
    assert sqs.visibility == {"m-1": 10}
    assert "1 of 2 messages could not be sent to the dead-letter queue" in caplog.text
    assert processor.batch is not None
    summary = processor.batch.summary()
    assert (summary.sent_to_dlq, summary.dlq_failed, summary.backoff_set) == (1, 1, 1)


def test_a_queue_without_a_dead_letter_queue_retries_as_usual(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sqs = FakeSQS()
    processor = BatchProcessor(EventType.SQS, non_retryable=Poison, sqs=sqs)
    event = {"Records": [record(0, "poison"), record(1)]}
    with caplog.at_level(logging.WARNING, logger="aiobatch"):
        response = process_partial_response(event, handler, processor)
    assert failed_ids(response) == ["m-0"]
    assert sqs.sent == []
    assert "has no dead-letter queue (no RedrivePolicy)" in caplog.text


def test_the_dead_letter_queue_given_is_used_as_is() -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: "arn:aws:sqs:eu-west-1:1:ignored"})
    url = "https://sqs.eu-west-1.amazonaws.com/111122223333/elsewhere"
    processor = BatchProcessor(EventType.SQS, non_retryable=Poison, dead_letter_queue=url, sqs=sqs)
    process_partial_response({"Records": [record(0, "poison")]}, handler, processor)
    assert [queue for queue, _, _ in sqs.sent] == ["arn:aws:sqs:eu-west-1:111122223333:elsewhere"]


def test_a_predicate_decides_and_its_errors_mean_retry(caplog: pytest.LogCaptureFixture) -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})

    def non_retryable(exc: BaseException) -> bool:
        if "again" in str(exc):
            raise RuntimeError("predicate bug")
        return isinstance(exc, Poison)

    processor = BatchProcessor(EventType.SQS, non_retryable=non_retryable, sqs=sqs)
    event = {"Records": [record(0, "poison"), record(1, True)]}
    with caplog.at_level(logging.ERROR, logger="aiobatch"):
        response = process_partial_response(event, handler, processor)
    assert failed_ids(response) == ["m-1"]
    assert "non_retryable predicate raised RuntimeError" in caplog.text


def test_a_pydantic_validation_error_matches_the_models_failures() -> None:
    class Order(BaseModel):
        body: int  # an SQS body is text: every record fails validation

    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})
    processor = BatchProcessor(
        EventType.SQS, model=Order, non_retryable=(ValidationError,), sqs=sqs
    )
    assert process_partial_response({"Records": [record(0)]}, handler, processor) == {
        "batchItemFailures": []
    }
    [(_, _, fields)] = sqs.sent
    assert fields["MessageAttributes"]["aiobatch.ErrorType"]["StringValue"] == (
        RecordValidationError.__name__
    )


def test_skipped_records_never_go_to_the_dead_letter_queue() -> None:
    sqs = FakeSQS(dead_letter_queues={events.FIFO_QUEUE_ARN: FIFO_DLQ_ARN})
    processor = SqsFifoPartialProcessor(non_retryable=lambda exc: True, sqs=sqs)
    event = {"Records": [record(0, "poison", group="a"), record(1, group="a")]}
    response = process_partial_response(event, handler, processor)
    assert failed_ids(response) == ["m-1"]  # not run: retried, never dead-lettered
    [(queue, message_id, fields)] = sqs.sent
    assert (queue, message_id) == (FIFO_DLQ_ARN, "m-0")
    assert fields["MessageGroupId"] == "a"
    assert fields["MessageDeduplicationId"] == "m-0"


def test_the_reason_gives_way_to_the_messages_own_attributes() -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})
    processor = BatchProcessor(EventType.SQS, non_retryable=Poison, sqs=sqs)
    poison = record(0, "poison")
    poison["messageAttributes"] = {
        f"a{i}": {"stringValue": str(i), "dataType": "String"} for i in range(9)
    }
    process_partial_response({"Records": [poison]}, handler, processor)
    [(_, _, fields)] = sqs.sent
    assert len(fields["MessageAttributes"]) == 10  # SQS's limit
    assert "aiobatch.ErrorType" in fields["MessageAttributes"]
    assert "aiobatch.ErrorMessage" not in fields["MessageAttributes"]


# -- delete mode --


def test_delete_mode_deletes_dead_lettered_records_with_the_successes() -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})
    processor = PartialSQSProcessor(
        sqs=sqs, non_retryable=Poison, retry=Backoff(base=10, jitter=False)
    )
    event = {"Records": [record(0), record(1, "poison"), record(2, True)]}
    with (
        pytest.raises(SQSBatchProcessingError, match="1 failed non-retryably") as caught,
        processor(event["Records"], handler),
    ):
        processor.process()
    assert [f.index for f in caught.value.failed_records] == [1, 2]
    assert sorted(m.message_id for m in sqs.deleted) == ["m-0", "m-1"]
    assert sqs.visibility == {"m-2": 10}


def test_delete_mode_returns_normally_when_every_failure_is_dead_lettered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})
    processor = PartialSQSProcessor(sqs=sqs, non_retryable=Poison)
    event = {"Records": [record(0), record(1, "poison")]}
    with caplog.at_level(logging.WARNING, logger="aiobatch"), processor(event["Records"], handler):
        processor.process()
    assert sorted(m.message_id for m in sqs.deleted) == ["m-0", "m-1"]
    assert "every failed record is in the dead-letter queue" in caplog.text


def test_delete_mode_keeps_a_record_whose_send_failed() -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN}, unsendable={"m-1"})
    processor = PartialSQSProcessor(sqs=sqs, non_retryable=Poison)
    event = {"Records": [record(0), record(1, "poison")]}
    with pytest.raises(SQSBatchProcessingError), processor(event["Records"], handler):
        processor.process()
    assert [m.message_id for m in sqs.deleted] == ["m-0"]


# -- what the review found --


def test_a_copy_shares_the_sqs_layer_and_a_pickle_keeps_the_policy() -> None:
    import copy

    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})
    processor = BatchProcessor(
        EventType.SQS, retry=Backoff(jitter=False), non_retryable=(Poison,), sqs=sqs
    )
    event = {"Records": [record(0, True), record(1, "poison")]}
    process_partial_response(event, handler, processor)  # used: a lock, a loop's clients

    twin = copy.deepcopy(processor)
    assert twin.sqs is sqs
    sqs.visibility.clear()
    assert failed_ids(process_partial_response(event, handler, twin)) == ["m-0"]
    assert sqs.visibility == {"m-0": 30}  # the twin's calls reach the shared FakeSQS

    # A closure would not pickle; real clients do not either (as in delete mode).
    pickled = BatchProcessor(EventType.SQS, non_retryable=(Poison,), sqs=FakeSQS())
    again = pickle.loads(pickle.dumps(pickled))
    assert again.retry is None
    assert isinstance(again.sqs, FakeSQS)


def test_records_the_policy_needs_are_checked_before_any_handler_runs() -> None:
    from aiobatch import InvalidEventError

    ran: list[str] = []

    def handler_that_records(record: SQSRecord) -> None:
        ran.append(record.message_id)

    for processor in (
        BatchProcessor(EventType.SQS, retry=Backoff(), sqs=FakeSQS()),
        PartialSQSProcessor(sqs=FakeSQS()),
    ):
        broken = record(1)
        del broken["receiptHandle"]
        with pytest.raises(InvalidEventError, match="receiptHandle"):
            process_or_delete(processor, [record(0), broken], handler_that_records)
    no_body = record(1)
    del no_body["body"]
    processor = BatchProcessor(EventType.SQS, non_retryable=Poison, sqs=FakeSQS())
    with pytest.raises(InvalidEventError, match="body"):
        process_or_delete(processor, [record(0), no_body], handler_that_records)
    assert ran == []
    # Without the policy a partial response needs neither.
    plain = BatchProcessor(EventType.SQS)
    process_or_delete(plain, [record(0), no_body], handler_that_records)
    assert ran == ["m-0", "m-1"]


def process_or_delete(processor: Any, records: list[Any], record_handler: Any) -> None:
    if isinstance(processor, PartialSQSProcessor):
        with processor(records, record_handler):
            processor.process()
    else:
        process_partial_response({"Records": records}, record_handler, processor)


def test_one_half_of_the_policy_failing_leaves_the_other_done(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class VisibilityBroken(FakeSQS):
        async def change_visibility(self, changes: Any, *, deadline: Any = None) -> list[Any]:
            raise RuntimeError("a defect")

    sqs = VisibilityBroken(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})
    processor = BatchProcessor(EventType.SQS, retry=Backoff(), non_retryable=Poison, sqs=sqs)
    event = {"Records": [record(0, True), record(1, "poison")]}
    with caplog.at_level(logging.ERROR, logger="aiobatch"):
        response = process_partial_response(event, handler, processor)
    assert failed_ids(response) == ["m-0"]  # m-1 is in the DLQ: handled
    assert [message_id for _, message_id, _ in sqs.sent] == ["m-1"]
    assert "the retry policy's backoffs failed (RuntimeError)" in caplog.text
    assert processor.batch is not None
    assert processor.batch.summary().sent_to_dlq == 1


def test_a_message_delivered_twice_goes_to_the_dlq_once_and_only_if_no_copy_retries() -> None:
    sqs = FakeSQS(dead_letter_queues={events.QUEUE_ARN: DLQ_ARN})
    processor = BatchProcessor(EventType.SQS, non_retryable=Poison, sqs=sqs)
    poison, retried = record(1, "poison"), record(1, True)
    retried["receiptHandle"] = "rh-1-again"
    response = process_partial_response(
        {"Records": [record(0), poison, retried]}, handler, processor
    )
    assert set(failed_ids(response)) == {"m-1"}  # both copies, by their one message id
    assert sqs.sent == []  # the other copy is to be retried: not dead-lettered as well

    twin = record(1, "poison")
    twin["receiptHandle"] = "rh-1-again"
    response = process_partial_response({"Records": [record(0), poison, twin]}, handler, processor)
    assert failed_ids(response) == []
    assert [message_id for _, message_id, _ in sqs.sent] == ["m-1"]  # one copy sent
    assert processor.batch is not None
    assert processor.batch.summary().sent_to_dlq == 2  # both copies handled


def test_the_redrive_lookup_ends_at_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    import asyncio
    import time

    class SlowLookup(FakeSQS):
        async def dead_letter_queue_arn(self, queue_arn: str) -> str | None:
            await asyncio.sleep(30)
            return DLQ_ARN

    processor = BatchProcessor(
        EventType.SQS, non_retryable=Poison, sqs=SlowLookup(), deadline_margin=0.2
    )
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="aiobatch"):
        response = process_partial_response(
            {"Records": [record(0, "poison"), record(1)]},
            handler,
            processor,
            FakeLambdaContext(1.0),
        )
    assert time.monotonic() - began < 1.0
    assert failed_ids(response) == ["m-0"]
    assert "The function's deadline came first" in caplog.text
    assert processor.batch is not None
    assert processor.batch.summary().dlq_failed == 1


def test_batch_processor_closes_its_clients_from_sync_code() -> None:
    sqs = FakeSQS()
    processor = BatchProcessor(EventType.SQS, retry=Backoff(), sqs=sqs)
    processor.close()
    assert sqs.closed == 1
    BatchProcessor(EventType.SQS).close()  # nothing to close


def test_without_the_options_no_aws_sdk_is_imported() -> None:
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = textwrap.dedent(
        """
        import sys
        from aiobatch import BatchProcessor, EventType, process_partial_response
        from aiobatch.testing import sqs_event

        def handler(record):
            if record.body == "b":
                raise ValueError("fails")

        event = sqs_event(["a", "b"])
        response = process_partial_response(event, handler, BatchProcessor(EventType.SQS))
        failed = event["Records"][1]["messageId"]
        assert response == {"batchItemFailures": [{"itemIdentifier": failed}]}, response
        loaded = sorted(
            name for name in ("aioboto3", "aiobotocore", "botocore", "boto3")
            if name in sys.modules
        )
        print(loaded)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

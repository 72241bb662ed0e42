"""Validating events and records before any handler runs.

Every check here raises :class:`InvalidEventError` naming the record's index and the
field, so that a malformed event fails whole and early: nothing is processed, nothing
is deleted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ._exceptions import InvalidEventError
from ._records import SQSRecord

_SQS_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sqs:(?P<region>[a-z]{2}(?:-[a-z0-9]+)+-\d+):"
    r"(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,75}(?:\.fifo)?|[A-Za-z0-9_-]{1,80})"
)


@dataclass(frozen=True, slots=True)
class QueueRef:
    """A queue named by an ``eventSourceARN``."""

    arn: str
    partition: str
    region: str
    account: str
    name: str


@lru_cache(maxsize=256)
def parse_sqs_arn(arn: str) -> QueueRef | None:
    """The queue an SQS ARN names, or ``None`` when it is not a well-formed SQS ARN."""
    match = _SQS_ARN.fullmatch(arn)
    if match is None:
        return None
    return QueueRef(arn, match["partition"], match["region"], match["account"], match["name"])


def records_of(event: Any) -> list[Any]:
    """The ``Records`` list of a Lambda event."""
    if not isinstance(event, dict):
        raise InvalidEventError(
            f"the event must be a dict with a 'Records' list, got {type(event).__name__}",
            field="Records",
        )
    try:
        records = event["Records"]
    except KeyError:
        raise InvalidEventError("the event has no 'Records' key", field="Records") from None
    return check_records_list(records)


def check_records_list(records: Any) -> list[Any]:
    if not isinstance(records, list):
        raise InvalidEventError(
            f"'Records' must be a list, got {type(records).__name__}", field="Records"
        )
    return records


def _bad(index: int, field: str, problem: str) -> InvalidEventError:
    return InvalidEventError(f"record {index}: {problem}", index=index, field=field)


def require_str(record: dict[str, Any], index: int, field: str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value:
        problem = "is missing" if value is None else "must be a non-empty string"
        raise _bad(index, field, f"'{field}' {problem}")
    return value


def require_dict(record: Any, index: int) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise _bad(index, "Records", f"must be a dict, got {type(record).__name__}")
    return record


def require_source(record: dict[str, Any], index: int, expected: str, field: str) -> None:
    source = record.get(field)
    if source != expected:
        raise _bad(index, field, f"'{field}' is {source!r}, this processor takes {expected!r}")


def sqs_records(records: Any) -> list[SQSRecord]:
    """Validate the SQS records of delete mode and wrap them.

    Each needs a ``messageId``, a receipt handle and a well-formed queue ARN.
    """
    records = check_records_list(records)
    known_arns: set[str] = set()
    for record in records:
        # The common case in one cheap test; any doubt goes to the detailed check.
        try:
            message_id, receipt, arn = (
                record["messageId"],
                record["receiptHandle"],
                record["eventSourceARN"],
            )
            ok = (
                type(record) is dict
                and record["eventSource"] == "aws:sqs"
                and type(message_id) is str
                and message_id != ""
                and type(receipt) is str
                and receipt != ""
                and (arn in known_arns or (type(arn) is str and parse_sqs_arn(arn) is not None))
            )
        except (KeyError, TypeError, IndexError):
            ok = False
        if not ok:
            _reject_sqs(records)
        known_arns.add(arn)
    return list(map(SQSRecord, records))


def _reject_sqs(records: list[Any]) -> None:
    """Raise InvalidEventError for the first record that is not well formed."""
    for index, raw in enumerate(records):
        record = require_dict(raw, index)
        require_source(record, index, "aws:sqs", "eventSource")
        require_str(record, index, "messageId")
        require_str(record, index, "receiptHandle")
        arn = require_str(record, index, "eventSourceARN")
        if parse_sqs_arn(arn) is None:
            raise _bad(
                index,
                "eventSourceARN",
                f"'eventSourceARN' {arn!r} is not an SQS queue ARN "
                "(arn:<partition>:sqs:<region>:<account>:<queue name>)",
            )
    raise AssertionError("a record failed the quick check but passed the detailed one")

"""Lambda SQS handlers for the ``aiobatch run`` subprocesses of ``test_cli.py``.

Each handler appends JSON lines to the file named by ``AIOBATCH_TEST_LOG`` (when set),
each line flushed at once so that a test can watch a worker that is still running:

- ``{"kind": "invoked", "pid", "ids"}`` when an invocation starts;
- ``{"kind": "processed", "pid", "message_id", "body", "receive_count"}`` for each
  record the handler got through (after its sleep, if any).

``AIOBATCH_TEST_SLEEP`` (seconds) makes ``handler`` and ``async_handler`` sleep between
the two; ``AIOBATCH_TEST_RAISE`` names the ``BaseException`` that ``base_exception`` and
``async_base_exception`` raise.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

LOG = "AIOBATCH_TEST_LOG"
SLEEP = "AIOBATCH_TEST_SLEEP"
RAISE = "AIOBATCH_TEST_RAISE"

BASE_EXCEPTIONS: dict[str, type[BaseException]] = {
    "SystemExit": SystemExit,
    "KeyboardInterrupt": KeyboardInterrupt,
    "CancelledError": asyncio.CancelledError,
}


def _log(line: dict[str, Any]) -> None:
    path = os.environ.get(LOG)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps({"pid": os.getpid(), **line}) + "\n")
        file.flush()


def _invoked(event: dict[str, Any]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = event["Records"]
    _log({"kind": "invoked", "ids": [record["messageId"] for record in records]})
    return records


def _processed(record: dict[str, Any]) -> None:
    _log(
        {
            "kind": "processed",
            "message_id": record["messageId"],
            "body": record["body"],
            "receive_count": int(record["attributes"]["ApproximateReceiveCount"]),
        }
    )


def _sleep_seconds() -> float:
    return float(os.environ.get(SLEEP) or 0)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Logs the invocation, sleeps ``AIOBATCH_TEST_SLEEP`` seconds, logs every record."""
    records = _invoked(event)
    time.sleep(_sleep_seconds())
    for record in records:
        _processed(record)
    return {"batchItemFailures": []}


async def async_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """:func:`handler`, as an ``async def``."""
    records = _invoked(event)
    await asyncio.sleep(_sleep_seconds())
    for record in records:
        _processed(record)
    return {"batchItemFailures": []}


def fail_odd_once(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports the records whose body ``{"n": N}`` has an odd N as failed on their first
    receive; every other record (and any redelivery) is processed."""
    failures = []
    for record in _invoked(event):
        first = record["attributes"]["ApproximateReceiveCount"] == "1"
        if first and json.loads(record["body"])["n"] % 2:
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            _processed(record)
    return {"batchItemFailures": failures}


def raise_with_body(event: dict[str, Any], context: Any) -> Any:
    """Raises an exception whose text holds the first record's body."""
    records = _invoked(event)
    raise ValueError(f"cannot handle the record {records[0]['body']}")


async def async_raise_with_body(event: dict[str, Any], context: Any) -> Any:
    """:func:`raise_with_body`, as an ``async def``."""
    records = _invoked(event)
    await asyncio.sleep(0)
    raise ValueError(f"cannot handle the record {records[0]['body']}")


def _base_exception(records: list[dict[str, Any]]) -> BaseException:
    kind = BASE_EXCEPTIONS[os.environ[RAISE]]
    return kind(f"cannot handle the record {records[0]['body']}")


def base_exception(event: dict[str, Any], context: Any) -> Any:
    """Raises the ``BaseException`` named by ``AIOBATCH_TEST_RAISE`` (not an
    ``Exception``), its text holding the first record's body."""
    raise _base_exception(_invoked(event))


async def async_base_exception(event: dict[str, Any], context: Any) -> Any:
    """:func:`base_exception`, as an ``async def``."""
    records = _invoked(event)
    await asyncio.sleep(0)
    raise _base_exception(records)

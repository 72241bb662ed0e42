"""The Lambda handler the scale-out test's worker processes run.

Each record fails on a receive when a hash of its message id and receive count says
so (about one in ``FLEET_FAIL_ONE_IN``), and always when its body is poison; every
success is logged, one JSON line with the message id, to ``$FLEET_LOG.<pid>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import IO, Any

from aiobatch import BatchProcessor, EventType, SQSRecord, process_partial_response

processor = BatchProcessor(EventType.SQS)
_log: IO[str] | None = None
_work = float(os.environ.get("FLEET_WORK_SECONDS", "0"))


def fails(message_id: str, receive_count: int | str, one_in: int) -> bool:
    """Whether the record fails on this receive (a transient failure)."""
    key = f"{message_id}/{receive_count}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % one_in == 0


def record_handler(record: SQSRecord) -> None:
    global _log
    if json.loads(record.body).get("poison"):
        raise ValueError("poison")
    one_in = int(os.environ.get("FLEET_FAIL_ONE_IN", "20"))
    if fails(record.message_id, record.attributes.approximate_receive_count, one_in):
        raise ConnectionError("transient")
    if _log is None:
        _log = open(f"{os.environ['FLEET_LOG']}.{os.getpid()}", "a", encoding="utf-8")  # noqa: SIM115
    _log.write(json.dumps({"id": record.message_id}) + "\n")
    _log.flush()


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    if _work:
        time.sleep(_work)
    return process_partial_response(event, record_handler, processor, context)

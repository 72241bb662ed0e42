"""A cold process (aioboto3 not yet imported) with a short Lambda context, default margin.

Run in a subprocess so that nothing else has imported aioboto3 or made a client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.events import bodies
from tests.moto import Queue

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys

    from aiobatch import PartialSQSProcessor, SQSBatchProcessingError, batch_processor
    from aiobatch.testing import FakeLambdaContext

    assert "aioboto3" not in sys.modules

    async def record_handler(record):
        if json.loads(record["body"])["fail"]:
            await asyncio.Event().wait()  # overruns: only the deadline ends it

    @batch_processor(record_handler=record_handler, processor=PartialSQSProcessor())
    def lambda_handler(event, context):
        return "unreachable"

    context = FakeLambdaContext(1.0)
    try:
        lambda_handler(json.load(sys.stdin), context)
    except SQSBatchProcessingError as error:
        print(json.dumps({
            "left_ms": context.get_remaining_time_in_millis(),
            "failed": [f.index for f in error.failed_records],
            "undeleted": [u.code for u in error.undeleted_messages],
        }))
    """
)


def test_cold_delete_mode_returns_before_a_one_second_timeout(queue: Queue) -> None:
    queue.send(bodies(5, fail={4}))
    event = queue.receive_event(5)
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_") or k == "PATH"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["failed"] == [4]
    assert outcome["undeleted"] == []
    assert outcome["left_ms"] > 0
    assert queue.remaining_bodies(event) == [bodies(5, fail={4})[4]]

"""The container recipe in examples/container: its handler runs under ``aiobatch run``
as it would in Lambda, and its IAM policy allows every SQS action the worker calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aioboto3
from aiobotocore.session import AioSession

from aiobatch._worker import SilentReporter, Worker, WorkerOptions
from aiobatch.testing import LocalSQS

RECIPE = Path(__file__).resolve().parents[2] / "examples" / "container"

# The IAM action each SQS operation needs (a *Batch call needs its single action's).
IAM_ACTION = {
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
}


def test_the_recipes_handler_runs_under_the_worker(local_sqs: LocalSQS) -> None:
    queue = local_sqs.create_queue(
        visibility_timeout=1, dead_letter_queue=True, max_receive_count=2
    )
    queue.send([{"id": 1, "quantity": 2}, {"id": 2, "quantity": 0}, {"id": 3}])
    env = {**os.environ, **local_sqs.env()}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiobatch",
            "run",
            "app:lambda_handler",
            "--queue-url",
            queue.url,
            "--wait-time",
            "1",
            "--timeout",
            "1",
            "--until-empty",
            "--json",
        ],
        cwd=RECIPE,
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stderr.splitlines()[-1])
    assert summary["event"] == "summary"
    # The bad order fails on each of its two receives, then SQS dead-letters it.
    assert (summary["received"], summary["deleted"], summary["failed"]) == (4, 2, 2)
    assert queue.dead_letter is not None
    assert [json.loads(body)["id"] for body in queue.dead_letter.drain_bodies()] == [2]


async def test_the_iam_policy_allows_every_action_the_worker_calls(local_sqs: LocalSQS) -> None:
    policy = json.loads((RECIPE / "iam-policy.json").read_text())
    allowed = {action for statement in policy["Statement"] for action in statement["Action"]}
    called: set[str] = set()

    def record(model: Any, **kwargs: Any) -> None:
        called.add(model.name)

    botocore_session = AioSession()
    botocore_session.register("before-parameter-build.sqs", record)
    session = aioboto3.Session(
        botocore_session=botocore_session,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=local_sqs.region,
    )
    queue = local_sqs.create_queue(visibility_timeout=2)
    queue.send(["a", "b", "c"])

    class StopAfterOne(SilentReporter):
        def invoked(self, invocation: Any, stats: Any) -> None:
            worker.stop()

    async def handler(event: dict[str, Any], context: Any) -> None:
        return None

    # A batching window keeps a message held when the stop comes, so the release
    # (ChangeMessageVisibilityBatch) is called too; --heartbeat calls it as well.
    worker = Worker(
        handler,
        WorkerOptions(
            queue_url=queue.url,
            endpoint_url=local_sqs.endpoint_url,
            batch_size=1,
            wait_time=1,
            heartbeat=True,
            timeout=3,
        ),
        session=session,
        reporter=StopAfterOne(),
    )
    await worker.run()
    assert called >= {"GetQueueAttributes", "ReceiveMessage", "DeleteMessageBatch"}
    assert called <= set(IAM_ACTION), f"an SQS call the recipe does not map: {called}"
    assert {IAM_ACTION[name] for name in called} <= allowed
    assert set(IAM_ACTION.values()) <= allowed, "the heartbeat and the release need theirs"

"""Scale out: several ``aiobatch run`` processes share one queue as competing consumers.

Thousands of messages with random transient failures and a few poison ones: every
message ends processed successfully or in the dead-letter queue, none is lost, and
duplicates (a success processed again) stay rare. Throughput per process count is
measured by ``python -m benchmarks.fleet``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from aiobatch.testing import LocalSQS
from tests.integration.fleet_handler import fails

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 3000
POISON = 15
WORKERS = 3
FAIL_ONE_IN = 25


def test_three_workers_share_a_queue_and_nothing_is_lost(
    local_sqs: LocalSQS, tmp_path: Path
) -> None:
    queue = local_sqs.create_queue(
        dead_letter_queue=True, max_receive_count=3, visibility_timeout=2
    )
    assert queue.dead_letter is not None
    bodies = [{"n": n, "poison": n % (MESSAGES // POISON) == 7} for n in range(MESSAGES)]
    ids = queue.send(bodies)
    poison_ids = {ids[n] for n, body in enumerate(bodies) if body["poison"]}
    assert len(poison_ids) == POISON
    log = tmp_path / "fleet"
    env = {
        **os.environ,
        **local_sqs.env(),
        "FLEET_LOG": str(log),
        "FLEET_FAIL_ONE_IN": str(FAIL_ONE_IN),
        "PYTHONWARNINGS": "error",
    }
    command = [
        sys.executable,
        "-m",
        "aiobatch",
        "run",
        "tests.integration.fleet_handler:lambda_handler",
        "--queue-url",
        queue.url,
        "--concurrency",
        "4",
        "--timeout",
        "2",
        "--wait-time",
        "1",
        "--until-empty",
        "--json",
    ]
    started = time.monotonic()
    workers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(WORKERS)
    ]
    try:
        outputs = [worker.communicate(timeout=100)[1] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    elapsed = time.monotonic() - started
    for worker, output in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, output[-3000:]
    summaries = [
        json.loads(line)
        for output in outputs
        for line in output.splitlines()
        if '"summary"' in line
    ]
    assert len(summaries) == WORKERS
    assert all(summary["received"] > 0 for summary in summaries), "every worker took a share"

    succeeded: Counter[str] = Counter()
    for path in tmp_path.glob("fleet.*"):
        for line in path.read_text().splitlines():
            succeeded[json.loads(line)["id"]] += 1
    dead = {message["MessageId"] for message in _drain(local_sqs, queue.dead_letter.url)}
    lost = set(ids) - set(succeeded) - dead
    assert not lost, f"{len(lost)} messages neither succeeded nor dead-lettered"
    # Poison, and a message that failed transiently on each of its three receives.
    unlucky = {i for i in ids if all(fails(i, count, FAIL_ONE_IN) for count in (1, 2, 3))}
    assert dead == poison_ids | unlucky, "only poison and the unlucky reach the DLQ"
    assert not (dead & set(succeeded))
    assert queue.approximate_count(include_hidden=True) == 0
    duplicates = sum(count - 1 for count in succeeded.values())
    # A success is processed again only when its delete did not land before its
    # visibility timeout: rare. The count is printed for the closing note.
    assert duplicates <= MESSAGES // 100, duplicates
    deleted = sum(summary["deleted"] for summary in summaries)
    assert deleted == sum(succeeded.values()), "each success deleted once, per the summaries"
    print(f"\n{WORKERS} workers: {MESSAGES} messages in {elapsed:.1f} s, {duplicates} duplicates")


def _drain(sqs: LocalSQS, url: str) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    while True:
        messages = sqs.client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300
        ).get("Messages", [])
        if not messages:
            return found
        found.extend(messages)

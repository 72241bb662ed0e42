"""Cases 6 and 8: the delete phase of ``PartialSQSProcessor``, against a stub SQS
endpoint (and moto, for the record), and warm invocations through the sync facade."""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import subprocess
import sys
import time
from typing import Any

from ._aws import ROOT, StubSQS, aws_env, aws_environ, moto_sqs, stub_sqs
from ._events import ACCOUNT, REGION, failing_async, sqs_event
from ._harness import (
    CaseResult,
    Contender,
    Row,
    Settings,
    Target,
    limit_row,
    measure,
    with_ratios,
)

DELAY = 0.005  # the stub answers each DeleteMessageBatch after this long
ENTRIES_PER_CALL = 10
AIOBATCH_DELETE = "aiobatch `PartialSQSProcessor` delete phase"


async def delete_phase(
    processor: Any, records: list[dict[str, Any]], handler: Any
) -> tuple[float, float]:
    """Seconds, and CPU seconds of this process, from the end of processing to the
    SQSBatchProcessingError that reports the failure: the deletes of every success, as
    a user's ``async with`` runs them."""
    from aiobatch import SQSBatchProcessingError

    start = cpu = None
    try:
        async with processor(records, handler):
            await processor.aprocess()
            start, cpu = time.perf_counter(), time.process_time()
    except SQSBatchProcessingError as error:
        elapsed = time.perf_counter() - (start or 0)
        cpu = time.process_time() - (cpu or 0)
        if start is None or error.undeleted_messages:
            raise RuntimeError(f"the batch went wrong: {error}") from error
        return elapsed, cpu
    raise RuntimeError("one record failed, yet no SQSBatchProcessingError was raised")


def case_delete(settings: Settings) -> CaseResult:
    from aiobatch import PartialSQSProcessor

    case = CaseResult("6", "Delete phase: every success but one deleted, against a stub SQS")
    n = settings.size(10_000, 200)
    event = sqs_event(n)
    records = event["Records"]
    handler = failing_async({records[n // 2]["messageId"]})
    calls = math.ceil((n - 1) / ENTRIES_PER_CALL)
    runs = settings.runs(9)
    with stub_sqs(DELAY) as stub, aws_env(stub.url), asyncio.Runner() as runner:
        processor = PartialSQSProcessor()
        from aiobatch._sqs.clients import DEFAULT_MAX_POOL_CONNECTIONS

        connections = DEFAULT_MAX_POOL_CONNECTIONS

        cpu: dict[str, list[float]] = {"aiobatch": [], "hand-written": []}

        def ours() -> float:
            before = stub.stats()
            elapsed, used = runner.run(delete_phase(processor, records, handler))
            check_stub(stub, before, calls, n - 1)
            cpu["aiobatch"].append(used)
            return elapsed

        floor, close = hand_written(runner, stub, records, connections, calls, cpu["hand-written"])
        try:
            rows = measure(
                "6",
                [
                    Contender(AIOBATCH_DELETE, ours),
                    Contender(
                        f"hand-written: the same {calls:,} calls on one aiobotocore client, "
                        f"{connections} at a time",
                        floor,
                    ),
                ],
                n=n,
                runs=runs,
            )
        finally:
            close()
    limit = math.ceil(calls / connections) * DELAY
    case.add(
        with_ratios(
            [
                limit_row(
                    "6",
                    f"limit: ceil({calls:,} calls / {connections} connections) x "
                    f"{DELAY * 1e3:g} ms",
                    limit,
                    n,
                ),
                *rows,
            ]
        )
    )
    ours_row = case.find("6", AIOBATCH_DELETE)
    hand_row = case.find("6", "hand-written")
    assert ours_row is not None
    assert hand_row is not None
    ratio = ours_row.median / limit
    case.targets.append(Target("aiobatch within 1.3x of the limit", f"{ratio:.2f}x", ratio <= 1.3))
    case.targets.append(
        Target(
            "aiobatch's delete phase over the same calls written by hand on aiobotocore",
            f"{ours_row.median / hand_row.median:.2f}x",
            None,
        )
    )
    for who, samples in cpu.items():
        used = samples[1:] or samples  # the first was the warm-up
        if used:
            per_call = statistics.median(used) / calls
            case.targets.append(
                Target(
                    f"CPU time of this process during the {who} delete phase",
                    f"{statistics.median(used) * 1e3:.0f} ms, {per_call * 1e6:.0f} µs a call "
                    f"({statistics.median(used) / limit:.1f}x the limit on its own)",
                    None,
                )
            )
    case.notes.append(
        f"{n:,} records, one fails: {n - 1:,} successes deleted in {calls:,} "
        f"DeleteMessageBatch calls over aiobatch's default pool of {connections} "
        f"connections; the stub (its own process) answers each after {DELAY * 1e3:g} ms. "
        "Timed from the end of processing to the SQSBatchProcessingError; the client and "
        "its connections were made by a warm-up batch."
    )
    case.add(moto_batch(settings, case))
    return case


def check_stub(stub: StubSQS, before: dict[str, Any], calls: int, entries: int) -> None:
    after = stub.stats()
    seen = (after["calls"] - before["calls"], after["entries"] - before["entries"])
    if seen != (calls, entries):
        raise RuntimeError(f"expected {calls} calls deleting {entries} entries, saw {seen}")


def hand_written(
    runner: asyncio.Runner,
    stub: StubSQS,
    records: list[dict[str, Any]],
    connections: int,
    calls: int,
    cpu: list[float],
) -> tuple[Any, Any]:
    """The same deletes, written by hand on one aiobotocore client: (sample, close)."""
    import aioboto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 5}, max_pool_connections=connections
    )
    maker = aioboto3.Session().client("sqs", region_name=REGION, config=config)
    client = runner.run(maker.__aenter__())
    url = f"{stub.url}/{ACCOUNT}/bench"
    successes = records[:-1]  # as many as aiobatch deletes
    chunks = [
        [
            {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
            for index, record in enumerate(successes[start : start + ENTRIES_PER_CALL])
        ]
        for start in range(0, len(successes), ENTRIES_PER_CALL)
    ]

    async def delete_all() -> None:
        work = iter(chunks)

        async def worker() -> None:
            for chunk in work:
                await client.delete_message_batch(QueueUrl=url, Entries=chunk)

        async with asyncio.TaskGroup() as group:
            for _ in range(connections):
                group.create_task(worker())

    async def timed() -> tuple[float, float]:
        start, used = time.perf_counter(), time.process_time()
        await delete_all()
        return time.perf_counter() - start, time.process_time() - used

    def sample() -> float:
        before = stub.stats()
        elapsed, used = runner.run(timed())
        check_stub(stub, before, calls, len(successes))
        cpu.append(used)
        return elapsed

    def close() -> None:
        runner.run(maker.__aexit__(None, None, None))

    return sample, close


def moto_batch(settings: Settings, case: CaseResult) -> list[Row]:
    """One batch against a moto server, for the record."""
    import boto3

    from aiobatch import PartialSQSProcessor

    n = settings.size(200, 50)
    with moto_sqs() as endpoint, aws_env(endpoint):
        client = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
        url = client.create_queue(QueueName="bench")["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        records = receive(client, url, arn, n + 2)
        warm, batch = records[:2], records[2:]
        processor = PartialSQSProcessor()
        with asyncio.Runner() as runner:
            # A two-record batch first, so that the client exists, as in the stub case.
            runner.run(delete_phase(processor, warm, failing_async({warm[0]["messageId"]})))
            handler = failing_async({batch[n // 2]["messageId"]})
            elapsed, _ = runner.run(delete_phase(processor, batch, handler))
        left = client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
        client.close()
    if int(left) != 2:
        raise RuntimeError(f"expected the 2 failed messages left on the moto queue, found {left}")
    calls = math.ceil((n - 1) / ENTRIES_PER_CALL)
    case.notes.append(
        f"'6 moto': one batch of {n:,} records ({calls} calls) against moto's server in "
        "a thread of this process, for the record: moto's DeleteMessageBatch scans the "
        "queue for each entry, so it is measured on fewer records than the stub case."
    )
    return [Row("6 moto", AIOBATCH_DELETE + " (moto)", "", n, "s", [elapsed], elapsed, elapsed / n)]


def receive(client: Any, url: str, arn: str, count: int) -> list[dict[str, Any]]:
    """Send ``count`` messages and receive them as the records of a Lambda event."""
    for start in range(0, count, ENTRIES_PER_CALL):
        client.send_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(index), "MessageBody": json.dumps({"order": start + index})}
                for index in range(min(ENTRIES_PER_CALL, count - start))
            ],
        )
    records: list[dict[str, Any]] = []
    while len(records) < count:
        response = client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=900
        )
        for message in response.get("Messages", []):
            records.append(
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": message["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": REGION,
                }
            )
    return records


def case_warm(settings: Settings) -> CaseResult:
    case = CaseResult("8", "Invocations through the sync facade with deletes, one process each")
    n = settings.size(10_000, 200)
    processes = settings.runs(5)
    invocations = 2 if settings.quick else 6
    first: list[float] = []
    warm: list[float] = []
    created: list[list[int]] = []
    new_connections: list[list[int]] = []
    with stub_sqs(DELAY) as stub:
        for _ in range(processes):
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks._invocations",
                    "--stub",
                    stub.url,
                    "--records",
                    str(n),
                    "--invocations",
                    str(invocations),
                ],
                cwd=ROOT,
                env=aws_environ(stub.url),
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if result.returncode:
                raise RuntimeError(f"benchmarks._invocations failed:\n{result.stderr}")
            report = json.loads(result.stdout.splitlines()[-1])
            first.append(report[0]["seconds"])
            warm.extend(item["seconds"] for item in report[1:])
            created.append([item["clients_created"] for item in report])
            new_connections.append([item["new_connections"] for item in report])
    first_median, warm_median = statistics.median(first), statistics.median(warm)
    case.add(
        with_ratios(
            [
                Row(
                    "8",
                    "aiobatch first invocation (lazy aioboto3 import, client, connections)",
                    "",
                    n,
                    "s",
                    first,
                    first_median,
                    first_median / n,
                ),
                Row(
                    "8",
                    f"aiobatch warm invocations (invocations 2 to {invocations})",
                    "",
                    n,
                    "s",
                    warm,
                    warm_median,
                    warm_median / n,
                ),
            ]
        )
    )
    reused = all(counts == [1] * len(counts) for counts in created)
    case.targets.append(
        Target(
            "a warm invocation makes no new client"
            " (`processor.sqs.clients_created` after each invocation)",
            "; ".join(str(counts) for counts in created),
            reused,
        )
    )
    warm_connections = sum(sum(counts[1:]) for counts in new_connections)
    case.targets.append(
        Target(
            "new connections the stub saw: first invocation / all warm ones",
            f"{statistics.median(counts[0] for counts in new_connections):g} / {warm_connections}",
            None,
        )
    )
    case.notes.append(
        f"Each of {processes} fresh processes imports aiobatch, makes a module-level "
        "`PartialSQSProcessor`, then calls a plain `def lambda_handler` (a `with "
        f"processor(...)` block with `processor.process()`) {invocations} times on the same "
        f"{n:,}-record event with one failure: {n - 1:,} deletes each time, against the "
        f"stub ({DELAY * 1e3:g} ms a call). Import time is not counted."
    )
    return case

"""Cases 6 and 8: the delete phase of ``PartialSQSProcessor``, against a stub SQS
endpoint (and moto, for the record), and warm invocations through the sync facade."""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from typing import Any

from aiobatch import PartialSQSProcessor, SQSBatchProcessingError

# Private, and the only private import of the benchmarks: the pool size aiobatch's SQS
# client gets by default, which bounds the concurrent calls of the delete phase, and so
# the limit it is measured against. aiobatch has no public way to read it.
from aiobatch._sqs.clients import DEFAULT_MAX_POOL_CONNECTIONS
from aiobatch.testing import FakeLambdaContext, LocalSQS

from ._aws import StubSQS, aws_env, aws_environ, stub_sqs
from ._events import (
    ACCOUNT,
    QUEUE,
    REGION,
    expect_failures,
    failing_async,
    failing_sync,
    standard_event,
)
from ._harness import (
    CaseResult,
    Contender,
    Row,
    Settings,
    limit_row,
    measure,
    measured_row,
    note_if_powertools_missing,
    powertools_available,
    python,
    timed,
    with_ratios,
)

DELAY = 0.005  # the stub answers each DeleteMessageBatch after this long
ENTRIES_PER_CALL = 10
AIOBATCH_DELETE = "aiobatch `PartialSQSProcessor` delete phase"
AIOBATCH_WARM_SMALL = "aiobatch warm invocation, `PartialSQSProcessor` through the sync facade"
SMALL = 10  # records of case 8's small group, one of which fails


async def delete_phase(
    processor: Any, records: list[dict[str, Any]], handler: Any
) -> tuple[float, float]:
    """Seconds, and CPU seconds of this process, from the end of processing to the
    SQSBatchProcessingError that reports the failure: the deletes of every success, as
    a user's ``async with`` runs them."""
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
    case = CaseResult("6", "Delete phase: every success but one deleted, against a stub SQS")
    n = settings.size(10_000, 200)
    records = standard_event(n)["Records"]
    handler = failing_async({records[n // 2]["messageId"]})
    calls = math.ceil((n - 1) / ENTRIES_PER_CALL)
    connections = DEFAULT_MAX_POOL_CONNECTIONS
    runs = settings.runs(9)
    with stub_sqs(DELAY) as stub, aws_env(stub.url), asyncio.Runner() as runner:
        processor = PartialSQSProcessor()
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
    spent = {who: statistics.median(samples[1:] or samples) for who, samples in cpu.items()}
    case.notes.append(
        "CPU time of this process in a delete phase (median; the first, a warm-up, left out): "
        + "; ".join(
            f"{who} {used * 1e3:.0f} ms, {used / calls * 1e6:.0f} µs a call"
            for who, used in spent.items()
        )
        + f" (aiobatch over hand-written: {spent['aiobatch'] / spent['hand-written']:.2f}x)"
        + f"; the limit is {limit * 1e3:.0f} ms."
    )
    case.add(moto_batch(settings))
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
    url = f"{stub.url}/{ACCOUNT}/{QUEUE}"
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


def moto_batch(settings: Settings) -> list[Row]:
    """One batch against a moto server, for the record."""
    n = settings.size(200, 50)
    with LocalSQS(region=REGION) as sqs, aws_env(sqs.endpoint_url):
        queue = sqs.create_queue()
        queue.send({"order": index} for index in range(n + 2))
        records: list[dict[str, Any]] = []
        while len(records) < n + 2:
            records += queue.receive_event(visibility_timeout=900)["Records"]
        warm, batch = records[:2], records[2:]
        processor = PartialSQSProcessor()
        with asyncio.Runner() as runner:
            # A two-record batch first, so that the client exists, as in the stub case.
            runner.run(delete_phase(processor, warm, failing_async({warm[0]["messageId"]})))
            handler = failing_async({batch[n // 2]["messageId"]})
            elapsed, _ = runner.run(delete_phase(processor, batch, handler))
        left = queue.approximate_count(include_hidden=True)
    if left != 2:
        raise RuntimeError(f"expected the 2 failed messages left on the moto queue, found {left}")
    return [measured_row("6 moto", AIOBATCH_DELETE + " (moto)", [elapsed], n)]


def case_warm(settings: Settings) -> CaseResult:
    case = CaseResult("8", "Invocations through the sync facade with deletes, one process each")
    n = settings.size(10_000, 200)
    processes = settings.runs(5)
    invocations = 2 if settings.quick else 6
    reports = []
    with stub_sqs(DELAY) as stub:
        for _ in range(processes):
            args = ("--stub", stub.url, "--records", str(n), "--invocations", str(invocations))
            out = python("-m", "benchmarks._invocations", *args, env=aws_environ(stub.url))
            reports.append(json.loads(out.splitlines()[-1]))
        with aws_env(stub.url):
            small, small_cpu = warm_small(settings, stub)
    first = [report[0]["seconds"] for report in reports]
    warm = [item["seconds"] for report in reports for item in report[1:]]
    case.add(
        with_ratios(
            [
                measured_row(
                    "8",
                    "aiobatch first invocation (lazy aioboto3 import, client, connections)",
                    first,
                    n,
                ),
                measured_row(
                    "8", f"aiobatch warm invocations (invocations 2 to {invocations})", warm, n
                ),
            ]
        )
    )
    created = [[item["clients_created"] for item in report] for report in reports]
    connections = [[item["new_connections"] for item in report] for report in reports]
    case.facts["clients_created"] = max(max(counts) for counts in created)
    case.notes.append(
        "`processor.sqs.clients_created` after each invocation, one list a process: "
        + "; ".join(str(counts) for counts in created)
    )
    case.notes.append(
        "New connections the stub saw: "
        f"{statistics.median(counts[0] for counts in connections):g} in a first invocation "
        f"(median), {sum(sum(counts[1:]) for counts in connections)} in all warm ones."
    )
    case.add(small)
    case.notes.append(
        f"Small group: CPU time of this process in a warm invocation (median): "
        f"{small_cpu * 1e6:.0f} µs."
    )
    note_if_powertools_missing(case)
    return case


def warm_small(settings: Settings, stub: StubSQS) -> tuple[list[Row], float]:
    """Warm invocations of 10 records, one failing, through the sync facade (one
    DeleteMessageBatch of 9 entries), beside Powertools' partial response for the batch."""
    event = standard_event(SMALL)
    handler = failing_sync({event["Records"][SMALL // 2]["messageId"]})
    processor = PartialSQSProcessor()  # as at module level: made once, its client kept
    cpu: list[float] = []

    def lambda_handler(event: dict[str, Any], context: Any) -> None:
        with processor(event["Records"], handler, lambda_context=context):
            processor.process()

    def ours() -> float:
        before = stub.stats()
        start, used = time.perf_counter(), time.process_time()
        try:
            lambda_handler(event, FakeLambdaContext(900))
        except SQSBatchProcessingError as error:
            elapsed, used = time.perf_counter() - start, time.process_time() - used
            if error.undeleted_messages:
                raise
        else:
            raise RuntimeError("one record failed, yet no SQSBatchProcessingError was raised")
        check_stub(stub, before, 1, SMALL - 1)
        cpu.append(used)
        return elapsed

    contenders = [Contender(AIOBATCH_WARM_SMALL, ours)]  # its warm-up makes the client
    if powertools_available():
        from aws_lambda_powertools.utilities.batch import (
            BatchProcessor,
            EventType,
            process_partial_response,
        )

        powertools = BatchProcessor(EventType.SQS)
        contenders.append(
            Contender(
                "Powertools `BatchProcessor` + `process_partial_response` (no SQS call)",
                timed(
                    lambda: process_partial_response(
                        event, handler, powertools, FakeLambdaContext(900)
                    ),
                    expect_failures(1),
                ),
            )
        )
    try:
        rows = measure("8 small", contenders, n=SMALL, runs=settings.runs(201))
    finally:
        processor.close()
    created = processor.sqs.clients_created
    if created != 1:
        raise RuntimeError(f"expected one SQS client for every invocation, {created} were made")
    limit = limit_row("8 small", f"limit: one DeleteMessageBatch, {DELAY * 1e3:g} ms", DELAY, SMALL)
    return with_ratios([limit, *rows]), statistics.median(cpu[1:] or cpu)  # [0]: the cold one

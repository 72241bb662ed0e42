"""Case 10: ``aiobatch run``'s worker against the stub SQS, records a second, beside a
hand-written aioboto3 receive-process-delete loop with the same concurrency."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

# Private, as the command has no API of its own: the worker ``aiobatch run`` runs, its
# silent reporter, and the client defaults its clients are made with (given to the
# hand-written loop too, so that the two differ only in what runs around the calls).
from aiobatch._sqs.clients import default_config
from aiobatch._worker import SilentReporter, Stats, Worker, WorkerOptions

from ._aws import StubSQS, aws_env, stub_sqs
from ._events import ACCOUNT, QUEUE, REGION
from ._harness import CaseResult, Contender, Row, Settings, measure

DELAY = 0.005  # the stub answers each ReceiveMessage and DeleteMessageBatch after this long
BATCH = 10  # records a batch: one ReceiveMessage of 10, one DeleteMessageBatch of 10
CONCURRENCY = (4, 16)  # a group each; --quick runs the first only
WAIT = 20  # WaitTimeSeconds of every receive (the worker's default; the stub never waits)
AIOBATCH_RUN = "aiobatch `Worker` (`aiobatch run`), no-op `async def lambda_handler`"
HAND_WRITTEN = "hand-written aioboto3 loop: receive, the same handler, delete"


class Counter:
    """The no-op Lambda handler both contenders call, counting the records it was given
    (the check that every deleted record went through it)."""

    def __init__(self) -> None:
        self.records = 0

    async def lambda_handler(self, event: dict[str, Any], context: Any) -> None:
        self.records += len(event["Records"])
        return None


def check_run(
    stub: StubSQS,
    before: dict[str, Any],
    handled: int,
    deleted: int,
    n: int,
    who: str,
    released: int = 0,
) -> None:
    """The stub deleted exactly what the contender counts as deleted, at least ``n``,
    every one of them received from the stub and given to the handler; and it made
    visible again exactly what the contender counts as released (the worker, at its
    stop, releases a batch it received but did not start)."""
    after = stub.stats()
    seen = {name: after[name] - before[name] for name in after}
    entries, received = seen["entries"], seen["received"]
    if not (entries == deleted == handled and n <= deleted <= received - released):
        raise RuntimeError(
            f"{who}: expected at least {n} records received, handled and deleted; it "
            f"counted {deleted} deleted, its handler saw {handled}, the stub returned "
            f"{received} and deleted {entries}"
        )
    if seen["visibility_entries"] != released:
        raise RuntimeError(
            f"{who}: counted {released} messages released, the stub saw "
            f"{seen['visibility_entries']}"
        )
    if seen["unsupported"]:
        raise RuntimeError(f"{who}: made a call the stub does not answer")


def worker_contender(
    runner: asyncio.Runner,
    stub: StubSQS,
    session: Any,
    concurrency: int,
    n: int,
    cpu: list[float],
) -> Callable[[], float]:
    """A sample: one run of a new worker (its queue checked first, not timed) until it
    has deleted ``n`` records; its time, scaled to ``n`` records."""
    counter = Counter()
    options = WorkerOptions(
        queue_url=f"{stub.url}/{ACCOUNT}/{QUEUE}",
        batch_size=BATCH,
        concurrency=concurrency,
        wait_time=WAIT,
        # As the loop does: no receive once enough are in; the last ones finish.
        max_messages=n,
    )

    async def run() -> tuple[float, float, Stats]:
        worker = Worker(counter.lambda_handler, options, session=session, reporter=SilentReporter())
        await worker.check()
        start, used = time.perf_counter(), time.process_time()
        stats = await worker.run()
        return time.perf_counter() - start, time.process_time() - used, stats

    def sample() -> float:
        before, handled = stub.stats(), counter.records
        elapsed, used, stats = runner.run(run())
        if stats.failed or stats.undeleted or stats.failed_invocations:
            raise RuntimeError(f"the worker's run went wrong: {stats.summary()}")
        handled_now = counter.records - handled
        check_run(stub, before, handled_now, stats.deleted, n, "aiobatch", stats.released)
        cpu.append(used * n / stats.deleted)
        return elapsed * n / stats.deleted

    return sample


def loop_contender(
    runner: asyncio.Runner,
    stub: StubSQS,
    session: Any,
    concurrency: int,
    n: int,
    cpu: list[float],
) -> Callable[[], float]:
    """A sample: ``concurrency`` tasks on one client (made and closed in the sample, as
    the worker's are), each receiving a batch, calling the handler on it and deleting
    it, until ``n`` records are deleted; its time, scaled to ``n`` records."""
    counter = Counter()
    handler = counter.lambda_handler
    url = f"{stub.url}/{ACCOUNT}/{QUEUE}"
    config = default_config()

    async def run() -> tuple[float, float, int]:
        start, used = time.perf_counter(), time.process_time()
        deleted = 0
        async with session.client("sqs", region_name=REGION, config=config) as client:

            async def task() -> None:
                nonlocal deleted
                while deleted < n:
                    response = await client.receive_message(
                        QueueUrl=url,
                        MaxNumberOfMessages=BATCH,
                        WaitTimeSeconds=WAIT,
                        MessageSystemAttributeNames=["All"],
                        MessageAttributeNames=["All"],
                    )
                    messages = response.get("Messages", [])
                    if not messages:
                        continue
                    await handler({"Records": messages}, None)
                    response = await client.delete_message_batch(
                        QueueUrl=url,
                        Entries=[
                            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                            for index, message in enumerate(messages)
                        ],
                    )
                    if response.get("Failed"):
                        raise RuntimeError(f"deletes failed: {response['Failed']}")
                    deleted += len(response["Successful"])

            async with asyncio.TaskGroup() as group:
                for _ in range(concurrency):
                    group.create_task(task())
        return time.perf_counter() - start, time.process_time() - used, deleted

    def sample() -> float:
        before, handled = stub.stats(), counter.records
        elapsed, used, deleted = runner.run(run())
        check_run(stub, before, counter.records - handled, deleted, n, "hand-written")
        cpu.append(used * n / deleted)
        return elapsed * n / deleted

    return sample


def rates(row: Row) -> str:
    """A row's records a second: the median, and the slowest and fastest run."""
    assert row.n is not None
    low, high = row.n / max(row.samples), row.n / min(row.samples)
    return f"{row.n / row.median:,.0f} records/s ({low:,.0f} to {high:,.0f})"


def case_worker(settings: Settings) -> CaseResult:
    import aioboto3

    case = CaseResult(
        "10", "`aiobatch run`: records a second against a stub SQS, beside a hand-written loop"
    )
    n = settings.size(2_000, 100)
    levels = settings.size(CONCURRENCY, CONCURRENCY[:1])
    runs = settings.runs(9)
    with stub_sqs(DELAY) as stub, aws_env(stub.url), asyncio.Runner() as runner:
        session = aioboto3.Session()  # one for every client, as a process has
        for concurrency in levels:
            group = f"10 c={concurrency}"
            cpu: dict[str, list[float]] = {"aiobatch": [], "hand-written": []}
            rows = measure(
                group,
                [
                    Contender(
                        f"floor: {HAND_WRITTEN}, {concurrency} tasks",
                        loop_contender(runner, stub, session, concurrency, n, cpu["hand-written"]),
                        role="floor",
                    ),
                    Contender(
                        f"{AIOBATCH_RUN}, --concurrency {concurrency}",
                        worker_contender(runner, stub, session, concurrency, n, cpu["aiobatch"]),
                    ),
                ],
                n=n,
                runs=runs,
            )
            case.add(rows)
            floor, ours = rows
            limit = -(-n // (BATCH * concurrency)) * 2 * DELAY
            spent = {who: statistics.median(samples[1:] or samples) for who, samples in cpu.items()}
            case.notes.append(
                f"c={concurrency}: aiobatch run {rates(ours)}, the hand-written loop "
                f"{rates(floor)} (median, then the slowest and fastest of {len(ours.samples)} "
                f"runs): aiobatch at {floor.median / ours.median:.2f}x the loop's records a "
                f"second. The limit, ceil({n:,} / ({BATCH} x {concurrency})) rounds x 2 calls x "
                f"{DELAY * 1e3:g} ms, is {limit * 1e3:.0f} ms ({n / limit:,.0f} records/s). "
                "CPU time of this process per 1,000 records (median; the warm-up left out): "
                + ", ".join(f"{who} {used / n * 1e6:.0f} ms" for who, used in spent.items())
                + f" ({spent['aiobatch'] / spent['hand-written']:.2f}x)."
            )
    return case

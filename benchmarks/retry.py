"""Case 11: what the retry policy's SQS calls cost per failed record, beside the plain
failure path, against the stub SQS."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from aiobatch import Backoff, BatchProcessor, EventType, aprocess_partial_response

from ._aws import StubSQS, aws_env, stub_sqs
from ._events import standard_event
from ._harness import CaseResult, Contender, Settings, limit_row, measure, with_ratios

DELAY = 0.005  # the stub answers each call after this long
EVERY = 10  # one record in EVERY fails
PLAIN = "aiobatch partial response, failures reported only"
BACKOFF = "+ retry=Backoff(): ChangeMessageVisibilityBatch"
DEAD_LETTER = "+ non_retryable=: SendMessageBatch to the DLQ"


def case_retry(settings: Settings) -> CaseResult:
    case = CaseResult(
        "11", "Retry policy: visibility backoff and dead-letter sends, per failed record"
    )
    n = settings.size(1_000, 100)
    records = standard_event(n)["Records"]
    failing = {record["messageId"] for record in records[::EVERY]}
    failures = len(failing)
    calls = -(-failures // 10)

    async def handler(record: Any) -> None:
        if record.message_id in failing:
            raise ValueError("this record fails")

    runs = settings.runs(9)
    cpu: dict[str, list[float]] = {}
    with stub_sqs(DELAY) as stub, aws_env(stub.url), asyncio.Runner() as runner:
        processors = {
            PLAIN: BatchProcessor(EventType.SQS),
            BACKOFF: BatchProcessor(EventType.SQS, retry=Backoff()),
            DEAD_LETTER: BatchProcessor(EventType.SQS, non_retryable=(ValueError,)),
        }
        expected = {PLAIN: failures, BACKOFF: failures, DEAD_LETTER: 0}

        def sample_of(name: str) -> Any:
            processor = processors[name]
            kept = cpu.setdefault(name, [])

            async def one() -> tuple[float, float, dict[str, Any]]:
                start, used = time.perf_counter(), time.process_time()
                response = await aprocess_partial_response({"Records": records}, handler, processor)
                return time.perf_counter() - start, time.process_time() - used, dict(response)

            def sample() -> float:
                before = stub.stats()
                elapsed, used, response = runner.run(one())
                check(stub, before, name, calls, failures)
                reported = len(response["batchItemFailures"])
                if reported != expected[name]:
                    raise RuntimeError(f"{name}: {reported} failures reported")
                kept.append(used)
                return elapsed

            return sample

        try:
            rows = measure(
                "11",
                [Contender(name, sample_of(name)) for name in processors],
                n=failures,
                runs=runs,
            )
        finally:
            for processor in processors.values():
                runner.run(processor.aclose())
    plain = next(row for row in rows if row.contender == PLAIN)
    case.add(
        with_ratios(
            [
                limit_row(
                    "11",
                    f"limit: the plain path + one round of {calls} calls ({DELAY * 1e3:g} ms)",
                    plain.median + DELAY,
                    failures,
                ),
                *rows,
            ]
        )
    )
    # The first sample of each is its warm-up, which made the client.
    spent = {name: statistics.median(samples[1:] or samples) for name, samples in cpu.items()}
    case.notes.append(
        f"{n:,} records, {failures} failing (one in {EVERY}); the stub answers each call "
        f"after {DELAY * 1e3:g} ms; the per-record column is per failed record. CPU time "
        "of this process a batch (median, warm-up left out): "
        + "; ".join(f"{name} {used * 1e3:.1f} ms" for name, used in spent.items())
        + "; the calls' CPU per failed record: "
        + "; ".join(
            f"{name.split(':')[0].lstrip('+ ')} {(used - spent[PLAIN]) / failures * 1e6:.0f} µs"
            for name, used in spent.items()
            if name != PLAIN
        )
        + "."
    )
    return case


def check(stub: StubSQS, before: dict[str, Any], name: str, calls: int, failures: int) -> None:
    """The stub saw exactly the calls the contender must make."""
    after = stub.stats()
    seen = {key: after[key] - before[key] for key in after}
    want = {
        PLAIN: {"visibility_calls": 0, "sends": 0},
        BACKOFF: {"visibility_calls": calls, "visibility_entries": failures, "sends": 0},
        DEAD_LETTER: {"sends": calls, "sent": failures, "visibility_calls": 0},
    }[name]
    wrong = {key: seen[key] for key, value in want.items() if seen[key] != value}
    if wrong:
        raise RuntimeError(f"{name}: expected {want} of the stub, saw {wrong}")

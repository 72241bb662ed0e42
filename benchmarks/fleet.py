"""Scale-out: records a second of 1, 2, 3 ... ``aiobatch run`` processes on one queue.

``python -m benchmarks.fleet [--messages 2000] [--processes 1,2,3] [--work 0.05]``
starts a moto SQS server (``aiobatch.testing.LocalSQS``) in this process, and for each
process count fills a fresh queue, starts that many workers
(``tests/integration/fleet_handler.py``: no failures, ``--work`` seconds of sleep per
batch, standing in for a handler's I/O) with ``--until-empty``, and times them until
every one has exited. Not part of ``python -m benchmarks``: it measures moto as much as
aiobatch, and tells where one machine's queue stops scaling, not how fast aiobatch is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiobatch.testing import LocalSQS

ROOT = Path(__file__).resolve().parents[1]


def run(sqs: LocalSQS, messages: int, processes: int, work: float, concurrency: int) -> float:
    queue = sqs.create_queue(visibility_timeout=30)
    queue.send([{"n": n} for n in range(messages)])
    with tempfile.TemporaryDirectory() as logs:
        env = {
            **os.environ,
            **sqs.env(),
            "FLEET_LOG": str(Path(logs) / "fleet"),
            "FLEET_FAIL_ONE_IN": str(10**9),
            "FLEET_WORK_SECONDS": str(work),
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
            str(concurrency),
            "--wait-time",
            "1",
            "--until-empty",
            "--json",
        ]
        started = time.monotonic()
        workers = [
            subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
            for _ in range(processes)
        ]
        outputs = [worker.communicate()[1] for worker in workers]
        elapsed = time.monotonic() - started
    deleted = 0
    for worker, output in zip(workers, outputs, strict=True):
        if worker.returncode != 0:
            raise SystemExit(f"a worker failed ({worker.returncode}):\n{output[-2000:]}")
        summary = json.loads(output.splitlines()[-1])
        deleted += summary["deleted"]
    if deleted < messages:
        raise SystemExit(f"only {deleted} of {messages} messages were processed")
    return messages / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--work", type=float, default=0.05, help="seconds per batch")
    parser.add_argument("--concurrency", type=int, default=2, help="per process")
    args = parser.parse_args()
    counts = [int(part) for part in args.processes.split(",")]
    print(
        f"{args.messages} messages, batches of 10, {args.work:g} s of work a batch, "
        f"--concurrency {args.concurrency} per process, moto in this process"
    )
    with LocalSQS() as sqs:
        base = None
        for processes in counts:
            rate = run(sqs, args.messages, processes, args.work, args.concurrency)
            base = base or rate
            print(f"{processes} process(es): {rate:8.0f} records/s  ({rate / base:.2f}x)")


if __name__ == "__main__":
    main()

"""The ``aiobatch`` command, run as a real process against the moto server of
``tests/moto.py``: signals and draining, releases at shutdown, a second signal, a
killed worker, start-up checks, JSON output, no record data in the output, ``send``,
``run --local`` and ``demo``.

The workers run the handlers of ``tests/integration/cli_handlers.py``, which log what
they see to a file (``AIOBATCH_TEST_LOG``); tests wait on that file, on the worker's
standard error and on the queue's counts, each with a deadline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest

from aiobatch.testing import LocalQueue, LocalSQS
from tests.integration.cli_handlers import BASE_EXCEPTIONS, LOG, RAISE, SLEEP

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = "tests.integration.cli_handlers"

T = TypeVar("T")


def base_env(local_sqs: LocalSQS | None = None) -> dict[str, str]:
    """This process's environment (the autouse fixture took the AWS settings out),
    pointed at the moto server; no -X dev (aiohttp's strict parser rejects moto)."""
    env = dict(os.environ)
    for name in ("PYTHONDEVMODE", "PYTHONASYNCIODEBUG"):
        env.pop(name, None)
    if local_sqs is not None:
        env.update(local_sqs.env())
    return env


def aiobatch(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """``aiobatch ARGS`` to its end."""
    return subprocess.run(
        [sys.executable, "-m", "aiobatch", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until(
    condition: Callable[[], T], timeout: float, what: str, report: Callable[[], str] = str
) -> T:
    """Poll ``condition`` until it gives something true; fail after ``timeout`` s,
    with ``report()`` in the message."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{report()}")
        time.sleep(0.05)


def in_flight(queue: LocalQueue) -> int:
    return queue.approximate_count(include_hidden=True) - queue.approximate_count()


def numbered(count: int) -> list[str]:
    return [json.dumps({"n": n}) for n in range(count)]


@dataclass
class Worker:
    """A running ``aiobatch run``, its output in files."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    log_path: Path
    files: list[IO[bytes]] = field(default_factory=list)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8")

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(encoding="utf-8")

    def report(self) -> str:
        return f"exit code {self.process.poll()}\nstderr:\n{self.stderr}"

    def log(self, kind: str) -> list[dict[str, Any]]:
        """The handler's log lines of ``kind`` (of every worker sharing the log)."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        # A line being written may lack its end: only whole lines count.
        entries = [json.loads(line) for line in lines if line.endswith("}")]
        return [entry for entry in entries if entry["kind"] == kind]

    def invocations(self) -> list[dict[str, Any]]:
        return [entry for entry in self.log("invoked") if entry["pid"] == self.process.pid]

    def wait_for_invocation(self, timeout: float = 10) -> dict[str, Any]:
        return wait_until(self.invocations, timeout, "an invocation", self.report)[0]

    def wait_for_stderr(self, text: str, timeout: float = 10) -> None:
        wait_until(lambda: text in self.stderr, timeout, repr(text), self.report)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the worker did not exit within {timeout} s\n{self.report()}"
            ) from None

    def json_lines(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for line in self.stderr.splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                raise AssertionError(f"a line of --json output is not JSON: {line!r}") from None
        return events


class Workers:
    """Starts ``aiobatch run`` processes; whatever is still running at the end is killed."""

    def __init__(self, local_sqs: LocalSQS, tmp_path: Path) -> None:
        self.local_sqs = local_sqs
        self.tmp_path = tmp_path
        self.log_path = tmp_path / "handler.jsonl"
        self.started: list[Worker] = []

    def start(
        self, handler: str, *args: str, sleep: float = 0, env: Mapping[str, str] | None = None
    ) -> Worker:
        """``aiobatch run HANDLER --wait-time 1 ARGS`` on the moto server; ``env`` is
        added to the environment."""
        env = base_env(self.local_sqs) | dict(env or {})
        env[LOG] = str(self.log_path)
        env[SLEEP] = str(sleep)
        index = len(self.started)
        stdout_path = self.tmp_path / f"worker-{index}.out"
        stderr_path = self.tmp_path / f"worker-{index}.err"
        stdout = stdout_path.open("wb")
        stderr = stderr_path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "aiobatch", "run", handler, "--wait-time", "1", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        worker = Worker(process, stdout_path, stderr_path, self.log_path, [stdout, stderr])
        self.started.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait()
            for file in worker.files:
                file.close()


@pytest.fixture
def workers(local_sqs: LocalSQS, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(local_sqs, tmp_path)
    try:
        yield started
    finally:
        started.close()


def summary_count(stderr: str, name: str) -> int:
    """A counter of the plain-text summary."""
    match = re.search(rf"^  {name} +([\d,]+)", stderr, re.MULTILINE)
    assert match is not None, f"no {name!r} in the summary:\n{stderr}"
    return int(match.group(1).replace(",", ""))


# --- signals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signum", "handler"),
    [(signal.SIGTERM, "handler"), (signal.SIGINT, "async_handler")],
    ids=["SIGTERM-def", "SIGINT-async"],
)
def test_a_signal_lets_the_running_batch_finish(
    workers: Workers, local_sqs: LocalSQS, signum: signal.Signals, handler: str
) -> None:
    queue = local_sqs.create_queue()
    ids = queue.send(numbered(3))
    worker = workers.start(f"{HANDLERS}:{handler}", "--queue-url", queue.url, sleep=1.5)
    batch = worker.wait_for_invocation()["ids"]
    assert batch
    assert not worker.log("processed"), "the signal must come while the batch runs"

    signalled = time.monotonic()
    worker.process.send_signal(signum)
    code = worker.wait(8)
    took = time.monotonic() - signalled

    stderr = worker.stderr
    assert code == 0, worker.report()
    assert took < 5, f"{took:.1f} s from the signal to the exit"
    assert f"{signum.name}: stopping" in stderr
    # The batch ran to its end and was deleted.
    assert sorted(e["message_id"] for e in worker.log("processed")) == sorted(batch)
    assert "Summary" in stderr
    assert summary_count(stderr, "deleted") == len(batch)
    assert summary_count(stderr, "received") == len(batch)
    assert "Traceback" not in stderr
    # What was not in the batch is still there, visible; the batch is gone.
    assert queue.approximate_count(include_hidden=True) == len(ids) - len(batch)
    assert queue.approximate_count() == len(ids) - len(batch)


def test_messages_held_in_a_batching_window_are_released_at_shutdown(
    workers: Workers, local_sqs: LocalSQS
) -> None:
    queue = local_sqs.create_queue()
    ids = queue.send(numbered(4))
    worker = workers.start(
        f"{HANDLERS}:handler",
        "--queue-url",
        queue.url,
        "--batch-size",
        "50",
        "--batching-window",
        "20",
        "--json",
    )
    wait_until(lambda: in_flight(queue) == 4, 10, "all four messages received", worker.report)

    signalled = time.monotonic()
    worker.process.send_signal(signal.SIGTERM)
    code = worker.wait(8)
    took = time.monotonic() - signalled

    assert code == 0, worker.report()
    assert took < 5, f"{took:.1f} s from the signal to the exit"
    # Visible again at once, not after the queue's 30 s visibility timeout; and still,
    # after a while: no receive of the worker's is left on the server to take them
    # again (a cut long poll went on there once, and hid them for 30 s).
    assert queue.approximate_count() == 4, worker.report()
    time.sleep(1.5)
    assert queue.approximate_count() == 4, worker.report()
    event = queue.receive_event(wait_seconds=0)
    assert sorted(record["messageId"] for record in event["Records"]) == sorted(ids)
    assert not worker.log("invoked"), "the handler must not have run"
    summary = worker.json_lines()[-1]
    assert summary["event"] == "summary", worker.report()
    assert summary["received"] == 4
    assert summary["released"] == 4
    assert summary["invocations"] == 0
    assert summary["deleted"] == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_second_signal_exits_at_once(
    workers: Workers, local_sqs: LocalSQS, signum: signal.Signals
) -> None:
    queue = local_sqs.create_queue()
    queue.send(numbered(1))
    worker = workers.start(
        f"{HANDLERS}:handler", "--queue-url", queue.url, "--timeout", "30", sleep=20
    )
    worker.wait_for_invocation()
    worker.process.send_signal(signum)
    worker.wait_for_stderr(f"{signum.name}: stopping")
    assert worker.process.poll() is None, "the first signal must not end a running batch"

    signalled = time.monotonic()
    worker.process.send_signal(signum)
    code = worker.wait(5)
    took = time.monotonic() - signalled

    assert code == 128 + signum, worker.report()
    assert took < 3, f"{took:.1f} s from the second signal to the exit"
    assert f"second signal ({signum.name})" in worker.stderr
    assert "Traceback" not in worker.stderr
    assert not worker.log("processed")
    # Not deleted: the message is still in flight, back after the visibility timeout.
    assert queue.approximate_count(include_hidden=True) == 1
    assert queue.approximate_count() == 0


def test_a_killed_workers_messages_come_back_and_none_is_lost(
    workers: Workers, local_sqs: LocalSQS
) -> None:
    queue = local_sqs.create_queue(visibility_timeout=2)
    bodies = numbered(6)
    ids = queue.send(bodies)
    first = workers.start(
        f"{HANDLERS}:handler", "--queue-url", queue.url, "--timeout", "2", sleep=1.5
    )
    killed_batch = first.wait_for_invocation()["ids"]
    first.process.kill()
    assert first.wait(5) == -signal.SIGKILL
    assert not first.log("processed"), "the kill must come while the batch runs"

    second = workers.start(
        f"{HANDLERS}:handler", "--queue-url", queue.url, "--timeout", "2", "--until-empty"
    )
    assert second.wait(20) == 0, second.report()

    processed = second.log("processed")
    assert {entry["pid"] for entry in processed} == {second.process.pid}
    assert {entry["message_id"] for entry in processed} == set(ids)
    assert sorted({entry["body"] for entry in processed}) == sorted(bodies)
    redelivered = {e["message_id"] for e in processed if e["receive_count"] >= 2}
    assert set(killed_batch) <= redelivered
    assert queue.approximate_count(include_hidden=True) == 0
    stderr = second.stderr
    assert summary_count(stderr, "deleted") == len(ids)
    assert "Traceback" not in stderr


# --- start-up checks --------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    phrases: tuple[str, ...]
    args: tuple[str, ...] = ()
    handler: str = f"{HANDLERS}:handler"
    fifo: bool = False
    missing_queue: bool = False
    no_credentials: bool = False


BAD = {
    "unimportable-module": Bad(
        ("cannot import the handler's module 'tests.integration.no_such_module'",),
        handler="tests.integration.no_such_module:handler",
    ),
    "missing-attribute": Bad(
        (f"module '{HANDLERS}' has no attribute 'no_such_handler'",),
        handler=f"{HANDLERS}:no_such_handler",
    ),
    "missing-queue": Bad(("the queue does not exist",), missing_queue=True),
    "no-credentials": Bad(("no AWS credentials found",), no_credentials=True),
    "unreachable-endpoint": Bad(
        ("cannot reach the SQS endpoint (http://127.0.0.1:9)",),
        args=("--endpoint-url", "http://127.0.0.1:9"),
    ),
    "batch-size-0": Bad(("--batch-size must be 1 to 10,000, got 0",), args=("--batch-size", "0")),
    "batch-size-20-no-window": Bad(
        ("a --batch-size above 10 needs a --batching-window of at least 1 second",),
        args=("--batch-size", "20"),
    ),
    "timeout-above-visibility": Bad(
        ("the queue's visibility timeout (30 s) is shorter than --timeout (60 s)",),
        args=("--timeout", "60"),
    ),
    "fifo-batch-size-and-window": Bad(
        (
            "a FIFO queue takes a --batch-size of at most 10, got 20",
            "a FIFO queue takes no --batching-window",
        ),
        args=("--batch-size", "20", "--batching-window", "1"),
        fifo=True,
    ),
}


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_bad_input_is_one_line_and_exit_2_before_receiving(
    local_sqs: LocalSQS, bad: Bad, tmp_path: Path
) -> None:
    queue = local_sqs.create_queue(fifo=bad.fifo)
    queue.send(numbered(3), message_group_id="g" if bad.fifo else None)
    url = queue.url
    if bad.missing_queue:
        url = f"{local_sqs.endpoint_url}/123456789012/no-such-queue-{uuid.uuid4().hex[:8]}"
    env = base_env(local_sqs)
    if bad.no_credentials:
        env.pop("AWS_ACCESS_KEY_ID")
        env.pop("AWS_SECRET_ACCESS_KEY")
        env.update(
            AWS_CONFIG_FILE="/dev/null",
            AWS_SHARED_CREDENTIALS_FILE="/dev/null",
            AWS_EC2_METADATA_DISABLED="true",
        )
    env[LOG] = str(tmp_path / "handler.jsonl")

    done = aiobatch("run", bad.handler, "--queue-url", url, "--wait-time", "1", *bad.args, env=env)

    report = f"exit code {done.returncode}\nstderr:\n{done.stderr}"
    assert done.returncode == 2, report
    for phrase in bad.phrases:
        assert phrase in done.stderr, report
    assert "Traceback" not in done.stderr, report
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, report
    assert lines[0].startswith("aiobatch: error: "), report
    assert not (tmp_path / "handler.jsonl").exists(), "the handler must not have run"
    # Nothing was received: every message is still visible.
    assert queue.approximate_count(include_hidden=True) == 3
    assert queue.approximate_count() == 3


# --- output -----------------------------------------------------------------------------


def test_json_output_has_started_and_summary_events(workers: Workers, local_sqs: LocalSQS) -> None:
    queue = local_sqs.create_queue(visibility_timeout=1)
    bodies = numbered(6)  # 1, 3 and 5 fail on their first receive, then succeed
    queue.send(bodies)
    worker = workers.start(
        f"{HANDLERS}:fail_odd_once",
        "--queue-url",
        queue.url,
        "--timeout",
        "1",
        "--until-empty",
        "--json",
    )
    assert worker.wait(15) == 0, worker.report()

    events = worker.json_lines()
    assert events, worker.report()
    for event in events:
        assert {"time", "level", "event", "message"} <= set(event), event
    started = [event for event in events if event["event"] == "started"]
    assert len(started) == 1, worker.report()
    assert started[0]["queue_url"] == queue.url
    assert started[0]["queue_arn"] == queue.arn
    assert started[0]["fifo"] is False
    assert started[0]["batch_size"] == 10
    assert started[0]["timeout"] == 1
    summary = events[-1]
    assert summary["event"] == "summary", worker.report()
    assert summary["received"] == 9
    assert summary["redelivered"] == 3
    assert summary["succeeded"] == 6
    assert summary["failed"] == 3
    assert summary["deleted"] == 6
    assert summary["undeleted"] == 0
    assert summary["released"] == 0
    assert summary["failed_invocations"] == 0
    assert summary["invocations"] >= 2
    assert sorted(entry["body"] for entry in worker.log("processed")) == sorted(bodies)
    assert queue.approximate_count(include_hidden=True) == 0


@pytest.mark.parametrize(
    ("handler", "json_lines"),
    [("raise_with_body", False), ("async_raise_with_body", True)],
    ids=["def-text", "async-json"],
)
def test_no_record_data_in_the_output(
    workers: Workers, local_sqs: LocalSQS, handler: str, json_lines: bool
) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    body = json.dumps({"card": secret})
    queue = local_sqs.create_queue()
    queue.send([body])
    output = ("--json",) if json_lines else ()
    worker = workers.start(f"{HANDLERS}:{handler}", "--queue-url", queue.url, "-v", *output)
    worker.wait_for_invocation()
    worker.wait_for_stderr("raised ValueError")
    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait(8) == 0, worker.report()

    stderr, stdout = worker.stderr, worker.stdout
    assert "ValueError" in stderr
    assert secret not in stderr
    assert secret not in stdout
    assert "cannot handle the record" not in stderr
    if json_lines:
        failed = [e for e in worker.json_lines() if e["event"] == "invocation_failed"]
        assert len(failed) == 1, worker.report()
        assert failed[0]["problem"] == "raised ValueError"
        assert failed[0]["deleted"] == 0
    # A failed batch is not deleted.
    assert queue.approximate_count(include_hidden=True) == 1


def assert_a_base_exception_fails_only_its_batch(
    workers: Workers, local_sqs: LocalSQS, handler: str, exception: str
) -> None:
    """What Lambda does when a handler raises anything, and what the worker does for a
    ``def`` handler: the invocation fails, its messages come back, the worker goes on;
    the output names the exception's type, never its text."""
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    queue = local_sqs.create_queue(visibility_timeout=1)
    queue.send([json.dumps({"card": secret})])
    worker = workers.start(
        f"{HANDLERS}:{handler}",
        "--queue-url",
        queue.url,
        "--timeout",
        "1",
        env={RAISE: exception},
    )
    # The message comes back after 1 s and is invoked again: the worker still receives.
    wait_until(
        lambda: len(worker.invocations()) >= 2 or worker.process.poll() is not None,
        8,
        "a second invocation",
        lambda: f"{len(worker.invocations())} invocation(s)\n{worker.report()}",
    )
    assert worker.process.poll() is None, f"the worker ended\n{worker.report()}"
    worker.wait_for_stderr(f"the handler raised {exception}")
    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait(8) == 0, worker.report()

    stderr = worker.stderr
    assert secret not in stderr
    assert secret not in worker.stdout
    assert "Traceback" not in stderr
    assert summary_count(stderr, "deleted") == 0
    assert summary_count(stderr, "failed") >= 2
    assert queue.approximate_count(include_hidden=True) == 1  # never deleted


@pytest.mark.parametrize("exception", BASE_EXCEPTIONS)
def test_a_def_handler_raising_a_base_exception_fails_only_its_batch(
    workers: Workers, local_sqs: LocalSQS, exception: str
) -> None:
    assert_a_base_exception_fails_only_its_batch(workers, local_sqs, "base_exception", exception)


@pytest.mark.parametrize("exception", BASE_EXCEPTIONS)
def test_an_async_handler_raising_a_base_exception_fails_only_its_batch(
    workers: Workers, local_sqs: LocalSQS, exception: str
) -> None:
    """An ``async def`` handler's SystemExit or KeyboardInterrupt used to end the worker
    at once with a traceback holding the record's body; its CancelledError silently
    ended the slot's receive loop."""
    assert_a_base_exception_fails_only_its_batch(
        workers, local_sqs, "async_base_exception", exception
    )


# --- send -------------------------------------------------------------------------------


def test_send_bodies_given_as_arguments(local_sqs: LocalSQS) -> None:
    queue = local_sqs.create_queue()
    bodies = ["plain text", '{"a": 1}', "third"]
    done = aiobatch("send", "--queue-url", queue.url, *bodies, env=base_env(local_sqs))
    assert done.returncode == 0, done.stderr
    assert "sent 3 message(s)" in done.stderr
    assert sorted(queue.drain_bodies()) == sorted(bodies)


def test_send_a_json_lines_file(local_sqs: LocalSQS, tmp_path: Path) -> None:
    queue = local_sqs.create_queue()
    bodies = numbered(12)  # more than one SendMessageBatch
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join([*bodies[:5], "", *bodies[5:]]) + "\n", encoding="utf-8")
    done = aiobatch("send", "--queue-url", queue.url, "--file", str(path), env=base_env(local_sqs))
    assert done.returncode == 0, done.stderr
    assert "sent 12 message(s)" in done.stderr
    assert sorted(queue.drain_bodies()) == sorted(bodies)


def test_send_lines_on_stdin(local_sqs: LocalSQS) -> None:
    queue = local_sqs.create_queue()
    bodies = ['{"x": "a"}', '["b"]', "3"]
    done = aiobatch(
        "send", "--queue-url", queue.url, env=base_env(local_sqs), stdin="\n".join(bodies) + "\n"
    )
    assert done.returncode == 0, done.stderr
    assert "sent 3 message(s)" in done.stderr
    assert sorted(queue.drain_bodies()) == sorted(bodies)


def test_send_to_a_fifo_queue_needs_a_group_id(local_sqs: LocalSQS) -> None:
    queue = local_sqs.create_queue(fifo=True)
    bodies = numbered(3)
    env = base_env(local_sqs)
    done = aiobatch("send", "--queue-url", queue.url, *bodies, env=env)
    assert done.returncode == 2, done.stderr
    assert f"{queue.url} is a FIFO queue: pass --group-id" in done.stderr
    assert "Traceback" not in done.stderr
    assert queue.approximate_count(include_hidden=True) == 0

    done = aiobatch("send", "--queue-url", queue.url, "--group-id", "g", *bodies, env=env)
    assert done.returncode == 0, done.stderr
    assert queue.drain_bodies() == bodies  # in order, one group


def test_send_a_line_that_is_not_json_names_it(local_sqs: LocalSQS, tmp_path: Path) -> None:
    queue = local_sqs.create_queue()
    path = tmp_path / "messages.jsonl"
    path.write_text('{"n": 1}\n{"n": 2\n{"n": 3}\n', encoding="utf-8")
    env = base_env(local_sqs)
    done = aiobatch("send", "--queue-url", queue.url, "--file", str(path), env=env)
    assert done.returncode == 2, done.stderr
    assert f"line 2 of {path} is not JSON" in done.stderr
    assert "Traceback" not in done.stderr

    done = aiobatch("send", "--queue-url", queue.url, env=env, stdin='{"n": 1}\n\nnope\n')
    assert done.returncode == 2, done.stderr
    assert "line 3 of standard input is not JSON" in done.stderr
    assert "Traceback" not in done.stderr
    assert queue.approximate_count(include_hidden=True) == 0  # not even the good lines


# --- run --local and demo ---------------------------------------------------------------


def test_run_local_sends_a_file_and_runs_until_empty(tmp_path: Path) -> None:
    bodies = numbered(25)
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(bodies) + "\n", encoding="utf-8")
    log = tmp_path / "handler.jsonl"
    env = base_env()
    # --local runs its own SQS and ignores the endpoint of the environment.
    env["AWS_ENDPOINT_URL_SQS"] = "http://127.0.0.1:9"
    env[LOG] = str(log)
    done = aiobatch(
        "run",
        f"{HANDLERS}:handler",
        "--local",
        "--local-port",
        "0",
        "--send",
        str(path),
        "--until-empty",
        "--wait-time",
        "1",
        env=env,
        timeout=40,
    )
    assert done.returncode == 0, done.stderr
    assert "sent 25 message(s)" in done.stderr
    assert summary_count(done.stderr, "deleted") == 25
    assert "Traceback" not in done.stderr
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    processed = [entry["body"] for entry in entries if entry["kind"] == "processed"]
    assert sorted(processed) == sorted(bodies)


def test_demo_accounts_for_every_order() -> None:
    started = time.monotonic()
    done = aiobatch("demo", env=base_env(), timeout=55)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert took < 60
    assert "Every order is accounted for" in done.stderr
    assert "0 lost" in done.stderr
    assert "Traceback" not in done.stderr

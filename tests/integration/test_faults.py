"""Delete mode under faults: a proxy in front of moto throttles, fails, resets, hangs,
half-answers and garbles DeleteMessageBatch, and hypothesis picks the schedules.

Whatever happens, every message ends processed successfully at least once or in the
dead-letter queue, none is deleted without a successful handler run, and every call
returns before its deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import ClientSession, web
from botocore.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiobatch import (
    PartialSQSProcessor,
    SQSBatchProcessingError,
    async_batch_processor,
    batch_processor,
)
from aiobatch.testing import FakeLambdaContext, LocalSQS, event_from_messages

FAULTS = ["ok", "throttle", "throttle-query", "500", "reset", "hang", "partial", "garbage", "slow"]
HANG = 5.0  # longer than any deadline here: only the client's timeout or the deadline ends it
TIMEOUT = 2.5  # the fake Lambda function's timeout, seconds


def _error(status: int, code: str, query_code: str | None = None) -> web.Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    if query_code is not None:
        headers["x-amzn-query-error"] = f"{query_code};Sender"
    body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": "injected"})
    return web.Response(
        status=status, body=body, content_type="application/x-amz-json-1.0", headers=headers
    )


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of moto, on a thread of its own.

    Every request but DeleteMessageBatch goes through untouched. Each DeleteMessageBatch
    takes the next fault of ``faults`` (``ok`` once they run out).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.faults: deque[str] = deque()
        self.seen: list[str] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _serve(self) -> None:
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        async with ClientSession() as self._session:
            self._ready.set()
            await self._stop.wait()
        await runner.cleanup()

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, bytes, str]:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            return answer.status, await answer.read(), answer.content_type

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        target = request.headers.get("X-Amz-Target", "")
        fault = "ok"
        if target.endswith("DeleteMessageBatch"):
            fault = self.faults.popleft() if self.faults else "ok"
            self.seen.append(fault)
        if fault == "throttle":
            return _error(400, "RequestThrottled", "RequestThrottled")
        if fault == "throttle-query":
            return _error(400, "RequestThrottled", "AWS.SimpleQueueService.RequestThrottled")
        if fault == "500":
            return _error(500, "InternalError")
        if fault == "reset":
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)
        if fault == "hang":
            await asyncio.sleep(HANG)
        if fault == "garbage":
            return web.Response(status=200, body=b"{not json", content_type="application/json")
        if fault == "slow":
            await asyncio.sleep(0.3)
        if fault == "partial":
            # The first entry fails on the server's side; the rest really are deleted.
            payload = json.loads(body)
            first, *rest = payload["Entries"]
            answer: dict[str, Any] = {"Successful": [], "Failed": []}
            if rest:
                payload["Entries"] = rest
                status, data, _ = await self._forward(request, json.dumps(payload).encode())
                answer = json.loads(data) if status == 200 else answer
            answer.setdefault("Failed", []).append(
                {"Id": first["Id"], "SenderFault": False, "Code": "InternalError", "Message": "x"}
            )
            return web.json_response(answer, content_type="application/x-amz-json-1.0")
        status, data, content_type = await self._forward(request, body)
        return web.Response(status=status, body=data, content_type=content_type)


@pytest.fixture(scope="module")
def local_sqs() -> Iterator[LocalSQS]:
    with LocalSQS() as sqs:
        yield sqs


@pytest.fixture(scope="module")
def proxy(local_sqs: LocalSQS) -> Iterator[FaultProxy]:
    with FaultProxy(local_sqs.endpoint_url) as fault_proxy:
        yield fault_proxy


def drain(client: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        answer = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        messages = answer.get("Messages", [])
        if not messages:
            return bodies
        bodies += [m["Body"] for m in messages]


FACADES = ["decorator", "context manager", "async decorator", "async context manager"]


def invoker(facade: str, processor: PartialSQSProcessor, handler: Any) -> Any:
    """A Lambda handler that runs ``processor`` through ``facade``."""
    if facade == "decorator":
        return batch_processor(record_handler=handler, processor=processor)(lambda e, c: None)
    if facade == "async decorator":

        async def inner(event: Any, context: Any) -> None:
            return None

        wrapped = async_batch_processor(record_handler=handler, processor=processor)(inner)
        return lambda event, context: asyncio.run(wrapped(event, context))
    if facade == "context manager":

        def with_block(event: Any, context: Any) -> None:
            with processor(event["Records"], handler, context):
                processor.process()

        return with_block

    async def async_with_block(event: Any, context: Any) -> None:
        async with processor(event["Records"], handler, context):
            await processor.aprocess()

    return lambda event, context: asyncio.run(async_with_block(event, context))


def run_until_empty(
    local_sqs: LocalSQS,
    proxy: FaultProxy,
    count: int,
    poison: set[int],
    schedule: list[str],
    facade: str = "decorator",
) -> None:
    """Send ``count`` messages and play Lambda until the queue is empty, the faults of
    ``schedule`` hitting the deletes; then check what became of every message."""
    proxy.faults = deque(schedule)
    queue = local_sqs.create_queue(dead_letter_queue=True, max_receive_count=2)
    assert queue.dead_letter is not None
    client = local_sqs.client
    bodies = [json.dumps({"n": n, "poison": n in poison}) for n in range(count)]
    queue.send(bodies)

    succeeded: list[str] = []

    def record_handler(record: Any) -> None:
        if record.json_body["poison"]:
            raise ValueError("poison")
        succeeded.append(record.body)

    processor = PartialSQSProcessor(
        config=Config(read_timeout=0.5, connect_timeout=0.5, retries={"total_max_attempts": 3})
    )

    lambda_handler = invoker(facade, processor, record_handler)
    late: list[float] = []
    for _ in range(40):
        answer = client.receive_message(
            QueueUrl=queue.url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            MessageSystemAttributeNames=["All"],
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        context = FakeLambdaContext(TIMEOUT)
        began = time.monotonic()
        with contextlib.suppress(SQSBatchProcessingError):
            lambda_handler(event_from_messages(messages, queue_arn=queue.arn), context)
        # Past Lambda's timeout, in seconds. The processor aims to return 100 ms before
        # it; a loaded test machine once paused this process for longer than that (the
        # context read 0 ms left), so up to 100 ms past is not counted late.
        overrun = time.monotonic() - began - TIMEOUT
        if overrun > 0.1:
            late.append(overrun)
        # What was not deleted comes back at once, as after its visibility timeout.
        for message in messages:
            with contextlib.suppress(client.exceptions.ReceiptHandleIsInvalid):
                client.change_message_visibility(
                    QueueUrl=queue.url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
    else:
        pytest.fail("the queue never emptied")

    remaining = drain(client, queue.url)
    dead = drain(client, queue.dead_letter.url)
    deleted = [b for b in bodies if b not in dead and b not in remaining]
    assert late == []  # every call returned by its deadline
    assert remaining == []
    # Nothing lost: every message was processed successfully at least once, or is in
    # the dead-letter queue.
    assert [b for b in bodies if b not in succeeded and b not in dead] == []
    # Nothing deleted without a successful handler run.
    assert [b for b in deleted if b not in succeeded] == []
    assert not any(json.loads(b)["poison"] for b in succeeded)


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_on_the_delete_path(
    local_sqs: LocalSQS, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    for name, value in local_sqs.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
    seen = len(proxy.seen)
    run_until_empty(local_sqs, proxy, 12, {4}, [fault] * 2)
    assert proxy.seen[seen : seen + 2] == [fault, fault]


@pytest.mark.timeout(600)  # 30 examples, some waiting out hangs: about 45 s, more on a busy CI
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    count=st.integers(1, 25),
    data=st.data(),
    schedule=st.lists(st.sampled_from(FAULTS), max_size=6),
    facade=st.sampled_from(FACADES),
)
def test_no_message_is_lost_or_wrongly_deleted_under_faults(
    local_sqs: LocalSQS,
    proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    data: st.DataObject,
    schedule: list[str],
    facade: str,
) -> None:
    for name, value in local_sqs.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", proxy.url)
    poison = data.draw(st.sets(st.integers(0, count - 1)))
    run_until_empty(local_sqs, proxy, count, poison, schedule, facade)

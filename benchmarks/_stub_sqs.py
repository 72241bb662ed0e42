"""A stub SQS endpoint for the delete benchmarks, run in its own process.

``python -m benchmarks._stub_sqs --delay 0.005`` listens on 127.0.0.1 (a free port),
prints ``PORT <port>``, and answers each DeleteMessageBatch (JSON protocol) after
``delay`` seconds with every entry Successful, until its standard input closes.
``GET /__stats`` returns what it has seen: calls, entries and connections.

Its own process, so that serving requests never competes with the client for the
GIL or the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
import weakref

from aiohttp import web

JSON_1_0 = "application/x-amz-json-1.0"


class Stub:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self.entries = 0
        self.connections = 0
        self._seen: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method == "GET" and request.path == "/__stats":
            stats = {"calls": self.calls, "entries": self.entries, "connections": self.connections}
            return web.json_response(stats)
        transport = request.transport
        if transport is not None and transport not in self._seen:
            self._seen.add(transport)
            self.connections += 1
        target = request.headers.get("X-Amz-Target", "")
        body = json.loads(await request.read() or b"{}")
        if target != "AmazonSQS.DeleteMessageBatch":
            error = {
                "__type": "com.amazonaws.sqs#UnsupportedOperation",
                "message": f"this stub answers DeleteMessageBatch only, not {target!r}",
            }
            return web.Response(status=400, body=json.dumps(error), content_type=JSON_1_0)
        await asyncio.sleep(self.delay)
        entries = body.get("Entries", [])
        self.calls += 1
        self.entries += len(entries)
        answer = {"Successful": [{"Id": entry["Id"]} for entry in entries], "Failed": []}
        return web.Response(
            body=json.dumps(answer),
            content_type=JSON_1_0,
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )


async def serve(delay: float) -> None:
    stub = Stub(delay)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stub.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.005, help="seconds before answering")
    args = parser.parse_args()
    asyncio.run(serve(args.delay))


if __name__ == "__main__":
    main()

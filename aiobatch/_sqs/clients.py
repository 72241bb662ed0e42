"""aioboto3 SQS clients, one per region, cached per event loop and closed with it.

aioboto3 is imported here, lazily, the first time a client is needed: the
partial-response path never pays for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

logger = logging.getLogger("aiobatch.sqs")

DEFAULT_MAX_POOL_CONNECTIONS = 50

COLD_CLIENT_TIME = 0.5
"""Seconds the first call on a loop may need to make its client (aioboto3 is imported
when the processor is made): about 0.07 s on a developer machine, several times that on
a small Lambda."""


def default_config(user_config: Any = None) -> Any:
    """Our client defaults (standard retry mode, a pool sized for concurrent calls),
    overridden by anything the user's botocore ``Config`` sets."""
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "total_max_attempts": 5},
        max_pool_connections=DEFAULT_MAX_POOL_CONNECTIONS,
    )
    return config if user_config is None else config.merge(user_config)


class SQSClients:
    """aioboto3 SQS clients, one per region, cached for the event loop that made them.

    Clients are bound to their event loop. The cache is dropped when the loop changes,
    and closed when its loop shuts down: an async generator left suspended on the loop
    is finalised by ``loop.shutdown_asyncgens()``, which ``asyncio.run`` and
    ``asyncio.Runner.close`` (the sync facade's, at process exit) both call.
    :meth:`aclose` closes them earlier, for long-running use.
    """

    def __init__(self, session: Any = None, config: Any = None) -> None:
        self._session = session
        self._user_config = config
        self._config: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, Any] = {}
        self._lock: asyncio.Lock | None = None
        self._closer: AsyncIterator[None] | None = None
        self.created = 0

    def ready(self) -> bool:
        """Whether a client is made on the running loop."""
        return bool(self._clients) and self._loop is asyncio.get_running_loop()

    @property
    def max_pool_connections(self) -> int:
        return int(self._get_config().max_pool_connections)

    def _get_config(self) -> Any:
        if self._config is None:
            self._config = default_config(self._user_config)
        return self._config

    async def get(self, region: str) -> Any:
        """The client for ``region`` on the running loop, made on first use."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            await self._bind(loop)
        client = self._clients.get(region)
        if client is None:
            assert self._lock is not None
            async with self._lock:
                client = self._clients.get(region)
                if client is None:
                    client = await self._make(region)
                    self._clients[region] = client
        return client

    async def aclose(self) -> None:
        """Close the clients made on the running loop now; the next call makes new ones."""
        closer, self._closer = self._closer, None
        if closer is not None and self._loop is asyncio.get_running_loop():
            self._loop = None
            await closer.aclose()  # type: ignore[attr-defined]

    async def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        # Clients of another loop cannot be closed from this one; that loop's own
        # shutdown closes them.
        self._loop = loop
        self._clients = {}
        self._lock = asyncio.Lock()
        self._closer = closer = _close_at_shutdown(self._clients)
        # Held here until its loop shuts down: dropped with its owner, the generator
        # would be finalised on a loop that may never run again, leaving clients open.
        _closers[id(self._clients)] = closer
        await anext(closer)

    async def _make(self, region: str) -> Any:
        session = self._session
        if session is None:
            import aioboto3

            session = self._session = aioboto3.Session()
        client = await session.client(
            "sqs", region_name=region, config=self._get_config()
        ).__aenter__()
        self.created += 1
        return client


_closers: dict[int, AsyncIterator[None]] = {}


async def _close_at_shutdown(clients: dict[str, Any]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        _closers.pop(id(clients), None)
        for client in list(clients.values()):
            try:
                await client.close()
            except Exception:  # closing must not mask the reason the loop is ending
                logger.debug("closing an SQS client failed", exc_info=True)
        clients.clear()

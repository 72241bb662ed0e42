"""aioboto3 SQS clients, one per region, cached per event loop and closed with it.

aioboto3 is imported here, lazily, the first time a client is needed: the
partial-response path never pays for it.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import weakref
from collections.abc import AsyncIterator
from typing import Any

from .._version import __version__

logger = logging.getLogger("aiobatch.sqs")

DEFAULT_MAX_POOL_CONNECTIONS = 50

COLD_CLIENT_TIME = 0.5
"""Seconds the first call on a loop may need to make its client (aioboto3 is imported
when the processor is made): about 0.07 s on a developer machine, several times that on
a small Lambda."""


def user_agent() -> str:
    """The User-Agent of aiobatch's requests, fixed when the client is made.

    botocore otherwise builds its own twice a request (about a fifth of the CPU time of
    a DeleteMessageBatch); with a fixed one it appends its session's and the
    ``Config``'s ``user_agent_extra``.
    """
    import platform

    from aiobotocore import __version__ as aiobotocore_version

    parts = [
        f"aiobatch/{__version__}",
        f"aiobotocore/{aiobotocore_version}",
        f"lang/python#{platform.python_version()}",
    ]
    execution_env = os.environ.get("AWS_EXECUTION_ENV")
    if execution_env:
        parts.append(f"exec-env/{execution_env}")
    return " ".join(parts)


def default_config(user_config: Any = None, *, fixed_user_agent: bool = True) -> Any:
    """Our client defaults, overridden by anything the user's botocore ``Config`` sets.

    ``standard`` retries and a pool sized for concurrent calls; no parameter validation,
    since aiobatch builds and checks every entry it sends; and a fixed User-Agent
    (:func:`user_agent`), unless ``fixed_user_agent`` is false or the user's config
    sets ``user_agent_appid``, which only botocore's own User-Agent carries.
    """
    from aiobotocore.config import AioConfig
    from botocore.config import Config

    options: dict[str, Any] = {
        "retries": {"mode": "standard", "total_max_attempts": 5},
        "max_pool_connections": DEFAULT_MAX_POOL_CONNECTIONS,
        "parameter_validation": False,
    }
    if fixed_user_agent and getattr(user_config, "user_agent_appid", None) is None:
        options["user_agent"] = user_agent()
    config = Config(**options)
    if user_config is None:
        return config
    merged = config.merge(user_config)
    if isinstance(user_config, AioConfig):
        # botocore's merge makes a plain Config: keep what only aiobotocore's holds.
        merged = AioConfig(user_config.connector_args).merge(merged)
        merged.http_session_cls = user_config.http_session_cls
    return merged


def _app_id_configured(session: Any) -> bool:
    """Whether ``session`` (an ``aioboto3.Session``) gives its clients an application id
    (``AWS_SDK_UA_APP_ID``, ``sdk_ua_app_id`` in the profile)."""
    botocore_session = getattr(session, "_session", None)
    get_config_variable = getattr(botocore_session, "get_config_variable", None)
    return get_config_variable is not None and get_config_variable("user_agent_appid") is not None


class _LoopClients:
    """The clients made on one event loop, and what closes them."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.lock = asyncio.Lock()
        self.closer = _close_at_shutdown(self.clients)
        # Held until its loop shuts down: dropped with its owner, the generator would
        # be finalised on a loop that may never run again, leaving clients open.
        _closers[id(self.clients)] = self.closer
        _loops_of[id(self.clients)] = (weakref.ref(asyncio.get_running_loop()), self.clients)


class SQSClients:
    """aioboto3 SQS clients, one per region, cached for the event loop that made them.

    Clients are bound to their event loop, so each loop has its own (kept while the loop
    lives: switching between ``asyncio.run`` and the sync facade reuses the clients of
    each). They are closed when their loop shuts down: an async generator left suspended
    on the loop is finalised by ``loop.shutdown_asyncgens()``, which ``asyncio.run`` and
    ``asyncio.Runner.close`` (the sync facade's, at process exit) both call.
    :meth:`aclose` closes the running loop's clients earlier, for long-running use.
    """

    def __init__(
        self, session: Any = None, config: Any = None, *, endpoint_url: str | None = None
    ) -> None:
        self._session = session
        self._user_config = config
        self._endpoint_url = endpoint_url
        self._config: Any = None
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = (
            weakref.WeakKeyDictionary()
        )
        self.created = 0

    def ready(self) -> bool:
        """Whether a client is made on the running loop."""
        state = self._loops.get(asyncio.get_running_loop())
        return state is not None and bool(state.clients)

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
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopClients()
            await anext(state.closer)
        client = state.clients.get(region)
        if client is None:
            async with state.lock:
                client = state.clients.get(region)
                if client is None:
                    client = await self._make(region)
                    state.clients[region] = client
        return client

    async def aclose(self) -> None:
        """Close the clients made on the running loop now; the next call makes new ones."""
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None:
            await state.closer.aclose()  # type: ignore[attr-defined]

    async def _make(self, region: str) -> Any:
        session = self._session
        if session is None:
            import aioboto3

            session = self._session = aioboto3.Session()
        config = self._get_config()
        if _app_id_configured(session):
            config = default_config(self._user_config, fixed_user_agent=False)
        client = await session.client(
            "sqs", region_name=region, endpoint_url=self._endpoint_url, config=config
        ).__aenter__()
        self.created += 1
        return client


_closers: dict[int, AsyncIterator[None]] = {}
_loops_of: dict[int, tuple[weakref.ref[asyncio.AbstractEventLoop], dict[str, Any]]] = {}


@atexit.register
def _close_orphans() -> None:
    """At exit, close the clients of loops that were closed without shutting down their
    async generators (``loop.close()`` alone), which would otherwise never be closed."""
    orphans: list[Any] = []
    for key, (loop_ref, clients) in list(_loops_of.items()):
        loop = loop_ref()
        if clients and (loop is None or loop.is_closed()):
            orphans.extend(clients.values())
            clients.clear()
            _loops_of.pop(key, None)
            _closers.pop(key, None)
    if not orphans:
        return

    async def close_all() -> None:
        for client in orphans:
            try:
                await client.close()
            except Exception:  # its transports died with their loop: nothing to wait for
                logger.debug("closing an orphaned SQS client failed", exc_info=True)

    asyncio.run(close_all())


async def _close_at_shutdown(clients: dict[str, Any]) -> AsyncIterator[None]:
    try:
        yield
    finally:
        _closers.pop(id(clients), None)
        _loops_of.pop(id(clients), None)
        for client in list(clients.values()):
            try:
                await client.close()
            except Exception:  # closing must not mask the reason the loop is ending
                logger.debug("closing an SQS client failed", exc_info=True)
        clients.clear()

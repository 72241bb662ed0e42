"""Modules imported when first used.

``asyncio`` takes about as long to import as the rest of aiobatch, and a batch of plain
``def`` handlers run without an event loop never uses it: the modules that need it hold
a :class:`LazyModule` in its place, which imports it on first use.
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyModule:
    """Stands in for a module in its importer's globals until one of its attributes is
    read; then imports it and puts it in its own place, so that later reads cost
    nothing."""

    __slots__ = ("_name", "_namespace")

    def __init__(self, name: str, namespace: dict[str, Any]) -> None:
        self._name = name
        self._namespace = namespace

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self._name)
        self._namespace[self._name] = module
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported when first used>"

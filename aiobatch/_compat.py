"""Names that exist only so that code written for Powertools runs unchanged."""

from __future__ import annotations

from typing import Any

from ._response_mode import BatchProcessor


class AsyncBatchProcessor(BatchProcessor):
    """Powertools' name for :class:`BatchProcessor` with async handlers.

    Every processor here takes async and sync handlers alike; this class exists so
    that code written for Powertools runs after changing only the import.
    """

    def async_process(self) -> list[Any]:
        """Powertools' name: run the records from sync code (``process()``)."""
        return self.process()

"""``python -m aiobatch``: the ``aiobatch`` command."""

from ._cli import entry_point

entry_point()

"""The version of aiobatch: the one place it is written."""

__version__ = "0.1.0.dev0"
"""The version of aiobatch (of the ``aiobatch-lambda`` distribution)."""

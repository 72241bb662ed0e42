"""The SQS call layer: clients, chunked batch calls, and the seam delete mode uses."""

from .actions import AioSQSActions, SQSActions

__all__ = ["AioSQSActions", "SQSActions"]

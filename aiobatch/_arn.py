"""SQS queue ARNs: parsing one, and the queue URL it stands for.

The only ARN parser in the package: delete mode validates and groups by it, record
views build ``queue_url`` from it, and the SQS layer turns it into a URL on the
client's endpoint.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

_SQS_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):sqs:(?P<region>[a-z]+(?:-[a-z0-9]+)*-\d+):"
    r"(?P<account>\d{12}):(?P<name>[A-Za-z0-9_-]{1,75}(?:\.fifo)?|[A-Za-z0-9_-]{1,80})"
)

ARN_SHAPE = "arn:<partition>:sqs:<region>:<account>:<queue name>"

# The DNS suffix of each AWS partition, from botocore's partitions.json. SQS queue URLs
# use the same host as the regional endpoint: sqs.<region>.<suffix>.
_DNS_SUFFIXES = {
    "aws": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
    "aws-us-gov": "amazonaws.com",
    "aws-eusc": "amazonaws.eu",
    "aws-iso": "c2s.ic.gov",
    "aws-iso-b": "sc2s.sgov.gov",
    "aws-iso-e": "cloud.adc-e.uk",
    "aws-iso-f": "csp.hci.ic.gov",
}


class QueueRef(NamedTuple):
    """A queue named by an ``eventSourceARN``."""

    arn: str
    partition: str
    region: str
    account: str
    name: str

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")

    def url_on(self, endpoint_url: str) -> str:
        """The queue URL on an endpoint: ``<endpoint>/<account>/<name>``.

        A client's endpoint is right for the queue's partition and reflects any
        endpoint override, so delete mode builds its URLs this way.
        """
        return f"{endpoint_url.rstrip('/')}/{self.account}/{self.name}"

    def public_url(self) -> str:
        """The queue's URL on AWS's regional endpoint; ``ValueError`` for an unknown
        partition."""
        try:
            suffix = _DNS_SUFFIXES[self.partition]
        except KeyError:
            raise ValueError(
                f"unknown AWS partition {self.partition!r} in {self.arn!r}: cannot build its "
                "queue URL"
            ) from None
        return f"https://sqs.{self.region}.{suffix}/{self.account}/{self.name}"


@lru_cache(maxsize=256)
def parse_sqs_arn(arn: str) -> QueueRef | None:
    """The queue an SQS ARN names, or ``None`` when it is not a well-formed SQS ARN."""
    match = _SQS_ARN.fullmatch(arn)
    if match is None:
        return None
    return QueueRef(arn, match["partition"], match["region"], match["account"], match["name"])


def require_sqs_arn(arn: str) -> QueueRef:
    """Like :func:`parse_sqs_arn`, raising ``ValueError`` for anything else."""
    queue = parse_sqs_arn(arn) if isinstance(arn, str) else None
    if queue is None:
        raise ValueError(f"{arn!r} is not an SQS queue ARN ({ARN_SHAPE})")
    return queue

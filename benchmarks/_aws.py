"""The stub SQS endpoint of the delete benchmarks, and an AWS environment that points at
a local endpoint and nowhere else.

The stub runs in its own process; moto (case 6's record row) is ``aiobatch.testing.LocalSQS``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._events import REGION
from ._harness import ROOT


def aws_environ(endpoint: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (the process environment by default) without the developer's AWS
    settings, pointed at ``endpoint`` with fake credentials."""
    environ = {
        name: value
        for name, value in (os.environ if base is None else base).items()
        if not name.startswith("AWS_")
    }
    environ.update(
        AWS_ENDPOINT_URL_SQS=endpoint,
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return environ


@contextlib.contextmanager
def aws_env(endpoint: str) -> Iterator[None]:
    """Point this process's AWS clients at ``endpoint`` for the duration."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(aws_environ(endpoint, saved))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass(frozen=True, slots=True)
class StubSQS:
    url: str

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/__stats", timeout=10) as response:
            stats: dict[str, Any] = json.load(response)
        return stats


@contextlib.contextmanager
def stub_sqs(delay: float) -> Iterator[StubSQS]:
    """The stub SQS endpoint (``benchmarks._stub_sqs``) in a subprocess."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._stub_sqs", "--delay", str(delay)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the stub SQS server did not start: {line!r}")
        yield StubSQS(f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()

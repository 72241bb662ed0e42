"""Log records a handler writes go through the worker's output, as Lambda's runtime
takes them into the function's log: JSON lines under --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aiobatch.testing import LocalSQS

HANDLER = """
import logging

logging.basicConfig(level=logging.DEBUG)  # changes nothing, as in Lambda
logger = logging.getLogger("orders")


def lambda_handler(event, context):
    logger.warning("%d records to do", len(event["Records"]))
"""


def test_handler_logging_is_one_json_object_a_line(local_sqs: LocalSQS, tmp_path: Path) -> None:
    (tmp_path / "logging_app.py").write_text(HANDLER)
    queue = local_sqs.create_queue()
    queue.send(["a", "b"])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiobatch",
            "run",
            "logging_app:lambda_handler",
            "--queue-url",
            queue.url,
            "--wait-time",
            "1",
            "--until-empty",
            "--json",
        ],
        cwd=tmp_path,
        env={**os.environ, **local_sqs.env()},
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # all JSON
    logged = [line for line in lines if line["event"] == "log"]
    assert logged, result.stderr
    assert all(line["logger"] == "orders" and line["level"] == "warning" for line in logged)
    assert sum(int(line["message"].split()[1]) for line in logged) == 2
    assert lines[-1]["event"] == "summary"

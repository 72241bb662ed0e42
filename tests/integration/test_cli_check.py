"""``aiobatch check`` against the moto server: a function, its event source mappings
(SQS and Kinesis), and the queues behind them, made with boto3 as a deployment would.

moto keeps what CreateEventSourceMapping is given (``FunctionResponseTypes``,
``BisectBatchOnFunctionError``...) and answers ListEventSourceMappings and
GetFunctionConfiguration as Lambda does, so the command reads real API answers.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from aiobatch._cli import main
from aiobatch.testing import LocalSQS

REGION = "us-east-1"


@dataclass
class Deployment:
    endpoint: str
    lambda_client: Any
    sqs: Any
    kinesis: Any
    role: str

    def function(self, *, timeout: int = 30) -> str:
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", "def handler(event, context):\n    return {}\n")
        name = f"fn-{uuid.uuid4().hex[:12]}"
        self.lambda_client.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self.role,
            Handler="app.handler",
            Code={"ZipFile": archive.getvalue()},
            Timeout=timeout,
        )
        return name

    def queue(self, *, visibility: int = 180, dead_letter: bool = True) -> str:
        name = f"q-{uuid.uuid4().hex[:12]}"
        attributes = {"VisibilityTimeout": str(visibility)}
        if dead_letter:
            dlq_url = self.sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
            dlq_arn = self._arn(dlq_url)
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
            )
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        return self._arn(url)

    def _arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        arn: str = attributes["Attributes"]["QueueArn"]
        return arn

    def stream(self) -> str:
        name = f"s-{uuid.uuid4().hex[:12]}"
        self.kinesis.create_stream(StreamName=name, ShardCount=1)
        arn: str = self.kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]
        return arn

    def map(self, function: str, source: str, **settings: Any) -> str:
        if ":kinesis:" in source:
            settings.setdefault("StartingPosition", "LATEST")
        mapping = self.lambda_client.create_event_source_mapping(
            EventSourceArn=source, FunctionName=function, BatchSize=10, **settings
        )
        uuid_: str = mapping["UUID"]
        return uuid_


@pytest.fixture
def deployment(local_sqs: LocalSQS, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    for name, value in local_sqs.env().items():
        monkeypatch.setenv(name, value)
    endpoint = local_sqs.endpoint_url
    options: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": endpoint,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "config": Config(proxies={}),
    }
    clients = {name: boto3.client(name, **options) for name in ("lambda", "sqs", "kinesis", "iam")}
    role = clients["iam"].create_role(
        RoleName=f"r-{uuid.uuid4().hex[:12]}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    yield Deployment(endpoint, clients["lambda"], clients["sqs"], clients["kinesis"], role)
    for client in clients.values():
        client.close()


Check = Callable[..., tuple[int, str, str]]


@pytest.fixture
def check(deployment: Deployment, capsys: pytest.CaptureFixture[str]) -> Check:
    def run(function: str, *args: str) -> tuple[int, str, str]:
        code = main(["check", function, "--endpoint-url", deployment.endpoint, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _finding_lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if line.startswith("  ")]


def test_a_mapping_as_the_sam_example_sets_it_is_ok(deployment: Deployment, check: Check) -> None:
    function = deployment.function(timeout=30)
    mapping = deployment.map(
        function,
        deployment.queue(visibility=180),
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    code, out, err = check(function)
    assert code == 0, (out, err)
    assert f"(mapping {mapping})" in out
    assert _finding_lines(out) == ["ok"]
    assert out.rstrip().endswith("0 error(s), 0 warning(s)")


def test_report_batch_item_failures_off_is_an_error_in_partial_mode(
    deployment: Deployment, check: Check
) -> None:
    function = deployment.function()
    deployment.map(function, deployment.queue())
    code, out, _ = check(function)
    assert code == 1
    (line,) = _finding_lines(out)
    assert line.startswith("error: ReportBatchItemFailures is off")
    assert "deletes the whole batch, failed records included" in line


def test_delete_mode_needs_no_report_batch_item_failures(
    deployment: Deployment, check: Check
) -> None:
    function = deployment.function()
    deployment.map(function, deployment.queue())
    code, out, _ = check(function, "--mode", "delete")
    assert code == 0, out
    assert _finding_lines(out) == ["ok"]


def test_queue_settings_are_warnings(deployment: Deployment, check: Check) -> None:
    function = deployment.function(timeout=60)
    deployment.map(
        function,
        deployment.queue(visibility=300, dead_letter=False),
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    code, out, _ = check(function)
    assert code == 0  # warnings do not fail the check
    lines = _finding_lines(out)
    assert len(lines) == 2, lines
    assert lines[0].startswith("warning: the queue's VisibilityTimeout is 300 s, under 6 x")
    assert "Timeout of 60 s (360 s)" in lines[0]
    assert lines[1].startswith("warning: the queue has no RedrivePolicy")
    assert out.rstrip().endswith("0 error(s), 2 warning(s)")


@pytest.mark.parametrize(
    ("settings", "warnings"),
    [
        (
            {"BisectBatchOnFunctionError": True},
            ["BisectBatchOnFunctionError", "MaximumRetryAttempts"],
        ),
        ({"BisectBatchOnFunctionError": False, "MaximumRetryAttempts": 5}, []),
    ],
    ids=["bisecting-and-endless-retries", "as-advised"],
)
def test_a_stream_mapping_is_checked_for_bisecting_and_endless_retries(
    deployment: Deployment, check: Check, settings: dict[str, Any], warnings: list[str]
) -> None:
    function = deployment.function()
    deployment.map(
        function, deployment.stream(), FunctionResponseTypes=["ReportBatchItemFailures"], **settings
    )
    code, out, _ = check(function)
    assert code == 0
    lines = _finding_lines(out)
    if warnings:
        assert [line.split(":")[1].split()[0] for line in lines] == warnings
        assert all(line.startswith("warning: ") for line in lines)
    else:
        assert lines == ["ok"]


def test_delete_mode_on_a_stream_is_an_error(deployment: Deployment, check: Check) -> None:
    function = deployment.function()
    deployment.map(
        function,
        deployment.stream(),
        FunctionResponseTypes=["ReportBatchItemFailures"],
        MaximumRetryAttempts=5,
    )
    code, out, _ = check(function, "--mode", "delete")
    assert code == 1
    assert _finding_lines(out) == [
        "error: delete mode handles SQS only, and this mapping reads kinesis: use partial "
        "response mode (BatchProcessor and process_partial_response)"
    ]


def test_every_mapping_of_the_function_is_reported(deployment: Deployment, check: Check) -> None:
    function = deployment.function()
    good = deployment.map(
        function, deployment.queue(), FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    bad = deployment.map(function, deployment.queue())
    code, out, _ = check(function)
    assert code == 1
    assert f"(mapping {good})" in out
    assert f"(mapping {bad})" in out
    assert "2 event source mapping(s)" in out
    assert out.rstrip().endswith("1 error(s), 0 warning(s)")


def test_a_function_without_mappings_fails(deployment: Deployment, check: Check) -> None:
    code, out, err = check(deployment.function())
    assert code == 1
    assert out == ""
    assert "no event source mapping invokes it" in err


def test_a_function_that_does_not_exist_is_a_usage_error(check: Check) -> None:
    code, out, err = check("no-such-function")
    assert code == 2
    assert out == ""
    assert (
        err.strip() == "aiobatch: error: no function 'no-such-function' in this account and region"
    )


def test_an_endpoint_out_of_reach_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environ.items():
            patch.setenv(name, value)
        code = main(
            ["check", "fn", "--region", REGION, "--endpoint-url", f"http://127.0.0.1:{port}"]
        )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"aiobatch: error: cannot reach the endpoint (http://127.0.0.1:{port})")


def test_no_region_is_a_usage_error(check: Check, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    code, _, err = check("any-function")
    assert code == 2
    assert "no AWS region" in err


def test_aws_region_is_read(
    deployment: Deployment, check: Check, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda and most SDKs read AWS_REGION; botocore 1.40 reads only AWS_DEFAULT_REGION."""
    function = deployment.function()
    deployment.map(function, deployment.queue(), FunctionResponseTypes=["ReportBatchItemFailures"])
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", REGION)
    code, out, _ = check(function)
    assert code == 0, out


def test_the_installed_command_runs_it(deployment: Deployment) -> None:
    function = deployment.function()
    deployment.map(function, deployment.queue())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDEVMODE"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiobatch",
            "check",
            function,
            "--endpoint-url",
            deployment.endpoint,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "error: ReportBatchItemFailures is off" in done.stdout

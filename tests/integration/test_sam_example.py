"""examples/sam/: the SAM templates pass cfn-lint, have the settings aiobatch relies on,
and their handlers work as deployed, against the moto server."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cfnlint.decode import decode

from aiobatch import SQSBatchProcessingError
from aiobatch.testing import FakeLambdaContext, LocalSQS, kinesis_event

SAM = Path(__file__).resolve().parents[2] / "examples" / "sam"
TEMPLATES = [SAM / "template.yaml", SAM / "stream" / "template.yaml"]


def cfn_lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def template(path: Path) -> dict[str, Any]:
    parsed, problems = decode(str(path))
    assert not problems, problems
    assert parsed is not None
    return dict(parsed)


def resources(path: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template(path)["Resources"].items()
        if resource["Type"] == kind
    }


def statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in function["Properties"]["Policies"] for s in policy["Statement"]]


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return set(action) if isinstance(action, list) else {action}


def target(value: Any) -> str:
    """The resource a ``!GetAtt X.Arn`` names."""
    return str(value["Fn::GetAtt"][0] if "Fn::GetAtt" in value else value)


# -- the templates --


def test_the_templates_pass_cfn_lint() -> None:
    done = cfn_lint(*TEMPLATES)
    assert done.returncode == 0, done.stdout + done.stderr


def test_cfn_lint_does_check_them(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    text = TEMPLATES[0].read_text()
    broken.write_text(text.replace("Runtime: python3.13", "Runtime: python2.7"))
    done = cfn_lint(broken)
    assert done.returncode != 0
    assert "python2.7" in done.stdout


def test_queues_hide_a_batch_six_times_the_function_timeout_and_redrive() -> None:
    parsed = template(TEMPLATES[0])
    timeout = parsed["Globals"]["Function"]["Timeout"]
    queues = resources(TEMPLATES[0], "AWS::SQS::Queue")
    sources = {
        name: queue for name, queue in queues.items() if "RedrivePolicy" in queue["Properties"]
    }
    assert set(sources) == {"OrdersQueue", "PaymentsQueue"}
    for queue in sources.values():
        properties = queue["Properties"]
        assert properties["VisibilityTimeout"] >= 6 * timeout
        redrive = properties["RedrivePolicy"]
        assert target(redrive["deadLetterTargetArn"]) in queues
        assert 1 <= redrive["maxReceiveCount"] <= 10


def test_the_orders_mapping_reports_batch_item_failures_and_may_call_sqs() -> None:
    functions = resources(TEMPLATES[0], "AWS::Serverless::Function")
    orders = functions["OrdersFunction"]
    [event] = orders["Properties"]["Events"].values()
    mapping = event["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] <= 10 or mapping["MaximumBatchingWindowInSeconds"] >= 1
    assert mapping["ScalingConfig"]["MaximumConcurrency"] >= 2
    granted = {(a, target(s["Resource"])) for s in statements(orders) for a in actions(s)}
    assert {
        ("sqs:ChangeMessageVisibility", "OrdersQueue"),  # retry=Backoff(...)
        ("sqs:GetQueueAttributes", "OrdersQueue"),  # the RedrivePolicy
        ("sqs:SendMessage", "OrdersDeadLetterQueue"),  # non_retryable=
    } <= granted
    payments = functions["PaymentsFunction"]
    assert ("sqs:DeleteMessage", "PaymentsQueue") in {
        (a, target(s["Resource"])) for s in statements(payments) for a in actions(s)
    }


def test_no_statement_names_a_batch_action() -> None:
    # SQS authorises DeleteMessageBatch by sqs:DeleteMessage, and so on: a policy that
    # names the batch action grants nothing.
    for path in TEMPLATES:
        for function in resources(path, "AWS::Serverless::Function").values():
            for statement in statements(function):
                assert not {a for a in actions(statement) if a.endswith("Batch")}


def test_the_stream_mapping_reports_failures_and_does_not_bisect() -> None:
    [function] = resources(TEMPLATES[1], "AWS::Serverless::Function").values()
    [event] = function["Properties"]["Events"].values()
    assert event["Type"] == "Kinesis"
    mapping = event["Properties"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is False
    assert mapping["MaximumRetryAttempts"] >= 1


# -- the handlers, as deployed --


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def aws(local_sqs: LocalSQS, monkeypatch: pytest.MonkeyPatch) -> LocalSQS:
    for name, value in local_sqs.env().items():
        monkeypatch.setenv(name, value)
    return local_sqs


def test_the_orders_handler_backs_off_and_dead_letters(aws: LocalSQS) -> None:
    queue = aws.create_queue(dead_letter_queue=True, visibility_timeout=180)
    assert queue.dead_letter is not None
    queue.send([{"quantity": 1}, {"quantity": 0}])
    event = queue.receive_event(2, visibility_timeout=180)
    while len(event["Records"]) < 2:
        event["Records"] += queue.receive_event(1, visibility_timeout=180)["Records"]
    app = load(SAM / "src" / "app.py", "sam_orders_app")
    try:
        response = app.lambda_handler(event, FakeLambdaContext(30))
        json.dumps(response)  # what Lambda does with it
        assert response == {"batchItemFailures": []}  # the bad order went to the DLQ
        assert [json.loads(b) for b in queue.dead_letter.drain_bodies()] == [{"quantity": 0}]
    finally:
        app.processor.close()


def test_the_payments_handler_deletes_the_successes_and_raises(aws: LocalSQS) -> None:
    queue = aws.create_queue(visibility_timeout=180)
    queue.send([{"amount": 5}, {"currency": "EUR"}])
    event = queue.receive_event(2, visibility_timeout=180)
    while len(event["Records"]) < 2:
        event["Records"] += queue.receive_event(1, visibility_timeout=180)["Records"]
    module = load(SAM / "src" / "delete_mode.py", "sam_payments_app")
    try:
        with pytest.raises(SQSBatchProcessingError, match="1 of 2 records failed") as raised:
            module.lambda_handler(event, FakeLambdaContext(30))
        assert raised.value.undeleted_messages == []
    finally:
        module.processor.close()


def test_the_readings_handler_reports_where_the_shard_restarts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = load(SAM / "stream" / "src" / "app.py", "sam_readings_app")
    event = kinesis_event([{"value": 1}, {"bad": True}, {"value": 3}])
    response = app.lambda_handler(event, FakeLambdaContext(60))
    numbers = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": n} for n in numbers[1:]]}
    assert '"Failed":' in capsys.readouterr().out  # its EMF line


def test_the_requirements_install_this_project() -> None:
    # `sam build` installs them; it is not run here (it needs the package index).
    assert (SAM / "src" / "requirements.txt").read_text().split() == ["aiobatch-lambda[sqs]"]
    assert (SAM / "stream" / "src" / "requirements.txt").read_text().split() == ["aiobatch-lambda"]

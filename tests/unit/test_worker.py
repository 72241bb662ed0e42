"""The worker's rules that need no queue: judging a result as Lambda does, options,
the handler spec, the durations histogram, reading bodies to send."""

from __future__ import annotations

import io
import json
import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobatch._cli import UsageError, load_handler, main, read_bodies
from aiobatch._sqs.batch_calls import message_size, send_chunks
from aiobatch._sqs.events import lambda_record
from aiobatch._worker import (
    Histogram,
    Malformed,
    WorkerOptions,
    _size_bound,
    failed_identifiers,
    is_async_handler,
    json_size,
    region_of_url,
)

IDS = ["m-1", "m-2", "m-3"]


@pytest.mark.parametrize(
    "result",
    [
        None,
        {},
        {"statusCode": 200},
        {"batchItemFailures": []},
        {"batchItemFailures": None},
        "ok",
        ["m-1"],
        3,
        {"amount": Decimal("1.5")},
    ],
    ids=repr,
)
def test_a_result_without_failures_fails_nothing(result: Any) -> None:
    assert failed_identifiers(result, IDS, report=True) == set()


def test_reported_failures_are_the_failed_set() -> None:
    result = {"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]}
    assert failed_identifiers(result, IDS, report=True) == {"m-2", "m-3"}


def test_without_reporting_the_failures_are_ignored() -> None:
    result = {"batchItemFailures": [{"itemIdentifier": "m-2"}]}
    assert failed_identifiers(result, IDS, report=False) == set()


@pytest.mark.parametrize(
    ("result", "phrase"),
    [
        ({"batchItemFailures": [{"itemIdentifier": "elsewhere"}]}, "not in the batch"),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, "null, empty or not a string"),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, "null, empty or not a string"),
        ({"batchItemFailures": [{"itemIdentifier": 7}]}, "null, empty or not a string"),
        ({"batchItemFailures": [{"identifier": "m-1"}]}, "has no itemIdentifier"),
        ({"batchItemFailures": ["m-1"]}, "has no itemIdentifier"),
        ({"batchItemFailures": "m-1"}, "not a list"),
        ({"batchItemFailures": {"itemIdentifier": "m-1"}}, "not a list"),
        ({"value": object()}, "cannot serialise"),
        ({"value": float("nan")}, None),
    ],
    ids=lambda value: value if isinstance(value, str) or value is None else "",
)
def test_a_malformed_response_fails_the_whole_batch(result: Any, phrase: str | None) -> None:
    if phrase is None:  # Lambda's runtime writes NaN; it is not a failure report
        assert failed_identifiers(result, IDS, report=True) == set()
        return
    with pytest.raises(Malformed, match=phrase):
        failed_identifiers(result, IDS, report=True)


def test_an_unserialisable_result_fails_even_without_reporting() -> None:
    with pytest.raises(Malformed):
        failed_identifiers({"handler": print}, IDS, report=False)


def test_malformed_text_carries_no_identifier() -> None:
    secret = "customer-4711-card"
    with pytest.raises(Malformed) as caught:
        failed_identifiers({"batchItemFailures": [{"itemIdentifier": secret}]}, IDS, report=True)
    assert secret not in str(caught.value)


def test_options_defaults_are_lambdas() -> None:
    options = WorkerOptions(queue_url="https://sqs.us-east-1.amazonaws.com/1/q")
    assert (options.batch_size, options.batching_window, options.timeout) == (10, 0.0, 3.0)
    assert options.report_batch_item_failures is True
    assert options.memory_limit_in_mb == 128
    assert options.problems() == []


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"batch_size": 0}, "--batch-size must be 1 to 10,000"),
        ({"batch_size": 10_001, "batching_window": 1}, "--batch-size must be 1 to 10,000"),
        ({"batch_size": 11}, "needs a --batching-window of at least 1 second"),
        ({"batching_window": 301}, "--batching-window must be 0 to 300"),
        ({"batching_window": -1}, "--batching-window must be 0 to 300"),
        ({"concurrency": 0}, "--concurrency must be at least 1"),
        ({"timeout": 0}, "--timeout must be above 0"),
        ({"timeout": 901}, "at most 900"),
        ({"timeout": math.nan}, "--timeout must be above 0"),
        ({"memory_limit_in_mb": 64}, "--memory must be 128 to 10240"),
        ({"wait_time": 21}, "--wait-time must be 0 to 20"),
        ({"drain_timeout": -1}, "--drain-timeout must be 0 or more"),
        ({"drain_timeout": math.nan}, "--drain-timeout must be 0 or more"),
    ],
)
def test_bad_options_are_named(changes: dict[str, Any], phrase: str) -> None:
    options = WorkerOptions(queue_url="https://sqs.us-east-1.amazonaws.com/1/q", **changes)
    assert any(phrase in problem for problem in options.problems()), options.problems()


def test_a_big_batch_with_a_window_is_fine() -> None:
    options = WorkerOptions(queue_url="u", batch_size=10_000, batching_window=300)
    assert options.problems() == []


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1"),
        ("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1"),
        ("https://ap-south-1.queue.amazonaws.com/123456789012/q", "ap-south-1"),
        ("http://127.0.0.1:9324/123456789012/q", None),
        ("http://localhost:4566/000000000000/q", None),
    ],
)
def test_region_of_url(url: str, region: str | None) -> None:
    assert region_of_url(url) == region


def test_histogram_percentiles_within_two_percent() -> None:
    histogram = Histogram()
    assert histogram.percentile(0.5) is None
    for millis in range(1, 1001):
        histogram.add(millis / 1000)
    p50, p99 = histogram.percentile(0.5), histogram.percentile(0.99)
    assert p50 is not None
    assert p99 is not None
    assert p50 == pytest.approx(0.5, rel=0.02)
    assert p99 == pytest.approx(0.99, rel=0.02)
    assert histogram.count == 1000


class _AsyncCallable:
    async def __call__(self, event: Any, context: Any) -> None:
        return None


def test_is_async_handler() -> None:
    async def handler(event: Any, context: Any) -> None:
        return None

    def plain(event: Any, context: Any) -> None:
        return None

    assert is_async_handler(handler)
    assert is_async_handler(_AsyncCallable())
    assert not is_async_handler(plain)


@pytest.fixture
def handler_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"worker_app_{abs(hash(tmp_path)) % 10**8}"
    (tmp_path / f"{name}.py").write_text(
        "def lambda_handler(event, context):\n    return None\n\n"
        "class Nested:\n    @staticmethod\n    def handle(event, context):\n        return None\n\n"
        "NOT_CALLABLE = 3\n"
    )
    (tmp_path / "broken_app.py").write_text("raise RuntimeError('secret at import')\n")
    (tmp_path / "syntax_app.py").write_text("x = 1\ndef handler(:\n")
    (tmp_path / "needs_missing.py").write_text("import not_installed_package_xyz\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return name


def test_load_handler_forms(handler_module: str) -> None:
    assert load_handler(f"{handler_module}:lambda_handler").__name__ == "lambda_handler"
    assert load_handler(f"{handler_module}.lambda_handler").__name__ == "lambda_handler"
    assert load_handler(f"{handler_module}:Nested.handle").__name__ == "handle"


@pytest.mark.parametrize(
    ("spec", "phrase"),
    [
        ("no_such_module_xyz:handler", "no such module"),
        ("{module}:missing", "has no attribute 'missing'"),
        ("{module}:NOT_CALLABLE", "is not callable"),
        ("handler", "does not name a handler"),
        (":handler", "does not name a handler"),
        ("broken_app:handler", "RuntimeError raised at import: secret at import"),
        ("syntax_app:handler", r"SyntaxError in .*syntax_app.py, line 2"),
        ("needs_missing:handler", "imports 'not_installed_package_xyz'"),
    ],
)
def test_load_handler_errors(handler_module: str, spec: str, phrase: str) -> None:
    with pytest.raises(UsageError, match=phrase):
        load_handler(spec.format(module=handler_module))


def test_read_bodies(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text('{"id": 1}\n\n"text"\n[1, 2]\n')
    assert read_bodies(str(path), io.StringIO()) == ['{"id": 1}', '"text"', "[1, 2]"]
    assert read_bodies("-", io.StringIO('{"a": 1}\n')) == ['{"a": 1}']
    path.write_text('{"id": 1}\nnot json\n')
    with pytest.raises(UsageError, match=r"line 2 of .* is not JSON"):
        read_bodies(str(path), io.StringIO())
    with pytest.raises(UsageError, match="cannot read"):
        read_bodies(str(tmp_path / "absent.jsonl"), io.StringIO())
    path.write_bytes('{"name": "Zoë"}\n'.encode("latin-1"))
    with pytest.raises(UsageError, match="is not UTF-8 text"):
        read_bodies(str(path), io.StringIO())


PRINTABLE_ASCII = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@given(
    body=st.text(max_size=300),
    trace=PRINTABLE_ASCII,
    group=st.one_of(st.none(), PRINTABLE_ASCII.filter(bool)),
)
def test_the_size_bound_is_never_below_the_json_size(
    body: str, trace: str, group: str | None
) -> None:
    message: dict[str, Any] = {
        "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
        "ReceiptHandle": "AQEB" + "x" * 300,
        "Body": body,
        "Attributes": {"ApproximateReceiveCount": "1", "AWSTraceHeader": trace},
    }
    if group is not None:
        message["Attributes"] |= {"MessageGroupId": group, "SequenceNumber": "1" * 20}
    record = lambda_record(message, "arn:aws:sqs:eu-west-1:123456789012:orders", "eu-west-1")
    exact = json_size(record)
    assert exact == len(json.dumps(record, ensure_ascii=False).encode("utf-8")) + 2
    assert _size_bound(record) >= exact


def test_a_record_with_message_attributes_is_measured_exactly() -> None:
    message = {
        "MessageId": "m",
        "ReceiptHandle": "r",
        "Body": "b",
        "MessageAttributes": {"k": {"DataType": "String", "StringValue": "\U0001f600" * 50}},
    }
    record = lambda_record(message, "arn:aws:sqs:eu-west-1:123456789012:orders", "eu-west-1")
    assert _size_bound(record) == json_size(record)


def test_send_chunks_by_count_and_size() -> None:
    small = [{"MessageBody": "x"} for _ in range(23)]
    assert [len(chunk) for chunk in send_chunks(small)] == [10, 10, 3]
    big = [{"MessageBody": "y" * 300_000} for _ in range(7)]
    assert [len(chunk) for chunk in send_chunks(big)] == [3, 3, 1]
    attributed = [
        {
            "MessageBody": "z" * 500_000,
            "MessageAttributes": {"blob": {"DataType": "Binary", "BinaryValue": b"b" * 100_000}},
        }
        for _ in range(3)
    ]
    assert message_size(attributed[0]) == 500_000 + 4 + 6 + 100_000
    assert [len(chunk) for chunk in send_chunks(attributed)] == [1, 1, 1]
    assert send_chunks([]) == []


def test_a_response_over_six_megabytes_fails_the_batch() -> None:
    with pytest.raises(Malformed, match="6 MB"):
        failed_identifiers({"pad": "x" * (6 * 1024 * 1024)}, IDS, report=True)
    with pytest.raises(Malformed, match="6 MB"):
        failed_identifiers({"pad": "é" * (3 * 1024 * 1024 + 1)}, IDS, report=False)
    assert failed_identifiers({"pad": "x" * (5 * 1024 * 1024)}, IDS, report=True) == set()


def test_percentiles_stay_within_what_was_seen() -> None:
    histogram = Histogram()
    for seconds in (4.000, 4.001, 4.0005):
        histogram.add(seconds)
    assert 4.000 <= (histogram.percentile(0.5) or 0) <= 4.001
    assert 4.000 <= (histogram.percentile(0.99) or 0) <= 4.001


def test_the_console_shows_a_traceback_only_when_the_invocation_has_one() -> None:
    from aiobatch._report import ConsoleReporter
    from aiobatch._worker import Invocation, Stats

    for json_lines in (False, True):
        stream = io.StringIO()
        reporter = ConsoleReporter(stream, json_lines=json_lines, live=False)
        reporter.invoked(Invocation("r-1", 2, 0, problem="raised ValueError"), Stats())
        told = Invocation("r-2", 2, 0, problem="raised ValueError")
        told.traceback = "Traceback (most recent call last):\n  ...\nValueError: order 7"
        reporter.invoked(told, Stats())
        first, *rest = stream.getvalue().splitlines()
        assert "order 7" not in first
        if json_lines:
            assert json.loads(rest[0])["traceback"].endswith("ValueError: order 7")
        else:
            assert rest[-1] == "ValueError: order 7"


def test_run_local_checks_its_options_before_starting_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["run", "app:handler", "--local", "--local-port", "0", "--batch-size", "0"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--batch-size must be 1 to 10,000" in err
    assert "local SQS on" not in err, "no server was started, nothing was sent"


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        (["--backoff", "0"], "--backoff: Backoff base must be finite and positive"),
        (["--backoff", "5", "--backoff-factor", "0.5"], "--backoff-factor: Backoff factor"),
        (["--backoff", "5", "--backoff-max", "50000"], "--backoff-max: Backoff max"),
        (["--backoff-max", "60"], "--backoff-max goes with --backoff"),
        (["--no-backoff-jitter"], "--no-backoff-jitter goes with --backoff"),
    ],
)
def test_bad_backoff_options_are_one_line_and_exit_2(
    flags: list[str], text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "nowhere:handler", "--queue-url", "http://127.0.0.1:1/1/q", *flags])
    assert code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("aiobatch: error: ")
    assert text in line


def test_backoff_options_make_the_workers_backoff() -> None:
    from aiobatch import Backoff
    from aiobatch._cli import build_parser, options_from

    queue = ["--queue-url", "https://sqs.eu-west-1.amazonaws.com/111122223333/q"]
    flags = ["--backoff", "10", "--backoff-max", "600", "--no-backoff-jitter"]
    args = build_parser().parse_args(["run", "app:handler", *queue, *flags])
    options = options_from(args, "https://sqs.eu-west-1.amazonaws.com/111122223333/q")
    assert options.backoff == Backoff(base=10, factor=2, max=600, jitter=False)
    plain = build_parser().parse_args(["run", "app:handler", *queue])
    assert options_from(plain, "q").backoff is None

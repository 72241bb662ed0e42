"""The ``aiobatch`` command: ``run`` a Lambda SQS handler against a queue, ``send``
messages, ``check`` a deployed function's event source mappings, and a ``demo``.

Exit codes:

- 0: the worker stopped as asked (a signal, ``--until-empty`` found the queue empty,
  ``--max-messages`` were received and finished) after draining; ``send`` sent
  everything; ``check`` found no error.
- 1: the worker stopped on an error while running (the queue was deleted, access was
  revoked), after draining what was in flight; ``check`` found an error, or no mapping.
- 2: bad usage, or a check before anything was received failed (the handler does not
  import, the queue does not exist, no credentials, the endpoint is unreachable).
- 128 + the signal's number (130 for SIGINT, 143 for SIGTERM): a second signal ended the
  worker at once, without draining.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import json
import logging
import math
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from ._exceptions import error_code
from ._report import ConsoleReporter, LogHandler, now
from ._retry import Backoff
from ._version import __version__
from ._worker import (
    StartupError,
    Worker,
    WorkerOptions,
    describe_access_error,
    describe_startup_error,
    resolve_region,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

LOCAL_PORT = 9324
LOCAL_QUEUE = "aiobatch-local"
LOCAL_REGION = "us-east-1"


class UsageError(Exception):
    """Bad input: one line, exit 2."""


# --- the handler ------------------------------------------------------------------------


def load_handler(spec: str) -> Callable[[Any, Any], Any]:
    """The function ``MODULE:FUNCTION`` (or Lambda's ``module.function``) names.

    The current directory comes first on ``sys.path``, as for Lambda's task root.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep:
        module_name, _, attribute = spec.rpartition(".")
    if not module_name or not attribute:
        raise UsageError(
            f"{spec!r} does not name a handler: write MODULE:FUNCTION (for example "
            "app:lambda_handler) or Lambda's module.function"
        )
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            raise UsageError(
                f"cannot import the handler's module {module_name!r}: no such module "
                f"(looked in {cwd} and sys.path)"
            ) from None
        raise UsageError(
            f"importing {module_name!r} failed: it imports {exc.name!r}, which is not installed"
        ) from None
    except SyntaxError as exc:
        where = f"{exc.filename}, line {exc.lineno}" if exc.filename else "its source"
        raise UsageError(
            f"importing {module_name!r} failed: SyntaxError in {where}: {exc.msg}"
        ) from None
    except Exception as exc:
        # No record exists yet: the text is the module's own, worth showing (shortened).
        text = str(exc)
        text = text if len(text) <= 300 else text[:297] + "..."
        raise UsageError(
            f"importing {module_name!r} failed: {type(exc).__name__} raised at import"
            + (f": {text}" if text else "")
        ) from None
    handler = module
    for part in attribute.split("."):
        try:
            handler = getattr(handler, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(handler):
        raise UsageError(f"{spec} is not callable (it is of type {type(handler).__name__})")
    return handler


# --- arguments --------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"aiobatch: error: {message}\n")


def _add_queue_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--queue-url", metavar="URL", help="the SQS queue's URL")
    where.add_argument(
        "--local",
        action="store_true",
        help=f"the local SQS of 'aiobatch run --local' (127.0.0.1, queue {LOCAL_QUEUE})",
    )
    parser.add_argument("--region", help="AWS region (default: from the URL or environment)")
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="SQS endpoint (default: AWS's, or AWS_ENDPOINT_URL_SQS)",
    )
    parser.add_argument(
        "--local-port",
        type=int,
        default=LOCAL_PORT,
        metavar="PORT",
        help=f"port of the local SQS (default {LOCAL_PORT})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="aiobatch",
        description="Run AWS Lambda SQS batch handlers against real queues, and check "
        "the event source mappings of deployed functions.",
        epilog="Exit codes: 0 done (stopped as asked, sent, nothing wrong found); 1 stopped "
        "on an error while running, or check found an error; 2 bad usage or a failed "
        "start-up check; 128+N a second signal N ended it at once.",
    )
    parser.add_argument("--version", action="version", version=f"aiobatch {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run a Lambda SQS handler against a queue, as Lambda's event source mapping does",
        description="Receive from an SQS queue and invoke a Lambda handler with Lambda's "
        "events, context and deletes, until stopped (SIGINT/SIGTERM drain; a second "
        "signal exits at once).",
    )
    run.add_argument("handler", metavar="MODULE:FUNCTION", help="the Lambda handler")
    _add_queue_arguments(run)
    mapping = run.add_argument_group("event source mapping (Lambda's settings)")
    mapping.add_argument(
        "--batch-size", type=int, default=10, metavar="N", help="1 to 10000 (FIFO: 10); 10"
    )
    mapping.add_argument(
        "--batching-window",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="MaximumBatchingWindowInSeconds, 0 to 300 (at least 1 above 10 records); 0",
    )
    mapping.add_argument(
        "--concurrency", type=int, default=1, metavar="N", help="invocations at once; 1"
    )
    mapping.add_argument(
        "--report-batch-item-failures",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="apply the handler's batchItemFailures (FunctionResponseTypes); on",
    )
    function = run.add_argument_group("function (Lambda's settings)")
    function.add_argument(
        "--timeout", type=float, default=3.0, metavar="SECONDS", help="function timeout; 3"
    )
    function.add_argument("--memory", type=int, default=128, metavar="MB", help="128")
    function.add_argument("--function-name", metavar="NAME", help="default: the module's name")
    worker = run.add_argument_group("worker")
    worker.add_argument(
        "--wait-time",
        type=int,
        default=20,
        metavar="SECONDS",
        help="long-poll wait of each receive, 0 to 20; 20",
    )
    worker.add_argument(
        "--heartbeat",
        action="store_true",
        help="extend the visibility of a batch's messages while it runs (not Lambda's)",
    )
    worker.add_argument(
        "--backoff",
        type=float,
        metavar="SECONDS",
        help="hide a failed message for SECONDS x FACTOR^(receives - 1), not the queue's "
        "visibility timeout (not Lambda's)",
    )
    worker.add_argument("--backoff-factor", type=float, default=2.0, metavar="FACTOR", help="2")
    worker.add_argument(
        "--backoff-max",
        type=float,
        default=43_200.0,
        metavar="SECONDS",
        help="the longest backoff; 43200 (SQS's 12 hours)",
    )
    worker.add_argument(
        "--no-backoff-jitter",
        dest="backoff_jitter",
        action="store_false",
        help="exact backoffs (by default each is drawn between half and all of it)",
    )
    worker.add_argument(
        "--drain-timeout",
        type=float,
        metavar="SECONDS",
        help="on a signal, how long batches in flight may still run (default: --timeout)",
    )
    worker.add_argument(
        "--max-messages",
        type=int,
        metavar="N",
        help="stop receiving after N messages, finish them, and exit",
    )
    worker.add_argument(
        "--until-empty",
        action="store_true",
        help="stop once the queue holds nothing, visible or in flight",
    )
    output = run.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="JSON lines on standard error")
    output.add_argument("-v", "--verbose", action="store_true", help="a line per invocation")
    output.add_argument(
        "--log-exception-text",
        action="store_true",
        help="show a failing handler's exception text and traceback (they may hold "
        "record data: off by default)",
    )
    output.add_argument(
        "--progress-interval",
        type=float,
        metavar="SECONDS",
        help="how often the progress is shown (default 0.5 on a terminal, 10 otherwise)",
    )
    local = run.add_argument_group("--local")
    local.add_argument(
        "--max-receive-count",
        type=int,
        default=3,
        metavar="N",
        help="receives before the local queue moves a message to its DLQ; 3",
    )
    local.add_argument(
        "--send",
        metavar="FILE",
        help="send the JSON lines of FILE (- for standard input) to the local queue first",
    )

    send = commands.add_parser(
        "send",
        help="send messages to a queue",
        description="Send each BODY, or each line of --file (or of standard input when "
        "no BODY is given), as one message.",
    )
    send.add_argument("bodies", nargs="*", metavar="BODY")
    _add_queue_arguments(send)
    send.add_argument("--file", metavar="FILE", help="JSON lines, one message each (- for stdin)")
    send.add_argument("--group-id", metavar="ID", help="MessageGroupId (FIFO queues)")

    check = commands.add_parser(
        "check",
        help="check a deployed function's event source mappings for the settings aiobatch "
        "relies on",
        description="Read FUNCTION's event source mappings (and their SQS queues) and say "
        "which settings aiobatch relies on are missing: ReportBatchItemFailures for "
        "partial responses, a visibility timeout of 6 x the function's, a redrive policy, "
        "no bisecting on streams. Needs lambda:ListEventSourceMappings, "
        "lambda:GetFunctionConfiguration and sqs:GetQueueAttributes.",
        epilog="Exit codes: 0 no errors (warnings are printed); 1 an error found (a "
        "setting without which records are lost or handled by the wrong rule); 2 bad "
        "usage, or the mappings could not be read.",
    )
    check.add_argument("function", metavar="FUNCTION", help="the function's name or ARN")
    check.add_argument(
        "--mode",
        choices=["partial", "delete"],
        default="partial",
        help="how the handler reports failures: partial (returns batchItemFailures, the "
        "default) or delete (SQS delete mode: deletes successes and raises)",
    )
    check.add_argument("--region", help="AWS region (default: the ARN's, or the environment)")
    check.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="one endpoint for Lambda and SQS (default: AWS's, or AWS_ENDPOINT_URL_LAMBDA "
        "and AWS_ENDPOINT_URL_SQS)",
    )

    commands.add_parser(
        "demo",
        help="a one-minute tour: partial failures, retries, poison messages to the DLQ",
        description="Runs a sample handler on a local SQS and shows what happens.",
    )
    return parser


def options_from(args: argparse.Namespace, queue_url: str) -> WorkerOptions:
    return WorkerOptions(
        queue_url=queue_url,
        batch_size=args.batch_size,
        batching_window=args.batching_window,
        concurrency=args.concurrency,
        timeout=args.timeout,
        memory_limit_in_mb=args.memory,
        function_name=args.function_name or _default_function_name(args.handler),
        report_batch_item_failures=args.report_batch_item_failures,
        wait_time=args.wait_time,
        heartbeat=args.heartbeat,
        drain_timeout=args.drain_timeout,
        until_empty=args.until_empty,
        max_messages=args.max_messages,
        log_exception_text=args.log_exception_text,
        region=args.region,
        endpoint_url=args.endpoint_url,
        backoff=backoff_from(args),
    )


def backoff_from(args: argparse.Namespace) -> Backoff | None:
    """``--backoff`` and its companions as a :class:`Backoff`; :class:`UsageError`
    naming the option that is wrong."""
    if args.backoff is None:
        given = [
            flag
            for flag, changed in (
                ("--backoff-factor", args.backoff_factor != 2.0),
                ("--backoff-max", args.backoff_max != 43_200.0),
                ("--no-backoff-jitter", not args.backoff_jitter),
            )
            if changed
        ]
        if given:
            raise UsageError(f"{', '.join(given)} goes with --backoff")
        return None
    try:
        return Backoff(
            base=args.backoff,
            factor=args.backoff_factor,
            max=args.backoff_max,
            jitter=args.backoff_jitter,
        )
    except ValueError as exc:
        option = str(exc).split()[1]  # "Backoff base must ..." -> base
        name = {"base": "--backoff", "factor": "--backoff-factor", "max": "--backoff-max"}
        raise UsageError(f"{name.get(option, '--backoff')}: {exc}") from None


def _default_function_name(spec: str) -> str:
    module = spec.partition(":")[0] if ":" in spec else spec.rpartition(".")[0]
    return module.replace(".", "-") or "aiobatch-worker"


# --- reading messages to send -----------------------------------------------------------


def read_bodies(source: str, stdin: IO[str]) -> list[str]:
    """The message bodies of a JSON lines file (``-``: standard input); blank lines are
    skipped, and a line that is not JSON is an error naming it."""
    name = "standard input" if source == "-" else source
    try:
        text = stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{name} is not UTF-8 text") from None
    lines = text.splitlines()
    bodies = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except ValueError:
            raise UsageError(f"line {number} of {name} is not JSON") from None
        bodies.append(line)
    return bodies


# --- commands ---------------------------------------------------------------------------


def _start_local(args: argparse.Namespace, reporter: ConsoleReporter) -> tuple[Any, str]:
    """Start the embedded SQS with its queue and DLQ; point this process's SDKs at it."""
    try:
        from .testing import LocalSQS
    except ImportError as exc:  # pragma: no cover - testing imports nothing optional
        raise UsageError(str(exc)) from None
    visibility = max(1, math.ceil(args.timeout))
    try:
        local = LocalSQS(region=LOCAL_REGION, port=args.local_port)
    except ImportError:
        raise UsageError(
            "--local needs moto's server and boto3: pip install 'aiobatch-lambda[local]'"
        ) from None
    try:
        local.start()
    except OSError as exc:
        raise UsageError(
            f"cannot start the local SQS on 127.0.0.1:{args.local_port} ({exc.strerror}): "
            "pass another --local-port"
        ) from None
    queue = local.create_queue(
        LOCAL_QUEUE,
        dead_letter_queue=True,
        max_receive_count=args.max_receive_count,
        visibility_timeout=visibility,
    )
    os.environ.update(local.env())
    port = local.endpoint_url.rsplit(":", 1)[1]
    send = "aiobatch send --local" + ("" if port == str(LOCAL_PORT) else f" --local-port {port}")
    reporter.info(
        f"local SQS on {local.endpoint_url}: queue {queue.name} (visibility timeout "
        f"{visibility} s), dead-letter queue {LOCAL_QUEUE}-dlq after "
        f"{args.max_receive_count} receives. Send messages with: {send} "
        '\'{"hello": "world"}\'',
        endpoint_url=local.endpoint_url,
        queue_url=queue.url,
    )
    if args.send:
        bodies = read_bodies(args.send, sys.stdin)
        queue.send(bodies)
        reporter.info(f"sent {len(bodies)} message(s) from {args.send}")
    return local, queue.url


def _capture_logging(reporter: ConsoleReporter, verbose: bool) -> None:
    """Log records go through the reporter, set up before the handler's module is
    imported, as Lambda's runtime does (a ``logging.basicConfig`` at import then changes
    nothing, as in Lambda)."""
    root = logging.getLogger()
    if root.handlers:
        return
    root.addHandler(LogHandler(reporter))
    if verbose:
        root.setLevel(logging.INFO)


def _reporter(args: argparse.Namespace) -> ConsoleReporter:
    return ConsoleReporter(
        sys.stderr,
        json_lines=args.json,
        verbose=args.verbose,
        interval=args.progress_interval,
    )


def command_run(args: argparse.Namespace) -> int:
    reporter = _reporter(args)
    local = None
    try:
        # Checked before --local starts a server or sends anything; its queue's URL is
        # known once it has.
        options = options_from(args, args.queue_url or "")
        problems = options.problems()
        if not args.local:
            problems += [
                f"{flag} goes with --local"
                for flag, given in (
                    ("--send", args.send is not None),
                    ("--max-receive-count", args.max_receive_count != 3),
                    ("--local-port", args.local_port != LOCAL_PORT),
                )
                if given
            ]
        if args.progress_interval is not None and not args.progress_interval > 0:
            problems.append("--progress-interval must be above 0 seconds")
        if problems:
            raise UsageError("; ".join(problems))
        if args.local:
            local, queue_url = _start_local(args, reporter)
            options = dataclasses.replace(options, queue_url=queue_url)
        _require_aioboto3("aiobatch run")
        _capture_logging(reporter, args.verbose)
        handler = load_handler(args.handler)
        worker = Worker(handler, options, reporter=reporter)
        return asyncio.run(_run_worker(worker))
    finally:
        if local is not None:
            local.stop()


async def _run_worker(worker: Worker) -> int:
    try:
        await worker.check()
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    received: list[int] = []

    def on_signal(number: int) -> None:
        if received:
            worker.reporter.warning(
                f"second signal ({signal.Signals(number).name}): exiting now, without "
                "draining; messages in flight come back after the visibility timeout"
            )
            os._exit(128 + number)
        received.append(number)
        worker.reporter.info(
            f"{signal.Signals(number).name}: stopping; batches in flight may finish "
            "(a second signal exits at once)"
        )
        worker.stop()

    installed = []
    for number in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, on_signal, number)
            installed.append(number)
    try:
        await worker.run()
    finally:
        for number in installed:
            loop.remove_signal_handler(number)
    if worker.error is not None:
        return EXIT_ERROR
    return EXIT_OK


def command_send(args: argparse.Namespace) -> int:
    if args.bodies and args.file:
        raise UsageError("give message bodies as arguments or with --file, not both")
    bodies = list(args.bodies) if args.bodies else read_bodies(args.file or "-", sys.stdin)
    if not bodies:
        raise UsageError("nothing to send: give message bodies, --file, or lines on stdin")
    return asyncio.run(_send(args, bodies))


async def _send(args: argparse.Namespace, bodies: Sequence[str]) -> int:
    aioboto3 = _require_aioboto3("aiobatch send")
    if args.local:  # the credentials and region LocalSQS serves
        session = aioboto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=LOCAL_REGION,
        )
        endpoint = args.endpoint_url or f"http://127.0.0.1:{args.local_port}"
    else:
        session = aioboto3.Session()
        endpoint = args.endpoint_url
    try:
        region = resolve_region(args.region, args.queue_url, session)
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    url = args.queue_url or LOCAL_QUEUE
    from botocore.config import Config

    from ._sqs.batch_calls import send_chunks

    quick = Config(connect_timeout=5, retries={"total_max_attempts": 3})
    sent = 0
    try:
        async with session.client(
            "sqs", region_name=region, endpoint_url=endpoint, config=quick
        ) as client:
            if args.local:
                url = (await client.get_queue_url(QueueName=LOCAL_QUEUE))["QueueUrl"]
            fifo = url.endswith(".fifo")
            if fifo and not args.group_id:
                raise UsageError(f"{url} is a FIFO queue: pass --group-id")
            entries: list[dict[str, Any]] = []
            for body in bodies:
                entry: dict[str, Any] = {"MessageBody": body}
                if args.group_id:
                    entry["MessageGroupId"] = args.group_id
                    if fifo:
                        entry["MessageDeduplicationId"] = os.urandom(16).hex()
                entries.append(entry)
            for chunk in send_chunks(entries):
                calls = [{"Id": str(i), **entry} for i, entry in enumerate(chunk)]
                response = await client.send_message_batch(QueueUrl=url, Entries=calls)
                failed = response.get("Failed") or []
                sent += len(chunk) - len(failed)
                if failed:
                    codes = ", ".join(sorted({str(f.get("Code")) for f in failed}))
                    return _partly_sent(sent, len(bodies), url, f"SQS refused some ({codes})")
    except UsageError:
        raise
    except Exception as exc:
        reason = describe_startup_error(exc, url, endpoint)
        if not sent:
            raise UsageError(reason) from None
        return _partly_sent(sent, len(bodies), url, reason)
    print(f"sent {sent} message(s) to {url}", file=sys.stderr)
    return EXIT_OK


def _partly_sent(sent: int, total: int, url: str, reason: str) -> int:
    print(
        f"aiobatch: error: {reason}; {sent} of {total} message(s) were sent to {url}, in "
        "order: do not send those again",
        file=sys.stderr,
    )
    return EXIT_ERROR


def _require_aioboto3(command: str) -> Any:
    try:
        import aioboto3
    except ImportError:
        raise UsageError(f"{command} needs aioboto3: pip install 'aiobatch-lambda[sqs]'") from None
    return aioboto3


def command_check(args: argparse.Namespace) -> int:
    return asyncio.run(_check(args))


async def _check(args: argparse.Namespace) -> int:
    from ._check import check_function, summary

    aioboto3 = _require_aioboto3("aiobatch check")
    session = aioboto3.Session()
    function: str = args.function
    region = args.region
    if region is None and function.startswith("arn:") and function.count(":") >= 6:
        region = function.split(":")[3]
    try:
        region = resolve_region(region, None, session)
    except StartupError as exc:
        raise UsageError(str(exc)) from None
    from botocore.config import Config

    quick = Config(connect_timeout=5, retries={"mode": "standard", "total_max_attempts": 3})
    where = {"region_name": region, "endpoint_url": args.endpoint_url, "config": quick}
    try:
        async with (
            session.client("lambda", **where) as lambda_client,
            session.client("sqs", **where) as sqs_client,
        ):
            reports = await check_function(
                function, mode=args.mode, lambda_client=lambda_client, sqs_client=sqs_client
            )
    except Exception as exc:
        raise UsageError(_describe_check_error(exc, function, args.endpoint_url)) from None
    if not reports:
        print(f"{function}: no event source mapping invokes it", file=sys.stderr)
        return EXIT_ERROR
    mode = "partial response" if args.mode == "partial" else "delete"
    print(f"{function}: {len(reports)} event source mapping(s), checked for {mode} mode")
    for report in reports:
        state = "" if report.state == "Enabled" else f", {report.state}"
        print(f"{report.kind} {report.source} (mapping {report.uuid}{state})")
        if not report.findings:
            print("  ok")
        for finding in report.findings:
            print(f"  {finding.level}: {finding.text}")
    errors, warnings = summary(reports)
    print(f"{errors} error(s), {warnings} warning(s)")
    return EXIT_ERROR if errors else EXIT_OK


def _describe_check_error(exc: BaseException, function: str, endpoint_url: str | None) -> str:
    name = type(exc).__name__
    code = error_code(exc)
    access = describe_access_error(exc, f"the endpoint ({endpoint_url or 'AWS'})")
    if access is not None:
        return access
    if code == "ResourceNotFoundException":
        return f"no function {function!r} in this account and region"
    if code in {"AccessDeniedException", "AccessDenied"}:
        return (
            f"access denied reading {function!r}: the check needs "
            "lambda:ListEventSourceMappings and lambda:GetFunctionConfiguration"
        )
    if code is not None:
        return f"reading the mappings of {function!r} failed: {code}"
    return f"reading the mappings of {function!r} failed: {name}: {exc}"


def command_demo(args: argparse.Namespace) -> int:
    from ._demo import main as demo

    return demo()


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": command_run,
    "send": command_send,
    "check": command_check,
    "demo": command_demo,
}


def main(argv: Iterable[str] | None = None) -> int:
    """The ``aiobatch`` command; returns its exit code."""
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    try:
        return _COMMANDS[args.command](args)
    except UsageError as exc:
        if getattr(args, "json", False):
            line = {"time": now(), "level": "error", "event": "error", "message": str(exc)}
            print(json.dumps(line), file=sys.stderr)
        else:
            print(f"aiobatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 128 + signal.SIGINT


def entry_point() -> NoReturn:
    sys.exit(main())

"""Case 8's Lambda process: a module-level processor, a plain ``def lambda_handler``, and
several invocations in one process through aiobatch's sync facade.

``python -m benchmarks._invocations --stub URL --records N --invocations K`` with the
AWS environment pointing at the stub; prints one JSON line: for each invocation, its
seconds, the processor's ``sqs.clients_created`` after it, and how many new connections
the stub saw during it.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from ._aws import StubSQS
from ._events import failing_async, standard_event
from ._harness import install_log_sink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stub", required=True, help="the stub SQS endpoint's URL")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--invocations", type=int, default=5)
    args = parser.parse_args()
    install_log_sink()
    stub = StubSQS(args.stub)

    from aiobatch import PartialSQSProcessor, SQSBatchProcessingError

    event = standard_event(args.records)
    record_handler = failing_async({event["Records"][args.records // 2]["messageId"]})
    processor = PartialSQSProcessor()

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with processor(event["Records"], record_handler, lambda_context=context):
            processor.process()
        return {"statusCode": 200}

    report = []
    for _ in range(args.invocations):
        before = stub.stats()
        start = time.perf_counter()
        try:
            lambda_handler(event, None)
        except SQSBatchProcessingError as error:
            elapsed = time.perf_counter() - start
            if error.undeleted_messages:
                raise
        else:
            raise RuntimeError("one record failed, yet no SQSBatchProcessingError was raised")
        after = stub.stats()
        report.append(
            {
                "seconds": elapsed,
                "clients_created": processor.sqs.clients_created,
                "new_connections": after["connections"] - before["connections"],
                "entries_deleted": after["entries"] - before["entries"],
            }
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()

"""``make test-all``: the test suite on every CPython from 3.11 up that is installed,
each in a virtual environment of its own with the same pinned versions as ``make test``.

``nox -s tests`` runs them all; ``nox -s tests-3.13`` one; arguments after ``--`` go to
pytest (``nox -s tests -- tests/unit``), which runs on ``PYTEST_WORKERS`` processes
(``make test-all`` sets it as for ``make test``; by itself, one per CPU). An
interpreter that is not installed is skipped, and said so in nox's summary.
"""

from __future__ import annotations

import os

import nox

PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
"""Every CPython AWS Lambda runs from 3.11 up. The classifiers name those the suite has
passed on: 3.14 (a Lambda runtime since November 2025) is not installed on this
project's machines yet, so its session is skipped there."""

nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    session.install("-c", "constraints.txt", "-r", "requirements-dev.txt", "-e", ".")
    workers = os.environ.get("PYTEST_WORKERS", "auto")
    session.run(
        "pytest", "-p", "no:cacheprovider", "-n", workers, "--dist", "loadfile", *session.posargs
    )

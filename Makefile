PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_DIRS := aiobatch tests examples scripts $(wildcard benchmarks)

.PHONY: install test test-all lint typecheck pytest demo bench examples docs dist lambda-package clean

$(STAMP): pyproject.toml requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt -e .
	$(BIN)/python scripts/lambda_package.py download
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/ruff format --check $(LINT_DIRS)

typecheck: $(STAMP)
	$(BIN)/mypy

# The suite on one process more than there are CPUs (pytest-xdist; a test file stays in
# one process): its tests wait on servers and subprocesses a quarter of the time.
# PYTEST_WORKERS=0 runs it in this one process; PYTEST_ARGS go to pytest.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
pytest: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

# The suite on every CPython from 3.11 up that is installed (pyenv's too), each in a
# venv of its own under .nox/ with the same pins; NOX_ARGS go to nox (-s tests-3.13 for
# one), PYTEST_ARGS and PYTEST_WORKERS to pytest.
PYENV_BINS := $(wildcard $(HOME)/.pyenv/versions/3.1[1-9].*/bin)
test-all: $(STAMP)
	PATH="$(subst $(eval) ,:,$(PYENV_BINS)):$$PATH" PYTEST_WORKERS=$(PYTEST_WORKERS) \
		$(BIN)/nox $(NOX_ARGS) -- $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

examples: $(STAMP)
	for f in examples/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# The documentation site (mkdocs.yml, docs/, the API reference from the docstrings) in
# build/site/, built in strict mode: a warning (a broken link or anchor) fails it.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-bench.txt
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# The sdist and the wheel of aiobatch-lambda in dist/, built offline (no isolation: this
# environment's pinned setuptools), then checked: metadata, files, extras, license.
dist: $(STAMP)
	rm -rf dist build/lib build/bdist.*
	$(BIN)/python -m build --no-isolation --outdir dist .
	$(BIN)/python -m tests.dist dist

# Lambda layers of aiobatch and aioboto3 for Python 3.11 on x86_64 and arm64 in
# dist/lambda/, from the wheels `make install` downloaded; LAMBDA_PYTHON=3.12, 3.13 or 3.14
# for another runtime (run `scripts/lambda_package.py download --python` first).
LAMBDA_PYTHON ?= 3.11
lambda-package: dist
	$(BIN)/python scripts/lambda_package.py build --python $(LAMBDA_PYTHON) dist/aiobatch_lambda-*.whl

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache dist build

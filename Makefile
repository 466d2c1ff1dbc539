# Practika: `make run` brings the whole app up; `make test` runs the whole suite.
# Both install what is missing first (scripts/bootstrap.sh), so a fresh clone needs nothing else.

SHELL := /bin/bash
VENV := .venv
PORT ?= 8000
export PORT

.PHONY: run test test-stack check-deploy lint format bench

run: ## web + worker + Redis + SQLite + local media, with demo accounts, on 127.0.0.1:$(PORT)
	@scripts/bootstrap.sh run
	@scripts/run.sh

# Processes the suite is spread over (pytest-xdist): the browser tests share one, the rest of
# the suite the others. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 3

test: ## the whole suite: unit, integration (Redis, PostgreSQL, FFmpeg) and end-to-end (Chromium)
	@scripts/bootstrap.sh test
	@$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

test-stack: ## production shape: PostgreSQL, Redis, S3 over HTTP, gunicorn, a worker, nginx
	@scripts/bootstrap.sh test
	@$(VENV)/bin/pytest -m stack tests/stack $(PYTEST_ARGS)

check-deploy: ## hadolint and checkov on the Dockerfile; terraform fmt, validate and checkov
	@scripts/check_docker.sh
	@scripts/check_terraform.sh

lint: ## ruff lint and format check
	@scripts/bootstrap.sh test
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format:
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

bench: ## benchmarks under bench/; they print ratios measured side by side
	@scripts/bootstrap.sh test
	@for b in bench/bench_*.py; do $(VENV)/bin/python "$$b" || exit 1; done

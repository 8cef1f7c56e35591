# The two commands: `make run` and `make test`. Both work on a machine with nothing installed
# but Python 3.11: the virtualenv, the locked dependencies, PostgreSQL and Redis come with them.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
DEVSTACK := $(PY) -m alt.devstack

.PHONY: run test install test-tools gates pytest bench clean-data

$(VENV)/.synced: pyproject.toml uv.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(VENV)/bin/pip install --quiet "uv==$(UV_VERSION)"
	UV_PROJECT_ENVIRONMENT=$(VENV) $(VENV)/bin/uv sync --frozen --quiet
	@touch $@

install: $(VENV)/.synced

# Test-only JavaScript (axe-core for the accessibility checks of tests/browser/): `npm ci` installs
# exactly the version in package-lock.json and refuses a tarball whose sha512 differs from the
# integrity recorded there (the registry's own).
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

test-tools: node_modules/.package-lock.json

run: install
	$(DEVSTACK) run

test: install test-tools
	$(DEVSTACK) exec -- $(MAKE) --no-print-directory gates pytest

# Quality gates (CONVENTIONS.md): formatting, lint, types, migrations, deploy checks.
gates:
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	DJANGO_DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=0 SECRET_KEY=deploy-check-$$RANDOM-$$RANDOM-$$RANDOM-$$RANDOM-$$RANDOM-abcdefghijklmnop \
	  FIELD_ENCRYPTION_KEYS=check:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= ALLOWED_HOSTS=alt.example.com \
	  $(PY) manage.py check --deploy --fail-level WARNING

pytest:
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(DEVSTACK) exec -- $(PY) -m bench $(BENCH_ARGS)

clean-data:
	rm -rf var/pg var/redis

# FoodieFast: `make run` serves the app with demo data, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000
# `make run` listens on this address only (HOST=0.0.0.0 to be reached from elsewhere).
HOST ?= 127.0.0.1

# Production-like variables for `check --deploy` (never used to serve anything).
DEPLOY_ENV := DJANGO_DEBUG=false \
	DJANGO_SECRET_KEY=deploy-check-$$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9') \
	DJANGO_ALLOWED_HOSTS=foodiefast.example \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/foodiefast \
	REDIS_URL=redis://127.0.0.1:6379/0 \
	STRIPE_SECRET_KEY=sk_live_check STRIPE_PUBLISHABLE_KEY=pk_live_check STRIPE_WEBHOOK_SECRET=whsec_check

.PHONY: help venv run test lint check pytest bench bench-servers services browser gettext lb messages deploy-demo deploy-demos clean

help:
	@echo "make run    - the service with demo data on http://$(HOST):$(PORT)"
	@echo "make test   - lint, import contracts, migrations check, deploy check, pytest"
	@echo "make bench  - load scenarios against the web process, figures and a plot"
	@echo "make messages - extract the messages to translate into locale/fr and compile them"
	@echo "make deploy-demo STRATEGY=rolling|blue-green|restarts|canary|all - a deploy under load behind HAProxy, with its report"
	@echo "make deploy-demos - every deploy demo in full, and a broken canary rolled back"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

services:
	./scripts/services-up

# Debian's chromium for the browser tests (Playwright drives it; no browser download).
browser:
	./scripts/browser-up

# Debian's HAProxy in front of the web processes in the deploy demos and their tests.
lb:
	./scripts/lb-up

# GNU gettext for the translations (makemessages, compilemessages, and the test that
# finds untranslated messages).
gettext:
	./scripts/gettext-up

# The French messages: new ones extracted from the code and templates into
# locale/fr/LC_MESSAGES/django.po (translate them there), then compiled to django.mo.
# Both files are committed: a git-push build installs packages only.
messages: venv gettext
	DJANGO_DEBUG=true $(PY) manage.py makemessages --locale fr
	DJANGO_DEBUG=true $(PY) manage.py compilemessages --locale fr --ignore=.venv

# Embedded by default (SQLite, in-process tasks, demo payments). With REDIS_URL set,
# web, worker and beat run from the Procfile against it.
run: venv
	HOST=$(HOST) PORT=$(PORT) ./scripts/run

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

check: venv services
	DJANGO_DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	$(DEPLOY_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	DJANGO_DEBUG=true $(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

# Two pytest-xdist workers (each its own test database and Redis dbs): the end-to-end
# and deploy tests mostly wait on their processes. A test file stays on one worker.
PYTEST_WORKERS ?= 2
pytest: venv services browser gettext lb
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint check pytest

bench: venv services
	$(PY) -m bench.run $(BENCH_ARGS)

# The same scenarios on the other web servers docs/architecture.md compares (slower).
bench-servers: venv services
	$(PY) -m bench.run --servers procfile,gunicorn-sync,granian-wsgi,granian-asgi $(BENCH_ARGS)

# Two releases of this repository (OLD and NEW: git refs, each its own worktree and
# processes) behind HAProxy with traffic throughout; prints requests, failures, p50 and
# p99 per phase and fails when a request failed (docs/deploy.md). STRATEGY=all runs each.
STRATEGY ?= all
OLD ?= HEAD~1
NEW ?= HEAD
PHASE_SECONDS ?= 20
deploy-demo: venv services lb
	$(PY) -m deploy.demo $(STRATEGY) --old $(OLD) --new $(NEW) --phase-seconds $(PHASE_SECONDS) $(DEMO_ARGS)

# Every demo in full, one after the other: rolling, blue-green, graceful
# restarts and a good canary (each must fail no request), then a broken canary that
# must roll itself back (its run exits 1 and says ROLLED BACK).
deploy-demos: venv services lb
	$(PY) -m deploy.demo all --old $(OLD) --new $(NEW) --phase-seconds $(PHASE_SECONDS)
	mkdir -p .run
	$(PY) -m deploy.demo canary --broken --old $(OLD) --new $(NEW) --phase-seconds $(PHASE_SECONDS) \
		| tee .run/canary-broken.txt; test "$${PIPESTATUS[0]}" -eq 1
	grep -q "ROLLED BACK" .run/canary-broken.txt

clean:
	rm -rf $(VENV) staticfiles .run celerybeat-schedule* .pytest_cache .ruff_cache db.sqlite3

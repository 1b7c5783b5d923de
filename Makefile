# Two commands: `make run` (the platform with a demo organisation) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

.PHONY: run test lint install migrate bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: export DEBUG ?= true
run: export OUTBOUND_ALLOW_LOOPBACK ?= true
run: $(STAMP)
	@mkdir -p var
	$(BIN)/python manage.py migrate --noinput -v0
	@$(BIN)/python manage.py seed_demo --port $(PORT)
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A config worker --beat --queues=default,maintenance --loglevel=INFO --concurrency=2 \
	  --schedule var/celerybeat-schedule & \
	$(BIN)/celery -A config worker --queues=tools --pool=threads --concurrency=8 --loglevel=INFO \
	  --hostname=tools@%h & \
	$(BIN)/celery -A config worker --queues=webhooks,webhooks_slow --pool=threads --concurrency=16 \
	  --loglevel=INFO --hostname=webhooks@%h & \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(BIN)/pytest

# Lint, format, types and the import layers, as configured in pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles

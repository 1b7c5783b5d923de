# Two commands: `make run` (the platform with a demo organisation) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000

.PHONY: run test lint install migrate bench clean

# Progress lines: a fresh install is quiet for about a minute otherwise.
$(STAMP): pyproject.toml
	@echo "==> Creating the virtual environment in $(VENV)"
	@$(PYTHON) -m venv $(VENV)
	@echo "==> Upgrading pip"
	@$(BIN)/pip install --quiet --upgrade pip
	@echo "==> Installing the project and its dev dependencies (about a minute the first time)"
	@$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# Local settings (DEBUG on, SQLite) that the settings read, so `manage.py` works without exporting anything;
# written once and git-ignored (config/local_env.py).
.env:
	@$(BIN)/python -m config.local_env .env

# The workers log to var/log/ at WARNING, so their banners do not bury the block `demo_banner` prints last,
# once the web server answers and all three workers have started.
WORKER_LOGS := var/log/celery-default.log, var/log/celery-tools.log, var/log/celery-webhooks.log

run: export DEBUG ?= true
run: export OUTBOUND_ALLOW_LOOPBACK ?= true
run: $(STAMP) .env
	@mkdir -p var/log
	@echo "==> Migrating the database"
	@$(BIN)/python manage.py migrate --noinput -v0
	@echo "==> Loading the demo organisation"
	@$(BIN)/python manage.py seed_demo
	@echo "==> Starting the web server and three Celery workers (worker logs: $(WORKER_LOGS))"
	@since=$$(date +%s); trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A config --quiet worker --beat --queues=default,maintenance --loglevel=WARNING --concurrency=2 \
	  --schedule var/celerybeat-schedule --logfile var/log/celery-default.log & \
	$(BIN)/celery -A config --quiet worker --queues=tools --pool=threads --concurrency=8 --loglevel=WARNING \
	  --hostname=tools@%h --logfile var/log/celery-tools.log & \
	$(BIN)/celery -A config --quiet worker --queues=webhooks,webhooks_slow --pool=threads --concurrency=16 \
	  --loglevel=WARNING --hostname=webhooks@%h --logfile var/log/celery-webhooks.log & \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT) & \
	$(BIN)/python manage.py demo_banner --port $(PORT) --workers 3 --since $$since; \
	wait

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

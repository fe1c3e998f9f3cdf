# Xunhuan — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: install run test lint unit messages lock bench clean

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

## install: create .venv and install the pinned dependencies
install: $(STAMP)

## run: install, migrate, load the demo, serve http://127.0.0.1:$(PORT) (SQLite, eager Celery; PORT=8123 to change)
run: install
	DJANGO_SETTINGS_MODULE=config.settings.local $(PY) manage.py migrate --no-input
	DJANGO_SETTINGS_MODULE=config.settings.local WAGTAILADMIN_BASE_URL=http://127.0.0.1:$(PORT) $(PY) manage.py seed_demo
	DJANGO_SETTINGS_MODULE=config.settings.local WAGTAILADMIN_BASE_URL=http://127.0.0.1:$(PORT) $(PY) manage.py runserver 127.0.0.1:$(PORT)

## test: lint, then the whole suite (PostgreSQL/Redis when DATABASE_URL/CELERY_BROKER_URL are set)
test: install lint
	$(PY) -m pytest --durations=15

## lint: ruff, mypy, import boundaries (import-linter, contracts in pyproject.toml), migrations in sync
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

## unit: the database-free unit tests only (seconds)
unit: install
	$(PY) -m pytest tests/unit

## messages: refresh and compile the zh-hans and en catalogues (needs gettext)
messages: install
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv --ignore=node_modules --ignore=tests --ignore=bench
	$(PY) manage.py compilemessages --ignore=.venv

## lock: re-pin every installed package into requirements.lock
lock:
	$(PY) -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts

# The README's commands. Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask
HOST ?= 127.0.0.1
PORT ?= 5000
# Links in emails point where `make run` listens (PORT=8080 → :8080), unless PUBLIC_URL is set;
# a server listening everywhere (HOST=0.0.0.0) is linked on the loopback address.
PUBLIC_URL ?= http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT)
# The demo runs a matching cycle every ten minutes, so one can be watched; production: weekly.
DEMO_SCHEDULE ?= */10 * * * *
export FLASK_APP := app

.PHONY: run test lint bench translations install install-test messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations

# Compiled catalogues are build output (not committed): rebuilt whenever a .po file changes.
translations: $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile -d translations -l $* >/dev/null

# Installs, migrates, loads demo data into an empty database, then serves with one scheduler.
run: install
	@mkdir -p instance
	APP_ENV=development $(FLASK) db upgrade
	@APP_ENV=development $(FLASK) seed-demo --if-empty --logins-file instance/demo-logins.txt >/dev/null
	@echo; echo "Demo logins (also in instance/demo-logins.txt):"; cat instance/demo-logins.txt
	@echo "Matching cycles run on '$(DEMO_SCHEDULE)'; a coordinator can also run one from Cycles."; echo
	APP_ENV=development MATCH_SCHEDULE="$(DEMO_SCHEDULE)" PUBLIC_URL="$(PUBLIC_URL)" $(FLASK) serve --host $(HOST) --port $(PORT)

# One pytest-xdist worker per core, a test file to a worker (module fixtures stay shared); each
# worker has its own PostgreSQL database (tests/conftest.py). PYTEST_ARGS= runs in one process.
PYTEST_ARGS ?= -n auto --dist loadfile --durations=20
test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check app matching tests scripts
	$(BIN)/ruff format --check app matching tests scripts
	$(BIN)/mypy app matching

bench: install
	$(BIN)/python scripts/bench_matching.py

# Re-extract the strings to translate and merge them into every catalogue.
messages: install
	# --ignore-dirs: Babel skips folders starting with "_" (templates/_macros, _partials) otherwise.
	$(BIN)/pybabel extract --ignore-dirs '.*' -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot . >/dev/null
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint bandit install install-dev translations messages migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Compiled catalogs are build output (not committed), made from translations/*/LC_MESSAGES/messages.po.
translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile --use-fuzzy -d translations

# After changing user-facing strings: extract them and merge into both catalogs.
messages: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching

migrate: install translations
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo

# The scheduler (background jobs) runs beside the development server as a
# process of its own, not inside `flask run`, whose reloader would start it
# twice; it is stopped when the server stops (Ctrl-C included).  Its singleton
# lock would also keep a second one, from another `make run`, on standby.
run: demo
	@$(FLASK) scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler' EXIT; trap 'exit 130' INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

test: install-dev translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (rules in ruff.toml) and mypy on leads/ (pyproject.toml).
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

# Static security check: any bandit warning not accepted (with its reason) in .ci/bandit-baseline.json fails.
bandit: install-dev
	$(BIN)/bandit -q -r leads config.py wsgi.py -b .ci/bandit-baseline.json

clean:
	rm -rf $(VENV) instance .pytest_cache

# Mata Duitan: `make run` starts the product, `make test` runs every test.
# Every target installs what it needs into ./.venv first (a fresh clone needs nothing else).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed

.PHONY: install run backend bot test chaos fuzz bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: backend (+ embedded database under ./data) and, when TELEGRAM_BOT_TOKEN is set, the bot
run: $(STAMP)
	@mkdir -p data
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ] || grep -Eqs '^TELEGRAM_BOT_TOKEN=.+' .env; then \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start; \
	else \
		echo ""; \
		echo "  TELEGRAM_BOT_TOKEN is not set: starting the backend only (API docs: http://127.0.0.1:$${PORT:-8000}/docs)."; \
		echo "  To add the bot: get a token from @BotFather, put TELEGRAM_BOT_TOKEN=<token> and"; \
		echo "  BOT_API_SECRET=<any long random string> in .env (see .env.example), then run 'make run' again."; \
		echo ""; \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start web; \
	fi

backend: $(STAMP)
	$(PY) -m backend

bot: $(STAMP)
	$(PY) -m bot

## test: every test (unit, API, attacks, store conformance, crash, chaos, API fuzz, bot end to end)
test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

## chaos: the full chaos run (10,000 operations, 20 kill -9s of backend and database)
chaos: $(STAMP)
	$(PY) scripts/chaos.py

## fuzz: the long schemathesis run against the backend's own OpenAPI
fuzz: $(STAMP)
	$(PY) scripts/fuzz.py

## bench: benchmarks → docs/BENCHMARKS.md (~6 min; QUICK=1 for a short run)
bench: $(STAMP)
	$(PY) scripts/bench.py $(if $(QUICK),--quick)

lint: $(STAMP)
	$(BIN)/ruff check backend bot tests
	$(BIN)/ruff format --check backend bot tests
	$(BIN)/mypy backend bot

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

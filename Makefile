# Mata Duitan: `make run` starts the product, `make test` runs every test.
# Every target installs what it needs into ./.venv first (a fresh clone needs nothing else).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
# `make run VENV=/some/venv` (and every target) uses that venv as it is, never rebuilding it (tests do)
NEEDS  := $(if $(filter .venv,$(VENV)),$(STAMP))

.PHONY: install run backend bot test chaos fuzz bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: backend (+ embedded database under ./data) and, when TELEGRAM_BOT_TOKEN is set, the bot,
## under supervisord (supervisord.conf says why): a crashed bot is restarted, the backend keeps serving;
## Ctrl-C stops all of them. HOST/PORT (backend) and BACKEND_URL (bot) come from the environment or .env.
run: $(NEEDS)
	@mkdir -p data
	@bot=$$($(PY) -c "$$RUN_BANNER") && \
		MATA_DUITAN_BOT=$$bot MATA_DUITAN_PYTHON='$(abspath $(PY))' exec '$(abspath $(BIN))/supervisord' -c supervisord.conf

# Says where the backend listens and whether the bot starts, read by the programs' own settings
# (environment, then .env); prints true/false (start the bot) on stdout.
define RUN_BANNER
import sys
from urllib.parse import urlsplit
from backend.config import Settings
from bot.config import BotSettings
api, bot = Settings(), BotSettings()
url = f"http://{api.host}:{api.port}"
lines = [f"Backend: {url} (API docs: {url}/docs). Ctrl-C stops everything."]
if not bot.telegram_bot_token.strip():
    lines += ["TELEGRAM_BOT_TOKEN is not set: starting the backend only. To add the bot, get a token",
              "from @BotFather, put TELEGRAM_BOT_TOKEN=<token> in .env, then run 'make run' again."]
else:
    lines += [f"Bot: starting; it reaches the backend at BACKEND_URL={bot.backend_url}"]
    if urlsplit(bot.backend_url).port != api.port:
        lines += [f"WARNING: BACKEND_URL is not on PORT {api.port}: the bot will not reach this backend."]
print("", *(f"  {line}" for line in lines), "", sep="\n", file=sys.stderr)
print("true" if bot.telegram_bot_token.strip() else "false")
endef
export RUN_BANNER

backend: $(NEEDS)
	$(PY) -m backend

bot: $(NEEDS)
	$(PY) -m bot

## test: every test (unit, API, attacks, store conformance, crash, chaos, API fuzz, bot end to end)
test: $(NEEDS)
	$(PY) -m pytest -q -p no:cacheprovider

## chaos: the full chaos run (10,000 operations, 20 kill -9s of backend and database)
chaos: $(NEEDS)
	$(PY) scripts/chaos.py

## fuzz: the long schemathesis run against the backend's own OpenAPI
fuzz: $(NEEDS)
	$(PY) scripts/fuzz.py

## bench: benchmarks → docs/BENCHMARKS.md (~35 min: HTTP and store, delivery to Telegram, statements; QUICK=1 for a short run)
bench: $(NEEDS)
	$(PY) -m bench $(if $(QUICK),--quick)
	$(PY) -m bench.delivery $(if $(QUICK),--quick)
	$(PY) -m bench.statements $(if $(QUICK),--quick)

## lint: ruff (check, format) and mypy; bench's mypy run does not report on the tests/ modules it imports
lint: $(NEEDS)
	$(BIN)/ruff check backend bot tests bench
	$(BIN)/ruff format --check backend bot tests bench
	$(BIN)/mypy backend bot
	$(BIN)/mypy --follow-imports=silent bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

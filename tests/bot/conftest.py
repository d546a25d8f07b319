"""Fixtures for the bot: the fake Telegram server, and the real Application polling it.

`bot_backend` is the backend the bot talks to: the `live_backend` fixture when tests/conftest.py
provides one (it must send its Telegram DMs to `telegram.url` with `telegram.token`), else a
real backend process started here with OTP_DELIVERY=telegram pointed at the fake server; the
end-to-end tests are skipped if neither can run.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application
from bot.config import BotSettings
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram

BOT_SECRET = "bot-secret-for-tests"
_chat_ids = itertools.count(910_000_001)


@pytest.fixture(scope="session")
def telegram() -> Iterator[FakeTelegram]:
    """One fake Bot API server for the whole session (tests use distinct chat ids)."""
    server = FakeTelegram().start()
    yield server
    server.stop()


@pytest.fixture
def new_chat(telegram: FakeTelegram) -> Any:
    """A factory of fresh chats: new_chat(language_code="id") → chat id."""

    def make(first_name: str = "Tester", language_code: str = "en") -> int:
        chat_id = next(_chat_ids)
        telegram.chat(chat_id, first_name, language_code)
        return chat_id

    return make


class BotRunner:
    """Start / stop / restart the real Application against the fake server, like run_polling."""

    def __init__(self, settings: BotSettings) -> None:
        self.settings = settings
        self.app: Application | None = None

    async def start(self) -> Application:
        app = build_application(self.settings)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        self.app = app
        return app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)

    async def restart(self) -> Application:
        await self.stop()
        return await self.start()


def bot_settings(
    telegram: FakeTelegram, backend_url: str, data_dir: Path, **overrides: Any
) -> BotSettings:
    """Settings of a bot under test (no .env file read)."""
    values: dict[str, Any] = {
        "telegram_bot_token": telegram.token,
        "telegram_api_url": telegram.url,
        "backend_url": backend_url,
        "bot_api_secret": BOT_SECRET,
        "backend_timeout": 5.0,
        "data_dir": data_dir,
        "reminder_interval": 3600,
        "reminder_first": 3600,
        **overrides,
    }
    return BotSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def bot_factory(telegram: FakeTelegram, tmp_path: Path) -> AsyncIterator[Any]:
    """make(backend_url, **settings) → a started BotRunner; all are stopped at the end."""
    runners: list[BotRunner] = []

    async def make(backend_url: str, **overrides: Any) -> BotRunner:
        runner = BotRunner(bot_settings(telegram, backend_url, tmp_path / "bot", **overrides))
        await runner.start()
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        await runner.stop()


@dataclass
class BackendHandle:
    """What the e2e tests need of a backend."""

    url: str
    bot_secret: str
    process: Any = None  # a tests.support.backend_process.BackendProcess when started here


@pytest.fixture
def bot_backend(
    request: pytest.FixtureRequest, telegram: FakeTelegram, tmp_path: Path
) -> Iterator[BackendHandle]:
    """The real backend, delivering OTPs and notices through the fake Telegram server."""
    try:
        live = request.getfixturevalue("live_backend")
    except pytest.FixtureLookupError:
        live = None
    if live is not None:
        yield BackendHandle(live.url, live.bot_secret, live)
        return
    try:
        from tests.support.backend_process import BackendProcess
    except ImportError as exc:  # pragma: no cover - the backend's test support is not there
        pytest.skip(f"no backend test support: {exc}")
    process = BackendProcess(
        tmp_path / "backend",
        OTP_DELIVERY="telegram",
        TELEGRAM_API_URL=telegram.url,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_BOT_USERNAME=BOT_USERNAME,
        BOT_API_SECRET=BOT_SECRET,
    )
    try:
        process.start()
    except RuntimeError as exc:
        process.stop()
        pytest.skip(f"the backend does not start yet: {str(exc)[-500:]}")
    yield BackendHandle(process.url, BOT_SECRET, process)
    process.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A URL where nothing listens (the backend is down)."""
    from tests.support.backend_process import free_port

    return f"http://127.0.0.1:{free_port()}"

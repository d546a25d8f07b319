"""Fixtures for the bot: the fake Telegram server, and the real Application polling it.

`bot_backend` is the backend the bot talks to: the `live_backend` fixture when tests/conftest.py
provides one, else one real backend process for the session, started here with
OTP_DELIVERY=telegram (its outbox is delivered by the bot under test). Tests that kill, stop or
reconfigure a backend start their own (`backend_factory`). A backend that cannot start fails the
test; it never skips it.
"""

from __future__ import annotations

import itertools
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application
from bot.config import BotSettings
from tests.bot.scenario import deposit_seen, register, unique
from tests.fakes.telegram_api import FakeTelegram, Limits

BOT_SECRET = "bot-secret-for-tests"
# The functional e2e tests run against a Telegram four times as fast: every limit window of the
# fake is a quarter as long and the bot paces itself alike, so the same shape of traffic is just
# as strict (429 past it) in a quarter of the time. test_e2e_delivery.py and the bench run with
# Telegram's real figures.
TIME_SCALE = 0.25
_chat_ids = itertools.count(910_000_001)


@pytest.fixture(scope="session")
def telegram() -> Iterator[FakeTelegram]:
    """One fake Bot API server for the whole session (tests use distinct chat ids)."""
    server = FakeTelegram(limits=Limits().scaled(TIME_SCALE)).start()
    yield server
    server.stop()


def time_scale(telegram: FakeTelegram) -> float:
    """How compressed the fake's limit windows are (1 = Telegram's own)."""
    if telegram.limits is None:
        return 1.0
    return telegram.limits.overall[0][0] / Limits().overall[0][0]


@pytest.fixture
def new_chat(telegram: FakeTelegram) -> Any:
    """A factory of fresh chats: new_chat(language_code="id") → chat id."""

    def make(first_name: str = "Tester", language_code: str = "en") -> int:
        chat_id = next(_chat_ids)
        telegram.chat(chat_id, first_name, language_code)
        return chat_id

    return make


class BotRunner:
    """Start / stop / restart the real Application against the fake server, like run_polling.

    With `poll=False` the Application runs (jobs, handlers) but fetches no updates: a second
    process of the same bot, which Telegram would refuse a second long poll (409 Conflict).
    """

    def __init__(self, settings: BotSettings, *, poll: bool = True) -> None:
        self.settings = settings
        self.poll = poll
        self.app: Application | None = None

    async def start(self) -> Application:
        app = build_application(self.settings)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        assert app.updater is not None
        if self.poll:
            await app.updater.start_polling(timeout=1, poll_interval=0)
        self.app = app
        return app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        assert app.updater is not None
        if app.updater.running:
            await app.updater.stop()
        await app.stop()
        if app.post_stop:
            await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)

    async def restart(self) -> Application:
        await self.stop()
        return await self.start()


def bot_settings(telegram: FakeTelegram, backend_url: str, data_dir: Path, **overrides: Any) -> BotSettings:
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
        "telegram_rate_scale": time_scale(telegram),
        **overrides,
    }
    return BotSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def bot_factory(telegram: FakeTelegram, tmp_path: Path) -> AsyncIterator[Any]:
    """make(backend_url, poll=True, data_dir=None, **settings) → a started BotRunner; all are
    stopped at the end. Runners share one data directory (persistence file) unless told."""
    runners: list[BotRunner] = []

    async def make(
        backend_url: str, *, poll: bool = True, data_dir: Path | None = None, **overrides: Any
    ) -> BotRunner:
        settings = bot_settings(telegram, backend_url, data_dir or tmp_path / "bot", **overrides)
        runner = BotRunner(settings, poll=poll)
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


def start_backend(telegram: FakeTelegram, data_dir: Path, **env: str) -> Any:
    """A started backend process (BackendProcess) on `data_dir` whose outbox of OTPs and notices
    the bot under test delivers (it needs no Telegram token); the test fails if it cannot start."""
    from tests.support.backend_process import BackendProcess

    process = BackendProcess(
        data_dir,
        OTP_DELIVERY="telegram",
        BOT_API_SECRET=BOT_SECRET,
        TALLY_GAP_SECONDS=str(5.0 * time_scale(telegram)),  # the fake's group minute is scaled
        **env,
    )
    try:
        process.start()
    except RuntimeError as exc:
        process.stop()
        pytest.fail(f"the backend did not start: {str(exc)[-500:]}")
    return process


def stop_backend(process: Any) -> None:
    """Stop a backend process, even one a test left stopped (SIGSTOP)."""
    if process.process is not None:
        process.process.send_signal(signal.SIGCONT)
    process.stop()


@pytest.fixture(scope="session")
def shared_backend(
    telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BackendHandle]:
    """One backend process for every test that neither stops, slows nor reconfigures it. Each
    test makes its own users, so tests do not see each other's accounts."""
    process = start_backend(telegram, tmp_path_factory.mktemp("shared_backend"))
    yield BackendHandle(process.url, BOT_SECRET, process)
    stop_backend(process)


@pytest.fixture
def backend_factory(telegram: FakeTelegram, tmp_path: Path) -> Iterator[Any]:
    """make(**env) → a backend process of this test only (BackendHandle), with these environment
    overrides; for tests that kill, stop or reconfigure it. Stopped at the end."""
    processes: list[Any] = []

    def make(**env: str) -> BackendHandle:
        process = start_backend(telegram, tmp_path / f"backend{len(processes)}", **env)
        processes.append(process)
        return BackendHandle(process.url, BOT_SECRET, process)

    yield make
    for process in processes:
        stop_backend(process)


@pytest.fixture
def bot_backend(request: pytest.FixtureRequest) -> BackendHandle:
    """The real backend, delivering OTPs and notices through the fake Telegram server: the
    `live_backend` fixture when one is provided, else the session's shared backend process."""
    try:
        live = request.getfixturevalue("live_backend")
    except pytest.FixtureLookupError:
        live = None
    if live is not None:
        return BackendHandle(live.url, live.bot_secret, live)
    return request.getfixturevalue("shared_backend")  # type: ignore[no-any-return]


@pytest.fixture
def closed_port_url() -> str:
    """A URL where nothing listens (the backend is down)."""
    from tests.support.backend_process import free_port

    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def offline_bot(bot_factory: Any, closed_port_url: str) -> BotRunner:
    """A running bot whose backend is down: nothing listens at its URL."""
    return await bot_factory(closed_port_url)  # type: ignore[no-any-return]


@pytest.fixture
async def two_users(
    telegram: FakeTelegram, bot_backend: BackendHandle, bot_factory: Any, new_chat: Any
) -> dict[str, Any]:
    """A running bot and two registered users, alice (Rp500.000) and bob (Rp0)."""
    runner = await bot_factory(bot_backend.url, bot_api_secret=bot_backend.bot_secret)
    alice, bob = new_chat("Alice"), new_chat("Bob")
    names = {"alice": unique("alice"), "bob": unique("bob")}
    await register(telegram, alice, names["alice"], "Alice Wijaya")
    await register(telegram, bob, names["bob"], "Bob Santoso")
    await deposit_seen(telegram, alice, bot_backend, names["alice"], 500_000)
    return {
        "runner": runner,
        "backend": bot_backend,
        "alice": alice,
        "bob": bob,
        **{f"{k}_name": v for k, v in names.items()},
    }

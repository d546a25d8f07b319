"""Bot settings that decide whether and how the bot runs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from backend.config import Settings
from bot.config import BotSettings
from bot.reminders import check_period


def test_in_production_the_token_and_the_backend_secret_are_required(tmp_path: Path) -> None:
    settings = BotSettings(  # type: ignore[call-arg]
        _env_file=None, env="production", telegram_bot_token="1:x", bot_api_secret=" ", data_dir=tmp_path
    )
    assert settings.missing() == ["BOT_API_SECRET"]
    assert settings.backend_secret(wait=0) == " "  # never the generated file's: refused above


def development(data_dir: Path, **values: Any) -> tuple[Settings, BotSettings]:
    """The backend's and the bot's settings in development, BOT_API_SECRET unset unless given."""
    values = {"_env_file": None, "env": "development", "bot_api_secret": "", "data_dir": data_dir, **values}
    return Settings(**values), BotSettings(telegram_bot_token="1:x", **values)


def test_in_development_the_bot_uses_the_secret_the_backend_generates(tmp_path: Path) -> None:
    backend, bot = development(tmp_path)
    assert bot.missing() == []
    with pytest.raises(SystemExit, match="bot_api_secret"):
        bot.backend_secret(wait=0.3)  # no backend wrote it

    secret = backend.bot_secret
    assert len(secret) >= 32
    assert (tmp_path / "bot_api_secret").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["bot_api_secret"]
    assert bot.backend_secret(wait=0) == secret
    assert development(tmp_path)[0].bot_secret == secret  # kept across restarts


def test_the_bot_waits_for_the_backend_to_write_the_secret(tmp_path: Path) -> None:
    backend, bot = development(tmp_path)
    writer = threading.Timer(0.5, lambda: backend.bot_secret)
    writer.start()
    try:
        assert bot.backend_secret(wait=10) == (tmp_path / "bot_api_secret").read_text()
    finally:
        writer.join()


def test_a_configured_secret_wins_over_the_generated_one(tmp_path: Path) -> None:
    assert development(tmp_path)[0].bot_secret
    backend, bot = development(tmp_path, bot_api_secret="configured-secret")
    assert backend.bot_secret == bot.backend_secret(wait=0) == "configured-secret"


@pytest.mark.parametrize(("interval", "period"), [(10, 1.0), (5, 1.0), (600, 60.0), (86_400, 300.0)])
def test_reminders_are_looked_for_well_within_each_interval(interval: int, period: float) -> None:
    assert check_period(interval) == period


@pytest.mark.parametrize("interval", [0, 9, 31 * 86_400])
def test_a_reminder_interval_the_backend_would_refuse_is_refused_at_start(
    tmp_path: Path, interval: int
) -> None:
    with pytest.raises(ValueError, match="reminder_interval"):
        BotSettings(_env_file=None, reminder_interval=interval, data_dir=tmp_path)  # type: ignore[call-arg]

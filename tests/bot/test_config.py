"""Bot settings that decide whether and how the bot runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import BotSettings
from bot.reminders import check_period


def test_the_token_and_the_backend_secret_are_required(tmp_path: Path) -> None:
    settings = BotSettings(  # type: ignore[call-arg]
        _env_file=None, telegram_bot_token="1:x", bot_api_secret=" ", data_dir=tmp_path
    )
    assert settings.missing() == ["BOT_API_SECRET"]


@pytest.mark.parametrize(("interval", "period"), [(10, 1.0), (5, 1.0), (600, 60.0), (86_400, 300.0)])
def test_reminders_are_looked_for_well_within_each_interval(interval: int, period: float) -> None:
    assert check_period(interval) == period


@pytest.mark.parametrize("interval", [0, 9, 31 * 86_400])
def test_a_reminder_interval_the_backend_would_refuse_is_refused_at_start(
    tmp_path: Path, interval: int
) -> None:
    with pytest.raises(ValueError, match="reminder_interval"):
        BotSettings(_env_file=None, reminder_interval=interval, data_dir=tmp_path)  # type: ignore[call-arg]

"""Webhook mode refuses updates without Telegram's secret header."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot.app import build_application
from bot.config import BotSettings
from bot.webhook import SECRET_HEADER, build_webhook_app

UPDATE = {
    "update_id": 1,
    "message": {
        "message_id": 1,
        "date": 0,
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
        "text": "/help",
    },
}


def settings(tmp_path: Path) -> BotSettings:
    return BotSettings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token="1:x",
        data_dir=tmp_path,
        webhook_url="https://bot.example.com/tg/hook",
        webhook_secret="s3cret",
    )


async def test_secret_header_is_checked(tmp_path: Path) -> None:
    config = settings(tmp_path)
    application = build_application(config)
    transport = httpx.ASGITransport(app=build_webhook_app(application, config))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
        assert (await http.post("/tg/hook", json=UPDATE)).status_code == 403
        wrong = {SECRET_HEADER: "nope"}
        assert (await http.post("/tg/hook", json=UPDATE, headers=wrong)).status_code == 403
        assert application.update_queue.empty()
        right = {SECRET_HEADER: "s3cret"}
        assert (await http.post("/tg/hook", json=UPDATE, headers=right)).status_code == 200
        assert (await application.update_queue.get()).message.text == "/help"


def test_webhook_without_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="WEBHOOK_SECRET"):
        BotSettings(_env_file=None, webhook_url="https://x/y", data_dir=tmp_path)  # type: ignore[call-arg]


def test_base_urls_follow_telegram_api_url(tmp_path: Path) -> None:
    config = BotSettings(_env_file=None, telegram_api_url="http://127.0.0.1:9/", data_dir=tmp_path)  # type: ignore[call-arg]
    assert config.base_url == "http://127.0.0.1:9/bot"
    assert config.base_file_url == "http://127.0.0.1:9/file/bot"

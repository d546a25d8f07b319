"""Bot settings: the only code in bot/ that reads the environment (or `.env`)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)


class BotSettings(BaseSettings):
    """Every bot setting; see `.env.example` for what each one means."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    telegram_bot_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    backend_url: str = "http://127.0.0.1:8000"
    backend_timeout: float = Field(default=10.0, gt=0)
    bot_api_secret: str = ""
    # the backend refuses to claim reminders for an interval outside 10 s – 30 days
    reminder_interval: int = Field(default=86400, ge=10, le=30 * 86400)
    reminder_first: float = Field(default=10.0, ge=0)
    reminder_batch: int = Field(default=50, gt=0)
    # how often the bot asks the backend to make the dues rounds that have come (groups.py)
    dues_check_seconds: float = Field(default=300.0, ge=0.2)
    data_dir: Path = Path("./data")
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    # 1 = Telegram's own limits. Below 1 the bot's sending pace is compressed by that factor, for
    # a fake Bot API whose windows are compressed alike (tests); never below 1 against Telegram.
    telegram_rate_scale: float = Field(default=1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> BotSettings:
        """Webhook mode without a secret would accept forged updates from anyone."""
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("WEBHOOK_SECRET must be set when WEBHOOK_URL is set")
        return self

    def missing(self) -> list[str]:
        """Settings the bot cannot run without, still unset (checked by `python -m bot`)."""
        required = {"TELEGRAM_BOT_TOKEN": self.telegram_bot_token}
        if self.env == "production":  # elsewhere the backend generates one (backend_secret)
            required["BOT_API_SECRET"] = self.bot_api_secret
        return [name for name, value in required.items() if not value.strip()]

    def backend_secret(self, wait: float = 30.0) -> str:
        """BOT_API_SECRET, or (not in production) the one the backend generates into
        DATA_DIR/bot_api_secret at start-up: waited for up to `wait` seconds, since `make run`
        starts both at once. Raises SystemExit if it does not appear."""
        if self.bot_api_secret.strip() or self.env == "production":
            return self.bot_api_secret
        path = self.data_dir / "bot_api_secret"
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                secret = path.read_text().strip()
            except FileNotFoundError:
                secret = ""
            if secret:
                return secret
            if time.monotonic() > deadline:
                raise SystemExit(f"BOT_API_SECRET is unset and no backend wrote {path} (is it running?)")
            if not told:
                logger.info("BOT_API_SECRET is unset: waiting for the backend to write %s", path)
                told = True
            time.sleep(0.2)

    @property
    def base_url(self) -> str:
        """PTB's `base_url`: the token is appended to it."""
        return f"{self.telegram_api_url.rstrip('/')}/bot"

    @property
    def base_file_url(self) -> str:
        """PTB's `base_file_url`: the token is appended to it."""
        return f"{self.telegram_api_url.rstrip('/')}/file/bot"

    @property
    def persistence_path(self) -> Path:
        """Where the per-chat login (refresh token) and language survive restarts."""
        return self.data_dir / "bot_state.pickle"

"""Settings: the only code that reads the environment (or `.env`)."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "changethis"}


class Settings(BaseSettings):
    """Every backend setting; see `.env.example` for what each one means."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    mongodb_uri: str = ""
    mongodb_db: str = "mata_duitan"
    data_dir: Path = Path("./data")
    embedded_db_port: int = 27117
    host: str = "127.0.0.1"
    port: int = 8000
    jwt_secret: str = ""
    access_token_ttl_seconds: int = 24 * 3600
    refresh_token_ttl_days: int = 180
    otp_delivery: Literal["telegram", "log"] = "telegram"
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_requests_per_window: int = 5
    otp_request_window_seconds: int = 600
    # statements, exports and charts are rendered on request: at most this many per user and window
    documents_per_window: int = Field(default=30, ge=1)
    documents_window_seconds: int = Field(default=600, ge=1)
    bot_api_secret: str = ""
    admin_username: str = "admin"
    admin_password: str = ""
    currency: str = "IDR"
    max_transfer_amount: int = Field(default=10_000_000, gt=0)
    daily_transfer_limit: int = Field(default=25_000_000, gt=0)
    # Bank Indonesia's e-money limits (README "E-money limits"): what a wallet may hold by tier,
    # and what may come in per calendar month (counted in LIMITS_TIMEZONE); reversals are exempt
    balance_cap_unverified: int = Field(default=2_000_000, gt=0)
    balance_cap_verified: int = Field(default=20_000_000, gt=0)
    monthly_incoming_cap: int = Field(default=40_000_000, gt=0)
    limits_timezone: str = "Asia/Jakarta"
    # dues rounds: calendar months in limits_timezone; a positive number makes a "month" that
    # many seconds long (tests simulate months)
    dues_month_seconds: int = Field(default=0, ge=0)
    # MAX_BALANCE (one cap for everybody, read by nothing) was replaced by the caps above
    max_balance: int | None = Field(default=None, exclude=True)
    signin_max_failures: int = 5
    signin_lock_seconds: int = 900
    ledger_lease_seconds: int = 30
    sweeper_interval_seconds: int = 10
    # the outbox (notices.py): a claimed notice returns to the queue after this, if not acknowledged
    notice_lease_seconds: int = Field(default=60, ge=1, le=3600)
    # POST /api/processing refuses (503 delivery_unavailable) when no bot has polled for this long
    courier_stale_seconds: int = Field(default=90, ge=5)
    notice_keep_days: int = Field(default=7, ge=1)  # ended notices are kept this long, then purged
    # the least time between two edits of one group tally (a group takes 20 messages a minute);
    # tests against a fake whose minute is scaled down scale it down too
    tally_gap_seconds: float = Field(default=5.0, ge=0.5, le=300)
    # a bill's due date: today or later in this time zone, at most this many days ahead
    bill_timezone: str = "Asia/Jakarta"
    due_date_max_days: int = Field(default=365, ge=1, le=3660)

    @model_validator(mode="after")
    def _refuse_retired_settings(self) -> Settings:
        """A setting that no longer means anything is refused, not silently ignored."""
        if self.max_balance is not None:
            raise ValueError(
                "MAX_BALANCE is gone: set BALANCE_CAP_UNVERIFIED and BALANCE_CAP_VERIFIED "
                "(Bank Indonesia's e-money tiers) instead"
            )
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        """Production refuses placeholder secrets and the plaintext OTP log channel."""
        if self.env != "production":
            return self
        if self.jwt_secret.lower() in PLACEHOLDER_SECRETS or len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be set to 32+ random characters in production")
        if self.otp_delivery == "log":
            raise ValueError("OTP_DELIVERY=log is refused in production")
        if self.bot_api_secret.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("BOT_API_SECRET must be set in production")
        return self

    def balance_cap(self, tier: str) -> int:
        """What a wallet of this tier ("unverified" or "verified") may hold."""
        return self.balance_cap_verified if tier == "verified" else self.balance_cap_unverified

    @cached_property
    def signing_key(self) -> str:
        """The JWT key: the configured one, or (development) one generated once under DATA_DIR."""
        if self.jwt_secret and self.jwt_secret.lower() not in PLACEHOLDER_SECRETS:
            return self.jwt_secret
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    @cached_property
    def bot_secret(self) -> str:
        """The X-Bot-Secret: BOT_API_SECRET, or (not in production, where it is required) one
        generated once into DATA_DIR/bot_api_secret, which the bot reads when its own is unset."""
        if self.bot_api_secret.strip() or self.env == "production":
            return self.bot_api_secret
        path = self.data_dir / "bot_api_secret"
        if not path.exists():  # written whole under a temporary name: the bot may be reading it
            self.data_dir.mkdir(parents=True, exist_ok=True)
            staged = path.with_name(f".bot_api_secret.{os.getpid()}")
            with os.fdopen(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
                file.write(secrets.token_urlsafe(48))
            staged.chmod(0o600)
            with contextlib.suppress(FileExistsError):  # another backend was first: keep its secret
                os.link(staged, path)
            staged.unlink()
        return path.read_text().strip()

    @property
    def uses_embedded_db(self) -> bool:
        """True when MONGODB_URI is unset and the project runs its own nx-27017."""
        return not self.mongodb_uri

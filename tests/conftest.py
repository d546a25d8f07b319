"""Shared fixtures: the embedded database, a fresh app per test, OTPs read from the log channel.

Every test runs against the real backend code and the real embedded database (nx-27017), or
against MONGODB_URI when it is set. Each test gets its own database name. A database that will
not start or does not answer fails the tests that need it, with the reason; it never skips them.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from backend.config import Settings
from backend.embedded_db import EmbeddedMongo
from backend.main import create_app
from tests.support.backend_process import free_port
from tests.support.wallet_client import WalletClient

OTP_LINE = re.compile(r"otp username=(\S+) code=(\d{6}) action=(\w+)")


def start_embedded_db(data_dir: Path) -> EmbeddedMongo:
    """A running nx-27017 on a free port; the test fails (never skips) when it cannot start."""
    server = EmbeddedMongo(data_dir, free_port())
    try:
        server.ensure_running()
    except (OSError, RuntimeError) as exc:  # not installed, exited at start-up, never listened
        pytest.fail(
            f"the embedded database (nx-27017) did not start: {exc}. It is a dependency of the "
            "project (`make install`); or set MONGODB_URI to a MongoDB of yours.",
            pytrace=False,
        )
    return server


def require_answering(uri: str) -> None:
    """Fail the test at once, not after each test's own timeout, when MONGODB_URI does not answer."""
    client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        client.admin.command("ping")
    except PyMongoError as exc:  # the URI is not printed: it may hold a password
        pytest.fail(f"the server MONGODB_URI names does not answer: {exc}", pytrace=False)
    finally:
        client.close()


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """MONGODB_URI when set (and answering), else an embedded nx-27017 server for the whole session."""
    if os.environ.get("MONGODB_URI"):
        require_answering(os.environ["MONGODB_URI"])
        yield os.environ["MONGODB_URI"]
        return
    server = start_embedded_db(tmp_path_factory.mktemp("mongo"))
    yield server.uri
    server.stop()


class OtpInbox(logging.Handler):
    """Collects the OTPs the backend delivers on its `log` channel."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.codes: dict[tuple[str, str], str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        """Remember the newest code per (username, action)."""
        match = OTP_LINE.search(record.getMessage())
        if match:
            self.codes[(match.group(1), match.group(3))] = match.group(2)

    def __call__(self, username: str, action: str) -> str:
        """The newest code for this user and action."""
        return self.codes[(username, action)]


@pytest.fixture
def otp_inbox() -> Iterator[OtpInbox]:
    """OTPs as the backend logs them (OTP_DELIVERY=log)."""
    inbox = OtpInbox()
    logger = logging.getLogger("backend.notices")
    logger.addHandler(inbox)
    logger.setLevel(logging.INFO)
    yield inbox
    logger.removeHandler(inbox)


def make_settings(mongo_uri: str, data_dir: Path, **overrides: Any) -> Settings:
    """Test settings: a fresh database, OTPs on the log channel, a known admin."""
    values: dict[str, Any] = {
        "env": "test",
        "mongodb_uri": mongo_uri,
        "mongodb_db": "t_" + uuid.uuid4().hex[:12],
        "data_dir": data_dir,
        "jwt_secret": "test-secret-" + "x" * 40,
        "otp_delivery": "log",
        "admin_username": "admin",
        "admin_password": "admin-pass-123",
        "bot_api_secret": "bot-secret-for-tests",
        "sweeper_interval_seconds": 3600,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(mongo_uri: str, tmp_path: Path) -> Settings:
    """Settings for one test."""
    return make_settings(mongo_uri, tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app, started (lifespan) on a fresh database, over FastAPI's TestClient."""
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
        app.state.wallet.store.client.drop_database(settings.mongodb_db)


@pytest.fixture
def wallet_client(client: TestClient, otp_inbox: OtpInbox) -> WalletClient:
    """User factories over the test app."""
    return WalletClient(client, otp_inbox)

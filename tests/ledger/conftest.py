"""Fixtures for driving the ledger directly on the real store (no HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.accounts import Accounts
from backend.config import Settings
from backend.db import Store, open_store
from backend.ledger import DEPOSIT, Ledger, MovementRequest
from backend.ratelimit import RateLimiter
from backend.schemas import UserCreate
from tests.conftest import make_settings
from tests.support.backend_process import BackendProcess


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[BackendProcess]:
    """A real backend process on the embedded database (2 s ledger lease, Bank Indonesia's caps)."""
    process = BackendProcess(tmp_path / "data")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def ledger_settings(mongo_uri: str, tmp_path: Path) -> Settings:
    """Settings with a short lease so recovery tests need not wait."""
    return make_settings(mongo_uri, tmp_path, ledger_lease_seconds=1)


@pytest.fixture
def store(ledger_settings: Settings) -> Iterator[Store]:
    """A fresh database with its indexes."""
    opened = open_store(ledger_settings)
    yield opened
    opened.client.drop_database(ledger_settings.mongodb_db)
    opened.client.close()


@pytest.fixture
def ledger(store: Store, ledger_settings: Settings) -> Ledger:
    """The ledger over the fresh store."""
    return Ledger(store, ledger_settings)


def make_accounts(store: Store, settings: Settings, ledger: Ledger, balances: list[int]) -> list[str]:
    """Accounts funded by deposits (so the invariant holds from the start)."""
    accounts = Accounts(store, settings, RateLimiter(store))
    names = []
    for index, balance in enumerate(balances):
        name = f"acct{index}"
        accounts.signup(UserCreate(username=name, password="password-123", name=name.title()))
        if balance:
            ledger.move(MovementRequest(DEPOSIT, balance, dst=name, reference="seed"))
        names.append(name)
    return names

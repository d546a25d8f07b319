"""The MongoDB client, its collections and their indexes.

`MONGODB_URI` set: a real MongoDB (standalone or replica set). Unset: the embedded nx-27017 server
under DATA_DIR (see `embedded_db.py`). Either way the code below only uses the portable pymongo
subset listed in the README (no sessions, no `$setOnInsert`, no `bulk_write`, no Decimal128).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from backend.config import Settings
from backend.embedded_db import EmbeddedMongo

logger = logging.getLogger(__name__)

Doc = dict  # a MongoDB document as pymongo returns it


@dataclass
class Store:
    """One MongoClient per process and the collections the backend uses."""

    client: MongoClient[Doc]
    db: Database[Doc]
    embedded: EmbeddedMongo | None = None
    started_embedded: bool = False

    @property
    def users(self) -> Collection[Doc]:
        """Accounts: profile, password hash, balance and the ledger's in-flight markers."""
        return self.db["users"]

    @property
    def ledger(self) -> Collection[Doc]:
        """One record per money movement (the journal)."""
        return self.db["ledger"]

    @property
    def bills(self) -> Collection[Doc]:
        """Bills between two users."""
        return self.db["bills"]

    @property
    def otps(self) -> Collection[Doc]:
        """Hashed one-time passwords, each bound to one action."""
        return self.db["otps"]

    @property
    def tokens(self) -> Collection[Doc]:
        """Revoked access tokens (by jti) and refresh tokens (by hash)."""
        return self.db["tokens"]

    @property
    def counters(self) -> Collection[Doc]:
        """Rate-limit windows (sign-in failures, OTP requests)."""
        return self.db["counters"]

    @property
    def notices(self) -> Collection[Doc]:
        """The outbox of Telegram messages owed to users (see notices.py)."""
        return self.db["notices"]

    @property
    def splits(self) -> Collection[Doc]:
        """Splits, dues and pay-me requests of groups (see splits.py)."""
        return self.db["splits"]

    @property
    def split_members(self) -> Collection[Doc]:
        """One row per member of a split: the member's list of splits (its key "user:time:id")."""
        return self.db["split_members"]

    @property
    def statements(self) -> Collection[Doc]:
        """Closing balances and totals of users' past months (see statements.py)."""
        return self.db["statements"]

    @property
    def audit(self) -> Collection[Doc]:
        """Who did what and when, for admin and security events."""
        return self.db["audit"]

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            self.client.admin.command("ping")
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            logger.warning("database ping failed", exc_info=True)
            return False
        return True

    def revive_embedded(self) -> None:
        """Restart the embedded server if it died (kill -9, OOM); pymongo reconnects by itself."""
        if self.embedded is not None and not self.embedded.is_listening():
            logger.warning("embedded database is down; restarting it")
            self.started_embedded = self.embedded.ensure_running() or self.started_embedded

    def close(self) -> None:
        """Close the client and stop the embedded server if this process started it."""
        self.client.close()
        if self.embedded is not None and self.started_embedded:
            self.embedded.stop()


def open_store(settings: Settings) -> Store:
    """Connect to MONGODB_URI, or start/reuse the embedded server, and create the indexes."""
    embedded = None
    started = False
    uri = settings.mongodb_uri
    if settings.uses_embedded_db:
        embedded = EmbeddedMongo(settings.data_dir, settings.embedded_db_port)
        started = embedded.ensure_running()
        uri = embedded.uri
    client: MongoClient[Doc] = MongoClient(
        uri,
        tz_aware=False,
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
        socketTimeoutMS=15000,
        maxPoolSize=64,
    )
    store = Store(client, client[settings.mongodb_db], embedded, started)
    create_indexes(store)
    return store


def create_indexes(store: Store) -> None:
    """Every index a query relies on; unique ones enforce the invariants.

    Hot queries filter on `_id` or on ONE indexed field (equality or range, sorted by it): the
    embedded server uses an index only then, and a real MongoDB is as fast with these.
    """
    store.users.create_index("telegram_chat_id", unique=True, sparse=True)
    store.users.create_index("in_flight")
    store.ledger.create_index("open_since", sparse=True)
    store.ledger.create_index("src_key", sparse=True)
    store.ledger.create_index("dst_key", sparse=True)
    for key in ("src_at", "dst_at", "src_kind", "dst_kind", "src_with", "dst_with"):
        store.ledger.create_index(key, sparse=True)  # statements and history filters
    store.ledger.create_index("done_at", sparse=True)  # admin exports of a period
    store.ledger.create_index([("seq", DESCENDING)])
    store.ledger.create_index("reversal_of", unique=True, sparse=True)
    store.ledger.create_index("request", unique=True, sparse=True)  # owner:Idempotency-Key
    store.bills.create_index("request", unique=True, sparse=True)
    store.bills.create_index("open_key", sparse=True)
    store.bills.create_index("issuer_key")
    store.bills.create_index([("status", ASCENDING), ("created_at", DESCENDING)])
    store.bills.create_index("reminded_at")
    store.bills.create_index("split", sparse=True)
    store.splits.create_index("request", unique=True, sparse=True)
    store.splits.create_index("bill_request", unique=True, sparse=True)
    store.splits.create_index("organiser_key")
    store.splits.create_index("next_at", sparse=True)  # only a running dues series carries it
    store.splits.create_index("billing_since", sparse=True)
    store.splits.create_index("created_at")
    store.split_members.create_index("member_key")
    store.split_members.create_index("split")
    store.tokens.create_index("expires_at")
    store.counters.create_index("expires_at")
    store.audit.create_index([("at", DESCENDING)])
    store.notices.create_index("due_key", sparse=True)  # only queued/claimed notices carry it
    store.notices.create_index("ended_at", sparse=True)


def now_ms() -> int:
    """Now as integer epoch milliseconds: the portable timestamp every document uses."""
    return time.time_ns() // 1_000_000


def local_date(ms: int, timezone: str) -> date:
    """The calendar date of a timestamp in `timezone` (due dates, monthly caps, birthdays)."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).date()


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as an ISO-8601 UTC string."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

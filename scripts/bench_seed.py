"""Documents shaped exactly like the backend's, written straight into the database.

    user_doc      backend/accounts.py Accounts.signup (+ link_chat's telegram_chat_id)
    bill_doc      backend/bills.py Bills.create: `_id` = code, the listing keys `payer_key`,
                  `issuer_key` ("user:created13:code") and, only while open, `open_key` and
                  `reminded_at` (Bills.close and the ledger's claim unset them); a paid bill as
                  Ledger._settle_bill leaves it (`payment_id`, `paid_at`)
    done_record   backend/ledger.py: _journal's record after _transition(→committed) and
                  _transition(→done) and _finalize — state "done", `src_key`/`dst_key`
                  ("user:seq", one per party), `done_at`, `finalized`, `seq`, no `open_since`

Seeding through the API would spend one Argon2 hash per user and ~20 round trips per movement;
the benchmarks measure the paths, not the seeding.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from pymongo.database import Database

from backend.bills import CODE_ALPHABET, CODE_LENGTH
from backend.db import Store, create_indexes
from backend.ledger import calendar_month, utc_day
from backend.security import hash_password

BALANCE = 10**12 // 2  # far above anything a run can spend
# Seeded accounts are verified, with caps far above what a run moves: the benchmarks measure the
# money path, not the e-money limits (the backend gets the same caps, or it would lower them).
BENCH_CAP, BENCH_MONTHLY_CAP = 10**12, 10**15
BENCH_CAPS_ENV = {"BALANCE_CAP_VERIFIED": str(BENCH_CAP), "MONTHLY_INCOMING_CAP": str(BENCH_MONTHLY_CAP)}
PASSWORD = "bench-password-1"
_password_hash: str | None = None
BENCH_COLLECTIONS = ("otps", "idempotency", "ledger", "counters", "bills", "audit")


def password_hash() -> str:
    """One Argon2id hash of PASSWORD, shared by every seeded user (salted once, valid for all)."""
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(PASSWORD)
    return _password_hash


def now_ms() -> int:
    """Epoch milliseconds, as backend.db.now_ms."""
    return time.time_ns() // 1_000_000


def user_doc(username: str, chat_id: int | None, *, balance: int = BALANCE) -> dict[str, Any]:
    """A user as Accounts.signup stores it, deposited and linked to a Telegram chat.

    `day` is today so that the debit takes the steady-state branch of Ledger._try_debit (the
    first debit of a day costs one extra conditional update); `month` likewise for Ledger._hold.
    """
    now = now_ms()
    doc: dict[str, Any] = {
        "_id": username,
        "name": username.replace("_", " ").title(),
        "email": None,
        "contact": None,
        "password_hash": password_hash(),
        "role": "user",
        "frozen": False,
        "lang": "en",
        "balance": balance,
        "outbox": [],
        "inbox": [],
        "in_flight": 0,
        "day": utc_day(now),
        "day_out": 0,
        "tier": "verified",
        "cap": BENCH_CAP,
        "room": BENCH_CAP - balance,
        "holds": [],
        "month": calendar_month(now, "Asia/Jakarta"),
        "month_in": 0,
        "created_at": now,
        "updated_at": now,
    }
    if chat_id is not None:
        doc["telegram_chat_id"] = chat_id
    return doc


def bill_code(rng: random.Random) -> str:
    """A bill code as Bills.new_code makes them."""
    return "".join(rng.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def bill_doc(
    code: str,
    issuer: str,
    payer: str,
    *,
    amount: int = 1000,
    status: str = "open",
    created_at: int | None = None,
) -> dict[str, Any]:
    """A bill as Bills.create stores it, then as closing or paying it leaves it for `status`."""
    now = created_at if created_at is not None else now_ms()
    payer_key = f"{payer}:{now:013d}:{code}"
    doc: dict[str, Any] = {
        "_id": code,
        "bill_name": "Patungan",
        "issuer": issuer,
        "issuer_name": issuer.title(),
        "payer": payer,
        "payer_name": payer.title(),
        "amount": amount,
        "description": None,
        "due_date": None,
        "status": status,
        "created_at": now,
        "updated_at": now,
        "code": code,
        "payer_key": payer_key,
        "issuer_key": f"{issuer}:{now:013d}:{code}",
    }
    if status == "open":  # bills.OPEN_ONLY: the payer's open list and the reminder index
        doc["open_key"] = payer_key
        doc["reminded_at"] = now
    if status == "paid":
        doc["payment_id"] = f"{now:013x}{0:012x}"
        doc["paid_at"] = now
    return doc


def done_record(
    ms: int,
    rng: random.Random,
    kind: str,
    src: str | None,
    dst: str | None,
    amount: int,
    bill: str | None = None,
) -> dict[str, Any]:
    """A finished ledger record, field for field as Ledger leaves it (`open_since` unset)."""
    movement_id = f"{ms:013x}{rng.getrandbits(48):012x}"
    done_at = ms + 3
    record: dict[str, Any] = {
        "_id": movement_id,
        "seq": movement_id,
        "kind": kind,
        "src": src,
        "dst": dst,
        "amount": amount,
        "description": f"Patungan ({bill})" if bill else None,
        "bill_code": bill,
        "reference": "cash in" if kind == "deposit" else None,
        "actor": "admin" if kind == "deposit" else None,
        "state": "done",
        "reason": None,
        "finalized": True,  # a bill payment too, once its bill was settled
        "day": utc_day(ms),
        "created_at": ms,
        "updated_at": done_at,
        "done_at": done_at,
    }
    for side, party in (("src", src), ("dst", dst)):
        if party is not None:  # Ledger._transition(→done): the history listing keys
            record[f"{side}_key"] = f"{party}:{movement_id}"
    return record


def reset(db: Database[dict[str, Any]]) -> None:
    """Empty what a run writes (keeps the admin and the indexes the backend created)."""
    for name in BENCH_COLLECTIONS:
        db[name].delete_many({})
    db.tokens.delete_many({"kind": "revoked"})
    db.users.delete_many({"role": "user"})


def drop_all(db: Database[dict[str, Any]]) -> None:
    """Drop every collection the backend uses (indexes too: the next backend start recreates them)."""
    for name in ("users", "tokens", *BENCH_COLLECTIONS):
        db.drop_collection(name)


def ensure_indexes(db: Database[dict[str, Any]]) -> None:
    """The backend's own indexes (backend/db.py create_indexes), for a database it never opened."""
    create_indexes(Store(db.client, db))  # type: ignore[arg-type]


@dataclass
class Pair:
    """One client's accounts: who pays, who is paid, and their Telegram chats."""

    payer: str
    payee: str
    payer_chat: int
    payee_chat: int


def seed_pairs(db: Database[dict[str, Any]], count: int, tag: str) -> list[Pair]:
    """`count` disjoint payer/payee pairs, deposited and linked (one per concurrent client)."""
    pairs = []
    base = 700_000_000 + random.randrange(10_000_000) * 10
    for i in range(count):
        pairs.append(Pair(f"b{tag}_payer_{i}", f"b{tag}_payee_{i}", base + 2 * i, base + 2 * i + 1))
    docs = [user_doc(p.payer, p.payer_chat) for p in pairs]
    docs += [user_doc(p.payee, p.payee_chat) for p in pairs]
    db.users.insert_many(docs)
    return pairs


def seed_open_bills(
    db: Database[dict[str, Any]], pairs: list[Pair], per_pair: int, rng: random.Random
) -> dict[str, list[str]]:
    """`per_pair` open bills issued by each payee to its payer → payer → bill codes."""
    codes: dict[str, list[str]] = {}
    docs = []
    for pair in pairs:
        mine = [bill_code(rng) for _ in range(per_pair)]
        codes[pair.payer] = mine
        docs += [bill_doc(code, pair.payee, pair.payer) for code in mine]
    if docs:
        db.bills.insert_many(docs)
    return codes

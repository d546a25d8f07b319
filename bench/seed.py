"""Seeding through the product's own functions: accounts, deposits, bills, movements, codes and
sessions are made by backend.accounts, backend.ledger, backend.bills, backend.otp and
backend.security, never written as documents that imitate theirs.

    Seeder.users        one account made by Accounts.signup and verified by Ledger.set_tier,
                        replicated under the other usernames (below); chats: Accounts.link_chat
    Seeder.deposit      Ledger.move(deposit)
    Seeder.pairs        payer/payee pairs that have paid once already today (Ledger.move(transfer))
    Seeder.open_bills   Bills.create
    Seeder.grow         a ledger of N records and N/10 bills around one viewer (the listings)
    Seeder.otp_backlog  codes of many users (Otps.issue)
    Seeder.sessions     bot sessions of many users (Tokens.open_session)

**Replicas, and why.** Some seeds are far too large for the product's functions: Accounts.signup
spends one Argon2 hash (~50 ms, two at a time) per account, so 10,000 accounts would take four
minutes; Ledger.move takes six or more round trips (~3 ms) per movement, so the listing's
1,000,000 ledger records would take most of an hour. Those are `Template.copy`s: a few real ones
are made by the product, read back from the store, and copied with the names, ids and times in
them substituted. Every field of a replica is one the product wrote, and a field the product adds
tomorrow appears in the replicas by itself. What a benchmark acts on is made by the real functions
one by one: the accounts that pay and are paid, their deposits and first payments, the bills they
pay, the viewer's movements and bills; so are the few records each kind of replica copies.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo.database import Database

from backend.bills import new_code
from backend.config import Settings
from backend.db import Store, create_indexes, now_ms
from backend.ledger import (
    BILL_PAYMENT,
    DEPOSIT,
    TRANSFER,
    VERIFIED,
    MovementRequest,
    listing_keys,
    utc_day,
)
from backend.notices import Notices
from backend.otp import OtpAction, Otps, binding_of
from backend.schemas import UserCreate
from backend.wallet import Wallet
from bench.support import AMOUNT

Doc = dict[str, Any]
BALANCE = 10**12 // 2  # far above anything a run can spend, under the bench's balance cap
PASSWORD = "bench-password-1"
BILL_NAME = "Patungan"
# The names that replicas replace: with underscores, never part of a password hash (base64) or an id (hex)
ACCOUNT = "seed_account_template"  # the one account made by Accounts.signup
SRC, DST = "seed_src_template", "seed_dst_template"  # the parties of the template records and bills
OTP_USER, OTP_PARTY = "seed_otp_template", "seed_otp_party"
DAY_MS = 86_400_000
COLLECTIONS = tuple(name for name, attr in vars(Store).items() if isinstance(attr, property))
KEPT_BY_RESET = ("users", "counters")  # the admin; the courier's heartbeat and the backend's markers


# ---- replicas ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shift:
    """Epoch milliseconds within [low, high] move by `delta` (the times of a copied document)."""

    low: int
    high: int
    delta: int


@dataclass
class Swap:
    """What a copy changes: names inside strings (`pattern` finds the keys of `names`), whole ints,
    times; with `fresh_objectids` every ObjectId becomes a new one (the same new one throughout)."""

    pattern: re.Pattern[str] | None
    names: Mapping[str, str]
    ints: Mapping[int, int] = field(default_factory=dict)
    shift: Shift | None = None
    fresh_objectids: bool = False
    objectids: dict[ObjectId, ObjectId] = field(default_factory=dict)

    def __call__(self, value: Any) -> Any:
        """`value` with the substitutions made (a new structure; the original is left alone)."""
        if isinstance(value, str):
            return self.pattern.sub(self._name, value) if self.pattern is not None else value
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self(item) for item in value]
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            if value in self.ints:
                return self.ints[value]
            if self.shift is not None and self.shift.low <= value <= self.shift.high:
                return value + self.shift.delta
            return value
        if isinstance(value, ObjectId) and self.fresh_objectids:
            return self.objectids.setdefault(value, ObjectId())
        return value

    def _name(self, match: re.Match[str]) -> str:
        return self.names[match.group(0)]


def pattern_of(names: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern finding any of `names` (the longest first, so none is cut by a shorter one)."""
    ordered = sorted({name for name in names if name}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


class Template:
    """A document the product wrote, copied with values in it replaced: `names` (strings found
    inside its strings) and, when it has a `created_at`, that time (also where a string carries
    it, as listing keys do: "user:created:code")."""

    def __init__(
        self, doc: Doc, names: Iterable[str], *, movement_ids: Sequence[str] = (), codes: Sequence[str] = ()
    ) -> None:
        self.doc = doc
        self.created = int(doc["created_at"]) if isinstance(doc.get("created_at"), int) else None
        self.movement_ids, self.codes = tuple(movement_ids), tuple(codes)
        keys = [*names, *self.movement_ids, *self.codes]
        self.pattern = pattern_of([*keys, str(self.created)] if self.created is not None else keys)

    def copy(
        self, names: Mapping[str, str], ints: Mapping[int, int] | None = None, at: int | None = None
    ) -> Doc:
        """A copy with the template's `names` replaced by theirs, `ints` replaced, and (`at`) its
        times moved so that it was created at `at`."""
        names = dict(names)
        shift = None
        if self.created is not None:
            names[str(self.created)] = str(at if at is not None else self.created)
            if at is not None:
                shift = Shift(self.created - DAY_MS, self.created + DAY_MS, at - self.created)
        return Swap(self.pattern, names, ints or {}, shift)(self.doc)  # type: ignore[no-any-return]


def movement_id_at(ms: int, rng: random.Random) -> str:
    """An id in the format of backend.ledger.new_movement_id (13 hex digits of ms, 12 random),
    made at `ms` (new_movement_id only makes them now)."""
    return f"{ms:013x}{rng.getrandbits(48):012x}"


def batched(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`items` in slices of at most `size`."""
    for first in range(0, len(items), size):
        yield items[first : first + size]


@contextmanager
def silenced(logger_name: str) -> Iterator[None]:
    """A logger quiet for the block (the OTP log channel prints every code it is given)."""
    logger = logging.getLogger(logger_name)
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


# ---- the seeder -------------------------------------------------------------------------------


@dataclass
class Pair:
    """One client's accounts: who pays, who is paid, and their Telegram chats."""

    payer: str
    payee: str
    payer_chat: int
    payee_chat: int


class Seeder:
    """The product's services (one Wallet) on one database, making what the benchmarks need."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.wallet = Wallet(store, settings)
        self._account: Doc | None = None
        self._made: tuple[dict[str, Template], dict[str, Template]] | None = None

    @classmethod
    def on(cls, db: Database[Doc], settings: Settings) -> Seeder:
        """A seeder writing into `db` (a pymongo database of the benchmark's client)."""
        return cls(Store(db.client, db), settings)

    # ---- accounts ---------------------------------------------------------------------------

    def account(self) -> Doc:
        """The account every seeded one copies: Accounts.signup (PASSWORD, so every copy can sign
        in with it), then Ledger.set_tier(verified), read back and removed (made once per seeder)."""
        if self._account is None:
            self.wallet.accounts.signup(UserCreate(username=ACCOUNT, password=PASSWORD, name=ACCOUNT))
            self._account = self.wallet.ledger.set_tier(ACCOUNT, VERIFIED, {})
            self.store.users.delete_one({"_id": ACCOUNT})
        return self._account

    def users(self, usernames: Sequence[str]) -> None:
        """Accounts like `account()` (verified, no money, no chat) under these usernames."""
        template = Template(self.account(), [ACCOUNT])
        for chunk in batched(usernames, 5_000):
            self.store.users.insert_many([template.copy({ACCOUNT: name}) for name in chunk], ordered=False)

    def link(self, chats: Mapping[str, int], lang: str = "en") -> None:
        """Accounts.link_chat for each username → chat, four at a time."""
        self._each(lambda name: self.wallet.accounts.link_chat(name, chats[name], lang), list(chats))

    def deposit(self, usernames: Sequence[str], amount: int = BALANCE) -> None:
        """An admin deposit into each account (Ledger.move), four at a time."""
        self._each(lambda name: self.deposit_one(name, amount), usernames)

    def deposit_one(self, username: str, amount: int = BALANCE) -> Doc:
        """One admin deposit (Ledger.move); → its record."""
        request = MovementRequest(DEPOSIT, amount, None, username, reference="bench", actor="admin")
        return self.wallet.ledger.move(request, payee_known=True)

    def pay(self, src: str, dst: str, amount: int = AMOUNT) -> Doc:
        """One transfer (Ledger.move); → its record."""
        return self.wallet.ledger.move(MovementRequest(TRANSFER, amount, src, dst), payee_known=True)

    def pairs(self, count: int, tag: str) -> list[Pair]:
        """`count` disjoint payer/payee pairs, linked to chats, the payer deposited, and each pair
        past its first payment of the day (and of the month): a client's accounts from its second
        payment on, which is what every run and the floor's recorded sequence measure."""
        base = 700_000_000 + random.randrange(10_000_000) * 10
        pairs = [
            Pair(f"b{tag}_payer_{i}", f"b{tag}_payee_{i}", base + 2 * i, base + 2 * i + 1)
            for i in range(count)
        ]
        self.users([name for p in pairs for name in (p.payer, p.payee)])
        self.link({p.payer: p.payer_chat for p in pairs} | {p.payee: p.payee_chat for p in pairs})
        self.deposit([p.payer for p in pairs])
        self._each(lambda p: self.pay(p.payer, p.payee, 1), pairs)
        return pairs

    def _each(self, work: Any, items: Sequence[Any]) -> None:
        """`work(item)` for every item, four at a time (the store's round trips overlap)."""
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, items))

    def courier_polled(self) -> None:
        """A bot's courier has just polled the outbox (Notices.claim, asking for nothing): the
        heartbeat an OTP request checks, for a database no courier polls (the floor's)."""
        self.wallet.notices.claim(0)

    # ---- bills ------------------------------------------------------------------------------

    def bill(self, issuer: str | Doc, payer: str | Doc, amount: int = AMOUNT) -> Doc:
        """One open bill (Bills.create), of usernames or of account documents already read."""
        accounts = self.wallet.accounts
        bill, _ = self.wallet.bills.create(
            issuer=accounts.get(issuer) if isinstance(issuer, str) else issuer,
            payer=accounts.get(payer) if isinstance(payer, str) else payer,
            bill_name=BILL_NAME,
            amount=amount,
            description=None,
            due_date=None,
        )
        return bill

    def pay_bill(self, payer: str, bill: Doc) -> Doc:
        """A bill paid through the ledger (Ledger.move settles it), described as Wallet.pay_bill
        describes it; → the payment's record."""
        request = MovementRequest(
            BILL_PAYMENT,
            bill["amount"],
            payer,
            bill["issuer"],
            f"{bill['bill_name']} ({bill['code']})",
            bill_code=bill["code"],
        )
        return self.wallet.ledger.move(request, payee_known=True)

    def open_bills(self, pairs: Sequence[Pair], per_pair: int) -> dict[str, list[str]]:
        """`per_pair` open bills issued by each payee to its payer (Bills.create) → payer → codes."""
        codes: dict[str, list[str]] = {}
        for pair in pairs:
            issuer, payer = self.wallet.accounts.get(pair.payee), self.wallet.accounts.get(pair.payer)
            codes[pair.payer] = [self.bill(issuer, payer)["code"] for _ in range(per_pair)]
        return codes

    # ---- bulk: codes and sessions -----------------------------------------------------------------

    def otp_backlog(self, count: int, rng: random.Random) -> None:
        """Codes of other users as Otps.issue leaves them: one document per (user, action), so at
        most one per action for each of 20,000 members (`member_i`); replicas of codes issued to
        one account. Issued on the log channel (no courier needed; the codes are never typed)."""
        quiet = self.wallet.settings.model_copy(update={"otp_delivery": "log"})
        otps = Otps(self.store, quiet, self.wallet.limiter, Notices(self.store, quiet))
        self.users([OTP_USER])
        user = self.wallet.accounts.get(OTP_USER)
        actions = [str(action) for action in OtpAction]
        bill = new_code()
        with silenced("backend.notices"):
            for action in actions:
                if action == "pay_bill":
                    otps.issue(user, action, binding_of(action, bill_code=bill), {})
                else:
                    otps.issue(user, action, binding_of(action, party=OTP_PARTY, amount=AMOUNT), {})
        issued = {doc["action"]: doc for doc in self.store.otps.find({"username": OTP_USER})}
        templates = [Template(issued[action], [OTP_USER, OTP_PARTY], codes=[bill]) for action in actions]
        now = now_ms()
        members = 20_000
        docs = []
        for i in range(min(count, members * len(templates))):
            names = {OTP_USER: f"member_{i % members}", OTP_PARTY: f"member_{i % 977}", bill: new_code()}
            docs.append(templates[i // members].copy(names, at=now - rng.randint(0, DAY_MS)))
        for chunk in batched(docs, 10_000):
            self.store.otps.insert_many(chunk, ordered=False)

    def sessions(self, count: int, first_chat: int) -> None:
        """`count` members (`member_i`), each with a linked chat and a bot session
        (Accounts.link_chat, Tokens.open_session: what /login through the bot leaves)."""
        names = [f"member_{i}" for i in range(count)]
        self.users(names)
        chats = {name: first_chat + i for i, name in enumerate(names)}
        self.link(chats)
        self._each(lambda name: self.wallet.tokens.open_session(name, chats[name]), names)

    # ---- bulk: the listing's ledger and bills --------------------------------------------------

    def grow(self, start: int, end: int, rng: random.Random, period: tuple[int, int], viewer: str) -> int:
        """Grow the ledger from `start` to `end` records, and the bills to a tenth of that; → records
        added. The first call also makes the viewer's own (real, made now, so the newest): 100
        transfers with 20 friends, 20 open bills to pay and 20 issued bills that were paid. The
        rest are replicas among 20,000 members, spread uniformly over `period` (5% deposits, 10%
        bill payments, the rest transfers; a bill per ten records: 80% paid, 10% open, 5%
        cancelled, 5% declined)."""
        made = 0
        if start == 0:
            made = self._viewer(viewer, rng)
        pool = [f"member_{i}" for i in range(20_000)]
        t0, t1 = period
        count = start + made
        batch: list[Doc] = []
        bills_batch: list[Doc] = []
        while count < end:
            ms = rng.randint(t0, t1)
            roll = rng.random()
            a, b = rng.sample(pool, 2)
            kind = DEPOSIT if roll < 0.05 else BILL_PAYMENT if roll < 0.15 else TRANSFER
            batch.append(self.record_like(kind, ms, rng, a, b))
            count += 1
            if count % 10 == 0:
                status = rng.choices(["paid", "open", "cancelled", "declined"], [80, 10, 5, 5])[0]
                bills_batch.append(self.bill_like(status, ms, rng, a, b))
            if len(batch) >= 10_000:
                self.store.ledger.insert_many(batch, ordered=False)
                if bills_batch:
                    self.store.bills.insert_many(bills_batch, ordered=False)
                batch, bills_batch = [], []
        if batch:
            self.store.ledger.insert_many(batch, ordered=False)
        if bills_batch:
            self.store.bills.insert_many(bills_batch, ordered=False)
        return count - start

    def _viewer(self, viewer: str, rng: random.Random) -> int:
        """The viewer's movements and bills, each made by the product; → ledger records made."""
        friends = [f"friend_{i}" for i in range(20)]
        self.users(friends)
        self.deposit([viewer, *friends])
        for _ in range(100):
            other = rng.choice(friends)
            src, dst = (viewer, other) if rng.random() < 0.5 else (other, viewer)
            self.pay(src, dst, 25_000)
        for _ in range(20):
            self.bill(rng.choice(friends), viewer)
        for _ in range(20):
            payer = rng.choice(friends)
            self.pay_bill(payer, self.bill(viewer, payer))
        return 1 + len(friends) + 100 + 20

    def _templates(self) -> tuple[dict[str, Template], dict[str, Template]]:
        """One real record of each kind, one real bill of each status, of SRC (payer) and DST
        (payee, issuer); made once per seeder."""
        if self._made is None:
            self.users([SRC, DST])
            self.deposit([SRC])
            paid = self.bill(DST, SRC, 40_000)
            moved = {
                TRANSFER: self.pay(SRC, DST, 25_000),
                DEPOSIT: self.deposit_one(DST, 500_000),
                BILL_PAYMENT: self.pay_bill(SRC, paid),
            }
            bills = {"paid": paid, "open": self.bill(DST, SRC)}
            bills["cancelled"], bills["declined"] = self.bill(DST, SRC), self.bill(DST, SRC)
            self.wallet.bills.close(bills["cancelled"]["code"], DST, as_role="issuer")
            self.wallet.bills.close(bills["declined"]["code"], SRC, as_role="payer")
            records = {kind: self.wallet.ledger.find(record["_id"]) for kind, record in moved.items()}
            stored = {status: self.store.bills.find_one({"_id": b["code"]}) for status, b in bills.items()}
            self._made = (
                {
                    kind: Template(r, [SRC, DST], movement_ids=[r["_id"]], codes=[r["bill_code"] or ""])
                    for kind, r in records.items()
                    if r is not None
                },
                {
                    status: Template(
                        b, [SRC, DST], movement_ids=[b.get("payment_id") or ""], codes=[b["code"]]
                    )
                    for status, b in stored.items()
                    if b is not None
                },
            )
        return self._made

    def record_like(
        self, kind: str, ms: int, rng: random.Random, payer: str, payee: str, *, booked: int | None = None
    ) -> Doc:
        """A finished ledger record of `kind` (transfer, deposit, bill_payment) made at `ms`, from
        `payer` to `payee` (a deposit: to `payee`): a replica of a real one (not inserted), booked
        (`done_at`) as long after `ms` as the real one was, or at `booked`. Its listing keys are
        backend.ledger's `listing_keys` of the copy: the booked instant inside them is a 13-digit
        string of `done_at`, which the copy's time shift (whole ints only) would leave as the
        template's."""
        record = self._replica(self._templates()[0][kind], ms, rng, payer, payee)
        if booked is not None:
            if record.get("updated_at") == record["done_at"]:
                record["updated_at"] = booked
            record["done_at"] = booked
        return record | listing_keys(record)

    def bill_like(self, status: str, ms: int, rng: random.Random, payer: str, issuer: str) -> Doc:
        """A bill of `status` (open, paid, cancelled, declined) made at `ms`, issued by `issuer` to
        `payer`: a replica of a real one (not inserted)."""
        return self._replica(self._templates()[1][status], ms, rng, payer, issuer)

    def _replica(self, template: Template, ms: int, rng: random.Random, payer: str, payee: str) -> Doc:
        """A copy of a record or bill, made at `ms`, between `payer` and `payee` (a deposit's
        payee): its ids new (movement ids of that time, bill codes), its day and month those of
        `ms` (backend.ledger's utc_day and Ledger.month_of)."""
        names = {SRC: payer, DST: payee}
        names |= {mid: movement_id_at(ms, rng) for mid in template.movement_ids if mid}
        names |= {code: new_code() for code in template.codes if code}
        created, month_of = template.created or ms, self.wallet.ledger.month_of
        return template.copy(names, {utc_day(created): utc_day(ms), month_of(created): month_of(ms)}, at=ms)


# ---- the collections ---------------------------------------------------------------------------


def reset(db: Database[Doc]) -> None:
    """Empty what a run writes: every collection of backend.db.Store but the users (the admin
    stays) and the counters (the courier's heartbeat and the backend's own markers stay)."""
    for name in COLLECTIONS:
        if name not in KEPT_BY_RESET:
            db[name].delete_many({})
    db.users.delete_many({"role": {"$ne": "admin"}})


def drop_all(db: Database[Doc]) -> None:
    """Drop every collection the backend uses (indexes too: the next backend start recreates them)."""
    for name in COLLECTIONS:
        db.drop_collection(name)


def ensure_indexes(db: Database[Doc]) -> None:
    """The backend's own indexes (backend/db.py create_indexes), for a database it never opened."""
    create_indexes(Store(db.client, db))  # type: ignore[arg-type]

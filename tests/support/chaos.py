"""The chaos run: clients moving money while the backend and its database are killed with SIGKILL.

N client threads do random transfers, bill creations and bill payments over HTTP (OTPs read from
the `log` channel), retrying timeouts and 5xx with the same Idempotency-Key as a real client
would. Meanwhile the backend, and separately the embedded database, are `kill -9`ed at random
instants and restarted. Then the books are checked (see `verify`). Used by `make chaos` (full run)
and by tests/chaos (a short run inside `make test`).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from tests.support.backend_process import BackendProcess
from tests.support.http_actor import HttpUser, Outcome, admin_session, create_users, reconcile

START_BALANCE = 200_000
# a balance cap just above the start: random walks fill some wallets, so credits are refused at
# the payee's cap (holds made and released) while processes die
CHAOS_BALANCE_CAP = 240_000
EXPECTED_OPS_PER_SECOND = 40  # spreads the kills over the run; clients go on until the last one


@dataclass
class Tally:
    """What the clients saw, shared between threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    operations: Counter[str] = field(default_factory=Counter)
    acknowledged: list[str] = field(default_factory=list)  # movement ids answered 2xx
    paid_bills: list[str] = field(default_factory=list)
    moved: int = 0

    def record(
        self, kind: str, movement: str | None = None, amount: int = 0, bill: str | None = None
    ) -> None:
        """Count one finished operation."""
        with self.lock:
            self.operations[kind] += 1
            if movement:
                self.acknowledged.append(movement)
                self.moved += amount
            if bill:
                self.paid_bills.append(bill)


@dataclass
class ChaosConfig:
    """How big a run is."""

    operations: int = 10_000
    kills: int = 20
    clients: int = 8
    accounts: int = 16
    seed: int = 1


class Client:
    """One client thread: owns a few users, acts only as them (one OTP per user at a time)."""

    def __init__(self, users: list[HttpUser], everyone: list[str], tally: Tally, seed: int) -> None:
        self.users, self.everyone, self.tally = users, everyone, tally
        self.rng = random.Random(seed)

    def run(self, budget: int, kills_done: threading.Event) -> None:
        """Do at least `budget` random operations, and go on until every kill has happened."""
        deadline = time.monotonic() + 3600
        done = 0
        while done < budget or not kills_done.is_set():
            done += 1
            user = self.rng.choice(self.users)
            other = self.rng.choice([n for n in self.everyone if n != user.username])
            roll = self.rng.random()
            if roll < 0.55:
                self.transfer(user, other, deadline)
            elif roll < 0.8:
                self.create_bill(user, other, deadline)
            else:
                self.pay_a_bill(user, deadline)

    def transfer(self, user: HttpUser, other: str, deadline: float) -> None:
        """A transfer; 2xx → acknowledged."""
        amount = self.rng.randint(1, 8_000)
        outcome = user.transfer(other, amount, deadline)
        if outcome.status == 201:
            self.tally.record("transfer", str(outcome.body["id"]), amount)
        else:
            self.tally.record(f"transfer_{outcome.body.get('code')}")

    def create_bill(self, user: HttpUser, payer: str, deadline: float) -> None:
        """Bill another user."""
        amount = self.rng.randint(1, 8_000)
        otp = user.request_otp({"payer": payer, "amount": amount}, "create_bill", deadline)
        if isinstance(otp, Outcome):
            self.tally.record(f"bill_{otp.body.get('code')}")
            return
        body = {"bill_name": "chaos", "payer": payer, "amount": amount, "otp": otp}
        outcome = user.send("POST", "/api/bill", body, deadline)
        self.tally.record("bill_created" if outcome.status == 201 else f"bill_{outcome.body.get('code')}")

    def pay_a_bill(self, user: HttpUser, deadline: float) -> None:
        """Pay the newest open bill this user owes, if any."""
        listing = user.call("GET", f"/api/bill/{user.username}", deadline, params={"limit": 5})
        if listing is None or listing.status_code != 200 or not listing.json()["items"]:
            self.tally.record("pay_nothing_open" if listing is not None else "pay_backend_down")
            return
        bill = self.rng.choice(listing.json()["items"])
        otp = user.request_otp({"bill_code": bill["code"]}, "pay_bill", deadline)
        if isinstance(otp, Outcome):  # paid or cancelled meanwhile, or more than the balance
            self.tally.record(f"pay_{otp.body.get('code')}")
            return
        outcome = user.send("POST", f"/api/bill/{bill['code']}/pay", {"otp": otp}, deadline)
        if outcome.status == 200:
            self.tally.record("bill_paid", str(outcome.body["payment_id"]), bill["amount"], bill["code"])
        else:
            self.tally.record(f"pay_{outcome.body.get('code')}")


def killer(
    backend: BackendProcess,
    kills: int,
    done: threading.Event,
    rng: random.Random,
    period: float,
    survived: Counter[str],
) -> None:
    """Kill the backend or the database at random instants, bring it back; then set `done`."""
    for index in range(kills):
        time.sleep(rng.uniform(0.3, 1.7) * period)
        target = ("backend", "database", "both")[index % 3]
        if target in ("database", "both"):
            backend.kill_db()
        if target in ("backend", "both"):
            backend.kill()
            time.sleep(rng.uniform(0.0, 0.5))
            backend.start()
        survived[target] += 1
    done.set()


def run_chaos(data_dir: Path, config: ChaosConfig) -> dict[str, Any]:
    """The whole run; returns the figures and the verdict of every check."""
    backend = BackendProcess(
        data_dir, OTP_REQUESTS_PER_WINDOW="1000000", BALANCE_CAP_UNVERIFIED=str(CHAOS_BALANCE_CAP)
    )
    backend.start()
    try:
        return _run(backend, config)
    finally:
        backend.stop()


def _run(backend: BackendProcess, config: ChaosConfig) -> dict[str, Any]:
    """Clients and killer at once, then the checks."""
    rng = random.Random(config.seed)
    users = create_users(backend, config.accounts, START_BALANCE, prefix="chaos")
    names = [u.username for u in users]
    tally, kills_done, survived = Tally(), threading.Event(), Counter[str]()
    per_client = config.accounts // config.clients
    clients = [
        Client(users[i * per_client : (i + 1) * per_client], names, tally, config.seed * 100 + i)
        for i in range(config.clients)
    ]
    budget = config.operations // config.clients
    started = time.monotonic()
    threads = [threading.Thread(target=c.run, args=(budget, kills_done)) for c in clients]
    period = max(0.5, config.operations / EXPECTED_OPS_PER_SECOND / max(config.kills, 1))
    chaos = threading.Thread(target=killer, args=(backend, config.kills, kills_done, rng, period, survived))
    for thread in (*threads, chaos):
        thread.start()
    chaos.join()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    checks = verify(backend, tally)
    return {
        "operations": sum(tally.operations.values()),
        "by_outcome": dict(tally.operations),
        "kills": dict(survived),
        "kills_total": sum(survived.values()),
        "retried_requests": sum(u.retries for u in users),
        "acknowledged_movements": len(tally.acknowledged),
        "money_moved": tally.moved,
        "seconds": round(elapsed, 1),
        "checks": checks,
        "ok": all(checks.values()),
    }


def verify(backend: BackendProcess, tally: Tally) -> dict[str, bool]:
    """Every check of the run, by name."""
    admin = admin_session(backend)
    report = _settled(admin)
    db = MongoClient(backend.mongo_uri, serverSelectionTimeoutMS=10_000)[
        backend.env.get("MONGODB_DB", "mata_duitan")
    ]
    done = Counter(r["_id"] for r in db.ledger.find({"state": "done"}, {"_id": 1}))
    # the Idempotency-Key is carried by the record it made (one per key: a unique index)
    keys = Counter(r.get("request") for r in db.ledger.find({}, {"request": 1}) if r.get("request"))
    user_moves = [
        r.get("request")
        for r in db.ledger.find(
            {"state": "done", "kind": {"$in": ["transfer", "bill_payment"]}}, {"request": 1}
        )
    ]
    payments = Counter(r["bill_code"] for r in db.ledger.find({"state": "done", "kind": "bill_payment"}))
    paid = [b["code"] for b in db.bills.find({"status": "paid"}, {"code": 1})]
    held_in: Counter[tuple[str, int]] = Counter()
    for record in db.ledger.find({"state": "done", "hold": True}, {"dst": 1, "month": 1, "amount": 1}):
        held_in[(record["dst"], record["month"])] += record["amount"]
    users = list(
        db.users.find({}, {"balance": 1, "cap": 1, "room": 1, "holds": 1, "month": 1, "month_in": 1})
    )
    return {
        "books_balance": bool(report["ok"])
        and report["total_balances"] == report["total_deposits"] - report["total_withdrawals"],
        "no_negative_balance": report["negative_balances"] == 0,
        "nothing_unfinished": report["unfinished"] == 0
        and db.bills.count_documents({"status": "paying"}) == 0,
        "every_2xx_in_ledger_once": all(done[m] == 1 for m in tally.acknowledged)
        and len(set(tally.acknowledged)) == len(tally.acknowledged),
        "no_key_applied_twice": all(count == 1 for count in keys.values())
        and all(m is not None and keys[m] == 1 for m in user_moves),
        "every_paid_bill_paid_once": all(payments[c] == 1 for c in paid) and set(payments) == set(paid),
        "acknowledged_paid_bills_are_paid": set(tally.paid_bills) <= set(paid),
        # the e-money caps: never passed (chaos makes no reversals), no hold left behind, and
        # this month's incoming is exactly what was credited
        "no_balance_over_its_cap": all(u["balance"] <= u["cap"] for u in users),
        "no_hold_left": all(u["holds"] == [] and u["room"] == u["cap"] - u["balance"] for u in users),
        "monthly_incoming_exact": all(u["month_in"] == held_in[(u["_id"], u["month"])] for u in users),
    }


def _settled(admin: HttpUser, timeout: float = 60.0) -> dict[str, Any]:
    """The reconciliation report once recovery has finished every interrupted movement."""
    deadline = time.monotonic() + timeout
    report = reconcile(admin)
    while (report["unfinished"] or not report["ok"]) and time.monotonic() < deadline:
        time.sleep(0.5)
        report = reconcile(admin)
    return report


def render(figures: dict[str, Any]) -> str:
    """The figures as a short text report."""
    lines = [f"{'PASS' if figures['ok'] else 'FAIL'}: chaos run"]
    for key in (
        "operations",
        "kills_total",
        "kills",
        "retried_requests",
        "acknowledged_movements",
        "money_moved",
        "seconds",
        "by_outcome",
    ):
        lines.append(f"  {key}: {figures[key]}")
    lines.extend(
        f"  check {name}: {'ok' if good else 'VIOLATED'}" for name, good in figures["checks"].items()
    )
    return "\n".join(lines)

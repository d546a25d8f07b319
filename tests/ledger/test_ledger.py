"""The ledger itself: never below zero under concurrency, exactly once, whole after any crash.

Crashes are injected at every database write of a movement, both just before the write reaches
the database and just after it did (the caller never saw the answer); recovery must then leave
every movement either fully applied or not at all, and the books balanced.
"""

from __future__ import annotations

import contextlib
import random
import threading
from typing import Any

import pytest

from backend.config import Settings
from backend.db import Store, now_ms
from backend.errors import InsufficientFunds, WalletError
from backend.ledger import (
    BILL_PAYMENT,
    DEPOSIT,
    DONE,
    REJECTED,
    REVERSAL,
    TRANSFER,
    WITHDRAWAL,
    Ledger,
    MovementRequest,
    new_movement_id,
)
from backend.notices import NoticeKind, Notices
from tests.ledger.conftest import make_accounts

WRITES = {"insert_one", "update_one", "update_many", "find_one_and_update", "delete_one"}


class Crash(Exception):
    """The process died here."""


class CrashingCollection:
    """A collection whose Nth write crashes, before or after reaching the database."""

    def __init__(self, inner: Any, plan: dict[str, int], after: bool) -> None:
        self.inner, self.plan, self.after = inner, plan, after

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if name not in WRITES:
            return attr

        def write(*args: Any, **kwargs: Any) -> Any:
            self.plan["left"] -= 1
            if self.plan["left"] == 0 and not self.after:
                raise Crash(name)
            result = attr(*args, **kwargs)
            if self.plan["left"] == 0:
                raise Crash(name)
            return result

        return write


class CrashingStore(Store):
    """The real store, with every collection wrapped to crash at the planned write."""

    def __init__(self, store: Store, crash_at: int, after: bool) -> None:
        super().__init__(store.client, store.db)
        self.plan = {"left": crash_at}
        self.after = after

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if name in ("users", "ledger", "bills"):
            return CrashingCollection(
                value, super().__getattribute__("plan"), super().__getattribute__("after")
            )
        return value


def balances(store: Store) -> dict[str, int]:
    """Every account's balance."""
    return {u["_id"]: u["balance"] for u in store.users.find({}, {"balance": 1})}


def test_never_overdraws_under_concurrency(store: Store, ledger: Ledger, ledger_settings: Settings) -> None:
    names = make_accounts(store, ledger_settings, ledger, [5_000] * 10)
    done: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(250):
            src, dst = rng.sample(names, 2)
            with contextlib.suppress(InsufficientFunds):
                done.append(ledger.move(MovementRequest(TRANSFER, rng.randint(1, 3_000), src, dst))["_id"])

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert min(balances(store).values()) >= 0
    assert sum(balances(store).values()) == 50_000
    assert ledger.reconcile()["ok"]
    assert len(done) == len(set(done)) and len(done) > 250
    assert store.ledger.count_documents({"kind": TRANSFER, "state": DONE}) == len(done)


def test_a_movement_id_applies_once_however_often_it_is_driven(
    store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    movement_id = new_movement_id()
    request = MovementRequest(TRANSFER, 1_000, src, dst)
    threads = [threading.Thread(target=ledger.move, args=(request, movement_id)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ledger.move(request, movement_id)
    assert balances(store) == {src: 9_000, dst: 1_000}


def _scenario(
    kind: str, store: Store, ledger: Ledger, settings: Settings
) -> tuple[MovementRequest, list[str]]:
    """Accounts (and a bill) for one movement of this kind."""
    names = make_accounts(store, settings, ledger, [100_000, 20_000])
    src, dst = names
    if kind == BILL_PAYMENT:
        store.bills.insert_one(
            {
                "_id": "BILLCODE23",
                "code": "BILLCODE23",
                "payer_key": f"{src}:0000000000000:BILLCODE23",
                "issuer": dst,
                "payer": src,
                "status": "open",
                "amount": 3_000,
                "bill_name": "x",
                "issuer_name": "x",
                "payer_name": "x",
            }
        )
        return MovementRequest(BILL_PAYMENT, 3_000, src, dst, bill_code="BILLCODE23"), names
    if kind == DEPOSIT:
        return MovementRequest(DEPOSIT, 3_000, dst=src, reference="cash"), names
    if kind == WITHDRAWAL:
        return MovementRequest(WITHDRAWAL, 3_000, src=src, reference="cash"), names
    if kind == REVERSAL:
        original = ledger.move(MovementRequest(TRANSFER, 3_000, src, dst))
        return MovementRequest(REVERSAL, 3_000, dst, src, reversal_of=original["_id"]), names
    return MovementRequest(TRANSFER, 3_000, src, dst), names


@pytest.mark.parametrize("after", [False, True], ids=["before-write", "after-write"])
@pytest.mark.parametrize("kind", [TRANSFER, BILL_PAYMENT, DEPOSIT, WITHDRAWAL, REVERSAL])
def test_a_crash_at_any_write_leaves_the_books_whole(
    kind: str, after: bool, store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    request, names = _scenario(kind, store, ledger, ledger_settings)
    before = balances(store)
    crash_at = 1
    while True:
        movement_id = new_movement_id()
        crashing = Ledger(CrashingStore(store, crash_at, after), ledger_settings)
        try:
            crashing.move(request, movement_id)
        except Crash:
            pass
        else:
            break  # the movement finished before the planned crash: every write was covered
        _recover_and_check(store, ledger, movement_id, request, before)
        before = balances(store)
        crash_at += 1
    assert crash_at > 3


def _recover_and_check(
    store: Store, ledger: Ledger, movement_id: str, request: MovementRequest, before: dict[str, int]
) -> None:
    """Recovery finishes or rejects the movement; money moved all the way or not at all."""
    ledger.recover(everything=True)
    record = store.ledger.find_one({"_id": movement_id})
    after = balances(store)
    recon = ledger.reconcile()
    assert recon["ok"], recon
    assert_caps_consistent(store)
    if record is None or record["state"] == REJECTED:
        assert after == before
    else:
        assert record["state"] == DONE and record["finalized"]
        delta = request.amount
        if request.src:
            assert after[request.src] == before[request.src] - delta
        if request.dst:
            assert after[request.dst] == before[request.dst] + delta
    if request.bill_code:
        bill = store.bills.find_one({"code": request.bill_code})
        paid = record is not None and record["state"] == DONE
        assert bill["status"] == ("paid" if paid else "open")
        if paid:  # let the next crash point start from an open bill again
            store.bills.update_one(
                {"code": request.bill_code},
                {"$set": {"status": "open"}, "$unset": {"payment_id": ""}},
            )
    if request.reversal_of and record is not None and record["state"] == DONE:
        store.ledger.update_one({"_id": movement_id}, {"$unset": {"reversal_of": ""}})


def test_a_retry_after_a_crash_resumes_the_same_movement(
    store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    request = MovementRequest(TRANSFER, 4_000, src, dst)
    movement_id = new_movement_id()
    with pytest.raises(Crash):
        Ledger(CrashingStore(store, 3, True), ledger_settings).move(request, movement_id)
    assert ledger.move(request, movement_id)["state"] == DONE
    assert ledger.move(request, movement_id)["state"] == DONE
    assert balances(store) == {src: 6_000, dst: 4_000}


def test_a_stale_worker_cannot_credit_twice(store: Store, ledger: Ledger, ledger_settings: Settings) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    record = ledger.move(MovementRequest(TRANSFER, 1_000, src, dst))
    stale = {**record, "state": "committed", "finalized": False}
    ledger._drive(stale)  # a worker that read the record before it was done
    ledger.recover(everything=True)
    assert balances(store) == {src: 9_000, dst: 1_000}
    assert ledger.reconcile()["ok"]


def test_a_stale_debit_of_a_rejected_movement_is_refunded(
    store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    movement_id = new_movement_id()
    request = MovementRequest(TRANSFER, 1_000, src, dst)
    record, _ = ledger._journal(request, movement_id)
    ledger._reject(record, "interrupted")  # the sweeper gave up on it...
    assert ledger._debit(record) == (None, "interrupted")  # ...a stalled worker's debit: fenced
    assert balances(store) == {src: 10_000, dst: 0}
    # a record rejected before fences existed, debited by a stalled worker: refunded
    store.users.update_one({"_id": src}, {"$pull": {"fenced": movement_id}, "$inc": {"in_flight": -1}})
    assert ledger._debit(record) == (9_000, None)
    ledger.recover(everything=True)
    assert balances(store) == {src: 10_000, dst: 0}
    assert ledger.reconcile()["ok"]


def assert_caps_consistent(store: Store) -> None:
    """No hold is left; every account's room is its cap less its balance, and this month's
    incoming is the sum of the held credits that were done."""
    done_in: dict[str, int] = {}
    for record in store.ledger.find({"state": DONE}):
        if record.get("hold"):
            done_in[record["dst"]] = done_in.get(record["dst"], 0) + record["amount"]
    for user in store.users.find({}):
        assert user["holds"] == [], user
        assert user["room"] == user["cap"] - user["balance"], user
        assert user["month_in"] == done_in.get(user["_id"], 0), user


def test_a_stale_hold_of_a_rejected_movement_is_released(
    store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    record, _ = ledger._journal(MovementRequest(TRANSFER, 1_000, src, dst), new_movement_id())
    ledger._reject(record, "interrupted")  # the sweeper gave up on it...
    assert ledger._hold(record) is None  # ...while a stalled worker still holds room for it
    held = store.users.find_one({"_id": dst})
    assert held["holds"] == [record["_id"]] and held["month_in"] == 1_000
    ledger.recover(everything=True)
    assert balances(store) == {src: 10_000, dst: 0}
    assert_caps_consistent(store)
    assert ledger.reconcile()["ok"]


def test_a_hold_made_after_the_credit_and_its_grace_is_released(
    store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    old_id = f"{now_ms() - 60_000:013x}{'0' * 12}"  # older than the markers' grace
    record = ledger.move(MovementRequest(TRANSFER, 1_000, src, dst), old_id)
    store.users.update_one({"_id": dst}, {"$pull": {"inbox": old_id}, "$inc": {"in_flight": -1}})
    assert ledger._hold(record) is None  # a worker stalled past the grace: no marker stops it
    ledger.recover(everything=True)
    assert balances(store) == {src: 9_000, dst: 1_000}
    assert_caps_consistent(store)


def test_a_hold_repeated_by_a_second_worker_is_kept_once(
    store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    record, _ = ledger._journal(MovementRequest(TRANSFER, 1_000, src, dst), new_movement_id())
    assert ledger._hold(record) is None and ledger._hold(record) is None
    assert store.users.find_one({"_id": dst})["month_in"] == 1_000
    ledger._drive(record)
    ledger._hold(record)  # a stalled worker after the credit: finds the inbox marker, holds nothing
    assert balances(store) == {src: 9_000, dst: 1_000}
    assert_caps_consistent(store)


def test_rejections_carry_their_reason(store: Store, ledger: Ledger, ledger_settings: Settings) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [1_000, 0])
    with pytest.raises(WalletError) as error:
        ledger.move(MovementRequest(TRANSFER, 5_000, src, dst))
    assert error.value.code == "insufficient_funds"
    store.users.update_one({"_id": src}, {"$set": {"frozen": True}})
    with pytest.raises(WalletError) as frozen:
        ledger.move(MovementRequest(TRANSFER, 500, src, dst))
    assert frozen.value.code == "account_frozen"
    assert balances(store) == {src: 1_000, dst: 0}


def test_markers_of_done_movements_are_pulled_after_the_grace(
    store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    ledger.move(MovementRequest(TRANSFER, 1_000, src, dst))
    ledger.recover()
    assert store.users.find_one({"_id": src})["in_flight"] == 2  # deposit in, transfer out: in grace
    assert store.users.find_one({"_id": dst})["in_flight"] == 1
    ledger.grace_ms = -1000  # as if the grace had passed
    ledger.recover()
    for name in (src, dst):
        account = store.users.find_one({"_id": name})
        assert account["in_flight"] == 0 and account["outbox"] == [] and account["inbox"] == []
    assert balances(store) == {src: 9_000, dst: 1_000}


def test_the_call_that_debits_learns_the_balance_after(
    store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    record = ledger.move(MovementRequest(TRANSFER, 2_500, src, dst))
    assert record["src_balance"] == 7_500
    assert "src_balance" not in store.ledger.find_one({"_id": record["_id"]})


@pytest.mark.parametrize("after", [False, True], ids=["before-write", "after-write"])
def test_a_crash_at_any_write_still_queues_the_notice_once(
    after: bool, store: Store, ledger_settings: Settings
) -> None:
    """The "you received" notice travels in the record: whatever write a crash hits, a movement
    that ends done has queued it exactly once, and one that ends rejected has queued none."""
    recovering = Ledger(store, ledger_settings, announce=Notices(store, ledger_settings).add)
    src, dst = make_accounts(store, ledger_settings, recovering, [100_000, 0])
    payee = {"_id": dst, "telegram_chat_id": 4242, "lang": "id"}
    crash_at = 1
    while True:
        movement_id = new_movement_id()
        notice = Notices(store, ledger_settings).build(
            payee, NoticeKind.RECEIVED, movement_id, {"amount": 3_000}
        )
        assert notice is not None
        request = MovementRequest(TRANSFER, 3_000, src, dst, notices=(notice,))
        crashing_store = CrashingStore(store, crash_at, after)
        crashing = Ledger(
            crashing_store, ledger_settings, announce=Notices(crashing_store, ledger_settings).add
        )
        try:
            crashing.move(request, movement_id)
        except Crash:
            pass
        else:
            break
        recovering.recover(everything=True)
        record = store.ledger.find_one({"_id": movement_id})
        queued = store.notices.count_documents({"_id": notice["_id"]})
        assert queued == (1 if record is not None and record["state"] == DONE else 0), crash_at
        assert recovering.reconcile()["ok"]
        crash_at += 1
    assert store.notices.count_documents({"_id": notice["_id"]}) == 1
    assert crash_at > 5


@pytest.mark.parametrize("kind", [TRANSFER, DEPOSIT])
def test_a_worker_stalled_before_its_commit_point_cannot_move_money_once_rejected(
    kind: str, store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    """No `committed` state follows the debit: the fence a rejection writes on the account of
    the commit point (the payer's debit; the payee's credit for a deposit) is what stops a worker
    that held room, stalled past the lease, and wakes after recovery rejected its record."""
    src, dst = make_accounts(store, ledger_settings, ledger, [10_000, 0])
    if kind == DEPOSIT:
        request = MovementRequest(DEPOSIT, 1_000, dst=dst, reference="cash")
    else:
        request = MovementRequest(TRANSFER, 1_000, src, dst)
    record, _ = ledger._journal(request, new_movement_id())
    assert ledger._hold(record) is None  # the worker got this far, then stalled
    assert ledger._drive(record, stale=True)["state"] == REJECTED  # recovery gives up on it
    woke = ledger._drive(record)  # the stalled worker carries on from its stale copy
    assert woke["state"] == REJECTED
    ledger.recover(everything=True)
    assert balances(store) == {src: 10_000, dst: 0}
    assert_caps_consistent(store)
    assert ledger.reconcile()["ok"]


def test_a_credit_racing_a_rejection_of_money_entering_is_fenced(
    store: Store, ledger: Ledger, ledger_settings: Settings
) -> None:
    """A deposit's commit point is its credit: once recovery has fenced and rejected the record,
    a worker that held room before and credits before the hold is released credits nothing."""
    _, dst = make_accounts(store, ledger_settings, ledger, [0, 0])
    record, _ = ledger._journal(MovementRequest(DEPOSIT, 1_000, dst=dst, reference="cash"), new_movement_id())
    assert ledger._hold(record) is None
    assert ledger._reject(record, "interrupted")["state"] == REJECTED  # fenced; hold not yet released
    assert ledger._credit(record) is False
    ledger.recover(everything=True)
    assert balances(store)[dst] == 0
    assert_caps_consistent(store)
    assert ledger.reconcile()["ok"]

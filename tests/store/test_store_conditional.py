"""The conditional debit the ledger is built on is atomic and all-or-nothing.

`update_one({"_id": a, "balance": {"$gte": amount}}, {"$inc": {"balance": -amount}})` must
report modified_count 1 and debit when the balance suffices, and 0 with the balance untouched
when it does not. Under concurrent debits and credits from many connections, no money may
appear, vanish, or go negative.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.store.helpers import Coll, fetch

ACCOUNTS = 10
THREADS = 8
MOVES_PER_THREAD = 300
OPENING_BALANCE = 500


def debit(coll: Coll, account: object, amount: int) -> bool:
    """Take `amount` from `account` if it holds that much; True when it did."""
    result = coll.update_one({"_id": account, "balance": {"$gte": amount}}, {"$inc": {"balance": -amount}})
    return result.modified_count == 1


def test_conditional_debit_applies_when_balance_suffices(coll: Coll) -> None:
    """Debiting the whole balance succeeds and leaves zero."""
    coll.insert_one({"_id": "a", "balance": 1_000})
    assert debit(coll, "a", 400)
    assert debit(coll, "a", 600)
    assert fetch(coll, "a")["balance"] == 0


def test_conditional_debit_refused_when_balance_short(coll: Coll) -> None:
    """Debiting one more than the balance modifies nothing."""
    coll.insert_one({"_id": "a", "balance": 1_000})
    result = coll.update_one({"_id": "a", "balance": {"$gte": 1_001}}, {"$inc": {"balance": -1_001}})
    assert result.matched_count == 0 and result.modified_count == 0
    assert fetch(coll, "a")["balance"] == 1_000


def move_randomly(coll: Coll, seed: int) -> tuple[int, int]:
    """Random transfers between accounts; returns (applied, refused)."""
    rng = random.Random(seed)
    applied = refused = 0
    for _ in range(MOVES_PER_THREAD):
        source, target = rng.sample(range(ACCOUNTS), 2)
        amount = rng.randint(1, OPENING_BALANCE)
        if debit(coll, source, amount):
            coll.update_one({"_id": target}, {"$inc": {"balance": amount}})
            applied += 1
        else:
            refused += 1
    return applied, refused


@pytest.mark.slow
def test_concurrent_conditional_transfers_preserve_total(coll: Coll) -> None:
    """8 threads x 300 debit-then-credit moves: the total is kept and no balance goes negative."""
    coll.insert_many([{"_id": n, "balance": OPENING_BALANCE} for n in range(ACCOUNTS)])
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda seed: move_randomly(coll, seed), range(THREADS)))
    balances = [doc["balance"] for doc in coll.find()]
    assert sum(balances) == ACCOUNTS * OPENING_BALANCE
    assert min(balances) >= 0
    # Both branches ran, so the invariant was tested under refusals as well as transfers.
    assert sum(a for a, _ in outcomes) > 0 and sum(r for _, r in outcomes) > 0

"""Values the ledger stores come back exactly: int amounts up to 2**62, bools, nested fields.

Money is an int in the smallest currency unit and timestamps are int epoch milliseconds. A store
that kept numbers as floats would lose the low bits above 2**53 without any error, so the
extremes are written, incremented and compared here.
"""

from __future__ import annotations

import pytest

from tests.store.helpers import Coll, fetch

AMOUNTS = [0, 1, -1, 10**15, 2**62, -(2**62)]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_integer_amount_round_trips_exactly(coll: Coll, amount: int) -> None:
    """An int written is the same int read back, not a float."""
    coll.insert_one({"_id": "a", "amount": amount})
    value = fetch(coll, "a")["amount"]
    assert isinstance(value, int) and not isinstance(value, bool)
    assert value == amount


def test_inc_on_large_integers_is_exact(coll: Coll) -> None:
    """$inc by ±1 next to 2**62 and 10**15 gives values a float cannot hold."""
    coll.insert_one({"_id": "a", "big": 2**62, "quad": 10**15})
    coll.update_one({"_id": "a"}, {"$inc": {"big": -1, "quad": 1}})
    doc = fetch(coll, "a")
    assert doc["big"] == 2**62 - 1
    assert doc["quad"] == 10**15 + 1


def test_large_integer_comparison_is_exact(coll: Coll) -> None:
    """Equality and $gte on 2**62 - 1 versus 2**62 tell them apart."""
    coll.insert_one({"_id": "a", "balance": 2**62 - 1})
    assert coll.count_documents({"balance": 2**62 - 1}) == 1
    assert coll.count_documents({"balance": {"$gte": 2**62}}) == 0
    assert coll.find_one({"balance": {"$gte": 2**62}}) is None


def test_bool_fields_round_trip_and_match(coll: Coll) -> None:
    """True/False come back as bools and match only themselves."""
    coll.insert_one({"_id": "a", "finalized": True, "frozen": False})
    doc = fetch(coll, "a")
    assert doc["finalized"] is True and doc["frozen"] is False
    assert coll.count_documents({"finalized": True, "frozen": False}) == 1
    assert coll.count_documents({"finalized": False}) == 0


def test_bool_set_by_update_matches_bool_queries(coll: Coll) -> None:
    """A flag flipped with $set is found by the new value and not by the old one."""
    coll.insert_one({"_id": "a", "finalized": False})
    coll.update_one({"_id": "a"}, {"$set": {"finalized": True}})
    assert coll.count_documents({"finalized": True}) == 1
    assert coll.find_one({"finalized": False}) is None


def test_dotted_set_and_inc_update_nested_fields(coll: Coll) -> None:
    """$set/$inc on "a.b" change the nested field, keep its siblings, and create missing ones."""
    coll.insert_one({"_id": "a", "limits": {"day": "2024-01-01", "spent": 100, "cap": 900}})
    coll.update_one(
        {"_id": "a"},
        {"$set": {"limits.day": "2024-01-02"}, "$inc": {"limits.spent": 50, "stats.count": 1}},
    )
    doc = fetch(coll, "a")
    assert doc["limits"] == {"day": "2024-01-02", "spent": 150, "cap": 900}
    assert doc["stats"] == {"count": 1}
    assert "limits.spent" not in doc and "stats.count" not in doc
    assert coll.count_documents({"limits.spent": 150}) == 1

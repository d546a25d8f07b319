"""Array markers: the ledger tags an account with the ids of its in-flight transfers.

A marker is pushed only when absent (`{"ids": {"$nin": [x]}}` guard, so a retried step is a
no-op), matched by membership (`{"ids": x}`), pulled when the transfer settles, and pushed in the
same single-document update that moves the balance (`$inc` + `$push` + `$set` together).
`$nin` rather than `$ne` because nx-27017 gets `$ne` on arrays wrong (see the divergences).
"""

from __future__ import annotations

from tests.store.helpers import Coll, fetch


def push_once(coll: Coll, marker: str) -> int:
    """Push `marker` onto account "a" unless present; the modified count."""
    guard = {"_id": "a", "ids": {"$nin": [marker]}}
    return coll.update_one(guard, {"$push": {"ids": marker}}).modified_count


def test_push_guarded_by_nin_applies_once(coll: Coll) -> None:
    """The second guarded push of the same marker modifies nothing."""
    coll.insert_one({"_id": "a", "ids": []})
    assert push_once(coll, "t1") == 1
    assert push_once(coll, "t1") == 0
    assert push_once(coll, "t2") == 1
    assert fetch(coll, "a")["ids"] == ["t1", "t2"]


def test_pull_removes_marker(coll: Coll) -> None:
    """$pull removes the marker (every copy) and a second pull modifies nothing."""
    coll.insert_one({"_id": "a", "ids": ["t1", "t2", "t1"]})
    assert coll.update_one({"_id": "a"}, {"$pull": {"ids": "t1"}}).modified_count == 1
    assert fetch(coll, "a")["ids"] == ["t2"]
    assert coll.update_one({"_id": "a"}, {"$pull": {"ids": "t1"}}).modified_count == 0


def test_scalar_filter_matches_array_membership(coll: Coll) -> None:
    """`{"ids": x}` matches documents whose array holds x, and only those."""
    coll.insert_many([{"_id": "a", "ids": ["t1", "t2"]}, {"_id": "b", "ids": ["t3"]}])
    assert [doc["_id"] for doc in coll.find({"ids": "t2"})] == ["a"]
    assert coll.count_documents({"ids": "t2"}) == 1
    assert coll.count_documents({"ids": "t9"}) == 0


def test_inc_push_set_in_one_update(coll: Coll) -> None:
    """One guarded update debits, records the marker and sets a field, atomically."""
    coll.insert_one({"_id": "a", "balance": 1_000, "ids": []})
    result = coll.update_one(
        {"_id": "a", "balance": {"$gte": 300}, "ids": {"$nin": ["t1"]}},
        {"$inc": {"balance": -300}, "$push": {"ids": "t1"}, "$set": {"last_transfer": "t1"}},
    )
    assert result.modified_count == 1
    doc = fetch(coll, "a")
    assert (doc["balance"], doc["ids"], doc["last_transfer"]) == (700, ["t1"], "t1")

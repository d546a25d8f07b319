"""find_one_and_update and upserts, as the ledger's sweeper and the rate-limit counters use them.

find_one_and_update must pick the first match in the given sort order, return the document
after or before the change as asked, and return None without writing when nothing matches.
An upsert written with only $inc/$set (the project does not use $setOnInsert, which nx-27017
drops from find_one_and_update) creates the document and then increments it.
"""

from __future__ import annotations

from pymongo import ReturnDocument

from tests.store.helpers import Coll, fetch


def seed(coll: Coll) -> None:
    """Six jobs, odd ones open, stored out of order."""
    jobs = [{"_id": n, "state": "open" if n % 2 else "done", "at": n} for n in (4, 1, 5, 0, 3, 2)]
    coll.insert_many(jobs)


def test_find_one_and_update_after_returns_updated_first_in_sort(coll: Coll) -> None:
    """Sort by `at` descending picks the newest match; AFTER shows the change."""
    seed(coll)
    doc = coll.find_one_and_update(
        {"state": "open"},
        {"$set": {"state": "taken"}, "$inc": {"tries": 1}},
        sort=[("at", -1)],
        return_document=ReturnDocument.AFTER,
    )
    assert doc == {"_id": 5, "state": "taken", "at": 5, "tries": 1}


def test_find_one_and_update_before_returns_original(coll: Coll) -> None:
    """Sort ascending picks the oldest match; BEFORE shows it as it was before the change."""
    seed(coll)
    doc = coll.find_one_and_update(
        {"state": "open"},
        {"$set": {"state": "taken"}},
        sort=[("at", 1)],
        return_document=ReturnDocument.BEFORE,
    )
    assert doc == {"_id": 1, "state": "open", "at": 1}
    assert fetch(coll, 1)["state"] == "taken"


def test_find_one_and_update_returns_none_without_match(coll: Coll) -> None:
    """No match: None, and no document is written."""
    seed(coll)
    doc = coll.find_one_and_update({"at": 99}, {"$set": {"state": "taken"}})
    assert doc is None
    assert coll.count_documents({}) == 6


def test_upsert_with_inc_and_set_creates_then_increments(coll: Coll) -> None:
    """The first upsert inserts (with the filter's fields), the second increments."""
    window = {"key": "signin:alice", "window": 17}
    first = coll.update_one(window, {"$inc": {"count": 1}, "$set": {"last": 1000}}, upsert=True)
    second = coll.update_one(window, {"$inc": {"count": 1}, "$set": {"last": 2000}}, upsert=True)
    assert first.upserted_id is not None and second.upserted_id is None
    assert second.modified_count == 1
    doc = coll.find_one(window, {"_id": 0})
    assert doc == {"key": "signin:alice", "window": 17, "count": 2, "last": 2000}
    assert coll.count_documents({}) == 1


def test_replace_one_upsert_creates_then_replaces_whole_document(coll: Coll) -> None:
    """One OTP document per user and action: a new code replaces every field of the old one."""
    coll.replace_one({"_id": "u:transfer"}, {"_id": "u:transfer", "nonce": "a", "attempts": 3}, upsert=True)
    coll.replace_one({"_id": "u:transfer"}, {"_id": "u:transfer", "nonce": "b", "used": False}, upsert=True)
    assert coll.find_one({"_id": "u:transfer"}) == {"_id": "u:transfer", "nonce": "b", "used": False}
    assert coll.count_documents({}) == 1


def test_find_one_and_update_with_projection_returns_only_those_fields(coll: Coll) -> None:
    """The ledger's debit returns just the new balance."""
    coll.insert_one({"_id": "acct", "balance": 500, "outbox": []})
    after = coll.find_one_and_update(
        {"_id": "acct", "balance": {"$gte": 200}, "outbox": {"$nin": ["m1"]}},
        {"$inc": {"balance": -200}, "$push": {"outbox": "m1"}},
        projection={"balance": 1},
        return_document=ReturnDocument.AFTER,
    )
    assert after == {"_id": "acct", "balance": 300}


def test_range_on_one_string_key_sorted_descending(coll: Coll) -> None:
    """History pages: "user:seq" keys, a prefix range sorted by the key, other users excluded."""
    keys = ["ab:0003", "ab:0001", "ab_c:0009", "ab0:0007", "ab:0002", "b:0005"]
    coll.insert_many([{"_id": n, "src_key": k} for n, k in enumerate(keys)])
    coll.create_index("src_key", sparse=True)
    found = coll.find({"src_key": {"$gt": "ab:", "$lt": "ab:0003"}}).sort("src_key", -1).limit(5)
    assert [d["src_key"] for d in found] == ["ab:0002", "ab:0001"]
    everything = coll.find({"src_key": {"$gt": "ab:", "$lt": "ab:~"}}).sort("src_key", -1)
    assert [d["src_key"] for d in everything] == ["ab:0003", "ab:0002", "ab:0001"]

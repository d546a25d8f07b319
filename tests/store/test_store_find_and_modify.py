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

"""The reads behind history pages, bill lists, sweeps and counters.

Sort descending + limit on a (string, int) compound index, range queries on ints and strings,
$in, $or, $exists, projection, count_documents with a filter, delete counts, and a 10,000
document insert_many. Documents are inserted in shuffled order so that a store returning
insertion order cannot pass a sort test by luck. $exists is asserted on non-null values only:
nx-27017 treats an explicit null as a missing field (see the divergences).
"""

from __future__ import annotations

import random

import pytest
from pymongo import ASCENDING, DESCENDING

from tests.store.helpers import Coll, Doc, ids


def entry(n: int) -> Doc:
    """Entry n: party u0..u2 in turn, created_at n, memo "m" + n in three digits."""
    return {"_id": n, "party": f"u{n % 3}", "created_at": n, "memo": f"m{n:03d}"}


@pytest.fixture
def entries(coll: Coll) -> Coll:
    """The collection holding entries 0..29, inserted in shuffled order."""
    docs = [entry(n) for n in range(30)]
    random.Random(7).shuffle(docs)
    coll.insert_many(docs)
    return coll


def test_sort_desc_limit_on_compound_index(entries: Coll) -> None:
    """Newest three of one party, newest first, via the (party, created_at desc) index."""
    entries.create_index([("party", ASCENDING), ("created_at", DESCENDING)])
    cursor = entries.find({"party": "u1"}).sort("created_at", DESCENDING).limit(3)
    assert ids(cursor) == [28, 25, 22]


def test_sort_on_two_keys_with_skip(entries: Coll) -> None:
    """Sort by string desc then int desc; skip + limit page through it."""
    entries.create_index([("party", ASCENDING), ("created_at", DESCENDING)])
    cursor = entries.find().sort([("party", DESCENDING), ("created_at", DESCENDING)])
    assert ids(cursor.skip(9).limit(3)) == [2, 28, 25]


def test_int_range_query(entries: Coll) -> None:
    """$gt/$lt on ints compare numerically (9 < 10 < 11)."""
    found = ids(entries.find({"created_at": {"$gt": 8, "$lt": 12}}).sort("created_at", ASCENDING))
    assert found == [9, 10, 11]


def test_string_range_query(coll: Coll) -> None:
    """$gte/$lt on strings compare lexicographically ("10" < "9")."""
    coll.insert_many([{"_id": n, "s": s} for n, s in enumerate(["10", "9", "a", "B", "09"])])
    assert sorted(ids(coll.find({"s": {"$gte": "1", "$lt": "A"}}))) == [0, 1]
    assert sorted(ids(coll.find({"s": {"$lt": "10"}}))) == [4]
    assert sorted(ids(coll.find({"s": {"$gt": "Z"}}))) == [2]


def test_in_query(entries: Coll) -> None:
    """$in matches any listed value and ignores values not present."""
    assert sorted(ids(entries.find({"created_at": {"$in": [3, 17, 99]}}))) == [3, 17]
    assert entries.count_documents({"party": {"$in": ["u0", "nobody"]}}) == 10


def test_or_query(entries: Coll) -> None:
    """$or matches documents satisfying any branch, each once."""
    query = {"$or": [{"created_at": {"$lt": 2}}, {"memo": "m005"}, {"_id": 1}]}
    assert sorted(ids(entries.find(query))) == [0, 1, 5]


def test_exists_true_and_false(coll: Coll) -> None:
    """$exists tells documents with a field from those without it."""
    coll.insert_many([{"_id": 1, "reversal_of": "t9"}, {"_id": 2}, {"_id": 3, "reversal_of": 0}])
    assert sorted(ids(coll.find({"reversal_of": {"$exists": True}}))) == [1, 3]
    assert ids(coll.find({"reversal_of": {"$exists": False}})) == [2]
    assert coll.count_documents({"reversal_of": {"$exists": False}}) == 1


def test_projection_includes_and_excludes(coll: Coll) -> None:
    """Inclusion returns only the named fields (plus _id unless excluded); exclusion drops them."""
    coll.insert_one({"_id": "a", "name": "Alice", "password_hash": "x", "balance": 5})
    assert coll.find_one({"_id": "a"}, {"name": 1}) == {"_id": "a", "name": "Alice"}
    assert coll.find_one({"_id": "a"}, {"_id": 0, "balance": 1}) == {"balance": 5}
    without_hash = {"_id": "a", "name": "Alice", "balance": 5}
    assert coll.find_one({"_id": "a"}, {"password_hash": 0}) == without_hash


def test_count_documents_with_filter(entries: Coll) -> None:
    """count_documents counts only the matching documents."""
    assert entries.count_documents({"party": "u1", "created_at": {"$gte": 10}}) == 7
    assert entries.count_documents({"party": "nobody"}) == 0


def test_delete_one_and_delete_many_counts(entries: Coll) -> None:
    """delete_one removes one match, delete_many the rest, and both report how many."""
    assert entries.delete_one({"party": "u0"}).deleted_count == 1
    assert entries.delete_many({"party": "u0"}).deleted_count == 9
    assert entries.delete_many({"party": "u0"}).deleted_count == 0
    assert entries.count_documents({}) == 20


def test_insert_many_ten_thousand_then_count(coll: Coll) -> None:
    """All 10,000 documents of one insert_many are stored and countable by filter."""
    result = coll.insert_many([{"n": n, "bucket": n % 7} for n in range(10_000)])
    assert len(result.inserted_ids) == 10_000
    assert coll.count_documents({}) == 10_000
    assert coll.count_documents({"bucket": 3}) == len(range(3, 10_000, 7))

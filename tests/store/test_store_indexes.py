"""Unique indexes enforce the ledger's invariants; the store must refuse, not silently accept.

One account per username key, one bill per code, one reversal per ledger entry (a sparse unique
index: most entries have no `reversal_of`), and the same for updates that would collide.
"""

from __future__ import annotations

import pytest
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from tests.store.helpers import Coll, fetch


def test_unique_index_rejects_duplicate_insert(coll: Coll) -> None:
    """A second document with the same unique key raises and is not stored."""
    coll.create_index("username_key", unique=True)
    coll.insert_one({"username_key": "alice"})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"username_key": "alice"})
    assert coll.count_documents({"username_key": "alice"}) == 1


def test_duplicate_id_rejected(coll: Coll) -> None:
    """Inserting an existing _id raises DuplicateKeyError."""
    coll.insert_one({"_id": "t1", "amount": 5})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"_id": "t1", "amount": 6})
    assert fetch(coll, "t1")["amount"] == 5


def test_compound_unique_index_rejects_duplicate_pair(coll: Coll) -> None:
    """The pair is unique; each field alone is not."""
    coll.create_index([("payer", ASCENDING), ("code", ASCENDING)], unique=True)
    coll.insert_many([{"payer": "a", "code": "X"}, {"payer": "a", "code": "Y"}])
    coll.insert_one({"payer": "b", "code": "X"})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"payer": "a", "code": "X"})
    assert coll.count_documents({}) == 3


def test_update_creating_duplicate_raises(coll: Coll) -> None:
    """$set onto a taken unique key raises and leaves the document as it was."""
    coll.create_index("username_key", unique=True)
    coll.insert_many([{"_id": 1, "username_key": "alice"}, {"_id": 2, "username_key": "bob"}])
    with pytest.raises(DuplicateKeyError):
        coll.update_one({"_id": 2}, {"$set": {"username_key": "alice"}})
    assert fetch(coll, 2)["username_key"] == "bob"


def test_sparse_unique_index_allows_many_without_field(coll: Coll) -> None:
    """Documents lacking the field never collide; two with the same value do."""
    coll.create_index("reversal_of", unique=True, sparse=True)
    coll.insert_many([{"amount": n} for n in range(5)])
    coll.insert_one({"reversal_of": "t1"})
    with pytest.raises(DuplicateKeyError):
        coll.insert_one({"reversal_of": "t1"})
    assert coll.count_documents({}) == 6

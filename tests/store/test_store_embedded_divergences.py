"""Where nx-27017 0.8.1 (the embedded server) differs from MongoDB, pinned so we notice a fix.

Each test asserts the divergent behaviour we observed, so it fails once nx-27017 is fixed and
the workaround it forced can be reconsidered. All run only on the embedded server (skipped when
MONGODB_URI names another server). Observed, and what the project does about it:

- `{"arr": {"$ne": x}}` in find/update matches a document whose array holds x (count_documents
  gets it right). The ledger guards array markers with `$nin: [x]` instead.
- `$not` raises OperationFailure "Operator '$not' is not currently implemented". Not used.
- find_one_and_update(upsert=True) drops `$setOnInsert` (update_one/update_many upserts keep
  it). The project writes upserts with $inc/$set only.
- count_documents({"f": None}) does not count a document whose f is null (it counts missing
  fields only); find({"f": None}) does return it. Null is not stored where it is queried.
- find treats an explicit null as a missing field for `$exists` (count_documents does not).
- A path into an array element ("arr.0") never matches, with `$exists` or a value.
- A datetime written by `$set` on an existing document comes back as a str (insert keeps it).
  The project stores timestamps as int epoch milliseconds.
- A bool written by `$set`/`$push` on an existing document comes back as int 0/1 (insert keeps
  it), and queries do not tell bools from 0/1. Read flags with truthiness, never `is True`.
- `$inc` with a dotted path in an upsert that inserts stores a literal "a.b" key.
- A compound index containing `_id`: "JSON path error near '_id'" on a non-empty collection; on
  an empty one it is created with `_id` silently left out of the key. Not used.
- With one SQLite file (how EmbeddedMongo runs it) all databases share one namespace.
- Transactions have no isolation: other connections see uncommitted writes, and an abort also
  rolls back writes that other connections made meanwhile (they were acknowledged). The
  project uses no sessions or transactions.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from pymongo import ASCENDING, MongoClient, ReturnDocument
from pymongo.errors import OperationFailure

from backend.embedded_db import EmbeddedMongo
from tests.store.helpers import Coll, Doc, connect, fetch, ids

pytestmark = pytest.mark.usefixtures("embedded_only")


@pytest.fixture
def other_client(embedded_only: EmbeddedMongo) -> Iterator[MongoClient[Doc]]:
    """A second client, i.e. other connections, to the embedded server."""
    client = connect(embedded_only.uri)
    try:
        yield client
    finally:
        client.close()


def test_embedded_divergence_ne_matches_array_holding_value(coll: Coll) -> None:
    """find and update_one treat `{"ids": {"$ne": "t1"}}` as true although ids holds "t1"."""
    coll.insert_one({"_id": "a", "ids": ["t1"]})
    assert ids(coll.find({"ids": {"$ne": "t1"}})) == ["a"]
    guarded = coll.update_one({"_id": "a", "ids": {"$ne": "t1"}}, {"$push": {"ids": "t1"}})
    assert guarded.modified_count == 1
    assert fetch(coll, "a")["ids"] == ["t1", "t1"]


def test_embedded_divergence_not_operator_unimplemented(coll: Coll) -> None:
    """`$not` is refused by find and count_documents alike."""
    coll.insert_one({"_id": "a", "n": 1})
    with pytest.raises(OperationFailure, match=r"\$not.*not currently implemented"):
        list(coll.find({"n": {"$not": {"$gt": 5}}}))
    with pytest.raises(OperationFailure, match=r"\$not.*not currently implemented"):
        coll.count_documents({"n": {"$not": {"$gt": 5}}})


def test_embedded_divergence_find_one_and_update_upsert_drops_set_on_insert(coll: Coll) -> None:
    """The inserted document has the $set field but not the $setOnInsert one."""
    doc = coll.find_one_and_update(
        {"_id": "k"},
        {"$setOnInsert": {"created_at": 1}, "$set": {"seen": 2}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert doc == {"_id": "k", "seen": 2}
    assert fetch(coll, "k") == {"_id": "k", "seen": 2}


def test_embedded_divergence_count_of_none_misses_null_field(coll: Coll) -> None:
    """count_documents({"f": None}) is 0 for a document whose f is null."""
    coll.insert_one({"_id": "a", "f": None})
    assert coll.count_documents({"f": None}) == 0


def test_embedded_divergence_find_exists_treats_null_as_missing(coll: Coll) -> None:
    """find: a null field fails `$exists: True` and passes `$exists: False`."""
    coll.insert_one({"_id": "a", "f": None})
    assert ids(coll.find({"f": {"$exists": True}})) == []
    assert ids(coll.find({"f": {"$exists": False}})) == ["a"]


def test_embedded_divergence_array_index_path_never_matches(coll: Coll) -> None:
    """A path like "arr.0" matches neither with `$exists: True` nor with the element's value."""
    coll.insert_one({"_id": "a", "arr": [5, 6]})
    assert coll.count_documents({"arr.0": {"$exists": True}}) == 0
    assert ids(coll.find({"arr.0": {"$exists": True}})) == []
    assert ids(coll.find({"arr.0": 5})) == []


def test_embedded_divergence_datetime_set_by_update_comes_back_as_str(coll: Coll) -> None:
    """A datetime $set onto an existing document is read back as a str."""
    when = datetime.datetime(2024, 5, 6, 7, 8, 9, 123000)
    coll.insert_one({"_id": "a"})
    coll.update_one({"_id": "a"}, {"$set": {"at": when}})
    assert isinstance(fetch(coll, "a")["at"], str)


def test_embedded_divergence_bool_set_by_update_comes_back_as_int(coll: Coll) -> None:
    """A bool $set or $pushed onto an existing document is read back as 0/1."""
    coll.insert_one({"_id": "a", "finalized": True, "flags": []})
    coll.update_one({"_id": "a"}, {"$set": {"finalized": False}, "$push": {"flags": True}})
    doc = fetch(coll, "a")
    assert doc["finalized"] == 0 and doc["finalized"] is not False
    assert doc["flags"] == [1] and doc["flags"][0] is not True


def test_embedded_divergence_bool_query_matches_int(coll: Coll) -> None:
    """`{"f": False}` also matches f == 0 and `{"f": True}` f == 1."""
    coll.insert_many([{"_id": "zero", "f": 0}, {"_id": "one", "f": 1}])
    assert ids(coll.find({"f": False})) == ["zero"]
    assert ids(coll.find({"f": True})) == ["one"]


def test_embedded_divergence_dotted_inc_in_upsert_stores_literal_key(coll: Coll) -> None:
    """An inserting upsert with $inc {"stats.count": 1} stores a top-level "stats.count" key."""
    coll.update_one({"_id": "a"}, {"$inc": {"stats.count": 1}}, upsert=True)
    assert fetch(coll, "a") == {"_id": "a", "stats.count": 1}


def test_embedded_divergence_compound_index_with_id_fails(coll: Coll) -> None:
    """On a non-empty collection, an index on (a, _id) is refused with a JSON path error."""
    coll.insert_one({"_id": 1, "a": 1})
    with pytest.raises(OperationFailure, match="JSON path error"):
        coll.create_index([("a", ASCENDING), ("_id", ASCENDING)])


def test_embedded_divergence_compound_index_with_id_drops_id_when_empty(coll: Coll) -> None:
    """On an empty collection the index on (a, _id) is created as an index on a alone."""
    name = coll.create_index([("a", ASCENDING), ("_id", ASCENDING)])
    keys = {index["name"]: list(index["key"].items()) for index in coll.list_indexes()}
    assert name not in keys
    assert [("a", 1)] in keys.values()


def test_embedded_divergence_databases_share_one_namespace(
    coll: Coll, other_client: MongoClient[Doc]
) -> None:
    """A collection of the same name in another database is the same collection."""
    coll.insert_one({"_id": "a"})
    elsewhere = other_client[f"{coll.database.name}_other"][coll.name]
    assert ids(elsewhere.find()) == ["a"]


def test_embedded_divergence_transaction_writes_visible_before_commit(
    coll: Coll, other_client: MongoClient[Doc]
) -> None:
    """Another connection reads a value the open transaction wrote but never committed."""
    coll.insert_one({"_id": "a", "balance": 100})
    mirror = other_client[coll.database.name][coll.name]
    with coll.database.client.start_session() as session, session.start_transaction():
        coll.update_one({"_id": "a"}, {"$inc": {"balance": -60}}, session=session)
        seen = fetch(mirror, "a")["balance"]
        session.abort_transaction()
    assert seen == 40


def test_embedded_divergence_transaction_abort_discards_other_connections_writes(
    coll: Coll, other_client: MongoClient[Doc]
) -> None:
    """An acknowledged insert by another connection vanishes when a transaction aborts."""
    coll.insert_one({"_id": "a", "balance": 100})
    mirror = other_client[coll.database.name][coll.name]
    with coll.database.client.start_session() as session, session.start_transaction():
        coll.update_one({"_id": "a"}, {"$inc": {"balance": -60}}, session=session)
        acknowledged = mirror.insert_one({"_id": "b"}).acknowledged
        session.abort_transaction()
    assert acknowledged
    assert ids(coll.find()) == ["a"]
    assert fetch(coll, "a")["balance"] == 100

"""Small helpers shared by the store conformance tests."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection

Doc = dict[str, Any]
Coll = Collection[Doc]


def fetch(coll: Coll, _id: object) -> Doc:
    """The document with this _id; fails the test when it is missing."""
    doc = coll.find_one({"_id": _id})
    assert doc is not None, f"no document with _id {_id!r}"
    return doc


def ids(docs: Iterable[Doc]) -> list[Any]:
    """The _id of each document, in the order the cursor gave them."""
    return [doc["_id"] for doc in docs]


def configured_uri() -> str:
    """The MongoDB under test, or "" for the embedded server.

    Read from the environment of the test run, not through Settings: a developer's `.env` must
    not silently point the conformance suite at another server.
    """
    return os.environ.get("MONGODB_URI", "")


def connect(uri: str) -> MongoClient[Doc]:
    """A client that fails fast when the server is not there."""
    return MongoClient(uri, serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)

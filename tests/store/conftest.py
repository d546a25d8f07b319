"""Fixtures for the store conformance suite: one database per session, one collection per test.

MONGODB_URI set: the suite runs against that server, in a fresh uniquely named database that is
dropped at the end. Unset: it starts its own nx-27017 (the embedded server the backend runs when
MONGODB_URI is unset) in a temporary directory on a free port, and stops it at the end. Either way
a server that will not start or does not answer fails the suite; it never skips it.

One selection, made on purpose: the tests that pin nx-27017's own behaviour (its divergences from
MongoDB, its durability after kill -9) ask for `embedded_only`, and are skipped, with that reason,
when MONGODB_URI names another server: they do not apply to it. Nothing else skips.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from backend.embedded_db import EmbeddedMongo
from tests.conftest import require_answering, start_embedded_db
from tests.store.helpers import Doc, configured_uri, connect

# nx-27017 (under uvloop) now and then leaves SIGTERM unhandled until its next network event, so
# stop() would wait out its full 10 s before SIGKILL. A test server's data is disposable: give
# it 2 s.
STOP_TIMEOUT = 2.0
NOT_THIS_SERVER = "tests nx-27017 itself; MONGODB_URI names another server (a selection, not a failure)"


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongo | None]:
    """The suite's own nx-27017 server, or None when MONGODB_URI names a real one (answering)."""
    if configured_uri():
        require_answering(configured_uri())
        yield None
        return
    server = start_embedded_db(tmp_path_factory.mktemp("nx-27017"))
    try:
        yield server
    finally:
        server.stop(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="session")
def mongo_client(embedded_server: EmbeddedMongo | None) -> Iterator[MongoClient[Doc]]:
    """One client for the whole session, like one backend process."""
    client = connect(embedded_server.uri if embedded_server else configured_uri())
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def mongo_db(mongo_client: MongoClient[Doc]) -> Iterator[Database[Doc]]:
    """A fresh, uniquely named database, dropped at the end of the session."""
    name = f"store_conformance_{uuid.uuid4().hex[:12]}"
    try:
        yield mongo_client[name]
    finally:
        mongo_client.drop_database(name)


@pytest.fixture
def coll(mongo_db: Database[Doc]) -> Iterator[Collection[Doc]]:
    """A fresh, uniquely named collection for one test, dropped after it."""
    collection = mongo_db[f"c_{uuid.uuid4().hex[:12]}"]
    try:
        yield collection
    finally:
        collection.drop()


@pytest.fixture
def embedded_only(embedded_server: EmbeddedMongo | None) -> EmbeddedMongo:
    """The embedded server; under MONGODB_URI the test is skipped (the selection described above)."""
    if configured_uri():
        pytest.skip(NOT_THIS_SERVER)
    assert embedded_server is not None  # without MONGODB_URI it started, or its setup failed
    return embedded_server


@pytest.fixture
def private_server(embedded_only: EmbeddedMongo, tmp_path: Path) -> Iterator[EmbeddedMongo]:
    """A second embedded server of the test's own, free to be killed."""
    server = start_embedded_db(tmp_path / "data")
    try:
        yield server
    finally:
        server.stop(timeout=STOP_TIMEOUT)

"""Acknowledged writes to the embedded server survive `kill -9` of its process.

The backend reuses a running nx-27017 and restarts a dead one; after a crash the data must still
be there, and the stale pid file the killed server leaves behind must not block the restart.
Embedded only: on a real MongoDB durability is the operator's configuration, not ours.
"""

from __future__ import annotations

import os
import signal

import pytest

from backend.embedded_db import EmbeddedMongo
from tests.store.helpers import connect, fetch


def write_and_kill(server: EmbeddedMongo) -> int:
    """Insert and debit account "a" (acknowledged), then SIGKILL the server; its old pid."""
    with connect(server.uri) as client:
        accounts = client["wallet"]["accounts"]
        accounts.insert_one({"_id": "a", "balance": 1_000})
        assert accounts.update_one({"_id": "a"}, {"$inc": {"balance": -300}}).modified_count == 1
    pid = server.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    if server.process is not None:
        server.process.wait(10)  # reap it, as the dead child it now is
    return pid


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9(private_server: EmbeddedMongo) -> None:
    """After SIGKILL and ensure_running(), the debited balance is read back."""
    old_pid = write_and_kill(private_server)
    assert private_server.pid_file.exists()  # stale: names the dead process
    assert private_server.pid() is None
    assert private_server.ensure_running() is True
    assert private_server.pid() not in (None, old_pid)
    with connect(private_server.uri) as client:
        assert fetch(client["wallet"]["accounts"], "a")["balance"] == 700

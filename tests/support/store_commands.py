"""The store commands a piece of code sends, caught by a pymongo CommandListener: how far a
request travels (tests/api/test_round_trips.py counts them; bench.record keeps them to replay).

pymongo hands a registered listener to every client made after it: register one before the app
whose client it must see is built.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import monitoring

Doc = dict[str, Any]
# added by pymongo to every command (the session, the server's clock, the read preference, a
# retryable write's number): a replay's own client adds its own
DRIVER_FIELDS = frozenset(
    {"lsid", "$db", "$clusterTime", "$readPreference", "txnNumber", "apiVersion", "apiStrict"}
)


def outcome_of(reply: Doc) -> Doc:
    """What a command did, from its reply: documents found, matched, modified, upserted, whether
    a find-and-modify found one, write errors."""
    out: Doc = {key: reply[key] for key in ("n", "nModified") if key in reply}
    if "cursor" in reply:
        out["found"] = len(reply["cursor"].get("firstBatch", []))
    if "value" in reply:
        out["value"] = reply["value"] is not None
    for key in ("upserted", "writeErrors"):
        if key in reply:
            out[key] = len(reply[key])
    return out


class StoreCommands(monitoring.CommandListener):
    """The commands sent to one database while armed, in order, each with its outcome (the
    backend's once-a-second ping of `admin` is never kept)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.database: str | None = None
        self.commands: list[Doc] = []
        self.pending: dict[int, Doc] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Keep the command as sent (less DRIVER_FIELDS)."""
        with self.lock:
            if event.database_name == self.database:
                body = {k: copy.deepcopy(v) for k, v in event.command.items() if k not in DRIVER_FIELDS}
                entry = {"command": body, "outcome": {}}
                self.commands.append(entry)
                self.pending[event.request_id] = entry

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Keep what it did."""
        with self.lock:
            entry = self.pending.pop(event.request_id, None)
            if entry is not None:
                entry["outcome"] = outcome_of(dict(event.reply))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """A failed command is kept too (the replay then expects it to fail)."""
        with self.lock:
            entry = self.pending.pop(event.request_id, None)
            if entry is not None:
                entry["outcome"] = {"failed": str(dict(event.failure).get("codeName", "error"))}

    @contextmanager
    def recording(self, database: str, into: list[Doc]) -> Iterator[None]:
        """Append the commands sent to `database` within the block to `into`."""
        with self.lock:
            self.database, self.commands = database, into
        try:
            yield
        finally:
            with self.lock:
                self.database = None

    @contextmanager
    def counting(self, database: str) -> Iterator[list[Doc]]:
        """The commands sent to `database` within the block (a fresh list)."""
        into: list[Doc] = []
        with self.recording(database, into):
            yield into


def name_of(entry: Doc) -> str:
    """A recorded command in one line: its name and collection ("find users")."""
    command = entry["command"]
    name = next(iter(command))
    return f"{name} {command[name]}"

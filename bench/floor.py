"""The floor: the database alone doing exactly what one transfer (or bill payment) asks of it,
sent with pymongo from threads: no HTTP, no FastAPI, no backend code on the path.

"Exactly" is recorded, not retyped: bench.record runs one real transfer and one real bill
payment (each with its OTP request) through the real app with a pymongo CommandListener, and
`Replay` sends those very commands again, in their order: the same collections, the same kinds
of command, the same filters, updates and documents. When the backend's path changes, the floor
follows at the next run, with nothing to edit here.

A replay is made for each client's own accounts and fresh each time:

- names: the recorded pair's usernames and chats, and the bill's code, become the client's and
  its k-th open bill's, wherever they occur (inside ids and keys too);
- ids: every value the store would refuse twice (the `_id`, and any field under a unique index,
  of each document the recorded path inserted) gets a new suffix per operation, wherever it
  occurs (a movement id in the ledger record, the payer's outbox and the payee's notice; a
  request's key in the record that carries it); a value containing another one (a notice
  "<movement id>:received:<payee>") changes with that one; ObjectIds are replaced by new ones;
- times, amounts, hashes and nonces are sent as recorded (a code's hash and the filter that
  consumes it stay a match).

Each reply is compared with what the recorded command did (`outcome_of`: found, matched,
modified, inserted): a replay whose commands do less than the real ones would flatter the
floor, so `Replay.mismatches` counts every difference and the report prints them.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bson
from bson import ObjectId
from pymongo.database import Database

from bench.record import PATHS
from bench.seed import Pair, Swap, pattern_of
from bench.support import CpuMeter, RunResult
from tests.support.backend_process import ROOT
from tests.support.store_commands import outcome_of

Doc = dict[str, Any]
SERIAL = itertools.count(1)  # fresh ids: unique across threads, operations and runs of a process


@dataclass(frozen=True)
class Command:
    """One recorded command and what it did."""

    body: Doc
    outcome: Doc

    @property
    def name(self) -> str:
        """The command (find, insert, update, findAndModify, ...)."""
        return next(iter(self.body))

    @property
    def label(self) -> str:
        """`update users {_id, holds} $inc $pull $push`: command, collection, filter keys, operators."""
        body, name = self.body, self.name
        query: Any = {}
        change: Any = {}
        if name in ("update", "delete"):
            first = body.get(f"{name}s", [{}])[0]
            query, change = first.get("q", {}), first.get("u", {})
        elif name == "findAndModify":
            query, change = body.get("query", {}), body.get("update", {})
        elif isinstance(body.get("filter"), dict):
            query = body["filter"]
        parts = [name, str(body[name])]
        if query:
            parts.append("{" + ", ".join(query) + "}")
        if isinstance(change, dict) and change:
            operators = [key for key in change if key.startswith("$")]
            parts.append(" ".join(operators) if operators else "(replacement)")
        upsert = body.get("upsert") or (name == "update" and body.get("updates", [{}])[0].get("upsert"))
        if upsert:
            parts.append("upsert")
        return " ".join(parts)


@dataclass(frozen=True)
class Recording:
    """What bench.record caught: each path's commands, and the names they were made for."""

    names: Doc
    paths: dict[str, list[Command]]

    @classmethod
    def load(cls, path: Path) -> Recording:
        """Read bench.record's file."""
        doc = bson.decode(path.read_bytes())
        paths = {
            name: [Command(entry["command"], entry["outcome"]) for entry in doc["paths"][name]]
            for name in PATHS
        }
        return cls(doc["names"], paths)

    def labels(self, path: str) -> list[str]:
        """One line per command of a path, in order."""
        return [command.label for command in self.paths[path]]


def record_paths(uri: str, db_name: str, work: Path, timeout: float = 300.0) -> Recording:
    """Record both paths on this database with `python -m bench.record` (its own process)."""
    out = work / f"recording-{db_name}.bson"
    done = subprocess.run(
        [sys.executable, "-m", "bench.record", "--uri", uri, "--db", db_name, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.record failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return Recording.load(out)


class Replay:
    """One recorded path, sent again for other accounts (see the module docstring).

    Per pair the commands are renamed once; per operation only the parts holding a fresh id or
    the bill's code are rebuilt (the rest is sent as it is), so the replay's own CPU stays small
    next to the database's.
    """

    def __init__(self, recording: Recording, path: str, db: Database[Doc]) -> None:
        self.commands = recording.paths[path]
        names = recording.names
        self.payer, self.payee, self.bill = str(names["payer"]), str(names["payee"]), str(names["bill"])
        self.chats = (int(names["payer_chat"]), int(names["payee_chat"]))
        inserted = unique_values(self.commands, db)
        # a value that contains another one is made fresh by that one
        self.fresh = [i for i in inserted if not any(other != i and other in i for other in inserted)]
        self.prepared: dict[str, Prepared] = {}
        self.mismatches: Counter[str] = Counter()
        self._lock = threading.Lock()

    def prepare(self, pair: Pair) -> Prepared:
        """The commands renamed for `pair`, and how to rebuild their changing parts."""
        prepared = self.prepared.get(pair.payer)
        if prepared is None:
            rename = Swap(
                pattern_of([self.payer, self.payee]),
                {self.payer: pair.payer, self.payee: pair.payee},
                {self.chats[0]: pair.payer_chat, self.chats[1]: pair.payee_chat},
            )
            bodies = [rename(command.body) for command in self.commands]
            fresh = [rename(value) for value in self.fresh]
            pattern = pattern_of([*fresh, self.bill])
            prepared = Prepared(bodies, [rebuilder(body, pattern) for body in bodies], fresh, pattern)
            self.prepared[pair.payer] = prepared
        return prepared

    def __call__(self, db: Database[Doc], pair: Pair, bill: str | None = None) -> None:
        """One operation: every recorded command, for `pair` (and its open bill `bill`)."""
        prepared = self.prepare(pair)
        serial = next(SERIAL)
        bill = bill or self.bill
        names = {value: f"{value.replace(self.bill, bill)}.{serial}" for value in prepared.fresh}
        swap = Swap(prepared.pattern, names | {self.bill: bill}, fresh_objectids=True)
        for command, body, rebuild in zip(self.commands, prepared.bodies, prepared.rebuild, strict=True):
            reply = db.command(body if rebuild is None else rebuild(swap))
            if outcome_of(reply) != command.outcome:
                with self._lock:
                    self.mismatches[command.label] += 1


@dataclass(frozen=True)
class Prepared:
    """A path's commands for one pair: the bodies, and for each a rebuilder (None: sent as it is)."""

    bodies: list[Doc]
    rebuild: list[Rebuild | None]
    fresh: list[str]
    pattern: re.Pattern[str] | None


Rebuild = Callable[[Swap], Any]


def rebuilder(value: Any, pattern: re.Pattern[str] | None) -> Rebuild | None:
    """A function making `value` anew with a Swap, touching only the strings `pattern` finds and
    ObjectIds (the rest is shared with `value`); None when nothing in it changes."""
    if isinstance(value, str):
        return (lambda swap: swap(value)) if pattern is not None and pattern.search(value) else None
    if isinstance(value, ObjectId):
        return lambda swap: swap(value)
    if isinstance(value, dict):
        changing = [(key, f) for key, f in ((k, rebuilder(v, pattern)) for k, v in value.items()) if f]
        if not changing:
            return None
        return lambda swap: {**value, **{key: f(swap) for key, f in changing}}
    if isinstance(value, list):
        parts = [rebuilder(item, pattern) for item in value]
        if not any(parts):
            return None
        return lambda swap: [item if f is None else f(swap) for item, f in zip(value, parts, strict=True)]
    return None


def unique_values(commands: list[Command], db: Database[Doc]) -> list[str]:
    """The strings the store would refuse twice among what these commands insert: each
    document's `_id` and its fields under a unique index (as the collection has them now)."""
    unique: dict[str, set[str]] = {}
    values: list[str] = []
    for command in commands:
        if command.name != "insert":
            continue
        collection = str(command.body["insert"])
        if collection not in unique:
            indexes = db[collection].index_information().values()
            unique[collection] = {"_id"} | {key for ix in indexes if ix.get("unique") for key, _ in ix["key"]}
        for doc in command.body.get("documents", []):
            values += [doc[key] for key in sorted(unique[collection]) if isinstance(doc.get(key), str)]
    return list(dict.fromkeys(values))


def run(
    db: Database[Doc],
    pairs: list[Pair],
    per_client: int,
    warmup: int,
    operation: Callable[[Database[Doc], Pair, int], None],
    cpu: CpuMeter | None = None,
    warmed: Callable[[], None] | None = None,
) -> RunResult:
    """One client thread per pair; each does `warmup` untimed then `per_client` timed operations
    (`warmed` is called once all have warmed up, before the timed part starts)."""
    barrier = threading.Barrier(len(pairs) + 1, action=warmed)  # run before any thread goes on
    latencies: list[list[float]] = [[] for _ in pairs]

    def client(index: int) -> None:
        pair = pairs[index]
        try:
            for k in range(warmup):
                operation(db, pair, k)
        except BaseException:
            barrier.abort()  # the other clients stop waiting; result() re-raises this error
            raise
        barrier.wait()
        for k in range(warmup, warmup + per_client):
            started = time.perf_counter()
            operation(db, pair, k)
            latencies[index].append(time.perf_counter() - started)

    with ThreadPoolExecutor(len(pairs)) as pool:
        futures = [pool.submit(client, i) for i in range(len(pairs))]
        barrier.wait()
        if cpu is not None:
            cpu.start()
        started = time.perf_counter()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - started
    used = cpu.stop() if cpu is not None else {}
    flat = [x for lat in latencies for x in lat]
    return RunResult(len(flat), elapsed, flat, used)

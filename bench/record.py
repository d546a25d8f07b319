"""The floor's sequences, recorded: the store commands that one real transfer and one real bill
payment (each with its OTP request) send, caught by a pymongo CommandListener on the real app.

    .venv/bin/python -m bench.record --uri URI --db NAME --out FILE

bench.floor runs this in a process of its own: pymongo hands a registered listener to every
client made after it, so it is registered here, before the app's lifespan makes its client, and
never reaches the benchmark's own clients. The app is backend.main.create_app with the settings
of the benchmarked backend (bench.support.backend_env) over FastAPI's TestClient; the accounts
and the bill are seeded as for a run (bench.seed), and the client sends what bench.http_paths
sends. One transfer and one bill payment go first, unrecorded, so that the recorded ones are a
client's next ones (a first OTP of a window, like a first payment of the day, writes what later
ones update). Between a code's request and its use the codes are claimed from the outbox as the
bot's courier does, unrecorded: that is the bot's traffic, not the request's. The sweeper is off
(it is not part of a request either).

The file (BSON) holds, per path, each command as the app sent it, less what the driver adds per
connection (DRIVER_FIELDS), with what it did (`outcome_of` its reply); and the names the commands
were made for (the pair's usernames and chats, the bill's code), for bench.floor to replay them
for other accounts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import bson
from fastapi.testclient import TestClient
from pymongo import monitoring

from backend.main import create_app
from backend.notices import NoticeKind, Notices
from bench.http_paths import Call, money_request, otp_request
from bench.seed import Pair, Seeder
from bench.support import Database, backend_env, mint_tokens, settings_from
from tests.support.store_commands import StoreCommands

Doc = dict[str, Any]
PATHS = ("transfer", "billpay")


class Client:
    """One user of the app sending what bench.http_paths sends; codes claimed from the outbox."""

    def __init__(self, http: TestClient, token: str, notices: Notices, pair: Pair) -> None:
        self.http, self.notices, self.pair = http, notices, pair
        self.auth = {"Authorization": f"Bearer {token}"}
        self.claim()  # the backend issues codes only while a courier polls

    def claim(self) -> str | None:
        """The courier's claim and acknowledgement: → the code DM'd to the payer, if any."""
        code = None
        for item in self.notices.claim(200):
            if item["kind"] == NoticeKind.OTP and item["chat_id"] == self.pair.payer_chat:
                code = str(item["data"]["code"])
            self.notices.ack(item["id"], item["claim"], "sent", None, None)
        return code

    def send(self, call: Call, **headers: str) -> None:
        """One request, which must answer its status."""
        answer = self.http.request(call.method, call.path, json=call.body, headers={**self.auth, **headers})
        if answer.status_code != call.status:
            raise RuntimeError(f"{call.method} {call.path}: {answer.status_code} {answer.text}")

    def operate(
        self, path: str, bill: str | None, listener: StoreCommands | None, database: str
    ) -> list[Doc]:
        """One whole operation (OTP request, then the money request); → the commands recorded."""
        commands: list[Doc] = []
        with self._recorded(listener, database, commands):
            self.send(otp_request(path, self.pair, bill))
        code = self.claim()
        if code is None:
            raise RuntimeError(f"no OTP was queued for chat {self.pair.payer_chat}")
        with self._recorded(listener, database, commands):
            self.send(money_request(path, self.pair, code, bill), **{"Idempotency-Key": uuid.uuid4().hex})
        return commands

    @contextmanager
    def _recorded(self, listener: StoreCommands | None, database: str, into: list[Doc]) -> Iterator[None]:
        if listener is None:
            yield
            return
        with listener.recording(database, into):
            yield


def record(uri: str, db_name: str, data_dir: Path) -> Doc:
    """Seed a pair and two bills, warm up, record one transfer and one bill payment; → the file's
    document (`names` and `paths`)."""
    listener = StoreCommands()
    monitoring.register(listener)  # before create_app's lifespan makes the app's client
    env = backend_env(
        Database("recorder", uri), db_name, DATA_DIR=str(data_dir), SWEEPER_INTERVAL_SECONDS="3600"
    )
    settings = settings_from(env)
    app = create_app(settings)
    with TestClient(app) as http:
        wallet = app.state.wallet
        seeder = Seeder(wallet.store, settings)
        pair = seeder.pairs(1, "rec")[0]
        warm, bill = seeder.open_bills([pair], 2)[pair.payer]
        client = Client(http, mint_tokens(settings, [pair.payer])[pair.payer], wallet.notices, pair)
        client.operate("transfer", None, None, db_name)
        client.operate("billpay", warm, None, db_name)
        paths = {
            "transfer": client.operate("transfer", None, listener, db_name),
            "billpay": client.operate("billpay", bill, listener, db_name),
        }
    names = {
        "payer": pair.payer,
        "payee": pair.payee,
        "payer_chat": pair.payer_chat,
        "payee_chat": pair.payee_chat,
        "bill": bill,
    }
    return {"names": names, "paths": paths}


def main() -> int:
    """Record into --out."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uri", required=True, help="the database server (MongoDB URI)")
    parser.add_argument("--db", required=True, help="the database name the benchmark uses")
    parser.add_argument("--out", required=True, type=Path, help="where to write the recording (BSON)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mata-record-") as data_dir:
        recorded = record(args.uri, args.db, Path(data_dir))
    args.out.write_bytes(bson.encode(recorded))
    return 0


if __name__ == "__main__":
    sys.exit(main())

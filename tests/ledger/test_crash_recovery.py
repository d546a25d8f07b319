"""Acceptance: kill -9 the backend, and separately the embedded database, in the middle of a burst
of transfers; restart → recovery leaves nothing unfinished, the books balance, and no transfer a
client was told succeeded is missing from the ledger."""

from __future__ import annotations

import random
import threading
import time

import pytest

from tests.support.backend_process import BackendProcess
from tests.support.http_actor import (
    HttpUser,
    admin_session,
    create_users,
    ledger_records,
    reconcile,
)

CLIENTS, ACCOUNTS, START = 4, 8, 50_000


def burst(
    user: HttpUser, names: list[str], stop: threading.Event, acknowledged: list[str], seed: int
) -> None:
    """Transfer until told to stop, retrying like a real client across crashes."""
    rng = random.Random(seed)
    deadline = time.monotonic() + 300
    while not stop.is_set():
        recipient = rng.choice([n for n in names if n != user.username])
        outcome = user.transfer(recipient, rng.randint(1, 3_000), deadline)
        if outcome.status == 201:
            acknowledged.append(str(outcome.body["id"]))
        elif outcome.status == 400 and str(outcome.body.get("code", "")).startswith("otp_"):
            continue  # the crash ate the OTP before the request was authorised: nothing moved
        else:
            assert outcome.status == 409, outcome.body  # insufficient funds, or interrupted


def wait_until_settled(admin: HttpUser, timeout: float = 30.0) -> dict[str, object]:
    """Reconciliation once the sweeper has finished every interrupted movement."""
    deadline = time.monotonic() + timeout
    report = reconcile(admin)
    while report["unfinished"] and time.monotonic() < deadline:
        time.sleep(0.5)
        report = reconcile(admin)
    return report


@pytest.mark.slow
def test_kill_9_backend_and_database_mid_burst(backend: BackendProcess) -> None:
    users = create_users(backend, ACCOUNTS, START, prefix="crash")
    names = [u.username for u in users]
    stop, acknowledged = threading.Event(), []
    threads = [
        threading.Thread(target=burst, args=(users[i], names, stop, acknowledged, i)) for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    kills = 0
    for round_ in range(6):
        time.sleep(random.uniform(0.8, 2.0))
        if round_ % 3 != 1:
            backend.kill()
            backend.start()
        if round_ % 3 != 0:
            backend.kill_db()  # the backend's watchdog restarts it
        kills += 1
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join(120)
    report = wait_until_settled(admin_session(backend))
    assert report["ok"] and report["unfinished"] == 0 and report["negative_balances"] == 0, report
    assert report["total_balances"] == ACCOUNTS * START
    done = {str(r["id"]) for r in ledger_records(admin_session(backend)) if r["state"] == "done"}
    missing = [m for m in acknowledged if m not in done]
    assert not missing and len(acknowledged) == len(set(acknowledged)) > 20
    print(f"\n{kills} crash rounds, {len(acknowledged)} transfers acknowledged, none missing; books balanced")

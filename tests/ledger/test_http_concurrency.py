"""Acceptance: 8 workers × 500 random transfers over 16 accounts through the HTTP API of a real
backend process → no negative balance, Σ balances = Σ deposits − Σ withdrawals, and every 2xx
answer is in the ledger exactly once."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.backend_process import BackendProcess
from tests.support.http_actor import (
    HttpUser,
    admin_session,
    create_users,
    ledger_records,
    reconcile,
)

WORKERS, TRANSFERS, ACCOUNTS, START = 8, 500, 16, 20_000


def run_worker(seed: int, senders: list[HttpUser], everyone: list[str]) -> list[str]:
    """500 random transfers from this worker's own senders; returns the ids of the 2xx answers."""
    rng, acknowledged = random.Random(seed), []
    deadline = time.monotonic() + 900
    for _ in range(TRANSFERS):
        sender = rng.choice(senders)
        recipient = rng.choice([name for name in everyone if name != sender.username])
        outcome = sender.transfer(recipient, rng.randint(1, 6_000), deadline)
        if outcome.status == 201:
            acknowledged.append(str(outcome.body["id"]))
        else:
            assert outcome.status == 409 and outcome.body["code"] == "insufficient_funds", outcome.body
    return acknowledged


@pytest.mark.slow
def test_concurrent_random_transfers_over_http(backend: BackendProcess) -> None:
    users = create_users(backend, ACCOUNTS, START)
    names = [u.username for u in users]
    per_worker = ACCOUNTS // WORKERS
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [
            pool.submit(run_worker, w, users[w * per_worker : (w + 1) * per_worker], names)
            for w in range(WORKERS)
        ]
        acknowledged = [movement for future in futures for movement in future.result()]
    admin = admin_session(backend)
    report = reconcile(admin)
    assert report["ok"] and report["negative_balances"] == 0 and report["unfinished"] == 0, report
    assert report["total_balances"] == report["total_deposits"] == ACCOUNTS * START
    done = [r for r in ledger_records(admin) if r["kind"] == "transfer" and r["state"] == "done"]
    assert len(acknowledged) == len(set(acknowledged)) > WORKERS * TRANSFERS // 3
    assert sorted(str(r["id"]) for r in done) == sorted(acknowledged)
    print(f"\n{len(acknowledged)} transfers acknowledged of {WORKERS * TRANSFERS}; books balanced")

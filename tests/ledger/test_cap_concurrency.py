"""Acceptance: 8 workers crediting one unverified account near its balance cap through the HTTP API
of a real backend process (6 sending transfers, 2 making admin deposits) never push it above the
cap; every refusal names the cap; Σ balances = Σ deposits − Σ withdrawals at the end."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.backend_process import BackendProcess
from tests.support.http_actor import HttpUser, admin_session, create_users, ledger_records, reconcile

WORKERS, DEPOSITORS, CREDITS, CAP = 8, 2, 30, 2_000_000
START = CAP - 400_000  # the payee's balance when the workers begin: room for about 25 credits
SENDER_BALANCE, AMOUNTS = 1_000_000, (1_000, 30_000)
REFUSED = {"receive_cap_unverified"}


def credit_worker(seed: int, actor: HttpUser, payee: str, deposits: bool) -> tuple[list[str], int, int]:
    """CREDITS credits of random amounts into `payee`: (ids of the 2xx, Σ their amounts, refusals)."""
    rng, acknowledged, total, refusals = random.Random(seed), [], 0, 0
    deadline = time.monotonic() + 600
    for _ in range(CREDITS):
        amount = rng.randint(*AMOUNTS)
        if deposits:
            body = {"amount": amount, "reference": f"race {seed}"}
            outcome = actor.send("POST", f"/api/admin/users/{payee}/deposit", body, deadline)
        else:
            outcome = actor.transfer(payee, amount, deadline)
        if outcome.status == 201:
            acknowledged.append(str(outcome.body["id"]))
            total += amount
        else:
            assert outcome.status == 409 and outcome.body["code"] in REFUSED, outcome.body
            assert outcome.body["payee"] == payee
            refusals += 1
    return acknowledged, total, refusals


@pytest.mark.slow
def test_concurrent_credits_never_pass_the_payees_cap(backend: BackendProcess) -> None:
    senders = create_users(backend, WORKERS - DEPOSITORS, SENDER_BALANCE, prefix="sender")
    (payee,) = create_users(backend, 1, START, prefix="sari")
    admin = admin_session(backend)
    actors = [*senders, *(admin_session(backend) for _ in range(DEPOSITORS))]
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [
            pool.submit(credit_worker, index, actor, payee.username, index >= len(senders))
            for index, actor in enumerate(actors)
        ]
        results = [future.result() for future in futures]
    acknowledged = [movement for ids, _, _ in results for movement in ids]
    credited = sum(total for _, total, _ in results)
    refusals = sum(count for _, _, count in results)

    response = payee.call("GET", "/api/user", time.monotonic() + 30)
    assert response is not None and response.status_code == 200
    me = response.json()
    balance = me["amount_credit"]
    assert balance == START + credited <= CAP, (balance, credited)
    assert balance > CAP - AMOUNTS[1], "the workers should have filled the wallet to its cap"
    assert refusals > 0 and len(acknowledged) == len(set(acknowledged))
    assert me["limits"]["can_receive"] == CAP - balance  # no hold was left behind
    report = reconcile(admin)
    assert report["ok"] and report["in_flight"] == 0 and report["unfinished"] == 0, report
    records = ledger_records(admin)
    total_in = (WORKERS - DEPOSITORS) * SENDER_BALANCE + START
    deposited = [r for r in records if r["kind"] == "deposit" and r["state"] == "done"]
    assert report["total_balances"] == report["total_deposits"] - report["total_withdrawals"]
    assert report["total_deposits"] == sum(int(str(r["amount"])) for r in deposited) >= total_in
    done = {
        str(r["id"]) for r in ledger_records(admin) if r["state"] == "done" and r["dst"] == payee.username
    }
    assert set(acknowledged) <= done and len(done) == len(acknowledged) + 1  # + the seed deposit
    print(f"\n{len(acknowledged)} credits taken, {refusals} refused at the cap; balance {balance} of {CAP}")

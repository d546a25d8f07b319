"""End to end: the backend calls one flow costs. Each flow reads the profile (GET /api/user) at
most once; a finished transfer or payment shows the balance its own answer carries; the balance
is read again only where an old one would mislead (before refusing an amount, after the backend
refused one); an abandoned flow forgets what it read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from bot import app as bot_app
from tests.bot.conftest import BotRunner
from tests.bot.scenario import (
    admin_call,
    confirm_and_type_otp,
    deposit_seen,
    is_summary,
    issue_bill,
    transfer,
)
from tests.fakes.telegram_api import FakeTelegram

PROFILE = "GET /api/user"
# the courier's long poll and the reminder job talk to the backend on their own, not for a flow
BACKGROUND = ("/api/bot/notices/", "/api/bot/reminders/")


@contextmanager
def backend_calls(runner: BotRunner) -> Iterator[list[str]]:
    """Record "METHOD /path" of every call the bot's backend client makes for a flow."""
    assert runner.app is not None
    http: httpx.AsyncClient = runner.app.bot_data["backend"]._http
    calls: list[str] = []

    async def record(response: httpx.Response) -> None:
        url = response.request.url
        if not url.path.startswith(BACKGROUND):
            calls.append(f"{response.request.method} {url.path}")

    http.event_hooks["response"].append(record)
    try:
        yield calls
    finally:
        http.event_hooks["response"].remove(record)


def report(flow: str, calls: list[str]) -> None:
    """Print a flow's calls (pytest -s shows them) and check it read the profile at most once."""
    print(f"{flow}: {len(calls)} backend calls: {', '.join(calls)}")
    assert calls.count(PROFILE) <= 1, f"{flow} read the profile {calls.count(PROFILE)} times: {calls}"


async def test_each_flow_reads_the_profile_at_most_once(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, bob = two_users["alice"], two_users["bob"]
    alice_name, bob_name = two_users["alice_name"], two_users["bob_name"]
    runner = two_users["runner"]

    with backend_calls(runner) as calls:
        await transfer(telegram, alice, bob_name, "50rb", "Sent Rp50.000")
    report("/transfer", calls)
    assert calls == [PROFILE, f"GET /api/user/{bob_name}", "POST /api/processing", "POST /api/transfer"]
    assert "Rp450.000" in telegram.sent(alice)[-1].body  # the new balance, from the transfer's answer

    with backend_calls(runner) as calls:
        code = await issue_bill(telegram, bob, alice_name, "20rb")
    report("/bill", calls)
    assert calls == [f"GET /api/user/{alice_name}", "POST /api/processing", "POST /api/bill"]

    with backend_calls(runner) as calls:
        telegram.send_text(alice, f"/pay {code}")
        await confirm_and_type_otp(telegram, alice)
        paid = await telegram.wait_for(alice, f"Paid Rp20.000 for bill {code}")
    report("/pay", calls)
    assert calls == [
        f"GET /api/bill/code/{code}",
        PROFILE,
        "POST /api/processing",
        f"POST /api/bill/{code}/pay",
    ]
    assert "Rp430.000" in paid.body


async def test_a_balance_that_moved_mid_flow_is_read_again_where_it_matters(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, backend, alice_name = two_users["alice"], two_users["backend"], two_users["alice_name"]
    telegram.send_text(alice, "/transfer")
    await telegram.wait_for(alice, "Who")
    telegram.send_text(alice, two_users["bob_name"])
    await telegram.wait_for(alice, "Your balance: Rp500.000")
    await deposit_seen(telegram, alice, backend, alice_name, 100_000)  # while the bot waits
    with backend_calls(two_users["runner"]) as calls:
        telegram.send_text(alice, "550rb")  # over the balance read at the start, not over today's
        await telegram.wait_for(alice, "description")
    assert calls == [PROFILE]  # read again before refusing: it was not refused
    telegram.send_text(alice, "/skip")
    summary = await telegram.wait_for(alice, is_summary)

    taken = admin_call(
        backend,
        "POST",
        f"/api/admin/users/{alice_name}/withdraw",
        json={"amount": 200_000, "reference": "e2e cash out"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert taken.status_code == 201, taken.text
    telegram.press(alice, summary.data_of("Confirm"), message_id=summary.message_id)
    await telegram.wait_for(alice, "balance is too low")
    asked = await telegram.wait_for(alice, "How much")
    assert "Your balance: Rp400.000" in asked.body  # not the Rp600.000 read before the refusal


async def test_an_abandoned_flow_forgets_the_profile_it_read(
    telegram: FakeTelegram, two_users: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = two_users["alice"]
    monkeypatch.setattr(bot_app, "FLOW_TIMEOUT", 1)
    app = await two_users["runner"].restart()  # flows now end after 1 s alone
    telegram.send_text(alice, "/transfer")
    await telegram.wait_for(alice, "Who")
    assert app.chat_data[alice]["flow"]["profile"]["amount_credit"] == 500_000
    await telegram.wait_until(lambda: "flow" not in app.chat_data[alice], timeout=5)
    telegram.send_text(alice, two_users["bob_name"])  # no flow is waiting for a recipient
    await telegram.wait_for(alice, "did not understand")

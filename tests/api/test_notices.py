"""The outbox over the bot's API: what is queued, in which order, leased, acknowledged, dropped.

No bot runs here: the test claims and acknowledges like the bot's courier would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backend.main import create_app
from tests.conftest import make_settings

BOT = {"X-Bot-Secret": "bot-secret-for-tests"}


@pytest.fixture
def app_client(mongo_uri: str, tmp_path: Path) -> Iterator[TestClient]:
    """A backend whose OTPs go to Telegram (through the outbox), with a short lease."""
    settings = make_settings(mongo_uri, tmp_path, otp_delivery="telegram", notice_lease_seconds=1)
    app = create_app(settings)
    with TestClient(app) as client:
        yield client
        app.state.wallet.store.client.drop_database(settings.mongodb_db)


def register(client: TestClient, name: str, chat_id: int, balance: int = 0) -> dict[str, str]:
    """A user linked to a chat, as the bot registers one, with `balance` deposited. → auth headers"""
    body = {
        "chat_id": chat_id,
        "username": name,
        "password": "rahasia-123",
        "name": name.title(),
        "lang": "en",
    }
    answer = client.post("/api/bot/register", json=body, headers=BOT)
    assert answer.status_code == 201, answer.text
    if balance:
        deposit(client, name, balance)
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


def claim(client: TestClient, limit: int = 50, lowest: int = 2) -> list[dict[str, Any]]:
    body = {"limit": limit, "wait_seconds": 0, "lowest_priority": lowest}
    answer = client.post("/api/bot/notices/claim", json=body, headers=BOT)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]  # type: ignore[no-any-return]


def ack(client: TestClient, notice: dict[str, Any], outcome: str, **extra: Any) -> int:
    item = {"id": notice["id"], "claim": notice["claim"], "outcome": outcome, **extra}
    answer = client.post("/api/bot/notices/ack", json={"items": [item]}, headers=BOT)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["recorded"])


def admin(client: TestClient) -> dict[str, str]:
    token = client.post("/api/auth/signin", json={"username": "admin", "password": "admin-pass-123"})
    return {"Authorization": f"Bearer {token.json()['accessToken']}"}


def deposit(client: TestClient, username: str, amount: int) -> None:
    headers = {**admin(client), "Idempotency-Key": str(uuid.uuid4())}
    answer = client.post(
        f"/api/admin/users/{username}/deposit", json={"amount": amount, "reference": "t"}, headers=headers
    )
    assert answer.status_code == 201, answer.text


def request_transfer_otp(client: TestClient, headers: dict[str, str], recipient: str, amount: int) -> Any:
    body = {"action": "transfer", "recipient": recipient, "amount": amount}
    return client.post("/api/processing", json=body, headers=headers)


def store(client: TestClient) -> Any:
    return client.app.state.wallet.store  # type: ignore[attr-defined]


def test_no_bot_polling_means_no_code_is_made(app_client: TestClient) -> None:
    alice = register(app_client, "alice", 501, balance=100_000)
    register(app_client, "bob", 502)
    refused = request_transfer_otp(app_client, alice, "bob", 1_000)
    assert refused.status_code == 503 and refused.json()["code"] == "delivery_unavailable"
    assert store(app_client).otps.count_documents({}) == 0  # nothing issued, no request counted
    claim(app_client)  # a bot polls: codes can be delivered again
    assert request_transfer_otp(app_client, alice, "bob", 1_000).status_code == 202


def test_an_unlinked_account_gets_no_code(app_client: TestClient) -> None:
    register(app_client, "bob", 502)
    signup = {"username": "carol", "password": "rahasia-123", "name": "Carol"}
    assert app_client.post("/api/auth/signup", json=signup).status_code == 201
    deposit(app_client, "carol", 50_000)
    credentials = {"username": "carol", "password": "rahasia-123"}
    token = app_client.post("/api/auth/signin", json=credentials).json()["accessToken"]
    claim(app_client)
    refused = request_transfer_otp(app_client, {"Authorization": f"Bearer {token}"}, "bob", 1_000)
    assert refused.status_code == 409 and refused.json()["code"] == "telegram_not_linked"


def test_codes_first_then_news_then_reminders_each_leased_once(app_client: TestClient) -> None:
    alice = register(app_client, "alice", 501)
    register(app_client, "bob", 502)
    deposit(app_client, "alice", 50_000)  # money, and a notice of it (priority 1)
    claim(app_client, limit=1, lowest=0)  # the bot is polling (nothing of priority 0 yet)
    assert request_transfer_otp(app_client, alice, "bob", 1_000).status_code == 202
    first = claim(app_client)
    assert [n["kind"] for n in first] == ["otp", "deposit"]
    otp = first[0]
    assert otp["chat_id"] == 501 and otp["data"]["party"] == "bob" and len(otp["data"]["code"]) == 6
    assert claim(app_client) == []  # leased: nobody else gets them
    time.sleep(1.2)  # the lease (1 s here) ran out without an acknowledgement: handed out again
    again = claim(app_client)
    assert {n["id"] for n in again} == {n["id"] for n in first}
    assert ack(app_client, first[0], "sent") == 0  # the old claim no longer counts
    assert all(ack(app_client, n, "sent") == 1 for n in again)
    assert claim(app_client) == []


def test_the_code_rests_sealed_and_is_wiped_once_sent(app_client: TestClient) -> None:
    alice = register(app_client, "alice", 501, balance=100_000)
    register(app_client, "bob", 502)
    claim(app_client)
    request_transfer_otp(app_client, alice, "bob", 1_000)
    doc = store(app_client).notices.find_one({"kind": "otp"})
    notice = claim(app_client)[0]
    code = notice["data"]["code"]
    assert code not in str({k: v for k, v in doc.items() if k != "_id"})  # never in clear at rest
    ack(app_client, notice, "sent")
    assert "sealed" not in store(app_client).notices.find_one({"_id": notice["id"]})


def test_a_replaced_code_is_dropped_not_sent(app_client: TestClient) -> None:
    alice = register(app_client, "alice", 501, balance=100_000)
    register(app_client, "bob", 502)
    claim(app_client)
    request_transfer_otp(app_client, alice, "bob", 1_000)
    request_transfer_otp(app_client, alice, "bob", 2_000)  # a newer code for the same action
    notices = claim(app_client)
    assert len(notices) == 1 and notices[0]["data"]["amount"] == 2_000
    states = sorted(d["state"] for d in store(app_client).notices.find({"kind": "otp"}))
    assert states == ["claimed", "dropped"]


def test_retry_honours_retry_after_and_dead_is_final(app_client: TestClient) -> None:
    register(app_client, "alice", 501)
    deposit(app_client, "alice", 50_000)
    notice = claim(app_client)[0]
    ack(app_client, notice, "retry", retry_after=1.0, error="429")
    assert claim(app_client) == []  # not before Telegram's retry_after
    time.sleep(1.1)
    notice = claim(app_client)[0]
    assert notice["attempts"] == 2
    ack(app_client, notice, "dead", error="Forbidden: bot was blocked by the user")
    time.sleep(1.1)
    assert claim(app_client) == []
    doc = store(app_client).notices.find_one({"_id": notice["id"]})
    assert doc["state"] == "dead" and "blocked" in doc["reason"] and "due_key" not in doc


def test_a_reminder_of_a_bill_closed_meanwhile_is_dropped(app_client: TestClient) -> None:
    alice = register(app_client, "alice", 501)
    bob = register(app_client, "bob", 502)
    claim(app_client)
    request = {"action": "create_bill", "payer": "alice", "amount": 7_000}
    assert app_client.post("/api/processing", json=request, headers=bob).status_code == 202
    code = next(n for n in claim(app_client) if n["kind"] == "otp")["data"]["code"]
    bill = {"bill_name": "Kas", "payer": "alice", "amount": 7_000, "otp": code}
    created = app_client.post("/api/bill", json=bill, headers={**bob, "Idempotency-Key": str(uuid.uuid4())})
    assert created.status_code == 201, created.text
    bill_code = created.json()["bill_code"]
    new_bill = claim(app_client)
    assert [n["kind"] for n in new_bill] == ["bill_new"] and new_bill[0]["data"]["code"] == bill_code
    store(app_client).bills.update_one({"_id": bill_code}, {"$inc": {"reminded_at": -20_000}})
    queued = app_client.post("/api/bot/reminders/queue", json={"interval_seconds": 10}, headers=BOT)
    assert queued.json() == {"claimed": 1, "queued": 1}
    declined = app_client.post(f"/api/bill/{bill_code}/decline", headers=alice)
    assert declined.status_code == 200, declined.text
    kinds = [n["kind"] for n in claim(app_client)]
    assert kinds == ["bill_declined"]  # to bob; alice's reminder of a declined bill is dropped
    reminder = store(app_client).notices.find_one({"kind": "reminder"})
    assert reminder["state"] == "dropped"


def test_a_code_past_its_expiry_is_dropped_not_sent_late(mongo_uri: str, tmp_path: Path) -> None:
    settings = make_settings(mongo_uri, tmp_path, otp_delivery="telegram", otp_ttl_seconds=1)
    app = create_app(settings)
    with TestClient(app) as client:
        alice = register(client, "alice", 501, balance=100_000)
        register(client, "bob", 502)
        claim(client)
        assert request_transfer_otp(client, alice, "bob", 1_000).status_code == 202
        time.sleep(1.1)  # the bot was busy (or down) past the code's lifetime
        assert claim(client) == []
        assert store(client).notices.find_one({"kind": "otp"})["state"] == "dropped"
        app.state.wallet.store.client.drop_database(settings.mongodb_db)

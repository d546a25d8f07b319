"""OTPs and transfers: money moves once, only with the right OTP, never below zero."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.support.wallet_client import WalletClient, new_key


def db(client: TestClient):  # noqa: ANN201 - the Store of the app under test
    """The store behind the test app."""
    return client.app.state.wallet.store  # type: ignore[attr-defined]


def test_transfer_moves_money_and_returns_new_balance(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(100_000), wallet_client.user()
    response = alice.transfer(bob.username, 25_000, description="Bayar makan")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["balance"] == 75_000 and body["recipient"] == bob.username
    assert body["recipient_name"] == "Test User" and body["description"] == "Bayar makan"
    assert alice.balance() == 75_000 and bob.balance() == 25_000


def test_otp_is_never_in_the_response_and_is_stored_hashed(
    wallet_client: WalletClient, client: TestClient
) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    response = alice.post("/api/processing", {"action": "transfer", "recipient": bob.username, "amount": 500})
    assert response.status_code == 202
    code = wallet_client.otp_source(alice.username, "transfer")
    assert code not in response.text
    stored = db(client).otps.find_one({"username": alice.username})
    assert code not in str(stored) and len(stored["code_hash"]) == 64


def test_insufficient_funds_is_refused_without_moving_money(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(1_000), wallet_client.user()
    response = alice.transfer(bob.username, 1_001)
    assert response.status_code == 409 and response.json()["code"] == "insufficient_funds"
    assert alice.balance() == 1_000 and bob.balance() == 0


def test_self_transfer_and_unknown_recipient_are_refused(wallet_client: WalletClient) -> None:
    alice = wallet_client.user(10_000)
    own = alice.post("/api/processing", {"action": "transfer", "recipient": alice.username, "amount": 100})
    assert own.status_code == 422 and own.json()["code"] == "self_transfer"
    ghost = alice.post("/api/processing", {"action": "transfer", "recipient": "nobody_here", "amount": 100})
    assert ghost.status_code == 404 and ghost.json()["code"] == "user_not_found"


def test_per_transfer_limit(wallet_client: WalletClient, client: TestClient) -> None:
    limit = client.app.state.wallet.settings.max_transfer_amount  # type: ignore[attr-defined]
    alice, bob = wallet_client.user(limit + 10, verified=True), wallet_client.user(verified=True)
    response = alice.transfer(bob.username, limit + 1)
    assert response.status_code == 422 and response.json()["code"] == "limit_exceeded"
    assert alice.transfer(bob.username, limit).status_code == 201


def test_daily_limit(wallet_client: WalletClient, client: TestClient) -> None:
    settings = client.app.state.wallet.settings  # type: ignore[attr-defined]
    settings.daily_transfer_limit = 3_000
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    alone = alice.transfer(bob.username, 3_500)  # over the day's limit by itself
    assert alone.status_code == 422 and alone.json()["code"] == "limit_exceeded"
    assert alice.transfer(bob.username, 2_000).status_code == 201
    over = alice.transfer(bob.username, 1_500)
    assert over.status_code == 422 and over.json()["code"] == "limit_exceeded"
    assert alice.transfer(bob.username, 1_000).status_code == 201
    assert alice.balance() == 7_000


def test_idempotency_key_is_required(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    code = alice.otp("transfer", recipient=bob.username, amount=100)
    response = alice.post("/api/transfer", {"recipient": bob.username, "amount": 100, "otp": code})
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_required"


def test_replay_returns_the_first_answer_and_moves_money_once(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    key = new_key()
    first = alice.transfer(bob.username, 1_000, key=key)
    code = alice.otp("transfer", recipient=bob.username, amount=1_000)
    again = alice.transfer(bob.username, 1_000, key=key, otp=code)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert alice.balance() == 9_000


def test_same_key_different_body_is_refused(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    key = new_key()
    assert alice.transfer(bob.username, 1_000, key=key).status_code == 201
    other = alice.transfer(bob.username, 2_000, key=key)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert alice.balance() == 9_000


def test_wrong_otp_releases_the_key_for_a_corrected_retry(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    key = new_key()
    code = alice.otp("transfer", recipient=bob.username, amount=1_000)
    wrong = f"{(int(code) + 7) % 1_000_000:06d}"
    assert alice.transfer(bob.username, 1_000, key=key, otp=wrong).status_code == 400
    assert alice.transfer(bob.username, 1_000, key=key, otp=code).status_code == 201
    assert alice.balance() == 9_000


def test_same_request_five_times_concurrently_moves_money_once(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    key, code = new_key(), alice.otp("transfer", recipient=bob.username, amount=1_000)
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: alice.transfer(bob.username, 1_000, key=key, otp=code), range(5)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert alice.balance() == 9_000 and bob.balance() == 1_000


def test_frozen_account_can_read_but_not_move_money(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    code = alice.otp("transfer", recipient=bob.username, amount=1_000)
    admin = wallet_client.admin()
    assert admin.post(f"/api/admin/users/{alice.username}/freeze").status_code == 200
    assert alice.get("/api/user").json()["frozen"] is True
    response = alice.transfer(bob.username, 1_000, otp=code)
    assert response.status_code == 403 and response.json()["code"] == "account_frozen"
    assert alice.balance() == 10_000
    refused = alice.post("/api/processing", {"action": "transfer", "recipient": bob.username, "amount": 5})
    assert refused.status_code == 403
    admin.post(f"/api/admin/users/{alice.username}/unfreeze")
    assert alice.transfer(bob.username, 1_000).status_code == 201

"""Sign-in brute force: slowed per username and per client address; no user enumeration."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.wallet_client import PASSWORD, WalletClient, unique_name


def test_wrong_user_and_wrong_password_look_the_same(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    wrong_pw = client.post("/api/auth/signin", json={"username": actor.username, "password": "nope-nope"})
    no_user = client.post("/api/auth/signin", json={"username": unique_name(), "password": "nope-nope"})
    assert wrong_pw.status_code == no_user.status_code == 401
    assert wrong_pw.json() == no_user.json()


def test_repeated_failures_lock_the_username(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    for _ in range(5):
        bad = client.post("/api/auth/signin", json={"username": actor.username, "password": "wrong-pass"})
        assert bad.status_code == 401
    locked = client.post("/api/auth/signin", json={"username": actor.username, "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "signin_locked"


def test_spraying_many_usernames_from_one_address_is_locked(
    wallet_client: WalletClient, client: TestClient
) -> None:
    victim = wallet_client.user()
    for _ in range(20):  # 4 × SIGNIN_MAX_FAILURES, each against a different username
        client.post("/api/auth/signin", json={"username": unique_name(), "password": "guess-guess"})
    response = client.post("/api/auth/signin", json={"username": victim.username, "password": PASSWORD})
    assert response.status_code == 429 and response.json()["code"] == "signin_locked"

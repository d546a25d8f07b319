"""Sign-up, sign-in, sign-out and what a token must be to be accepted."""

from __future__ import annotations

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.support.wallet_client import PASSWORD, WalletClient, unique_name

PROTECTED = [
    ("GET", "/api/user"),
    ("GET", "/api/user/someone"),
    ("GET", "/api/user/transfer/someone"),
    ("POST", "/api/processing"),
    ("POST", "/api/transfer"),
    ("GET", "/api/bill"),
    ("POST", "/api/bill"),
    ("GET", "/api/bill/someone"),
    ("GET", "/api/bill/code/ABCDEFGH23"),
    ("POST", "/api/bill/ABCDEFGH23/pay"),
    ("POST", "/api/bill/ABCDEFGH23/decline"),
    ("DELETE", "/api/bill/ABCDEFGH23"),
    ("POST", "/api/auth/signout"),
    ("GET", "/api/admin/reconcile"),
]


def signup(client: TestClient, username: str, password: str = PASSWORD, **extra: str) -> int:
    """Status of a sign-up attempt."""
    body = {"username": username, "password": password, "name": "Someone", **extra}
    return client.post("/api/auth/signup", json=body).status_code


def test_signup_creates_account_with_zero_balance(wallet_client: WalletClient) -> None:
    actor = wallet_client.user()
    assert actor.balance() == 0
    profile = actor.get("/api/user").json()
    assert profile["username"] == actor.username and profile["currency"] == "IDR"
    assert "password_hash" not in profile and "password" not in profile


def test_signup_refuses_short_password_and_bad_email(client: TestClient) -> None:
    assert signup(client, unique_name(), password="short") == 422
    assert signup(client, unique_name(), email="not-an-email") == 422
    response = client.post("/api/auth/signup", json={"username": unique_name(), "password": "x"})
    assert response.status_code == 422 and "x" not in response.json()["detail"].split()


def test_signin_returns_seed_fields(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user(balance=5000)
    body = client.post("/api/auth/signin", json={"username": actor.username, "password": PASSWORD}).json()
    assert set(body) >= {"accessToken", "username", "name", "amount_credit"}
    assert body["amount_credit"] == 5000


def test_signin_accepts_uppercase_username(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    body = {"username": actor.username.upper(), "password": PASSWORD}
    assert client.post("/api/auth/signin", json=body).status_code == 200


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_route_needs_a_token(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"


def test_seed_header_and_bearer_both_work(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    assert client.get("/api/user", headers={"X-Access-Token": actor.token}).status_code == 200
    assert client.get("/api/user", headers={"Authorization": f"Bearer {actor.token}"}).status_code == 200


def test_token_lasts_one_day(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    claims = jwt.decode(actor.token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 86400
    assert jwt.get_unverified_header(actor.token)["alg"] == "HS256"


def test_passwords_are_argon2id(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    stored = client.app.state.wallet.store.users.find_one({"_id": actor.username})  # type: ignore[attr-defined]
    assert stored["password_hash"].startswith("$argon2id$")

"""Tokens: unsigned, wrongly signed, expired, revoked, for a deleted or frozen user."""

from __future__ import annotations

import time

import jwt
from fastapi.testclient import TestClient

from tests.support.wallet_client import WalletClient


def forged(claims: dict[str, object], key: str = "another-key-" + "y" * 40, alg: str = "HS256") -> str:
    """A token signed with the wrong key or algorithm."""
    return jwt.encode(claims, key, algorithm=alg)


def test_alg_none_wrong_key_and_expired_tokens_are_refused(
    wallet_client: WalletClient, client: TestClient
) -> None:
    actor = wallet_client.user()
    now = int(time.time())
    claims = {"sub": actor.username, "jti": "j1", "iat": now, "exp": now + 3600, "typ": "access"}
    unsigned = jwt.encode(claims, None, algorithm="none")
    secret = client.app.state.wallet.settings.signing_key  # type: ignore[attr-defined]
    expired = forged({**claims, "exp": now - 10, "iat": now - 100}, key=secret)
    for token in (
        unsigned,
        forged(claims),
        expired,
        "garbage",
        forged(claims, key=secret, alg="HS512"),
    ):
        response = client.get("/api/user", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token


def test_signout_revokes_the_token(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    assert actor.post("/api/auth/signout").status_code == 204
    assert actor.get("/api/user").status_code == 401
    again = wallet_client.signin(actor.username)
    assert again.get("/api/user").status_code == 200


def test_token_of_a_deleted_user_is_refused(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    client.app.state.wallet.store.users.delete_one({"_id": actor.username})  # type: ignore[attr-defined]
    response = actor.get("/api/user")
    assert response.status_code == 401 and response.json()["code"] == "token_invalid"


def test_token_of_a_frozen_user_reads_but_cannot_move_money(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    wallet_client.admin().post(f"/api/admin/users/{alice.username}/freeze")
    assert alice.get("/api/user").status_code == 200
    refused = alice.post("/api/processing", {"action": "transfer", "recipient": bob.username, "amount": 5})
    assert refused.status_code == 403 and refused.json()["code"] == "account_frozen"


def test_a_token_with_a_forged_subject_is_refused(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(), wallet_client.user()
    header, payload, signature = alice.token.split(".")
    claims = jwt.decode(alice.token, options={"verify_signature": False})
    other = jwt.utils.base64url_encode(  # type: ignore[attr-defined]
        jwt.api_jws.json.dumps({**claims, "sub": bob.username}).encode()  # type: ignore[attr-defined]
    ).decode()
    forged_token = f"{header}.{other}.{signature}"
    response = alice.http.get("/api/user", headers={"Authorization": f"Bearer {forged_token}"})
    assert response.status_code == 401


def test_a_token_without_expiry_is_refused(client: TestClient) -> None:
    secret = client.app.state.wallet.settings.signing_key  # type: ignore[attr-defined]
    token = jwt.encode({"sub": "admin", "jti": "x", "iat": int(time.time()), "typ": "access"}, secret)
    assert client.get("/api/user", headers={"Authorization": f"Bearer {token}"}).status_code == 401

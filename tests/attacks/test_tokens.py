"""Tokens: unsigned, wrongly signed, expired, revoked, for a deleted or frozen user."""

from __future__ import annotations

import time

import jwt
from fastapi.testclient import TestClient

from tests.support.wallet_client import PASSWORD, WalletClient


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


BOT = {"X-Bot-Secret": "bot-secret-for-tests"}


def bot_login(client: TestClient, wallet_client: WalletClient, chat_id: int) -> dict[str, str]:
    """A chat logged in through the bot. → its session answer (access and refresh token)"""
    actor = wallet_client.user()
    body = {"chat_id": chat_id, "username": actor.username, "password": PASSWORD}
    answer = client.post("/api/bot/link", json=body, headers=BOT)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def me(client: TestClient, access_token: str) -> int:
    return client.get("/api/user", headers={"Authorization": f"Bearer {access_token}"}).status_code


def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(
    client: TestClient, wallet_client: WalletClient
) -> None:
    """Regression: one bot refresh token was accepted three times and stayed valid for 180 days."""
    login = bot_login(client, wallet_client, 7001)
    first = client.post("/api/bot/refresh", json={"refresh_token": login["refreshToken"]}, headers=BOT)
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refreshToken"] != login["refreshToken"] and me(client, rotated["accessToken"]) == 200
    # the spent token comes back (it was copied): the whole session ends, new tokens included
    again = client.post("/api/bot/refresh", json={"refresh_token": login["refreshToken"]}, headers=BOT)
    assert again.status_code == 401
    assert me(client, rotated["accessToken"]) == 401 and me(client, login["accessToken"]) == 401
    after = client.post("/api/bot/refresh", json={"refresh_token": rotated["refreshToken"]}, headers=BOT)
    assert after.status_code == 401  # the chat must log in again


def test_logout_ends_every_access_token_of_the_session_at_once(
    client: TestClient, wallet_client: WalletClient
) -> None:
    """Regression: /api/bot/logout deleted only the refresh token; access tokens minted from it
    kept working for up to a day."""
    login = bot_login(client, wallet_client, 7002)
    renewed = client.post(
        "/api/bot/refresh", json={"refresh_token": login["refreshToken"]}, headers=BOT
    ).json()
    other_chat = bot_login(client, wallet_client, 7003)
    assert me(client, login["accessToken"]) == me(client, renewed["accessToken"]) == 200
    out = client.post("/api/bot/logout", json={"refresh_token": renewed["refreshToken"]}, headers=BOT)
    assert out.status_code == 204
    assert me(client, login["accessToken"]) == me(client, renewed["accessToken"]) == 401
    assert me(client, other_chat["accessToken"]) == 200  # another session is untouched


def test_a_revocation_lives_on_the_user_until_every_token_it_covers_expired(
    client: TestClient, wallet_client: WalletClient
) -> None:
    """Revocations are checked by the one read that finds the token's user; housekeeping takes a
    mark off only when its record expired (a token it covered could not be alive any more)."""
    wallet = client.app.state.wallet  # type: ignore[attr-defined]
    actor = wallet_client.user()
    assert actor.post("/api/auth/signout").status_code == 204
    marks = wallet.store.users.find_one({"_id": actor.username})["revoked"]
    assert len(marks) == 1 and marks[0].startswith("jti:")
    wallet.tokens.purge_expired()
    assert actor.get("/api/user").status_code == 401  # not expired: still refused
    wallet.store.tokens.update_many({"kind": "revoked"}, {"$set": {"expires_at": 0}})
    wallet.tokens.purge_expired()
    assert wallet.store.users.find_one({"_id": actor.username})["revoked"] == []


def test_revocations_kept_the_old_way_still_count_after_an_upgrade(
    client: TestClient, wallet_client: WalletClient
) -> None:
    """Before revocations lived on the user: a revoked session (its user known) moves there; a
    revoked REST token (its user not kept) ends every REST token issued before the upgrade."""
    wallet = client.app.state.wallet  # type: ignore[attr-defined]
    chat = bot_login(client, wallet_client, 7004)
    rest = wallet_client.user()
    sid = jwt.decode(chat["accessToken"], options={"verify_signature": False})["sid"]
    wallet.store.tokens.update_one({"_id": "session:" + sid}, {"$set": {"revoked": True}})
    later = int(time.time()) + 3600
    wallet.store.tokens.insert_one({"_id": "jti:old", "kind": "revoked", "expires_at": later * 1000})
    assert me(client, chat["accessToken"]) == 200 and rest.get("/api/user").status_code == 200
    time.sleep(1.1)  # token times are in whole seconds
    wallet.store.counters.delete_one({"_id": "migration:revocations"})  # a database from before
    wallet.tokens.migrate_revocations()
    assert me(client, chat["accessToken"]) == 401
    assert rest.get("/api/user").status_code == 401
    assert wallet_client.signin(rest.username).get("/api/user").status_code == 200

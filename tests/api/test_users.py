"""Profile, recipient look-up, history pages; nobody reads another user's history."""

from __future__ import annotations

from tests.support.wallet_client import WalletClient


def test_lookup_shows_only_username_and_name(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(), wallet_client.user(name="Bob Budi")
    body = alice.get(f"/api/user/{bob.username}").json()
    assert body == {"username": bob.username, "name": "Bob Budi"}
    missing = alice.get("/api/user/nobody_here")
    assert missing.status_code == 404 and missing.json()["code"] == "user_not_found"


def test_history_is_newest_first_signed_and_paginated(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(100_000), wallet_client.user()
    for amount in (1_000, 2_000, 3_000):
        assert alice.transfer(bob.username, amount).status_code == 201
    first = alice.get(f"/api/user/transfer/{alice.username}", params={"limit": 2}).json()
    assert [m["amount"] for m in first["items"]] == [-3_000, -2_000]
    assert first["items"][0]["counterparty"] == bob.username
    second = alice.get(
        f"/api/user/transfer/{alice.username}", params={"limit": 2, "cursor": first["next_cursor"]}
    )
    items = second.json()["items"]
    assert [m["amount"] for m in items] == [-1_000, 100_000] and second.json()["next_cursor"] is None
    assert items[1]["kind"] == "deposit"
    received = bob.get(f"/api/user/transfer/{bob.username}").json()["items"]
    assert [m["amount"] for m in received] == [3_000, 2_000, 1_000]


def test_bad_pagination_parameters_are_422(wallet_client: WalletClient) -> None:
    alice = wallet_client.user()
    path = f"/api/user/transfer/{alice.username}"
    assert alice.get(path, params={"limit": 0}).status_code == 422
    assert alice.get(path, params={"limit": 1000}).status_code == 422
    assert alice.get(path, params={"cursor": '{"$gt": ""}'}).status_code == 422


def test_language_preference(wallet_client: WalletClient) -> None:
    alice = wallet_client.user()
    assert alice.get("/api/user").json()["lang"] == "id"
    assert alice.http.put("/api/user/lang", json={"lang": "en"}, headers=alice.headers).status_code == 200
    assert alice.get("/api/user").json()["lang"] == "en"
    assert alice.http.put("/api/user/lang", json={"lang": "fr"}, headers=alice.headers).status_code == 422


def test_healthz_and_openapi(wallet_client: WalletClient) -> None:
    http = wallet_client.http
    assert http.get("/healthz").json() == {"ok": True, "database": "up"}
    spec = http.get("/openapi.json").json()
    assert "/api/transfer" in spec["paths"] and "/api/admin/reconcile" in spec["paths"]
    assert http.get("/docs").status_code == 200
    assert http.get("/healthz").headers["x-request-id"]


def test_seed_balance_setting_routes_do_not_exist(wallet_client: WalletClient) -> None:
    alice = wallet_client.user()
    for path in ("/api/user/transfer", "/api/user/bill"):
        response = alice.http.put(
            path, json={"username": alice.username, "credit": 10**9}, headers=alice.headers
        )
        assert response.status_code in (404, 405)
    assert alice.balance() == 0

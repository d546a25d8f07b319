"""Admin REST: deposits, withdrawals, users, freezing, ledger, reversals, reconciliation, audit."""

from __future__ import annotations

from tests.support.wallet_client import WalletClient, new_key


def test_deposit_is_idempotent_and_recorded(wallet_client: WalletClient) -> None:
    alice, admin = wallet_client.user(), wallet_client.admin()
    key, body = new_key(), {"amount": 50_000, "reference": "teller #7"}
    first = admin.post(f"/api/admin/users/{alice.username}/deposit", body, key=key)
    second = admin.post(f"/api/admin/users/{alice.username}/deposit", body, key=key)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert alice.balance() == 50_000
    ledger = admin.get("/api/admin/ledger", params={"kind": "deposit", "username": alice.username}).json()
    assert [m["reference"] for m in ledger["items"]] == ["teller #7"]
    audit = admin.get("/api/admin/audit").json()["items"]
    assert (
        audit[0]["actor"] == "admin"
        and audit[0]["action"] == "deposit"
        and audit[0]["target"] == alice.username
    )


def test_withdraw_never_overdraws(wallet_client: WalletClient) -> None:
    alice, admin = wallet_client.user(10_000), wallet_client.admin()
    path = f"/api/admin/users/{alice.username}/withdraw"
    too_much = admin.post(path, {"amount": 10_001, "reference": "cash out"}, key=new_key())
    assert too_much.status_code == 409 and too_much.json()["code"] == "insufficient_funds"
    assert admin.post(path, {"amount": 4_000, "reference": "cash out"}, key=new_key()).status_code == 201
    assert alice.balance() == 6_000
    recon = admin.get("/api/admin/reconcile").json()
    assert recon["ok"] and recon["total_withdrawals"] >= 4_000


def test_deposit_to_unknown_user_and_bad_amount(wallet_client: WalletClient) -> None:
    admin = wallet_client.admin()
    assert (
        admin.post(
            "/api/admin/users/ghost_user/deposit", {"amount": 5, "reference": "x"}, key=new_key()
        ).status_code
        == 404
    )
    alice = wallet_client.user()
    for amount in (0, -1, 2.5, 10**30):
        body = {"amount": amount, "reference": "x"}
        assert (
            admin.post(f"/api/admin/users/{alice.username}/deposit", body, key=new_key()).status_code == 422
        )


def test_list_and_search_users(wallet_client: WalletClient) -> None:
    a1, _a2 = wallet_client.user(prefix="zeta"), wallet_client.user(prefix="zeta")
    admin = wallet_client.admin()
    found = admin.get("/api/admin/users", params={"q": "zeta", "limit": 1}).json()
    assert len(found["items"]) == 1 and found["next_cursor"]
    rest = admin.get("/api/admin/users", params={"q": "zeta", "cursor": found["next_cursor"]}).json()
    names = [u["username"] for u in found["items"] + rest["items"]]
    assert a1.username in names and all(n.startswith("zeta") for n in names)


def test_reverse_a_transfer_once(wallet_client: WalletClient) -> None:
    alice, bob, admin = wallet_client.user(10_000), wallet_client.user(), wallet_client.admin()
    movement = alice.transfer(bob.username, 4_000).json()["id"]
    path = f"/api/admin/ledger/{movement}/reverse"
    response = admin.post(path, {"reason": "fraud report"}, key=new_key())
    assert response.status_code == 201 and response.json()["kind"] == "reversal"
    assert alice.balance() == 10_000 and bob.balance() == 0
    again = admin.post(path, {"reason": "again"}, key=new_key())
    assert again.status_code == 409
    assert admin.get("/api/admin/ledger", params={"kind": "transfer", "username": alice.username}).json()[
        "items"
    ]
    history = alice.get(f"/api/user/transfer/{alice.username}").json()["items"]
    assert history[0]["kind"] == "reversal" and history[0]["amount"] == 4_000


def test_reversal_that_would_overdraw_is_refused_and_can_be_retried(
    wallet_client: WalletClient,
) -> None:
    alice, bob, carol = wallet_client.user(10_000), wallet_client.user(), wallet_client.user()
    admin = wallet_client.admin()
    movement = alice.transfer(bob.username, 4_000).json()["id"]
    assert bob.transfer(carol.username, 4_000).status_code == 201
    path = f"/api/admin/ledger/{movement}/reverse"
    refused = admin.post(path, {"reason": "dispute"}, key=new_key())
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_funds"
    wallet_client.deposit(bob.username, 4_000)
    assert admin.post(path, {"reason": "dispute"}, key=new_key()).status_code == 201
    assert bob.balance() == 0 and alice.balance() == 10_000


def test_reverse_unknown_or_deposit_is_404(wallet_client: WalletClient) -> None:
    admin = wallet_client.admin()
    assert admin.post("/api/admin/ledger/nope/reverse", {"reason": "x"}, key=new_key()).status_code == 404


def test_reconcile_after_activity(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user(5_000)
    alice.transfer(bob.username, 3_000)
    recon = wallet_client.admin().get("/api/admin/reconcile").json()
    assert recon == {
        "ok": True,
        "total_balances": 15_000,
        "total_deposits": 15_000,
        "total_withdrawals": 0,
        "in_flight": 0,
        "negative_balances": 0,
        "unfinished": 0,
    }

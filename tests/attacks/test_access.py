"""Access: nobody reads or acts on another user's bills or history; users are not admins."""

from __future__ import annotations

from tests.api.test_bills import open_bill
from tests.support.wallet_client import WalletClient, new_key


def test_others_cannot_see_pay_decline_or_cancel_a_bill(wallet_client: WalletClient) -> None:
    issuer, payer, mallory = wallet_client.user(), wallet_client.user(), wallet_client.user(100_000)
    code = open_bill(issuer, payer)
    assert mallory.get(f"/api/bill/code/{code}").status_code == 404
    assert mallory.post("/api/processing", {"action": "pay_bill", "bill_code": code}).status_code == 404
    assert mallory.post(f"/api/bill/{code}/pay", {"otp": "123456"}, key=new_key()).status_code == 404
    assert mallory.post(f"/api/bill/{code}/decline").status_code == 404
    assert mallory.delete(f"/api/bill/{code}").status_code == 404
    assert mallory.get(f"/api/bill/{payer.username}").status_code == 403
    assert mallory.get(f"/api/bill/{issuer.username}/issued").status_code == 403
    assert mallory.get("/api/bill").status_code == 403
    assert payer.get(f"/api/bill/code/{code}").json()["status"] == "open"


def test_history_of_someone_else_is_forbidden(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(), wallet_client.user()
    assert alice.get(f"/api/user/transfer/{bob.username}").status_code == 403
    assert wallet_client.admin().get(f"/api/user/transfer/{bob.username}").status_code == 200


def test_admin_routes_are_admin_only(wallet_client: WalletClient) -> None:
    alice = wallet_client.user()
    for method, path in [
        ("POST", f"/api/admin/users/{alice.username}/deposit"),
        ("POST", f"/api/admin/users/{alice.username}/withdraw"),
        ("GET", "/api/admin/users"),
        ("POST", f"/api/admin/users/{alice.username}/freeze"),
        ("GET", "/api/admin/ledger"),
        ("POST", "/api/admin/ledger/abc/reverse"),
        ("GET", "/api/admin/reconcile"),
        ("GET", "/api/admin/audit"),
    ]:
        response = alice.http.request(
            method,
            path,
            headers={**alice.headers, "Idempotency-Key": new_key()},
            json={"amount": 10**6, "reference": "x", "reason": "x"},
        )
        assert response.status_code == 403, path
    assert alice.balance() == 0


def test_bot_routes_need_the_bot_secret(wallet_client: WalletClient) -> None:
    alice = wallet_client.user()
    body = {"chat_id": 1, "username": alice.username, "password": "correct-horse-9"}
    for headers in ({}, {"X-Bot-Secret": "wrong"}, alice.headers):
        response = alice.http.post("/api/bot/link", json=body, headers=headers)
        assert response.status_code == 403
    claim = alice.http.post("/api/bot/reminders/queue", json={"interval_seconds": 60}, headers=alice.headers)
    assert claim.status_code == 403


def test_a_user_cannot_deposit_to_themselves(wallet_client: WalletClient) -> None:
    alice = wallet_client.user()
    response = alice.post(
        f"/api/admin/users/{alice.username}/deposit", {"amount": 10**6, "reference": "x"}, key=new_key()
    )
    assert response.status_code == 403 and alice.balance() == 0

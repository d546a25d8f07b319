"""Bills: only the payer pays, once; issuer cancels, payer declines; nobody else sees them."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from tests.support.wallet_client import Actor, WalletClient, new_key


def open_bill(issuer: Actor, payer: Actor, amount: int = 30_000, **extra: object) -> str:
    """Create a bill and return its code."""
    response = issuer.bill(payer.username, amount, **extra)
    assert response.status_code == 201, response.text
    return str(response.json()["bill_code"])


def jakarta_today() -> date:
    """Today where bills fall due by default."""
    return datetime.now(ZoneInfo("Asia/Jakarta")).date()


def test_create_bill_returns_an_unambiguous_code(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user()
    due = (jakarta_today() + timedelta(days=30)).isoformat()
    response = issuer.bill(payer.username, 30_000, description="Patungan", due_date=due)
    assert response.status_code == 201
    bill = response.json()
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{10}", bill["bill_code"])
    assert bill["status"] == "open" and bill["issuer"] == issuer.username and bill["payer"] == payer.username
    assert bill["due_date"] == due and bill["amount"] == 30_000


def test_due_dates_in_the_past_or_too_far_ahead_are_refused_without_using_the_code(
    wallet_client: WalletClient,
) -> None:
    """Regression: 0001-01-01 and 9999-12-31 were accepted as due dates."""
    issuer, payer = wallet_client.user(), wallet_client.user()
    code = issuer.otp("create_bill", payer=payer.username, amount=5_000)
    today = jakarta_today()
    for due in ("0001-01-01", "9999-12-31", (today - timedelta(days=1)).isoformat(),
                (today + timedelta(days=366)).isoformat()):  # fmt: skip
        body = {"bill_name": "Kas", "payer": payer.username, "amount": 5_000, "otp": code, "due_date": due}
        refused = issuer.post("/api/bill", body, key=new_key())
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_due_date", due
    body = {"bill_name": "Kas", "payer": payer.username, "amount": 5_000, "otp": code}
    for due in (today.isoformat(), (today + timedelta(days=365)).isoformat()):
        accepted = issuer.post("/api/bill", {**body, "due_date": due}, key=new_key())
        assert accepted.status_code == 201, accepted.text  # the same code: the refusals did not use it
        code = issuer.otp("create_bill", payer=payer.username, amount=5_000)
        body["otp"] = code


def test_bill_otp_is_bound_to_payer_and_amount(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user()
    code = issuer.otp("create_bill", payer=payer.username, amount=1_000)
    body = {"bill_name": "x", "payer": payer.username, "amount": 2_000, "otp": code}
    assert issuer.post("/api/bill", body, key=new_key()).status_code == 400


def test_payer_lists_open_bills_and_issuer_lists_issued(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user()
    first, second = open_bill(issuer, payer), open_bill(issuer, payer, 5_000)
    to_pay = payer.get(f"/api/bill/{payer.username}").json()["items"]
    assert [b["code"] for b in to_pay] == [second, first]
    issued = issuer.get(f"/api/bill/{issuer.username}/issued").json()["items"]
    assert {b["code"] for b in issued} == {first, second}


def test_pay_bill_moves_money_and_marks_it_paid(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(50_000)
    code = open_bill(issuer, payer)
    response = payer.pay(code)
    assert response.status_code == 200, response.text
    assert response.json()["bill"]["status"] == "paid" and response.json()["balance"] == 20_000
    assert payer.balance() == 20_000 and issuer.balance() == 30_000
    assert payer.get(f"/api/bill/{payer.username}").json()["items"] == []
    kept = issuer.get(f"/api/bill/code/{code}").json()
    assert kept["status"] == "paid" and kept["payment_id"] == response.json()["payment_id"]
    history = payer.get(f"/api/user/transfer/{payer.username}").json()["items"]
    assert history[0]["kind"] == "bill_payment" and history[0]["amount"] == -30_000
    assert history[0]["bill_code"] == code


def test_a_bill_is_paid_only_once(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(100_000)
    code = open_bill(issuer, payer)
    assert payer.pay(code).status_code == 200
    again = payer.post("/api/processing", {"action": "pay_bill", "bill_code": code})
    assert again.status_code == 409 and again.json()["code"] == "bill_not_payable"
    assert payer.balance() == 70_000


def test_double_press_with_one_key_pays_once(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(100_000)
    code = open_bill(issuer, payer)
    otp, key = payer.otp("pay_bill", bill_code=code), new_key()
    with ThreadPoolExecutor(5) as pool:
        answers = list(
            pool.map(lambda _: payer.post(f"/api/bill/{code}/pay", {"otp": otp}, key=key), range(5))
        )
    assert 200 in [a.status_code for a in answers]
    assert payer.balance() == 70_000 and issuer.balance() == 30_000


def test_pay_with_insufficient_funds_keeps_the_bill_open(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(1_000)
    code = open_bill(issuer, payer)
    response = payer.pay(code)  # refused when the code is asked for: no code is made
    assert response.status_code == 409 and response.json()["code"] == "insufficient_funds"
    assert payer.get(f"/api/bill/code/{code}").json()["status"] == "open"
    wallet_client.deposit(payer.username, 50_000)
    assert payer.pay(code).status_code == 200


def test_issuer_cannot_pay_or_decline_and_payer_cannot_cancel(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(100_000), wallet_client.user()
    code = open_bill(issuer, payer)
    assert issuer.post("/api/processing", {"action": "pay_bill", "bill_code": code}).status_code == 404
    assert issuer.post(f"/api/bill/{code}/decline").status_code == 404
    assert payer.delete(f"/api/bill/{code}").status_code == 404


def test_payer_declines(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(100_000)
    code = open_bill(issuer, payer)
    response = payer.post(f"/api/bill/{code}/decline")
    assert response.status_code == 200 and response.json()["status"] == "declined"
    refused = payer.post("/api/processing", {"action": "pay_bill", "bill_code": code})
    assert refused.status_code == 409
    assert issuer.delete(f"/api/bill/{code}").status_code == 409


def test_issuer_cancels_and_the_bill_is_kept(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(100_000)
    code = open_bill(issuer, payer)
    response = issuer.delete(f"/api/bill/{code}")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert issuer.get(f"/api/bill/code/{code}").json()["status"] == "cancelled"
    assert payer.post("/api/processing", {"action": "pay_bill", "bill_code": code}).status_code == 409


def test_paid_bill_cannot_be_cancelled(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(100_000)
    code = open_bill(issuer, payer)
    assert payer.pay(code).status_code == 200
    assert issuer.delete(f"/api/bill/{code}").status_code == 409
    assert issuer.balance() == 30_000


def test_admin_lists_bills_by_status(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(100_000)
    paid, still_open = open_bill(issuer, payer), open_bill(issuer, payer)
    payer.pay(paid)
    admin = wallet_client.admin()
    opened = {b["code"] for b in admin.get("/api/bill", params={"status": "open"}).json()["items"]}
    closed = {b["code"] for b in admin.get("/api/bill", params={"status": "paid"}).json()["items"]}
    assert still_open in opened and paid in closed and paid not in opened
    assert admin.get(f"/api/bill/code/{paid}").status_code == 200
    assert admin.get("/api/bill", params={"status": "bogus"}).status_code == 422


def test_bill_codes_are_case_insensitive(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(100_000)
    code = open_bill(issuer, payer)
    assert payer.get(f"/api/bill/code/{code.lower()}").status_code == 200


def test_cannot_bill_yourself_or_nobody(wallet_client: WalletClient, client: TestClient) -> None:
    issuer = wallet_client.user()
    own = issuer.post("/api/processing", {"action": "create_bill", "payer": issuer.username, "amount": 5})
    assert own.status_code == 422
    nobody = issuer.post("/api/processing", {"action": "create_bill", "payer": "ghost_user", "amount": 5})
    assert nobody.status_code == 404

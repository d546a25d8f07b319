"""Bank Indonesia's e-money limits through the API: tiers, balance caps, the monthly incoming cap,
KYC verification, and the refusals a payer sees (before a code is made where it can be known)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from backend.config import Settings
from backend.ledger import Ledger
from backend.wallet import Wallet
from tests.conftest import OtpInbox
from tests.support.wallet_client import TEST_NIK, WalletClient, new_key

UNVERIFIED_CAP, VERIFIED_CAP, MONTHLY_CAP = 2_000_000, 20_000_000, 40_000_000


def wallet_of(client: TestClient) -> Wallet:
    return client.app.state.wallet  # type: ignore[attr-defined,no-any-return]


def test_the_defaults_are_bank_indonesias(settings: Settings) -> None:
    assert settings.balance_cap_unverified == UNVERIFIED_CAP
    assert settings.balance_cap_verified == VERIFIED_CAP
    assert settings.monthly_incoming_cap == MONTHLY_CAP
    assert settings.limits_timezone == "Asia/Jakarta"


def test_a_new_account_is_unverified_and_sees_its_limits(wallet_client: WalletClient) -> None:
    sari = wallet_client.user(500_000)
    me = sari.get("/api/user").json()
    assert me["verification"] is None
    assert me["limits"] == {
        "tier": "unverified",
        "balance_cap": UNVERIFIED_CAP,
        "monthly_incoming_cap": MONTHLY_CAP,
        "incoming_this_month": 500_000,
        "can_receive": UNVERIFIED_CAP - 500_000,
        "month": me["limits"]["month"],
    }


def test_a_deposit_obeys_the_cap_and_nothing_moves(wallet_client: WalletClient) -> None:
    sari = wallet_client.user(1_500_000)
    over = wallet_client.admin_money("deposit", sari.username, 500_001)
    assert over.status_code == 409, over.text
    assert over.json() == {
        "detail": f"@{sari.username}'s wallet cannot receive that much yet; they can verify their account",
        "code": "receive_cap_unverified",
        "payee": sari.username,
    }
    assert sari.balance() == 1_500_000
    assert (
        wallet_client.admin_money("deposit", sari.username, 500_000).status_code == 201
    )  # exactly to the cap
    assert sari.balance() == UNVERIFIED_CAP
    assert sari.get("/api/user").json()["limits"]["can_receive"] == 0
    assert wallet_client.admin().get("/api/admin/reconcile").json()["ok"]


def test_a_transfer_past_the_payees_cap_is_refused_before_a_code_is_made(
    wallet_client: WalletClient, otp_inbox: OtpInbox
) -> None:
    budi, sari = wallet_client.user(1_000_000), wallet_client.user(1_800_000)
    asked = budi.post(
        "/api/processing", {"action": "transfer", "recipient": sari.username, "amount": 200_001}
    )
    assert asked.status_code == 409 and asked.json()["code"] == "receive_cap_unverified", asked.text
    assert asked.json()["payee"] == sari.username
    assert (budi.username, "transfer") not in otp_inbox.codes  # no code was made, none is spent
    assert budi.transfer(sari.username, 200_000).status_code == 201
    assert (budi.balance(), sari.balance()) == (800_000, UNVERIFIED_CAP)


def test_a_cap_reached_after_the_code_refuses_at_the_commit_point_and_keeps_the_code(
    wallet_client: WalletClient,
) -> None:
    budi, sari = wallet_client.user(1_000_000), wallet_client.user(1_000_000)
    code = budi.otp("transfer", recipient=sari.username, amount=600_000)
    assert (
        wallet_client.admin_money("deposit", sari.username, 500_000).status_code == 201
    )  # room is now 500 000
    body = {"recipient": sari.username, "amount": 600_000, "otp": code}
    refused = budi.post("/api/transfer", body, key=new_key())
    assert refused.status_code == 409 and refused.json()["code"] == "receive_cap_unverified", refused.text
    assert (budi.balance(), sari.balance()) == (1_000_000, 1_500_000)
    assert wallet_client.admin_money("withdraw", sari.username, 500_000).status_code == 201
    again = budi.post("/api/transfer", body, key=new_key())  # the code was not burned by the refusal
    assert again.status_code == 201, again.text
    assert (budi.balance(), sari.balance()) == (400_000, 1_600_000)
    report = wallet_client.admin().get("/api/admin/reconcile").json()
    assert report["ok"] and report["in_flight"] == 0, report


def test_a_bill_whose_issuer_is_full_is_refused_before_the_code(wallet_client: WalletClient) -> None:
    sari, budi = wallet_client.user(1_900_000), wallet_client.user(500_000)
    bill = sari.bill(budi.username, 200_000).json()
    refused = budi.post("/api/processing", {"action": "pay_bill", "bill_code": bill["code"]})
    assert refused.status_code == 409 and refused.json()["code"] == "receive_cap_unverified", refused.text
    assert refused.json()["payee"] == sari.username
    assert budi.get(f"/api/bill/code/{bill['code']}").json()["status"] == "open"  # payable later
    # room made, the code issued, then the room taken again: refused at the commit point
    assert wallet_client.admin_money("withdraw", sari.username, 100_000).status_code == 201
    code = budi.otp("pay_bill", bill_code=bill["code"])
    assert wallet_client.admin_money("deposit", sari.username, 100_000).status_code == 201
    paid = budi.post(f"/api/bill/{bill['code']}/pay", {"otp": code}, key=new_key())
    assert paid.status_code == 409 and paid.json()["code"] == "receive_cap_unverified", paid.text
    assert budi.get(f"/api/bill/code/{bill['code']}").json()["status"] == "open"  # handed back
    assert (budi.balance(), sari.balance()) == (500_000, 1_900_000)
    assert wallet_client.admin_money("withdraw", sari.username, 100_000).status_code == 201
    paid = budi.post(f"/api/bill/{bill['code']}/pay", {"otp": code}, key=new_key())  # same code
    assert paid.status_code == 200, paid.text
    assert (budi.balance(), sari.balance()) == (300_000, 2_000_000)


def test_verification_raises_the_cap_and_keeps_the_nik_masked(
    wallet_client: WalletClient, client: TestClient
) -> None:
    sari = wallet_client.user(UNVERIFIED_CAP)
    verified = wallet_client.verify(sari.username).json()
    assert verified["limits"]["tier"] == "verified"
    assert verified["limits"]["balance_cap"] == VERIFIED_CAP
    assert verified["limits"]["can_receive"] == VERIFIED_CAP - UNVERIFIED_CAP
    assert verified["verification"]["nik"] == "************0001"
    assert verified["verification"]["full_name"] == "Sari Test Wulandari"
    assert verified["verification"]["date_of_birth"] == "1990-05-17"
    assert sari.get("/api/user").json()["verification"]["nik"] == "************0001"
    assert wallet_client.admin_money("deposit", sari.username, 18_000_000).status_code == 201
    assert sari.balance() == VERIFIED_CAP
    over = wallet_client.admin_money("deposit", sari.username, 1)
    assert over.status_code == 409 and over.json()["code"] == "receive_cap_reached"
    # the full NIK is nowhere: not in the account, not in the audit log
    store = wallet_of(client).store
    assert TEST_NIK not in repr(store.users.find_one({"_id": sari.username}))
    events = wallet_client.admin().get("/api/admin/audit").json()["items"]
    verify_event = next(e for e in events if e["action"] == "verify" and e["target"] == sari.username)
    assert verify_event["actor"] == "admin" and verify_event["details"]["nik"] == "************0001"
    assert TEST_NIK not in repr(list(store.audit.find({})))
    again = wallet_client.admin().post(
        f"/api/admin/users/{sari.username}/verify",
        {"full_name": "Sari", "nik": TEST_NIK, "date_of_birth": "1990-05-17"},
    )
    assert again.status_code == 409 and again.json()["code"] == "already_verified"


@pytest.mark.parametrize(
    ("nik", "born", "why"),
    [
        ("320101170590000", "1990-05-17", "exactly 16 digits"),
        ("32010117059000011", "1990-05-17", "exactly 16 digits"),
        ("32010117059O0001", "1990-05-17", "exactly 16 digits"),
        ("９９01011705900001", "1990-05-17", "exactly 16 digits"),  # full-width digits
        ("9901011705900001", "1990-05-17", "province"),
        ("3200011705900001", "1990-05-17", "regency"),
        ("3201001705900001", "1990-05-17", "regency"),
        ("3201011705900000", "1990-05-17", "serial"),
        ("3201011805900001", "1990-05-17", "do not match"),
        ("3201011705910001", "1990-05-17", "do not match"),
        ("3201011706900001", "1990-05-17", "do not match"),
        ("3201011705900001", "2990-05-17", "real past date"),
    ],
)
def test_a_nik_is_checked(wallet_client: WalletClient, nik: str, born: str, why: str) -> None:
    sari = wallet_client.user()
    body = {"full_name": "Sari Wulandari", "nik": nik, "date_of_birth": born}
    refused = wallet_client.admin().post(f"/api/admin/users/{sari.username}/verify", body)
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_identity", refused.text
    assert why in refused.json()["detail"]
    assert sari.get("/api/user").json()["limits"]["tier"] == "unverified"


def test_a_womans_nik_has_forty_added_to_the_day(wallet_client: WalletClient) -> None:
    sari = wallet_client.user()
    body = {"full_name": "Sari Wulandari", "nik": "3201015705900001", "date_of_birth": "1990-05-17"}
    assert wallet_client.admin().post(f"/api/admin/users/{sari.username}/verify", body).status_code == 200


def test_only_an_admin_verifies_and_the_form_is_strict(wallet_client: WalletClient) -> None:
    sari = wallet_client.user()
    body = {"full_name": "Sari", "nik": TEST_NIK, "date_of_birth": "1990-05-17"}
    assert sari.post(f"/api/admin/users/{sari.username}/verify", body).status_code == 403
    admin = wallet_client.admin()
    assert admin.post("/api/admin/users/nobody_here/verify", body).status_code == 404
    fake_line = {**body, "full_name": "Sari\nVerified: yes"}
    assert admin.post(f"/api/admin/users/{sari.username}/verify", fake_line).status_code == 422
    extra = {**body, "tier": "verified"}
    assert admin.post(f"/api/admin/users/{sari.username}/verify", extra).status_code == 422


def test_unverify_lowers_the_cap_keeps_the_money_and_stops_credits(wallet_client: WalletClient) -> None:
    sari = wallet_client.user(verified=True)
    assert wallet_client.admin_money("deposit", sari.username, 5_000_000).status_code == 201
    admin = wallet_client.admin()
    lowered = admin.post(f"/api/admin/users/{sari.username}/unverify", {"reason": "KTP photo was forged"})
    assert lowered.status_code == 200, lowered.text
    assert lowered.json()["limits"]["tier"] == "unverified" and lowered.json()["verification"] is None
    assert lowered.json()["limits"]["can_receive"] == 0
    assert sari.balance() == 5_000_000  # nothing is taken away
    refused = wallet_client.admin_money("deposit", sari.username, 1)
    assert refused.status_code == 409 and refused.json()["code"] == "receive_cap_unverified"
    assert (
        wallet_client.admin_money("withdraw", sari.username, 3_500_000).status_code == 201
    )  # spending still works
    assert (
        wallet_client.admin_money("deposit", sari.username, 500_000).status_code == 201
    )  # under the cap again
    events = admin.get("/api/admin/audit").json()["items"]
    assert any(e["action"] == "unverify" and e["details"]["reason"] == "KTP photo was forged" for e in events)


def test_a_reversal_is_exempt_from_the_cap(wallet_client: WalletClient) -> None:
    budi, sari = wallet_client.user(1_500_000), wallet_client.user()
    sent = budi.transfer(sari.username, 1_000_000)
    assert sent.status_code == 201
    assert (
        wallet_client.admin_money("deposit", budi.username, 1_500_000).status_code == 201
    )  # budi is at his cap
    reversed_ = wallet_client.admin().post(
        f"/api/admin/ledger/{sent.json()['id']}/reverse", {"reason": "sent by mistake"}, key=new_key()
    )
    assert reversed_.status_code == 201, reversed_.text
    assert (budi.balance(), sari.balance()) == (3_000_000, 0)  # above the cap: his own money back
    assert budi.get("/api/user").json()["limits"]["can_receive"] == 0
    assert wallet_client.admin().get("/api/admin/reconcile").json()["ok"]


def test_the_monthly_incoming_cap(wallet_client: WalletClient) -> None:
    sari = wallet_client.user(verified=True)
    for _ in range(2):  # 40 000 000 in, spent as it comes
        assert wallet_client.admin_money("deposit", sari.username, VERIFIED_CAP).status_code == 201
        assert wallet_client.admin_money("withdraw", sari.username, VERIFIED_CAP).status_code == 201
    me = sari.get("/api/user").json()["limits"]
    assert me["incoming_this_month"] == MONTHLY_CAP and me["can_receive"] == 0
    refused = wallet_client.admin_money("deposit", sari.username, 1)
    assert refused.status_code == 409 and refused.json()["code"] == "receive_monthly_cap", refused.text
    assert "this month" in refused.json()["detail"]
    budi = wallet_client.user(10_000)
    asked = budi.post("/api/processing", {"action": "transfer", "recipient": sari.username, "amount": 1})
    assert asked.status_code == 409 and asked.json()["code"] == "receive_monthly_cap"


def jakarta_ms(year: int, month: int, day: int, hour: int, minute: int) -> int:
    """Epoch ms of a wall-clock time in Asia/Jakarta."""
    return int(datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Jakarta")).timestamp() * 1000)


def test_the_monthly_cap_resets_on_the_first_in_jakarta(
    wallet_client: WalletClient, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger: Ledger = wallet_of(client).ledger
    clock = {"now": jakarta_ms(2026, 12, 31, 23, 50)}
    monkeypatch.setattr(ledger, "clock", lambda: clock["now"])
    sari = wallet_client.user(verified=True)
    for _ in range(2):
        assert wallet_client.admin_money("deposit", sari.username, VERIFIED_CAP).status_code == 201
        assert wallet_client.admin_money("withdraw", sari.username, VERIFIED_CAP).status_code == 201
    assert wallet_client.admin_money("deposit", sari.username, 1).json()["code"] == "receive_monthly_cap"
    assert sari.get("/api/user").json()["limits"]["month"] == "2026-12"
    # 00:10 on 1 January in Jakarta is still 31 December in UTC: the month is Jakarta's
    clock["now"] = jakarta_ms(2027, 1, 1, 0, 10)
    assert datetime.fromtimestamp(clock["now"] / 1000, UTC).day == 31
    me = sari.get("/api/user").json()["limits"]
    assert me["month"] == "2027-01" and me["incoming_this_month"] == 0 and me["can_receive"] == VERIFIED_CAP
    assert wallet_client.admin_money("deposit", sari.username, 1_000_000).status_code == 201
    assert sari.get("/api/user").json()["limits"]["incoming_this_month"] == 1_000_000


def test_a_change_of_cap_applies_to_existing_accounts_at_start(
    wallet_client: WalletClient, client: TestClient
) -> None:
    sari = wallet_client.user(1_500_000)
    wallet = wallet_of(client)
    wallet.settings.balance_cap_unverified = 1_000_000  # lowered by the operator, then a restart
    assert wallet.ledger.apply_caps() >= 1
    me = sari.get("/api/user").json()["limits"]
    assert me["balance_cap"] == 1_000_000 and me["can_receive"] == 0 and sari.balance() == 1_500_000
    wallet.settings.balance_cap_unverified = 3_000_000
    wallet.ledger.apply_caps()
    assert sari.get("/api/user").json()["limits"]["can_receive"] == 1_500_000
    assert wallet.ledger.apply_caps() == 0  # nothing left to change


def test_accounts_older_than_the_limits_get_their_fields(
    wallet_client: WalletClient, client: TestClient
) -> None:
    sari = wallet_client.user(700_000)
    store = wallet_of(client).store
    fields = {"tier": "", "cap": "", "room": "", "holds": "", "month": "", "month_in": ""}
    store.users.update_one({"_id": sari.username}, {"$unset": fields})  # as the old code made it
    store.counters.delete_one({"_id": "migration:limits"})
    assert wallet_of(client).ledger.apply_caps() >= 1
    me = sari.get("/api/user").json()["limits"]
    assert me["tier"] == "unverified" and me["can_receive"] == UNVERIFIED_CAP - 700_000
    assert wallet_client.admin_money("deposit", sari.username, UNVERIFIED_CAP - 700_000).status_code == 201


def test_max_balance_is_refused_not_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_BALANCE", "1000000000000")
    with pytest.raises(ValueError, match="BALANCE_CAP_UNVERIFIED"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_verify_routes_are_in_the_api_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    verify = spec["paths"]["/api/admin/users/{username}/verify"]["post"]
    assert "NIK" in verify["description"]
    assert set(spec["components"]["schemas"]["VerifyForm"]["required"]) == {
        "full_name",
        "nik",
        "date_of_birth",
    }
    assert "/api/admin/users/{username}/unverify" in spec["paths"]
    assert "payee" in spec["components"]["schemas"]["ErrorBody"]["properties"]

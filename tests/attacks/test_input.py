"""Input: bad amounts, oversized bodies, look-alike usernames, control characters, operator injection."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.test_auth import signup
from tests.support.wallet_client import WalletClient, new_key, unique_name


@pytest.mark.parametrize(
    "username",
    [
        "ab",
        "a" * 33,
        "has space",
        "dash-name",
        "ünïcode",
        "аdmin",
        "ＡＢＣＤ",
        "\u212aelvin",
        "code",
        "",
    ],
)
def test_signup_refuses_bad_usernames(client: TestClient, username: str) -> None:
    assert signup(client, username) == 422


def test_usernames_are_unique_case_insensitively(client: TestClient) -> None:
    name = unique_name("Case")
    assert signup(client, name) == 201
    assert signup(client, name.upper()) == 409
    assert signup(client, name.lower()) == 409


def test_signup_refuses_operator_injection(client: TestClient) -> None:
    body = {"username": {"$gt": ""}, "password": {"$gt": ""}, "name": "x"}
    assert client.post("/api/auth/signup", json=body).status_code == 422
    signin = client.post("/api/auth/signin", json={"username": {"$gt": ""}, "password": {"$gt": ""}})
    assert signin.status_code == 422


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", 10**30, True, None, "１２３"])
def test_bad_amounts_are_refused(wallet_client: WalletClient, amount: object) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    body = {"recipient": bob.username, "amount": amount, "otp": "123456"}
    response = alice.post("/api/transfer", body, key=new_key())
    assert response.status_code == 422
    otp = alice.post("/api/processing", {"action": "transfer", "recipient": bob.username, "amount": amount})
    assert otp.status_code == 422


def test_description_with_control_characters_is_refused(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    response = alice.transfer(bob.username, 100, description="hi\x00\x07 <b>there</b>")
    assert response.status_code == 422
    ok = alice.transfer(bob.username, 100, description="hi <b>there</b> 👨\u200d👩\u200d👧")
    assert ok.status_code == 201 and ok.json()["description"] == "hi <b>there</b> 👨\u200d👩\u200d👧"


@pytest.mark.parametrize(
    "fake",
    ["Makan\nAmount: Rp1", "Makan\u2028Amount: Rp1", "Makan \u202eRp1", "Kas\u2066Rp1\u2069", "a\tb"],
)
def test_fake_lines_in_bill_names_and_descriptions_are_refused(
    wallet_client: WalletClient, fake: str
) -> None:
    """Regression: bill names and descriptions kept line breaks and bidi controls, so an issuer
    could put a fake "Amount: Rp1" line into the payer's bill notice."""
    issuer, payer = wallet_client.user(), wallet_client.user()
    as_name = issuer.bill(payer.username, 5_000, name=fake)
    assert as_name.status_code == 422, fake
    as_description = issuer.bill(payer.username, 5_000, description=fake)
    assert as_description.status_code == 422, fake


def test_oversized_body_is_refused(wallet_client: WalletClient) -> None:
    alice = wallet_client.user()
    response = alice.post("/api/transfer", content=b"{" + b" " * (10 * 1024 * 1024) + b"}", key=new_key())
    assert response.status_code == 413


@pytest.mark.parametrize(
    "path", ['/api/user/{"$gt":""}', "/api/user/transfer/%24gt", "/api/bill/code/%7B%24ne%3A1%7D"]
)
def test_operator_strings_in_paths_find_nothing(wallet_client: WalletClient, path: str) -> None:
    alice = wallet_client.user()
    assert alice.get(path).status_code in (403, 404, 422)


def test_operator_objects_in_bodies_are_refused(wallet_client: WalletClient) -> None:
    alice = wallet_client.user(10_000)
    for body in (
        {"recipient": {"$ne": ""}, "amount": 1, "otp": "123456"},
        {"recipient": "bob", "amount": {"$gt": 0}, "otp": "123456"},
        {"recipient": "bob", "amount": 1, "otp": {"$regex": ".*"}},
    ):
        assert alice.post("/api/transfer", body, key=new_key()).status_code == 422
    assert alice.balance() == 10_000


def test_unknown_fields_are_refused_not_ignored(wallet_client: WalletClient, client: TestClient) -> None:
    body = {
        "username": unique_name(),
        "password": "password-123",
        "name": "x",
        "balance": 10**9,
        "role": "admin",
    }
    assert client.post("/api/auth/signup", json=body).status_code == 422


def test_html_in_names_is_stored_as_text(wallet_client: WalletClient, client: TestClient) -> None:
    name = unique_name()
    assert signup(client, name) == 201
    alice = wallet_client.signin(name)
    assert alice.get(f"/api/user/{name}").json()["name"] == "Someone"
    payer = wallet_client.user()
    bill = alice.bill(payer.username, 100, name="<script>alert(1)</script>").json()
    assert bill["bill_name"] == "<script>alert(1)</script>"


def test_malformed_json_is_a_422(wallet_client: WalletClient) -> None:
    alice = wallet_client.user()
    response = alice.http.post(
        "/api/transfer",
        content=b"{not json",
        headers={**alice.headers, "Idempotency-Key": new_key(), "content-type": "application/json"},
    )
    assert response.status_code == 422


def test_bad_idempotency_keys_are_refused(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    for key in ("x" * 101, "bad key", "ключ"):
        code = alice.otp("transfer", recipient=bob.username, amount=100)
        body = {"recipient": bob.username, "amount": 100, "otp": code}
        headers = {**alice.headers, "Idempotency-Key": key}
        try:
            response = alice.http.post("/api/transfer", json=body, headers=headers)
        except UnicodeEncodeError:  # httpx itself refuses non-ASCII headers
            continue
        assert response.status_code == 422
    assert alice.balance() == 10_000

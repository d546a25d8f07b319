"""OTPs: replay, wrong action, other amount or payee, expiry, guessing, another user's code."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.wallet_client import WalletClient, new_key


def db(client: TestClient):  # noqa: ANN201 - the Store of the app under test
    """The store behind the test app."""
    return client.app.state.wallet.store  # type: ignore[attr-defined]


def test_otp_replay_is_refused(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    code = alice.otp("transfer", recipient=bob.username, amount=1_000)
    assert alice.transfer(bob.username, 1_000, otp=code).status_code == 201
    replay = alice.transfer(bob.username, 1_000, otp=code)
    assert replay.status_code == 400 and replay.json()["code"] == "otp_missing"
    assert alice.balance() == 9_000


def test_otp_for_another_amount_or_payee_is_refused(wallet_client: WalletClient) -> None:
    alice, bob, carol = wallet_client.user(10_000), wallet_client.user(), wallet_client.user()
    code = alice.otp("transfer", recipient=bob.username, amount=1_000)
    other_amount = alice.transfer(bob.username, 9_000, otp=code)
    other_payee = alice.transfer(carol.username, 1_000, otp=code)
    assert other_amount.status_code == other_payee.status_code == 400
    assert other_amount.json()["code"] == "otp_invalid"
    assert alice.balance() == 10_000 and carol.balance() == 0


def test_sixth_wrong_guess_is_locked_even_with_the_right_code(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    code = alice.otp("transfer", recipient=bob.username, amount=1_000)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    answers = [alice.transfer(bob.username, 1_000, otp=wrong).json()["code"] for _ in range(5)]
    assert answers == ["otp_invalid"] * 4 + ["otp_locked"]
    sixth = alice.transfer(bob.username, 1_000, otp=code)
    assert sixth.status_code == 400 and sixth.json()["code"] == "otp_locked"
    assert alice.balance() == 10_000


def test_expired_otp_is_refused(wallet_client: WalletClient, client: TestClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    code = alice.otp("transfer", recipient=bob.username, amount=1_000)
    db(client).otps.update_many({"username": alice.username}, {"$set": {"expires_at": 0}})
    response = alice.transfer(bob.username, 1_000, otp=code)
    assert response.status_code == 400 and response.json()["code"] == "otp_expired"


def test_otp_of_one_user_is_useless_to_another(wallet_client: WalletClient) -> None:
    alice, mallory, bob = (
        wallet_client.user(10_000),
        wallet_client.user(10_000),
        wallet_client.user(),
    )
    code = alice.otp("transfer", recipient=bob.username, amount=1_000)
    response = mallory.transfer(bob.username, 1_000, otp=code)
    assert response.status_code == 400
    assert mallory.balance() == 10_000 and bob.balance() == 0


def test_otp_requests_are_rate_limited(wallet_client: WalletClient) -> None:
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    body = {"action": "transfer", "recipient": bob.username, "amount": 100}
    statuses = [alice.post("/api/processing", body).status_code for _ in range(6)]
    assert statuses == [202] * 5 + [429]


def test_otp_for_another_action_is_refused(wallet_client: WalletClient) -> None:
    issuer, payer = wallet_client.user(), wallet_client.user(50_000)
    bill_otp = issuer.otp("create_bill", payer=payer.username, amount=1_000)
    response = issuer.post(
        "/api/transfer", {"recipient": payer.username, "amount": 1_000, "otp": bill_otp}, key=new_key()
    )
    assert response.status_code == 400 and response.json()["code"] == "otp_missing"
    code = issuer.bill(payer.username, 5_000).json()["bill_code"]
    transfer_otp = payer.otp("transfer", recipient=issuer.username, amount=5_000)
    pay = payer.post(f"/api/bill/{code}/pay", {"otp": transfer_otp}, key=new_key())
    assert pay.status_code == 400 and payer.balance() == 50_000


def test_brute_force_across_many_requests_is_bounded(wallet_client: WalletClient) -> None:
    """Each code allows 5 guesses and only 5 codes may be requested per window: ≤ 25 guesses."""
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    body = {"action": "transfer", "recipient": bob.username, "amount": 100}
    guesses = 0
    for _ in range(8):
        if alice.post("/api/processing", body).status_code != 202:
            break
        for guess in range(5):
            response = alice.post(
                "/api/transfer",
                {"recipient": bob.username, "amount": 100, "otp": f"{guesses + guess:06d}"},
                key=new_key(),
            )
            assert response.status_code in (201, 400)
        guesses += 5
    assert guesses == 25
    assert alice.post("/api/processing", body).status_code == 429


def test_otp_is_never_logged_outside_the_log_channel(wallet_client: WalletClient, caplog) -> None:  # noqa: ANN001
    alice, bob = wallet_client.user(10_000), wallet_client.user()
    code = alice.otp("transfer", recipient=bob.username, amount=100)
    alice.transfer(bob.username, 100, otp=code)
    lines = [r.getMessage() for r in caplog.records if code in r.getMessage()]
    assert all(line.startswith("otp username=") for line in lines)


def test_no_code_is_issued_for_what_can_be_known_to_fail(
    wallet_client: WalletClient, client: TestClient
) -> None:
    """Regression: an OTP was issued for a transfer over the per-transfer limit and then burned by
    the refusal, costing one of the user's 5 codes per 10 minutes."""
    limit = client.app.state.wallet.settings.max_transfer_amount  # type: ignore[attr-defined]
    alice, bob = wallet_client.user(1_000), wallet_client.user()
    asks = {
        "over the per-transfer limit": {"action": "transfer", "recipient": bob.username, "amount": limit + 1},
        "more than the balance": {"action": "transfer", "recipient": bob.username, "amount": 1_001},
        "a bill its payer can never pay": {
            "action": "create_bill",
            "payer": bob.username,
            "amount": limit + 1,
        },
        "an unknown payee": {"action": "transfer", "recipient": "nobody_here", "amount": 100},
    }
    for why, body in asks.items():
        refused = alice.post("/api/processing", body)
        assert refused.status_code in (404, 409, 422), why
    assert db(client).otps.count_documents({"username": alice.username}) == 0  # no code was made
    for _ in range(5):  # and none of the refusals used up one of the 5 codes of the window
        assert (
            alice.post(
                "/api/processing", {"action": "transfer", "recipient": bob.username, "amount": 10}
            ).status_code
            == 202
        )


def test_a_refusal_nobody_could_foresee_does_not_use_the_code(wallet_client: WalletClient) -> None:
    """The balance dropped between the code and the payment: refused, and the same code still
    pays once the money is back (with a new Idempotency-Key)."""
    alice, bob = wallet_client.user(5_000), wallet_client.user()
    code = alice.otp("transfer", recipient=bob.username, amount=4_000)
    admin = wallet_client.admin()
    taken = admin.post(
        f"/api/admin/users/{alice.username}/withdraw", {"amount": 2_000, "reference": "t"}, key=new_key()
    )
    assert taken.status_code == 201, taken.text
    refused = alice.transfer(bob.username, 4_000, otp=code)
    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_funds"
    wallet_client.deposit(alice.username, 2_000)
    assert alice.transfer(bob.username, 4_000, otp=code).status_code == 201
    assert alice.transfer(bob.username, 4_000, otp=code).json()["code"] == "otp_missing"  # once only
    assert alice.balance() == 1_000 and bob.balance() == 4_000

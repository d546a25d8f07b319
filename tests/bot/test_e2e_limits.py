"""End to end: the e-money limits as a user meets them in the chat — /limits and /me show the tier
and what can still come in; a transfer the payee's cap refuses is refused in words, before any
code is made, and the flow asks for another amount."""

from __future__ import annotations

from typing import Any

from tests.bot.scenario import admin_call, confirm_and_type_otp, deposit_seen, is_otp_dm, start_transfer
from tests.fakes.telegram_api import FakeTelegram
from tests.support.wallet_client import TEST_BIRTH, TEST_NIK


async def test_limits_and_a_payee_at_its_cap(telegram: FakeTelegram, two_users: dict[str, Any]) -> None:
    alice, bob, bob_name = two_users["alice"], two_users["bob"], two_users["bob_name"]
    backend = two_users["backend"]
    telegram.send_text(alice, "/limits")
    shown = await telegram.wait_for(alice, "You can still receive")
    assert "Unverified account" in shown.body and "Rp2.000.000" in shown.body, shown.body
    assert "your balance is Rp500.000" in shown.body and "Rp1.500.000" in shown.body
    assert "Rp40.000.000" in shown.body and "KTP" in shown.body

    await deposit_seen(telegram, bob, backend, bob_name, 1_980_000)  # room left: Rp20.000
    summary = await start_transfer(telegram, alice, bob_name, "50rb")
    telegram.press(alice, summary.data_of("Confirm"), message_id=summary.message_id)
    refused = await telegram.wait_for(alice, "cannot receive that much yet")
    assert f"@{bob_name}'s wallet" in refused.body and "verify their account" in refused.body
    await telegram.wait_for(alice, "How much")  # back at the amount step, nothing was charged
    assert not any(is_otp_dm(sent) for sent in telegram.sent(alice))  # no code was made
    telegram.send_text(alice, "20rb")
    await telegram.wait_for(alice, "description")
    telegram.send_text(alice, "/skip")
    await confirm_and_type_otp(telegram, alice)
    await telegram.wait_for(alice, "Sent Rp20.000")

    telegram.send_text(bob, "/limits")
    full = await telegram.wait_for(bob, "You can still receive")
    assert "You can still receive: Rp0." in full.body, full.body
    body = {"full_name": "Bob Santoso", "nik": TEST_NIK, "date_of_birth": TEST_BIRTH}
    verified = admin_call(backend, "POST", f"/api/admin/users/{bob_name}/verify", json=body)
    assert verified.status_code == 200, verified.text
    telegram.send_text(bob, "/me")
    me = await telegram.wait_for(bob, "Verified account")
    assert "holds up to Rp20.000.000" in me.body and "Rp2.000.000" in me.body, me.body

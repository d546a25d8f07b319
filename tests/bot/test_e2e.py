"""End to end: the real bot polling the fake Telegram server, talking to the real backend, which
DMs OTPs and notices through the same fake server. Skipped when the backend cannot start."""

from __future__ import annotations

import uuid
from typing import Any

from tests.bot.scenario import (
    balance_of,
    confirm_and_type_otp,
    issue_bill,
    otp_and_prompt,
    start_bill,
    start_transfer,
    transfer,
)
from tests.fakes.telegram_api import FakeTelegram


async def test_transfer_with_the_otp_from_the_dm(telegram: FakeTelegram, two_users: dict[str, Any]) -> None:
    alice, bob = two_users["alice"], two_users["bob"]
    telegram.send_text(alice, "/transfer")
    await telegram.wait_for(alice, "Who")
    telegram.send_text(alice, "nobody_" + uuid.uuid4().hex[:6])
    await telegram.wait_for(alice, "no user")
    telegram.send_text(alice, two_users["bob_name"])
    await telegram.wait_for(alice, "Recipient: Bob Santoso")
    telegram.send_text(alice, "lima puluh")
    await telegram.wait_for(alice, "not an amount")
    telegram.send_text(alice, "Rp 600.000")
    await telegram.wait_for(alice, "more than your balance")
    telegram.send_text(alice, "50rb")
    await telegram.wait_for(alice, "description")
    telegram.send_text(alice, "makan siang")
    otp_id = await confirm_and_type_otp(telegram, alice)
    done = await telegram.wait_for(alice, "Sent Rp50.000")
    assert "Rp450.000" in done.body
    assert otp_id in telegram.deleted(alice)
    await telegram.wait_for(bob, "50.000")  # the backend tells the recipient
    assert await balance_of(telegram, bob) == "Rp50.000"


async def test_bill_paid_with_the_pay_button_once_despite_double_presses(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, bob = two_users["alice"], two_users["bob"]
    summary = await start_bill(
        telegram, bob, two_users["alice_name"], "75.000", what="Nasi goreng", skip="Skip"
    )
    await confirm_and_type_otp(telegram, bob, summary)
    created = await telegram.wait_for(bob, "created")
    assert "?start=pay_" in created.body
    qr = await telegram.wait_for(bob, lambda s: s.method == "sendPhoto")
    assert qr.photo is not None and qr.photo.startswith(b"\x89PNG")
    notice = await telegram.wait_for(alice, lambda s: any(d.startswith("bill:pay:") for _, d in s.buttons))
    pay = (
        notice.data_of("Pay") if any("Pay" in label for label, _ in notice.buttons) else notice.buttons[0][1]
    )
    telegram.press(alice, pay, message_id=notice.message_id)
    telegram.press(alice, pay, message_id=notice.message_id)  # pressed twice
    await confirm_and_type_otp(telegram, alice, presses=2)
    await telegram.wait_for(alice, "Paid Rp75.000")
    telegram.press(alice, pay, message_id=notice.message_id)  # and again after it was paid
    await telegram.wait_for(alice, "cannot be paid")
    assert await balance_of(telegram, alice) == "Rp425.000"
    assert await balance_of(telegram, bob) == "Rp75.000"


async def test_login_survives_a_restart(telegram: FakeTelegram, two_users: dict[str, Any]) -> None:
    alice = two_users["alice"]
    await two_users["runner"].restart()
    assert await balance_of(telegram, alice) == "Rp500.000"
    telegram.send_text(alice, "/logout")
    await telegram.wait_for(alice, "logged out")
    telegram.send_text(alice, "/me")
    await telegram.wait_for(alice, "/login")


async def test_five_wrong_otps_lock(telegram: FakeTelegram, two_users: dict[str, Any]) -> None:
    alice = two_users["alice"]
    summary = await start_transfer(telegram, alice, two_users["bob_name"], "10000")
    telegram.press(alice, summary.data_of("Confirm"))
    real = await otp_and_prompt(telegram, alice)
    wrong = "000000" if real != "000000" else "111111"
    replies = []
    for _ in range(6):  # five wrong codes are allowed to fail; the lock shows by the sixth
        telegram.send_text(alice, wrong)
        replies.append((await telegram.next_message(alice)).body)
        if "Too many" in replies[-1]:
            break
    assert "Too many wrong codes" in replies[-1], replies
    assert all("Wrong code" in reply for reply in replies[:-1]) and len(replies) in (5, 6)
    telegram.send_text(alice, real)  # the flow is over: the right code no longer pays
    await telegram.wait_for(alice, "/help")
    assert await balance_of(telegram, alice) == "Rp500.000"


async def test_pay_by_code_and_by_deep_link_decline_and_cancel(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, bob = two_users["alice"], two_users["bob"]
    by_code = await issue_bill(telegram, bob, two_users["alice_name"], "10rb")
    by_link = await issue_bill(telegram, bob, two_users["alice_name"], "20rb")
    declined = await issue_bill(telegram, bob, two_users["alice_name"], "30rb")
    cancelled = await issue_bill(telegram, bob, two_users["alice_name"], "40rb")

    telegram.send_text(alice, "/pay")
    await telegram.wait_for(alice, "bill code")
    telegram.send_text(alice, "NOSUCHCODE")
    await telegram.wait_for(alice, "no bill with that code")
    telegram.send_text(alice, by_code)
    await confirm_and_type_otp(telegram, alice)
    await telegram.wait_for(alice, f"Paid Rp10.000 for bill {by_code}")

    telegram.send_text(alice, f"/start pay_{by_link}")
    await confirm_and_type_otp(telegram, alice)
    await telegram.wait_for(alice, f"Paid Rp20.000 for bill {by_link}")

    telegram.send_text(alice, "/bills")
    line = await telegram.wait_for(alice, declined)
    telegram.press(alice, line.data_of("Decline"), message_id=line.message_id)
    await telegram.wait_until(lambda: any("You declined" in s.body for s in telegram.sent(alice)))

    telegram.send_text(bob, "/bills")
    issued = await telegram.wait_for(bob, lambda s: cancelled in s.body and s.buttons)
    telegram.press(bob, issued.data_of("Cancel"), message_id=issued.message_id)
    await telegram.wait_until(lambda: any("is cancelled" in s.body for s in telegram.sent(bob)))

    telegram.send_text(alice, f"/pay {cancelled}")
    await telegram.wait_for(alice, "cannot be paid")
    assert await balance_of(telegram, alice) == "Rp470.000"
    assert await balance_of(telegram, bob) == "Rp30.000"


async def test_history_pages(telegram: FakeTelegram, two_users: dict[str, Any]) -> None:
    alice = two_users["alice"]
    for amount in ("1000", "2000", "3000", "4000", "5000", "6000"):
        await transfer(telegram, alice, two_users["bob_name"], amount, "Sent")
    telegram.send_text(alice, "/history")
    page = await telegram.wait_for(alice, "page 1")
    assert "Transfer · -Rp6.000" in page.body and "Deposit" not in page.body
    telegram.press(alice, page.data_of("Older"), message_id=page.message_id)
    await telegram.wait_until(
        lambda: (
            "page 2" in telegram.sent(alice)[-1].body or any("page 2" in s.body for s in telegram.sent(alice))
        )
    )
    older = next(s for s in telegram.sent(alice) if s.message_id == page.message_id)
    assert "Deposit · +Rp500.000" in older.body


async def test_transfer_and_bill_ask_for_the_other_party_alike(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, alice_name, bob_name = two_users["alice"], two_users["alice_name"], two_users["bob_name"]
    telegram.send_text(alice, "/transfer")
    await telegram.wait_for(alice, "Who do you want to send money to")
    telegram.send_text(alice, "@" + alice_name.upper())
    await telegram.wait_for(alice, "You cannot send money to yourself")
    telegram.send_text(alice, bob_name)
    await telegram.wait_for(alice, "Recipient: Bob Santoso")
    await telegram.wait_for(alice, "How much")

    telegram.send_text(alice, "/bill")
    await telegram.wait_for(alice, "What is the bill for")
    telegram.send_text(alice, "Patungan")
    await telegram.wait_for(alice, "Who should pay")
    telegram.send_text(alice, "x")
    await telegram.wait_for(alice, "A username has 3–32 characters")
    telegram.send_text(alice, alice_name)
    await telegram.wait_for(alice, "You cannot bill yourself")
    telegram.send_text(alice, "nobody_" + uuid.uuid4().hex[:6])
    await telegram.wait_for(alice, "no user")
    telegram.send_text(alice, "@" + bob_name)
    await telegram.wait_for(alice, "Payer: Bob Santoso")
    await telegram.wait_for(alice, "How much")

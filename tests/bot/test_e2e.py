"""End to end: the real bot polling the fake Telegram server, talking to the real backend, which
DMs OTPs and notices through the same fake server. Skipped when the backend cannot start."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.bot.conftest import BackendHandle
from tests.fakes.telegram_api import FakeTelegram

PASSWORD = "rahasia-123"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def deposit(backend: BackendHandle, username: str, amount: int) -> None:
    """Admin deposit through the backend's REST API."""
    with httpx.Client(base_url=backend.url, timeout=10) as http:
        token = getattr(backend.process, "admin_token", None)
        if token is None:
            signin = http.post(
                "/api/auth/signin", json={"username": "admin", "password": "admin-pass-123"}
            )
            assert signin.status_code == 200, signin.text
            token = signin.json()["accessToken"]
        response = http.post(
            f"/api/admin/users/{username}/deposit",
            json={"amount": amount, "reference": "e2e top-up"},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.text


async def register(telegram: FakeTelegram, chat: int, username: str, name: str) -> None:
    """/register through the bot, skipping email and phone."""
    telegram.send_text(chat, "/register")
    await telegram.wait_for(chat, "username")
    telegram.send_text(chat, username)
    await telegram.wait_for(chat, "name")
    telegram.send_text(chat, name)
    await telegram.wait_for(chat, "email")
    telegram.send_text(chat, "Skip")
    await telegram.wait_for(chat, "phone")
    telegram.send_text(chat, "/skip")
    await telegram.wait_for(chat, "password")
    password_id = telegram.send_text(chat, PASSWORD)
    await telegram.wait_for(chat, f"@{username}")
    assert password_id in telegram.deleted(chat)


async def balance_of(telegram: FakeTelegram, chat: int) -> str:
    telegram.send_text(chat, "/me")
    return (await telegram.wait_for(chat, "Balance")).body.split("Balance: ")[1]


@pytest.fixture
async def two_users(
    telegram: FakeTelegram, bot_backend: BackendHandle, bot_factory: Any, new_chat: Any
) -> dict[str, Any]:
    """A running bot and two registered users, alice (Rp500.000) and bob (Rp0)."""
    runner = await bot_factory(bot_backend.url, bot_api_secret=bot_backend.bot_secret)
    alice, bob = new_chat("Alice"), new_chat("Bob")
    names = {"alice": unique("alice"), "bob": unique("bob")}
    await register(telegram, alice, names["alice"], "Alice Wijaya")
    await register(telegram, bob, names["bob"], "Bob Santoso")
    deposit(bot_backend, names["alice"], 500_000)
    return {
        "runner": runner,
        "alice": alice,
        "bob": bob,
        **{f"{k}_name": v for k, v in names.items()},
    }


async def confirm_and_type_otp(telegram: FakeTelegram, chat: int, *, presses: int = 1) -> int:
    """Press Confirm under the newest summary, read the OTP DM, type it. → OTP message id"""
    summary = await telegram.wait_for(
        chat, lambda s: any(d.startswith("cf:") for _, d in s.buttons)
    )
    for _ in range(presses):
        telegram.press(chat, summary.data_of("Confirm"), message_id=summary.message_id)
    code = await telegram.read_otp(chat)
    return telegram.send_text(chat, code)


async def test_transfer_with_the_otp_from_the_dm(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
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
    telegram.send_text(bob, "/bill")
    await telegram.wait_for(bob, "What is the bill for")
    telegram.send_text(bob, "Nasi goreng")
    await telegram.wait_for(bob, "Who should pay")
    telegram.send_text(bob, two_users["alice_name"])
    await telegram.wait_for(bob, "How much")
    telegram.send_text(bob, "75.000")
    await telegram.wait_for(bob, "description")
    telegram.send_text(bob, "Skip")
    await confirm_and_type_otp(telegram, bob)
    created = await telegram.wait_for(bob, "created")
    assert "?start=pay_" in created.body
    qr = await telegram.wait_for(bob, lambda s: s.method == "sendPhoto")
    assert qr.photo is not None and qr.photo.startswith(b"\x89PNG")
    notice = await telegram.wait_for(
        alice, lambda s: any(d.startswith("bill:pay:") for _, d in s.buttons)
    )
    pay = (
        notice.data_of("Pay")
        if any("Pay" in label for label, _ in notice.buttons)
        else notice.buttons[0][1]
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
    telegram.send_text(alice, "/transfer")
    await telegram.wait_for(alice, "Who")
    telegram.send_text(alice, two_users["bob_name"])
    await telegram.wait_for(alice, "How much")
    telegram.send_text(alice, "10000")
    await telegram.wait_for(alice, "description")
    telegram.send_text(alice, "/skip")
    summary = await telegram.wait_for(
        alice, lambda s: any(d.startswith("cf:") for _, d in s.buttons)
    )
    telegram.press(alice, summary.data_of("Confirm"))
    real = await telegram.read_otp(alice)
    await telegram.wait_for(alice, "Type it here")
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


async def issue_bill(telegram: FakeTelegram, issuer: int, payer_name: str, amount: str) -> str:
    """/bill through the bot; → the bill code."""
    telegram.send_text(issuer, "/bill")
    await telegram.wait_for(issuer, "What is the bill for")
    telegram.send_text(issuer, "Patungan")
    await telegram.wait_for(issuer, "Who should pay")
    telegram.send_text(issuer, payer_name)
    await telegram.wait_for(issuer, "How much")
    telegram.send_text(issuer, amount)
    await telegram.wait_for(issuer, "description")
    telegram.send_text(issuer, "/skip")
    await confirm_and_type_otp(telegram, issuer)
    created = await telegram.wait_for(issuer, "created")
    return created.body.split("?start=pay_")[1].split()[0]


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
        telegram.send_text(alice, "/transfer")
        await telegram.wait_for(alice, "Who")
        telegram.send_text(alice, two_users["bob_name"])
        await telegram.wait_for(alice, "How much")
        telegram.send_text(alice, amount)
        await telegram.wait_for(alice, "description")
        telegram.send_text(alice, "/skip")
        await confirm_and_type_otp(telegram, alice)
        await telegram.wait_for(alice, "Sent")
    telegram.send_text(alice, "/history")
    page = await telegram.wait_for(alice, "page 1")
    assert "Transfer · -Rp6.000" in page.body and "Deposit" not in page.body
    telegram.press(alice, page.data_of("Older"), message_id=page.message_id)
    await telegram.wait_until(
        lambda: (
            "page 2" in telegram.sent(alice)[-1].body
            or any("page 2" in s.body for s in telegram.sent(alice))
        )
    )
    older = next(s for s in telegram.sent(alice) if s.message_id == page.message_id)
    assert "Deposit · +Rp500.000" in older.body


@pytest.mark.slow
async def test_reminders_once_per_interval_across_a_restart(
    telegram: FakeTelegram, bot_backend: BackendHandle, bot_factory: Any, new_chat: Any
) -> None:
    interval = 10  # the backend's minimum
    runner = await bot_factory(bot_backend.url, reminder_interval=interval, reminder_first=0.1)
    alice, bob = new_chat("Alice"), new_chat("Bob")
    alice_name, bob_name = unique("alice"), unique("bob")
    await register(telegram, alice, alice_name, "Alice")
    await register(telegram, bob, bob_name, "Bob")
    code = await issue_bill(telegram, bob, alice_name, "15rb")

    def reminders() -> list[Any]:
        return [s for s in telegram.sent(alice) if s.body.startswith("Reminder") and code in s.body]

    await asyncio.sleep(interval + 0.5)  # the bill is now due; restarting runs the job at once
    await runner.restart()
    await telegram.wait_until(lambda: len(reminders()) == 1, timeout=5)
    assert reminders()[0].data_of("Pay") == f"bill:pay:{code}"
    await runner.restart()  # a second process / a restart must not remind again this interval
    await asyncio.sleep(1.5)
    assert len(reminders()) == 1

"""End to end, what Telegram and users do beyond the happy path: updates delivered twice, the
contact button, a frozen account, and /lang reaching the backend's own messages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.conftest import BackendHandle
from tests.bot.scenario import (
    PASSWORD,
    TRANSFER_PROMPTS,
    admin_call,
    balance_of,
    is_otp_dm,
    is_summary,
    issue_bill,
    profile,
    start_register,
    start_transfer,
    unique,
)
from tests.fakes.telegram_api import FakeTelegram, Sent

OOPS = ("Something went wrong", "Terjadi kesalahan")


def no_errors_shown(telegram: FakeTelegram, chat: int) -> bool:
    """The chat never got the generic "something went wrong" sentence."""
    return not any(oops in s.body for s in telegram.sent(chat) for oops in OOPS)


def has_pay_button(sent: Sent) -> bool:
    """A bill notice or reminder with Pay / Decline under it."""
    return any(data.startswith("bill:pay:") for _, data in sent.buttons)


async def test_pay_and_confirm_delivered_twice_pay_once(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, bob = two_users["alice"], two_users["bob"]
    code = await issue_bill(telegram, bob, two_users["alice_name"], "25rb")
    notice = await telegram.wait_for(alice, lambda s: has_pay_button(s) and code in s.body)
    # the same update twice: same update_id, same callback query id
    telegram.press(alice, f"bill:pay:{code}", message_id=notice.message_id, copies=2)
    summary = await telegram.wait_for(alice, is_summary)
    telegram.press(alice, summary.data_of("Confirm"), message_id=summary.message_id)
    telegram.redeliver_last()  # the same press again under a new update_id
    otp = await telegram.read_otp(alice)
    telegram.send_text(alice, otp)
    telegram.redeliver_last()  # and the OTP message too
    await telegram.wait_for(alice, "Paid Rp25.000")
    await telegram.wait_for(alice, "did not understand")  # the second OTP: the flow is over
    await telegram.expect_silence(alice, 0.3)
    assert sum(s.body.startswith(f"Bill {code}:") for s in telegram.sent(alice)) == 1
    assert no_errors_shown(telegram, alice)
    assert await balance_of(telegram, alice) == "Rp475.000"
    assert await balance_of(telegram, bob) == "Rp25.000"


@pytest.mark.usefixtures("offline_bot")
async def test_double_tap_on_a_language_button(telegram: FakeTelegram, new_chat: Any) -> None:
    chat = new_chat()
    telegram.send_text(chat, "/lang")
    choose = await telegram.next_message(chat)
    first = telegram.press(chat, choose.data_of("Indonesia"), message_id=choose.message_id)
    second = telegram.press(chat, choose.data_of("Indonesia"), message_id=choose.message_id)
    await telegram.wait_until(lambda: {first, second} <= telegram.answered_ids())
    await telegram.expect_silence(chat, 0.3)
    assert choose.body == "Bahasa: Indonesia."
    assert no_errors_shown(telegram, chat)


async def test_register_with_the_contact_button(
    telegram: FakeTelegram, bot_backend: BackendHandle, bot_factory: Any, new_chat: Any
) -> None:
    await bot_factory(bot_backend.url)
    chat, username = new_chat("Citra"), unique("citra")
    await start_register(telegram, chat, username, "Citra Lestari")
    telegram.send_text(chat, "citra@example.com")
    prompt = await telegram.wait_for(chat, "phone number")
    assert prompt.reply_markup["keyboard"][0][0]["request_contact"] is True
    telegram.send_text(chat, "0812 3456 789")  # typed instead of shared: ask for the button
    again = await telegram.next_message(chat)
    assert "button" in again.body and again.reply_markup["keyboard"][0][0]["request_contact"]
    telegram.send_contact(chat, "+62 811 0000 000", user_id=chat + 1)  # somebody else's card
    assert "your own" in (await telegram.next_message(chat)).body
    telegram.send_contact(chat, "628123456789")
    ask_password = await telegram.wait_for(chat, "password")
    assert ask_password.reply_markup == {"remove_keyboard": True}
    password_id = telegram.send_text(chat, PASSWORD)
    await telegram.wait_for(chat, f"registered as @{username}")
    assert password_id in telegram.deleted(chat)
    user = profile(bot_backend, username)
    assert (user["contact"], user["email"], user["telegram_linked"]) == (
        "628123456789",
        "citra@example.com",
        True,
    )


async def test_frozen_account_is_told_before_typing_anything(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, backend, alice_name = two_users["alice"], two_users["backend"], two_users["alice_name"]
    frozen = admin_call(backend, "POST", f"/api/admin/users/{alice_name}/freeze")
    assert frozen.status_code == 200, frozen.text
    telegram.send_text(alice, "/transfer")
    answer = await telegram.next_message(alice)
    assert answer.body == "Your account is frozen: you can look, but not move money."
    telegram.send_text(alice, two_users["bob_name"])  # no flow is waiting for a recipient
    await telegram.wait_for(alice, "did not understand")

    admin_call(backend, "POST", f"/api/admin/users/{alice_name}/unfreeze")
    summary = await start_transfer(telegram, alice, two_users["bob_name"])
    admin_call(backend, "POST", f"/api/admin/users/{alice_name}/freeze")  # frozen mid-flow
    telegram.press(alice, summary.data_of("Confirm"), message_id=summary.message_id)
    refused = await telegram.wait_for(alice, "frozen")
    assert refused.body == "Your account is frozen: money cannot be moved."
    assert await balance_of(telegram, alice) == "Rp500.000"
    assert no_errors_shown(telegram, alice)


async def read_otp_dm(telegram: FakeTelegram, chat: int, recipient: str, lang: str) -> str:
    """A transfer up to the OTP DM, in the chat's language. → the DM's text"""
    prompts = {"en": TRANSFER_PROMPTS, "id": ("Kirim uang ke siapa", "Berapa", "keterangan")}[lang]
    summary = await start_transfer(telegram, chat, recipient, "10rb", prompts)
    telegram.press(chat, summary.buttons[0][1], message_id=summary.message_id)
    dm = await telegram.wait_for(chat, is_otp_dm)
    telegram.send_text(chat, "/cancel")
    await telegram.wait_for(chat, lambda s: "Nothing was charged" in s.body or "Dibatalkan" in s.body)
    return dm.body


async def choose_lang(telegram: FakeTelegram, chat: int, label: str, done: str) -> None:
    """/lang, then the button whose label contains `label`."""
    telegram.send_text(chat, "/lang")
    choose = await telegram.wait_for(chat, lambda s: bool(s.buttons))
    telegram.press(chat, choose.data_of(label), message_id=choose.message_id)
    await telegram.wait_until(lambda: choose.body == done)


async def test_lang_switch_changes_the_backends_otp_dm(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, backend, bob_name = two_users["alice"], two_users["backend"], two_users["bob_name"]
    assert (await read_otp_dm(telegram, alice, bob_name, "en")).startswith("🔐 Your Mata Duitan OTP")
    await choose_lang(telegram, alice, "Indonesia", "Bahasa: Indonesia.")
    assert profile(backend, two_users["alice_name"])["lang"] == "id"
    dm = await read_otp_dm(telegram, alice, bob_name, "id")
    assert dm.startswith("🔐 Kode OTP Mata Duitan") and "kirim Rp10.000" in dm
    await choose_lang(telegram, alice, "English", "Language: English.")
    assert (await read_otp_dm(telegram, alice, bob_name, "en")).startswith("🔐 Your Mata Duitan OTP")

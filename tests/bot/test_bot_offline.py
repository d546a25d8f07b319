"""The real Application against the fake Telegram server, with the backend down (or absent)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.telegram_api import FakeTelegram

pytestmark = pytest.mark.usefixtures("offline_bot")


async def test_startup_sets_the_command_menu_in_both_languages(telegram: FakeTelegram) -> None:
    english = [c["command"] for c in telegram.commands[""]]
    assert {
        "start",
        "transfer",
        "bill",
        "pay",
        "bills",
        "history",
        "lang",
        "help",
        "cancel",
    } <= set(english)
    assert "Kirim uang" in [c["description"] for c in telegram.commands["id"]]
    # in groups, the menu has what works there
    assert [c["command"] for c in telegram.group_commands[""]] == ["split", "dues", "tip", "help"]
    assert "Bagi tagihan" in telegram.group_commands["id"][0]["description"]


async def test_help_lists_every_command(telegram: FakeTelegram, new_chat: Any) -> None:
    chat = new_chat()
    telegram.send_text(chat, "/help")
    help_text = (await telegram.next_message(chat)).body
    for command in (
        "/register",
        "/login",
        "/logout",
        "/transfer",
        "/bill",
        "/pay",
        "/bills",
        "/history",
        "/lang",
        "/cancel",
    ):
        assert command in help_text


async def test_unknown_input_gets_a_hint_in_the_users_language(telegram: FakeTelegram, new_chat: Any) -> None:
    english, indonesian = new_chat(language_code="en-GB"), new_chat(language_code="id")
    telegram.send_text(english, "hello?")
    telegram.send_text(indonesian, "halo?")
    assert "/help" in (await telegram.next_message(english)).body
    assert "tidak mengerti" in (await telegram.next_message(indonesian)).body


async def test_start_when_logged_out_invites_to_register(telegram: FakeTelegram, new_chat: Any) -> None:
    chat = new_chat()
    telegram.send_text(chat, "/start")
    assert "/register" in (await telegram.next_message(chat)).body


async def test_money_commands_need_a_login(telegram: FakeTelegram, new_chat: Any) -> None:
    chat = new_chat()
    for command in ("/transfer", "/bill", "/pay ABCDEF1234", "/bills", "/history", "/me"):
        telegram.send_text(chat, command)
        assert "/login" in (await telegram.next_message(chat)).body, command


async def test_backend_down_mid_flow_ends_the_flow_politely(telegram: FakeTelegram, new_chat: Any) -> None:
    chat = new_chat()
    telegram.send_text(chat, "/login")
    await telegram.wait_for(chat, "username")
    telegram.send_text(chat, "budi")
    await telegram.wait_for(chat, "password")
    password_id = telegram.send_text(chat, "secret-password")
    answer = await telegram.next_message(chat)
    assert "try again later" in answer.body and "nothing was charged" in answer.body
    assert password_id in telegram.deleted(chat)
    telegram.send_text(chat, "anything")  # the flow is over: no half-finished login waits
    assert "/help" in (await telegram.next_message(chat)).body


async def test_cancel_leaves_any_flow(telegram: FakeTelegram, new_chat: Any) -> None:
    chat = new_chat(language_code="id")
    telegram.send_text(chat, "/register")
    await telegram.wait_for(chat, "username")
    telegram.send_text(chat, "/cancel")
    assert "Dibatalkan" in (await telegram.next_message(chat)).body
    telegram.send_text(chat, "/cancel")
    assert "Tidak ada yang perlu dibatalkan" in (await telegram.next_message(chat)).body


async def test_register_validates_each_step(telegram: FakeTelegram, new_chat: Any) -> None:
    chat = new_chat()
    telegram.send_text(chat, "/register")
    await telegram.wait_for(chat, "username")
    telegram.send_text(chat, "x!")
    assert "3–32" in (await telegram.next_message(chat)).body
    telegram.send_text(chat, "@Budi_99")
    assert "name" in (await telegram.next_message(chat)).body
    telegram.send_text(chat, "Budi Santoso")
    assert "email" in (await telegram.next_message(chat)).body.lower()
    telegram.send_text(chat, "not-an-email")
    assert "does not look like" in (await telegram.next_message(chat)).body
    telegram.send_text(chat, "Skip")
    contact_prompt = await telegram.next_message(chat)
    assert contact_prompt.reply_markup["keyboard"][0][0]["request_contact"] is True
    telegram.send_contact(chat, "+628123456789", user_id=1)  # somebody else's contact
    assert "your own" in (await telegram.next_message(chat)).body
    telegram.send_contact(chat, "+628123456789")
    assert "password" in (await telegram.next_message(chat)).body
    short_id = telegram.send_text(chat, "short")
    assert "8 characters" in (await telegram.next_message(chat)).body
    assert short_id in telegram.deleted(chat)


async def test_many_chats_are_served_concurrently_and_in_order(telegram: FakeTelegram, new_chat: Any) -> None:
    chats = [new_chat() for _ in range(20)]
    for chat in chats:
        telegram.send_text(chat, "/register")
        telegram.send_text(chat, "bad!")
        telegram.send_text(chat, "/cancel")
    for chat in chats:
        assert "Choose a username" in (await telegram.next_message(chat)).body
        assert "3–32" in (await telegram.next_message(chat)).body
        assert "Cancelled" in (await telegram.next_message(chat)).body


async def test_a_blocked_user_does_not_break_the_bot(telegram: FakeTelegram, new_chat: Any) -> None:
    blocked, other = new_chat(), new_chat()
    telegram.block(blocked)
    telegram.send_text(blocked, "/help")
    telegram.send_text(other, "/help")
    assert "/register" in (await telegram.next_message(other)).body
    telegram.block(blocked, False)
    telegram.send_text(blocked, "/help")
    assert "/register" in (await telegram.next_message(blocked)).body


async def test_stale_buttons_are_answered(telegram: FakeTelegram, new_chat: Any) -> None:
    chat = new_chat()
    query_id = telegram.press(chat, "cf:0123456789ab")
    await telegram.wait_until(lambda: query_id in telegram.answered_ids())


async def test_lang_switch(telegram: FakeTelegram, new_chat: Any) -> None:
    chat = new_chat(language_code="en")
    telegram.send_text(chat, "/lang")
    choose = await telegram.next_message(chat)
    telegram.press(chat, choose.data_of("Indonesia"))
    await telegram.wait_until(lambda: any("Bahasa: Indonesia" in s.body for s in telegram.sent(chat)))
    telegram.send_text(chat, "/cancel")
    assert "Tidak ada" in (await telegram.wait_for(chat, "Tidak ada")).body

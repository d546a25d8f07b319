"""End to end: the bot added to a group chat. Until the wallet has group features of its own, a
group only ever gets a pointer to the private chat: no flow starts there, no code, balance or
amount is sent there, and the member's private chat hears nothing of it (rule 6)."""

from __future__ import annotations

import re
from typing import Any

from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram

GROUP = -100_424_242  # group and supergroup ids are negative


async def test_a_group_gets_only_a_pointer_to_the_private_chat(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice = two_users["alice"]  # logged in, Rp500.000: /me in her private chat would show it
    telegram.chat(GROUP, "Kos Melati")
    for command in (
        "/me",
        f"/me@{BOT_USERNAME}",
        "/limits",
        "/transfer",
        "/login",
        "/history",
        "/bills",
        "/statement",
        "/insights",
    ):
        telegram.send_text(GROUP, command, sender=alice)
        pointer = await telegram.wait_for(GROUP, "private chat")
        assert f"https://t.me/{BOT_USERNAME}" in pointer.body, (command, pointer.body)
    telegram.send_text(GROUP, "makan malam jam 7 ya", sender=alice)  # ordinary talk: left alone
    await telegram.expect_silence(GROUP, 1.0)
    await telegram.expect_silence(alice, 0.5)  # nothing of it in her private chat either
    group_texts = [sent.body for sent in telegram.sent(GROUP)]
    assert len(group_texts) == 9
    for body in group_texts:  # no amount, no code, no balance ever reached the group
        assert "Rp" not in body and "500.000" not in body and not re.search(r"\b\d{6}\b", body), body
    telegram.send_text(alice, "/me")  # the private chat still works as before
    me = await telegram.wait_for(alice, "Balance:")
    assert "Rp500.000" in me.body

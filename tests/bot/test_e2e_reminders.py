"""End to end, bill reminders: once per interval per bill, whatever the number of bot processes,
and a payer who blocked the bot is skipped without stopping the others. Each test waits for a
real interval (10 s, the backend's minimum), so they are marked slow."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from tests.bot.conftest import BackendHandle
from tests.bot.scenario import issue_bill, register, unique
from tests.fakes.telegram_api import FakeTelegram, Sent

INTERVAL = 10  # seconds: the backend refuses shorter reminder intervals


def reminders_of(telegram: FakeTelegram, chat: int, code: str) -> list[Sent]:
    """The reminders of one bill that reached a chat."""
    return [s for s in telegram.sent(chat) if s.body.startswith("Reminder") and code in s.body]


async def payer_and_issuer(telegram: FakeTelegram, new_chat: Any) -> tuple[int, str, int]:
    """Register a payer and an issuer. → (payer chat, payer username, issuer chat)"""
    payer, issuer = new_chat("Payer"), new_chat("Issuer")
    payer_name = unique("payer")
    await register(telegram, payer, payer_name, "Payer")
    await register(telegram, issuer, unique("issuer"), "Issuer")
    return payer, payer_name, issuer


@pytest.mark.slow
async def test_reminders_once_per_interval_across_two_processes_and_a_restart(
    telegram: FakeTelegram,
    bot_backend: BackendHandle,
    bot_factory: Any,
    new_chat: Any,
    tmp_path: Any,
) -> None:
    timing = {"reminder_interval": INTERVAL, "reminder_first": 0.1}
    first_bot = await bot_factory(bot_backend.url, **timing)
    # a second process of the same bot: own persistence file, no long poll (Telegram allows one)
    await bot_factory(bot_backend.url, poll=False, data_dir=tmp_path / "bot2", **timing)
    payer, payer_name, issuer = await payer_and_issuer(telegram, new_chat)
    code = await issue_bill(telegram, issuer, payer_name, "15rb")
    created = time.monotonic()

    await telegram.wait_until(lambda: reminders_of(telegram, payer, code), timeout=INTERVAL + 5)
    first = time.monotonic()
    assert first - created >= INTERVAL - 1
    assert reminders_of(telegram, payer, code)[0].data_of("Pay") == f"bill:pay:{code}"
    await first_bot.restart()  # a restart looks at once: the bill was just reminded, so nothing
    await asyncio.sleep(2)  # both processes have looked again since
    assert len(reminders_of(telegram, payer, code)) == 1

    await telegram.wait_until(lambda: len(reminders_of(telegram, payer, code)) > 1, INTERVAL + 5)
    assert time.monotonic() - first >= INTERVAL - 1  # the next interval's reminder
    await asyncio.sleep(1.5)
    assert len(reminders_of(telegram, payer, code)) == 2


@pytest.mark.slow
async def test_reminder_to_a_payer_who_blocked_the_bot_is_skipped(
    telegram: FakeTelegram,
    bot_backend: BackendHandle,
    bot_factory: Any,
    new_chat: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.courier")
    await bot_factory(bot_backend.url, reminder_interval=INTERVAL, reminder_first=0.1)
    blocker, blocker_name, issuer = await payer_and_issuer(telegram, new_chat)
    payer, payer_name = new_chat("Other"), unique("other")
    await register(telegram, payer, payer_name, "Other")
    skipped = await issue_bill(telegram, issuer, blocker_name, "10rb")
    telegram.block(blocker)
    reminded = await issue_bill(telegram, issuer, payer_name, "20rb")

    await telegram.wait_until(lambda: reminders_of(telegram, payer, reminded), timeout=INTERVAL + 5)
    assert not reminders_of(telegram, blocker, skipped)
    blocked_lines = [
        r.getMessage() for r in caplog.records if f"chat {blocker} blocked the bot" in r.getMessage()
    ]
    assert blocked_lines and skipped in blocked_lines[0]
    telegram.send_text(issuer, "/help")  # the bot keeps running
    await telegram.wait_for(issuer, "/transfer")
    telegram.block(blocker, False)
    telegram.send_text(blocker, "/bills")
    await telegram.wait_for(blocker, skipped)  # the bill is still there to pay

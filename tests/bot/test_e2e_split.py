"""End to end in a group: a split with a live tally, a tip, an inline pay-me request, monthly dues.

Everything goes through the real Application and backend against the fake Bot API, which is as
strict as Telegram in groups (20 messages a minute, scaled), so the tallies' coalesced edits are
measured against it. No OTP and no balance may ever reach a group: asserted over every message.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from tests.bot.scenario import admin_call, deposit, is_summary, otp_and_prompt, profile, register, unique
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegram, Sent, start_payload

GROUP = -100_515_151


async def text_of(
    telegram: FakeTelegram,
    chat: int,
    message_id: int,
    predicate: Callable[[str], bool],
    timeout: float = 30.0,
) -> Sent:
    """Wait until message `message_id` of the chat (edited as things change) satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    while True:
        sent = next(s for s in telegram.sent(chat) if s.message_id == message_id)
        if predicate(sent.body):
            return sent
        if time.monotonic() > deadline:
            raise AssertionError(f"message {message_id} never matched; it says:\n{sent.body}")
        await asyncio.sleep(0.1)


async def people(
    telegram: FakeTelegram, bot_backend: Any, bot_factory: Any, new_chat: Any, names: list[str]
) -> dict[str, dict[str, Any]]:
    """A running bot and these people registered through it (chat id, username), Rp500.000 each
    (the bot's runner is under "runner")."""
    runner = await bot_factory(bot_backend.url, bot_api_secret=bot_backend.bot_secret, dues_check_seconds=0.5)
    out: dict[str, Any] = {"runner": runner}
    for name in names:
        chat, username = new_chat(name), unique(name.lower())
        await register(telegram, chat, username, f"{name} Test")
        deposit(bot_backend, username, 500_000)
        out[name] = {"chat": chat, "username": username}
    return out


def assert_nothing_secret(telegram: FakeTelegram, chat: int) -> None:
    """No OTP, no balance ever went to this group or any other (every message and every edit the
    fake recorded), and no group got more than 20 messages a minute."""
    groups = [chat_id for chat_id in list(telegram.chats) if chat_id < 0]
    assert chat in groups
    for group in groups:
        _nothing_secret_in(telegram, group)
        minute = 60 * (telegram.limits.group[0][0] / 60 if telegram.limits else 1)  # scaled
        assert telegram.max_in_window(minute, group, requests=True) <= 20


def _nothing_secret_in(telegram: FakeTelegram, chat: int) -> None:
    for sent in telegram.sent(chat):
        for text in [sent.body, *(str(e.get("text", "")) for e in sent.edits)]:
            assert not re.search(r"(?<![\d.])\d{6}(?![\d.])", text), text
            assert "Balance" not in text and "Saldo" not in text and "OTP" not in text, text


def str_payload(url: str) -> str:
    """The start payload of a t.me link (it must have one)."""
    payload = start_payload(url)
    assert payload, url
    return payload


async def confirm(telegram: FakeTelegram, chat: int, summary: Sent, *, presses: int = 1) -> None:
    """Press Confirm under `summary` (`presses` copies of the press), read the OTP DM, type it."""
    telegram.press(chat, summary.data_of("Confirm"), message_id=summary.message_id, copies=presses)
    telegram.send_text(chat, await otp_and_prompt(telegram, chat))


async def pay_share(telegram: FakeTelegram, chat: int, payload: str) -> None:
    """Open the tally's Pay link in the private chat, confirm, type the OTP."""
    telegram.send_text(chat, f"/start {payload}")
    await confirm(telegram, chat, await telegram.wait_for(chat, is_summary))
    await telegram.wait_for(chat, "Paid")


async def gathered(
    telegram: FakeTelegram, crowd: dict[str, Any], group: int, command: str, head: str
) -> tuple[Sent, Sent]:
    """The crowd's first person sends `command` in `group`, everyone else taps Join, then the
    organiser opens Bill everyone in private. → (the tally, the Bill everyone summary)"""
    names = [name for name in crowd if name != "runner"]
    organiser = crowd[names[0]]["chat"]
    telegram.send_text(group, command, sender=organiser)
    tally = await telegram.wait_for(group, head)
    for name in names[1:]:
        telegram.press(group, tally.data_of("Join"), message_id=tally.message_id, sender=crowd[name]["chat"])
    await text_of(telegram, group, tally.message_id, lambda body: all(f"{n} Test" in body for n in names))
    telegram.send_text(organiser, f"/start {str_payload(tally.url_of('Bill everyone'))}")
    return tally, await telegram.wait_for(organiser, is_summary)


async def test_a_five_member_split_paid_declined_and_cancelled(
    telegram: FakeTelegram, bot_backend: Any, bot_factory: Any, new_chat: Any
) -> None:
    crowd = await people(
        telegram, bot_backend, bot_factory, new_chat, ["Budi", "Sari", "Andi", "Dewi", "Eka", "Fajar"]
    )
    budi = crowd["Budi"]["chat"]
    telegram.chat(GROUP, "Kos Melati", kind="supergroup")
    telegram.send_text(GROUP, f"/split@{BOT_USERNAME} 300rb Makan malam", sender=budi)
    tally = await telegram.wait_for(GROUP, "Split: Makan malam")
    join = tally.data_of("Join")
    for name in ("Sari", "Andi", "Dewi", "Eka", "Fajar"):
        telegram.press(GROUP, join, message_id=tally.message_id, sender=crowd[name]["chat"])
    await text_of(telegram, GROUP, tally.message_id, lambda body: "Fajar Test" in body and "Eka Test" in body)
    stranger = new_chat("Tono")  # no wallet: Join answers with a link to the private chat
    pressed = telegram.press(GROUP, join, message_id=tally.message_id, sender=stranger)
    for _ in range(100):
        if telegram.answer_of(pressed):
            break
        await asyncio.sleep(0.1)
    assert start_payload(str(telegram.answer_of(pressed)["url"])) == "register"

    # Bill everyone: the organiser's private chat, equal shares, one OTP (Confirm pressed twice)
    bill_everyone = str_payload(tally.url_of("Bill everyone"))
    telegram.send_text(budi, f"/start {bill_everyone}")
    summary = await telegram.wait_for(budi, is_summary)
    assert "5 bills, Rp250.000 in all" in summary.body and "Rp50.000" in summary.body
    await confirm(telegram, budi, summary, presses=2)
    await telegram.wait_for(budi, "5 bills sent")
    telegram.send_text(budi, f"/start {bill_everyone}")  # a second press of Bill everyone
    await telegram.wait_for(budi, "can no longer be billed")
    tally = await text_of(telegram, GROUP, tally.message_id, lambda body: "0/5 paid" in body)
    pay_link = str_payload(tally.url_of("Pay my share"))

    for name in ("Sari", "Andi", "Dewi"):
        await pay_share(telegram, crowd[name]["chat"], pay_link)
    eka = crowd["Eka"]["chat"]
    news = await telegram.wait_for(eka, "New bill")
    telegram.press(eka, news.data_of("Decline"), message_id=news.message_id)
    await text_of(telegram, eka, news.message_id, lambda body: "You declined" in body)
    await text_of(telegram, GROUP, tally.message_id, lambda body: "3/5 paid" in body and "declined" in body)
    telegram.press(GROUP, tally.data_of("Cancel"), message_id=tally.message_id, sender=crowd["Sari"]["chat"])
    await asyncio.sleep(0.5)  # only the organiser may cancel: nothing changes
    telegram.press(GROUP, tally.data_of("Cancel"), message_id=tally.message_id, sender=budi)
    final = await text_of(telegram, GROUP, tally.message_id, lambda body: "Cancelled by" in body)
    assert "3/5 paid · Rp200.000 of Rp300.000" in final.body
    assert "✖️ Eka Test declined" in final.body and "🚫 Fajar Test cancelled" in final.body
    assert final.buttons == [] and final.urls == []

    crowd.pop("runner")
    balances = {name: profile(bot_backend, who["username"])["amount_credit"] for name, who in crowd.items()}
    assert balances == {"Budi": 650_000, "Sari": 450_000, "Andi": 450_000, "Dewi": 450_000, "Eka": 500_000,
                        "Fajar": 500_000}  # fmt: skip
    bills = [b for who in crowd.values() for b in open_bills(bot_backend, who["username"])]
    assert bills == []  # nothing left open: paid, declined or cancelled
    assert_nothing_secret(telegram, GROUP)
    print(telegram.transcript(GROUP))  # the README's transcript ("Use the bot in a group"): pytest -s


def open_bills(backend: Any, username: str) -> list[dict[str, Any]]:
    response = admin_call(backend, "GET", f"/api/bill/{username}")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_custom_shares_typed_by_the_organiser(
    telegram: FakeTelegram, bot_backend: Any, bot_factory: Any, new_chat: Any
) -> None:
    crowd = await people(telegram, bot_backend, bot_factory, new_chat, ["Oka", "Putu", "Rai"])
    oka = crowd["Oka"]["chat"]
    group = GROUP - 4
    telegram.chat(group, "Villa Ubud")
    tally, summary = await gathered(telegram, crowd, group, "/split 300rb Villa", "Split: Villa")
    assert "2 bills, Rp200.000 in all" in summary.body  # 100rb each, the organiser's own not billed
    telegram.press(oka, summary.data_of("Custom shares"), message_id=summary.message_id)
    await telegram.wait_for(oka, "Type the custom shares")
    telegram.send_text(oka, "@nobody_here 10rb")  # not a member: said, and asked again
    await telegram.wait_for(oka, "each must name a member")
    telegram.send_text(oka, f"@{crowd['Putu']['username']} 120rb")
    custom = await telegram.wait_for(oka, is_summary)
    assert "2 bills, Rp210.000 in all" in custom.body and "Rp120.000" in custom.body
    assert "Oka Test (you): Rp90.000" in custom.body
    await confirm(telegram, oka, custom)
    await telegram.wait_for(oka, "2 bills sent")
    owed = {
        name: [b["amount"] for b in open_bills(bot_backend, crowd[name]["username"])]
        for name in ("Putu", "Rai")
    }
    assert owed == {"Putu": [120_000], "Rai": [90_000]}
    tally = await text_of(
        telegram, group, tally.message_id, lambda body: "0/2 paid · Rp90.000 of Rp300.000" in body
    )
    for name in ("Putu", "Rai"):
        await pay_share(telegram, crowd[name]["chat"], str_payload(tally.url_of("Pay my share")))
    settled = await text_of(telegram, group, tally.message_id, lambda body: "Settled" in body)
    assert "2/2 paid · Rp300.000 of Rp300.000" in settled.body and settled.buttons == []
    assert profile(bot_backend, crowd["Oka"]["username"])["amount_credit"] == 710_000
    assert_nothing_secret(telegram, group)


async def test_a_tip_by_reply_and_a_reply_to_someone_without_a_wallet(
    telegram: FakeTelegram, bot_backend: Any, bot_factory: Any, new_chat: Any
) -> None:
    crowd = await people(telegram, bot_backend, bot_factory, new_chat, ["Rina", "Joko"])
    rina, joko = crowd["Rina"]["chat"], crowd["Joko"]["chat"]
    group = GROUP - 1
    telegram.chat(group, "Arisan RT 05")
    hello = telegram.send_text(group, "Makasih ya semuanya!", sender=joko)
    telegram.send_text(group, "/tip 10rb", sender=rina, reply_to=hello)
    ask = await telegram.wait_for(group, "confirm your tip")
    telegram.send_text(rina, f"/start {str_payload(ask.url_of('Confirm in private'))}")
    summary = await telegram.wait_for(rina, is_summary)
    assert "Tip Joko Test" in summary.body and "Rp10.000" in summary.body
    await confirm(telegram, rina, summary)
    await telegram.wait_for(rina, "You tipped Joko Test Rp10.000")
    told = await telegram.wait_for(group, "tipped")
    assert told.body == "🎉 Rina Test tipped Joko Test Rp10.000!"
    assert profile(bot_backend, crowd["Joko"]["username"])["amount_credit"] == 510_000
    telegram.send_text(rina, f"/start {str_payload(ask.url_of('Confirm in private'))}")
    await telegram.wait_for(rina, "expired or was sent already")  # the link works once

    telegram.send_text(group, "/tip 10rb", sender=rina)  # not a reply: how to tip
    await telegram.wait_for(group, "reply to one of their messages")
    telegram.send_text(group, "/split banyak Makan", sender=rina)
    await telegram.wait_for(group, "could not read that amount")
    telegram.send_text(group, "/split 300rb", sender=rina)
    await telegram.wait_for(group, "say what it is for")
    telegram.send_text(group, "/split 300rb Makan\u202emalam", sender=rina)  # a bidi control: refused
    await telegram.wait_for(group, "say what it is for")
    outsider = new_chat("Wati")
    said = telegram.send_text(group, "halo", sender=outsider)
    telegram.send_text(group, "/tip 5rb", sender=rina, reply_to=said)
    await telegram.wait_for(group, "has no Mata Duitan wallet yet")
    assert profile(bot_backend, crowd["Rina"]["username"])["amount_credit"] == 490_000
    assert_nothing_secret(telegram, group)
    print(telegram.transcript(group))


async def test_an_inline_pay_me_request_paid_by_two(
    telegram: FakeTelegram, bot_backend: Any, bot_factory: Any, new_chat: Any
) -> None:
    crowd = await people(telegram, bot_backend, bot_factory, new_chat, ["Lia", "Maya", "Nina"])
    lia = crowd["Lia"]["chat"]
    group = GROUP - 2
    telegram.chat(group, "Kantor")
    query = telegram.inline_query(lia, "50rb makan siang", chat_type="group")
    result = (await telegram.wait_inline_answer(query))[0]
    assert result["title"] == "Request Rp50.000"
    inline_id = telegram.choose_inline_result(lia, query, result["id"], group)
    posted = next(s for s in telegram.sent(group) if s.inline_message_id == inline_id)
    pay = str_payload(posted.url_of("Pay"))
    for name in ("Maya", "Nina"):
        await pay_share(telegram, crowd[name]["chat"], pay)
    await text_of(telegram, group, posted.message_id, lambda body: "Paid by 2" in body)
    maya = crowd["Maya"]["chat"]
    telegram.send_text(maya, f"/start {pay}")  # one payment per payer
    await telegram.wait_for(maya, "paid this already")
    assert profile(bot_backend, crowd["Lia"]["username"])["amount_credit"] == 600_000
    telegram.press_inline(maya, inline_id, posted.data_of("Close"))  # only the requester closes it
    await asyncio.sleep(0.3)
    telegram.press_inline(lia, inline_id, posted.data_of("Close"))
    await text_of(telegram, group, posted.message_id, lambda body: "Closed by" in body)
    assert_nothing_secret(telegram, group)
    outsider = new_chat("Oscar")  # no wallet: no request is offered, a button to register is
    asked = telegram.inline_query(outsider, "50rb makan siang", chat_type="group")
    assert await telegram.wait_inline_answer(asked) == []
    assert telegram.inline_answers[asked]["button"]["start_parameter"] == "register"


async def test_monthly_dues_over_three_months_with_a_bot_restart(
    telegram: FakeTelegram, backend_factory: Any, bot_factory: Any, new_chat: Any
) -> None:
    backend = backend_factory(DUES_MONTH_SECONDS="4")
    crowd = await people(telegram, backend, bot_factory, new_chat, ["Guru", "Ani", "Bayu"])
    guru = crowd["Guru"]["chat"]
    group = GROUP - 3
    telegram.chat(group, "Kelas 3B")
    tally, summary = await gathered(telegram, crowd, group, "/dues 50rb Kas kelas", "Dues: Kas kelas")
    await confirm(telegram, guru, summary)
    await telegram.wait_for(guru, "2 bills sent")

    async def months() -> int:
        return len([s for s in telegram.sent(group) if s.body.startswith("🗓 Dues: Kas kelas ·")])

    deadline = time.monotonic() + 40
    while await months() < 2 and time.monotonic() < deadline:  # month 1 has its tally, month 2 too
        await asyncio.sleep(0.2)
    await crowd["runner"].restart()  # a restart between the second month and the third
    while await months() < 3 and time.monotonic() < deadline + 20:
        await asyncio.sleep(0.2)
    stop = next(s for s in reversed(telegram.sent(group)) if s.body.startswith("🗓 Dues"))
    telegram.press(group, stop.data_of("Stop dues"), message_id=stop.message_id, sender=guru)
    await asyncio.sleep(5)  # longer than a month: no round after the stop
    for name in ("Ani", "Bayu"):
        response = admin_call(backend, "GET", "/api/bill?limit=100")
        bills = [b for b in response.json()["items"] if b["payer"] == crowd[name]["username"]]
        assert len(bills) == 3, (name, [(b["bill_name"], b["status"]) for b in bills])
        assert len({b["bill_name"] for b in bills}) == 3  # three different months
    assert await months() == 3
    assert_nothing_secret(telegram, group)

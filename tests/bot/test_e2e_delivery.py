"""Every message arrives: the bot and the backend's outbox against a fake Telegram as strict as the
real one (30/s per bot, ~1/s per private chat, 429 past them), with 429s, 5xx answers, timeouts,
crashes of either process and a user who blocked the bot. Each scenario ends with the books
balanced; none may see a 429 caused by our own rate.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.bot.conftest import BOT_SECRET, BackendHandle
from tests.bot.crowd import (
    STEP,
    Member,
    all_of,
    bill_flow,
    deposit_all,
    log_in_chats,
    make_members,
    notices,
    open_bills,
    reconcile,
    transfer_flow,
)
from tests.bot.scenario import transfers_of
from tests.fakes.telegram_api import FakeTelegram, Limits
from tests.support.backend_process import ROOT, terminate

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API with Telegram's real limits (the other e2e tests run a faster one)."""
    server = FakeTelegram(limits=Limits()).start()
    yield server
    server.stop()


def bodies(telegram: FakeTelegram, chat: int, part: str) -> list[str]:
    """Texts delivered to a chat that contain `part`."""
    return [s.body for s in telegram.sent(chat) if part in s.body]


def own_limit_refusals(telegram: FakeTelegram, since: int) -> list[Any]:
    """429s the fake gave because of our own rate, since index `since`."""
    return telegram.limit_refusals[since:]


@dataclass
class Crowd:
    """A backend of the test's own and its funded, logged-in members."""

    backend: BackendHandle
    members: list[Member]
    bot_dir: Path  # the data directory (persistence file) the members' logins are in


@pytest.fixture
def crowd(
    telegram: FakeTelegram, backend_factory: Any, bot_factory: Any, new_chat: Any, tmp_path: Path
) -> Any:
    """make(n, deposit, bot=True, bot_settings={}, **backend_env) → a Crowd whose members are
    registered, logged in and funded; with `bot` the in-process bot is started on them."""

    async def make(
        n: int, deposit: int, *, bot: bool = True, bot_settings: dict[str, Any] | None = None, **env: str
    ) -> Crowd:
        backend = backend_factory(**env)
        chats = [new_chat(f"Member{i}") for i in range(n)]
        members, sessions = make_members(backend.url, BOT_SECRET, chats)
        await log_in_chats(tmp_path / "bot" / "bot_state.pickle", sessions)
        deposit_all(backend, members, deposit)
        if bot:
            await bot_factory(backend.url, data_dir=tmp_path / "bot", **(bot_settings or {}))
        return Crowd(backend, members, tmp_path / "bot")

    return make


def outbox_settled(backend: BackendHandle) -> bool:
    """True when nothing is left queued or claimed in the outbox."""
    return not notices(backend.process.mongo_uri, state={"$in": ["queued", "claimed"]})


async def test_200_flows_at_once_while_1000_reminders_fall_due(
    telegram: FakeTelegram, crowd: Any, bot_factory: Any
) -> None:
    group = await crowd(200, 100_000, bot=False)
    backend, members = group.backend, group.members
    # 5 open bills per member from their neighbour, last reminded a day ago: 1,000 reminders due
    pairs = [(members[(i + 1) % 200], m) for i, m in enumerate(members) for _ in range(5)]
    codes = open_bills(backend.process.mongo_uri, pairs, 5_000, due=True)
    since = len(telegram.limit_refusals)
    started = t0 = time.monotonic()
    await bot_factory(backend.url, data_dir=group.bot_dir, reminder_interval=3600, reminder_first=0.5)

    def flow(i: int, member: Member) -> Any:
        other = members[(i + 1) % 200]
        if i % 2 == 0:
            return transfer_flow(telegram, member.chat, other.username, "7rb", f"makan t{i}")
        return bill_flow(telegram, member.chat, other.username, "9rb", f"kas b{i}")

    answers = await all_of(*(flow(i, m) for i, m in enumerate(members)))
    flows_done = time.monotonic() - started
    assert all("Rp7.000" in a.body or "Rp9.000" in a.body for a in answers)

    def reminded(code: str, payer: Member) -> int:
        return len(bodies(telegram, payer.chat, f"Reminder: bill {code}"))

    await telegram.wait_until(lambda: outbox_settled(backend), timeout=300)
    for i, member in enumerate(members):
        other = members[(i + 1) % 200]
        assert len(bodies(telegram, member.chat, "added to your wallet")) == 1
        assert len(bodies(telegram, member.chat, "🔐")) == 1  # its one code
        if i % 2 == 0:
            assert len(bodies(telegram, other.chat, f"“makan t{i}”")) == 1
        else:
            assert len(bodies(telegram, other.chat, f"kas b{i}")) == 1  # the new-bill notice
    assert sum(reminded(code, payer) for code, (_, payer) in zip(codes, pairs, strict=True)) == 1000
    assert all(reminded(code, payer) == 1 for code, (_, payer) in zip(codes, pairs, strict=True))
    assert own_limit_refusals(telegram, since) == []
    ours = {m.chat for m in members}
    delivered = [s for s in telegram.deliveries() if s.chat_id in ours and s.at >= t0]
    elapsed = delivered[-1].at - delivered[0].at
    print(
        f"\n200 flows done in {flows_done:.0f} s; {len(delivered)} messages in {elapsed:.0f} s "
        f"({len(delivered) / elapsed:.1f}/s); busiest second {telegram.max_in_window(1.0, requests=True)}"
    )
    assert reconcile(backend)["ok"]


async def transfer_rounds(
    telegram: FakeTelegram, members: list[Member], seconds: float, most: int, tag: str
) -> list[str]:
    """Each member sends its neighbour Rp1.000 again and again for `seconds` (at most `most`
    times), each with its own description. → the descriptions of every transfer made"""
    deadline = time.monotonic() + seconds
    made: list[str] = []

    async def member_rounds(i: int) -> None:
        for k in range(most):
            if time.monotonic() > deadline:
                return
            other = members[(i + 1) % len(members)]
            note = f"{tag}{i}-{k}"
            await transfer_flow(telegram, members[i].chat, other.username, "1rb", note)
            made.append(note)

    await all_of(*(member_rounds(i) for i in range(len(members))))
    return made


def assert_exactly_once(
    telegram: FakeTelegram, backend: BackendHandle, members: list[Member], made: list[str]
) -> None:
    """Every transfer made moved money once and its recipient heard of it once."""
    for i, member in enumerate(members):
        mine = [note for note in made if note.split("-")[0][1:] == str(i)]
        sent = [t for t in transfers_of(backend, member.username) if t["src"] == member.username]
        assert sorted(t["description"] for t in sent) == sorted(mine)
        receiver = members[(i + 1) % len(members)]
        for note in mine:
            assert len(bodies(telegram, receiver.chat, f"“{note}”")) == 1, note
    assert reconcile(backend)["ok"]


async def test_429s_and_then_5xx_and_timeouts_lose_nothing(telegram: FakeTelegram, crowd: Any) -> None:
    group = await crowd(20, 100_000)
    backend, members = group.backend, group.members
    since = len(telegram.limit_refusals)

    with telegram.inject("429", rate=0.3, seconds=60, retry_after=1) as storm:
        made = await transfer_rounds(telegram, members, 60, most=8, tag="a")
    assert storm.hits > 50  # the storm really hit
    await telegram.wait_until(lambda: outbox_settled(backend), timeout=120)
    assert_exactly_once(telegram, backend, members, made)

    with (
        telegram.inject("502", rate=0.07, seconds=30) as bad_gateway,
        telegram.inject("timeout", rate=0.03, seconds=30, delay=8) as timeouts,
    ):
        made += await transfer_rounds(telegram, members, 30, most=3, tag="b")
    assert bad_gateway.hits > 5 and timeouts.hits > 0
    await telegram.wait_until(lambda: outbox_settled(backend), timeout=120)
    assert_exactly_once(telegram, backend, members, made)
    assert own_limit_refusals(telegram, since) == []


async def heard_once(
    telegram: FakeTelegram, backend: BackendHandle, who: Member, amount: str, note: str
) -> None:
    """`who` gets the "you received" of the transfer with this note, and only once (waited past
    another lease of the outbox); the books balance."""
    received = await telegram.wait_for(who.chat, f"“{note}”", timeout=STEP)
    assert received.body.startswith(f"💰 You received {amount}")
    await telegram.wait_until(lambda: outbox_settled(backend), timeout=30)
    await asyncio.sleep(4)
    assert len(bodies(telegram, who.chat, f"“{note}”")) == 1
    assert reconcile(backend)["ok"]


async def test_backend_killed_after_a_transfer_before_its_notice_left(
    telegram: FakeTelegram, crowd: Any
) -> None:
    group = await crowd(2, 50_000, NOTICE_LEASE_SECONDS="3")
    backend, (alice, bob) = group.backend, group.members
    with telegram.inject("502", rate=1.0, chats=[bob.chat]):  # nothing reaches Bob for now
        answer = await transfer_flow(telegram, alice.chat, bob.username, "5rb", "sebelum crash")
        assert "Sent Rp5.000" in answer.body  # acknowledged
        backend.process.kill()  # kill -9 while Bob's notice has not left
        backend.process.start()
    await heard_once(telegram, backend, bob, "Rp5.000", "sebelum crash")


class BotProcess:
    """`python -m bot` as its own process, so that it can be killed with SIGKILL."""

    def __init__(self, telegram: FakeTelegram, backend: BackendHandle, data_dir: Path) -> None:
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_API_URL": telegram.url,
            "BACKEND_URL": backend.url,
            "BOT_API_SECRET": BOT_SECRET,
            "DATA_DIR": str(data_dir),
            "REMINDER_FIRST": "3600",
        }
        self.log = data_dir / "bot.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot"], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)
            self.process = None


@pytest.fixture
def bot_process(telegram: FakeTelegram, tmp_path: Path) -> Iterator[Any]:
    """make(backend, data_dir) → a started BotProcess; stopped at the end."""
    started: list[BotProcess] = []

    def make(backend: BackendHandle, data_dir: Path) -> BotProcess:
        process = BotProcess(telegram, backend, data_dir)
        process.start()
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop()


async def test_bot_killed_holding_claimed_unsent_notices(
    telegram: FakeTelegram, crowd: Any, bot_process: Any
) -> None:
    group = await crowd(2, 50_000, bot=False, NOTICE_LEASE_SECONDS="3")
    backend, (alice, bob) = group.backend, group.members
    bot = bot_process(backend, group.bot_dir)
    await telegram.wait_for(bob.chat, "added to your wallet", timeout=30)  # the bot is up
    with telegram.inject("timeout", rate=1.0, chats=[bob.chat], delay=30) as held:
        answer = await transfer_flow(telegram, alice.chat, bob.username, "6rb", "ditahan")
        assert "Sent Rp6.000" in answer.body
        await telegram.wait_until(lambda: held.hits > 0, timeout=30)  # the notice is on its way...
        bot.kill()  # ...and the bot dies holding it, claimed and unsent
    bot.start()
    await heard_once(telegram, backend, bob, "Rp6.000", "ditahan")


async def test_a_chat_that_blocked_the_bot_is_dead_and_holds_up_nobody(
    telegram: FakeTelegram, crowd: Any
) -> None:
    group = await crowd(3, 50_000)
    backend, (alice, bob, carol) = group.backend, group.members
    await telegram.wait_for(bob.chat, "added to your wallet", timeout=30)
    telegram.block(bob.chat)
    await transfer_flow(telegram, alice.chat, bob.username, "2rb", "ke bob")
    await transfer_flow(telegram, alice.chat, carol.username, "3rb", "ke carol")
    await telegram.wait_for(carol.chat, "“ke carol”", timeout=30)
    await telegram.wait_until(lambda: outbox_settled(backend), timeout=30)
    dead = notices(backend.process.mongo_uri, username=bob.username, kind="received")
    assert [(d["state"], "blocked" in d["reason"]) for d in dead] == [("dead", True)]
    await asyncio.sleep(2)
    assert telegram.refusals_for(bob.chat, 403) == 1  # refused once, never retried
    assert reconcile(backend)["ok"]

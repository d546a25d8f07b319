"""The bot end to end: Telegram update in → the bot's reply out, with the real Application.

Three processes, as in production: the backend (`python -m backend`, OTPs DM'd through the fake
Bot API), the bot (`python -m bot`, long polling the fake Bot API) and this one, which runs the
fake Bot API server (tests/fakes/telegram_api.py) in a thread and plays the users.

Times are taken inside the fake server: an update's clock starts when it is queued for getUpdates
and stops when the bot's sendMessage reaches the server, so the driver's own scheduling does not
count. `TimedTelegram` adds only that timestamp and an event per chat to the test fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from bench.seed import PASSWORD, Seeder
from bench.support import BOT_SECRET, CpuMeter, RunResult, percentile
from tests.fakes.telegram_api import FakeTelegram, Sent
from tests.support.backend_process import ROOT, terminate

Predicate = Callable[[Sent], bool]


class TimedTelegram(FakeTelegram):
    """The test fake, plus: when each message reached it, and a wake-up per chat for waiters."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.events: dict[int, asyncio.Event] = {}
        self.sent_at: dict[tuple[int, int], float] = {}

    def _record_send(self, method: str, params: dict[str, Any], **fields: Any) -> Any:
        response = super()._record_send(method, params, **fields)
        now = time.perf_counter()
        chat_id = int(params["chat_id"])
        chat = self.chats.get(chat_id)
        if chat is not None and chat.sent:  # this server handles one request at a time
            self.sent_at[(chat_id, chat.sent[-1].message_id)] = now
        event = self.events.get(chat_id)
        if event is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(event.set)
        return response

    def queue_text(self, chat_id: int, text: str) -> float:
        """The user types `text`; → when the update was queued."""
        started = time.perf_counter()
        self.send_text(chat_id, text)
        return started

    def at(self, sent: Sent) -> float:
        """When `sent` reached the server."""
        return self.sent_at[(sent.chat_id, sent.message_id)]

    async def expect(self, chat_id: int, predicate: str | Predicate, timeout: float = 60.0) -> Sent:
        """The next unread message to the chat that matches (earlier unread ones are skipped)."""
        check: Predicate = (
            (lambda s: predicate.lower() in s.body.lower())  # type: ignore[union-attr]
            if isinstance(predicate, str)
            else predicate
        )
        chat = self.chat(chat_id)
        event = self.events.setdefault(chat_id, asyncio.Event())
        deadline = time.monotonic() + timeout
        while True:
            event.clear()
            with self._cond:
                while chat.read < len(chat.sent):
                    candidate = chat.sent[chat.read]
                    chat.read += 1
                    if check(candidate):
                        return candidate
            left = deadline - time.monotonic()
            if left <= 0:
                bodies = [s.body[:60] for s in chat.sent[-5:]]
                raise TimeoutError(f"chat {chat_id}: nothing matching {predicate!r}; last: {bodies}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), left)


@dataclass
class BotProcess:
    """`python -m bot` against the fake Bot API and a backend."""

    telegram: TimedTelegram
    backend_url: str
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> BotProcess:
        """Start polling; return once the bot asked for updates."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": self.telegram.token,
            "TELEGRAM_API_URL": self.telegram.url,
            "BACKEND_URL": self.backend_url,
            "BOT_API_SECRET": BOT_SECRET,
            "DATA_DIR": str(self.data_dir),
            "REMINDER_FIRST": "3600",
        }
        log = (self.data_dir / "bot.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while not any(method == "getUpdates" for method, _ in list(self.telegram.calls)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("bot did not start:\n" + (self.data_dir / "bot.log").read_text()[-3000:])
            time.sleep(0.05)
        return self

    @property
    def pid(self) -> int | None:
        """Pid of the bot process."""
        return self.process.pid if self.process else None

    def stop(self) -> None:
        """SIGTERM (PTB shuts down cleanly), SIGKILL after 15 s."""
        if self.process is not None:
            terminate(self.process)
            self.process = None


def seed_chat_users(seeder: Seeder, count: int) -> list[str]:
    """`count` deposited users (not yet linked: each chat logs in through the bot)."""
    names = [f"chat_user_{i:03d}" for i in range(count)]
    seeder.users(names)
    seeder.deposit(names)
    return names


LOGIN_CONCURRENCY = 8  # Argon2id at the backend: 100 at once overran the bot's 10 s timeout


async def login_all(tg: TimedTelegram, chats: list[int], names: list[str]) -> tuple[float, int]:
    """/login in every chat, LOGIN_CONCURRENCY at a time; → (seconds taken, retries needed)."""
    gate = asyncio.Semaphore(LOGIN_CONCURRENCY)
    retries = 0

    async def login(chat: int, name: str) -> None:
        nonlocal retries
        async with gate:
            for _ in range(3):
                tg.queue_text(chat, "/login")
                await tg.expect(chat, "username?")
                tg.queue_text(chat, name)
                await tg.expect(chat, "password?")
                tg.queue_text(chat, PASSWORD)
                reply = await tg.expect(chat, lambda s: "logged in" in s.body or "try again" in s.body)
                if "logged in" in reply.body:
                    return
                retries += 1
            raise RuntimeError(f"chat {chat} could not log in")

    started = time.perf_counter()
    await asyncio.gather(*(login(c, n) for c, n in zip(chats, names, strict=True)))
    return time.perf_counter() - started, retries


CHAT_GAP_S = 1.2  # Telegram answers one private chat about once a second (bot/ratelimit.py: 1.1 s)


async def me_round_trips(tg: TimedTelegram, chats: list[int], samples: int, warmup: int = 5) -> list[float]:
    """/me, one at a time: update queued → the "Balance" reply reaches the server.

    Nobody sends /me faster than Telegram lets a bot answer one chat, and a burst in one chat
    would measure that pacing, not the bot: the samples go round the chats, each chat at most
    once per CHAT_GAP_S.
    """
    out: list[float] = []
    last: dict[int, float] = {}
    for i in range(warmup + samples):
        chat = chats[i % len(chats)]
        wait = last.get(chat, 0.0) + CHAT_GAP_S - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        last[chat] = time.monotonic()
        started = tg.queue_text(chat, "/me")
        reply = await tg.expect(chat, "Balance:")
        if i >= warmup:
            out.append(tg.at(reply) - started)
    return out


async def transfer_flow(tg: TimedTelegram, chat: int, recipient: str) -> dict[str, float]:
    """/transfer → recipient → amount → /skip → Confirm → the OTP DM → type it → "Sent".

    → the flow's total time and each reply's round trip (update queued → reply at the server).
    """
    times: dict[str, float] = {}
    flow_started = tg.queue_text(chat, "/transfer")
    reply = await tg.expect(chat, "Who do you want")
    times["rt_command"] = tg.at(reply) - flow_started
    started = tg.queue_text(chat, recipient)
    reply = await tg.expect(chat, "How much?")
    times["rt_recipient"] = tg.at(reply) - started
    started = tg.queue_text(chat, "1000")
    reply = await tg.expect(chat, "description?")
    times["rt_amount"] = tg.at(reply) - started
    started = tg.queue_text(chat, "/skip")
    summary = await tg.expect(chat, lambda s: any(d.startswith("cf:") for _, d in s.buttons))
    times["rt_summary"] = tg.at(summary) - started
    started = time.perf_counter()
    tg.press(chat, summary.data_of("Confirm"), message_id=summary.message_id)
    dm = await tg.expect(chat, lambda s: "OTP" in s.body and s.otp() is not None)
    times["rt_confirm_to_otp"] = tg.at(dm) - started
    started = tg.queue_text(chat, dm.otp() or "")
    reply = await tg.expect(chat, "Sent Rp")
    times["rt_otp_to_sent"] = tg.at(reply) - started
    times["flow"] = tg.at(reply) - flow_started
    return times


async def concurrent_flows(
    tg: TimedTelegram, chats: list[int], names: list[str], flows: int, cpu: CpuMeter | None
) -> RunResult:
    """Every chat runs `flows` transfers one after another, all chats at once."""
    results: list[dict[str, float]] = []

    async def chat_loop(index: int) -> None:
        recipient = names[(index + 1) % len(names)]
        for _ in range(flows):
            results.append(await transfer_flow(tg, chats[index], recipient))

    if cpu is not None:
        cpu.start()
    started = time.perf_counter()
    await asyncio.gather(*(chat_loop(i) for i in range(len(chats))))
    elapsed = time.perf_counter() - started
    used = cpu.stop() if cpu is not None else {}
    extra = {k: [r[k] for r in results] for k in results[0] if k != "flow"} if results else {}
    return RunResult(len(results), elapsed, [r["flow"] for r in results], used, extra)


def run_bot_scenarios(
    tg: TimedTelegram,
    names: list[str],
    *,
    me_samples: int,
    flows: int,
    runs: int,
    pids: dict[str, int | None],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Log every chat in, then /me round trips and concurrent transfer flows, `runs` times."""

    async def scenario() -> dict[str, Any]:
        tg.loop = asyncio.get_running_loop()
        chats = [950_000_001 + i for i in range(len(names))]
        for chat in chats:
            tg.chat(chat, "Bench", "en")
        login_seconds, retries = await login_all(tg, chats, names)
        progress(
            f"bot: {len(chats)} chats logged in through /login ({LOGIN_CONCURRENCY} at a time) in "
            f"{login_seconds:.1f} s, {retries} retries"
        )
        me_runs: list[list[float]] = []
        flow_runs: list[RunResult] = []
        for run in range(runs):
            me_runs.append(await me_round_trips(tg, chats, me_samples))
            progress(
                f"bot run {run + 1}/{runs}: /me p50 {percentile(me_runs[-1], 50) * 1000:.1f} ms, "
                f"p99 {percentile(me_runs[-1], 99) * 1000:.1f} ms"
            )
            flow_runs.append(await concurrent_flows(tg, chats, names, flows, CpuMeter(pids)))
            progress(
                f"bot run {run + 1}/{runs}: {flow_runs[-1].ops} transfer flows in "
                f"{flow_runs[-1].seconds:.1f} s = {flow_runs[-1].rate:.1f} flows/s"
            )
        return {
            "login_seconds": login_seconds,
            "login_retries": retries,
            "me_runs": me_runs,
            "flow_runs": flow_runs,
        }

    return uvloop.run(scenario())

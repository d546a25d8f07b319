"""Delivery to Telegram under Telegram's real limits: does every message arrive, and how fast?

    .venv/bin/python -m bench.delivery [--quick] [--no-write]

One run, three measurements, against the strict fake Bot API (tests/fakes/telegram_api.py with
`Limits()`: 30 requests/s per bot, ~1/s per private chat, 429 past them) and the real product:
the backend (`python -m backend` with its embedded nx-27017, OTP_DELIVERY=telegram) and the bot's
real Application (`bot.app.build_application`, `telegram_rate_scale=1.0`) in this process. In
this order, on one backend and one bot:

    flows    F logged-in chats each complete a /transfer or a /bill (OTP DM included) at once,
             no reminders: flows completed per minute, messages per second
    drain    N open bills to N distinct linked payers, all last reminded a day ago; the bot's own
             reminder job (bot/reminders.queue_reminders) is run once, so N reminders fall due at
             once and leave through the outbox: first → last reminder delivered, messages per
             second against Telegram's 30/s, drain time against N / 30 s, 429s of our own making
    latency  meanwhile P probe chats, each like a person (THINK seconds between steps), again
             and again (at most S rounds, only rounds begun before the drain ended count): /me →
             the bot's answer at the fake; a /transfer to Confirm → the OTP DM at the fake (then
             the code is typed and the transfer completes; the recipient has no chat, so the
             probes add no notices). THINK is longer than twice the chat's own pace (1.1 s): a
             faster typist's DM waits for their own chat's pace (the bot's edit and "type it here"
             go to the same chat first), which is not what the drain does to them.

`--reminders/--flows/--probes/--samples N` change the plan for an experiment (never written).

Times are the fake's: `Sent.at` is when a request reached it (time.monotonic, the clock this
process stamps what its users type with). Users are seeded by bench.seed (Accounts.signup once,
replicated; chats linked by Accounts.link_chat; the typists' money deposited by Ledger.move),
the chats that type log in through
the bot's POST /api/bot/link and their sessions are written into the bot's persistence file as a
bot restart finds them (tests/bot/crowd.py log_in_chats), bills are made by the product's
`Bills.create` (bench.seed). The figures are written into
docs/BENCHMARKS.md between the `delivery:begin/end` markers (everything else is kept).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import inspect
import logging
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from backend.db import Store
from bench.bot_flows import TimedTelegram
from bench.seed import PASSWORD, Seeder
from bench.support import BENCH_CAPS_ENV, CpuMeter, machine_info, percentile, settings_from
from bot import reminders
from bot.ratelimit import PriorityGate, TelegramRateLimiter
from tests.bot.conftest import BOT_SECRET, BotRunner, bot_settings
from tests.bot.crowd import Member, log_in_chats
from tests.bot.scenario import is_summary
from tests.fakes.telegram_api import Limits, Sent, most_in_window
from tests.support.backend_process import ROOT, BackendProcess

REPORT = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- delivery:begin -->", "<!-- delivery:end -->"
HEADING = "## Delivery to Telegram (issue: every message arrives)"
TELEGRAM_RATE = 30.0  # messages/s per bot (Telegram's figure, enforced by the fake)
# the overall pace the bot keeps (bot/ratelimit.py), read from the product: requests per second
PACE = 1 / inspect.signature(PriorityGate).parameters["overall"].default
THINK = 2.5  # seconds a probe "person" takes between two steps (see the module docstring)
STEP = 180.0  # seconds any one step may take before the run is declared broken
JWT_SECRET = "bench-delivery-" + "x" * 40
TARGETS = {"rate_share": 0.90, "drain_ratio": 1.15, "p99_s": 2.0}
PAYER_CHAT, FLOW_CHAT, PROBE_CHAT = 600_000_000, 610_000_000, 620_000_000
ISSUER, SINK = "reminder_issuer", "probe_sink"


@dataclass(frozen=True)
class Plan:
    """How much each measurement does."""

    name: str
    reminders: int
    flows: int
    probes: int
    samples: int  # per probe, at most (a probe stops when the drain is over)

    @classmethod
    def full(cls) -> Plan:
        return cls("full", reminders=10_000, flows=200, probes=5, samples=20)

    @classmethod
    def quick(cls) -> Plan:
        return cls("quick", reminders=2_000, flows=50, probes=5, samples=6)


def log(message: str) -> None:
    """Progress on stderr (the report goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class DeliveryTelegram(TimedTelegram):
    """bench.bot_flows' fake (Telegram's real limits, an event per waited-on chat), counting reminders."""

    def __init__(self) -> None:
        super().__init__()
        assert self.limits == Limits()  # Telegram's own figures, not the tests' compressed ones
        self.payers: set[int] = set()
        self.reminder_count = 0

    def _record_send(self, method: str, params: dict[str, Any], **fields: Any) -> Any:
        response = super()._record_send(method, params, **fields)
        text = str(params.get("text", ""))
        reminder = text.startswith("Reminder: bill") and int(params["chat_id"]) in self.payers
        if response.status_code == 200 and reminder:
            self.reminder_count += 1
        return response


# ---- seeding --------------------------------------------------------------------------------


@dataclass
class World:
    """Who is in the run."""

    payers: list[Member]
    flow_chats: list[Member]
    probes: list[Member]


def seed(backend: BackendProcess, plan: Plan, data_dir: Path) -> tuple[World, dict[str, float]]:
    """Users (payers linked, flow and probe chats linked and logged in), then the due bills."""
    times: dict[str, float] = {}
    started = time.perf_counter()
    client: MongoClient[dict[str, Any]] = MongoClient(backend.mongo_uri)
    try:
        store = Store(client, client["mata_duitan"])
        seeder = Seeder(store, settings_from(backend.env))
        world = World(
            [Member(PAYER_CHAT + i, f"payer_{i:05d}") for i in range(plan.reminders)],
            [Member(FLOW_CHAT + i, f"flow_{i:03d}") for i in range(plan.flows)],
            [Member(PROBE_CHAT + i, f"probe_{i}") for i in range(plan.probes)],
        )
        members = world.payers + world.flow_chats + world.probes
        seeder.users([m.username for m in members] + [ISSUER, SINK])
        seeder.link({m.username: m.chat for m in members})
        seeder.deposit([m.username for m in world.flow_chats + world.probes])  # they pay; payers only owe
        times["users"] = time.perf_counter() - started
        sessions = link_chats(backend, world.flow_chats + world.probes)
        asyncio.run(log_in_chats(data_dir / "bot_state.pickle", sessions))
        times["sessions"] = time.perf_counter() - started - times["users"]
        bills_started = time.perf_counter()
        issuer = seeder.wallet.accounts.get(ISSUER)
        with ThreadPoolExecutor(4) as pool:  # Bills.create, four at a time
            made = list(pool.map(lambda payer: seeder.bill(issuer, payer.username, 5_000), world.payers))
        assert len(made) == plan.reminders
        # last reminded a day ago (a controlled clock), so the next reminder run takes them all
        store.bills.update_many({"issuer": ISSUER}, {"$inc": {"reminded_at": -86_400_000}})
        times["bills"] = time.perf_counter() - bills_started
    finally:
        client.close()
    return world, times


def link_chats(backend: BackendProcess, members: list[Member]) -> dict[int, dict[str, Any]]:
    """Log each chat in through the bot's own POST /api/bot/link (Argon2 verify, the product's
    session), 4 at a time. → each chat's answer, for the bot's persistence file"""

    def link(member: Member) -> tuple[int, dict[str, Any]]:
        body = {"chat_id": member.chat, "username": member.username, "password": PASSWORD, "lang": "en"}
        with httpx.Client(base_url=backend.url, timeout=60) as http:
            answer = http.post("/api/bot/link", json=body, headers={"X-Bot-Secret": BOT_SECRET})
        answer.raise_for_status()
        return member.chat, answer.json()

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(link, members))


# ---- what people do -------------------------------------------------------------------------


def body_has(part: str) -> Callable[[Sent], bool]:
    return lambda s: part in s.body


async def step(tg: DeliveryTelegram, chat: int, typed: str | None, expect: Any) -> Sent:
    """Type (or not) and wait for the bot's matching answer."""
    if typed is not None:
        tg.send_text(chat, typed)
    return await tg.expect(chat, expect, timeout=STEP)


async def otp_then_prompt(tg: DeliveryTelegram, chat: int, summary: Sent) -> tuple[str, float, float]:
    """Press Confirm; the OTP DM and the bot's "type it" in either order. → code, pressed, DM at"""
    pressed = time.monotonic()
    tg.press(chat, summary.data_of("Confirm"), message_id=summary.message_id)
    code, dm_at, prompt = None, 0.0, False
    while code is None or not prompt:
        sent = await tg.expect(chat, lambda s: s.body.startswith("🔐") or "Type it here" in s.body, STEP)
        if sent.body.startswith("🔐"):
            code, dm_at = sent.otp(), sent.at
        else:
            prompt = True
    assert code is not None
    return code, pressed, dm_at


async def transfer_flow(
    tg: DeliveryTelegram, chat: int, recipient: str, amount: str, note: str, think: float = 0.0
) -> tuple[float, float]:
    """/transfer → recipient → amount → description → Confirm → OTP DM → code → "Sent".
    → when Confirm was pressed, when the OTP DM reached the fake"""

    async def then(typed: str, expect: Any) -> Sent:
        if think:
            await asyncio.sleep(think)
        return await step(tg, chat, typed, expect)

    await then("/transfer", body_has("Who do you want"))
    await then(recipient, body_has("How much?"))
    await then(amount, body_has("Add a description?"))
    summary = await then(note, is_summary)
    if think:
        await asyncio.sleep(think)
    code, pressed, dm_at = await otp_then_prompt(tg, chat, summary)
    await then(code, lambda s: s.body.startswith("Sent "))
    return pressed, dm_at


async def bill_flow(tg: DeliveryTelegram, chat: int, payer: str, amount: str, what: str) -> float:
    """/bill → name → payer → amount → /skip → Confirm → OTP DM → code → "Bill ... created".
    → seconds from the press of Confirm to the OTP DM at the fake"""
    await step(tg, chat, "/bill", body_has("What is the bill for"))
    await step(tg, chat, what, body_has("Who should pay"))
    await step(tg, chat, payer, body_has("How much?"))
    await step(tg, chat, amount, body_has("Add a description?"))
    summary = await step(tg, chat, "/skip", is_summary)
    code, pressed, dm_at = await otp_then_prompt(tg, chat, summary)
    await step(tg, chat, code, lambda s: s.body.startswith("Bill ") and "created" in s.body)
    return dm_at - pressed


# ---- instruments ----------------------------------------------------------------------------


@dataclass
class Calls:
    """Round trips of the courier's calls to the backend (timed by wrapping the client's methods)."""

    # (started, seconds, limit, reminders returned, lowest priority asked for)
    claims: list[tuple[float, float, int, int, int]] = field(default_factory=list)
    acks: list[tuple[float, float, int]] = field(default_factory=list)  # at, s, items
    otps: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # username → (start, end)
    otp_claimed: dict[str, list[float]] = field(default_factory=dict)  # username → when its DM was claimed

    def wrap(self, client: Any) -> None:
        claim, ack, request_otp = client.claim_notices, client.ack_notices, client.request_otp

        async def timed_claim(*, limit: int, wait_seconds: float, lowest_priority: int) -> Any:
            started = time.monotonic()
            items = await claim(limit=limit, wait_seconds=wait_seconds, lowest_priority=lowest_priority)
            ended = time.monotonic()
            got = sum(item.get("kind") == "reminder" for item in items)
            self.claims.append((started, ended - started, limit, got, lowest_priority))
            for item in items:
                if item.get("kind") == "otp":
                    self.otp_claimed.setdefault(str(item["id"]).rsplit(":", 1)[-1], []).append(ended)
            return items

        async def timed_ack(outcomes: list[dict[str, Any]]) -> Any:
            started = time.monotonic()
            try:
                return await ack(outcomes)
            finally:
                self.acks.append((started, time.monotonic() - started, len(outcomes)))

        async def timed_request_otp(session: Any, **body: Any) -> Any:
            started = time.monotonic()
            try:
                return await request_otp(session, **body)
            finally:
                username = str((session or {}).get("username"))
                self.otps.setdefault(username, []).append((started, time.monotonic()))

        client.claim_notices, client.ack_notices = timed_claim, timed_ack
        client.request_otp = timed_request_otp


@dataclass
class Sampler:
    """Every 0.25 s: notices in the courier and requests waiting at the rate limiter's gate."""

    samples: list[tuple[float, int, int]] = field(default_factory=list)  # at, in flight, waiting

    async def run(self, courier: Any, limiter: TelegramRateLimiter, until: Callable[[], bool]) -> None:
        while not until():
            in_flight = len(courier._deliveries)  # noqa: SLF001 - a read-only diagnostic
            self.samples.append((time.monotonic(), in_flight, limiter.gate.waiting()))
            await asyncio.sleep(0.25)


def gaps_of(times: list[float]) -> dict[str, float]:
    """How evenly requests reached the fake: gaps between consecutive ones, time lost in stalls."""
    times = sorted(times)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    if not gaps:
        return {}
    ideal = 1 / PACE
    return {
        "median_ms": statistics.median(gaps) * 1000,
        "p99_ms": percentile(gaps, 99) * 1000,
        "max_ms": max(gaps) * 1000,
        "over_100ms": sum(g > 0.1 for g in gaps),
        "over_500ms": sum(g > 0.5 for g in gaps),
        "lost_s": sum(g - ideal for g in gaps if g > 2 * ideal),  # beyond the pace, in stalls
    }


def at_the_limit(times: list[float], most: int = 30, seconds: float = 1.0) -> int:
    """Requests that arrived with `most` - 1 others in the `seconds` before them: one more in
    that window and the fake (like Telegram) would have answered 429."""
    times = sorted(times)
    return sum(1 for i in range(most - 1, len(times)) if times[i] - times[i - most + 1] < seconds)


def per_second(times: list[float], start: float, end: float) -> list[int]:
    """Requests in each whole second of [start, end)."""
    counts = [0] * max(1, int(end - start))
    for at in times:
        slot = int(at - start)
        if 0 <= slot < len(counts):
            counts[slot] += 1
    return counts


async def wait_until(condition: Callable[[], Awaitable[bool] | bool], timeout: float, what: str) -> float:
    """Poll until true (bounded); → seconds it took. Raises TimeoutError with `what`."""
    started = time.monotonic()
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not done after {timeout:.0f} s")
        await asyncio.sleep(0.2)


def outbox_open(mongo_uri: str) -> int:
    """Notices still queued or claimed."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    try:
        return client["mata_duitan"]["notices"].count_documents({"state": {"$in": ["queued", "claimed"]}})
    finally:
        client.close()


def notice_states(mongo_uri: str, kind: str) -> dict[str, int]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    try:
        rows = client["mata_duitan"]["notices"].aggregate(
            [{"$match": {"kind": kind}}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        )
        return {row["_id"]: row["n"] for row in rows}
    finally:
        client.close()


async def settle(backend: BackendProcess, timeout: float) -> float:
    """Until nothing is left queued or claimed in the outbox (bounded); → seconds it took."""

    async def empty() -> bool:
        return await asyncio.to_thread(outbox_open, backend.mongo_uri) == 0

    return await wait_until(empty, timeout, "outbox")


# ---- the measurements -----------------------------------------------------------------------


async def flows_phase(tg: DeliveryTelegram, world: World, pids: dict[str, int | None]) -> dict[str, Any]:
    """Every flow chat completes one transfer (even) or one bill (odd), all at once."""
    chats = world.flow_chats
    refused_before = len(tg.limit_refusals)
    requests_before = len(tg.counted_requests)
    durations: list[float] = []
    to_dm: list[float] = []

    async def one(i: int, member: Member) -> None:
        other = chats[(i + 1) % len(chats)]
        started = time.monotonic()
        if i % 2 == 0:
            pressed, dm_at = await transfer_flow(tg, member.chat, other.username, "7rb", f"makan t{i}")
            to_dm.append(dm_at - pressed)
        else:
            to_dm.append(await bill_flow(tg, member.chat, other.username, "9rb", f"kas b{i}"))
        durations.append(time.monotonic() - started)

    cpu = CpuMeter(pids)
    cpu.start()
    started = time.monotonic()
    results = await asyncio.gather(*(one(i, m) for i, m in enumerate(chats)), return_exceptions=True)
    ended = time.monotonic()
    used = cpu.stop()
    errors = [r for r in results if isinstance(r, BaseException)]
    elapsed = ended - started
    sent = [s for s in tg.deliveries() if started <= s.at <= ended]
    requests = [c.at for c in tg.counted_requests[requests_before:] if c.at <= ended]
    return {
        "flows": len(chats),
        "completed": len(durations),
        "errors": [repr(e) for e in errors[:3]],
        "seconds": elapsed,
        "per_minute": len(durations) / elapsed * 60,
        "messages": len(sent),
        "messages_per_s": len(sent) / elapsed,
        "requests": len(requests),
        "requests_per_s": len(requests) / elapsed,
        "flow_p50_s": percentile(durations, 50),
        "flow_p99_s": percentile(durations, 99),
        "otp_p50_s": percentile(to_dm, 50),
        "otp_p99_s": percentile(to_dm, 99),
        "busiest_second": most_in_window(requests),
        "at_limit": at_the_limit(requests),
        "limit_refusals": len(tg.limit_refusals) - refused_before,
        "cpu": {k: v / elapsed for k, v in used.items()},
    }


def edited_at(tg: DeliveryTelegram, chat: int, after: float) -> float:
    """When the first edit of a message in `chat` after `after` reached the fake (NaN if none)."""
    with tg._cond:  # the fake's own lock
        edits = [c.at for c in tg.counted_requests if c.chat_id == chat and c.method == "editMessageText"]
    return min((at for at in edits if at >= after), default=float("nan"))


async def probe(
    tg: DeliveryTelegram,
    member: Member,
    samples: int,
    running: Callable[[], bool],
    calls: Calls,
    out: dict[str, list[float]],
) -> None:
    """A person, again and again while the drain runs: /me, then a transfer to the sink.

    Each OTP sample is also split in three: press → the summary edited at the fake (the bot took
    the update, answered the button, waited for the gate); → POST /api/processing answered (the
    backend issued the code and queued the DM); → the DM at the fake (courier claim, gate, send).
    """
    for k in range(samples):
        if not running():
            return
        await asyncio.sleep(THINK)
        typed = time.monotonic()
        reply = await step(tg, member.chat, "/me", body_has("Balance:"))
        if running():
            out["me"].append(reply.at - typed)
        note = f"probe {member.chat} {k}"
        pressed, dm_at = await transfer_flow(tg, member.chat, SINK, "1rb", note, think=THINK)
        if not running():
            continue
        out["otp"].append(dm_at - pressed)
        edit = edited_at(tg, member.chat, pressed)
        ends = [end for start, end in calls.otps.get(member.username, []) if start >= pressed]
        claimed = [at for at in calls.otp_claimed.get(member.username, []) if at >= pressed]
        if ends and claimed:
            out["press_to_edit"].append(edit - pressed)
            out["edit_to_otp_answer"].append(ends[0] - edit)
            out["otp_answer_to_claimed"].append(claimed[0] - ends[0])
            out["claimed_to_dm"].append(dm_at - claimed[0])


async def drain_phase(
    tg: DeliveryTelegram,
    runner: BotRunner,
    backend: BackendProcess,
    world: World,
    plan: Plan,
    calls: Calls,
    pids: dict[str, int | None],
) -> dict[str, Any]:
    """Run the reminder job once (N due), probe meanwhile, until every reminder is delivered."""
    app = runner.app
    assert app is not None and app.job_queue is not None
    tg.payers = {m.chat for m in world.payers}
    refused_before = len(tg.limit_refusals)
    requests_before = len(tg.counted_requests)
    claims_before = len(calls.claims)
    probe_chats = {m.chat for m in world.probes}
    done = False
    latencies: dict[str, list[float]] = {
        k: []
        for k in (
            "me",
            "otp",
            "press_to_edit",
            "edit_to_otp_answer",
            "otp_answer_to_claimed",
            "claimed_to_dm",
        )
    }
    sampler = Sampler()
    limiter = app.bot.rate_limiter
    assert isinstance(limiter, TelegramRateLimiter)
    courier = app.bot_data["courier"]
    outcomes_before = Counter(courier.outcomes)
    retries_before = limiter.retries

    cpu = CpuMeter(pids)
    cpu.start()
    triggered = time.monotonic()
    app.job_queue.run_once(reminders.queue_reminders, 0, name="bench-reminders")
    sampling = asyncio.create_task(sampler.run(courier, limiter, lambda: done))
    probing = asyncio.gather(
        *(probe(tg, m, plan.samples, lambda: not done, calls, latencies) for m in world.probes),
        return_exceptions=True,
    )
    budget = plan.reminders / PACE * 2 + 120
    timed_out = None
    try:
        await wait_until(lambda: tg.reminder_count >= plan.reminders, budget, "drain")
    except TimeoutError as exc:
        timed_out = str(exc)
    finally:
        done = True
        used = cpu.stop()
        finished = time.monotonic()
        await sampling
        probe_errors = [r for r in await probing if isinstance(r, BaseException)]
    try:
        settled: float | None = await settle(backend, 120)
    except TimeoutError:
        settled = None

    reminders_sent = sorted(
        (s for s in tg.deliveries() if s.chat_id in tg.payers and s.body.startswith("Reminder: bill")),
        key=lambda s: s.at,
    )
    if len(reminders_sent) < 2:
        raise RuntimeError(f"only {len(reminders_sent)} reminders were delivered ({timed_out})")
    first, last = reminders_sent[0].at, reminders_sent[-1].at
    window = last - first
    sent = [s for s in tg.deliveries() if first <= s.at <= last]
    requests = [c.at for c in tg.counted_requests[requests_before:] if first <= c.at <= last]
    probe_requests = [
        c.at
        for c in tg.counted_requests[requests_before:]
        if first <= c.at <= last and c.chat_id in probe_chats
    ]
    per_payer = Counter(s.chat_id for s in reminders_sent)
    counts = per_second(requests, first, last)
    in_window = [(a, f, w) for a, f, w in sampler.samples if first <= a <= last]
    claims = [c for c in calls.claims[claims_before:] if c[4] == 2 and c[3] > 0 and first <= c[0] <= last]
    outcomes = Counter(courier.outcomes)
    outcomes.subtract(outcomes_before)
    return {
        "reminders": plan.reminders,
        "delivered": len(reminders_sent),
        "payers_reminded": len(per_payer),
        "duplicates": sum(n - 1 for n in per_payer.values() if n > 1),
        "trigger_to_first_s": first - triggered,
        "drain_s": window,
        "ideal_s": plan.reminders / TELEGRAM_RATE,
        "reminders_per_s": len(reminders_sent) / window,
        "messages": len(sent),
        "messages_per_s": len(sent) / window,
        "requests": len(requests),
        "requests_per_s": len(requests) / window,
        "probe_requests": len(probe_requests),
        "busiest_second": max(counts),
        "busiest_window": most_in_window(requests),
        "at_limit": at_the_limit(requests),
        "quietest_second": min(counts) if len(counts) > 2 else None,
        "seconds_below_25": sum(c < 25 for c in counts[1:-1]),
        "gaps": gaps_of(requests),
        "in_flight_median": statistics.median([f for _, f, _ in in_window]) if in_window else None,
        "gate_empty_share": (sum(w == 0 for _, _, w in in_window) / len(in_window)) if in_window else None,
        "claim_rtt_ms_p50": percentile([c[1] for c in claims], 50) * 1000 if claims else None,
        "claim_rtt_ms_p99": percentile([c[1] for c in claims], 99) * 1000 if claims else None,
        "claim_batch_p50": percentile([float(c[3]) for c in claims], 50) if claims else None,
        "claims": len(claims),
        "courier_outcomes": dict(outcomes),
        "limiter_retries": limiter.retries - retries_before,
        "states": await asyncio.to_thread(notice_states, backend.mongo_uri, "reminder"),
        "timed_out": timed_out,
        "limit_refusals": len(tg.limit_refusals) - refused_before,
        **latencies,
        "probe_errors": [repr(e) for e in probe_errors[:3]],
        "settle_s": settled,
        "cpu": {k: v / max(1e-9, finished - triggered) for k, v in used.items()},
    }


async def scenario(
    tg: DeliveryTelegram, backend: BackendProcess, world: World, plan: Plan, data_dir: Path
) -> dict[str, Any]:
    """The bot up, the flows, then the drain with its probes; the bot down even on error."""
    tg.loop = asyncio.get_running_loop()
    settings = bot_settings(tg, backend.url, data_dir, telegram_rate_scale=1.0, reminder_first=3600)
    assert settings.telegram_rate_scale == 1.0
    runner = BotRunner(settings)
    calls = Calls()
    result: dict[str, Any] = {}
    try:
        await runner.start()
        await measure(tg, backend, world, plan, runner, calls, result)
    except Exception as exc:  # what was measured before is kept; the report says what failed
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        result["refusals_total"] = len(tg.limit_refusals)
        await runner.stop()
    return result


async def measure(
    tg: DeliveryTelegram,
    backend: BackendProcess,
    world: World,
    plan: Plan,
    runner: BotRunner,
    calls: Calls,
    result: dict[str, Any],
) -> None:
    """The flows, then the drain with its probes, each into `result` as it ends."""
    app = runner.app
    assert app is not None and backend.process is not None
    calls.wrap(app.bot_data["backend"])
    pids = {
        "bot + fake + users": os.getpid(),
        "backend": backend.process.pid,
        "database": backend.db_pid(),
    }
    if world.flow_chats:
        log(f"flows: {len(world.flow_chats)} chats, a transfer or a bill each, at once")
        result["flows"] = await flows_phase(tg, world, pids)
        f = result["flows"]
        log(
            f"flows: {f['completed']}/{f['flows']} in {f['seconds']:.1f} s = {f['per_minute']:.0f}/min, "
            f"{f['messages_per_s']:.1f} messages/s, {f['limit_refusals']} 429s"
        )
        await settle(backend, 120)
    log(f"drain: the reminder job runs once with {plan.reminders} bills due; {len(world.probes)} probes")
    result["drain"] = await drain_phase(tg, runner, backend, world, plan, calls, pids)
    d = result["drain"]
    log(
        f"drain: {d['delivered']} reminders in {d['drain_s']:.1f} s = {d['reminders_per_s']:.1f}/s; "
        f"all messages {d['messages_per_s']:.1f}/s; {d['limit_refusals']} 429s; "
        f"/me p99 {percentile(d['me'], 99):.2f} s, OTP p99 {percentile(d['otp'], 99):.2f} s"
    )


# ---- the report -----------------------------------------------------------------------------


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def ms(samples: list[float]) -> str:
    """p50 / p99 in milliseconds."""
    return f"{percentile(samples, 50) * 1000:.0f} / {percentile(samples, 99) * 1000:.0f} ms"


def cpu_text(cpu: dict[str, float]) -> str:
    return ", ".join(f"{label} {share * 100:.0f}%" for label, share in cpu.items())


def render(
    info: dict[str, str], plan: Plan, result: dict[str, Any], runtime: float, seeding: dict[str, float]
) -> str:
    """The generated block of docs/BENCHMARKS.md."""
    kind = {"quick": "quick run, indicative only", "full": "full run"}.get(plan.name, plan.name)
    lines = [
        f"_Generated by `python -m bench.delivery` ({kind}) in {runtime / 60:.1f} min. "
        "Do not edit between the markers: the next run replaces it._",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info.items() if k in ("date", "cpu", "cores", "python", "stack")],
        "| Telegram | the strict fake, `Limits()`: 30 requests/s per bot, 4/1 s + 13/10 s + 63/60 s per "
        "private chat, 429 past them; the bot at `telegram_rate_scale=1.0` "
        f"({PACE:g}/s overall, per chat a burst of 3 then 1 per 1.1 s) |",
        f"| run | {plan.reminders:,} reminders, {plan.flows} flows, {plan.probes} probes × ≤ {plan.samples} "
        f"samples, think time {THINK} s; seeding: users {seeding['users']:.1f} s, logins "
        f"(POST /api/bot/link) {seeding['sessions']:.1f} s, bills (Bills.create) {seeding['bills']:.1f} s |",
        "",
    ]
    if "error" in result:
        lines += [f"**Run failed** — {result['error']}", ""]
    d, f = result.get("drain"), result.get("flows")
    if d:
        share = d["messages_per_s"] / TELEGRAM_RATE
        ratio = d["drain_s"] / d["ideal_s"]
        me99, otp99 = percentile(d["me"], 99), percentile(d["otp"], 99)
        lines += [
            "**Targets**",
            "",
            "| target | measured | met |",
            "|---|---|---|",
            f"| drain: messages delivered per second ÷ 30 ≥ {TARGETS['rate_share']:.0%} | "
            f"{share:.1%} ({d['messages_per_s']:.2f}/s; counted requests {d['requests_per_s']:.2f}/s) | "
            f"{yes(share >= TARGETS['rate_share'])} |",
            f"| drain time ÷ ({d['reminders']:,} / 30 s) ≤ {TARGETS['drain_ratio']}× | {ratio:.3f}× "
            f"({d['drain_s']:.1f} s ÷ {d['ideal_s']:.1f} s) | {yes(ratio <= TARGETS['drain_ratio'])} |",
            f"| reply round trip (/me) p99 during the drain < {TARGETS['p99_s']:.0f} s | {me99:.2f} s "
            f"(p50 {percentile(d['me'], 50):.2f} s, n={len(d['me'])}) | {yes(me99 < TARGETS['p99_s'])} |",
            f"| Confirm → OTP DM p99 during the drain < {TARGETS['p99_s']:.0f} s | {otp99:.2f} s "
            f"(p50 {percentile(d['otp'], 50):.2f} s, n={len(d['otp'])}) | {yes(otp99 < TARGETS['p99_s'])} |",
            f"| 429s caused by our own rate | {result.get('refusals_total', 0)} | "
            f"{yes(result.get('refusals_total', 0) == 0)} |",
            "",
            f"**Drain of {d['reminders']:,} reminders** (first → last reminder delivered)",
            "",
            "| | |",
            "|---|---|",
            f"| delivered | {d['delivered']:,} reminders to {d['payers_reminded']:,} payers, "
            f"{d['duplicates']} duplicates; outbox states {d['states']} |",
            f"| time | {d['drain_s']:.1f} s (job run → first reminder {d['trigger_to_first_s']:.2f} s) |",
            f"| rate | reminders {d['reminders_per_s']:.2f}/s; every message {d['messages_per_s']:.2f}/s; "
            f"every counted request (edits, deletes too) {d['requests_per_s']:.2f}/s, of which the probes' "
            f"{d['probe_requests'] / d['drain_s']:.2f}/s |",
            f"| drain time counting every request in the window | {d['requests'] / TELEGRAM_RATE:.1f} s at "
            f"30/s → {d['drain_s'] / (d['requests'] / TELEGRAM_RATE):.3f}×; at the bot's own pace of "
            f"{PACE:g}/s the floor is {TELEGRAM_RATE / PACE:.3f}× |",
            f"| per second | most in any sliding second {d['busiest_window']} (Telegram: 30; "
            f"{d['at_limit']} requests arrived with 29 others in the second before them); whole "
            f"seconds: busiest {d['busiest_second']}, quietest {d['quietest_second']}, "
            f"{d['seconds_below_25']} whole seconds below 25 |",
            f"| gaps between requests | median {d['gaps'].get('median_ms', 0):.1f} ms, p99 "
            f"{d['gaps'].get('p99_ms', 0):.1f} ms, max {d['gaps'].get('max_ms', 0):.0f} ms; "
            f"{d['gaps'].get('over_100ms', 0)} over 100 ms, {d['gaps'].get('over_500ms', 0)} over 500 ms; "
            f"time lost in stalls {d['gaps'].get('lost_s', 0):.1f} s |",
            f"| courier | median {d['in_flight_median']} notices in flight; gate empty in "
            f"{(d['gate_empty_share'] or 0) * 100:.1f}% of 0.25 s samples; {d['claims']} reminder claims, "
            f"batch p50 {d['claim_batch_p50']}, round trip p50 {d['claim_rtt_ms_p50'] or 0:.0f} ms / p99 "
            f"{d['claim_rtt_ms_p99'] or 0:.0f} ms; outcomes {d['courier_outcomes']}; limiter retries "
            f"{d['limiter_retries']} |",
            f"| Confirm → OTP DM, split (p50 / p99) | press → summary edited at the fake "
            f"{ms(d['press_to_edit'])}; → POST /api/processing answered {ms(d['edit_to_otp_answer'])}; "
            f"→ claimed by the courier {ms(d['otp_answer_to_claimed'])} (negative: before the answer); "
            f"→ DM at the fake {ms(d['claimed_to_dm'])} |",
            f"| 429s of our own rate | {d['limit_refusals']} |",
            f"| CPU (share of one core, job run → last reminder) | {cpu_text(d['cpu'])} |",
            "",
        ]
        if d["probe_errors"]:
            lines += [f"Probe errors: {d['probe_errors']}", ""]
    if f:
        lines += [
            f"**{f['flows']} flows at once** (half /transfer, half /bill, each with its OTP DM; "
            "no reminders)",
            "",
            "| | |",
            "|---|---|",
            f"| completed | {f['completed']}/{f['flows']} in {f['seconds']:.1f} s = **{f['per_minute']:.0f} "
            f"flows/min** |",
            f"| messages | {f['messages']:,} = **{f['messages_per_s']:.1f}/s**; counted requests "
            f"{f['requests']:,} = {f['requests_per_s']:.1f}/s; most in any sliding second "
            f"{f['busiest_second']} (Telegram: 30; {f['at_limit']} requests arrived with 29 others in "
            "the second before them) |",
            f"| one flow | p50 {f['flow_p50_s']:.1f} s, p99 {f['flow_p99_s']:.1f} s; Confirm → OTP DM p50 "
            f"{f['otp_p50_s']:.2f} s, p99 {f['otp_p99_s']:.2f} s |",
            f"| 429s of our own rate | {f['limit_refusals']} |",
            f"| CPU (share of one core) | {cpu_text(f['cpu'])} |",
            "",
        ]
        if f["errors"]:
            lines += [f"Flow errors: {f['errors']}", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(generated: str) -> None:
    """Replace the block between the delivery markers (add the section at the end if missing)."""
    text = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
    if BEGIN not in text:
        text = text.rstrip("\n") + f"\n\n{HEADING}\n\n{BEGIN}\n{END}\n"
    text = re.sub(
        f"{re.escape(BEGIN)}.*?{re.escape(END)}", lambda _: f"{BEGIN}\n{generated}{END}", text, flags=re.S
    )
    REPORT.write_text(text)


# ---- main -----------------------------------------------------------------------------------


def run(plan: Plan, work: Path) -> tuple[dict[str, Any], dict[str, float]]:
    """Start the fake and the backend, seed, run the scenario; stop everything even on error."""
    result: dict[str, Any] = {}
    seeding = {"users": 0.0, "sessions": 0.0, "bills": 0.0}
    tg = DeliveryTelegram()
    backend = BackendProcess(
        work / "backend",
        ENV="development",
        OTP_DELIVERY="telegram",
        BOT_API_SECRET=BOT_SECRET,
        JWT_SECRET=JWT_SECRET,
        LEDGER_LEASE_SECONDS="30",  # the product's defaults (BackendProcess sets test values)
        SWEEPER_INTERVAL_SECONDS="10",
        **BENCH_CAPS_ENV,
    )
    try:
        tg.start()
        backend.start(timeout=60)
        log(f"seeding {plan.reminders:,} payers, {plan.flows} flow chats, {plan.probes} probes, the bills")
        world, seeding = seed(backend, plan, work / "bot")
        log(f"seeded: {', '.join(f'{k} {v:.1f} s' for k, v in seeding.items())}")
        result = asyncio.run(scenario(tg, backend, world, plan, work / "bot"))
    except Exception as exc:  # the report says what failed; the processes are stopped below
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    finally:
        backend.stop()
        tg.stop()
    return result, seeding


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def main() -> int:
    stop_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2,000 reminders and 50 flows")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    for name in ("reminders", "flows", "probes", "samples"):
        parser.add_argument(f"--{name}", type=int, help=f"override the plan's {name} (implies --no-write)")
    args = parser.parse_args()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    plan = Plan.quick() if args.quick else Plan.full()
    overrides = {k: getattr(args, k) for k in ("reminders", "flows", "probes", "samples")}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:  # an experiment: never written into the report
        plan = dataclasses.replace(plan, name=f"{plan.name} with {overrides}", **overrides)
        args.no_write = True
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="mata-delivery-"))
    try:
        result, seeding = run(plan, work)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work, ignore_errors=True)
    runtime = time.perf_counter() - started
    generated = render(machine_info("embedded nx-27017"), plan, result, runtime, seeding)
    print(generated)
    if not args.no_write:
        write_report(generated)
        log(f"wrote {REPORT.relative_to(ROOT)}")
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())

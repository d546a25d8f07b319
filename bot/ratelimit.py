"""The one gate every request to Telegram passes: paced under Telegram's limits, by priority, retried.

Telegram allows about 30 messages a second per bot, about 1 a second per private chat (short
bursts tolerated) and 20 a minute per group, and answers 429 `retry_after` past them. PTB's
`AIORateLimiter` is the base, with three gaps for a wallet (see docs/BENCHMARKS.md and the README):
its buckets are leaky buckets that admit a full bucket at once and then the steady rate, so a busy
second can carry twice the limit; it has no per-private-chat bucket and no priorities; and a
`RetryAfter` for one chat pauses every chat. This subclass keeps its interface and its retry loop's
contract (`rate_limit_args`, `max_retries`) and replaces the buckets with one dispatcher that grants
requests in priority order, each grant spaced by a GCRA pace (smooth, no double bursts):

    overall     1 request per 1/27.5 s       (92 % of 30/s: margin for timing jitter)
    private     burst 3, then 1 per 1.1 s    per chat
    group       burst 3, then 1 per 3.75 s   per group (≤ 19 in any minute)

Priorities: REPLY (the answer to the person typing, and OTP DMs) before NOTICE (money received,
bill news) before REMINDER. A request waits only for higher-or-equal priority requests that can go
now, so 10,000 reminders draining never hold an OTP back for more than a grant or two. A request
that has waited AGE_BOOST seconds competes as a reply, so a notice to a chat busy with its own
flow is not starved.

Retries: a 429 pauses that chat alone for `retry_after` and tries again; 5xx answers and timeouts
(`NetworkError` but not `BadRequest`) back off exponentially with jitter (0.5 s doubling, capped at
15 s); every retry passes the gate again, so retries are counted in the pace. A request gives up
after its `patience` (seconds): a reply waits long (Telegram will take it), a courier notice gives
up sooner and goes back to the backend's outbox. 400/403 are never retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypedDict

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

REPLY, NOTICE, REMINDER = 0, 1, 2
REPLY_PATIENCE = 600.0  # seconds a reply keeps trying: a chat waits for its answer, not for an error
AGE_BOOST = 10.0  # seconds of waiting after which any request competes as a reply
BACKOFF_FIRST, BACKOFF_CAP = 0.5, 15.0


class RateArgs(TypedDict, total=False):
    """`rate_limit_args` of one request: its priority and how long it may keep trying."""

    priority: int
    patience: float


@dataclass
class Pace:
    """GCRA (a virtual-scheduling token bucket): `burst` at once, then one per `interval` seconds."""

    interval: float
    burst: int = 1
    # a grant this late is not lost: the dispatcher wakes ~1 ms after its time, and without this
    # every such millisecond would come off the rate (36.4 ms asked, 37.4 ms measured)
    slack: float = 0.0
    tat: float = 0.0  # theoretical arrival time of the next request
    paused_until: float = 0.0  # set by a 429 for this chat

    def wait(self, now: float) -> float:
        """Seconds until a request may go (0: now)."""
        ready = max(self.tat - self.interval * (self.burst - 1), self.paused_until)
        return max(0.0, ready - now)

    def take(self, now: float) -> None:
        """Count one request sent now."""
        self.tat = max(self.tat, now - self.slack) + self.interval

    def idle(self, now: float) -> bool:
        """True when forgetting this pace changes nothing."""
        return self.tat <= now and self.paused_until <= now


@dataclass(eq=False)
class _Waiter:
    priority: int
    seq: int
    chat: int
    future: asyncio.Future[None]
    since: float = 0.0

    def rank(self, now: float) -> tuple[int, int]:
        """Its place in line now: priority (a reply once it has waited long enough), then age."""
        return (REPLY if now - self.since >= AGE_BOOST else self.priority, self.seq)


class PriorityGate:
    """Grants requests one at a time: highest priority first, FIFO within one, every pace kept."""

    def __init__(
        self,
        overall: float = 1 / 27.5,
        private: tuple[float, int] = (1.1, 3),
        group: tuple[float, int] = (3.75, 3),
        clock: Callable[[], float] = time.monotonic,
        scale: float = 1.0,
    ) -> None:
        # scale < 1 compresses every interval alike: a fake Telegram whose windows are as
        # compressed (the functional e2e tests) sees the same shape of traffic, sooner
        self.overall = Pace(overall * scale, slack=overall * scale / 8)
        self.private = (private[0] * scale, private[1])
        self.group = (group[0] * scale, group[1])
        self.clock = clock
        self._paces: dict[int, Pace] = {}
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.granted = 0

    def pace_of(self, chat: int) -> Pace:
        """The pace of one chat (groups have negative ids)."""
        pace = self._paces.get(chat)
        if pace is None:
            interval, burst = self.group if chat < 0 else self.private
            pace = self._paces[chat] = Pace(interval, burst)
        return pace

    def pause(self, chat: int, seconds: float) -> None:
        """Telegram said 429 for this chat: nothing more to it for `seconds`."""
        pace = self.pace_of(chat)
        pace.paused_until = max(pace.paused_until, self.clock() + seconds)
        self._wake.set()

    def waiting(self, chat: int | None = None) -> int:
        """Requests waiting for a grant (for one chat, or all)."""
        return sum(1 for w in self._waiting if chat is None or w.chat == chat)

    async def acquire(self, chat: int, priority: int) -> None:
        """Wait for this request's turn."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._dispatch(), name="telegram-gate")
        loop = asyncio.get_running_loop()
        waiter = _Waiter(priority, next(self._seq), chat, loop.create_future(), self.clock())
        self._waiting.append(waiter)  # `rank` orders them when a grant is due
        self._wake.set()
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter in self._waiting:
                self._waiting.remove(waiter)
            raise

    async def close(self) -> None:
        """Stop the dispatcher."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _next(self, now: float) -> tuple[_Waiter | None, float]:
        """The best-ranked waiter that may go now, or how long until one may."""
        best: _Waiter | None = None
        soonest = float("inf")
        for waiter in self._waiting:
            if waiter.future.done():
                continue
            wait = self.pace_of(waiter.chat).wait(now)
            if wait > 0:
                soonest = min(soonest, wait)
            elif best is None or waiter.rank(now) < best.rank(now):
                best = waiter
        return (best, 0.0) if best is not None else (None, soonest)

    async def _dispatch(self) -> None:
        """The one loop that hands out grants."""
        while True:
            self._waiting = [w for w in self._waiting if not w.future.done()]
            now = self.clock()
            delay = self.overall.wait(now) if self._waiting else float("inf")
            waiter = None
            if delay == 0:
                waiter, delay = self._next(now)
            if waiter is not None:
                self._waiting.remove(waiter)
                self.overall.take(now)
                self.pace_of(waiter.chat).take(now)
                self.granted += 1
                waiter.future.set_result(None)
                self._forget_idle(now)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), None if delay == float("inf") else delay)

    def _forget_idle(self, now: float) -> None:
        """Drop paces of chats that have been quiet, so the table does not grow forever."""
        if len(self._paces) > 4096:
            self._paces = {chat: p for chat, p in self._paces.items() if not p.idle(now)}


def chat_of(data: dict[str, Any]) -> int | None:
    """The numeric chat a request goes to, if any (`@channel` names count as groups)."""
    chat_id = data.get("chat_id")
    if chat_id is None:
        return None
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return -abs(hash(chat_id)) or -1


def retry_after_of(exc: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (RetryAfter holds a timedelta in PTB 22)."""
    return float(exc._retry_after.total_seconds())  # noqa: SLF001 - the version-proof accessor


class TelegramRateLimiter(AIORateLimiter):
    """AIORateLimiter with Telegram's three scopes as paces, priorities and retries (see module)."""

    def __init__(self, gate: PriorityGate | None = None, *, reply_patience: float = REPLY_PATIENCE) -> None:
        # the parent's leaky buckets are switched off: the gate paces instead
        super().__init__(overall_max_rate=0, group_max_rate=0, max_retries=0)
        self.gate = gate or PriorityGate()
        self.reply_patience = reply_patience
        self.retries = 0

    async def shutdown(self) -> None:
        """Stop the gate's dispatcher."""
        await self.gate.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: RateArgs | int | None,  # type: ignore[override]
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Send one request when the gate allows; retry 429s, 5xx answers and timeouts."""
        options: RateArgs = rate_limit_args if isinstance(rate_limit_args, dict) else {}
        priority = options.get("priority", REPLY)
        deadline = time.monotonic() + options.get("patience", self.reply_patience)
        chat = chat_of(data)
        for attempt in itertools.count():
            if chat is not None:
                await self._turn(chat, priority, deadline, endpoint)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                wait = retry_after_of(exc) + 0.1
                if time.monotonic() + wait > deadline:
                    raise
                logger.info("%s to chat %s: 429, retrying in %.1f s", endpoint, chat, wait)
                if chat is None:
                    await asyncio.sleep(wait)
                else:
                    self.gate.pause(chat, wait)
            except BadRequest:
                raise
            except NetworkError as exc:  # 5xx, timeouts, connection errors
                if chat is None:
                    raise  # getMe, answerCallbackQuery...: their callers decide
                wait = min(BACKOFF_CAP, BACKOFF_FIRST * 2**attempt) * random.uniform(0.5, 1.0)  # noqa: S311
                if time.monotonic() + wait > deadline:
                    raise
                logger.info("%s to chat %s failed (%s); retrying in %.1f s", endpoint, chat, exc, wait)
                await asyncio.sleep(wait)
            self.retries += 1
        raise AssertionError("unreachable")

    async def _turn(self, chat: int, priority: int, deadline: float, endpoint: str) -> None:
        """Wait for the gate, but not past the request's patience (a notice then goes back to the
        outbox rather than outlive its lease and be sent twice)."""
        try:
            await asyncio.wait_for(self.gate.acquire(chat, priority), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise TimedOut(f"{endpoint} to chat {chat} waited past its patience for its turn") from None

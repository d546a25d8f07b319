"""The rate limiter on its own: paces, priorities, per-chat pauses and retries (no Telegram)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.ratelimit import NOTICE, REMINDER, REPLY, Pace, PriorityGate, TelegramRateLimiter


def test_pace_allows_a_burst_then_one_per_interval() -> None:
    pace = Pace(interval=1.0, burst=3)
    for _ in range(3):
        assert pace.wait(0.0) == 0
        pace.take(0.0)
    assert pace.wait(0.0) == pytest.approx(1.0)
    assert pace.wait(1.0) == 0
    pace.take(1.0)
    assert pace.wait(1.0) == pytest.approx(1.0)
    assert pace.idle(10.0) and not pace.idle(1.5)


def test_a_paused_chat_waits_until_the_pause_ends() -> None:
    pace = Pace(interval=0.1, burst=3, paused_until=5.0)
    assert pace.wait(1.0) == pytest.approx(4.0)
    assert pace.wait(5.0) == 0


async def test_higher_priority_goes_first_and_one_chat_keeps_its_order() -> None:
    gate = PriorityGate(overall=0.02, private=(0.0001, 100))
    order: list[str] = []

    async def ask(name: str, chat: int, priority: int) -> None:
        await gate.acquire(chat, priority)
        order.append(name)

    await gate.acquire(1, REPLY)  # the next grant is 20 ms away: everything below queues
    tasks = [asyncio.create_task(ask(f"reminder{i}", 100 + i, REMINDER)) for i in range(5)]
    tasks += [asyncio.create_task(ask(f"notice{i}", 2, NOTICE)) for i in range(2)]
    await asyncio.sleep(0)
    tasks.append(asyncio.create_task(ask("otp", 3, REPLY)))
    await asyncio.gather(*tasks)
    await gate.close()
    assert order[0] == "otp"
    assert order[1:3] == ["notice0", "notice1"]
    assert order[3:] == [f"reminder{i}" for i in range(5)]


async def test_overall_pace_spaces_grants() -> None:
    gate = PriorityGate(overall=0.01, private=(0.0001, 100))
    stamps: list[float] = []

    async def ask(chat: int) -> None:
        await gate.acquire(chat, NOTICE)
        stamps.append(time.monotonic())

    await asyncio.gather(*(ask(chat) for chat in range(1, 31)))
    await gate.close()
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) >= 0.008  # never two grants closer than the pace less its slack (1.25 ms)
    assert stamps[-1] - stamps[0] >= 0.28


async def test_a_chat_over_its_pace_does_not_hold_up_other_chats() -> None:
    gate = PriorityGate(overall=0.001, private=(10.0, 1))
    await gate.acquire(1, REPLY)  # chat 1 now waits 10 s for its next grant
    blocked = asyncio.create_task(gate.acquire(1, REPLY))
    await asyncio.wait_for(gate.acquire(2, REMINDER), timeout=1)  # the other chat is not held up
    assert not blocked.done()
    blocked.cancel()
    await gate.close()


class Calls:
    """A fake Bot API callback answering from a script of exceptions and results."""

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.count = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.count += 1
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


async def send(limiter: TelegramRateLimiter, calls: Calls, chat: int | None = 5, **args: Any) -> Any:
    data = {"chat_id": chat} if chat is not None else {}
    return await limiter.process_request(calls, (), {}, "sendMessage", data, args or None)


async def test_429_and_5xx_are_retried_400_and_403_are_not() -> None:
    limiter = TelegramRateLimiter(PriorityGate(overall=0.001, private=(0.001, 10)))
    calls = Calls(RetryAfter(0), NetworkError("Bad Gateway"), TimedOut(), {"ok": True})
    assert await send(limiter, calls) == {"ok": True}
    assert calls.count == 4 and limiter.retries == 3
    for refusal in (BadRequest("Chat not found"), Forbidden("blocked")):
        once = Calls(refusal)
        with pytest.raises(type(refusal)):
            await send(limiter, once)
        assert once.count == 1
    await limiter.shutdown()


async def test_a_notice_gives_up_after_its_patience() -> None:
    limiter = TelegramRateLimiter(PriorityGate(overall=0.001, private=(0.001, 10)))
    calls = Calls(*[NetworkError("Bad Gateway")] * 20)
    started = time.monotonic()
    with pytest.raises(NetworkError):
        await send(limiter, calls, priority=NOTICE, patience=1.0)
    assert time.monotonic() - started < 1.5 and 1 < calls.count < 20
    long_wait = Calls(RetryAfter(30))
    with pytest.raises(RetryAfter):  # Telegram's wait is past the patience: back to the outbox
        await send(limiter, long_wait, priority=NOTICE, patience=5.0)
    await limiter.shutdown()


async def test_requests_without_a_chat_pass_the_gate_and_are_not_retried_on_5xx() -> None:
    limiter = TelegramRateLimiter(PriorityGate(overall=100.0))  # no chat request could go now
    assert await send(limiter, Calls(True), chat=None) is True
    with pytest.raises(NetworkError):
        await send(limiter, Calls(NetworkError("Bad Gateway"), True), chat=None)
    await limiter.shutdown()


async def test_a_notice_to_a_chat_busy_with_its_flow_is_not_starved(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.ratelimit.AGE_BOOST", 0.3)
    gate = PriorityGate(overall=0.001, private=(0.05, 1))
    notice = asyncio.create_task(gate.acquire(7, NOTICE))
    started = time.monotonic()
    replies = 0
    while not notice.done() and time.monotonic() - started < 3:
        await gate.acquire(7, REPLY)  # the person keeps typing: a reply is always waiting
        replies += 1
        await asyncio.sleep(0)
    assert notice.done() and time.monotonic() - started < 1.0 and replies >= 3
    await gate.close()


async def test_a_notice_does_not_wait_for_its_turn_past_its_patience() -> None:
    limiter = TelegramRateLimiter(PriorityGate(overall=0.001, private=(100.0, 1)))
    await limiter.gate.acquire(9, REPLY)  # chat 9 has no turn for 100 s
    calls = Calls(True)
    with pytest.raises(TimedOut):
        await send(limiter, calls, chat=9, priority=NOTICE, patience=0.3)
    assert calls.count == 0 and limiter.gate.waiting(9) == 0
    await limiter.shutdown()

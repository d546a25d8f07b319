"""End to end, when the backend fails under the bot: killed, frozen in place (too slow), or when
the chat's access token expires. The user always gets a plain sentence and the flow ends; the
same chat works again once the backend is back; money moves at most once."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jwt
import pytest

from tests.bot.conftest import BackendHandle, BotRunner
from tests.bot.scenario import (
    balance_of,
    confirm_and_read_otp,
    deposit_seen,
    register,
    start_transfer,
    transfer,
    transfers_of,
    unique,
)
from tests.fakes.telegram_api import FakeTelegram

SLOW_TIMEOUT = 1.5  # seconds the bot waits for the backend in the "too slow" tests


@pytest.fixture
def bot_backend(backend_factory: Any) -> BackendHandle:
    """These tests kill or stop their backend: each gets a process of its own."""
    return backend_factory()  # type: ignore[no-any-return]


@contextmanager
def backend_frozen(backend: BackendHandle) -> Iterator[None]:
    """SIGSTOP the backend process: it accepts connections but answers nothing until SIGCONT."""
    process = backend.process.process
    process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        process.send_signal(signal.SIGCONT)


async def until_expired(token: str) -> None:
    """Sleep until the backend refuses this access token as expired."""
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.2)


async def impatient(runner: BotRunner) -> None:
    """Restart the bot with a short BACKEND_TIMEOUT (the login survives the restart)."""
    runner.settings = runner.settings.model_copy(update={"backend_timeout": SLOW_TIMEOUT})
    await runner.restart()


async def test_backend_killed_at_the_otp_step(telegram: FakeTelegram, two_users: dict[str, Any]) -> None:
    alice, backend = two_users["alice"], two_users["backend"]
    summary = await start_transfer(telegram, alice, two_users["bob_name"])
    code = await confirm_and_read_otp(telegram, alice, summary)
    backend.process.kill()  # kill -9 while the user reads the code
    otp_id = telegram.send_text(alice, code)
    answer = await telegram.next_message(alice)
    assert answer.body == (
        "The service is not reachable right now. Please try again later — nothing was charged."
    )
    assert otp_id in telegram.deleted(alice)
    telegram.send_text(alice, code)  # the flow is over: the code is not taken as an OTP again
    await telegram.wait_for(alice, "did not understand")

    backend.process.start()
    assert await balance_of(telegram, alice) == "Rp500.000"
    assert transfers_of(backend, two_users["alice_name"]) == []
    await transfer(telegram, alice, two_users["bob_name"], "20rb", "Sent Rp20.000")


async def test_backend_too_slow_before_the_money_step(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, backend = two_users["alice"], two_users["backend"]
    await impatient(two_users["runner"])
    summary = await start_transfer(telegram, alice, two_users["bob_name"])
    with backend_frozen(backend):
        telegram.press(alice, summary.data_of("Confirm"), message_id=summary.message_id)
        answer = await telegram.wait_for(alice, "try again later")
        assert "nothing was charged" in answer.body
        telegram.send_text(alice, "/me")  # still no backend: the same sentence, nothing hangs
        await telegram.wait_for(alice, "try again later")
    assert await balance_of(telegram, alice) == "Rp500.000"
    await transfer(telegram, alice, two_users["bob_name"], "10rb", "Sent Rp10.000")


async def test_backend_too_slow_at_the_money_step_moves_the_money_once(
    telegram: FakeTelegram, two_users: dict[str, Any]
) -> None:
    alice, backend = two_users["alice"], two_users["backend"]
    await impatient(two_users["runner"])
    summary = await start_transfer(telegram, alice, two_users["bob_name"])
    code = await confirm_and_read_otp(telegram, alice, summary)
    with backend_frozen(backend):
        telegram.send_text(alice, code)
        # The request may already sit in the backend's socket: "nothing was charged" would be a
        # guess, so the bot says what it knows and points at /history.
        answer = await telegram.wait_for(alice, "did not answer in time", timeout=4 * SLOW_TIMEOUT)
        assert "/history" in answer.body
    telegram.send_text(alice, "/history")  # the chat is not stuck
    await telegram.wait_for(alice, "page 1")
    # Resumed, the backend works off the request and its retry (same Idempotency-Key): once.
    await telegram.wait_until(lambda: transfers_of(backend, two_users["alice_name"]), timeout=3)
    await asyncio.sleep(0.5)
    moved = transfers_of(backend, two_users["alice_name"])
    assert len(moved) == 1 and moved[0]["state"] == "done"
    assert await balance_of(telegram, alice) == "Rp450.000"


async def test_expired_access_token_is_renewed_without_the_password(
    telegram: FakeTelegram, backend_factory: Any, bot_factory: Any, new_chat: Any
) -> None:
    backend = backend_factory(ACCESS_TOKEN_TTL_SECONDS="2")
    runner = await bot_factory(backend.url)
    alice, bob = new_chat("Alice"), new_chat("Bob")
    alice_name, bob_name = unique("alice"), unique("bob")
    await register(telegram, alice, alice_name, "Alice")
    await register(telegram, bob, bob_name, "Bob")
    await deposit_seen(telegram, alice, backend, alice_name, 100_000)
    session = runner.app.chat_data[alice]["session"]
    first_token = session["access_token"]
    registered = len(telegram.sent(alice))
    await until_expired(first_token)
    refused = httpx.get(backend.url + "/api/user", headers={"Authorization": f"Bearer {first_token}"})
    assert refused.status_code == 401  # the token really has expired
    assert await balance_of(telegram, alice) == "Rp100.000"
    assert session["access_token"] != first_token  # renewed through /api/bot/refresh

    summary = await start_transfer(telegram, alice, bob_name, "30rb")
    telegram.press(alice, summary.data_of("Confirm"), message_id=summary.message_id)
    code = await telegram.read_otp(alice)
    await until_expired(session["access_token"])  # again, between the OTP and the transfer
    telegram.send_text(alice, code)
    await telegram.wait_for(alice, "Sent Rp30.000")
    since = " ".join(s.body for s in telegram.sent(alice)[registered:])
    assert "/login" not in since and "password" not in since  # never asked to log in again

"""What a user (or an admin) does in the end-to-end tests, step by step, through the fake server.

Each helper types what a person would type and waits for what the bot answers, so a test reads
like the chat it checks.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx

from tests.fakes.telegram_api import FakeTelegram, Sent

if TYPE_CHECKING:  # conftest imports this module
    from tests.bot.conftest import BackendHandle

PASSWORD = "rahasia-123"
ADMIN = {"username": "admin", "password": "admin-pass-123"}


def unique(prefix: str) -> str:
    """A username nobody else in the session has."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def admin_call(backend: BackendHandle, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One admin REST call (signed in as the test admin)."""
    with httpx.Client(base_url=backend.url, timeout=10) as http:
        signin = http.post("/api/auth/signin", json=ADMIN)
        assert signin.status_code == 200, signin.text
        headers = {"Authorization": f"Bearer {signin.json()['accessToken']}"}
        return http.request(method, path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs)


async def deposit_seen(
    telegram: FakeTelegram, chat: int, backend: BackendHandle, username: str, amount: int
) -> None:
    """Admin deposit, and the user reads the wallet's "added to your wallet" notice."""
    deposit(backend, username, amount)
    await telegram.wait_for(chat, "added to your wallet")


def deposit(backend: BackendHandle, username: str, amount: int) -> None:
    """Admin deposit through the backend's REST API (the user's chat gets a notice)."""
    response = admin_call(
        backend,
        "POST",
        f"/api/admin/users/{username}/deposit",
        json={"amount": amount, "reference": "e2e top-up"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 201, response.text


def profile(backend: BackendHandle, username: str) -> dict[str, Any]:
    """A user as the admin sees it (balance, contact, frozen, lang)."""
    response = admin_call(backend, "GET", "/api/admin/users", params={"q": username})
    assert response.status_code == 200, response.text
    found = [u for u in response.json()["items"] if u["username"] == username]
    assert found, f"no user {username}"
    return found[0]  # type: ignore[no-any-return]


def transfers_of(backend: BackendHandle, username: str) -> list[dict[str, Any]]:
    """Every transfer record of a user in the ledger (any state)."""
    response = admin_call(
        backend, "GET", "/api/admin/ledger", params={"kind": "transfer", "username": username}
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def start_register(telegram: FakeTelegram, chat: int, username: str, name: str) -> None:
    """/register up to the email question."""
    telegram.send_text(chat, "/register")
    await telegram.wait_for(chat, "username")
    telegram.send_text(chat, username)
    await telegram.wait_for(chat, "name")
    telegram.send_text(chat, name)
    await telegram.wait_for(chat, "email")


async def register(telegram: FakeTelegram, chat: int, username: str, name: str) -> None:
    """/register through the bot, skipping email and phone."""
    await start_register(telegram, chat, username, name)
    telegram.send_text(chat, "Skip")
    await telegram.wait_for(chat, "phone")
    telegram.send_text(chat, "/skip")
    await telegram.wait_for(chat, "password")
    password_id = telegram.send_text(chat, PASSWORD)
    await telegram.wait_for(chat, f"@{username}")
    assert password_id in telegram.deleted(chat)


async def balance_of(telegram: FakeTelegram, chat: int) -> str:
    """/me → the balance the bot shows."""
    telegram.send_text(chat, "/me")
    return (await telegram.wait_for(chat, "Balance")).body.split("Balance: ")[1].split("\n")[0]


def is_summary(sent: Sent) -> bool:
    """A summary with Confirm / Cancel under it."""
    return any(data.startswith("cf:") for _, data in sent.buttons)


TRANSFER_PROMPTS = ("Who", "How much", "description")  # the bot's questions, in English


async def start_transfer(
    telegram: FakeTelegram,
    chat: int,
    recipient: str,
    amount: str = "50rb",
    prompts: tuple[str, str, str] = TRANSFER_PROMPTS,
) -> Sent:
    """/transfer up to the summary (description skipped). → the summary message"""
    telegram.send_text(chat, "/transfer")
    await telegram.wait_for(chat, prompts[0])
    telegram.send_text(chat, recipient)
    await telegram.wait_for(chat, prompts[1])
    telegram.send_text(chat, amount)
    await telegram.wait_for(chat, prompts[2])
    telegram.send_text(chat, "/skip")
    return await telegram.wait_for(chat, is_summary)


async def confirm_and_type_otp(
    telegram: FakeTelegram, chat: int, summary: Sent | None = None, *, presses: int = 1
) -> int:
    """Press Confirm under `summary` (else the next one), read the OTP DM, type it. → its id"""
    summary = summary or await telegram.wait_for(chat, is_summary)
    for _ in range(presses):
        telegram.press(chat, summary.data_of("Confirm"), message_id=summary.message_id)
    code = await telegram.read_otp(chat)
    return telegram.send_text(chat, code)


async def transfer(telegram: FakeTelegram, chat: int, recipient: str, amount: str, sent: str) -> None:
    """A whole /transfer (description skipped), until the bot's answer containing `sent`."""
    summary = await start_transfer(telegram, chat, recipient, amount)
    await confirm_and_type_otp(telegram, chat, summary)
    await telegram.wait_for(chat, sent)


async def otp_and_prompt(
    telegram: FakeTelegram, chat: int, prompt: str = "Type it here", timeout: float = 10.0
) -> str:
    """The OTP DM and the bot's "type it", in whichever order they arrive. → the code

    The DM leaves through the wallet's outbox and the prompt is the bot's reply: two senders."""
    code: str | None = None
    seen_prompt = False
    while code is None or not seen_prompt:
        sent = await telegram.wait_for(chat, lambda s: is_otp_dm(s) or prompt in s.body, timeout)
        if is_otp_dm(sent):
            code = sent.otp()
        else:
            seen_prompt = True
    return code


def is_otp_dm(sent: Sent) -> bool:
    """The wallet's OTP DM (other texts may hold six digits too: a username, a bill code)."""
    return "OTP" in sent.body and sent.otp() is not None


async def confirm_and_read_otp(telegram: FakeTelegram, chat: int, summary: Sent) -> str:
    """Press Confirm under `summary`, read the OTP DM and the bot's "type it". → the code"""
    telegram.press(chat, summary.data_of("Confirm"), message_id=summary.message_id)
    return await otp_and_prompt(telegram, chat)


async def start_bill(
    telegram: FakeTelegram,
    issuer: int,
    payer_name: str,
    amount: str,
    *,
    what: str = "Patungan",
    skip: str = "/skip",
) -> Sent:
    """/bill up to the summary (description skipped with `skip`). → the summary message"""
    telegram.send_text(issuer, "/bill")
    await telegram.wait_for(issuer, "What is the bill for")
    telegram.send_text(issuer, what)
    await telegram.wait_for(issuer, "Who should pay")
    telegram.send_text(issuer, payer_name)
    await telegram.wait_for(issuer, "How much")
    telegram.send_text(issuer, amount)
    await telegram.wait_for(issuer, "description")
    telegram.send_text(issuer, skip)
    return await telegram.wait_for(issuer, is_summary)


async def issue_bill(telegram: FakeTelegram, issuer: int, payer_name: str, amount: str) -> str:
    """/bill through the bot; → the bill code."""
    summary = await start_bill(telegram, issuer, payer_name, amount)
    await confirm_and_type_otp(telegram, issuer, summary)
    created = await telegram.wait_for(issuer, "created")
    return created.body.split("?start=pay_")[1].split()[0]

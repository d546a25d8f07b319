"""Many users at once, for the delivery scenarios and the bench: accounts made through the bot's
own register route, their chats logged in the way a bot restart finds them (its persistence file),
whole flows typed concurrently, and the books checked at the end.
"""

from __future__ import annotations

import asyncio
import random
import string
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient
from telegram.ext import PersistenceInput, PicklePersistence

from backend.bills import Bills
from backend.db import Store
from tests.bot.scenario import PASSWORD, admin_call, is_summary, otp_and_prompt
from tests.fakes.telegram_api import FakeTelegram, Sent

STEP = 120.0  # seconds one step may take when hundreds of chats share Telegram's 30/s


@dataclass
class Member:
    """One user: their chat and username."""

    chat: int
    username: str


def make_members(
    backend_url: str, bot_secret: str, chats: Iterable[int], prefix: str = "u"
) -> tuple[list[Member], dict[int, dict[str, Any]]]:
    """Register one account per chat through /api/bot/register (each chat linked).
    → the members, and each chat's session answer (for `log_in_chats`)"""
    chats = list(chats)
    tag = "".join(random.choices(string.ascii_lowercase, k=6))  # no digits: never mistaken for a code

    def register(chat: int) -> tuple[Member, dict[str, Any]]:
        username = f"{prefix}{tag}_{chat % 100_000}"
        body = {
            "chat_id": chat,
            "username": username,
            "password": PASSWORD,
            "name": f"User {chat}",
            "lang": "en",
        }
        with httpx.Client(base_url=backend_url, timeout=60) as http:
            answer = http.post("/api/bot/register", json=body, headers={"X-Bot-Secret": bot_secret})
        assert answer.status_code == 201, answer.text
        return Member(chat, username), answer.json()

    with ThreadPoolExecutor(4) as pool:
        registered = list(pool.map(register, chats))
    return [member for member, _ in registered], {m.chat: answer for m, answer in registered}


async def log_in_chats(persistence_path: Path, sessions: dict[int, dict[str, Any]]) -> None:
    """Write the chats' logins into the bot's persistence file, as a bot restart would find them."""
    persistence_path.parent.mkdir(parents=True, exist_ok=True)
    persistence: PicklePersistence = PicklePersistence(
        filepath=persistence_path,
        store_data=PersistenceInput(bot_data=False, user_data=False, callback_data=False),
    )
    for chat, answer in sessions.items():
        session = {
            "access_token": answer["accessToken"],
            "refresh_token": answer["refreshToken"],
            "username": answer["username"],
        }
        await persistence.update_chat_data(chat, {"session": session, "lang": "en"})
    await persistence.flush()


def deposit_all(backend: Any, members: Iterable[Member], amount: int) -> None:
    """An admin deposit into every account."""
    with httpx.Client(base_url=backend.url, timeout=30) as http:
        token = http.post("/api/auth/signin", json={"username": "admin", "password": "admin-pass-123"})
        headers = {"Authorization": f"Bearer {token.json()['accessToken']}"}
        for member in members:
            answer = http.post(
                f"/api/admin/users/{member.username}/deposit",
                json={"amount": amount, "reference": "crowd top-up"},
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )
            assert answer.status_code == 201, answer.text


def open_bills(
    mongo_uri: str, pairs: Iterable[tuple[Member, Member]], amount: int, *, due: bool
) -> list[str]:
    """Open bills issuer → payer made by the product's own Bills.create; with `due` they were
    last reminded a day ago (a controlled clock), so the next reminder run takes them all."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    try:
        store = Store(client, client["mata_duitan"])
        bills, codes = Bills(store), []
        for issuer, payer in pairs:
            issuer_doc = store.users.find_one({"_id": issuer.username})
            payer_doc = store.users.find_one({"_id": payer.username})
            assert issuer_doc and payer_doc
            bill, _ = bills.create(
                issuer=issuer_doc,
                payer=payer_doc,
                bill_name="Iuran",
                amount=amount,
                description=None,
                due_date=None,
            )
            codes.append(bill["code"])
        for code in codes if due else ():
            store.bills.update_one({"_id": code}, {"$inc": {"reminded_at": -86_400_000}})
        return codes
    finally:
        client.close()


def notices(mongo_uri: str, **query: Any) -> list[dict[str, Any]]:
    """Documents of the backend's outbox."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    try:
        return list(client["mata_duitan"]["notices"].find(query))
    finally:
        client.close()


def reconcile(backend: Any) -> dict[str, Any]:
    """The books check (admin)."""
    answer = admin_call(backend, "GET", "/api/admin/reconcile")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def step(telegram: FakeTelegram, chat: int, typed: str | None, expect: Any) -> Sent:
    """Type (or not) and wait for the bot's answer matching `expect`."""
    if typed is not None:
        telegram.send_text(chat, typed)
    return await telegram.wait_for(chat, expect, timeout=STEP)


async def transfer_flow(telegram: FakeTelegram, chat: int, recipient: str, amount: str, note: str) -> Sent:
    """A whole /transfer typed by a person, with a description. → the bot's "Sent ..." answer"""
    await step(telegram, chat, "/transfer", "Who do you want")
    await step(telegram, chat, recipient, "How much")
    await step(telegram, chat, amount, "description")
    summary = await step(telegram, chat, note, is_summary)
    telegram.press(chat, summary.data_of("Confirm"), message_id=summary.message_id)
    code = await otp_and_prompt(telegram, chat, timeout=STEP)
    return await step(telegram, chat, code, lambda s: s.body.startswith("Sent "))


async def bill_flow(telegram: FakeTelegram, chat: int, payer: str, amount: str, what: str) -> Sent:
    """A whole /bill typed by a person. → the bot's "Bill ... created" answer"""
    await step(telegram, chat, "/bill", "What is the bill for")
    await step(telegram, chat, what, "Who should pay")
    await step(telegram, chat, payer, "How much")
    await step(telegram, chat, amount, "description")
    summary = await step(telegram, chat, "/skip", is_summary)
    telegram.press(chat, summary.data_of("Confirm"), message_id=summary.message_id)
    code = await otp_and_prompt(telegram, chat, timeout=STEP)
    return await step(telegram, chat, code, lambda s: s.body.startswith("Bill ") and "created" in s.body)


async def all_of(*flows: Any) -> list[Any]:
    """Run flows concurrently; fail with the first error after all have ended."""
    results = await asyncio.gather(*flows, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise AssertionError(
            f"{len(errors)} of {len(results)} flows failed; first: {errors[0]!r}"
        ) from errors[0]
    return results

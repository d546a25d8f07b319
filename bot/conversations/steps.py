"""Steps more than one flow takes: the username, the password, a skippable answer, and the
greeting after a login (the other party of a transfer or bill: counterparty.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Update

from bot import validate
from bot.common import Context, flow, save_login, say, session_of, try_to_delete
from bot.keyboards import SKIP_PATTERN
from bot.money import format_amount


async def already_logged_in(update: Update, context: Context) -> bool:
    """True after telling a logged-in chat so (/register and /login are for logged-out chats)."""
    session = session_of(context)
    if session:
        await say(update, context, "already_logged_in", username=session["username"])
    return bool(session)


async def read_username(update: Update, context: Context) -> str | None:
    """The username the user typed, or None after saying it is not a valid one."""
    assert update.message is not None
    username = validate.username(update.message.text or "")
    if username is None:
        await say(update, context, "username_invalid")
    return username


async def take_password(update: Update) -> str:
    """The password the user typed; its message is deleted at once."""
    assert update.message is not None
    password = update.message.text or ""
    await try_to_delete(update.message)
    return password


async def logged_in(context: Context, answer: dict[str, Any]) -> dict[str, str]:
    """Keep the login of a register/link answer. → the name, username and balance to greet."""
    await save_login(context, answer)
    balance = format_amount(answer.get("amount_credit", 0))
    return {"name": answer["name"], "username": answer["username"], "balance": balance}


def optional_answer(update: Update, check: Callable[[str], str | None]) -> tuple[bool, str | None]:
    """(accepted, value) of a skippable step: Skip or /skip is (True, None), invalid (False, None)."""
    assert update.message is not None
    text = update.message.text or ""
    if text == "/skip" or SKIP_PATTERN.match(text):
        return True, None
    value = check(text)
    return value is not None, value


async def store_description(update: Update, context: Context) -> bool:
    """Store the description (None when skipped); False after saying it is not valid."""
    accepted, description = optional_answer(update, validate.description)
    if not accepted:
        await say(update, context, "description_invalid")
        return False
    flow(context)["description"] = description
    return True

"""The other party of a transfer or a bill: ask the username → look the user up → show their name
→ the flow's next question. Shared by /transfer (the recipient) and /bill (the payer)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.client import BackendError
from bot.common import Context, backend, flow, guarded, require_session, say
from bot.conversations.steps import read_username


@dataclass(frozen=True)
class Counterparty:
    """One flow's counterparty step: its state, its texts, where it keeps the answer, what is next."""

    state: int
    role: str  # the flow data keys: `role` (the username) and `role`_name (the name shown)
    ask: str  # text keys: the question,
    is_self: str  # the refusal of one's own username,
    found: str  # and the line saying who was found
    then: Callable[[Update, Context], Awaitable[int]]  # asks the next question → its state


async def ask_counterparty(update: Update, context: Context, party: Counterparty) -> int:
    """Ask who the other party is."""
    await say(update, context, party.ask)
    return party.state


async def _look_up(update: Update, context: Context, party: Counterparty) -> dict[str, Any] | None:
    """The user named in the message, or None after saying why it cannot be them."""
    session = require_session(context)
    username = await read_username(update, context)
    if username is None:
        return None
    if username == session["username"]:
        await say(update, context, party.is_self)
        return None
    try:
        user: dict[str, Any] = await backend(context).find_user(session, username)
    except BackendError as exc:
        if exc.code not in ("user_not_found", "not_found"):
            raise
        await say(update, context, "error_user_not_found")
        return None
    return user


async def got_counterparty(update: Update, context: Context, party: Counterparty) -> int:
    """Look the typed username up and show the name; store both and ask the next question."""
    user = await _look_up(update, context, party)
    if user is None:
        return party.state
    username, name = user["username"], user["name"]
    flow(context).update({party.role: username, f"{party.role}_name": name})
    await say(update, context, party.found, username=username, name=name)
    return await party.then(update, context)


def counterparty_states(party: Counterparty) -> dict[object, list[BaseHandler]]:
    """The state that waits for the other party's username."""
    step = guarded(functools.partial(got_counterparty, party=party))  # type: ignore[arg-type]
    return {party.state: [MessageHandler(filters.TEXT & ~filters.COMMAND, step)]}

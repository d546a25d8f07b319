"""/login: username → password (deleted at once) → this chat is logged in."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import validate
from bot.client import BackendError
from bot.common import (
    END,
    Context,
    backend,
    end_flow,
    flow,
    guarded,
    lang_of,
    save_login,
    say,
    session_of,
    try_to_delete,
)
from bot.money import format_amount

USERNAME, PASSWORD = range(20, 22)
TEXT = filters.TEXT & ~filters.COMMAND


@guarded
async def start(update: Update, context: Context) -> int:
    """/login: refuse if logged in, else ask the username."""
    session = session_of(context)
    if session:
        await say(update, context, "already_logged_in", username=session["username"])
        return END
    end_flow(context)
    flow(context)["name"] = "login"
    await say(update, context, "login_username")
    return USERNAME


@guarded
async def got_username(update: Update, context: Context) -> int:
    """Store the username; ask the password."""
    assert update.message is not None
    username = validate.username(update.message.text or "")
    if username is None:
        await say(update, context, "username_invalid")
        return USERNAME
    flow(context)["username"] = username
    await say(update, context, "login_password")
    return PASSWORD


@guarded
async def got_password(update: Update, context: Context) -> int:
    """Delete the password message, log in and link this chat; wrong → ask the username again."""
    assert update.message is not None and update.effective_chat is not None
    password = update.message.text or ""
    await try_to_delete(update.message)
    try:
        answer = await backend(context).link(
            chat_id=update.effective_chat.id,
            username=flow(context)["username"],
            password=password,
            lang=lang_of(update, context),
        )
    except BackendError as exc:
        if exc.code != "invalid_credentials":
            raise
        await say(update, context, "error_invalid_credentials")
        await say(update, context, "login_username")
        return USERNAME
    await save_login(context, answer)
    balance = format_amount(answer.get("amount_credit", 0))
    await say(
        update,
        context,
        "login_done",
        name=answer["name"],
        username=answer["username"],
        balance=balance,
    )
    return end_flow(context)


ENTRY_POINTS: list[BaseHandler] = [CommandHandler("login", start)]
STATES: dict[object, list[BaseHandler]] = {
    USERNAME: [MessageHandler(TEXT, got_username)],
    PASSWORD: [MessageHandler(TEXT, got_password)],
}

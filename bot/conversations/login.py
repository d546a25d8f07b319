"""/login: username → password (deleted at once) → this chat is logged in."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.client import BackendError
from bot.common import END, Context, backend, end_flow, flow, guarded, lang_of, say, start_flow
from bot.conversations.steps import already_logged_in, logged_in, read_username, take_password

USERNAME, PASSWORD = range(20, 22)
TEXT = filters.TEXT & ~filters.COMMAND


@guarded
async def start(update: Update, context: Context) -> int:
    """/login: refuse if logged in, else ask the username."""
    if await already_logged_in(update, context):
        return END
    start_flow(context, "login")
    await say(update, context, "login_username")
    return USERNAME


@guarded
async def got_username(update: Update, context: Context) -> int:
    """Store the username; ask the password."""
    username = await read_username(update, context)
    if username is None:
        return USERNAME
    flow(context)["username"] = username
    await say(update, context, "login_password")
    return PASSWORD


@guarded
async def got_password(update: Update, context: Context) -> int:
    """Delete the password message, log in and link this chat; wrong → ask the username again."""
    assert update.effective_chat is not None
    password = await take_password(update)
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
    greeting = await logged_in(context, answer)
    await say(update, context, "login_done", **greeting)
    return end_flow(context)


ENTRY_POINTS: list[BaseHandler] = [CommandHandler("login", start)]
STATES: dict[object, list[BaseHandler]] = {
    USERNAME: [MessageHandler(TEXT, got_username)],
    PASSWORD: [MessageHandler(TEXT, got_password)],
}

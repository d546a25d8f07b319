"""/register: username → name → email (skippable) → phone (skippable) → password → logged in."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import validate
from bot.client import BackendError
from bot.common import END, Context, backend, end_flow, flow, guarded, lang_of, say, start_flow
from bot.conversations.steps import (
    already_logged_in,
    logged_in,
    optional_answer,
    read_username,
    take_password,
)
from bot.keyboards import SKIP_PATTERN, contact_keyboard, skip_keyboard

USERNAME, NAME, EMAIL, CONTACT, PASSWORD = range(10, 15)
TEXT = filters.TEXT & ~filters.COMMAND
SKIP = filters.Regex(SKIP_PATTERN)


@guarded
async def start(update: Update, context: Context) -> int:
    """/register: refuse if logged in, else ask the username."""
    if await already_logged_in(update, context):
        return END
    start_flow(context, "register")
    await say(update, context, "register_username")
    return USERNAME


@guarded
async def got_username(update: Update, context: Context) -> int:
    """Store the username; ask the name (or, after "taken", straight the password)."""
    username = await read_username(update, context)
    if username is None:
        return USERNAME
    flow(context)["username"] = username
    if "full_name" in flow(context):
        await say(update, context, "register_password")
        return PASSWORD
    await say(update, context, "register_name")
    return NAME


@guarded
async def got_name(update: Update, context: Context) -> int:
    """Store the name; ask the email."""
    assert update.message is not None
    full_name = validate.name(update.message.text or "")
    if full_name is None:
        await say(update, context, "name_invalid")
        return NAME
    flow(context)["full_name"] = full_name
    await say(update, context, "register_email", reply_markup=skip_keyboard(lang_of(update, context)))
    return EMAIL


@guarded
async def got_email(update: Update, context: Context) -> int:
    """Store the email (None when skipped); ask for the phone number."""
    accepted, email = optional_answer(update, validate.email)
    if not accepted:
        await say(update, context, "email_invalid", reply_markup=skip_keyboard(lang_of(update, context)))
        return EMAIL
    flow(context)["email"] = email
    await say(update, context, "register_contact", reply_markup=contact_keyboard(lang_of(update, context)))
    return CONTACT


@guarded
async def got_contact(update: Update, context: Context) -> int:
    """Store the shared phone number (only the user's own; None when skipped); ask the password."""
    assert update.message is not None and update.effective_user is not None
    contact = update.message.contact
    if contact is not None and contact.user_id != update.effective_user.id:
        await say(
            update,
            context,
            "contact_not_yours",
            reply_markup=contact_keyboard(lang_of(update, context)),
        )
        return CONTACT
    flow(context)["contact"] = contact.phone_number if contact else None
    await say(update, context, "register_password")
    return PASSWORD


async def ask_contact_again(update: Update, context: Context) -> int:
    """A number typed instead of shared: only the button proves it is the user's own."""
    await say(update, context, "register_contact", reply_markup=contact_keyboard(lang_of(update, context)))
    return CONTACT


@guarded
async def got_password(update: Update, context: Context) -> int:
    """Delete the password message, sign up and link this chat, show the balance."""
    assert update.effective_chat is not None
    password = await take_password(update)
    if len(password) < validate.MIN_PASSWORD:
        await say(update, context, "password_short")
        return PASSWORD
    data = flow(context)
    try:
        answer = await backend(context).register(
            chat_id=update.effective_chat.id,
            username=data["username"],
            password=password,
            name=data["full_name"],
            email=data.get("email"),
            contact=data.get("contact"),
            lang=lang_of(update, context),
        )
    except BackendError as exc:
        if exc.code != "username_taken":
            raise
        await say(update, context, "error_username_taken")
        return USERNAME
    greeting = await logged_in(context, answer)
    await say(update, context, "register_done", **greeting)
    return end_flow(context)


ENTRY_POINTS: list[BaseHandler] = [CommandHandler("register", start)]
STATES: dict[object, list[BaseHandler]] = {
    USERNAME: [MessageHandler(TEXT, got_username)],
    NAME: [MessageHandler(TEXT, got_name)],
    EMAIL: [MessageHandler(TEXT, got_email), CommandHandler("skip", got_email)],
    CONTACT: [
        MessageHandler(filters.CONTACT, got_contact),
        MessageHandler(SKIP, got_contact),
        CommandHandler("skip", got_contact),
        MessageHandler(TEXT, ask_contact_again),
    ],
    PASSWORD: [MessageHandler(TEXT, got_password)],
}

"""Commands outside any flow: /start, /me, /help, /logout, /lang, and the catch-alls."""

from __future__ import annotations

import logging

from telegram import BotCommand, BotCommandScopeAllGroupChats, Update
from telegram.ext import Application, ApplicationHandlerStop

from bot.client import BackendError, NotLoggedIn
from bot.common import (
    Context,
    answer,
    backend,
    chat_data,
    edit,
    guarded,
    lang_of,
    say,
    say_text,
    session_of,
)
from bot.keyboards import LANG, lang_keyboard
from bot.money import format_amount
from bot.texts import LANGS, t

logger = logging.getLogger(__name__)

MENU = (
    "start",
    "me",
    "limits",
    "transfer",
    "bill",
    "pay",
    "bills",
    "history",
    "statement",
    "insights",
    "register",
    "login",
    "logout",
    "lang",
    "help",
    "cancel",
)


GROUP_MENU = ("split", "dues", "tip", "help")  # what works in a group (bot/groups.py)


async def set_menu(application: Application) -> None:
    """setMyCommands: English by default, Indonesian for Indonesian-language clients; in groups,
    the group commands."""
    for lang in LANGS:
        code = None if lang == "en" else lang
        commands = [BotCommand(name, t(lang, f"cmd_{name}")) for name in MENU]
        await application.bot.set_my_commands(commands, language_code=code)
        in_groups = [BotCommand(name, t(lang, f"cmd_group_{name}")) for name in GROUP_MENU]
        await application.bot.set_my_commands(
            in_groups, scope=BotCommandScopeAllGroupChats(), language_code=code
        )


@guarded
async def start(update: Update, context: Context) -> None:
    """/start: the account and balance, or how to get one."""
    if not session_of(context):
        await say(update, context, "welcome")
        return
    await me(update, context)


@guarded
async def me(update: Update, context: Context) -> None:
    """/me: name, username, balance and the account's tier."""
    profile = await backend(context).me(session_of(context))
    limits = profile["limits"]
    await say(
        update,
        context,
        "me",
        name=profile["name"],
        username=profile["username"],
        balance=format_amount(profile["amount_credit"]),
        tier=t(lang_of(update, context), f"tier_{limits['tier']}"),
        cap=format_amount(limits["balance_cap"]),
    )
    if profile.get("frozen"):
        await say(update, context, "frozen")


@guarded
async def limits(update: Update, context: Context) -> None:
    """/limits: the tier, the balance cap and what can still come in this calendar month."""
    profile = await backend(context).me(session_of(context))
    limits, lang = profile["limits"], lang_of(update, context)
    year, month = limits["month"].split("-")
    text = t(
        lang,
        "limits",
        tier=t(lang, f"tier_{limits['tier']}"),
        cap=format_amount(limits["balance_cap"]),
        balance=format_amount(profile["amount_credit"]),
        month=f"{month}/{year}",
        incoming=format_amount(limits["incoming_this_month"]),
        monthly_cap=format_amount(limits["monthly_incoming_cap"]),
        can_receive=format_amount(limits["can_receive"]),
    )
    if limits["tier"] != "verified":
        text += "\n\n" + t(lang, "limits_verify_hint")
    await say_text(update, context, text)


async def help_command(update: Update, context: Context) -> None:
    """/help: everything the bot can do."""
    await say(update, context, "help")


@guarded
async def logout(update: Update, context: Context) -> None:
    """/logout: revoke the refresh token at the backend, then forget it here."""
    session = session_of(context)
    if not session:
        await say(update, context, "not_logged_in")
        return
    try:
        await backend(context).logout(session["refresh_token"])
    except BackendError as exc:  # already revoked or expired: logged out all the same
        logger.info("logout: backend refused the refresh token (%s)", exc.code)
    chat_data(context).pop("session", None)
    await context.application.update_persistence()
    await say(update, context, "logout_done")


async def lang_command(update: Update, context: Context) -> None:
    """/lang: offer the two languages."""
    await say(update, context, "lang_choose", reply_markup=lang_keyboard())


@guarded
async def lang_chosen(update: Update, context: Context) -> None:
    """A language button: remember it here and tell the backend (for its DMs)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer(update, context)
    lang = query.data.removeprefix(LANG)
    chat_data(context)["lang"] = lang
    if session_of(context):  # first, so that "Language: ..." means the wallet's DMs follow too
        try:
            await backend(context).set_lang(session_of(context), lang)
        except NotLoggedIn:
            chat_data(context).pop("session", None)
    await edit(update, t(lang, "lang_set"))


async def nothing_to_cancel(update: Update, context: Context) -> None:
    """/cancel outside any flow."""
    await say(update, context, "nothing_to_cancel")


async def in_a_group(update: Update, context: Context) -> None:
    """Any update from a group chat: the wallet works in private chats only (OTPs, balances and
    other people's amounts never go to a group), so a command there gets one pointer to the
    private chat and nothing else runs; other group messages are left alone."""
    chat = update.effective_chat
    if chat is None or chat.type == "private":
        return  # a private chat (or no chat at all): the wallet's handlers take it
    message = update.effective_message
    if update.callback_query is not None:
        await answer(update, context, "group_private_only_short")
    elif message is not None and message.text and message.text.startswith("/"):
        await say(update, context, "group_private_only", bot=context.bot.username)
    raise ApplicationHandlerStop


async def group_only(update: Update, context: Context) -> None:
    """/split, /dues or /tip in a private chat: they are for groups."""
    await say(update, context, "group_only")


async def unknown(update: Update, context: Context) -> None:
    """Anything no handler understood: a hint."""
    if update.effective_chat is not None and update.effective_chat.type == "private":
        await say(update, context, "unknown")


async def stale_button(update: Update, context: Context) -> None:
    """A button of a finished flow (or an unknown one)."""
    await answer(update, context, "button_stale")

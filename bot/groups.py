"""The wallet in group chats and in inline mode: splits, dues, tips and pay-me buttons.

In a group the bot only ever posts what the whole group may see: who splits what, each share and
whether it was paid, "Budi tipped Sari Rp10.000". Everything that needs a code or shows a
balance happens in the person's private chat, reached by a t.me deep link (bot/tally.py makes
them): Bill everyone (sb_<id>), Pay my share (sp_<id>), confirm a tip (tip_<token>).

A group member acts with the login of their private chat with the bot (a private chat's id is
the user's id), so the backend sees the person, never the bot, and checks them as it checks
everyone. Somebody without a wallet is pointed to the private chat to /register.

Group privacy mode (on by default) delivers commands, replies to the bot and mentions only:
/split, /dues and /tip are commands, so they arrive either way (also as /split@<bot>).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
    User,
)
from telegram.ext import Application, ContextTypes

from bot import validate
from bot.client import BackendError, BackendUnavailable, Session
from bot.common import Context, answer_with, backend, new_token
from bot.money import AmountError, format_amount, parse_amount
from bot.tally import PAY_SHARE, SPLIT_CANCEL, SPLIT_JOIN, deep_link
from bot.texts import error_text, normalize_lang, t

logger = logging.getLogger(__name__)

GROUP_COMMANDS = ("split", "dues", "tip")  # the commands that work in a group (in private: a hint)
SPLIT_ID_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # the backend's bill and split codes
TIP = "tip_"  # + token: the deep link that confirms a tip in private
TIPS_KEPT = 20  # pending tips remembered per tipper (the oldest are forgotten)


# ---- who is who -------------------------------------------------------------------------------


def private_data(context: Context, user_id: int) -> dict[str, Any]:
    """The data of this user's private chat with the bot (its id is the user's): login, language."""
    return dict(context.application.chat_data.get(user_id) or {})


def session_for(context: Context, user: User | None) -> Session | None:
    """The login of this Telegram user's private chat, if they have one."""
    return private_data(context, user.id).get("session") if user is not None else None


def lang_for(context: Context, user: User | None) -> str:
    """The language this person chose in their private chat, else their Telegram app's."""
    if user is None:
        return "en"
    return str(private_data(context, user.id).get("lang") or normalize_lang(user.language_code))


def _register_link(context: Context) -> str:
    return deep_link(context.bot.username, "register")


async def _reply(update: Update, context: Context, key: str, reply_markup: Any = None, **values: Any) -> None:
    """Answer in the group, in the sender's language, as a reply to their message."""
    message, user = update.effective_message, update.effective_user
    assert message is not None
    name = user.first_name if user else ""
    text = t(lang_for(context, user), key, name=name, link=_register_link(context), **values)
    await message.reply_text(text, reply_markup=reply_markup)


# ---- /split and /dues -------------------------------------------------------------------------


async def split_command(update: Update, context: Context) -> None:
    """/split <amount> <title> or /dues <amount> <title> in a group: the tally is posted by the
    courier (it is the split's message from then on)."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    assert message is not None and chat is not None and message.text is not None
    kind = "dues" if message.text.split()[0].split("@")[0].lower() == "/dues" else "split"
    session = session_for(context, user)
    if session is None:
        await _reply(update, context, "group_link_first")
        return
    args = context.args or []
    if not args:
        await _reply(update, context, f"group_{kind}_usage")
        return
    try:
        amount = parse_amount(args[0])
    except AmountError:
        await _reply(update, context, "group_amount_invalid")
        return
    title = validate.name(" ".join(args[1:]))
    if title is None:
        await _reply(update, context, "group_title_invalid")
        return
    key = f"tg-{chat.id}-{message.message_id}"  # a redelivered command makes the same split
    try:
        await backend(context).create_split(
            session, key, kind=kind, title=title, amount=amount, chat_id=chat.id
        )
    except BackendError as exc:
        await _reply(update, context, "group_failed", reason=error_text(lang_for(context, user), exc.code))
    except BackendUnavailable:
        await _reply(update, context, "group_failed", reason=t(lang_for(context, user), "backend_down"))


# ---- the tally's buttons ----------------------------------------------------------------------


async def split_button(update: Update, context: Context) -> None:
    """Join, or Cancel / Stop / Close, pressed on a tally (in a group or an inline message)."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None
    lang = lang_for(context, user)
    session = session_for(context, user)
    if session is None:  # no wallet yet: the private chat, to register
        await answer_with(update, url=_register_link(context))
        return
    joining = query.data.startswith(SPLIT_JOIN)
    split_id = query.data.removeprefix(SPLIT_JOIN if joining else SPLIT_CANCEL)
    try:
        if joining:
            await backend(context).join_split(session, split_id)
        else:
            await backend(context).cancel_split(session, split_id)
    except BackendError as exc:
        await answer_with(update, t(lang, "split_refused_toast", reason=error_text(lang, exc.code)))
        return
    except BackendUnavailable:
        await answer_with(update, t(lang, "backend_down"))
        return
    await answer_with(update, t(lang, "split_joined" if joining else "split_cancelled_toast"))


# ---- /tip -------------------------------------------------------------------------------------


async def tip_command(update: Update, context: Context) -> None:
    """/tip <amount> as a reply to someone's message: the tipper confirms in private."""
    message, chat, tipper = update.effective_message, update.effective_chat, update.effective_user
    assert message is not None and chat is not None
    target = message.reply_to_message.from_user if message.reply_to_message else None
    if target is None or not context.args:
        await _reply(update, context, "group_tip_usage")
        return
    if session_for(context, tipper) is None:
        await _reply(update, context, "group_link_first")
        return
    if target.is_bot:
        await _reply(update, context, "tip_to_bot")
        return
    if tipper is not None and target.id == tipper.id:
        await _reply(update, context, "tip_to_self")
        return
    try:
        amount = parse_amount(context.args[0])
    except AmountError:
        await _reply(update, context, "group_amount_invalid")
        return
    tippee = session_for(context, target)
    if tippee is None:  # no money moves; the group learns how to join
        lang = lang_for(context, tipper)
        await message.reply_text(
            t(lang, "tip_no_wallet", name=target.first_name, link=_register_link(context))
        )
        return
    assert tipper is not None
    token = new_token()
    tips = context.application.chat_data[tipper.id].setdefault("tips", {})
    tips[token] = {"tippee": tippee["username"], "amount": amount, "chat_id": chat.id}
    for old in list(tips)[:-TIPS_KEPT]:
        del tips[old]
    context.application.mark_data_for_update_persistence(chat_ids=tipper.id)
    button = InlineKeyboardButton(
        t(lang_for(context, tipper), "btn_open_private"), url=deep_link(context.bot.username, TIP + token)
    )
    await _reply(
        update,
        context,
        "tip_confirm_in_private",
        reply_markup=InlineKeyboardMarkup([[button]]),
        tipper=tipper.first_name,
        tippee=target.first_name,
    )


# ---- inline mode: pay-me requests -------------------------------------------------------------


def _read_request(text: str) -> tuple[int, str] | None:
    """ "50rb makan siang" → (50000, "makan siang"); None when it does not read as a request."""
    words = text.split(maxsplit=1)
    if not words:
        return None
    try:
        amount = parse_amount(words[0])
    except AmountError:
        return None
    title = validate.name(words[1]) if len(words) > 1 else "Mata Duitan"
    return (amount, title) if title is not None else None


async def inline_query(update: Update, context: Context) -> None:
    """@<bot> 50rb makan siang in any chat: offer "Request Rp50.000" with a Pay button."""
    query, user = update.inline_query, update.effective_user
    assert query is not None
    lang = lang_for(context, user)
    if session_for(context, user) is None:
        button = InlineQueryResultsButton(t(lang, "inline_link_first"), start_parameter="register")
        await query.answer([], button=button, cache_time=0, is_personal=True)
        return
    request = _read_request(query.query)
    if request is None:
        help_text = t(lang, "inline_help_text", bot=context.bot.username)
        result = InlineQueryResultArticle(
            "help",
            t(lang, "inline_help_title"),
            InputTextMessageContent(help_text),
            description=t(lang, "inline_help_description"),
        )
        await query.answer([result], cache_time=0, is_personal=True)
        return
    amount, title = request
    split_id = "".join(secrets.choice(SPLIT_ID_ALPHABET) for _ in range(10))
    assert user is not None
    shown = format_amount(amount)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(lang, "btn_pay_request"), url=deep_link(context.bot.username, PAY_SHARE + split_id)
                )
            ],
            [InlineKeyboardButton(t(lang, "btn_request_close"), callback_data=SPLIT_CANCEL + split_id)],
        ]
    )
    text = t(lang, "tally_request", organiser=user.first_name, amount=shown, title=title)
    result = InlineQueryResultArticle(
        split_id,
        t(lang, "inline_request_title", amount=shown),
        InputTextMessageContent(text),
        description=t(lang, "inline_request_description", amount=shown, title=title),
        reply_markup=keyboard,
    )
    await query.answer([result], cache_time=0, is_personal=True)


async def inline_chosen(update: Update, context: Context) -> None:
    """The request was posted: make it a pay-me request at the backend (its id is the result's)."""
    chosen, user = update.chosen_inline_result, update.effective_user
    assert chosen is not None
    session = session_for(context, user)
    request = _read_request(chosen.query)
    if session is None or request is None or chosen.result_id == "help" or not chosen.inline_message_id:
        return
    amount, title = request
    try:
        await backend(context).create_split(
            session,
            f"inline-{chosen.result_id}",
            kind="request",
            title=title,
            amount=amount,
            id=chosen.result_id,
            inline_message_id=chosen.inline_message_id,
        )
    except (BackendError, BackendUnavailable) as exc:
        logger.warning("inline request %s not made: %s", chosen.result_id, exc)


# ---- dues -------------------------------------------------------------------------------------


def schedule_dues(application: Application) -> None:
    """Start the dues job (post_init): each month's rounds are claimed at the backend."""
    settings = application.bot_data["settings"]
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        run_dues, interval=settings.dues_check_seconds, first=settings.dues_check_seconds, name="dues"
    )


async def run_dues(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: have the backend make the dues rounds that have come (bills, then a new tally)."""
    try:
        await backend(context).run_dues(limit=50)
    except (BackendError, BackendUnavailable) as exc:
        logger.warning("dues: backend refused or unreachable: %s", exc)

"""Helpers shared by every handler: language, session, the flow and its profile, replies, deletion
and the flow guard."""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any, cast

from telegram import Message, ReplyKeyboardRemove, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ContextTypes, ConversationHandler

from bot.client import (
    BackendClient,
    BackendError,
    BackendUnavailable,
    BackendUnsure,
    NotLoggedIn,
    Session,
)
from bot.texts import error_text, normalize_lang, t

logger = logging.getLogger(__name__)

END = ConversationHandler.END
Context = ContextTypes.DEFAULT_TYPE
Step = Callable[[Update, Context], Coroutine[Any, Any, int | None]]
FLOW_PROFILE = ("username", "amount_credit", "frozen")  # what flows read of GET /api/user


def backend(context: Context) -> BackendClient:
    """The application's one BackendClient (created in post_init)."""
    return cast(BackendClient, context.application.bot_data["backend"])


def chat_data(context: Context) -> dict[str, Any]:
    """This chat's persisted data (login and language) plus the current flow."""
    assert context.chat_data is not None
    return context.chat_data


def lang_of(update: Update | None, context: Context) -> str:
    """The chat's chosen language, else the one of the user's Telegram app."""
    data = context.chat_data or {}
    if "lang" in data:
        return str(data["lang"])
    user = update.effective_user if update else None
    return normalize_lang(user.language_code if user else None)


def session_of(context: Context) -> Session | None:
    """The chat's login, if any."""
    return (context.chat_data or {}).get("session")


def require_session(context: Context) -> Session:
    """The chat's login, or NotLoggedIn (the guard answers "please /login")."""
    session = session_of(context)
    if not session:
        raise NotLoggedIn()
    return session


def flow(context: Context) -> dict[str, Any]:
    """Scratch data of the conversation in progress in this chat."""
    return chat_data(context).setdefault("flow", {})


def end_flow(context: Context) -> int:
    """Forget the conversation in progress; returns END for the caller to return."""
    if context.chat_data is not None:
        context.chat_data.pop("flow", None)
    return END


def start_flow(context: Context, name: str) -> None:
    """Forget any conversation in progress in this chat and start flow `name`."""
    end_flow(context)
    flow(context)["name"] = name


async def timed_out(update: object, context: Context) -> None:
    """A flow left alone for FLOW_TIMEOUT: forget its data (the profile it read, its answers)."""
    end_flow(context)


async def profile(context: Context, *, fresh: bool = False) -> dict[str, Any]:
    """The user's username, balance and frozen flag, read from the backend once per flow and kept
    in the flow's data, which every flow's start and end clears; `fresh` reads it again."""
    data = flow(context)
    if fresh or "profile" not in data:
        me = await backend(context).me(require_session(context))
        # only what flows read: chat_data is written to disk, the email, phone and KYC need not be
        data["profile"] = {key: me.get(key) for key in FLOW_PROFILE}
    return cast(dict[str, Any], data["profile"])


def forget_profile(context: Context) -> None:
    """Drop the flow's copy of the profile: the next `profile()` asks the backend again."""
    flow(context).pop("profile", None)


def new_token() -> str:
    """A short random token (callback data is limited to 64 bytes)."""
    return secrets.token_hex(6)


async def say(update: Update, context: Context, key: str, reply_markup: Any = None, **kw: Any) -> Message:
    """Send text `key` to the update's chat in the chat's language."""
    assert update.effective_chat is not None
    markup = reply_markup if reply_markup is not None else ReplyKeyboardRemove()
    return await context.bot.send_message(
        update.effective_chat.id, t(lang_of(update, context), key, **kw), reply_markup=markup
    )


async def say_text(update: Update, context: Context, text: str, reply_markup: Any = None) -> Message:
    """Send already-localized text to the update's chat."""
    assert update.effective_chat is not None
    markup = reply_markup if reply_markup is not None else ReplyKeyboardRemove()
    return await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)


async def answer(update: Update, context: Context, key: str | None = None) -> None:
    """Answer the button press (a toast with text `key`, if given)."""
    await answer_with(update, t(lang_of(update, context), key) if key else None)


async def answer_with(update: Update, text: str | None = None, url: str | None = None) -> None:
    """Answer the button press with this toast, or with a t.me `url` to open. Telegram refuses a
    second answer to one press, which it sends again when it redelivers an update: that is fine."""
    query = update.callback_query
    assert query is not None
    try:
        await query.answer(text, url=url)
    except BadRequest as exc:
        logger.info("callback query %s not answered: %s", query.id, exc)


async def edit(update: Update, text: str, reply_markup: Any = None) -> None:
    """Replace the text (and buttons) of the message under the pressed button. A second tap
    that changes nothing makes Telegram answer "message is not modified": that is fine."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=reply_markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def remove_buttons(update: Update) -> None:
    """Take the buttons off the message under the pressed button (already gone is fine)."""
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def try_to_delete(message: Message | None) -> None:
    """Delete a message (a password or an OTP); fine if it is already gone."""
    if message is None:
        return
    try:
        await message.delete()
    except (BadRequest, Forbidden) as exc:
        logger.warning("could not delete message %s: %s", message.message_id, exc)


async def save_login(context: Context, answer: dict[str, Any]) -> None:
    """Keep the tokens of a register/link answer and write them to disk right away."""
    chat_data(context)["session"] = {
        "access_token": answer["accessToken"],
        "refresh_token": answer["refreshToken"],
        "username": answer["username"],
    }
    await context.application.update_persistence()


async def _explain(update: Update, context: Context, exc: Exception) -> None:
    """Tell the user, in words, why the flow stopped."""
    lang = lang_of(update, context)
    if isinstance(exc, NotLoggedIn):
        had_session = chat_data(context).pop("session", None) is not None
        await say(update, context, "session_expired" if had_session else "need_login")
    elif isinstance(exc, BackendUnsure):
        await say(update, context, "backend_unsure")
    elif isinstance(exc, BackendUnavailable):
        await say(update, context, "backend_down")
    elif isinstance(exc, BackendError):
        await say_text(update, context, error_text(lang, exc.code, exc.payee))
    else:
        await say(update, context, "generic_error")


def guarded(step: Step) -> Step:
    """Run a handler; on a backend failure explain it and END the flow so nothing stays stuck.

    A reply Telegram would not take even after the rate limiter's retries (a long outage) keeps
    the chat where it is: the person's place in the flow is not lost for a message they missed.
    """

    name = getattr(step, "__name__", None) or getattr(getattr(step, "func", None), "__name__", "step")

    @functools.wraps(step)
    async def wrapper(update: Update, context: Context) -> int | None:
        try:
            return await step(update, context)
        except (BackendError, BackendUnavailable) as exc:
            logger.info("%s stopped: %s", name, exc)
            await _explain(update, context, exc)
        except Forbidden:
            logger.info("chat %s blocked the bot", update.effective_chat and update.effective_chat.id)
        except TelegramError as exc:
            logger.warning("%s: Telegram did not take a reply (%s); the chat stays in its step", name, exc)
            return None
        except Exception as exc:  # a bug must not leave the chat stuck in a flow
            logger.error("%s failed", name, exc_info=exc)
            await _explain(update, context, exc)
        return end_flow(context)

    return wrapper


async def interrupt(update: Update, context: Context) -> int:
    """Another command or a bill button arrived mid-flow: end this flow, then handle it afresh."""
    end_flow(context)
    await context.application.update_queue.put(update)
    return END


async def cancel(update: Update, context: Context) -> int:
    """/cancel (or the Cancel button): leave the flow; nothing was charged."""
    if update.callback_query:
        await answer(update, context)
        await remove_buttons(update)
    await say(update, context, "cancelled")
    return end_flow(context)

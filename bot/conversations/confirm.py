"""Summary → Confirm / Cancel → OTP typed by the user → the money moves. Shared by the money flows.

The Idempotency-Key is made when the summary is shown and reused by every retry of the final
request. After the backend definitely refused (4xx, so nothing moved) a fresh key is made, so the
next OTP attempt is not answered from the refused request's record.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.client import BackendError
from bot.common import (
    Context,
    Step,
    answer,
    backend,
    edit,
    end_flow,
    flow,
    forget_profile,
    guarded,
    lang_of,
    new_token,
    remove_buttons,
    require_session,
    say,
    say_text,
    try_to_delete,
)
from bot.keyboards import CANCEL, CANCEL_PATTERN, CONFIRM, CONFIRM_PATTERN, confirm_keyboard
from bot.texts import error_text, t

# refusals a smaller amount can cure: the flow asks for the amount again
AMOUNT_CODES = {
    "insufficient_funds",
    "limit_exceeded",
    "invalid_amount",
    "receive_cap_unverified",
    "receive_cap_reached",
    "receive_monthly_cap",
}
OTP_SHAPE = re.compile(r"^\d{6}$")


@dataclass(frozen=True)
class MoneyFlow:
    """How one flow ends: its two state ids, the final request, and where a refused amount goes."""

    confirm_state: int
    otp_state: int
    finish: Callable[[Update, Context, str], Awaitable[None]]  # do it with the OTP, tell the user
    ask_amount: Step | None = None  # asks the amount again and returns the amount state


async def show_summary(
    update: Update,
    context: Context,
    spec: MoneyFlow,
    text: str,
    more: Callable[[str], list[InlineKeyboardButton]] | None = None,
) -> int:
    """Show the summary with Confirm / Cancel (and a row of `more(token)` buttons below); make
    this confirmation's token and key."""
    data = flow(context)
    data.update(token=new_token(), key=str(uuid.uuid4()), summary=text)
    keyboard = confirm_keyboard(lang_of(update, context), data["token"])
    if more is not None:
        keyboard = InlineKeyboardMarkup([*keyboard.inline_keyboard, more(data["token"])])
    await say_text(update, context, text, reply_markup=keyboard)
    return spec.confirm_state


async def _amount_refused(update: Update, context: Context, spec: MoneyFlow, exc: BackendError) -> int | None:
    """Go back to the amount step when the backend refuses the amount (limit, balance)."""
    if exc.code not in AMOUNT_CODES or spec.ask_amount is None:
        raise exc
    forget_profile(context)  # the refusal says the balance read at the start is out of date
    await say_text(update, context, error_text(lang_of(update, context), exc.code, exc.payee))
    return await spec.ask_amount(update, context)


async def on_confirm(update: Update, context: Context, spec: MoneyFlow) -> int | None:
    """Confirm pressed: ask the backend to DM the OTP, then wait for the user to type it."""
    query = update.callback_query
    assert query is not None
    data = flow(context)
    if query.data != CONFIRM + str(data.get("token")):
        await answer(update, context, "button_stale")
        return None
    await answer(update, context)
    data["token"] = None  # a second press of this button is now "already confirmed"
    await edit(update, t(lang_of(update, context), "confirmed", summary=data["summary"]))
    try:
        await backend(context).request_otp(require_session(context), **data["otp_body"])
    except BackendError as exc:
        return await _amount_refused(update, context, spec, exc)
    await say(update, context, "otp_sent")
    return spec.otp_state


async def on_otp(update: Update, context: Context, spec: MoneyFlow) -> int | None:
    """The user typed the OTP: delete it at once, then make the final request."""
    assert update.message is not None
    code = (update.message.text or "").strip()
    await try_to_delete(update.message)
    if not OTP_SHAPE.match(code):
        await say(update, context, "otp_format")
        return None
    try:
        await spec.finish(update, context, code)
    except BackendError as exc:
        flow(context)["key"] = str(uuid.uuid4())  # refused: nothing moved, next try is new
        if exc.code == "otp_invalid":
            await say_text(update, context, error_text(lang_of(update, context), exc.code, exc.payee))
            return None
        return await _amount_refused(update, context, spec, exc)
    return end_flow(context)


async def already_confirmed(update: Update, context: Context) -> None:
    """Confirm pressed again (or delivered twice): nothing more to do."""
    await answer(update, context, "already_confirmed")


async def on_cancel_button(update: Update, context: Context) -> int | None:
    """Cancel pressed under the summary: leave the flow (stale Cancel buttons are ignored)."""
    query = update.callback_query
    assert query is not None
    if query.data != CANCEL + str(flow(context).get("token")):
        await answer(update, context, "button_stale")
        return None
    await answer(update, context)
    await remove_buttons(update)
    await say(update, context, "cancelled")
    return end_flow(context)


def confirmation_states(spec: MoneyFlow) -> dict[object, list[BaseHandler]]:
    """The CONFIRM and OTP states of a money flow."""
    confirm = guarded(functools.partial(on_confirm, spec=spec))  # type: ignore[arg-type]
    otp = guarded(functools.partial(on_otp, spec=spec))  # type: ignore[arg-type]
    return {
        spec.confirm_state: [
            CallbackQueryHandler(confirm, pattern=CONFIRM_PATTERN),
            CallbackQueryHandler(on_cancel_button, pattern=CANCEL_PATTERN),
        ],
        spec.otp_state: [
            MessageHandler(filters.TEXT & ~filters.COMMAND, otp),
            CallbackQueryHandler(already_confirmed, pattern=CONFIRM_PATTERN),
            CallbackQueryHandler(on_cancel_button, pattern=CANCEL_PATTERN),
        ],
    }

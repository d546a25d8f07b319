"""Paying a bill: /pay <code>, /pay then the code, the Pay button, or the t.me deep link.

Bill summary → Confirm → OTP → paid (the backend tells the issuer).
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import validate
from bot.client import BackendError
from bot.common import (
    Context,
    answer,
    backend,
    end_flow,
    flow,
    guarded,
    interrupt,
    lang_of,
    profile,
    require_session,
    say,
    say_text,
    start_flow,
)
from bot.conversations.confirm import MoneyFlow, confirmation_states, show_summary
from bot.keyboards import BILL_PAY, BILL_PAY_PATTERN
from bot.money import format_amount
from bot.tally import PAY_SHARE
from bot.texts import t

CODE, CONFIRM, OTP = range(50, 53)
TEXT = filters.TEXT & ~filters.COMMAND
DEEP_LINK = filters.Regex(r"^/start pay_\S+$")
SHARE_LINK = filters.Regex(rf"^/start {PAY_SHARE}[0-9A-Za-z]{{10}}$")  # a tally's Pay (my share)


def _begin(context: Context) -> None:
    """Require a login and start a fresh pay flow."""
    require_session(context)
    start_flow(context, "pay")


@guarded
async def from_command(update: Update, context: Context) -> int:
    """/pay [code]: show the bill, or ask its code."""
    _begin(context)
    if context.args:
        return await show_bill(update, context, context.args[0])
    await say(update, context, "pay_code")
    return CODE


@guarded
async def from_deep_link(update: Update, context: Context) -> int:
    """/start pay_<code> (a t.me deep link): show the bill."""
    _begin(context)
    assert context.args
    return await show_bill(update, context, context.args[0].removeprefix("pay_"))


@guarded
async def from_share_link(update: Update, context: Context) -> int:
    """/start sp_<id> (Pay on a split's tally or a pay-me request): the user's bill in it."""
    _begin(context)
    assert context.args
    split_id = context.args[0].removeprefix(PAY_SHARE).upper()
    session = require_session(context)
    try:
        split = await backend(context).get_split(session, split_id)
    except BackendError as exc:
        if exc.code != "split_not_found":
            raise
        split = None  # not a member: a pay-me request takes anyone who taps Pay
    if split is None or split["kind"] == "request":
        bill = await backend(context).claim_request(session, split_id)
        return await show_bill(update, context, bill["code"])
    if split["my_bill"] is None:
        await say(update, context, "split_no_bill")
        return end_flow(context)
    return await show_bill(update, context, split["my_bill"])


@guarded
async def from_button(update: Update, context: Context) -> int:
    """The Pay button under a bill notice, a reminder or /bills: show the bill."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer(update, context)
    _begin(context)
    return await show_bill(update, context, query.data.removeprefix(BILL_PAY))


@guarded
async def got_code(update: Update, context: Context) -> int:
    """The code typed after /pay: show the bill."""
    assert update.message is not None
    return await show_bill(update, context, update.message.text or "")


async def _fetch(update: Update, context: Context, text: str) -> dict[str, Any] | None:
    """The bill with this code, or None after saying why it cannot be paid from here."""
    code = validate.bill_code(text)
    try:
        if code is None:
            raise BackendError(404, "bill_not_found")
        bill: dict[str, Any] = await backend(context).get_bill(require_session(context), code)
    except BackendError as exc:
        if exc.code not in ("bill_not_found", "not_found"):
            raise
        await say(update, context, "error_bill_not_found")
        return None
    return bill


async def show_bill(update: Update, context: Context, text: str) -> int:
    """Show the bill summary with Confirm / Cancel, or say why it cannot be paid."""
    bill = await _fetch(update, context, text)
    if bill is None:
        return CODE
    lang = lang_of(update, context)
    me = await profile(context)
    refusal = _refusal(lang, bill, me)
    if refusal is not None:
        await say_text(update, context, refusal)
        return end_flow(context)
    data = flow(context)
    data.update(code=bill["code"], amount=bill["amount"], issuer_name=bill["issuer_name"])
    data["otp_body"] = {"action": "pay_bill", "bill_code": bill["code"], "amount": bill["amount"]}
    return await show_summary(update, context, SPEC, _summary(lang, bill, me["amount_credit"]))


def _refusal(lang: str, bill: dict[str, Any], me: dict[str, Any]) -> str | None:
    """Why this user cannot pay this bill now, in words; None when they can."""
    if bill["payer"] != me["username"]:
        return t(lang, "pay_not_yours")
    if bill["status"] != "open":
        status = t(lang, f"status_{bill['status']}")
        return t(lang, "pay_not_open", code=bill["code"], status=status)
    if me.get("frozen"):
        return t(lang, "frozen")
    if me["amount_credit"] < bill["amount"]:
        balance, amount = format_amount(me["amount_credit"]), format_amount(bill["amount"])
        return t(lang, "pay_insufficient", balance=balance, amount=amount)
    return None


def _summary(lang: str, bill: dict[str, Any], balance: int) -> str:
    """The text of the bill summary."""
    return t(
        lang,
        "pay_summary",
        code=bill["code"],
        bill_name=bill["bill_name"],
        issuer_name=bill["issuer_name"],
        issuer=bill["issuer"],
        amount=format_amount(bill["amount"]),
        description=bill.get("description") or t(lang, "no_description"),
        balance=format_amount(balance),
    )


async def finish(update: Update, context: Context, otp: str) -> None:
    """Pay the bill with the OTP; show the new balance."""
    data = flow(context)
    paid = await backend(context).pay_bill(require_session(context), data["code"], data["key"], otp)
    amount = format_amount(data["amount"])
    balance = format_amount(paid["balance"])
    await say(
        update,
        context,
        "pay_done",
        amount=amount,
        code=data["code"],
        issuer_name=data["issuer_name"],
        balance=balance,
    )


async def pay_pressed_again(update: Update, context: Context) -> int | None:
    """Pay pressed (or delivered) again mid-flow: the same bill stays put; another one restarts."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if query.data.removeprefix(BILL_PAY) != flow(context).get("code"):
        return await interrupt(update, context)
    await answer(update, context, "pay_in_progress")
    return None


SPEC = MoneyFlow(confirm_state=CONFIRM, otp_state=OTP, finish=finish)
ENTRY_POINTS: list[BaseHandler] = [
    CommandHandler("pay", from_command),
    CommandHandler("start", from_deep_link, filters=DEEP_LINK),
    CommandHandler("start", from_share_link, filters=SHARE_LINK),
    CallbackQueryHandler(from_button, pattern=BILL_PAY_PATTERN),
]
_confirmation = confirmation_states(SPEC)
_again = CallbackQueryHandler(pay_pressed_again, pattern=BILL_PAY_PATTERN)
STATES: dict[object, list[BaseHandler]] = {
    CODE: [MessageHandler(TEXT, got_code)],
    CONFIRM: [_again, *_confirmation[CONFIRM]],
    OTP: [_again, *_confirmation[OTP]],
}

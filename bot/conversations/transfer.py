"""/transfer: recipient (name shown) → amount → description (skippable) → Confirm → OTP → sent."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.common import (
    Context,
    backend,
    end_flow,
    flow,
    guarded,
    lang_of,
    profile,
    require_session,
    say,
    start_flow,
)
from bot.conversations.amount import read_amount
from bot.conversations.confirm import MoneyFlow, confirmation_states, show_summary
from bot.conversations.counterparty import Counterparty, ask_counterparty, counterparty_states
from bot.conversations.steps import store_description
from bot.keyboards import skip_keyboard
from bot.money import format_amount
from bot.texts import t

RECIPIENT, AMOUNT, DESCRIPTION, CONFIRM, OTP = range(30, 35)
TEXT = filters.TEXT & ~filters.COMMAND


@guarded
async def start(update: Update, context: Context) -> int:
    """/transfer: read the profile (once for the whole flow); a frozen account is told at once,
    anyone else is asked who gets the money."""
    start_flow(context, "transfer")
    if (await profile(context))["frozen"]:
        await say(update, context, "frozen")
        return end_flow(context)
    return await ask_counterparty(update, context, RECIPIENT_STEP)


async def ask_amount(update: Update, context: Context) -> int:
    """Ask the amount, showing the balance (read again after the backend refused an amount)."""
    balance = (await profile(context))["amount_credit"]
    await say(update, context, "ask_amount", balance=format_amount(balance))
    return AMOUNT


@guarded
async def got_amount(update: Update, context: Context) -> int:
    """Check the amount against the balance; ask the description."""
    amount = await read_amount(update, context)
    if amount is None:
        return AMOUNT
    balance = (await profile(context))["amount_credit"]
    if amount > balance:  # money may have come in since the flow began: look before refusing
        balance = (await profile(context, fresh=True))["amount_credit"]
    if amount > balance:
        await say(update, context, "amount_over_balance", balance=format_amount(balance))
        return AMOUNT
    flow(context)["amount"] = amount
    await say(update, context, "ask_description", reply_markup=skip_keyboard(lang_of(update, context)))
    return DESCRIPTION


@guarded
async def got_description(update: Update, context: Context) -> int:
    """Store the description (None when skipped); show the summary."""
    if not await store_description(update, context):
        return DESCRIPTION
    data = flow(context)
    data["otp_body"] = {
        "action": "transfer",
        "recipient": data["recipient"],
        "amount": data["amount"],
    }
    lang = lang_of(update, context)
    summary = t(
        lang,
        "transfer_summary",
        amount=format_amount(data["amount"]),
        name=data["recipient_name"],
        username=data["recipient"],
        description=data["description"] or t(lang, "no_description"),
    )
    return await show_summary(update, context, SPEC, summary)


async def finish(update: Update, context: Context, otp: str) -> None:
    """Make the transfer with the OTP; show the result and the new balance."""
    data = flow(context)
    body = {"recipient": data["recipient"], "amount": data["amount"], "otp": otp}
    if data.get("description"):
        body["description"] = data["description"]
    done = await backend(context).transfer(require_session(context), data["key"], **body)
    # the balance shown is the transfer's own answer: the profile read at the start is stale now
    await say(
        update,
        context,
        "transfer_done",
        amount=format_amount(done["amount"]),
        name=done.get("recipient_name") or data["recipient_name"],
        username=done.get("recipient") or data["recipient"],
        balance=format_amount(done["balance"]),
    )


SPEC = MoneyFlow(confirm_state=CONFIRM, otp_state=OTP, finish=finish, ask_amount=ask_amount)
RECIPIENT_STEP = Counterparty(
    state=RECIPIENT,
    role="recipient",
    ask="transfer_recipient",
    is_self="recipient_self",
    found="recipient_found",
    then=ask_amount,
)
ENTRY_POINTS: list[BaseHandler] = [CommandHandler("transfer", start)]
STATES: dict[object, list[BaseHandler]] = {
    **counterparty_states(RECIPIENT_STEP),
    AMOUNT: [MessageHandler(TEXT, got_amount)],
    DESCRIPTION: [MessageHandler(TEXT, got_description), CommandHandler("skip", got_description)],
    **confirmation_states(SPEC),
}

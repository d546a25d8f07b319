"""/bill: bill name → payer → amount → description → Confirm → OTP → code, deep link and QR code."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot import validate
from bot.common import Context, backend, flow, guarded, lang_of, require_session, say, start_flow
from bot.conversations.amount import read_amount
from bot.conversations.confirm import MoneyFlow, confirmation_states, show_summary
from bot.conversations.counterparty import Counterparty, ask_counterparty, counterparty_states
from bot.conversations.steps import store_description
from bot.keyboards import skip_keyboard
from bot.money import format_amount
from bot.qr import qr_png
from bot.texts import t

NAME, PAYER, AMOUNT, DESCRIPTION, CONFIRM, OTP = range(40, 46)
TEXT = filters.TEXT & ~filters.COMMAND


def deep_link(bot_username: str, code: str) -> str:
    """The t.me link that opens the pay flow for a bill."""
    return f"https://t.me/{bot_username}?start=pay_{code}"


@guarded
async def start(update: Update, context: Context) -> int:
    """/bill: ask what the bill is for."""
    require_session(context)
    start_flow(context, "bill")
    await say(update, context, "bill_name")
    return NAME


@guarded
async def got_name(update: Update, context: Context) -> int:
    """Store the bill name; ask the payer."""
    assert update.message is not None
    bill_name = validate.name(update.message.text or "")
    if bill_name is None:
        await say(update, context, "bill_name_invalid")
        return NAME
    flow(context)["bill_name"] = bill_name
    return await ask_counterparty(update, context, PAYER_STEP)


async def ask_amount(update: Update, context: Context) -> int:
    """Ask the amount of the bill."""
    await say(update, context, "bill_amount")
    return AMOUNT


@guarded
async def got_amount(update: Update, context: Context) -> int:
    """Store the amount; ask the description."""
    amount = await read_amount(update, context)
    if amount is None:
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
    data["otp_body"] = {"action": "create_bill", "payer": data["payer"], "amount": data["amount"]}
    lang = lang_of(update, context)
    summary = t(
        lang,
        "bill_summary",
        bill_name=data["bill_name"],
        name=data["payer_name"],
        username=data["payer"],
        amount=format_amount(data["amount"]),
        description=data["description"] or t(lang, "no_description"),
    )
    return await show_summary(update, context, SPEC, summary)


async def finish(update: Update, context: Context, otp: str) -> None:
    """Issue the bill with the OTP; send its code, deep link and a QR code of the link."""
    assert update.effective_chat is not None
    data = flow(context)
    body = {
        "bill_name": data["bill_name"],
        "payer": data["payer"],
        "amount": data["amount"],
        "otp": otp,
    }
    if data.get("description"):
        body["description"] = data["description"]
    bill = await backend(context).create_bill(require_session(context), data["key"], **body)
    code = bill.get("bill_code") or bill["code"]
    link = deep_link(context.bot.username, code)
    amount = format_amount(bill["amount"])
    await say(
        update,
        context,
        "bill_done",
        code=code,
        amount=amount,
        name=data["payer_name"],
        username=data["payer"],
        link=link,
    )
    caption = t(lang_of(update, context), "bill_qr_caption", code=code, amount=amount)
    await context.bot.send_photo(update.effective_chat.id, photo=qr_png(link), caption=caption)


SPEC = MoneyFlow(confirm_state=CONFIRM, otp_state=OTP, finish=finish, ask_amount=ask_amount)
PAYER_STEP = Counterparty(
    state=PAYER,
    role="payer",
    ask="bill_payer",
    is_self="bill_payer_self",
    found="payer_found",
    then=ask_amount,
)
ENTRY_POINTS: list[BaseHandler] = [CommandHandler("bill", start)]
STATES: dict[object, list[BaseHandler]] = {
    NAME: [MessageHandler(TEXT, got_name)],
    **counterparty_states(PAYER_STEP),
    AMOUNT: [MessageHandler(TEXT, got_amount)],
    DESCRIPTION: [MessageHandler(TEXT, got_description), CommandHandler("skip", got_description)],
    **confirmation_states(SPEC),
}

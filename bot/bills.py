"""/bills, and the Decline / Cancel buttons of a bill (Pay opens the pay flow)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.client import JSON, Session
from bot.common import Context, answer, backend, edit, guarded, lang_of, require_session, say
from bot.keyboards import BILL_CANCEL, BILL_DECLINE, bill_issuer_keyboard, bill_payer_keyboard
from bot.money import format_amount
from bot.texts import t

MAX_LISTED = 10  # one message per bill: keep /bills from flooding the chat


def bill_line(lang: str, bill: dict[str, Any], key: str) -> str:
    """One bill as a line of text (`bill_to_pay_line` or `bill_issued_line`)."""
    fields = {
        **bill,
        "amount": format_amount(bill["amount"]),
        "status": t(lang, f"status_{bill['status']}"),
    }
    return t(lang, key, **fields)


@guarded
async def list_bills(update: Update, context: Context) -> None:
    """/bills: bills to pay (Pay / Decline each), then bills issued (Cancel on open ones)."""
    assert update.effective_chat is not None
    session = require_session(context)
    lang, chat_id = lang_of(update, context), update.effective_chat.id
    to_pay = await backend(context).bills_to_pay(session)
    issued = await backend(context).bills_issued(session)
    await say(update, context, "bills_to_pay_header" if to_pay else "bills_to_pay_none")
    for bill in to_pay[:MAX_LISTED]:
        markup = bill_payer_keyboard(lang, bill["code"])
        await context.bot.send_message(
            chat_id, bill_line(lang, bill, "bill_to_pay_line"), reply_markup=markup
        )
    await say(update, context, "bills_issued_header" if issued else "bills_issued_none")
    for bill in issued[:MAX_LISTED]:
        open_bill = bill["status"] == "open"
        issuer_markup = bill_issuer_keyboard(lang, bill["code"]) if open_bill else None
        await context.bot.send_message(
            chat_id, bill_line(lang, bill, "bill_issued_line"), reply_markup=issuer_markup
        )


async def _act_on_pressed(
    update: Update, context: Context, prefix: str, act: Callable[[Session, str], Awaitable[JSON]]
) -> dict[str, Any]:
    """Answer the press, then `act` (decline or cancel) on the bill whose code the button carries."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await answer(update, context)
    bill: dict[str, Any] = await act(require_session(context), query.data.removeprefix(prefix))
    return bill


@guarded
async def decline(update: Update, context: Context) -> None:
    """The Decline button: the payer refuses the bill."""
    bill = await _act_on_pressed(update, context, BILL_DECLINE, backend(context).decline_bill)
    lang = lang_of(update, context)
    await edit(update, t(lang, "bill_declined", code=bill["code"], amount=format_amount(bill["amount"])))


@guarded
async def cancel(update: Update, context: Context) -> None:
    """The Cancel button: the issuer withdraws an open bill."""
    bill = await _act_on_pressed(update, context, BILL_CANCEL, backend(context).cancel_bill)
    lang = lang_of(update, context)
    await edit(update, t(lang, "bill_cancelled", code=bill["code"], amount=format_amount(bill["amount"])))

"""Confirming a tip asked in a group (/tip 10rb as a reply): the t.me link of the group's reply
opens this chat with /start tip_<token> → summary → Confirm → OTP → the transfer, and the group
is told "Budi tipped Sari Rp10.000" by the backend once the money has arrived.

The pending tip (who, how much, which group) was kept in this chat's data by groups.py when the
tip was asked, so the link carries nothing anyone could forge: a token of this chat only.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.common import (
    Context,
    backend,
    chat_data,
    end_flow,
    flow,
    guarded,
    lang_of,
    profile,
    require_session,
    say,
    start_flow,
)
from bot.conversations.confirm import MoneyFlow, confirmation_states, show_summary
from bot.groups import TIP
from bot.money import format_amount
from bot.texts import t

CONFIRM, OTP = range(80, 82)
DEEP_LINK = filters.Regex(rf"^/start {TIP}[0-9a-f]{{12}}$")


@guarded
async def from_deep_link(update: Update, context: Context) -> int:
    """/start tip_<token>: the tip's summary."""
    session = require_session(context)
    start_flow(context, "tip")
    assert context.args
    token = context.args[0].removeprefix(TIP)
    tip = chat_data(context).get("tips", {}).get(token)
    if tip is None:
        await say(update, context, "tip_gone")
        return end_flow(context)
    other = await backend(context).find_user(session, tip["tippee"])
    me = await profile(context)
    flow(context).update(token_of_tip=token, name=other["name"], **tip)
    flow(context)["otp_body"] = {"action": "transfer", "recipient": tip["tippee"], "amount": tip["amount"]}
    text = t(
        lang_of(update, context),
        "tip_summary",
        tippee_name=other["name"],
        tippee=tip["tippee"],
        amount=format_amount(tip["amount"]),
        balance=format_amount(me["amount_credit"]),
    )
    return await show_summary(update, context, SPEC, text)


async def finish(update: Update, context: Context, otp: str) -> None:
    """Send the tip with the OTP; the group hears of it from the backend."""
    data = flow(context)
    done = await backend(context).transfer(
        require_session(context),
        data["key"],
        recipient=data["tippee"],
        amount=data["amount"],
        otp=otp,
        tip_chat_id=data["chat_id"],
    )
    chat_data(context).get("tips", {}).pop(data["token_of_tip"], None)
    await say(update, context, "tip_done", name=data["name"], amount=format_amount(data["amount"]),
              balance=format_amount(done["balance"]))  # fmt: skip


SPEC = MoneyFlow(confirm_state=CONFIRM, otp_state=OTP, finish=finish)
ENTRY_POINTS: list[BaseHandler] = [CommandHandler("start", from_deep_link, filters=DEEP_LINK)]
STATES = confirmation_states(SPEC)

"""Bill everyone, in the organiser's private chat (reached from the group's tally by a t.me link):
the shares → Confirm (or Custom shares, typed as `@sari 120rb, @andi 50rb`) → OTP → one bill per
member. Its Idempotency-Key is made when the summary is shown (confirm.py), so a double press or a
retry bills once; a press after the split was billed is refused by the backend.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import InlineKeyboardButton, Update
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
    lang_of,
    remove_buttons,
    require_session,
    say,
    say_text,
    start_flow,
)
from bot.conversations.confirm import MoneyFlow, confirmation_states, show_summary
from bot.money import AmountError, format_amount, parse_amount
from bot.tally import BILL_EVERYONE
from bot.texts import error_text, t

SHARES, CONFIRM, OTP = range(70, 73)
CUSTOM = "split:custom:"  # + confirmation token: the summary's Custom shares button
CUSTOM_PATTERN = re.compile(rf"^{re.escape(CUSTOM)}")
DEEP_LINK = filters.Regex(rf"^/start {BILL_EVERYONE}[0-9A-Za-z]{{10}}$")
SHARE = re.compile(r"^@?(?P<username>\S+)\s*[:=]?\s+(?P<amount>\S.*?)$")


def read_shares(text: str) -> dict[str, int] | None:
    """`@sari 120rb, @andi 50.000` (commas or lines) → {"sari": 120000, "andi": 50000}; None
    when any part does not read."""
    shares: dict[str, int] = {}
    for part in re.split(r"[,\n;]+", text):
        if not part.strip():
            continue
        match = SHARE.match(part.strip())
        username = validate.username(match["username"]) if match else None
        if match is None or username is None or username in shares:
            return None
        try:
            shares[username] = parse_amount(match["amount"])
        except AmountError:
            return None
    return shares or None


@guarded
async def from_deep_link(update: Update, context: Context) -> int:
    """/start sb_<id>: the organiser's Bill everyone."""
    session = require_session(context)
    start_flow(context, "split")
    assert context.args
    split_id = context.args[0].removeprefix(BILL_EVERYONE).upper()
    lang = lang_of(update, context)
    split = await backend(context).get_split(session, split_id)
    if split["organiser"] != session["username"]:
        await say(update, context, "split_not_yours", organiser=split["organiser_name"])
        return end_flow(context)
    if split["status"] != "gathering":
        await say(update, context, "split_not_open", status=t(lang, f"split_status_{split['status']}"))
        return end_flow(context)
    flow(context).update(split_id=split_id, title=split["title"], amount=split["amount"], kind=split["kind"])
    return await _summary(update, context, None)


async def _summary(update: Update, context: Context, custom: dict[str, int] | None) -> int:
    """The shares as they would be billed, with Confirm / Cancel / Custom shares."""
    data = flow(context)
    lang = lang_of(update, context)
    preview = await backend(context).preview_shares(require_session(context), data["split_id"], custom)
    lines = []
    for person in preview["people"]:
        key = "split_own_line" if person["status"] == "own" else "split_share_line"
        line = {k: person[k] for k in ("name", "username")}
        lines.append(t(lang, key, amount=format_amount(person["amount"]), **line))
    values: dict[str, Any] = {
        "title": data["title"],
        "amount": format_amount(data["amount"]),
        "lines": "\n".join(lines),
        "count": preview["billed_count"],
        "billed": format_amount(preview["billed_total"]),
    }
    data.update(shares=custom, billed=preview["billed_total"], count=preview["billed_count"])
    data["otp_body"] = {"action": "bill_split", "split_id": data["split_id"], "shares": custom}
    if data["kind"] == "dues":  # the same amount for every member: no custom shares
        return await show_summary(update, context, SPEC, t(lang, "dues_summary", **values))
    return await show_summary(
        update,
        context,
        SPEC,
        t(lang, "split_summary", **values),
        more=lambda token: [custom_button(lang, token)],
    )


@guarded
async def custom_pressed(update: Update, context: Context) -> int | None:
    """Custom shares pressed under the summary: ask for them."""
    query = update.callback_query
    assert query is not None and query.data is not None
    if query.data != CUSTOM + str(flow(context).get("token")):
        await answer(update, context, "button_stale")
        return None
    await answer(update, context)
    await remove_buttons(update)
    flow(context)["token"] = None
    await say(update, context, "split_custom_ask")
    return SHARES


@guarded
async def got_shares(update: Update, context: Context) -> int:
    """The custom shares typed: the summary again, with them."""
    assert update.message is not None
    shares = read_shares(update.message.text or "")
    if shares is None:
        await say(update, context, "split_custom_invalid")
        return SHARES
    try:
        return await _summary(update, context, shares)
    except BackendError as exc:
        if exc.code != "invalid_shares":
            raise
        await say_text(update, context, error_text(lang_of(update, context), exc.code))
        await say(update, context, "split_custom_ask")
        return SHARES


async def finish(update: Update, context: Context, otp: str) -> None:
    """Bill everyone with the OTP."""
    data = flow(context)
    session = require_session(context)
    await backend(context).bill_split(session, data["split_id"], data["key"], otp, data["shares"])
    await say(update, context, "split_billed", count=data["count"], billed=format_amount(data["billed"]))


SPEC = MoneyFlow(confirm_state=CONFIRM, otp_state=OTP, finish=finish)
ENTRY_POINTS: list[BaseHandler] = [CommandHandler("start", from_deep_link, filters=DEEP_LINK)]
_confirmation = confirmation_states(SPEC)
STATES: dict[object, list[BaseHandler]] = {
    SHARES: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_shares)],
    CONFIRM: [CallbackQueryHandler(custom_pressed, pattern=CUSTOM_PATTERN), *_confirmation[CONFIRM]],
    OTP: _confirmation[OTP],
}


def custom_button(lang: str, token: str) -> InlineKeyboardButton:
    """The Custom shares button of one summary."""
    return InlineKeyboardButton(t(lang, "btn_custom_shares"), callback_data=CUSTOM + token)

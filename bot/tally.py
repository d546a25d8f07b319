"""A split's public face: the tally message in its group (or in an inline pay-me message).

Drawn by the backend from the split's bills each time the courier claims it (see
backend/notices.py); this module turns that data into text and buttons. It shows names, each
share and what became of it — never a balance, never a code.

Buttons by what the split is: gathering → Join (a callback: joining needs no private chat),
Bill everyone (a t.me link: the organiser confirms with an OTP in private), Cancel; billed →
Pay my share (a t.me link to the private chat), Cancel; a request → Pay, Close; ended → none.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.money import format_amount
from bot.texts import t

SPLIT_JOIN = "split:join:"  # + split id: a group member pressed Join
SPLIT_CANCEL = "split:cancel:"  # + split id: the organiser pressed Cancel / Stop / Close
BILL_EVERYONE = "sb_"  # + split id: the deep link of Bill everyone
PAY_SHARE = "sp_"  # + split id: the deep link of Pay (a share, or a pay-me request)
MAX_LINES = 30  # people listed by name; the rest are counted (a message holds 4096 characters)


def deep_link(bot_username: str, payload: str) -> str:
    """A t.me link that opens the private chat with the bot and sends /start <payload>."""
    return f"https://t.me/{bot_username}?start={payload}"


def render_tally(
    lang: str, data: dict[str, Any], bot_username: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The tally's text and buttons."""
    values = {
        "title": data["title"],
        "amount": format_amount(int(data["amount"])),
        "organiser": data["organiser_name"],
        "period": data.get("period"),
    }
    kind, status = data["kind"], data["status"]
    if kind == "request":
        return _request(lang, data, values), _buttons(lang, data, bot_username)
    head = "tally_split" if kind == "split" else ("tally_dues_period" if data.get("period") else "tally_dues")
    lines = [t(lang, head, **values)]
    people = data["people"]
    if status == "gathering":
        members = [p["name"] for p in people if p["username"] != data["organiser"]]
        lines.append(
            t(lang, "tally_gathering", names=", ".join(members) or t(lang, "tally_nobody_yet"), **values)
        )
    else:
        lines.append(
            t(
                lang,
                "tally_progress",
                paid=data["paid_count"],
                count=data["count"],
                paid_amount=format_amount(int(data["paid_amount"])),
                total=format_amount(int(data["total"])),
            )
        )
        for person in people[:MAX_LINES]:
            line = {"name": person["name"], "amount": format_amount(person["amount"])}
            lines.append(t(lang, f"tally_{person['status']}", **line))
        if len(people) > MAX_LINES:
            lines.append(f"… +{len(people) - MAX_LINES}")
    ending = {
        "billing": "tally_billing",
        "settled": "tally_settled",
        "closed": "tally_closed",
        "cancelled": "tally_was_cancelled",
    }.get(status)
    if ending:
        lines.append(t(lang, ending, **values))
    return "\n".join(lines), _buttons(lang, data, bot_username)


def _request(lang: str, data: dict[str, Any], values: dict[str, Any]) -> str:
    """A pay-me request: who asks for what, and who has paid."""
    lines = [t(lang, "tally_request", **values)]
    paid = [p["name"] for p in data["people"] if p["status"] == "paid"]
    if paid:
        lines.append(t(lang, "tally_request_paid", count=len(paid), names=", ".join(paid[:MAX_LINES])))
    elif data["status"] == "open":
        lines.append(t(lang, "tally_request_nobody", **values))
    if data["status"] == "cancelled":
        lines.append(t(lang, "tally_request_closed", **values))
    return "\n".join(lines)


def _buttons(lang: str, data: dict[str, Any], bot_username: str) -> InlineKeyboardMarkup | None:
    """What can still be done with the split from its message."""
    split_id, kind, status = data["split"], data["kind"], data["status"]
    if not data.get("current", True):
        return None  # an earlier month's tally: only the current one takes actions
    cancel_text = {"split": "btn_split_cancel", "dues": "btn_dues_stop", "request": "btn_request_close"}[kind]
    cancel = InlineKeyboardButton(t(lang, cancel_text), callback_data=SPLIT_CANCEL + split_id)
    if status == "gathering":
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(t(lang, "btn_join"), callback_data=SPLIT_JOIN + split_id),
                    InlineKeyboardButton(
                        t(lang, "btn_bill_everyone"), url=deep_link(bot_username, BILL_EVERYONE + split_id)
                    ),
                ],
                [cancel],
            ]
        )
    if status == "open" or (
        kind == "dues" and status in ("settled", "closed") and data.get("phase") == "billed"
    ):
        pay = "btn_pay_request" if kind == "request" else "btn_pay_share"
        link = InlineKeyboardButton(t(lang, pay), url=deep_link(bot_username, PAY_SHARE + split_id))
        return InlineKeyboardMarkup([[link], [cancel]] if status == "open" else [[cancel]])
    return None

"""Inline and reply keyboards, and the callback-data prefixes the bot's handlers match.

Telegram limits callback data to 64 bytes; a bill code is 10 characters.
"""

from __future__ import annotations

import re

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.texts import LANGS, LANGUAGE_NAMES, TEXTS, t

BILL_PAY = "bill:pay:"  # + bill code: the payer pressed Pay
BILL_DECLINE = "bill:decline:"  # + bill code: the payer pressed Decline
BILL_CANCEL = "bill:cancel:"  # + bill code: the issuer pressed Cancel
CONFIRM = "cf:"  # + confirmation token: the summary's Confirm button
CANCEL = "cx:"  # + confirmation token: the summary's Cancel button
HISTORY = "hist:"  # + page number (0 = newest)
# the history's filters: "hf:p" / "hf:k" / "hf:w" open the period / kind / person menu, "hf:back"
# closes it; "hf:p=2026-10", "hf:k=transfers_in", "hf:w=sari" choose ("=-" clears that filter)
HISTORY_FILTER = "hf:"
CLEAR = "-"  # a filter's value that clears it
STATEMENT = "st:"  # + YYYY-MM: the month of the e-statement to send
INSIGHTS = "ins:"  # + "counterparty" / "kind": how the chart splits this month's money out
KINDS = ("transfers_in", "transfers_out", "bills_paid", "bills_received", "cash", "reversals")
LANG = "lang:"  # + "id" / "en"

CONFIRM_PATTERN = re.compile(rf"^{CONFIRM}")
CANCEL_PATTERN = re.compile(rf"^{CANCEL}")
HISTORY_PATTERN = re.compile(rf"^{HISTORY}\d+$")
HISTORY_FILTER_PATTERN = re.compile(
    rf"^{HISTORY_FILTER}(?:[pkw]|back|p=(?:-|\d{{4}}-\d{{2}})|k=(?:-|{'|'.join(KINDS)})|w=(?:-|\w{{3,32}}))$"
)
STATEMENT_PATTERN = re.compile(rf"^{STATEMENT}\d{{4}}-\d{{2}}$")
INSIGHTS_PATTERN = re.compile(rf"^{INSIGHTS}(?:counterparty|kind)$")
LANG_PATTERN = re.compile(rf"^{LANG}(?:{'|'.join(LANGS)})$")
BILL_PAY_PATTERN = re.compile(rf"^{re.escape(BILL_PAY)}\w+$")
BILL_DECLINE_PATTERN = re.compile(rf"^{re.escape(BILL_DECLINE)}\w+$")
BILL_CANCEL_PATTERN = re.compile(rf"^{re.escape(BILL_CANCEL)}\w+$")
BILL_BUTTON_PATTERN = re.compile(
    rf"^(?:{re.escape(BILL_PAY)}|{re.escape(BILL_DECLINE)}|{re.escape(BILL_CANCEL)})\w+$"
)
SKIP_PATTERN = re.compile(
    "^(?:" + "|".join(re.escape(TEXTS[lang]["skip_button"]) for lang in LANGS) + ")$",
    re.IGNORECASE,
)


def bill_pay(code: str) -> str:
    """Callback data of the Pay button of one bill."""
    return BILL_PAY + code


def bill_decline(code: str) -> str:
    """Callback data of the Decline button of one bill."""
    return BILL_DECLINE + code


def bill_cancel(code: str) -> str:
    """Callback data of the Cancel button of one bill."""
    return BILL_CANCEL + code


def confirm_keyboard(lang: str, token: str) -> InlineKeyboardMarkup:
    """Confirm / Cancel under a summary; `token` ties the buttons to this one confirmation."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "confirm_button"), callback_data=CONFIRM + token),
                InlineKeyboardButton(t(lang, "cancel_button"), callback_data=CANCEL + token),
            ]
        ]
    )


def bill_payer_keyboard(lang: str, code: str) -> InlineKeyboardMarkup:
    """Pay / Decline under a bill the user must pay."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(lang, "pay_button"), callback_data=bill_pay(code)),
                InlineKeyboardButton(t(lang, "decline_button"), callback_data=bill_decline(code)),
            ]
        ]
    )


def bill_issuer_keyboard(lang: str, code: str) -> InlineKeyboardMarkup:
    """Cancel under an open bill the user issued."""
    button = InlineKeyboardButton(t(lang, "cancel_bill_button"), callback_data=bill_cancel(code))
    return InlineKeyboardMarkup([[button]])


def history_keyboard(
    lang: str, page: int, *, has_older: bool, labels: tuple[str, str, str]
) -> InlineKeyboardMarkup:
    """Older / Newer under a history page, then its filters (period, kind, person: `labels` says
    what each is set to); each filter button opens its menu."""
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(t(lang, "newer_button"), callback_data=f"{HISTORY}{page - 1}"))
    if has_older:
        row.append(InlineKeyboardButton(t(lang, "older_button"), callback_data=f"{HISTORY}{page + 1}"))
    period, kind, person = labels
    filters = [
        InlineKeyboardButton(
            t(lang, "filter_period_button", label=period), callback_data=f"{HISTORY_FILTER}p"
        ),
        InlineKeyboardButton(t(lang, "filter_kind_button", label=kind), callback_data=f"{HISTORY_FILTER}k"),
        InlineKeyboardButton(
            t(lang, "filter_person_button", label=person), callback_data=f"{HISTORY_FILTER}w"
        ),
    ]
    return InlineKeyboardMarkup([row, filters] if row else [filters])


def _choices(
    lang: str, prefix: str, choices: list[tuple[str, str]], per_row: int = 2
) -> InlineKeyboardMarkup:
    """A menu of (label, value) buttons sending `prefix` + value, then Back."""
    buttons = [InlineKeyboardButton(label, callback_data=prefix + value) for label, value in choices]
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    rows.append([InlineKeyboardButton(t(lang, "back_button"), callback_data=f"{HISTORY_FILTER}back")])
    return InlineKeyboardMarkup(rows)


def period_keyboard(lang: str, months: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """All time, then one button per (label, YYYY-MM) month, newest first."""
    return _choices(lang, f"{HISTORY_FILTER}p=", [(t(lang, "filter_all_time"), CLEAR), *months])


def kind_keyboard(lang: str) -> InlineKeyboardMarkup:
    """All kinds, then each kind a history can be filtered to."""
    kinds = [(t(lang, f"filter_{kind}"), kind) for kind in KINDS]
    return _choices(lang, f"{HISTORY_FILTER}k=", [(t(lang, "filter_all_kinds"), CLEAR), *kinds])


def person_keyboard(lang: str, people: list[str]) -> InlineKeyboardMarkup:
    """Everyone, then one button per username."""
    return _choices(
        lang, f"{HISTORY_FILTER}w=", [(t(lang, "filter_everyone"), CLEAR), *((f"@{p}", p) for p in people)]
    )


def statement_keyboard(months: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One button per (label, YYYY-MM) month, newest first, two to a row."""
    buttons = [InlineKeyboardButton(label, callback_data=STATEMENT + month) for label, month in months]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def lang_keyboard() -> InlineKeyboardMarkup:
    """One button per language."""
    buttons = [InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=LANG + code) for code in LANGS]
    return InlineKeyboardMarkup([buttons])


def skip_keyboard(lang: str) -> ReplyKeyboardMarkup:
    """A one-time reply keyboard with a single Skip button."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(t(lang, "skip_button"))]], resize_keyboard=True, one_time_keyboard=True
    )


def contact_keyboard(lang: str) -> ReplyKeyboardMarkup:
    """ "Share my phone number" (request_contact) and Skip."""
    return ReplyKeyboardMarkup(
        [
            [KeyboardButton(t(lang, "share_contact_button"), request_contact=True)],
            [KeyboardButton(t(lang, "skip_button"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def insights_keyboard(lang: str, by: str) -> InlineKeyboardMarkup:
    """Under the chart: switch this month's split to the other way (by kind ↔ by person)."""
    other = "kind" if by == "counterparty" else "counterparty"
    label = t(lang, "insights_by_kind_button" if other == "kind" else "insights_by_person_button")
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=INSIGHTS + other)]])

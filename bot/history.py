"""/history: newest first, one page at a time, with Older / Newer buttons and filters.

The backend's cursors are opaque and may be longer than callback data allows (64 bytes), so
the chat keeps the cursor of every page it has seen and the buttons carry only page numbers.

Filters (the chat keeps them in `history_filter`: month, kind, counterparty) narrow the list:
by period (this month, last month, an earlier month), by kind (transfers in or out, bills paid
by or to me, top-ups and withdrawals, reversals) and by person. The buttons under a page open a
menu for each, in place; `/history @sari` and `/history 2026-10` set them from the command.
A new /history without arguments starts unfiltered.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.common import (
    Context,
    answer,
    backend,
    chat_data,
    edit,
    guarded,
    lang_of,
    require_session,
    say,
    say_text,
)
from bot.keyboards import (
    CLEAR,
    HISTORY,
    HISTORY_FILTER,
    history_keyboard,
    kind_keyboard,
    period_keyboard,
    person_keyboard,
)
from bot.money import format_amount
from bot.texts import month_name, t

PAGE_SIZE = 5
PEOPLE_SCAN = 100  # the movements the person menu looks through for counterparties
PEOPLE_MAX = 8  # people offered in that menu, most recent first
PERIOD_MONTHS = 6  # months offered in the period menu (this one and the five before)
WIB = timezone(timedelta(hours=7), "WIB")  # Western Indonesia Time, no daylight saving
MONTH_RE = re.compile(r"^(?:(\d{4})-(\d{1,2})|(\d{1,2})/(\d{4}))$")
USERNAME_RE = re.compile(r"^@?(\w{3,32})$")
FILTER_KEYS = {"p": "month", "k": "kind", "w": "counterparty"}


def format_date(created_at: str) -> str:
    """`2026-11-26T14:00:00Z` → `26-11-2026 21:00` (WIB)."""
    moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M")


def recent_months(count: int, now: datetime | None = None) -> list[str]:
    """This month (in WIB) and the `count` − 1 before it, newest first: ["2026-12", "2026-11"...]."""
    moment = (now or datetime.now(UTC)).astimezone(WIB)
    year, month = moment.year, moment.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


def parse_month(text: str, now: datetime | None = None) -> str | None:
    """ "2026-10", "2026-1" or "10/2026" → "2026-10", if it is this month or earlier (else None)."""
    found = MONTH_RE.match(text.strip())
    if found is None:
        return None
    year, month = (int(found[1]), int(found[2])) if found[1] else (int(found[4]), int(found[3]))
    if not (year >= 2000 and 1 <= month <= 12):
        return None
    chosen = f"{year:04d}-{month:02d}"
    return chosen if chosen <= recent_months(1, now)[0] else None


def format_item(lang: str, item: dict[str, Any]) -> str:
    """One transaction: date · kind · signed amount, counterparty and description."""
    party = ""
    if item.get("counterparty"):
        party = t(lang, "party_to" if item["amount"] < 0 else "party_from", party=item["counterparty"])
    note = item.get("description") or item.get("bill_code")
    return t(
        lang,
        "history_line",
        date=format_date(item.get("booked_at") or item["created_at"]),
        label=t(lang, f"kind_{item['kind']}"),
        amount=format_amount(item["amount"], signed=True),
        party=party,
        description=t(lang, "history_note", note=note) if note else "",
    )


def period_label(lang: str, month: str | None) -> str:
    """All time, This month, Last month, or the month's name."""
    if month is None:
        return t(lang, "filter_all_time")
    this, last = recent_months(2)
    if month in (this, last):
        return t(lang, "filter_this_month" if month == this else "filter_last_month")
    return month_name(lang, month)


def filter_labels(lang: str, filters: dict[str, str]) -> tuple[str, str, str]:
    """What the period, kind and person filters are set to, in words."""
    kind, person = filters.get("kind"), filters.get("counterparty")
    return (
        period_label(lang, filters.get("month")),
        t(lang, f"filter_{kind}") if kind else t(lang, "filter_all_kinds"),
        f"@{person}" if person else t(lang, "filter_everyone"),
    )


def describe_filters(lang: str, filters: dict[str, str]) -> str:
    """The filters that are set, in words: "October 2026 · Transfers out · @sari"."""
    period, kind, person = filter_labels(lang, filters)
    shown = [
        label
        for key, label in (("month", period), ("kind", kind), ("counterparty", person))
        if filters.get(key)
    ]
    return " · ".join(shown)


def filters_of(context: Context) -> dict[str, str]:
    """The chat's history filters (month, kind, counterparty), as the backend takes them."""
    return chat_data(context).setdefault("history_filter", {})  # type: ignore[no-any-return]


async def render_page(context: Context, lang: str, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """Fetch page `page` (0 = newest) under the chat's filters and render its text and buttons."""
    filters = filters_of(context)
    cursors: list[str | None] = chat_data(context).setdefault("history_cursors", [None])
    answer = await backend(context).history(require_session(context), PAGE_SIZE, cursors[page], filters)
    del cursors[page + 1 :]
    if answer.get("next_cursor"):
        cursors.append(answer["next_cursor"])
    items = answer.get("items") or []
    has_older = bool(answer.get("next_cursor"))
    markup = history_keyboard(lang, page, has_older=has_older, labels=filter_labels(lang, filters))
    if not items and page == 0:
        if not filters:
            return t(lang, "history_empty"), None
        return t(lang, "history_none_match", filters=describe_filters(lang, filters)), markup
    lines = [t(lang, "history_header", page=page + 1)]
    if filters:
        lines.append(t(lang, "history_filtered", filters=describe_filters(lang, filters)))
    lines += [format_item(lang, item) for item in items]
    return "\n".join(lines), markup


def _filters_from_args(args: list[str]) -> dict[str, str] | None:
    """`/history @sari 2026-10` → {"counterparty": "sari", "month": "2026-10"}; None if unreadable."""
    filters: dict[str, str] = {}
    for arg in args:
        month = parse_month(arg)
        person = USERNAME_RE.match(arg)
        if month is not None and "month" not in filters:
            filters["month"] = month
        elif person is not None and not MONTH_RE.match(arg) and "counterparty" not in filters:
            filters["counterparty"] = person[1].lower()
        else:
            return None
    return filters


@guarded
async def show_history(update: Update, context: Context) -> None:
    """/history [@username] [YYYY-MM]: the newest page, filtered as asked."""
    filters = _filters_from_args(list(context.args or []))
    if filters is None:
        await say(update, context, "history_bad_filter")
        return
    chat_data(context)["history_filter"] = filters
    chat_data(context)["history_cursors"] = [None]
    text, markup = await render_page(context, lang_of(update, context), 0)
    await say_text(update, context, text, reply_markup=markup)


@guarded
async def turn_page(update: Update, context: Context) -> None:
    """Older / Newer: replace the page in place."""
    query = update.callback_query
    assert query is not None and query.data is not None
    page = int(query.data.removeprefix(HISTORY))
    cursors = chat_data(context).get("history_cursors") or [None]
    if page >= len(cursors):  # buttons of an older /history message
        await answer(update, context, "button_stale")
        return
    await answer(update, context)
    text, markup = await render_page(context, lang_of(update, context), page)
    await edit(update, text, reply_markup=markup)


@guarded
async def choose_filter(update: Update, context: Context) -> None:
    """A filter button: open the period, kind or person menu in place, or apply a choice and show
    the newest page of what it selects."""
    query = update.callback_query
    assert query is not None and query.data is not None
    lang = lang_of(update, context)
    which, _, value = query.data.removeprefix(HISTORY_FILTER).partition("=")
    if which == "p" and not value:
        months = [(period_label(lang, month), month) for month in recent_months(PERIOD_MONTHS)]
        await answer(update, context)
        await edit(update, t(lang, "history_choose_period"), reply_markup=period_keyboard(lang, months))
        return
    if which == "k" and not value:
        await answer(update, context)
        await edit(update, t(lang, "history_choose_kind"), reply_markup=kind_keyboard(lang))
        return
    if which == "w" and not value:
        people = await recent_people(context)
        if not people:
            await answer(update, context, "history_no_people")
            return
        await answer(update, context)
        await edit(update, t(lang, "history_choose_person"), reply_markup=person_keyboard(lang, people))
        return
    if which in FILTER_KEYS:  # a choice: set (or clear) that filter
        filters = filters_of(context)
        if value == CLEAR:
            filters.pop(FILTER_KEYS[which], None)
        else:
            filters[FILTER_KEYS[which]] = value
    await answer(update, context)
    chat_data(context)["history_cursors"] = [None]
    text, markup = await render_page(context, lang, 0)
    await edit(update, text, reply_markup=markup)


async def recent_people(context: Context) -> list[str]:
    """The people this account last moved money with (most recent first, at most PEOPLE_MAX)."""
    found = await backend(context).history(require_session(context), PEOPLE_SCAN, None)
    people: list[str] = []
    for item in found.get("items") or []:
        party = item.get("counterparty")
        if party and party not in people:
            people.append(party)
    return people[:PEOPLE_MAX]

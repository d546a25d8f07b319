"""/history: newest first, one page at a time, with Older / Newer buttons.

The backend's cursors are opaque and may be longer than callback data allows (64 bytes), so
the chat keeps the cursor of every page it has seen and the buttons carry only page numbers.
"""

from __future__ import annotations

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
    say_text,
)
from bot.keyboards import HISTORY, history_keyboard
from bot.money import format_amount
from bot.texts import t

PAGE_SIZE = 5
WIB = timezone(timedelta(hours=7), "WIB")  # Western Indonesia Time, no daylight saving


def format_date(created_at: str) -> str:
    """`2026-11-26T14:00:00Z` → `26-11-2026 21:00` (WIB)."""
    moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(WIB).strftime("%d-%m-%Y %H:%M")


def format_item(lang: str, item: dict[str, Any]) -> str:
    """One transaction: date · kind · signed amount, counterparty and description."""
    party = ""
    if item.get("counterparty"):
        party = t(lang, "party_to" if item["amount"] < 0 else "party_from", party=item["counterparty"])
    note = item.get("description") or item.get("bill_code")
    return t(
        lang,
        "history_line",
        date=format_date(item["created_at"]),
        label=t(lang, f"kind_{item['kind']}"),
        amount=format_amount(item["amount"], signed=True),
        party=party,
        description=t(lang, "history_note", note=note) if note else "",
    )


async def render_page(context: Context, lang: str, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    """Fetch page `page` (0 = newest) and render its text and buttons."""
    cursors: list[str | None] = chat_data(context).setdefault("history_cursors", [None])
    answer = await backend(context).history(require_session(context), PAGE_SIZE, cursors[page])
    del cursors[page + 1 :]
    if answer.get("next_cursor"):
        cursors.append(answer["next_cursor"])
    items = answer.get("items") or []
    if not items and page == 0:
        return t(lang, "history_empty"), None
    lines = [t(lang, "history_header", page=page + 1), *(format_item(lang, item) for item in items)]
    return "\n".join(lines), history_keyboard(lang, page, has_older=bool(answer.get("next_cursor")))


@guarded
async def show_history(update: Update, context: Context) -> None:
    """/history: the newest page."""
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

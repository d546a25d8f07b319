"""/statement and /insights: a month's e-statement as two Telegram documents (the PDF, and the
same rows as CSV), and the spending chart as a photo with a one-line summary under it and a
button that swaps it, in place, for this month's split by kind (and back, by person).

The backend renders both (backend/documents.py) in the chat's language; the bot only asks for
them with the chat's login and sends them into this private chat (in a group the guard points
people here first: balances and amounts never reach a group).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telegram import InputMediaPhoto, Update
from telegram.error import BadRequest

from bot.common import Context, answer, backend, edit, guarded, lang_of, require_session, say
from bot.history import parse_month, recent_months
from bot.keyboards import INSIGHTS, STATEMENT, insights_keyboard, statement_keyboard
from bot.money import format_amount
from bot.texts import month_name, t

STATEMENT_MONTHS = 6  # months offered by /statement (this one and the five before)
FIGURES = ("opening", "money_in", "money_out", "closing")
BY_PERSON = "counterparty"  # /insights splits this month's money out by person first


@guarded
async def statement_command(update: Update, context: Context) -> None:
    """/statement [YYYY-MM]: that month's e-statement, or a choice of the last six months."""
    require_session(context)
    lang = lang_of(update, context)
    args = list(context.args or [])
    month = parse_month(args[0]) if len(args) == 1 else None
    if month is not None:
        await send_statement(update, context, month)
        return
    months = [(month_name(lang, m), m) for m in recent_months(STATEMENT_MONTHS)]
    key = "statement_bad_month" if args else "statement_choose"
    await say(update, context, key, reply_markup=statement_keyboard(months))


@guarded
async def statement_chosen(update: Update, context: Context) -> None:
    """A month button under /statement: say it is on its way, then send it."""
    query = update.callback_query
    assert query is not None and query.data is not None
    month = query.data.removeprefix(STATEMENT)
    lang = lang_of(update, context)
    await answer(update, context)
    await edit(update, t(lang, "statement_preparing", month=month_name(lang, month)))
    await send_statement(update, context, month)


async def send_statement(update: Update, context: Context, month: str) -> None:
    """The PDF (its caption: opening, in, out, closing, count) and then the CSV of `month`."""
    assert update.effective_chat is not None
    session, lang = require_session(context), lang_of(update, context)
    client = backend(context)
    pdf, headers = await client.document(session, "statement", lang, month=month, format="pdf")
    csv, _ = await client.document(session, "statement", lang, month=month, format="csv")
    name = month_name(lang, month)
    chat = update.effective_chat.id
    await context.bot.send_document(
        chat, pdf, filename=f"mata-duitan-{month}.pdf", caption=statement_caption(lang, name, headers)
    )
    await context.bot.send_document(
        chat, csv, filename=f"mata-duitan-{month}.csv", caption=t(lang, "statement_csv_caption", month=name)
    )


def statement_caption(lang: str, name: str, headers: Mapping[str, str]) -> str:
    """The PDF's caption from the figures the backend sent with it (X-Statement-*)."""
    figures = {key: format_amount(int(headers[f"x-statement-{key.replace('_', '-')}"])) for key in FIGURES}
    return t(lang, "statement_caption", month=name, count=headers["x-statement-count"], **figures)


@guarded
async def insights_command(update: Update, context: Context) -> None:
    """/insights: the chart of the last six months and of where this month's money went (by
    person), a one-line summary under it, and a button to split it by kind instead."""
    assert update.effective_chat is not None
    lang = lang_of(update, context)
    png, caption = await chart(context, lang, BY_PERSON)
    markup = insights_keyboard(lang, BY_PERSON)
    await context.bot.send_photo(update.effective_chat.id, png, caption=caption, reply_markup=markup)


@guarded
async def insights_switched(update: Update, context: Context) -> None:
    """By kind / By person under the chart: the same message gets the other chart."""
    query = update.callback_query
    assert query is not None and query.data is not None
    by, lang = query.data.removeprefix(INSIGHTS), lang_of(update, context)
    await answer(update, context)
    png, caption = await chart(context, lang, by)
    try:
        await query.edit_message_media(
            InputMediaPhoto(png, caption=caption), reply_markup=insights_keyboard(lang, by)
        )
    except BadRequest as exc:  # a second tap on the same button: the chart is already this one
        if "not modified" not in str(exc).lower():
            raise


async def chart(context: Context, lang: str, by: str) -> tuple[bytes, str]:
    """The chart (split `by` counterparty or kind) and its summary line."""
    session, client = require_session(context), backend(context)
    figures = await client.insights(session, by)
    png, _ = await client.document(session, "insights", lang, format="png", by=by)
    return png, insights_caption(lang, figures)


def insights_caption(lang: str, figures: dict[str, Any]) -> str:
    """ "December 2026: Rp500.000 in, Rp120.000 out. Most went to @sari (Rp80.000)." """
    now = figures["months"][-1]
    spent = figures.get("spent") or []
    if spent:
        top = spent[0]
        party = f"@{top['counterparty']}" if top.get("counterparty") else t(lang, f"kind_{top['kind']}")
        key = "insights_top" if top.get("counterparty") else "insights_top_kind"
        tail = t(lang, key, party=party, amount=format_amount(int(top["amount"])))
    else:
        tail = t(lang, "insights_nothing_out")
    return t(
        lang,
        "insights_caption",
        month=month_name(lang, figures["month"]),
        money_in=format_amount(int(now["money_in"])),
        money_out=format_amount(int(now["money_out"])),
        top=tail,
    )

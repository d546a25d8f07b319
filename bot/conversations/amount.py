"""Reading an amount in a flow step: parse it, or say why not."""

from __future__ import annotations

from telegram import Update

from bot.common import Context, say
from bot.money import AmountError, parse_amount


async def read_amount(update: Update, context: Context) -> int | None:
    """The amount the user typed, or None after telling them what is wrong with it."""
    assert update.message is not None
    try:
        return parse_amount(update.message.text or "")
    except AmountError as exc:
        await say(update, context, f"amount_{exc.reason}")
        return None

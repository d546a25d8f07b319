"""Bill reminders: each open bill's payer is reminded once every REMINDER_INTERVAL seconds.

The backend picks the open bills that are due and marks them reminded in the same database
operation, so each bill is reminded at most once per interval even across restarts and with
two bot processes running. The bot only delivers what it was handed.

The job asks far more often than once per interval: a bill falls due `interval` after it was
created (or last reminded), not when the job happens to run, and a job running exactly once per
interval would find it just short of due half the time and remind it one interval late.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from bot.client import BackendError, BackendUnavailable
from bot.common import backend
from bot.keyboards import bill_payer_keyboard
from bot.money import format_amount
from bot.texts import normalize_lang, t

logger = logging.getLogger(__name__)

MAX_BATCHES = 20  # per run; the rest waits for the next run
CHECKS_PER_INTERVAL = 10
MAX_CHECK_PERIOD = 300.0  # seconds: with a one-day interval, a reminder is at most 5 min late


def check_period(interval: int) -> float:
    """Seconds between two asks for due bills: a tenth of the interval, 1 s to 5 min."""
    return min(max(interval / CHECKS_PER_INTERVAL, 1.0), MAX_CHECK_PERIOD)


def schedule(application: Application) -> None:
    """Start the reminder job (post_init)."""
    settings = application.bot_data["settings"]
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        send_reminders,
        interval=check_period(settings.reminder_interval),
        first=settings.reminder_first,
        name="reminders",
    )


async def remind(bot: Bot, bill: dict[str, Any]) -> bool:
    """DM the payer one reminder with Pay / Decline; False (logged) if it could not be sent,
    so that one chat never stops the reminders of the others."""
    lang = normalize_lang(bill.get("payer_lang"))
    text = t(lang, "reminder", **{**bill, "amount": format_amount(bill["amount"])})
    try:
        await bot.send_message(
            bill["payer_chat_id"], text, reply_markup=bill_payer_keyboard(lang, bill["code"])
        )
    except Forbidden:
        logger.info(
            "reminder for bill %s skipped: chat %s blocked the bot",
            bill["code"],
            bill["payer_chat_id"],
        )
        return False
    except TelegramError as exc:  # chat not found, flood limit, network...
        logger.warning("reminder for bill %s not sent: %s", bill["code"], exc)
        return False
    return True


async def send_reminders(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: claim the bills due a reminder from the backend and DM their payers."""
    settings = context.application.bot_data["settings"]
    for _ in range(MAX_BATCHES):
        try:
            bills = await backend(context).claim_reminders(
                settings.reminder_interval, settings.reminder_batch
            )
        except (BackendError, BackendUnavailable) as exc:
            logger.warning("reminders: backend refused or unreachable: %s", exc)
            return
        for bill in bills:
            await remind(context.bot, bill)
        if len(bills) < settings.reminder_batch:
            return

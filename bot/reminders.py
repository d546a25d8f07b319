"""Bill reminders: each open bill's payer is reminded once every REMINDER_INTERVAL seconds.

The backend picks the open bills that are due, marks them reminded and queues a reminder notice
for each in the same step, so each bill is reminded at most once per interval even across
restarts and with two bot processes running. The reminders then leave through the outbox like
every other notice (see courier.py): paced, retried if Telegram refuses one, dropped if the bill
was paid or cancelled meanwhile — never lost for a whole interval.

The job asks far more often than once per interval: a bill falls due `interval` after it was
created (or last reminded), not when the job happens to run, and a job running exactly once per
interval would find it just short of due half the time and remind it one interval late.
"""

from __future__ import annotations

import logging

from telegram.ext import Application, ContextTypes

from bot.client import BackendError, BackendUnavailable
from bot.common import backend

logger = logging.getLogger(__name__)

MAX_BATCHES = 400  # per run (20,000 bills at the default batch); the rest waits for the next run
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
        queue_reminders,
        interval=check_period(settings.reminder_interval),
        first=settings.reminder_first,
        name="reminders",
    )


async def queue_reminders(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: have the backend queue the reminders that are due (the courier sends them)."""
    settings = context.application.bot_data["settings"]
    for _ in range(MAX_BATCHES):
        try:
            claimed = await backend(context).queue_reminders(
                settings.reminder_interval, settings.reminder_batch
            )
        except (BackendError, BackendUnavailable) as exc:
            logger.warning("reminders: backend refused or unreachable: %s", exc)
            return
        if claimed < settings.reminder_batch:
            return

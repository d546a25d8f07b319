"""`python -m bot`: long polling, or a webhook server when WEBHOOK_URL is set."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.app import build_application
from bot.config import BotSettings
from bot.webhook import run_webhook

logger = logging.getLogger(__name__)
RETRY_SECONDS = 10


def configure_logging() -> None:
    """Plain logs; httpx would log every Bot API URL, and those URLs contain the bot token."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def main() -> None:
    """Read the settings, build the bot, run it until interrupted."""
    configure_logging()
    settings = BotSettings()
    if settings.missing():  # without them every /register and /login would fail, one by one
        raise SystemExit(f"the bot needs {' and '.join(settings.missing())} (see .env.example)")
    if settings.webhook_url:
        asyncio.run(run_webhook(build_application(settings), settings))
        return
    poll_until_stopped(settings)


def poll_until_stopped(settings: BotSettings) -> None:
    """Long polling; while Telegram is unreachable at start-up, wait and try again.

    Exiting instead would make `make run` (honcho) stop the backend too. A token Telegram
    refuses will not get better: that one ends the bot with a clear message.
    """
    while True:
        try:
            # close_loop=False: a retry runs on the same event loop
            build_application(settings).run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)
            return
        except InvalidToken:
            raise SystemExit("Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather") from None
        except NetworkError as exc:
            logger.warning("Telegram is unreachable (%s); trying again in %d s", exc, RETRY_SECONDS)
            time.sleep(RETRY_SECONDS)


if __name__ == "__main__":
    main()

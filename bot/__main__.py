"""`python -m bot`: long polling, or a webhook server when WEBHOOK_URL is set."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.app import build_application
from bot.config import BotSettings
from bot.webhook import run_webhook


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
    application = build_application(settings)
    if settings.webhook_url:
        asyncio.run(run_webhook(application, settings))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()

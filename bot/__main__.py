"""`python -m bot`: long polling, or a webhook server when WEBHOOK_URL is set."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.app import build_application
from bot.config import BotSettings
from bot.webhook import run_webhook

logger = logging.getLogger(__name__)
RETRY_SECONDS = 10
INVALID_TOKEN_RETRY_SECONDS = 300  # a refused token is fixed by a person: ask Telegram rarely


def configure_logging() -> None:
    """Plain logs; httpx would log every Bot API URL, and those URLs contain the bot token."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per conversation timeout
    for handler in logging.getLogger().handlers:
        handler.addFilter(not_a_refused_token)


def not_a_refused_token(record: logging.LogRecord) -> bool:
    """Drop PTB's traceback of a refused token: it holds the token, and would come every retry
    (poll_until_stopped says it once)."""
    return not (record.exc_info and isinstance(record.exc_info[1], InvalidToken))


def main() -> None:
    """Read the settings, build the bot, run it until interrupted."""
    configure_logging()
    settings = BotSettings()
    if settings.missing():  # without them every /register and /login would fail, one by one
        raise SystemExit(f"the bot needs {' and '.join(settings.missing())} (see .env.example)")
    settings.bot_api_secret = settings.backend_secret()  # development: the backend's generated one
    if settings.webhook_url:
        asyncio.run(run_webhook(build_application(settings), settings))
        return
    poll_until_stopped(settings)


def poll_until_stopped(settings: BotSettings) -> None:
    """Long polling; while Telegram is unreachable at start-up, wait and try again.

    A token Telegram refuses is reported once and tried again every few minutes (a revoked
    token may be restored, a typo is fixed in .env and the bot restarted): exiting would only
    make the supervisor of `make run` restart the bot in a loop.
    """
    refused = False
    while True:
        try:
            # close_loop=False: a retry runs on the same event loop
            build_application(settings).run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)
            return
        except InvalidToken:
            if not refused:
                logger.error(
                    "Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather (trying again every %d s)",
                    INVALID_TOKEN_RETRY_SECONDS,
                )
                refused = True
            wait(INVALID_TOKEN_RETRY_SECONDS)
        except NetworkError as exc:
            logger.warning("Telegram is unreachable (%s); trying again in %d s", exc, RETRY_SECONDS)
            wait(RETRY_SECONDS)


def wait(seconds: float) -> None:
    """Sleep on PTB's event loop. run_polling leaves its SIGINT/SIGTERM handlers on that loop
    when it fails, so a time.sleep would ignore Ctrl-C and make run's SIGTERM; on the loop they
    end the bot (SystemExit) at once."""
    asyncio.get_event_loop().run_until_complete(asyncio.sleep(seconds))


if __name__ == "__main__":
    main()

"""`python -m backend`: serve the API with uvicorn on HOST:PORT."""

from __future__ import annotations

import uvicorn

from backend.config import Settings
from backend.main import configure_logging, create_app

SHUTDOWN_GRACE_SECONDS = 5


def main() -> None:
    """Run one backend process (it starts the embedded database when MONGODB_URI is unset)."""
    settings = Settings()
    configure_logging()
    # development without BOT_API_SECRET: write DATA_DIR/bot_api_secret now (the bot waits for it)
    _ = settings.bot_secret
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # on SIGTERM/Ctrl-C, requests still open after this (the bot's 25 s long polls of the outbox)
        # are cancelled, so the backend always gets to stop its embedded database in time
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


if __name__ == "__main__":
    main()

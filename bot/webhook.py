"""Webhook mode (WEBHOOK_URL set): a small Starlette app served by uvicorn.

PTB's own webhook server needs tornado (the `webhooks` extra), which this project does not
install; Starlette and uvicorn are already here for the backend. Every POST must carry
Telegram's `X-Telegram-Bot-Api-Secret-Token` header equal to WEBHOOK_SECRET.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.config import BotSettings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_path(settings: BotSettings) -> str:
    """The path part of WEBHOOK_URL, where Telegram (through any proxy) will POST."""
    return "/" + urlparse(settings.webhook_url).path.strip("/")


def build_webhook_app(application: Application, settings: BotSettings) -> Starlette:
    """The ASGI app that checks the secret header and queues each update for PTB."""

    async def receive(request: Request) -> Response:
        """One update from Telegram."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), settings.webhook_secret.encode()):
            logger.warning("webhook call with a wrong or missing secret token refused")
            return PlainTextResponse("forbidden", status_code=403)
        update = Update.de_json(await request.json(), application.bot)
        await application.update_queue.put(update)
        return Response(status_code=200)

    async def health(_: Request) -> Response:
        """Liveness probe."""
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route(webhook_path(settings), receive, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


async def run_webhook(application: Application, settings: BotSettings) -> None:
    """Register the webhook with Telegram, serve it until stopped, then shut down cleanly."""
    server = uvicorn.Server(
        uvicorn.Config(
            build_webhook_app(application, settings),
            host=settings.webhook_listen,
            port=settings.webhook_port,
            log_level="warning",
        )
    )
    async with application:  # initialize() ... shutdown()
        if application.post_init:
            await application.post_init(application)
        await application.bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
        )
        await application.start()
        try:
            await server.serve()  # returns on SIGINT / SIGTERM
        finally:
            await application.stop()
            if application.post_stop:  # the courier: its unsent notices go back to the outbox
                await application.post_stop(application)
            if application.post_shutdown:
                await application.post_shutdown(application)

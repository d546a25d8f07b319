"""create_app(settings): the lifespan opens the store, recovers the ledger and runs the sweeper."""

from __future__ import annotations

import contextvars
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, PyMongoError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api import admin, auth, bills, bot, splits, transfers, users
from backend.config import Settings
from backend.db import open_store
from backend.errors import ErrorCode, WalletError, http_code
from backend.schemas import Health
from backend.wallet import Wallet

logger = logging.getLogger(__name__)
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
MAX_BODY_BYTES = 64 * 1024


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id` to the record."""
        record.request_id = request_id.get()
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """One log format for the process, with the request id in every line."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run otherwise
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines carry the bot token


class RequestContext:
    """ASGI middleware: a request id per request (X-Request-ID) and a cap on body size."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the request, refuse oversized bodies with 413 before reading them."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex[:12]
        token = request_id.set(rid)
        headers = dict(scope["headers"])
        try:
            if int(headers.get(b"content-length", b"0") or 0) > MAX_BODY_BYTES:
                await _too_large(send)
                return
            await self.app(scope, _capped(receive), _with_request_id(send, rid))
        except _BodyTooLarge:
            await _too_large(send)
        finally:
            request_id.reset(token)


class _BodyTooLarge(Exception):
    """A streamed body went past MAX_BODY_BYTES."""


def _capped(receive: Receive) -> Receive:
    """A receive() that stops a body without Content-Length once it is too large."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > MAX_BODY_BYTES:
            raise _BodyTooLarge
        return message

    return wrapped


def _with_request_id(send: Send, rid: str) -> Send:
    """A send() that adds the X-Request-ID header to the response."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
        await send(message)

    return wrapped


async def _too_large(send: Send) -> None:
    """Answer 413 with the usual error body."""
    response = JSONResponse(
        {"detail": "request body too large", "code": ErrorCode.TOO_LARGE}, status_code=413
    )
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def _validation_detail(exc: RequestValidationError) -> str:
    """A readable summary of what was wrong, never echoing the submitted values."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors and database outages to JSON answers, once."""

    @app.exception_handler(WalletError)
    async def wallet_error(_: Request, exc: WalletError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": _validation_detail(exc), "code": ErrorCode.VALIDATION_ERROR}, status_code=422
        )

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        # Starlette's own refusals (a body that is not JSON, 404, 405) in the same shape as ours.
        body = {"detail": str(exc.detail), "code": http_code(exc.status_code)}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(PyMongoError)
    async def database_down(_: Request, exc: PyMongoError) -> JSONResponse:
        logger.error(
            "database error: %s",
            type(exc).__name__,
            exc_info=not isinstance(exc, ConnectionFailure),
        )
        body = {
            "detail": "the database is unavailable; try again (money requests: same Idempotency-Key)",
            "code": ErrorCode.UNAVAILABLE,
        }
        return JSONResponse(body, status_code=503)


def start_sweeper(wallet: Wallet, interval: int) -> BackgroundScheduler:
    """Periodic jobs (APScheduler): ledger recovery and cleanup; restarting a dead embedded database."""
    scheduler = BackgroundScheduler(daemon=True)

    def sweep() -> None:
        try:
            wallet.housekeeping()
        except Exception:
            logger.exception("sweeper run failed")

    def watch_database() -> None:
        try:
            wallet.store.revive_embedded()
        except Exception:
            logger.exception("could not restart the embedded database")

    scheduler.add_job(sweep, "interval", seconds=interval, max_instances=1, coalesce=True)
    scheduler.add_job(watch_database, "interval", seconds=1, max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


def create_app(settings: Settings | None = None) -> FastAPI:
    """A fresh application for these settings (tests build as many as they like)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = open_store(settings)
        wallet = Wallet(store, settings)
        wallet.ledger.apply_caps()
        wallet.statements.migrate()
        wallet.tokens.migrate_revocations()
        wallet.accounts.ensure_admin()
        wallet.ledger.recover()
        scheduler = start_sweeper(wallet, settings.sweeper_interval_seconds)
        app.state.wallet = wallet
        logger.info("backend ready (database: %s)", "embedded nx-27017" if store.embedded else "MONGODB_URI")
        try:
            yield
        finally:
            scheduler.shutdown(wait=True)
            store.close()

    app = FastAPI(
        title="Mata Duitan",
        version="0.1.0",
        lifespan=lifespan,
        description="A Telegram e-wallet backend: accounts, OTPs, an atomic ledger, bills.",
    )
    app.add_middleware(RequestContext)
    install_error_handlers(app)
    for module in (auth, users, transfers, bills, splits, admin, bot):
        app.include_router(module.router)

    down = {"model": Health, "description": "The database does not answer"}

    @app.get("/healthz", tags=["health"], response_model=Health, responses={503: down})
    def healthz(request: Request) -> JSONResponse:
        """Liveness and database reachability."""
        ok = request.app.state.wallet.store.ping()
        body: dict[str, Any] = {"ok": ok, "database": "up" if ok else "down"}
        return JSONResponse(body, status_code=200 if ok else 503)

    return app

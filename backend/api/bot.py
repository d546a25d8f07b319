"""Routes only the bot may call (header `X-Bot-Secret`): chat sessions, the outbox of notices,
reminders and dues rounds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from backend.api.deps import WalletDep, require_bot
from backend.api.responses import ANY, errors
from backend.db import Doc
from backend.errors import NotAuthenticated
from backend.schemas import (
    BotLink,
    BotRegister,
    BotSession,
    DuesRan,
    DuesRun,
    NoticeAck,
    NoticeAcked,
    NoticeClaim,
    NoticeList,
    Refreshed,
    RefreshRequest,
    ReminderClaim,
    RemindersQueued,
    UserCreate,
)
from backend.wallet import Wallet

router = APIRouter(
    prefix="/api/bot", tags=["bot"], dependencies=[Depends(require_bot)], responses={**ANY, **errors(403)}
)


def _session(wallet: Wallet, user: Doc, chat_id: int, lang: str) -> dict[str, Any]:
    """Link the chat and hand it an access token plus a long-lived refresh token."""
    wallet.accounts.link_chat(user["_id"], chat_id, lang)
    sid, refresh_token = wallet.tokens.open_session(user["_id"], chat_id)
    return {
        "accessToken": wallet.tokens.issue_access(user["_id"], sid),
        "refreshToken": refresh_token,
        "username": user["_id"],
        "name": user["name"],
        "amount_credit": user["balance"],
    }


@router.post("/register", status_code=201, response_model=BotSession, responses=errors(409))
def register(form: BotRegister, wallet: WalletDep) -> dict[str, Any]:
    """Sign up from a Telegram chat; the chat is then logged in."""
    fields = form.model_dump(include={"username", "password", "name", "email", "contact"})
    user = wallet.accounts.signup(UserCreate(**fields))
    return _session(wallet, user, form.chat_id, form.lang)


@router.post("/link", response_model=BotSession, responses=errors(401, 429))
def link(form: BotLink, wallet: WalletDep) -> dict[str, Any]:
    """Log a Telegram chat in with username and password."""
    # limited per Telegram user (the bot vouches for it) and per username, never per address:
    # every bot request comes from the bot's own address
    user = wallet.accounts.authenticate(form.username, form.password, f"tg:{form.chat_id}")
    return _session(wallet, user, form.chat_id, form.lang)


@router.post("/refresh", response_model=Refreshed, responses=errors(401, 404))
def refresh(form: RefreshRequest, wallet: WalletDep) -> dict[str, str]:
    """A new access token and the next refresh token (each refresh token works once)."""
    session, next_refresh = wallet.tokens.rotate(form.refresh_token)
    if wallet.store.users.count_documents({"_id": session["username"]}, limit=1) == 0:
        raise NotAuthenticated("this account no longer exists")
    return {
        "accessToken": wallet.tokens.issue_access(
            session["username"], session["_id"].removeprefix("session:")
        ),
        "refreshToken": next_refresh,
        "username": session["username"],
    }


@router.post("/logout", status_code=204)
def logout(form: RefreshRequest, wallet: WalletDep) -> Response:
    """End a chat's session (every access token of it stops working at once) and unlink the chat."""
    session = wallet.tokens.end_session(form.refresh_token)
    if session is not None:
        wallet.accounts.unlink_chat(session["username"], session["chat_id"])
    return Response(status_code=204)


@router.post("/reminders/queue", response_model=RemindersQueued)
def queue_reminders(form: ReminderClaim, wallet: WalletDep) -> dict[str, int]:
    """Queue a reminder notice for each open bill due one (each bill claimed by one caller)."""
    return wallet.queue_reminders(form.interval_seconds, form.limit)


@router.post("/notices/claim", response_model=NoticeList)
async def claim_notices(form: NoticeClaim, request: Request, wallet: WalletDep) -> dict[str, Any]:
    """Long poll for due notices (OTP DMs first, then news, then reminders), each leased to this caller."""
    items = await wallet.notices.poll(
        form.limit, form.wait_seconds, form.lowest_priority, gone=request.is_disconnected
    )
    return {"items": items}


@router.post("/notices/ack", response_model=NoticeAcked)
def ack_notices(form: NoticeAck, wallet: WalletDep) -> dict[str, int]:
    """Record what became of claimed notices: sent, retry later, or dead (blocked / chat gone)."""
    recorded = sum(
        wallet.notices.ack(item.id, item.claim, item.outcome, item.retry_after, item.error, item.message_id)
        for item in form.items
    )
    return {"recorded": recorded}


@router.post("/dues/run", response_model=DuesRan)
def run_dues(form: DuesRun, wallet: WalletDep) -> dict[str, int]:
    """Make the dues rounds that have come (bills and a new tally each; each month made once)."""
    return wallet.run_dues(form.limit)

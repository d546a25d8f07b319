"""The courier: delivers what the wallet owes its users, from the backend's outbox to their chats.

The backend writes every OTP DM, "you received", bill news and reminder into its outbox (see
backend/notices.py); this module is the only reader. It claims due notices over the bot API (a
long poll, so a code leaves within milliseconds), renders each from `texts.py`, sends it through
the rate limiter at the notice's priority and tells the backend what became of it:

    sent                       → sent (never again)
    403 blocked, 400 bad chat  → dead (recorded, never retried, holds up nobody)
    429, 5xx, timeout          → retry (Telegram's retry_after, else the backend's backoff)

Two loops claim: one only for codes (always listening), one for everything by priority, which
claims only while fewer than MAX_IN_FLIGHT notices are in the limiter, so a claimed notice leaves
long before its lease ends and 10,000 reminders never sit in memory. A notice for a chat that
already has PER_CHAT notices on their way is handed back for later instead of queueing behind
them. A crash between a send and its acknowledgement repeats that one message after the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.client import BackendClient, BackendError, BackendUnavailable
from bot.keyboards import bill_payer_keyboard
from bot.money import format_amount
from bot.ratelimit import NOTICE, REMINDER, REPLY, retry_after_of
from bot.tally import render_tally
from bot.texts import TEXTS, normalize_lang, t

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 100  # ~3.6 s of sending at the overall pace: chats waiting on their own pace do not stall it
PER_CHAT = 2  # notices of one chat on their way at once (its pace is ~1/s)
PATIENCE = 20.0  # seconds one notice keeps retrying in the limiter before it goes back
POLL_WAIT = 25.0  # seconds one long poll waits for a due notice
UNKNOWN_KIND_DELAY = 600.0  # a notice this bot cannot render waits for a newer bot
WITH_PAY_BUTTONS = {"bill_new", "reminder"}
TALLY = "tally"  # a split's message, sent once then edited (see bot/tally.py)


def render(notice: dict[str, Any], bot_username: str = "") -> tuple[str, InlineKeyboardMarkup | None]:
    """The text (and buttons) of one notice in its recipient's language; KeyError if unknown."""
    lang, kind = normalize_lang(notice.get("lang")), str(notice["kind"])
    if kind == TALLY:
        return render_tally(lang, notice["data"], bot_username)
    key = "reminder" if kind == "reminder" else f"notice_{kind}"
    if key not in TEXTS["en"]:
        raise KeyError(kind)
    values = dict(notice["data"])
    if "amount" in values:
        values["amount"] = format_amount(int(values["amount"]))
    description = values.get("description")
    values["note"] = t(lang, "notice_note", description=description) if description else ""
    if kind == "otp":
        values["what"] = t(lang, f"notice_otp_{values['action']}", **values)
    markup = bill_payer_keyboard(lang, values["code"]) if kind in WITH_PAY_BUTTONS else None
    return t(lang, key, **values), markup


def _chat_key(notice: dict[str, Any]) -> int:
    """The chat a notice goes to (an inline message's stands for its chat, which is unknown)."""
    if notice.get("chat_id") is not None:
        return int(notice["chat_id"])
    return -abs(hash(notice.get("inline_message_id"))) or -1


class Courier:
    """Claims, sends and acknowledges notices until stopped."""

    def __init__(self, bot: ExtBot[Any], backend: BackendClient, *, poll_wait: float = POLL_WAIT) -> None:
        self.bot = bot
        self.backend = backend
        self.poll_wait = poll_wait
        self._tasks: set[asyncio.Task[None]] = set()
        self._deliveries: dict[str, tuple[asyncio.Task[None], dict[str, Any]]] = {}
        self._per_chat: Counter[int] = Counter()
        self._room = asyncio.Event()
        self._acks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outcomes: Counter[str] = Counter()

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start the claim loops and the acknowledgement flusher."""
        for name, coroutine in (
            ("courier-codes", self._claim_loop(urgent=True)),
            ("courier-all", self._claim_loop(urgent=False)),
            ("courier-acks", self._flush_acks()),
        ):
            task = asyncio.create_task(coroutine, name=name)
            self._tasks.add(task)

    async def stop(self) -> None:
        """Stop claiming; hand unsent notices back at once so a restart sends them without delay."""
        for task in self._tasks:
            task.cancel()
        unsent = [notice for task, notice in self._deliveries.values() if not task.done()]
        for task, _ in self._deliveries.values():
            task.cancel()
        await asyncio.gather(
            *self._tasks, *(task for task, _ in self._deliveries.values()), return_exceptions=True
        )
        pending = [self._outcome(n, "retry", retry_after=0) for n in unsent]
        while not self._acks.empty():
            pending.append(self._acks.get_nowait())
        if pending:
            with contextlib.suppress(BackendError, BackendUnavailable):
                await self.backend.ack_notices(pending)
        self._tasks.clear()

    # ---- claiming ---------------------------------------------------------------------------

    async def _claim_loop(self, *, urgent: bool) -> None:
        """Long-poll the outbox and start a delivery for every notice claimed."""
        pause = 1.0
        while True:
            if not urgent:
                await self._wait_for_room()
            limit = 10 if urgent else MAX_IN_FLIGHT - len(self._deliveries)
            try:
                notices = await self.backend.claim_notices(
                    limit=limit, wait_seconds=self.poll_wait, lowest_priority=0 if urgent else 2
                )
            except (BackendError, BackendUnavailable) as exc:
                logger.warning("courier: cannot reach the outbox (%s); trying again in %.0f s", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 10.0)
                continue
            pause = 1.0
            for notice in notices:
                self._dispatch(notice)

    async def _wait_for_room(self) -> None:
        """Until at most half of MAX_IN_FLIGHT deliveries are under way."""
        while len(self._deliveries) > MAX_IN_FLIGHT // 2:
            self._room.clear()
            await self._room.wait()

    def _dispatch(self, notice: dict[str, Any]) -> None:
        """Send a notice, or hand it back if its chat already has enough on the way."""
        chat = _chat_key(notice)
        if self._per_chat[chat] >= PER_CHAT:
            self._acks.put_nowait(self._outcome(notice, "retry", retry_after=1.2 * self._per_chat[chat]))
            return
        self._per_chat[chat] += 1
        task = asyncio.create_task(self._deliver(notice), name=f"notice-{notice['id']}")
        self._deliveries[notice["id"]] = (task, notice)

    # ---- delivering -------------------------------------------------------------------------

    async def _deliver(self, notice: dict[str, Any]) -> None:
        """Send one notice and queue its outcome."""
        try:
            outcome = await self._send(notice)
            self.outcomes[outcome["outcome"]] += 1
            self._acks.put_nowait(outcome)
        finally:
            chat = _chat_key(notice)
            self._per_chat[chat] -= 1
            if self._per_chat[chat] <= 0:
                del self._per_chat[chat]
            self._deliveries.pop(notice["id"], None)
            self._room.set()

    async def _send(self, notice: dict[str, Any]) -> dict[str, Any]:
        """One notice to Telegram; the outcome to acknowledge."""
        try:
            text, markup = render(notice, self.bot.username if self.bot.bot else "")
        except (KeyError, ValueError, IndexError) as exc:
            logger.error("courier: notice %s cannot be rendered (%r)", notice["kind"], exc)
            return self._outcome(notice, "retry", retry_after=UNKNOWN_KIND_DELAY, error=f"render: {exc!r}")
        priority = {0: REPLY, 1: NOTICE}.get(int(notice["priority"]), REMINDER)
        limits = {"priority": priority, "patience": PATIENCE}
        message_id = None
        try:
            if notice["kind"] == TALLY:
                message_id = await self._tally(notice, text, markup, limits)
            else:
                await self.bot.send_message(
                    notice["chat_id"], text, reply_markup=markup, rate_limit_args=limits
                )
        except Forbidden as exc:
            logger.info(
                "courier: chat %s blocked the bot; notice %s is dead", notice["chat_id"], notice["id"]
            )
            return self._outcome(notice, "dead", error=str(exc))
        except BadRequest as exc:  # chat not found, user deactivated...: never better on a retry
            logger.warning("courier: chat %s refused notice %s: %s", notice["chat_id"], notice["id"], exc)
            return self._outcome(notice, "dead", error=str(exc))
        except RetryAfter as exc:
            return self._outcome(notice, "retry", retry_after=retry_after_of(exc), error="429")
        except TelegramError as exc:  # 5xx, timeouts: the backend backs off
            return self._outcome(notice, "retry", error=type(exc).__name__)
        return self._outcome(notice, "sent", message_id=message_id)

    async def _tally(
        self, notice: dict[str, Any], text: str, markup: InlineKeyboardMarkup | None, limits: dict[str, Any]
    ) -> int | None:
        """A tally: its first send posts it (→ its message id), every later one edits it. An
        inline message is only ever edited. A message deleted meanwhile is posted again."""
        try:
            if notice.get("inline_message_id"):
                await self.bot.edit_message_text(
                    text,
                    inline_message_id=notice["inline_message_id"],
                    reply_markup=markup,
                    rate_limit_args=limits,
                )
                return None
            if notice.get("message_id"):
                await self.bot.edit_message_text(
                    text,
                    chat_id=notice["chat_id"],
                    message_id=notice["message_id"],
                    reply_markup=markup,
                    rate_limit_args=limits,
                )
                return int(notice["message_id"])
        except BadRequest as exc:
            reason = str(exc).lower()
            if "not modified" in reason:
                return notice.get("message_id")
            if "not found" not in reason or notice.get("inline_message_id"):
                raise
        sent = await self.bot.send_message(
            notice["chat_id"], text, reply_markup=markup, rate_limit_args=limits
        )
        return sent.message_id

    @staticmethod
    def _outcome(
        notice: dict[str, Any],
        outcome: str,
        *,
        retry_after: float | None = None,
        error: str | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        """One acknowledgement for the backend (a tally's names the message it is in)."""
        ack: dict[str, Any] = {"id": notice["id"], "claim": notice["claim"], "outcome": outcome}
        if message_id is not None:
            ack["message_id"] = message_id
        if retry_after is not None:
            ack["retry_after"] = round(retry_after, 3)
        if error is not None:
            ack["error"] = error[:300]
        return ack

    async def _flush_acks(self) -> None:
        """Send outcomes to the backend in batches; keep them while it cannot be reached."""
        batch: list[dict[str, Any]] = []
        pause = 0.5
        while True:
            if not batch:
                batch.append(await self._acks.get())
            while not self._acks.empty() and len(batch) < 200:
                batch.append(self._acks.get_nowait())
            try:
                await self.backend.ack_notices(batch)
            except BackendError as exc:  # refused as malformed: a retry would be refused again
                logger.error("courier: the backend refused %d acknowledgements: %s", len(batch), exc)
            except BackendUnavailable as exc:
                logger.warning("courier: acknowledgements not recorded (%s); trying again", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 10.0)
                continue
            batch, pause = [], 0.5

"""The outbox: every message the wallet owes a user on Telegram, written down before it is sent.

OTP DMs, money received, deposits and withdrawals, bill news (new, paid, declined, cancelled) and
reminders are documents in `notices`. The backend only writes them; the bot — the one owner of
Telegram output for the token — claims due ones over its trusted API (a long poll), renders them
from `bot/texts.py`, sends them under its rate limiter and acknowledges each:

    queued ──claim (lease)──▶ claimed ──ack sent──▶ sent
      ▲                         ├──ack retry (429 retry_after; 5xx/timeout: backoff)──▶ queued
      └──────lease expired──────┤   (a bot that died holding it: claimed again, sent once more)
                                └──ack dead (403 blocked, 400 chat not found)──▶ dead
    queued ──its point is gone (OTP expired or replaced, bill no longer in that state)──▶ dropped

Ids are derived from what a notice is about (movement id or bill code + kind + recipient), so a
retried or recovered movement can never queue two. Delivery is at least once: a crash between the
send and its ack may repeat one message, never more (the text names the movement or bill).

"Written in the same step as the change": a movement's notices travel inside its ledger record and
are inserted by the ledger when the money has arrived, before the record is marked done (recovery
finishes a crash in between). A bill's notice is written just before the bill changes and carries
the state it reports (`requires`); it is sent only once the bill is in that state, held a moment
while the change may still be landing, and dropped if it never does.

A tally (a split's live message in its group, or an inline request's message) is one notice per
round that is sent, then *touched* by every change (a join, a payment, a decline, a cancel): a
touch puts it back in the queue, no sooner than TALLY_GAP_SECONDS after its last send, and it is drawn
from the split's bills when claimed. However many payments land, the group sees one edit per
gap (its limit is 20 messages a minute), always the latest state. A touch while it is being sent
marks it `again`, and its acknowledgement queues it once more. Its first send records the message
id, so every later one edits that message. Tallies are never purged while they are kept.

Claims are cheap on both stores: the queue is one indexed scalar, `due_key` = "priority:due ms",
present only while a notice is queued or claimed; a claim reads each priority's due range in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import threading
from collections.abc import Awaitable, Callable
from enum import IntEnum, StrEnum
from typing import Any

from pymongo.errors import DuplicateKeyError
from starlette.concurrency import run_in_threadpool

from backend.bills import OPEN
from backend.config import Settings
from backend.db import Doc, Store, now_ms
from backend.errors import ErrorCode, TelegramNotLinked, Unavailable
from backend.security import open_digits, seal_digits

logger = logging.getLogger(__name__)


class NoticeKind(StrEnum):
    """What a notice says (the bot has one text per kind)."""

    OTP = "otp"
    RECEIVED = "received"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    BILL_NEW = "bill_new"
    BILL_PAID = "bill_paid"
    BILL_DECLINED = "bill_declined"
    BILL_CANCELLED = "bill_cancelled"
    REMINDER = "reminder"
    TALLY = "tally"  # a split's message in its group, drawn afresh from its bills at each claim
    TIP = "tip"  # "Budi tipped Sari Rp10.000", in the group where the tip was asked


class Priority(IntEnum):
    """Claim order: codes first, then news, then reminders."""

    OTP = 0
    NOTICE = 1
    REMINDER = 2


class State(StrEnum):
    """Where a notice is in its life (see the module docstring)."""

    QUEUED = "queued"
    CLAIMED = "claimed"
    SENT = "sent"
    DEAD = "dead"
    DROPPED = "dropped"


PRIORITY = {NoticeKind.OTP: Priority.OTP, NoticeKind.REMINDER: Priority.REMINDER}
SETTLE_MS = 10_000  # how long a notice may wait for the bill change it reports to land
RECHECK_MS = 200  # and how often it looks again meanwhile
BACKOFF_FIRST_MS, BACKOFF_CAP_MS = 1_000, 5 * 60_000
LIVE = {NoticeKind.TALLY}  # drawn afresh when claimed, sent again when touched
COURIER_DOC = "courier:last_poll"  # in `counters`: when a bot last asked for notices


def due_key(priority: int, due_ms: int) -> str:
    """The queue's sort key: priority, then due time."""
    return f"{priority}:{due_ms:013d}"


class Doorbell:
    """Wakes long polls of this process when a notice is queued (any thread may ring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def ring(self) -> None:
        """Wake every waiting poll."""
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def wait(self, seconds: float) -> None:
        """Until rung, or `seconds` passed."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter[1].wait(), seconds)
        except TimeoutError:
            with self._lock, contextlib.suppress(ValueError):
                self._waiters.remove(waiter)


class Notices:
    """Writes notices, hands due ones to the bot, records what became of them."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.doorbell = Doorbell()
        # draws a tally from its split when claimed (set by the wallet); None: the split is gone
        self.draw: Callable[[Doc], Doc | None] = lambda doc: None
        self._last_poll_written = 0
        self._tally_gap_ms = int(settings.tally_gap_seconds * 1000)

    # ---- writing ----------------------------------------------------------------------------

    def build(
        self,
        user: Doc | None,
        kind: NoticeKind,
        subject: str,
        data: dict[str, Any],
        *,
        requires: Doc | None = None,
        expires_at: int | None = None,
    ) -> Doc | None:
        """A notice document to `user`'s linked chat (None when there is no chat to tell)."""
        if user is None or "telegram_chat_id" not in user:
            return None
        doc = self.for_chat(user["telegram_chat_id"], user.get("lang", "id"), kind, subject, data)
        doc["_id"], doc["username"] = f"{subject}:{kind}:{user['_id']}", user["_id"]
        if requires is not None:
            doc["requires"] = requires
        if expires_at is not None:
            doc["expires_at"] = expires_at
        return doc

    def for_chat(
        self,
        chat_id: int | None,
        lang: str,
        kind: NoticeKind,
        subject: str,
        data: dict[str, Any],
        *,
        inline_message_id: str | None = None,
    ) -> Doc:
        """A notice to a chat that is nobody's account (a group), or to an inline message."""
        now = now_ms()
        priority = PRIORITY.get(kind, Priority.NOTICE)
        doc: Doc = {
            "_id": f"{subject}:{kind}:{chat_id}",
            "subject": subject,
            "kind": str(kind),
            "chat_id": chat_id,
            "lang": lang,
            "data": data,
            "priority": int(priority),
            "state": str(State.QUEUED),
            "due_key": due_key(priority, now),
            "attempts": 0,
            "created_at": now,
        }
        if inline_message_id is not None:
            doc["inline_message_id"] = inline_message_id
        return doc

    def add(self, *docs: Doc | None) -> None:
        """Queue notices; one already queued under the same id is kept as it is. A touch
        (`touch_of`) puts its tally back in the queue."""
        added = False
        for doc in docs:
            if doc is None:
                continue
            if doc.get("touch"):
                self.touch(doc["_id"])
                continue
            try:
                self.store.notices.insert_one(dict(doc))
                added = True
            except DuplicateKeyError:
                pass  # a retried or recovered change: that notice exists already
        if added:
            self.doorbell.ring()

    def about_bill(self, user: Doc | None, kind: NoticeKind, bill: Doc, status: str, **data: Any) -> None:
        """Queue a notice that holds until `bill` is in `status` (written before the change)."""
        requires = {"bill": bill["code"], "status": status}
        subject = bill["code"] if kind != NoticeKind.REMINDER else f"{bill['code']}:{data['round']}"
        self.add(self.build(user, kind, subject, data, requires=requires))

    # ---- tallies ----------------------------------------------------------------------------

    def tally(self, notice_id: str, chat_id: int | None, lang: str, inline_message_id: str | None) -> None:
        """Start a tally: sent (or edited into an inline message) when the courier claims it."""
        doc = self.for_chat(
            chat_id, lang, NoticeKind.TALLY, notice_id, {}, inline_message_id=inline_message_id
        )
        doc["_id"] = notice_id
        self.add(doc)

    @staticmethod
    def touch_of(notice_id: str) -> Doc:
        """A touch of a tally, to carry among a movement's notices (`add` applies it)."""
        return {"_id": notice_id, "touch": True}

    def touch(self, notice_id: str) -> None:
        """Something a tally shows changed: queue it again (see the module docstring)."""
        self.store.notices.update_one(
            {"_id": notice_id, "state": str(State.CLAIMED)}, {"$set": {"again": True}}
        )
        doc = self.store.notices.find_one({"_id": notice_id}, {"state": 1, "sent_at": 1, "priority": 1})
        if doc is None or doc["state"] != State.SENT:
            return  # queued (it will draw the change), being sent (marked again) or dead
        due = max(now_ms(), int(doc.get("sent_at", 0)) + self._tally_gap_ms)
        self.store.notices.update_one(
            {"_id": notice_id, "state": str(State.SENT)},
            {"$set": {"state": str(State.QUEUED), "due_key": due_key(doc["priority"], due)}},
        )
        self.doorbell.ring()

    # ---- OTP DMs ----------------------------------------------------------------------------

    def check_deliverable(self, user: Doc) -> None:
        """Refuse an OTP that cannot reach its owner, before a code is made."""
        if self.settings.otp_delivery == "log":
            return
        if "telegram_chat_id" not in user:
            raise TelegramNotLinked("link your Telegram account to the bot first to receive OTPs")
        if not self.courier_alive():
            raise Unavailable(
                "one-time codes cannot be delivered right now: the Telegram bot is not running; "
                "try again later",
                ErrorCode.DELIVERY_UNAVAILABLE,
            )

    def otp(self, user: Doc, otp: Doc, code: str, summary: dict[str, Any]) -> None:
        """Queue the DM carrying a code (sealed at rest), or log it on the development channel."""
        if self.settings.otp_delivery == "log":
            # development/test channel only: Settings refuses OTP_DELIVERY=log in production
            logger.warning("otp username=%s code=%s action=%s", user["_id"], code, otp["action"])
            return
        subject = f"{otp['_id']}:{otp['nonce']}"
        data = {"action": otp["action"], "minutes": self.settings.otp_ttl_seconds // 60, **summary}
        requires = {"otp": otp["_id"], "nonce": otp["nonce"]}
        notice = self.build(
            user, NoticeKind.OTP, subject, data, requires=requires, expires_at=otp["expires_at"]
        )
        if notice is not None:
            notice["sealed"] = seal_digits(self.settings, subject, code)  # never the code in clear
        self.add(notice)

    # ---- the bot's side ---------------------------------------------------------------------

    def courier_alive(self) -> bool:
        """True when a bot asked for notices recently (so a queued OTP will leave)."""
        doc = self.store.counters.find_one({"_id": COURIER_DOC})
        stale = self.settings.courier_stale_seconds * 1000
        return doc is not None and int(doc["at"]) > now_ms() - stale

    def _note_poll(self) -> None:
        """Remember that a bot is polling (written at most once a second)."""
        now = now_ms()
        if now - self._last_poll_written < 1000:
            return
        self._last_poll_written = now
        far = now + 30 * 86_400_000  # kept out of the counters purge
        self.store.counters.update_one(
            {"_id": COURIER_DOC}, {"$set": {"at": now, "expires_at": far}}, upsert=True
        )

    async def poll(
        self, limit: int, wait_seconds: float, lowest: int, gone: Callable[[], Awaitable[bool]]
    ) -> list[Doc]:
        """Long poll: due notices (claimed), waiting up to `wait_seconds` for the first one.

        `gone` tells when the caller hung up (a bot that stopped): nothing is claimed for it then,
        or its notices would sit leased to nobody until the lease ends.
        """
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            if await gone():
                return []
            items = await run_in_threadpool(self.claim, limit, lowest)
            left = deadline - asyncio.get_running_loop().time()
            if items or left <= 0:
                return items
            # rung by this process; other processes' notices and deferred ones are found by the poll
            await self.doorbell.wait(min(left, RECHECK_MS / 1000))

    def claim(self, limit: int, lowest: int = Priority.REMINDER) -> list[Doc]:
        """Lease up to `limit` due notices, by priority then due time, each to one caller."""
        self._note_poll()
        now = now_ms()
        lease_until = now + self.settings.notice_lease_seconds * 1000
        claimed: list[Doc] = []
        for priority in range(lowest + 1):
            if len(claimed) >= limit:
                break
            due = {"$gte": due_key(priority, 0), "$lte": due_key(priority, now)}
            for doc in list(self.store.notices.find({"due_key": due}).sort("due_key").limit(limit * 2)):
                if len(claimed) >= limit:
                    break
                if not self._still_wanted(doc, now):
                    continue
                claim = secrets.token_hex(8)
                won = self.store.notices.update_one(
                    {"_id": doc["_id"], "due_key": doc["due_key"]},
                    {
                        "$set": {
                            "due_key": due_key(priority, lease_until),
                            "claim": claim,
                            "state": str(State.CLAIMED),
                        },
                        "$inc": {"attempts": 1},
                    },
                )
                if won.modified_count == 1:
                    claimed.append(self._for_bot({**doc, "claim": claim, "attempts": doc["attempts"] + 1}))
        return claimed

    def _for_bot(self, doc: Doc) -> Doc:
        """What the bot needs to render and send a notice (an OTP's code unsealed, a tally
        drawn now)."""
        data = dict(doc["data"])
        if "sealed" in doc:
            data["code"] = open_digits(self.settings, doc["subject"], doc["sealed"])
        if doc["kind"] in LIVE:
            data = doc["drawn"]
        return {
            "message_id": doc.get("message_id"),
            "inline_message_id": doc.get("inline_message_id"),
            "id": doc["_id"],
            "claim": doc["claim"],
            "kind": doc["kind"],
            "chat_id": doc["chat_id"],
            "lang": doc["lang"],
            "priority": doc["priority"],
            "attempts": doc["attempts"],
            "data": data,
        }

    def _still_wanted(self, doc: Doc, now: int) -> bool:
        """Check what a notice depends on: False when it was dropped or held back a moment."""
        if doc.get("expires_at") is not None and doc["expires_at"] <= now:
            self._end(doc, State.DROPPED, "expired")
            return False
        if doc["kind"] in LIVE:
            drawn = self.draw(doc)
            if drawn is None:
                self._end(doc, State.DROPPED, "its split is gone")
                return False
            doc["drawn"] = drawn
            return True
        requires = doc.get("requires")
        if not requires:
            return True
        verdict = self._verdict(requires)
        if verdict == "go":
            return True
        if verdict == "wait" and now - doc["created_at"] < SETTLE_MS:
            self._requeue(doc, now + RECHECK_MS)
            return False
        self._end(doc, State.DROPPED, "no longer applies")
        return False

    def _verdict(self, requires: Doc) -> str:
        """'go', 'wait' (the change may still be landing) or 'drop'."""
        if "otp" in requires:
            otp = self.store.otps.find_one({"_id": requires["otp"]}, {"nonce": 1, "used": 1, "attempts": 1})
            if otp is None or otp["nonce"] != requires["nonce"] or otp["used"]:
                return "drop"  # used, or replaced by a newer code
            return "go" if otp["attempts"] < self.settings.otp_max_attempts else "drop"
        bill = self.store.bills.find_one({"_id": requires["bill"]}, {"status": 1})
        if bill is not None and bill["status"] == requires["status"]:
            return "go"
        return "wait" if bill is None or bill["status"] == OPEN else "drop"

    def _requeue(self, doc: Doc, due_ms: int) -> None:
        """Put a notice back in the queue for later."""
        self.store.notices.update_one(
            {"_id": doc["_id"], "due_key": doc["due_key"]},
            {
                "$set": {"due_key": due_key(doc["priority"], due_ms), "state": str(State.QUEUED)},
                "$unset": {"claim": ""},
            },
        )

    def _end(self, doc: Doc, state: State, reason: str) -> None:
        """A notice leaves the queue for good."""
        logger.info("notice %s %s: %s", doc["_id"].split(":")[-2], state, reason)
        self.store.notices.update_one(
            {"_id": doc["_id"], "due_key": doc["due_key"]},
            {
                "$set": {"state": str(state), "reason": reason, "ended_at": now_ms()},
                "$unset": {"due_key": "", "claim": "", "sealed": ""},
            },
        )

    def ack(
        self,
        notice_id: str,
        claim: str,
        outcome: str,
        retry_after: float | None,
        error: str | None,
        message_id: int | None = None,
    ) -> bool:
        """Record what became of a claimed notice; False when the claim is no longer current."""
        doc = self.store.notices.find_one({"_id": notice_id, "claim": claim})
        if doc is None:
            return False
        if outcome == "sent" and doc["kind"] in LIVE:
            self._sent_live(doc, message_id)
        elif outcome == "sent":
            self._end(doc, State.SENT, "sent")
        elif outcome == "dead":
            self._end(doc, State.DEAD, error or "chat gone")
        else:
            self._requeue(doc, now_ms() + self._delay_ms(doc["attempts"], retry_after))
            self.store.notices.update_one({"_id": notice_id}, {"$set": {"last_error": error}})
        return True

    def _sent_live(self, doc: Doc, message_id: int | None) -> None:
        """A tally went out: kept (never purged) with its message id, queued again if touched
        while it was on its way."""
        now = now_ms()
        fields: Doc = {"sent_at": now}
        if message_id is not None:
            fields["message_id"] = message_id
        again = {
            **fields,
            "due_key": due_key(doc["priority"], now + self._tally_gap_ms),
            "state": str(State.QUEUED),
        }
        requeued = self.store.notices.update_one(
            {"_id": doc["_id"], "claim": doc["claim"], "again": True},
            {"$set": again, "$unset": {"claim": "", "again": ""}},
        )
        if requeued.modified_count == 0:
            self.store.notices.update_one(
                {"_id": doc["_id"], "claim": doc["claim"]},
                {"$set": {**fields, "state": str(State.SENT)}, "$unset": {"claim": "", "due_key": ""}},
            )

    @staticmethod
    def _delay_ms(attempts: int, retry_after: float | None) -> int:
        """When to try again: Telegram's retry_after when it gave one, else capped backoff with jitter."""
        if retry_after is not None:
            return int(retry_after * 1000)
        backoff = min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** max(0, attempts - 1))
        return int(backoff * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not secrecy

    def purge_finished(self, older_than_ms: int) -> int:
        """Forget ended notices after a while (they are kept for inspection, not replayed)."""
        cutoff = now_ms() - older_than_ms
        return self.store.notices.delete_many({"ended_at": {"$lt": cutoff}}).deleted_count

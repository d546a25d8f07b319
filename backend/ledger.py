"""The ledger: the ONLY code that changes a balance.

Every movement (transfer, bill payment, deposit, withdrawal, reversal) is one record in the
`ledger` collection, driven through states without multi-document transactions:

    pending ──(claim bill)──hold dst──debit src──credit dst──▶ done
       └──(a step refused, or abandoned before the debit)──fence──▶ rejected

1. The record is journaled first (`pending`), so a crash at any later instant leaves a trace. It
   carries the client's Idempotency-Key when there is one (a unique index: a request moves money
   once) and, once done, the answer of the call that finished it (`answer`), for replays.
2. A bill payment claims its bill (open → paying, in bills.py, like every bill transition).
3. Hold (every credit but a reversal's): one conditional update of the payee that reserves room
   under their e-money limits (Bank Indonesia): `room` (balance cap − balance − holds) ≥ amount
   and this month's incoming + amount ≤ the monthly cap; it pushes the id into `holds`. The
   payee's caps are kept like the payer's balance: at a commit point, never by reading first.
4. Debit: one conditional update of the payer's document (balance ≥ amount, not frozen, daily
   limit, the record id neither in its `outbox` nor `fenced`) that also pushes the id into
   `outbox`. This is the commit point: money can't be debited twice, and never below zero. No
   state is written for it: the outbox marker is the evidence that the record committed.
5. Credit: one conditional update of the payee turning its hold into an `inbox` marker (for
   money entering the wallet, with no payer, this is the commit point). The bill becomes paid,
   and the notices the record carries ("you received", "bill paid") are handed to `announce`
   now that the money has arrived; their ids make a repeat harmless.
6. → `done`, finished in one write (listing keys, the answer). A rejected record gives its debit
   (refund) and its hold (release) back, and its bill is reopened.
7. Rejecting fences first (`_fence`): one conditional update on the account of the commit point
   records the id in `fenced` unless the money already moved there. A worker that stalled before
   its debit can then never debit a record rejected meanwhile; if the money did move, the record
   is driven forward instead.
8. Markers of finished records (outbox, inbox, holds, fenced) are pulled only after a grace
   period, so that a stale worker can never apply a step twice (its conditional update still
   finds the marker).

Recovery (`recover`) runs at start-up and periodically: unfinished records older than the lease
are driven forward (debited → finish; not debited → fenced and rejected as interrupted), and
accounts still holding markers are cleaned. Records in `committed` (written by versions before
the fence) are finished the same way.
Σ balances + money in flight = Σ deposits − Σ withdrawals always.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError

from backend.bills import Bills
from backend.config import Settings
from backend.db import Doc, Store, iso, local_date, now_ms
from backend.errors import (
    AccountFrozen,
    BillNotPayable,
    CannotReceive,
    Conflict,
    ErrorCode,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    WalletError,
)
from backend.idempotency import Reservation

logger = logging.getLogger(__name__)


class Kind(StrEnum):
    """What a movement is."""

    TRANSFER = "transfer"
    BILL_PAYMENT = "bill_payment"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    REVERSAL = "reversal"


class State(StrEnum):
    """Where a movement's record is (see the module docstring)."""

    PENDING = "pending"
    COMMITTED = "committed"  # only records written before the fence (see `_fence`)
    DONE = "done"
    REJECTED = "rejected"


class Tier(StrEnum):
    """An account's e-money tier (Bank Indonesia): its balance cap follows."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"


TRANSFER, BILL_PAYMENT, DEPOSIT, WITHDRAWAL, REVERSAL = Kind
USER_KINDS = {TRANSFER, BILL_PAYMENT}  # moved by a user: frozen check, limits
# credits held against the payee's e-money caps first; a reversal is exempt: it puts back money
# the account already held, and refusing it would leave a wrong payment standing (README)
HELD_KINDS = {TRANSFER, BILL_PAYMENT, DEPOSIT}
UNVERIFIED, VERIFIED = Tier
LIMITS_MIGRATED = "migration:limits"  # counters doc: accounts older than the limits got their fields
PENDING, COMMITTED, DONE, REJECTED = State
INTERRUPTED = ErrorCode.INTERRUPTED


def new_movement_id() -> str:
    """A unique id that sorts by creation time (13 hex digits of ms, then 12 random)."""
    return f"{now_ms():013x}{secrets.token_hex(6)}"


def utc_day(ms: int) -> int:
    """The UTC calendar day of a timestamp as yyyymmdd (daily limits reset at 00:00 UTC)."""
    day = datetime.fromtimestamp(ms / 1000, UTC)
    return day.year * 10000 + day.month * 100 + day.day


def calendar_month(ms: int, timezone: str) -> int:
    """The calendar month of a timestamp in `timezone` as yyyymm (monthly caps reset on the 1st)."""
    day = local_date(ms, timezone)
    return day.year * 100 + day.month


def limit_fields(tier: str, settings: Settings, balance: int = 0) -> Doc:
    """The e-money limit fields of an account of `tier` holding `balance` and no holds."""
    cap = settings.balance_cap(tier)
    return {"tier": tier, "cap": cap, "room": cap - balance, "holds": [], "month": 0, "month_in": 0}


@dataclass(frozen=True)
class MovementRequest:
    """What to move: `src`/`dst` are usernames (None for money entering or leaving the wallet)."""

    kind: str
    amount: int
    src: str | None = None
    dst: str | None = None
    description: str | None = None
    bill_code: str | None = None
    reference: str | None = None
    actor: str | None = None
    reversal_of: str | None = None
    notices: tuple[Doc, ...] = ()  # messages owed once the money has arrived (see notices.py)
    answer: Doc | None = None  # what the client is told besides the record (kept for replays)


class Ledger:
    """Moves money between accounts, exactly once, crash-safe, never below zero."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        announce: Callable[..., None] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.settings = settings
        self.bills = Bills(store)  # a bill payment steps its bill through bills' own transitions
        self.announce = announce
        self.clock = clock  # epoch ms: the day and month a movement counts in (tests move it)
        self.lease_ms = settings.ledger_lease_seconds * 1000
        # A done movement's markers outlive it by this much: a worker that read the record before it
        # was done and stalled (GC, a blocked call: pymongo's socket timeout is 15 s) still finds
        # its marker and cannot apply a step twice. Longer means bigger marker arrays.
        self.grace_ms = self.lease_ms * 4

    # ---- entry points -------------------------------------------------------------------

    def move(
        self, request: MovementRequest, movement_id: str | None = None, *, payee_known: bool = False
    ) -> Doc:
        """Run one movement to its end and return its record; raise if it was rejected.

        `payee_known`: the caller has just read the payee's account, so it is not read again.
        When this call debited the payer, the record carries `src_balance`, the balance after.
        """
        record, fresh = self.start(request, movement_id, payee_known=payee_known)
        return record if fresh else self.settled(record)  # a retried id: driven to its end

    def start(
        self,
        request: MovementRequest,
        movement_id: str | None = None,
        *,
        reservation: Reservation | None = None,
        payee_known: bool = False,
    ) -> tuple[Doc, bool]:
        """Journal a movement and run it to its end: (its record, True); raise if it was rejected.

        With a `reservation` (a client's Idempotency-Key) the record carries it; when a record
        already holds that key, it is returned as it is, not driven: (that record, False).
        """
        self._validate(request, payee_known)
        record, fresh = self._journal(request, movement_id or new_movement_id(), reservation)
        if not fresh:
            return record, False
        return self.settled(record), True

    def settled(self, record: Doc) -> Doc:
        """A record driven to its end (finished or rejected; an unfinished one is driven now:
        every step is conditional, so running beside its first worker is safe); raise if rejected."""
        if not record["finalized"] or record["state"] == REJECTED:
            record = self._drive(record)
        if record["state"] == REJECTED:
            raise _error_for(record)
        return record

    def find(self, movement_id: str) -> Doc | None:
        """The record of one movement, or None."""
        return self.store.ledger.find_one({"_id": movement_id})

    def find_reserved(self, reservation_id: str) -> Doc | None:
        """The record that holds a client's Idempotency-Key ("owner:key"), or None."""
        return self.store.ledger.find_one({"request": reservation_id})

    # ---- validation and journal ---------------------------------------------------------

    def _validate(self, request: MovementRequest, payee_known: bool) -> None:
        """Refuse amounts and parties that can never succeed, before anything is written."""
        self.check_amount(request)
        if request.src is not None and request.src == request.dst:
            raise InvalidRequest("you cannot send money to yourself", ErrorCode.SELF_TRANSFER)
        # the payer's existence is checked by the debit itself; the payee must exist before it
        dst = request.dst
        if dst is not None and not payee_known and not self._exists(dst):
            raise NotFound(f"user {dst!r} does not exist", ErrorCode.USER_NOT_FOUND)

    def check_amount(self, request: MovementRequest) -> None:
        """A positive whole amount, within the per-transfer limit for a user's own movements."""
        if type(request.amount) is not int or request.amount <= 0:
            raise InvalidRequest("amount must be a positive whole number", ErrorCode.INVALID_AMOUNT)
        if request.kind in USER_KINDS and request.amount > self.settings.max_transfer_amount:
            raise InvalidRequest(
                f"amount is over the per-transfer limit of {self.settings.max_transfer_amount}",
                ErrorCode.LIMIT_EXCEEDED,
            )

    def _journal(
        self, request: MovementRequest, movement_id: str, reservation: Reservation | None = None
    ) -> tuple[Doc, bool]:
        """Insert the pending record: (it, True); or (the record already under this id or this
        reservation, False)."""
        now = self.clock()
        record: Doc = {
            "_id": movement_id,
            "seq": movement_id,
            "kind": request.kind,
            "src": request.src,
            "dst": request.dst,
            "amount": request.amount,
            "description": request.description,
            "bill_code": request.bill_code,
            "reference": request.reference,
            "actor": request.actor,
            "state": PENDING,
            "reason": None,
            "finalized": False,
            "open_since": now,  # only while unfinished: the sweeper's index (see recover)
            "day": utc_day(now),
            "month": self.month_of(now),
            "created_at": now,
            "updated_at": now,
        }
        if request.reversal_of is not None:
            record["reversal_of"] = request.reversal_of
        if request.dst is not None and request.kind in HELD_KINDS:
            record["hold"] = True
        if request.notices:
            record["notices"] = list(request.notices)
        if request.answer:
            record["answer"] = dict(request.answer)
        if reservation is not None:
            record["request"], record["fingerprint"] = reservation.id, reservation.fingerprint
        try:
            self.store.ledger.insert_one(record)
        except DuplicateKeyError:
            existing = self.find(movement_id)
            if existing is None and reservation is not None:
                existing = self.find_reserved(reservation.id)
            if existing is None:  # the duplicate was the reversal_of index
                raise Conflict(
                    "this movement has already been reversed", ErrorCode.ALREADY_REVERSED
                ) from None
            return existing, False
        return record, True

    # ---- the state machine --------------------------------------------------------------

    def _drive(self, record: Doc, *, stale: bool = False) -> Doc:
        """Advance a record as far as it can go; idempotent, safe to run concurrently.

        `stale`: the record was abandoned by its worker (recovery): nothing new is started for it.
        """
        if record["state"] == PENDING:
            record = self._commit(record, stale=stale)
        if record["state"] in (PENDING, COMMITTED):  # the money left the payer (committed: older records)
            record = self._complete(record)
        if not record["finalized"] or record["state"] == REJECTED:
            record = self._finalize(record)  # for a rejected one: refunds a stale debit at once
        return record

    def _commit(self, record: Doc, *, stale: bool) -> Doc:
        """Claim the bill, hold the payee's room, debit the payer: the record returned is still
        `pending`, its debit marker the evidence that it committed (and `src_balance` known to
        this call); or it is rejected with the reason."""
        if stale:
            return self._reject(record, INTERRUPTED)  # unless the money moved: then it goes on
        if record["kind"] == BILL_PAYMENT and not self.bills.claim(
            record["bill_code"], record["src"], record["_id"]
        ):
            return self._reject(record, ErrorCode.BILL_NOT_PAYABLE)
        if record.get("hold"):
            reason = self._hold(record)
            if reason is not None:
                return self._reject(record, reason)
        if record["src"] is None:
            return record  # money entering the wallet: the credit is the commit point
        balance, reason = self._debit(record)  # (None, None) when already debited
        if reason is not None:
            return self._reject(record, reason)
        return record if balance is None else {**record, "src_balance": balance}

    def _debit(self, record: Doc) -> tuple[int | None, str | None]:
        """Take the amount from the payer: (balance after, None), or (None, why it was refused)."""
        movement_id = record["_id"]
        for _ in range(3):  # a concurrent change can make one attempt miss; re-read the reason
            balance = self._try_debit(record)
            if balance is not None:
                return balance, None
            payer = self.store.users.find_one({"_id": record["src"]})
            if payer is None:
                return None, ErrorCode.USER_NOT_FOUND
            if movement_id in payer.get("outbox", ()):
                return None, None
            if movement_id in payer.get("fenced", ()):
                return None, INTERRUPTED  # a recovery rejected it meanwhile
            reason = self._refusal(payer, record["kind"], record["amount"], record["day"])
            if reason is not None:
                return None, reason
        return None, ErrorCode.BUSY

    def _try_debit(self, record: Doc) -> int | None:
        """The conditional update that is the commit point of a movement; the new balance or None."""
        amount, day = record["amount"], record["day"]
        base: Doc = {
            "_id": record["src"],
            "balance": {"$gte": amount},
            "outbox": {"$nin": [record["_id"]]},
            "fenced": {"$nin": [record["_id"]]},
        }
        update: Doc = {
            "$inc": {"balance": -amount, "room": amount, "in_flight": 1},
            "$push": {"outbox": record["_id"]},
        }
        if record["kind"] not in USER_KINDS:
            return self._apply(base, update)
        base["frozen"] = False
        limit_left = self.settings.daily_transfer_limit - amount
        same_day = {**base, "day": day, "day_out": {"$lte": limit_left}}
        balance = self._apply(same_day, _inc(update, day_out=amount))
        if balance is not None or limit_left < 0:
            return balance
        new_day = {**base, "day": {"$lt": day}}
        return self._apply(new_day, {**update, "$set": {"day": day, "day_out": amount}})

    def _apply(self, match: Doc, update: Doc) -> int | None:
        """One conditional account update; the balance after it, or None when nothing matched."""
        after = self.store.users.find_one_and_update(
            match, update, projection={"balance": 1}, return_document=ReturnDocument.AFTER
        )
        return None if after is None else int(after["balance"])

    def _refusal(self, payer: Doc, kind: str, amount: int, day: int) -> ErrorCode | None:
        """What the debit of `amount` from this account would refuse, as of its document."""
        if kind in USER_KINDS:
            if payer.get("frozen"):
                return ErrorCode.ACCOUNT_FROZEN
            spent_today = payer["day_out"] if payer["day"] >= day else 0
            if spent_today + amount > self.settings.daily_transfer_limit:
                return ErrorCode.LIMIT_EXCEEDED
        if payer["balance"] < amount:
            return ErrorCode.INSUFFICIENT_FUNDS
        return None

    def precheck(self, request: MovementRequest, payer: Doc | None, payee: Doc | None) -> None:
        """Raise now what `move` would refuse as things stand (for refusing before an OTP is made).
        Only a hint: the conditional updates of the hold and the debit stay the ones that decide."""
        self._validate(request, payee_known=True)
        now = self.clock()
        reason = None
        if payer is not None:
            reason = self._refusal(payer, request.kind, request.amount, utc_day(now))
        if reason is None and payee is not None and request.kind in HELD_KINDS:
            reason = self._credit_refusal(payee, request.amount, self.month_of(now))
        if reason is not None:
            raise _error(reason, payee["_id"] if payee is not None else None)

    def month_of(self, ms: int) -> int:
        """The calendar month (yyyymm, in LIMITS_TIMEZONE) that a credit at `ms` counts in."""
        return calendar_month(ms, self.settings.limits_timezone)

    # ---- the payee's caps ---------------------------------------------------------------

    def _hold(self, record: Doc) -> str | None:
        """Reserve room for the credit under the payee's caps: None, or why it was refused.

        One conditional update decides (balance cap via `room`, monthly cap via `month_in`);
        a hold already made, or already turned into the credit, is found and kept.
        """
        amount, month, movement_id = record["amount"], record["month"], record["_id"]
        cap = self.settings.monthly_incoming_cap
        base: Doc = {
            "_id": record["dst"],
            "room": {"$gte": amount},
            "holds": {"$nin": [movement_id]},
            "inbox": {"$nin": [movement_id]},
            "fenced": {"$nin": [movement_id]},
        }
        update: Doc = {"$inc": {"room": -amount, "in_flight": 1}, "$push": {"holds": movement_id}}
        for _ in range(3):  # a concurrent change can make one attempt miss; re-read the reason
            if amount <= cap:
                # this month (or, a few ms past midnight, already the next one: counted there)
                this_month = {**base, "month": {"$gte": month}, "month_in": {"$lte": cap - amount}}
                if self._matched(this_month, _inc(update, month_in=amount)):
                    return None
                new_month = {**base, "month": {"$lt": month}}
                if self._matched(new_month, {**update, "$set": {"month": month, "month_in": amount}}):
                    return None
            payee = self.store.users.find_one({"_id": record["dst"]})
            if payee is None:
                return ErrorCode.USER_NOT_FOUND
            if movement_id in payee.get("holds", ()) or movement_id in payee.get("inbox", ()):
                return None
            if movement_id in payee.get("fenced", ()):
                return INTERRUPTED  # a recovery rejected it meanwhile
            reason = self._credit_refusal(payee, amount, month)
            if reason is not None:
                return reason
        return ErrorCode.BUSY

    def _credit_refusal(self, payee: Doc, amount: int, month: int) -> ErrorCode | None:
        """What the hold of `amount` for this account would refuse, as of its document."""
        if payee.get("room", 0) < amount:
            verified = payee.get("tier") == VERIFIED
            return ErrorCode.RECEIVE_CAP_REACHED if verified else ErrorCode.RECEIVE_CAP_UNVERIFIED
        incoming = payee.get("month_in", 0) if payee.get("month", 0) >= month else 0
        if incoming + amount > self.settings.monthly_incoming_cap:
            return ErrorCode.RECEIVE_MONTHLY_CAP
        return None

    def _release(self, record: Doc) -> None:
        """Give back the hold of a rejected movement (at most once: the marker goes with it)."""
        if not record.get("hold"):
            return
        amount = record["amount"]
        match: Doc = {"_id": record["dst"], "holds": record["_id"]}
        update: Doc = {"$inc": {"room": amount, "in_flight": -1}, "$pull": {"holds": record["_id"]}}
        # this month's incoming goes back only while it is still the month the hold counted in
        if not self._matched({**match, "month": record["month"]}, _inc(update, month_in=-amount)):
            self.store.users.update_one(match, update)

    def _matched(self, match: Doc, update: Doc) -> bool:
        """One conditional account update; True when it applied."""
        return self.store.users.update_one(match, update).modified_count == 1

    def _complete(self, record: Doc) -> Doc:
        """Credit the payee, settle the bill, queue the notices, mark the record done: each step
        repeatable, so a crash anywhere in between is finished by recovery."""
        if record["dst"] is not None and not self._credit(record):
            return self._reject(record, INTERRUPTED)  # money entering: a recovery fenced it first
        if record["kind"] == BILL_PAYMENT and record["bill_code"]:
            self.bills.settle(record["bill_code"], record["_id"], now_ms())
        if record.get("notices") and self.announce is not None:
            self.announce(*record["notices"])
        return self._done(record)

    def _credit(self, record: Doc) -> bool:
        """Give the amount to the payee, once (the inbox marker makes a repeat a no-op); False
        when it never can (a recovery fenced this payee for money entering the wallet)."""
        amount, movement_id = record["amount"], record["_id"]
        match: Doc = {"_id": record["dst"], "fenced": {"$nin": [movement_id]}}
        if record.get("hold"):  # the room is reserved already: the hold becomes the credit
            match["holds"] = movement_id
            update: Doc = {
                "$inc": {"balance": amount},
                "$pull": {"holds": movement_id},
                "$push": {"inbox": movement_id},
            }
        else:  # a reversal: exempt from the caps, it takes room it finds
            match["inbox"] = {"$nin": [movement_id]}
            update = {
                "$inc": {"balance": amount, "room": -amount, "in_flight": 1},
                "$push": {"inbox": movement_id},
            }
        if self._matched(match, update):
            return True
        payee = self.store.users.find_one({"_id": record["dst"]}, {"inbox": 1, "fenced": 1})
        if payee is not None and movement_id in payee.get("inbox", ()):
            return True  # credited already
        if payee is not None and movement_id in payee.get("fenced", ()):
            return False
        # a debited record whose hold is gone: never released before the record is finalized
        raise RuntimeError(f"movement {movement_id}: the payee {record['dst']!r} cannot be credited")

    def _reject(self, record: Doc, reason: str) -> Doc:
        """pending → rejected, once no money can move for it any more (see `_fence`); when the
        money has moved already (another worker debited, or credited money entering), the record
        is returned as it is, to be driven forward."""
        if not self._fence(record):
            return record
        updated = self.store.ledger.find_one_and_update(
            {"_id": record["_id"], "state": PENDING},
            {"$set": {"state": REJECTED, "reason": reason, "updated_at": now_ms()}},
            return_document=ReturnDocument.AFTER,
        )
        return updated if updated is not None else self._reload(record)

    def _fence(self, record: Doc) -> bool:
        """Make sure the commit point of this record never applies (True), or find it applied.

        One conditional update on the account the commit point changes (the payer's debit; the
        payee's credit for money entering) records the id in `fenced` unless its marker is
        there; the debit and credit require the id NOT to be fenced. So a worker stalled before
        its debit can never move money for a record rejected meanwhile — without a `committed`
        state written after every debit.
        """
        movement_id = record["_id"]
        party, box = (record["src"], "outbox") if record["src"] is not None else (record["dst"], "inbox")
        if party is None:
            return True
        fence = {"$push": {"fenced": movement_id}, "$inc": {"in_flight": 1}}
        unfenced = {"_id": party, box: {"$nin": [movement_id]}, "fenced": {"$nin": [movement_id]}}
        if self._matched(unfenced, fence):
            return True
        return not self._holds(party, box, movement_id)  # fenced already, or no such account

    def _done(self, record: Doc) -> Doc:
        """→ done (from pending, or committed for older records), conditionally; the record is
        finished with it: listing keys set, the answer of the call that debited kept."""
        now = self.clock()  # the instant the movement is booked: statements count it then
        fields: Doc = {"state": DONE, "updated_at": now, "done_at": now, "finalized": True}
        fields |= listing_keys({**record, "done_at": now})
        if "src_balance" in record:  # what a replay of the client's request answers
            fields["answer"] = {**record.get("answer", {}), "balance": record["src_balance"]}
        updated = self.store.ledger.find_one_and_update(
            {"_id": record["_id"], "state": {"$in": [PENDING, COMMITTED]}},
            {"$set": fields, "$unset": {"open_since": ""}},
            return_document=ReturnDocument.AFTER,
        )
        updated = updated if updated is not None else self._reload(record)
        if "src_balance" in record:
            updated["src_balance"] = record["src_balance"]
        return updated

    def _reload(self, record: Doc) -> Doc:
        """The current version of a record another worker changed."""
        current = self.find(record["_id"])
        if current is None:
            raise RuntimeError(f"ledger record {record['_id']} vanished")
        return current

    def _finalize(self, record: Doc) -> Doc:
        """Follow-ups of a terminal record: refund a rejected debit, settle the bill status."""
        if record["state"] not in (DONE, REJECTED):
            return record
        if record["state"] == REJECTED:
            self._refund(record)
            self._release(record)
        if record["bill_code"] and record["kind"] == BILL_PAYMENT:
            if record["state"] == DONE:  # a record finished by an older version
                self.bills.settle(record["bill_code"], record["_id"], record["done_at"])
            else:
                self.bills.reopen(record["bill_code"], record["_id"])
        if record.get("reversal_of") and record["state"] == REJECTED:
            # frees the original for another reversal attempt (the unique index is sparse)
            self.store.ledger.update_one({"_id": record["_id"]}, {"$unset": {"reversal_of": ""}})
        updated = self.store.ledger.find_one_and_update(
            {"_id": record["_id"]},
            {"$set": {"finalized": True}, "$unset": {"open_since": ""}},
            return_document=ReturnDocument.AFTER,
        )
        return updated or record

    def _refund(self, record: Doc) -> None:
        """Give back a debit whose movement was rejected (at most once: the marker goes with it)."""
        if record["src"] is None:
            return
        self.store.users.update_one(
            {"_id": record["src"], "outbox": record["_id"]},
            {
                "$inc": {"balance": record["amount"], "room": -record["amount"], "in_flight": -1},
                "$pull": {"outbox": record["_id"]},
            },
        )

    def _holds(self, username: str, box: str, movement_id: str) -> bool:
        """True when the account's outbox/inbox holds the marker of this movement."""
        return self.store.users.find_one({"_id": username, box: movement_id}, {"_id": 1}) is not None

    def _exists(self, username: str) -> bool:
        """True when the account exists (find_one by _id: indexed on every store)."""
        return self.store.users.find_one({"_id": username}, {"_id": 1}) is not None

    # ---- tiers ----------------------------------------------------------------------------

    def limits_of(self, user: Doc) -> Doc:
        """An account's e-money limits as they stand: tier, balance cap, what can still come in."""
        month = self.month_of(self.clock())
        cap = self.settings.monthly_incoming_cap
        incoming = user.get("month_in", 0) if user.get("month", 0) >= month else 0
        room = max(0, user.get("room", 0))
        return {
            "tier": user.get("tier", UNVERIFIED),
            "balance_cap": user.get("cap", self.settings.balance_cap_unverified),
            "monthly_incoming_cap": cap,
            "incoming_this_month": incoming,
            "can_receive": max(0, min(room, cap - incoming)),
            "month": f"{month // 100:04d}-{month % 100:02d}",
        }

    def set_tier(self, username: str, tier: str, fields: Doc, unset: tuple[str, ...] = ()) -> Doc:
        """Move an account to `tier` (its balance cap follows) and set `fields` with it.

        One conditional update on (tier, cap) as read: the cap and its `room` change together, so
        a hold racing with this call is measured against one cap or the other, never a mix. A
        lowered cap can leave `room` below zero: the money stays, nothing more comes in.
        """
        for _ in range(5):
            user = self.store.users.find_one({"_id": username}, {"tier": 1, "cap": 1})
            if user is None:
                raise NotFound(f"user {username!r} not found", ErrorCode.USER_NOT_FOUND)
            cap = self.settings.balance_cap(tier)
            update: Doc = {
                "$set": {**fields, "tier": tier, "cap": cap, "updated_at": now_ms()},
                "$inc": {"room": cap - user["cap"]},
            }
            if unset:
                update["$unset"] = dict.fromkeys(unset, "")
            after = self.store.users.find_one_and_update(
                {"_id": username, "tier": user["tier"], "cap": user["cap"]},
                update,
                return_document=ReturnDocument.AFTER,
            )
            if after is not None:
                return after
        raise Conflict("the account is busy; try again", ErrorCode.BUSY)

    def apply_caps(self) -> int:
        """At start-up: give accounts made before the limits their fields, and move every account
        whose cap is not its tier's current setting to it; returns the accounts changed."""
        changed = 0
        if self.store.counters.find_one({"_id": LIMITS_MIGRATED}, {"_id": 1}) is None:
            for user in list(self.store.users.find({}, {"tier": 1, "balance": 1})):
                if "tier" not in user:
                    fields = limit_fields(UNVERIFIED, self.settings, user.get("balance", 0))
                    match = {"_id": user["_id"], "balance": user.get("balance", 0)}
                    changed += self._matched(match, {"$set": fields})
            self.store.counters.replace_one({"_id": LIMITS_MIGRATED}, {"_id": LIMITS_MIGRATED}, upsert=True)
        for tier in (UNVERIFIED, VERIFIED):
            cap = self.settings.balance_cap(tier)
            for bound in ("$lt", "$gt"):
                for user in list(self.store.users.find({"cap": {bound: cap}}, {"tier": 1})):
                    if user["tier"] == tier:
                        self.set_tier(user["_id"], tier, {})
                        changed += 1
        if changed:
            logger.info("e-money caps applied to %d accounts", changed)
        return changed

    # ---- recovery -------------------------------------------------------------------------

    def recover(self, *, everything: bool = False) -> int:
        """Finish or reject unfinished movements and clean old markers; returns records touched.

        `everything=True` (start-up of the only backend process) ignores the lease.
        """
        cutoff = now_ms() if everything else now_ms() - self.lease_ms
        touched = 0
        for record in list(self.store.ledger.find({"open_since": {"$lt": cutoff + 1}})):
            try:
                self._recover_one(record)
            except WalletError:
                logger.exception("recovery of movement %s failed", record["_id"])
            touched += 1
        self._clean_markers()
        if touched:
            logger.info("recovery finished %d unfinished movements", touched)
        return touched

    def _recover_one(self, record: Doc) -> Doc:
        """Drive one abandoned record: a debited one forward, an undebited one to rejected."""
        return self._drive(record, stale=True)

    def _clean_markers(self) -> None:
        """Pull markers of finished movements: rejected ones refund, done ones after the grace."""
        now = now_ms()
        boxes = ("outbox", "inbox", "holds", "fenced")
        for user in list(self.store.users.find({"in_flight": {"$gt": 0}}, dict.fromkeys(boxes, 1))):
            for box in boxes:
                for movement_id in list(user.get(box, [])):
                    self._clean_marker(user["_id"], box, movement_id, now)

    def _clean_marker(self, username: str, box: str, movement_id: str, now: int) -> None:
        """Settle one marker according to the state of its record."""
        if _created_ms(movement_id) > now - self.grace_ms:
            return  # too young to be due: no need to read its record
        record = self.find(movement_id)
        if record is None or not record["finalized"]:
            return
        if box == "fenced":  # kept for a grace after the rejection, against a stalled worker
            if record["updated_at"] < now - self.grace_ms:
                self.store.users.update_one(
                    {"_id": username, "fenced": movement_id},
                    {"$pull": {"fenced": movement_id}, "$inc": {"in_flight": -1}},
                )
        elif record["state"] == REJECTED and box == "outbox":
            self._refund(record)
        elif box == "holds":  # rejected, or made by a worker stalled past the credit's grace
            self._release(record)
        elif record["state"] == DONE and record.get("done_at", 0) < now - self.grace_ms:
            self.store.users.update_one(
                {"_id": username, box: movement_id},
                {"$pull": {box: movement_id}, "$inc": {"in_flight": -1}},
            )

    # ---- reading --------------------------------------------------------------------------

    def history(self, username: str, *, limit: int, cursor: str | None) -> tuple[list[Doc], str | None]:
        """One page of a user's finished movements, newest first, and the cursor of the next.

        Two range queries on single indexed keys (`src_key`, `dst_key` = "user:seq"), merged:
        flat however large the ledger grows.
        """
        bounds = {"$gt": f"{username}:", "$lt": f"{username}:{cursor or '~'}"}
        page: list[Doc] = []
        for key in ("src_key", "dst_key"):
            page.extend(self.store.ledger.find({key: bounds}).sort(key, DESCENDING).limit(limit + 1))
        page.sort(key=lambda record: record["seq"], reverse=True)
        more = len(page) > limit
        page = page[:limit]
        return page, (page[-1]["seq"] if more and page else None)

    def reconcile(self) -> Doc:
        """Σ balances + money in flight against Σ deposits − Σ withdrawals, and what is unfinished."""
        totals = {kind: 0 for kind in (DEPOSIT, WITHDRAWAL)}
        for record in self.store.ledger.find({"state": DONE, "kind": {"$in": [DEPOSIT, WITHDRAWAL]}}):
            totals[record["kind"]] += record["amount"]
        in_flight, unfinished = self._in_flight()
        balances = sum(u.get("balance", 0) for u in self.store.users.find({}, {"balance": 1}))
        negative = self.store.users.count_documents({"balance": {"$lt": 0}})
        expected = totals[DEPOSIT] - totals[WITHDRAWAL]
        return {
            "ok": balances + in_flight == expected and negative == 0 and unfinished == 0,
            "total_balances": balances,
            "total_deposits": totals[DEPOSIT],
            "total_withdrawals": totals[WITHDRAWAL],
            "in_flight": in_flight,
            "negative_balances": negative,
            "unfinished": unfinished,
        }

    def _in_flight(self) -> tuple[int, int]:
        """Money debited but not yet credited (or refunded), and the count of unfinished records."""
        in_flight, unfinished = 0, 0
        for record in self.store.ledger.find({"open_since": {"$gte": 0}}):
            unfinished += 1
            in_flight += self._in_flight_amount(record)
        for user in self.store.users.find({"in_flight": {"$gt": 0}}, {"outbox": 1}):
            for movement_id in user.get("outbox", []):
                stale = self.find(movement_id)
                if stale is not None and stale["finalized"] and stale["state"] == REJECTED:
                    in_flight += stale["amount"]  # a stale debit of a rejected record: refund due
        return in_flight, unfinished

    def _in_flight_amount(self, record: Doc) -> int:
        """What one unfinished record holds in flight (debited, not credited)."""
        debited = record["src"] is None or self._holds(record["src"], "outbox", record["_id"])
        credited = record["dst"] is None or self._holds(record["dst"], "inbox", record["_id"])
        if record["kind"] == DEPOSIT:
            return -record["amount"] if credited and record["state"] != DONE else 0
        if record["kind"] == WITHDRAWAL:
            return record["amount"] if debited and record["state"] != DONE else 0
        return record["amount"] if debited and not credited else 0


def listing_keys(record: Doc) -> Doc:
    """The scalar keys a finished record is listed by, one set per party (every listing is a range
    query on ONE indexed field, flat however large the ledger grows; see backend/statements.py):

        src_key / dst_key     "user:seq"                   history, in the order movements began
        src_at / dst_at       "user:booked:id"             by period (booked = done_at, 13 digits)
        src_kind / dst_kind   "user:kind:booked:id"        by kind (and period)
        src_with / dst_with   "user:counterparty:booked:id"   by counterparty (and period)
    """
    keys: Doc = {}
    booked = f"{record['done_at']:013d}:{record['_id']}"
    for side, other in (("src", "dst"), ("dst", "src")):
        user = record[side]
        if user is None:
            continue
        keys[f"{side}_key"] = f"{user}:{record['seq']}"
        keys[f"{side}_at"] = f"{user}:{booked}"
        keys[f"{side}_kind"] = f"{user}:{record['kind']}:{booked}"
        if record[other] is not None:
            keys[f"{side}_with"] = f"{user}:{record[other]}:{booked}"
    return keys


def _created_ms(movement_id: str) -> int:
    """When a movement id was made (its first 13 hex digits), or 0 if it is not one of ours."""
    try:
        return int(movement_id[:13], 16)
    except ValueError:
        return 0


def _inc(update: Doc, **more: int) -> Doc:
    """A copy of an update with more `$inc` fields."""
    return {**update, "$inc": {**update["$inc"], **more}}


REFUSALS: dict[str, tuple[type[WalletError], str]] = {
    ErrorCode.INSUFFICIENT_FUNDS: (InsufficientFunds, "insufficient balance"),
    ErrorCode.ACCOUNT_FROZEN: (AccountFrozen, "this account is frozen and cannot move money"),
    ErrorCode.LIMIT_EXCEEDED: (InvalidRequest, "this would exceed your daily transfer limit"),
    ErrorCode.BILL_NOT_PAYABLE: (BillNotPayable, "this bill is not open for payment"),
    ErrorCode.USER_NOT_FOUND: (NotFound, "user does not exist"),
    ErrorCode.RECEIVE_CAP_UNVERIFIED: (
        CannotReceive,
        "{payee}'s wallet cannot receive that much yet; they can verify their account",
    ),
    ErrorCode.RECEIVE_CAP_REACHED: (CannotReceive, "{payee}'s wallet cannot hold that much more"),
    ErrorCode.RECEIVE_MONTHLY_CAP: (
        CannotReceive,
        "{payee}'s wallet cannot receive that much more this month",
    ),
    INTERRUPTED: (Conflict, "the request was interrupted before money moved; send it again"),
    ErrorCode.BUSY: (Conflict, "the account is busy; try again"),
}


def _error_for(record: Doc) -> WalletError:
    """The domain error that tells a client why a movement was rejected."""
    return _error(record["reason"], record["dst"])


def _error(reason: str, payee: str | None) -> WalletError:
    """The domain error of a refusal (`payee`: who would have received, for the cap refusals)."""
    cls, detail = REFUSALS.get(reason, (Conflict, "the movement was rejected"))
    code = ErrorCode(reason) if reason in REFUSALS else None  # every reason recorded is one of ours
    if cls is CannotReceive:
        return cls(detail.format(payee=f"@{payee}"), code, payee=payee)
    return cls(detail, code)


def public_movement(record: Doc, viewer: str | None = None) -> dict[str, Any]:
    """A ledger record as a client sees it (amount signed from `viewer`'s side when given)."""
    amount = record["amount"]
    counterparty = None
    if viewer is not None:
        outgoing = record["src"] == viewer
        amount = -amount if outgoing else amount
        counterparty = record["dst"] if outgoing else record["src"]
    return {
        "id": record["_id"],
        "kind": record["kind"],
        "amount": amount,
        "src": record["src"],
        "dst": record["dst"],
        "counterparty": counterparty,
        "description": record.get("description"),
        "bill_code": record.get("bill_code"),
        "reference": record.get("reference"),
        "state": record["state"],
        "created_at": iso(record["created_at"]),
    }

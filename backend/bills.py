"""Bill lifecycle, the whole state machine: create, look up, list, decline, cancel, reminders,
and the three steps the ledger takes while a payment moves the money.

open ──claim (ledger: the payment's record)──▶ paying ──settle (the money arrived)──▶ paid
  │                                              └──reopen (the payment was rejected)──▶ open
  ├──payer declines──▶ declined
  └──issuer cancels──▶ cancelled
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from backend.db import Doc, Store, local_date, now_ms
from backend.errors import BillNotPayable, ErrorCode, InvalidRequest, NotFound

if TYPE_CHECKING:
    from backend.idempotency import Reservation

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud and type
CODE_LENGTH = 10  # 31**10 ≈ 8e14 codes: unguessable, collisions retried on the unique index


class BillStatus(StrEnum):
    """Where a bill is (see the module docstring)."""

    OPEN = "open"
    PAYING = "paying"
    PAID = "paid"
    CANCELLED = "cancelled"
    DECLINED = "declined"


OPEN, PAYING, PAID, CANCELLED, DECLINED = BillStatus
OPEN_ONLY = {"open_key": "", "reminded_at": ""}  # fields a bill carries only while open
# what a payment needs of its bill and answers with (kept with the payer's OTP)
BILL_FIELDS = (
    "code",
    "bill_name",
    "issuer",
    "issuer_name",
    "payer",
    "payer_name",
    "amount",
    "description",
    "due_date",
    "created_at",
    "split",
    "round",
)


def check_due_date(due: date | None, timezone: str, max_days: int) -> None:
    """A due date is today or later in the bill's time zone, and at most `max_days` ahead."""
    if due is None:
        return
    today = local_date(now_ms(), timezone)
    if not today <= due <= today + timedelta(days=max_days):
        raise InvalidRequest(
            f"the due date must be between {today.isoformat()} and "
            f"{(today + timedelta(days=max_days)).isoformat()} ({timezone})",
            ErrorCode.INVALID_DUE_DATE,
        )


def new_code() -> str:
    """A random bill code from the unambiguous alphabet."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """Codes are case-insensitive for people typing them."""
    return code.strip().upper()


class Bills:
    """Bills between an issuer (who is owed) and a payer (who owes)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self,
        *,
        issuer: Doc,
        payer: Doc,
        bill_name: str,
        amount: int,
        description: str | None,
        due_date: date | None,
        reservation: Reservation | None = None,
        before_insert: Callable[[Doc], None] | None = None,
        split: Doc | None = None,
    ) -> tuple[Doc, bool]:
        """Store a new open bill under a fresh unique code (`before_insert` sees it first):
        (it, True); or (the bill already made under this reservation, False). `split`: the
        split and round a share's bill belongs to ({"split": id, "round": n})."""
        if issuer["_id"] == payer["_id"]:
            raise InvalidRequest("you cannot bill yourself", ErrorCode.SELF_TRANSFER)
        now = now_ms()
        bill: Doc = {
            "bill_name": bill_name,
            "issuer": issuer["_id"],
            "issuer_name": issuer["name"],
            "payer": payer["_id"],
            "payer_name": payer["name"],
            "amount": amount,
            "description": description,
            "due_date": due_date.isoformat() if due_date else None,
            "status": OPEN,
            "reminded_at": now,  # only while open, like open_key: the reminder query's index
            "created_at": now,
            "updated_at": now,
        }
        if reservation is not None:
            bill["request"], bill["fingerprint"] = reservation.id, reservation.fingerprint
        if split is not None:
            bill.update(split)
        for _ in range(5):
            code = new_code()
            # listing keys "user:created:code": each list is a range on one indexed field
            payer_key = f"{payer['_id']}:{now:013d}:{code}"
            keys = {
                "payer_key": payer_key,
                "open_key": payer_key,
                "issuer_key": f"{issuer['_id']}:{now:013d}:{code}",
            }
            bill.update(_id=code, code=code, **keys)
            if before_insert is not None:
                before_insert(bill)
            try:
                self.store.bills.insert_one(bill)
                return bill, True
            except DuplicateKeyError:
                existing = self.find_reserved(reservation.id) if reservation is not None else None
                if existing is not None:
                    return existing, False
                continue  # the code was taken: draw another
        raise RuntimeError("could not allocate a unique bill code")

    def find_reserved(self, reservation_id: str) -> Doc | None:
        """The bill made by the request with this Idempotency-Key ("owner:key"), or None."""
        return self.store.bills.find_one({"request": reservation_id})

    # ---- paying: driven by the ledger, each step conditional on the payment's id -------------

    def claim(self, code: str, payer: str, payment_id: str) -> bool:
        """open → paying for this payment (True), or find it is this payment's already."""
        now = now_ms()
        claimed = self.store.bills.update_one(
            {"_id": code, "status": OPEN, "payer": payer},
            {"$set": {"status": PAYING, "payment_id": payment_id, "updated_at": now}, "$unset": OPEN_ONLY},
        )
        if claimed.modified_count == 1:
            return True
        bill = self.store.bills.find_one({"_id": code}, {"payment_id": 1})
        return bill is not None and bill.get("payment_id") == payment_id

    def settle(self, code: str, payment_id: str, paid_at: int) -> None:
        """paying → paid: the payment's money has arrived."""
        self.store.bills.update_one(
            {"_id": code, "status": PAYING, "payment_id": payment_id},
            {"$set": {"status": PAID, "paid_at": paid_at, "updated_at": now_ms()}},
        )

    def reopen(self, code: str, payment_id: str) -> None:
        """paying → open: the payment was rejected; the bill is back in its payer's open list."""
        match = {"_id": code, "status": PAYING, "payment_id": payment_id}
        bill = self.store.bills.find_one(match, {"payer_key": 1})
        if bill is not None:
            now = now_ms()
            reopen = {"status": OPEN, "open_key": bill["payer_key"], "reminded_at": now, "updated_at": now}
            self.store.bills.update_one(match, {"$set": reopen, "$unset": {"payment_id": ""}})

    # ---- reading ------------------------------------------------------------------------------

    def get_for(self, code: str, username: str, *, admin: bool = False) -> Doc:
        """A bill its issuer or payer (or an admin) may see; 404 for anyone else."""
        bill = self.store.bills.find_one({"_id": normalize_code(code)})
        if bill is None or not (admin or username in (bill["issuer"], bill["payer"])):
            raise NotFound("bill not found", ErrorCode.BILL_NOT_FOUND)
        return bill

    def payable_by(self, code: str, payer: str) -> Doc:
        """An open bill this user must pay, or why not."""
        bill = self.get_for(code, payer)
        if bill["payer"] != payer:
            raise NotFound("bill not found", ErrorCode.BILL_NOT_FOUND)
        if bill["status"] != OPEN:
            raise BillNotPayable(f"this bill is {bill['status']}")
        return bill

    def close(
        self,
        code: str,
        username: str,
        *,
        as_role: str,
        before_change: Callable[[Doc, str], None] | None = None,
    ) -> Doc:
        """The payer declines, or the issuer cancels, an open bill (`before_change` sees it first)."""
        bill = self.get_for(code, username)
        if bill[as_role] != username:
            raise NotFound("bill not found", ErrorCode.BILL_NOT_FOUND)
        status = DECLINED if as_role == "payer" else CANCELLED
        if bill["status"] != OPEN:
            raise BillNotPayable(f"this bill is {bill['status']}")
        if before_change is not None:
            before_change(bill, status)
        result = self.store.bills.update_one(
            {"_id": bill["_id"], "status": OPEN},
            {"$set": {"status": status, "updated_at": now_ms()}, "$unset": OPEN_ONLY},
        )
        if result.modified_count != 1:
            current = self.get_for(code, username)
            raise BillNotPayable(f"this bill is {current['status']}")
        return self.get_for(code, username)

    def page(self, key: str, owner: str, *, limit: int, cursor: str | None) -> tuple[list[Doc], str | None]:
        """One page of `owner`'s bills by a listing key (`open_key`, `issuer_key`), newest first."""
        bounds = {"$gt": f"{owner}:", "$lt": f"{owner}:{cursor or '~'}"}
        page = list(self.store.bills.find({key: bounds}).sort(key, DESCENDING).limit(limit + 1))
        return _cut(page, limit, lambda bill: bill[key].split(":", 1)[1])

    def page_by_status(
        self, status: str | None, *, limit: int, cursor: str | None
    ) -> tuple[list[Doc], str | None]:
        """Admin: one page of all bills (optionally of one status), newest first."""
        query: Doc = {"status": status} if status else {}
        if cursor:
            query["created_at"] = {"$lt": int(cursor.split(":", 1)[0])}
        page = list(self.store.bills.find(query).sort("created_at", DESCENDING).limit(limit + 1))
        return _cut(page, limit, lambda bill: f"{bill['created_at']:013d}:{bill['_id']}")

    def claim_reminders(self, interval_ms: int, limit: int) -> list[Doc]:
        """Open bills not reminded for an interval, each claimed atomically (one sender wins)."""
        now = now_ms()
        due = self.store.bills.find({"reminded_at": {"$lte": now - interval_ms}}).limit(limit)
        claimed = []
        for bill in list(due):
            won = self.store.bills.update_one(
                {"_id": bill["_id"], "status": OPEN, "reminded_at": bill["reminded_at"]},
                {"$set": {"reminded_at": now}},
            )
            if won.modified_count == 1:
                claimed.append({**bill, "reminded_at": now})
        return claimed


def _cut(page: list[Doc], limit: int, cursor_of: Callable[[Doc], str]) -> tuple[list[Doc], str | None]:
    """The first `limit` of a page fetched with one extra, and the cursor of the next page."""
    more = len(page) > limit
    page = page[:limit]
    return page, (cursor_of(page[-1]) if more and page else None)

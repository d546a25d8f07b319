"""Bill lifecycle: create, look up, list, decline, cancel, reminders. Paying goes through the ledger.

open ──pay (ledger)──▶ paying ──▶ paid
  ├──payer declines──▶ declined
  └──issuer cancels──▶ cancelled
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from backend.db import Doc, Store, local_date, now_ms
from backend.errors import BillNotPayable, ErrorCode, InvalidRequest, NotFound
from backend.ledger import iso

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud and type
CODE_LENGTH = 10  # 31**10 ≈ 8e14 codes: unguessable, collisions retried on the unique index
OPEN, PAYING, PAID, CANCELLED, DECLINED = "open", "paying", "paid", "cancelled", "declined"
OPEN_ONLY = {"open_key": "", "reminded_at": ""}  # fields a bill carries only while open


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
        before_insert: Callable[[Doc], None] | None = None,
    ) -> Doc:
        """Store a new open bill under a fresh unique code (`before_insert` sees it first)."""
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
                return bill
            except DuplicateKeyError:
                continue
        raise RuntimeError("could not allocate a unique bill code")

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


def public_bill(bill: Doc) -> dict[str, Any]:
    """A bill as the API shows it."""
    return {
        "code": bill["code"],
        "bill_code": bill["code"],
        "bill_name": bill["bill_name"],
        "issuer": bill["issuer"],
        "issuer_name": bill["issuer_name"],
        "payer": bill["payer"],
        "payer_name": bill["payer_name"],
        "amount": bill["amount"],
        "description": bill.get("description"),
        "due_date": bill.get("due_date"),
        "status": bill["status"],
        "created_at": iso(bill.get("created_at")),
        "paid_at": iso(bill.get("paid_at")),
        "payment_id": bill.get("payment_id"),
    }

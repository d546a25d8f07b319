"""Bill lifecycle: create, look up, list, decline, cancel, reminders. Paying goes through the ledger.

open ──pay (ledger)──▶ paying ──▶ paid
  ├──payer declines──▶ declined
  └──issuer cancels──▶ cancelled
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from backend.db import Doc, Store, now_ms
from backend.errors import BillNotPayable, InvalidRequest, NotFound
from backend.ledger import iso

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: easy to read aloud and type
CODE_LENGTH = 10  # 31**10 ≈ 8e14 codes: unguessable, collisions retried on the unique index
OPEN, PAYING, PAID, CANCELLED, DECLINED = "open", "paying", "paid", "cancelled", "declined"


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
    ) -> Doc:
        """Store a new open bill under a fresh unique code."""
        if issuer["_id"] == payer["_id"]:
            raise InvalidRequest("you cannot bill yourself", "self_transfer")
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
            "reminded_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for _ in range(5):
            bill["code"] = new_code()
            bill.pop("_id", None)
            try:
                self.store.bills.insert_one(bill)
                return bill
            except DuplicateKeyError:
                continue
        raise RuntimeError("could not allocate a unique bill code")

    def get_for(self, code: str, username: str, *, admin: bool = False) -> Doc:
        """A bill its issuer or payer (or an admin) may see; 404 for anyone else."""
        bill = self.store.bills.find_one({"code": normalize_code(code)})
        if bill is None or not (admin or username in (bill["issuer"], bill["payer"])):
            raise NotFound("bill not found", "bill_not_found")
        return bill

    def payable_by(self, code: str, payer: str) -> Doc:
        """An open bill this user must pay, or why not."""
        bill = self.get_for(code, payer)
        if bill["payer"] != payer:
            raise NotFound("bill not found", "bill_not_found")
        if bill["status"] != OPEN:
            raise BillNotPayable(f"this bill is {bill['status']}")
        return bill

    def close(self, code: str, username: str, *, as_role: str) -> Doc:
        """The payer declines, or the issuer cancels, an open bill."""
        bill = self.get_for(code, username)
        if bill[as_role] != username:
            raise NotFound("bill not found", "bill_not_found")
        status = DECLINED if as_role == "payer" else CANCELLED
        result = self.store.bills.update_one(
            {"code": bill["code"], "status": OPEN},
            {"$set": {"status": status, "updated_at": now_ms()}},
        )
        if result.modified_count != 1:
            current = self.get_for(code, username)
            raise BillNotPayable(f"this bill is {current['status']}")
        return self.get_for(code, username)

    def page(self, query: Doc, *, limit: int, cursor: str | None) -> tuple[list[Doc], str | None]:
        """One page of bills matching `query`, newest first."""
        if cursor:
            valid = cursor.isdigit() and len(cursor) <= 18  # an int64 timestamp
            query = {**query, "created_at": {"$lt": int(cursor)}} if valid else query
        page = list(self.store.bills.find(query).sort("created_at", DESCENDING).limit(limit + 1))
        more = len(page) > limit
        page = page[:limit]
        return page, (str(page[-1]["created_at"]) if more and page else None)

    def claim_reminders(self, interval_ms: int, limit: int) -> list[Doc]:
        """Open bills not reminded for an interval, each claimed atomically (one sender wins)."""
        now = now_ms()
        due = self.store.bills.find({"status": OPEN, "reminded_at": {"$lte": now - interval_ms}}).limit(limit)
        claimed = []
        for bill in list(due):
            won = self.store.bills.update_one(
                {"code": bill["code"], "status": OPEN, "reminded_at": bill["reminded_at"]},
                {"$set": {"reminded_at": now}},
            )
            if won.modified_count == 1:
                claimed.append(bill)
        return claimed


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

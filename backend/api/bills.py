"""Bills: create, list, look up, pay, decline, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from backend.api.deps import CurrentUser, IdempotencyKey, WalletDep, current_admin, own_or_admin
from backend.api.responses import SIGNED_IN
from backend.bills import BillStatus
from backend.schemas import BillCreate, BillList, BillPaid, BillPay, BillPublic

router = APIRouter(prefix="/api/bill", tags=["bills"], responses=SIGNED_IN)

Limit = Annotated[int, Query(ge=1, le=100)]
# A bill cursor is "creation time in ms (13 digits):code", as the previous page returned it.
Cursor = Annotated[str | None, Query(max_length=30, pattern=r"^[0-9]{13}:[0-9A-Z]{8,16}$")]


def _render(page: tuple[list[dict[str, Any]], str | None]) -> dict[str, Any]:
    """One page of bills as the API shows them."""
    bills, next_cursor = page
    return {"items": [BillPublic.from_doc(b) for b in bills], "next_cursor": next_cursor}


@router.get("", response_model=BillList, dependencies=[Depends(current_admin)])
def all_bills(
    wallet: WalletDep, status: BillStatus | None = None, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Admin: every bill, optionally only those with one status."""
    return _render(wallet.bills.page_by_status(status, limit=limit, cursor=cursor))


@router.post("", status_code=201, response_model=BillPublic)
def create_bill(
    user: CurrentUser,
    form: BillCreate,
    key: IdempotencyKey,
    wallet: WalletDep,
) -> BillPublic:
    """Bill another user (OTP and Idempotency-Key required); the answer carries the new `bill_code`."""
    return wallet.create_bill(user, form, key)


@router.get("/code/{bill_code}", response_model=BillPublic)
def one_bill(bill_code: str, user: CurrentUser, wallet: WalletDep) -> BillPublic:
    """One bill by its code (its issuer, its payer or an admin only)."""
    return BillPublic.from_doc(
        wallet.bills.get_for(bill_code, user["_id"], admin=user.get("role") == "admin")
    )


@router.get("/{username}", response_model=BillList)
def bills_to_pay(
    username: str, user: CurrentUser, wallet: WalletDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Open bills this user must pay (own, or any for admins)."""
    own_or_admin(user, username)
    return _render(wallet.bills.page("open_key", username.lower(), limit=limit, cursor=cursor))


@router.get("/{username}/issued", response_model=BillList)
def bills_issued(
    username: str, user: CurrentUser, wallet: WalletDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Bills this user issued, any status, newest first (own, or any for admins)."""
    own_or_admin(user, username)
    return _render(wallet.bills.page("issuer_key", username.lower(), limit=limit, cursor=cursor))


@router.post("/{bill_code}/pay", response_model=BillPaid)
def pay_bill(
    user: CurrentUser, bill_code: str, form: BillPay, key: IdempotencyKey, wallet: WalletDep
) -> BillPaid:
    """Pay a bill I owe (OTP and Idempotency-Key required)."""
    return wallet.pay_bill(user, bill_code, form.otp, key)


@router.post("/{bill_code}/decline", response_model=BillPublic)
def decline_bill(bill_code: str, user: CurrentUser, wallet: WalletDep) -> BillPublic:
    """The payer declines an open bill."""
    return wallet.close_bill(user, bill_code, as_role="payer")


@router.delete("/{bill_code}", response_model=BillPublic)
def cancel_bill(bill_code: str, user: CurrentUser, wallet: WalletDep) -> BillPublic:
    """The issuer cancels an open bill (it is kept, marked cancelled)."""
    return wallet.close_bill(user, bill_code, as_role="issuer")

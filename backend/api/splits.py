"""Splits ("patungan"), monthly dues and pay-me requests: create, read, join, bill, cancel, pay."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from backend.api.deps import CurrentUser, IdempotencyKey, WalletDep
from backend.api.responses import SIGNED_IN
from backend.errors import Forbidden
from backend.schemas import (
    BillPublic,
    SharesForm,
    SharesPreview,
    SplitBill,
    SplitCreate,
    SplitList,
    SplitView,
)

router = APIRouter(prefix="/api/splits", tags=["splits"], responses=SIGNED_IN)

Limit = Annotated[int, Query(ge=1, le=100)]
# a split cursor is what the previous page returned: "time (13 digits):id", or a time for admins
Cursor = Annotated[str | None, Query(max_length=30, pattern=r"^[0-9]{13}(:[0-9A-Z]{10})?$")]


@router.post("", status_code=201, response_model=SplitView)
def create_split(user: CurrentUser, form: SplitCreate, key: IdempotencyKey, wallet: WalletDep) -> SplitView:
    """Start a split, a dues series or a pay-me request (Idempotency-Key required)."""
    return wallet.create_split(user, form, key)


@router.get("", response_model=SplitList)
def list_splits(
    user: CurrentUser,
    wallet: WalletDep,
    role: Literal["organiser", "member", "all"] = "member",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SplitList:
    """The splits I organise, or those I am billed in, newest first (`all`: admins, every split)."""
    if role == "all" and user.get("role") != "admin":
        raise Forbidden("only admins see every split")
    return wallet.split_page(user, role, limit, cursor)


@router.get("/{split_id}", response_model=SplitView)
def one_split(split_id: str, user: CurrentUser, wallet: WalletDep) -> SplitView:
    """One split with its tally (its organiser, its members or an admin only)."""
    split = wallet.splits.get_for(split_id, user["_id"], admin=user.get("role") == "admin")
    return wallet.split_view(split, user)


@router.post("/{split_id}/join", response_model=SplitView)
def join_split(split_id: str, user: CurrentUser, wallet: WalletDep) -> SplitView:
    """Join a split while it gathers members (joining twice changes nothing)."""
    return wallet.join_split(user, split_id, None)


@router.post("/{split_id}/shares", response_model=SharesPreview)
def preview_shares(split_id: str, form: SharesForm, user: CurrentUser, wallet: WalletDep) -> SharesPreview:
    """The organiser: what "Bill everyone" would bill (equal shares, or these custom ones)."""
    return wallet.preview_shares(user, split_id, form.shares)


@router.post("/{split_id}/bill", response_model=SplitView)
def bill_split(
    split_id: str, form: SplitBill, user: CurrentUser, key: IdempotencyKey, wallet: WalletDep
) -> SplitView:
    """The organiser bills every share (OTP of action bill_split and Idempotency-Key required)."""
    return wallet.bill_split(user, split_id, form, key)


@router.post("/{split_id}/cancel", response_model=SplitView)
def cancel_split(split_id: str, user: CurrentUser, wallet: WalletDep) -> SplitView:
    """The organiser cancels a split or stops dues: open shares are cancelled, paid ones stay paid."""
    return wallet.cancel_split(user, split_id)


@router.post("/{split_id}/claim", response_model=BillPublic)
def claim_request(split_id: str, user: CurrentUser, wallet: WalletDep) -> BillPublic:
    """Pay a pay-me request: my one bill for it, made on the first call (then pay it as any bill)."""
    return wallet.claim_request(user, split_id)

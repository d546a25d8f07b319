"""Admin REST: money in and out, users, freezing, the ledger (and its CSV export), reversals,
reconciliation (now, or as of a past day)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from backend.api.deps import AdminUser, IdempotencyKey, WalletDep, current_admin
from backend.api.responses import SIGNED_IN, csv_download
from backend.documents import balances_csv, ledger_csv
from backend.errors import ErrorCode, InvalidRequest
from backend.ledger import DEPOSIT, WITHDRAWAL, Kind, State
from backend.schemas import (
    AdminMoney,
    AdminUserList,
    AuditList,
    Movement,
    Page,
    Reconciliation,
    ReconciliationAsOf,
    ReverseForm,
    UnverifyForm,
    UserPrivate,
    VerifyForm,
)
from backend.schemas import AdminUser as AdminUserSchema

router = APIRouter(
    prefix="/api/admin", tags=["admin"], dependencies=[Depends(current_admin)], responses=SIGNED_IN
)

Limit = Annotated[int, Query(ge=1, le=200)]
Day = Annotated[date, Query(description="A calendar day in Asia/Jakarta (LIMITS_TIMEZONE), YYYY-MM-DD")]


def _day_start(day: date, timezone: str) -> int:
    """Epoch ms of 00:00 on `day` in `timezone`."""
    return int(datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone)).timestamp() * 1000)


def _days(start: date, end: date, timezone: str) -> tuple[int, int]:
    """[start 00:00, the day after end 00:00) in epoch ms; InvalidRequest if end is before start."""
    if end < start:
        raise InvalidRequest("end is before start", ErrorCode.INVALID_REQUEST)
    return _day_start(start, timezone), _day_start(end + timedelta(days=1), timezone)


@router.post("/users/{username}/deposit", status_code=201, response_model=Movement)
def deposit(
    username: str, form: AdminMoney, key: IdempotencyKey, admin: AdminUser, wallet: WalletDep
) -> Movement:
    """Bring money into a user's account (cash in), recorded in the ledger and the audit log."""
    return wallet.admin_money(admin, DEPOSIT, username, form.amount, form.reference, key)


@router.post("/users/{username}/withdraw", status_code=201, response_model=Movement)
def withdraw(
    username: str, form: AdminMoney, key: IdempotencyKey, admin: AdminUser, wallet: WalletDep
) -> Movement:
    """Take money out of a user's account (cash out); never below zero."""
    return wallet.admin_money(admin, WITHDRAWAL, username, form.amount, form.reference, key)


@router.get("/users", response_model=AdminUserList)
def list_users(
    wallet: WalletDep,
    q: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Users in username order, optionally those whose username starts with `q`."""
    page, next_cursor = wallet.accounts.search(q, limit=limit, cursor=cursor)
    return {"items": [wallet.profile(u, AdminUserSchema) for u in page], "next_cursor": next_cursor}


@router.post("/users/{username}/freeze", response_model=AdminUserSchema)
def freeze(username: str, admin: AdminUser, wallet: WalletDep) -> UserPrivate:
    """Freeze an account: it can sign in and read, not move money."""
    user = wallet.accounts.set_frozen(username, True)
    wallet.audit(admin, "freeze", user["_id"], {})
    return wallet.profile(user, AdminUserSchema)


@router.post("/users/{username}/unfreeze", response_model=AdminUserSchema)
def unfreeze(username: str, admin: AdminUser, wallet: WalletDep) -> UserPrivate:
    """Unfreeze an account."""
    user = wallet.accounts.set_frozen(username, False)
    wallet.audit(admin, "unfreeze", user["_id"], {})
    return wallet.profile(user, AdminUserSchema)


@router.post("/users/{username}/verify", response_model=AdminUserSchema)
def verify(username: str, form: VerifyForm, admin: AdminUser, wallet: WalletDep) -> UserPrivate:
    """KYC-verify an account from the holder's identity card: full name, NIK (16 digits, checked
    against the date of birth) and date of birth. The balance cap rises to the verified tier's;
    the NIK is kept masked (last 4 digits) and never shown in full again. Audited."""
    return wallet.verify(admin, username, form)


@router.post("/users/{username}/unverify", response_model=AdminUserSchema)
def unverify(username: str, form: UnverifyForm, admin: AdminUser, wallet: WalletDep) -> UserPrivate:
    """Lower an account to unverified again, with a reason (audited). Money above the lower cap
    stays where it is; nothing more comes in until the balance is under it."""
    return wallet.unverify(admin, username, form.reason)


@router.get("/ledger", response_model=Page)
def ledger(
    wallet: WalletDep,
    kind: Kind | None = None,
    state: State | None = None,
    username: Annotated[str | None, Query(max_length=32)] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f]+$")] = None,
) -> dict[str, Any]:
    """Ledger records, newest first, filtered by kind, state and/or party."""
    query: dict[str, Any] = {}
    if kind:
        query["kind"] = kind
    if state:
        query["state"] = state
    if username:
        query["$or"] = [{"src": username.lower()}, {"dst": username.lower()}]
    if cursor:
        query["seq"] = {"$lt": cursor}
    page = list(wallet.store.ledger.find(query).sort("seq", -1).limit(limit + 1))
    next_cursor = page[limit - 1]["seq"] if len(page) > limit else None
    return {"items": [Movement.from_record(r) for r in page[:limit]], "next_cursor": next_cursor}


@router.post("/ledger/{movement_id}/reverse", status_code=201, response_model=Movement)
def reverse(
    movement_id: str, form: ReverseForm, key: IdempotencyKey, admin: AdminUser, wallet: WalletDep
) -> Movement:
    """Reverse a transfer or bill payment with a new reversing record; the original stays."""
    return wallet.reverse(admin, movement_id, form.reason, key)


@router.get("/reconcile", response_model=Reconciliation)
def reconcile(wallet: WalletDep) -> dict[str, Any]:
    """Σ balances + money in flight = Σ deposits − Σ withdrawals, and the unfinished count."""
    return wallet.ledger.reconcile()


@router.get(
    "/ledger/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One CSV line per booked movement"}},
)
def export_ledger(
    wallet: WalletDep,
    start: Day,
    end: Day,
    kind: Kind | None = None,
    username: Annotated[str | None, Query(max_length=32)] = None,
) -> StreamingResponse:
    """Every movement booked from `start` to `end` (whole days, both included), oldest first, as
    CSV, optionally of one kind and/or one party; streamed line by line, never built in memory."""
    zone = wallet.settings.limits_timezone
    low, high = _days(start, end, zone)
    party = wallet.accounts.get(username)["_id"] if username else None
    records = wallet.statements.export(low, high, kind=kind, username=party)
    return csv_download(ledger_csv(records, zone), f"mata-duitan-ledger-{start}-{end}.csv")


@router.get("/reconcile/as-of", response_model=ReconciliationAsOf)
def reconcile_as_of(wallet: WalletDep, day: Day) -> dict[str, Any]:
    """The books at the end of a past day, from the ledger alone: every account's balance then
    (Σ of its movements booked by then) against Σ deposits − Σ withdrawals, none negative."""
    end = _days(day, day, wallet.settings.limits_timezone)[1]
    return {**wallet.statements.reconcile_as_of(end), "as_of": end}


@router.get(
    "/reconcile/as-of/balances",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "username,balance per account"}},
)
def balances_as_of(wallet: WalletDep, day: Day) -> StreamingResponse:
    """Every account's balance at the end of a past day, as CSV (the lines behind /reconcile/as-of)."""
    end = _days(day, day, wallet.settings.limits_timezone)[1]
    balances, _ = wallet.statements.balances_as_of(end)
    return csv_download(balances_csv(balances), f"mata-duitan-balances-{day}.csv")


@router.get("/audit", response_model=AuditList)
def audit(wallet: WalletDep, limit: Limit = 50) -> dict[str, Any]:
    """The newest admin and security events: who, what, when."""
    events = list(wallet.store.audit.find({}, {"_id": 0}).sort("at", -1).limit(limit))
    return {"items": events}

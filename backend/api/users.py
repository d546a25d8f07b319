"""My profile, recipient look-up, transaction history (filtered by month, kind, counterparty), the
monthly e-statement (PDF, CSV) and the spending chart."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.api.deps import CurrentUser, WalletDep, own_or_admin
from backend.api.responses import ANY, attachment, csv_download, errors
from backend.db import Doc
from backend.documents import insights_png, statement_csv, statement_pdf
from backend.schemas import (
    Insights,
    LangUpdate,
    Movement,
    Page,
    StatementSummary,
    UserPrivate,
    UserPublic,
)
from backend.statements import KindFilter, summary_fields
from backend.texts import lang_or_default
from backend.wallet import Wallet

router = APIRouter(prefix="/api/user", tags=["users"], responses={**ANY, **errors(401)})

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f]+$")]
MonthQuery = Annotated[
    str | None,
    Query(
        pattern=r"^(this|last|\d{4}-\d{2})$",
        description="A calendar month in Asia/Jakarta: YYYY-MM, `this` or `last` (default: this)",
    ),
]
Whose = Annotated[str | None, Query(max_length=32, description="Admins: whose account (default: your own)")]
Lang = Annotated[Literal["en", "id"] | None, Query(description="Default: the account holder's language")]
PDF = "application/pdf"


def _holder(user: Doc, wallet: Wallet, username: str | None) -> Doc:
    """The account asked about: the caller's own, or (admins only) anyone's."""
    if username is None:
        return user
    own_or_admin(user, username)
    return wallet.accounts.get(username)


@router.get("", response_model=UserPrivate)
def me(user: CurrentUser, wallet: WalletDep) -> UserPrivate:
    """My profile and balance."""
    return wallet.profile(user)


@router.put("/lang", response_model=UserPrivate)
def set_lang(form: LangUpdate, user: CurrentUser, wallet: WalletDep) -> UserPrivate:
    """Choose the language of the messages the wallet sends me."""
    wallet.accounts.set_lang(user["_id"], form.lang)
    return wallet.profile(wallet.accounts.get(user["_id"]))


@router.get("/transfer/{username}", response_model=Page, responses=errors(403, 404))
def history(
    username: str,
    user: CurrentUser,
    wallet: WalletDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    month: MonthQuery = None,
    kind: KindFilter | None = None,
    counterparty: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    """Finished movements of a user, newest first, one page (own history, or any for admins).

    Filters (any together): `month` (when they were booked, in Asia/Jakarta), `kind` (from this
    user's side: transfers in or out, bills paid or received, top-ups and withdrawals, reversals)
    and `counterparty` (a username). A filtered page's `next_cursor` serves only that filter."""
    own_or_admin(user, username)
    target = wallet.accounts.get(username)["_id"]
    page, next_cursor = wallet.statements.history(
        target,
        limit=limit,
        cursor=cursor,
        month=wallet.statements.month(month) if month else None,
        kind=kind,
        counterparty=wallet.accounts.get(counterparty)["_id"] if counterparty else None,
    )
    return {"items": [Movement.from_record(r, target) for r in page], "next_cursor": next_cursor}


@router.get(
    "/statement",
    response_model=StatementSummary,
    responses={
        200: {"content": {PDF: {}, "text/csv": {}}, "description": "The statement (format=pdf|csv|json)"},
        **errors(403, 404, 429),
    },
)
def statement(
    user: CurrentUser,
    wallet: WalletDep,
    month: MonthQuery = None,
    format: Literal["pdf", "csv", "json"] = "pdf",  # noqa: A002 (the query parameter's name)
    username: Whose = None,
    lang: Lang = None,
) -> Response:
    """The monthly e-statement: opening balance, every movement booked in the month (Asia/Jakarta)
    with its signed amount and the running balance, closing balance, totals in and out. `pdf` is
    a document (its figures also in the X-Statement-* headers), `csv` the same rows (streamed),
    `json` the totals only. PDF and CSV count against the documents quota (429 past it)."""
    holder = _holder(user, wallet, username)
    chosen, owner = wallet.statements.month(month), holder["_id"]
    if format == "json":
        totals = wallet.statements.totals(owner, chosen)
        return Response(
            StatementSummary(username=owner, **summary_fields(totals)).model_dump_json(),
            media_type="application/json",
        )
    wallet.count_document(user)
    words, zone = lang_or_default(lang or holder.get("lang")), wallet.settings.limits_timezone
    name = f"mata-duitan-{owner}-{chosen}"
    if format == "csv":
        rows = wallet.statements.rows(owner, chosen)
        return csv_download(statement_csv(words, rows, zone), f"{name}.csv")
    opening = wallet.statements.opening(owner, chosen)
    rows = wallet.statements.rows(owner, chosen, opening)
    pdf, totals = statement_pdf(words, holder, chosen, opening, rows, zone, wallet.ledger.clock())
    figures = {
        f"X-Statement-{k.replace('_', '-').title()}": str(v) for k, v in summary_fields(totals).items()
    }
    return Response(pdf, media_type=PDF, headers={**attachment(f"{name}.pdf"), **figures})


@router.get(
    "/insights",
    response_model=Insights,
    responses={
        200: {"content": {"image/png": {}}, "description": "format=png: the chart"},
        **errors(403, 404, 429),
    },
)
def insights(
    user: CurrentUser,
    wallet: WalletDep,
    format: Literal["png", "json"] = "png",  # noqa: A002 (the query parameter's name)
    by: Literal["counterparty", "kind"] = "counterparty",
    username: Whose = None,
    lang: Lang = None,
) -> Response:
    """Spending at a glance: money in and out for each of the last six months, and where this
    month's money went (by counterparty or by kind), biggest first; `png` draws it as a chart
    (1200×600), counting against the documents quota."""
    holder = _holder(user, wallet, username)
    figures = wallet.statements.insights(holder["_id"], by=by)
    if format == "json":
        return Response(Insights(**figures).model_dump_json(), media_type="application/json")
    wallet.count_document(user)
    png = insights_png(lang_or_default(lang or holder.get("lang")), figures)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.get("/{username}", response_model=UserPublic, responses=errors(404))
def lookup(username: str, _user: CurrentUser, wallet: WalletDep) -> dict[str, str]:
    """A recipient's username and name (to confirm who gets the money)."""
    found = wallet.accounts.get(username)
    return {"username": found["_id"], "name": found["name"]}

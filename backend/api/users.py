"""My profile, recipient look-up and transaction history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from backend.api.deps import CurrentUser, WalletDep, own_or_admin
from backend.api.responses import ANY, errors
from backend.schemas import LangUpdate, Movement, Page, UserPrivate, UserPublic

router = APIRouter(prefix="/api/user", tags=["users"], responses={**ANY, **errors(401)})

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-f]+$")]


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
    username: str, user: CurrentUser, wallet: WalletDep, limit: Limit = 20, cursor: Cursor = None
) -> dict[str, Any]:
    """Finished movements of a user, newest first, one page (own history, or any for admins)."""
    own_or_admin(user, username)
    target = wallet.accounts.get(username)["_id"]
    page, next_cursor = wallet.ledger.history(target, limit=limit, cursor=cursor)
    return {"items": [Movement.from_record(r, target) for r in page], "next_cursor": next_cursor}


@router.get("/{username}", response_model=UserPublic, responses=errors(404))
def lookup(username: str, _user: CurrentUser, wallet: WalletDep) -> dict[str, str]:
    """A recipient's username and name (to confirm who gets the money)."""
    found = wallet.accounts.get(username)
    return {"username": found["_id"], "name": found["name"]}

"""Sign-up, sign-in and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from backend.api.deps import ClaimsDep, WalletDep
from backend.api.responses import ANY, errors
from backend.schemas import Credentials, SigninResult, UserCreate, UserPublic

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=ANY)


def client_address(request: Request) -> str:
    """The caller's address (for per-address sign-in limits)."""
    return request.client.host if request.client else "unknown"


@router.post("/signup", status_code=201, response_model=UserPublic, responses=errors(409))
def signup(form: UserCreate, wallet: WalletDep) -> dict[str, str]:
    """Create an account (zero balance)."""
    user = wallet.accounts.signup(form)
    return {"username": user["_id"], "name": user["name"]}


@router.post("/signin", response_model=SigninResult, responses=errors(401, 429))
def signin(form: Credentials, request: Request, wallet: WalletDep) -> dict[str, object]:
    """Exchange username and password for a 1-day access token."""
    user = wallet.accounts.authenticate(form.username, form.password, client_address(request))
    return {
        "accessToken": wallet.tokens.issue_access(user["_id"]),
        "username": user["_id"],
        "name": user["name"],
        "amount_credit": user["balance"],
    }


@router.post("/signout", status_code=204, responses=errors(401))
def signout(claims: ClaimsDep, wallet: WalletDep) -> Response:
    """Revoke the access token this request carries."""
    wallet.tokens.revoke_access(claims)
    return Response(status_code=204)

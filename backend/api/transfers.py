"""OTP requests and transfers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backend.api.deps import CurrentUser, IdempotencyKey, WalletDep
from backend.api.responses import SIGNED_IN, errors
from backend.schemas import OtpRequest, OtpSent, TransferCreate, TransferResult

router = APIRouter(prefix="/api", tags=["transfers"], responses=SIGNED_IN)


@router.post("/processing", status_code=202, response_model=OtpSent, responses=errors(429))
def request_otp(form: OtpRequest, user: CurrentUser, wallet: WalletDep) -> dict[str, Any]:
    """Send me a one-time password for exactly this action (it is never in the response)."""
    wallet.request_otp(user, form)
    channel = wallet.settings.otp_delivery
    return {
        "detail": f"OTP sent via {channel}",
        "channel": channel,
        "expires_in": wallet.settings.otp_ttl_seconds,
    }


@router.post("/transfer", status_code=201, response_model=TransferResult)
def transfer(
    user: CurrentUser, form: TransferCreate, key: IdempotencyKey, wallet: WalletDep
) -> TransferResult:
    """Send money to another user (OTP and Idempotency-Key required)."""
    return wallet.transfer(user, form, key)

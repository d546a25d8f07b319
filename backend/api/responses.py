"""The error answers routes declare in the OpenAPI; each has the body `ErrorBody`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.responses import StreamingResponse

from backend.schemas import ErrorBody

WHY = {
    400: "Wrong, expired or used OTP, or a body that is not valid JSON",
    401: "No, invalid, expired or revoked credentials",
    403: "Not allowed: admins only, someone else's data, a frozen account, or no bot secret",
    404: "No such user, bill or movement",
    409: "Conflicts with the current state: funds, bill status, username or Idempotency-Key",
    413: "Request body over 64 KiB",
    422: "Invalid input: fields, parameters, headers, amounts or limits",
    429: "Too many attempts; try again later",
    503: "The database or Telegram is unavailable; nothing was changed",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses (FastAPI then omits its default 422)."""
    return {status: {"model": ErrorBody, "description": WHY[status]} for status in statuses}


# What any route may answer: too large, unparsable or invalid input; the database down.
ANY = errors(400, 413, 422, 503)
# ... and any route that needs an access token, plus what its rules refuse.
SIGNED_IN = {**ANY, **errors(401, 403, 404, 409)}


def attachment(filename: str) -> dict[str, str]:
    """The header that makes a browser or client save the body as `filename`."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_download(lines: Iterator[str], filename: str) -> StreamingResponse:
    """A CSV sent as it is produced, line by line (never built in memory), saved as `filename`."""
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers=attachment(filename))

"""Domain errors, and their one mapping to HTTP.

    WalletError                       (400 unless a subclass says otherwise)
    ├── NotAuthenticated              401  token_invalid / invalid_credentials
    ├── Forbidden                     403  forbidden
    │   └── AccountFrozen             403  account_frozen
    ├── NotFound                      404  user_not_found / bill_not_found / not_found
    ├── Conflict                      409
    │   ├── UsernameTaken                  username_taken
    │   ├── InsufficientFunds              insufficient_funds
    │   ├── BillNotPayable                 bill_not_payable
    │   ├── IdempotencyConflict            idempotency_conflict / idempotency_in_flight
    │   └── TelegramNotLinked              telegram_not_linked
    ├── InvalidRequest                422  invalid_amount / self_transfer / limit_exceeded / ...
    ├── OtpRejected                   400  otp_invalid / otp_expired / otp_locked / otp_missing
    ├── TooManyRequests               429  signin_locked / otp_rate_limited
    └── Unavailable                   503  database_unavailable / delivery_failed

Every error carries a machine-readable `code` (what the bot maps to a localised message) and a
human-readable `detail`. The HTTP body is `{"detail": ..., "code": ...}`.
"""

from __future__ import annotations


class WalletError(Exception):
    """Base of every error the domain raises on purpose."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class NotAuthenticated(WalletError):
    """Missing, invalid, expired or revoked credentials."""

    status = 401
    code = "token_invalid"


class Forbidden(WalletError):
    """Authenticated, but not allowed to do this."""

    status = 403
    code = "forbidden"


class AccountFrozen(Forbidden):
    """A frozen account may sign in and read, never move money."""

    code = "account_frozen"


class NotFound(WalletError):
    """No such user, bill or record (or not one the caller may see)."""

    status = 404
    code = "not_found"


class Conflict(WalletError):
    """The request is valid but conflicts with the current state."""

    status = 409
    code = "conflict"


class UsernameTaken(Conflict):
    """Sign-up with a username that exists (case-insensitively)."""

    code = "username_taken"


class InsufficientFunds(Conflict):
    """The payer's balance does not cover the amount."""

    code = "insufficient_funds"


class BillNotPayable(Conflict):
    """The bill is not open (paid, cancelled, declined or being paid)."""

    code = "bill_not_payable"


class IdempotencyConflict(Conflict):
    """Same Idempotency-Key, different body; or the first request is still running."""

    code = "idempotency_conflict"


class TelegramNotLinked(Conflict):
    """An OTP must go to Telegram but the account has no linked chat."""

    code = "telegram_not_linked"


class InvalidRequest(WalletError):
    """Well-formed but unacceptable input (amount, limit, self-transfer...)."""

    status = 422
    code = "invalid_request"


class OtpRejected(WalletError):
    """The one-time password is wrong, expired, used, locked or for another action."""

    status = 400
    code = "otp_invalid"


class TooManyRequests(WalletError):
    """A rate limit or a lock-out after repeated failures."""

    status = 429
    code = "too_many_requests"


class Unavailable(WalletError):
    """A dependency (database, Telegram) is down; nothing was changed."""

    status = 503
    code = "unavailable"

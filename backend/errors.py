"""Domain errors, the one catalogue of their codes (`ErrorCode`), and their mapping to HTTP.

    WalletError                       (400 unless a subclass says otherwise)  bad_request
    ├── NotAuthenticated              401  token_invalid / invalid_credentials
    ├── Forbidden                     403  forbidden / not_organiser
    │   └── AccountFrozen             403  account_frozen
    ├── NotFound                      404  not_found / user_not_found / bill_not_found /
    │                                      split_not_found / wallet_not_linked
    ├── Conflict                      409  conflict / already_reversed / interrupted / busy /
    │                                      already_verified / split_closed / split_changed /
    │                                      split_full / nothing_to_bill / already_paid
    │   ├── UsernameTaken                  username_taken
    │   ├── InsufficientFunds              insufficient_funds
    │   ├── BillNotPayable                 bill_not_payable
    │   ├── IdempotencyConflict            idempotency_conflict / idempotency_in_flight
    │   ├── TelegramNotLinked              telegram_not_linked
    │   └── CannotReceive                  receive_cap_unverified / receive_cap_reached /
    │                                      receive_monthly_cap (the body names the `payee`)
    ├── InvalidRequest                422  invalid_request / invalid_amount / self_transfer /
    │                                      limit_exceeded / not_reversible / invalid_identity /
    │                                      invalid_shares /
    │                                      idempotency_key_required / idempotency_key_invalid
    ├── OtpRejected                   400  otp_invalid / otp_expired / otp_locked / otp_missing
    ├── TooManyRequests               429  too_many_requests / signin_locked / otp_rate_limited
    └── Unavailable                   503  unavailable / delivery_unavailable

    not raised, answered by backend/main.py's handlers:
        RequestValidationError        422  validation_error
        HTTPException (Starlette)     400  bad_request (body not JSON) / 404 not_found (no route) /
                                      405  method_not_allowed / other 5xx internal_server_error
        PyMongoError                  503  unavailable
        body over 64 KiB              413  too_large

Every error carries a machine-readable `code` (what the bot maps to a localised message) and a
human-readable `detail`. The HTTP body is `{"detail": ..., "code": ...}` (`schemas.ErrorBody`,
plus `payee` when the refusal is about the account that would receive: `WalletError.body`),
whose `code` publishes `ErrorCode` in the OpenAPI). A new code is a member of `ErrorCode` plus a
message in bot/texts.py; tests/test_error_catalogue.py fails until both exist.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every `code` the backend puts in an error body (values are the wire strings)."""

    # 400
    BAD_REQUEST = "bad_request"  # the body is not valid JSON (or a WalletError with no better code)
    OTP_INVALID = "otp_invalid"  # wrong OTP, tries left: type it again
    OTP_EXPIRED = "otp_expired"  # the OTP's time ran out: request a new one
    OTP_LOCKED = "otp_locked"  # too many wrong tries on this OTP: request a new one
    OTP_MISSING = "otp_missing"  # no OTP pending for this action, or it was already used
    # 401
    TOKEN_INVALID = "token_invalid"  # no, invalid, expired or revoked token; account gone
    INVALID_CREDENTIALS = "invalid_credentials"  # sign-in with a wrong username or password
    # 403
    FORBIDDEN = "forbidden"  # admins only, someone else's data, or no bot secret
    ACCOUNT_FROZEN = "account_frozen"  # a frozen account tried to move money
    # 404
    NOT_FOUND = "not_found"  # no such route, movement or record
    USER_NOT_FOUND = "user_not_found"  # no user with that username
    BILL_NOT_FOUND = "bill_not_found"  # no bill with that code that the caller may see
    # 405
    METHOD_NOT_ALLOWED = "method_not_allowed"  # the route exists, not with this HTTP method
    # 409
    CONFLICT = "conflict"  # the ledger rejected a movement for a reason it has no code for
    USERNAME_TAKEN = "username_taken"  # sign-up with a username that exists (any case)
    INSUFFICIENT_FUNDS = "insufficient_funds"  # the payer's balance does not cover the amount
    BILL_NOT_PAYABLE = "bill_not_payable"  # the bill is paid, cancelled, declined or being paid
    ALREADY_REVERSED = "already_reversed"  # an admin reverses a movement reversed before
    INTERRUPTED = "interrupted"  # the request died before money moved (recovery rejected it)
    BUSY = "busy"  # the account kept changing under the debit; nothing moved, try again
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"  # same Idempotency-Key, different request
    IDEMPOTENCY_IN_FLIGHT = "idempotency_in_flight"  # the first request with this key still runs
    TELEGRAM_NOT_LINKED = "telegram_not_linked"  # an OTP must go to Telegram; no chat is linked
    WALLET_NOT_LINKED = "wallet_not_linked"  # a Telegram user (in a group) has no wallet linked
    SPLIT_NOT_FOUND = "split_not_found"  # no split, dues or request with that id the caller may see
    NOT_ORGANISER = "not_organiser"  # only a split's organiser may bill, cancel or stop it
    SPLIT_CLOSED = "split_closed"  # the split is billed, cancelled or closed: not for this action
    SPLIT_CHANGED = "split_changed"  # someone joined since the shares were shown, or it is billing
    SPLIT_FULL = "split_full"  # a split takes at most 50 members besides its organiser
    NOTHING_TO_BILL = "nothing_to_bill"  # nobody joined yet, so there is nobody to bill
    ALREADY_PAID = "already_paid"  # a request tapped again by someone who paid it
    # the payee's e-money limits (Bank Indonesia): an unverified wallet would pass its balance cap
    RECEIVE_CAP_UNVERIFIED = "receive_cap_unverified"
    RECEIVE_CAP_REACHED = "receive_cap_reached"  # a verified wallet would pass its balance cap
    RECEIVE_MONTHLY_CAP = "receive_monthly_cap"  # the payee's incoming this calendar month is full
    ALREADY_VERIFIED = "already_verified"  # an admin verifies an account that is verified
    # 413
    TOO_LARGE = "too_large"  # request body over 64 KiB
    # 422
    VALIDATION_ERROR = "validation_error"  # fields, parameters or headers fail the schema
    INVALID_REQUEST = "invalid_request"  # a field the action needs is missing
    INVALID_AMOUNT = "invalid_amount"  # the amount is not a positive whole number
    INVALID_DUE_DATE = "invalid_due_date"  # a bill's due date is in the past or too far ahead
    SELF_TRANSFER = "self_transfer"  # sending money to, or billing, oneself
    LIMIT_EXCEEDED = "limit_exceeded"  # over the daily transfer limit
    INVALID_SHARES = "invalid_shares"  # custom shares name a non-member or do not add up
    INVALID_IDENTITY = "invalid_identity"  # a verification's NIK or date of birth does not hold
    NOT_REVERSIBLE = "not_reversible"  # an admin reverses a movement that is not finished
    IDEMPOTENCY_KEY_REQUIRED = "idempotency_key_required"  # a money request without the header
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"  # the header is not 1–100 safe characters
    # 429
    TOO_MANY_REQUESTS = "too_many_requests"  # a rate limit with no more specific code
    SIGNIN_LOCKED = "signin_locked"  # too many failed sign-ins for this username: wait
    OTP_RATE_LIMITED = "otp_rate_limited"  # too many OTPs requested in the window: wait
    # 5xx
    INTERNAL_SERVER_ERROR = "internal_server_error"  # an HTTPException with a 5xx we have no code for
    UNAVAILABLE = "unavailable"  # the database does not answer; nothing was changed
    DELIVERY_UNAVAILABLE = "delivery_unavailable"  # OTPs cannot be delivered: the bot is not running


# Framework refusals (HTTPException) by status; only 400, 404 and 405 are raised today.
_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.TOKEN_INVALID,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.TOO_LARGE,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.TOO_MANY_REQUESTS,
    503: ErrorCode.UNAVAILABLE,
}


def http_code(status: int) -> ErrorCode:
    """The code of a framework refusal (FastAPI's unparsable body 400, Starlette's 404/405)."""
    fallback = ErrorCode.INTERNAL_SERVER_ERROR if status >= 500 else ErrorCode.BAD_REQUEST
    return _HTTP_CODES.get(status, fallback)


class WalletError(Exception):
    """Base of every error the domain raises on purpose."""

    status = 400
    code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(self, detail: str, code: ErrorCode | None = None, *, payee: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.payee = payee
        if code is not None:
            self.code = code

    def body(self) -> dict[str, str]:
        """The error as the HTTP body carries it (`schemas.ErrorBody`)."""
        body = {"detail": self.detail, "code": str(self.code)}
        if self.payee is not None:
            body["payee"] = self.payee
        return body


class NotAuthenticated(WalletError):
    """Missing, invalid, expired or revoked credentials."""

    status = 401
    code = ErrorCode.TOKEN_INVALID


class Forbidden(WalletError):
    """Authenticated, but not allowed to do this."""

    status = 403
    code = ErrorCode.FORBIDDEN


class AccountFrozen(Forbidden):
    """A frozen account may sign in and read, never move money."""

    code = ErrorCode.ACCOUNT_FROZEN


class NotFound(WalletError):
    """No such user, bill or record (or not one the caller may see)."""

    status = 404
    code = ErrorCode.NOT_FOUND


class Conflict(WalletError):
    """The request is valid but conflicts with the current state."""

    status = 409
    code = ErrorCode.CONFLICT


class UsernameTaken(Conflict):
    """Sign-up with a username that exists (case-insensitively)."""

    code = ErrorCode.USERNAME_TAKEN


class InsufficientFunds(Conflict):
    """The payer's balance does not cover the amount."""

    code = ErrorCode.INSUFFICIENT_FUNDS


class BillNotPayable(Conflict):
    """The bill is not open (paid, cancelled, declined or being paid)."""

    code = ErrorCode.BILL_NOT_PAYABLE


class IdempotencyConflict(Conflict):
    """Same Idempotency-Key, different body; or the first request is still running."""

    code = ErrorCode.IDEMPOTENCY_CONFLICT


class TelegramNotLinked(Conflict):
    """An OTP must go to Telegram but the account has no linked chat."""

    code = ErrorCode.TELEGRAM_NOT_LINKED


class CannotReceive(Conflict):
    """The payee's wallet may not take this credit: its balance cap or monthly incoming cap."""

    code = ErrorCode.RECEIVE_CAP_UNVERIFIED


class InvalidRequest(WalletError):
    """Well-formed but unacceptable input (amount, limit, self-transfer...)."""

    status = 422
    code = ErrorCode.INVALID_REQUEST


class OtpRejected(WalletError):
    """The one-time password is wrong, expired, used, locked or for another action."""

    status = 400
    code = ErrorCode.OTP_INVALID


class TooManyRequests(WalletError):
    """A rate limit or a lock-out after repeated failures."""

    status = 429
    code = ErrorCode.TOO_MANY_REQUESTS


class Unavailable(WalletError):
    """A dependency (database, Telegram) is down; nothing was changed."""

    status = 503
    code = ErrorCode.UNAVAILABLE

"""One-time passwords, each bound to one action (its amount and payee), stored hashed.

A code is 6 digits from pyotp over a fresh random secret, valid OTP_TTL_SECONDS, usable once,
dead after OTP_MAX_ATTEMPTS wrong tries. Only the newest code per user and action counts, and new
codes are rate-limited, so guessing across many requests stays hopeless. The code never leaves
this module except through the delivery channel: the outbox (sealed; the bot DMs it), or the log
outside production. A code that could not be delivered is never made.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import NoReturn

import pyotp
from pymongo import ReturnDocument

from backend.config import Settings
from backend.db import Doc, Store, now_ms
from backend.errors import ErrorCode, OtpRejected, TooManyRequests
from backend.notices import Notices
from backend.ratelimit import RateLimiter
from backend.security import keyed_hash

logger = logging.getLogger(__name__)


def binding_of(
    action: str, *, party: str | None = None, amount: int | None = None, bill_code: str | None = None
) -> str:
    """The canonical description of what an OTP authorises."""
    return (
        f"{action}|party={party or ''}|amount={amount if amount is not None else ''}|bill={bill_code or ''}"
    )


def new_code() -> str:
    """Six random digits (a TOTP of a fresh random secret)."""
    return pyotp.TOTP(pyotp.random_base32(), digits=6).now()


class Otps:
    """Issues OTPs through the outbox and verifies them exactly once."""

    def __init__(self, store: Store, settings: Settings, limiter: RateLimiter, notices: Notices) -> None:
        self.store = store
        self.settings = settings
        self.limiter = limiter
        self.notices = notices

    def issue(self, user: Doc, action: str, binding: str, summary: dict[str, object]) -> None:
        """Create a code for this action and queue its DM; TooManyRequests past the rate limit."""
        self.notices.check_deliverable(user)  # before the rate limit: a refusal costs no request
        window = self.settings.otp_request_window_seconds
        if self.limiter.hit("otp:" + user["_id"], window) > self.settings.otp_requests_per_window:
            retry = self.limiter.retry_after(window)
            raise TooManyRequests(
                f"too many OTP requests; try again in {retry} s", ErrorCode.OTP_RATE_LIMITED
            )
        code, nonce, now = new_code(), secrets.token_hex(8), now_ms()
        otp_id = f"{user['_id']}:{action}"  # one live code per user and action: a new one replaces it
        doc = {
            "_id": otp_id,
            "username": user["_id"],
            "action": action,
            "binding": binding,
            "nonce": nonce,  # guards every later update against a code issued meanwhile
            "code_hash": self._hash(otp_id, binding, code),
            "attempts": 0,
            "used": False,
            "created_at": now,
            "expires_at": now + self.settings.otp_ttl_seconds * 1000,
        }
        self.store.otps.replace_one({"_id": otp_id}, doc, upsert=True)
        self.notices.otp(user, doc, code, summary)

    def _hash(self, otp_id: str, binding: str, code: str) -> str:
        """What is stored of a code: keyed, and bound to its action (amount and payee)."""
        return keyed_hash(self.settings, f"{otp_id}:{binding}:{code}")

    def verify(self, username: str, action: str, binding: str, code: str) -> str:
        """Consume the newest code for this action if it matches (→ its nonce); OtpRejected otherwise.

        The right code for this very action is checked and consumed by one conditional update
        (one round trip); only a refusal reads the code to say why, and counts a wrong try.
        """
        otp_id = f"{username}:{action}"
        consumed = self.store.otps.find_one_and_update(
            {
                "_id": otp_id,
                "code_hash": self._hash(otp_id, binding, code),
                "used": False,
                "attempts": {"$lt": self.settings.otp_max_attempts},
                "expires_at": {"$gt": now_ms()},
            },
            {"$set": {"used": True, "used_at": now_ms()}},
            projection={"nonce": 1},
        )
        if consumed is not None:
            return str(consumed["nonce"])
        otp = self.store.otps.find_one({"_id": otp_id})
        if otp is None or otp["used"]:
            raise OtpRejected("no OTP pending for this action; request a new one", ErrorCode.OTP_MISSING)
        if otp["attempts"] >= self.settings.otp_max_attempts:
            raise OtpRejected(
                "this OTP is locked after too many wrong tries; request a new one", ErrorCode.OTP_LOCKED
            )
        if otp["expires_at"] <= now_ms():
            raise OtpRejected("this OTP has expired; request a new one", ErrorCode.OTP_EXPIRED)
        if hmac.compare_digest(otp["code_hash"], self._hash(otp_id, binding, code)):
            # the right code, not consumed above: another request used it just now, or it expired
            raise OtpRejected("this OTP was already used; request a new one", ErrorCode.OTP_MISSING)
        return self._wrong_try(otp, otp["binding"] != binding)

    def give_back(self, username: str, action: str, nonce: str) -> None:
        """The action this code authorised was refused before any money moved (the balance or a
        limit changed meanwhile): the code stays good for it, as if never typed."""
        self.store.otps.update_one(
            {"_id": f"{username}:{action}", "nonce": nonce, "used": True},
            {"$set": {"used": False}, "$unset": {"used_at": ""}},
        )

    def _wrong_try(self, otp: Doc, other_action: bool) -> NoReturn:
        """Count a wrong try and raise; the last allowed try locks the code."""
        updated = self.store.otps.find_one_and_update(
            {"_id": otp["_id"], "nonce": otp["nonce"], "used": False},
            {"$inc": {"attempts": 1}},
            return_document=ReturnDocument.AFTER,
        )
        attempts = updated["attempts"] if updated else self.settings.otp_max_attempts
        left = self.settings.otp_max_attempts - attempts
        if left <= 0:
            raise OtpRejected("wrong OTP; it is now locked, request a new one", ErrorCode.OTP_LOCKED)
        if other_action:
            raise OtpRejected(
                f"this OTP was issued for a different amount or payee ({left} tries left)",
                ErrorCode.OTP_INVALID,
            )
        raise OtpRejected(f"wrong OTP ({left} tries left)", ErrorCode.OTP_INVALID)

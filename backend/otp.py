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
from dataclasses import dataclass, field
from enum import StrEnum
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


class OtpAction(StrEnum):
    """What a code can authorise."""

    TRANSFER = "transfer"
    CREATE_BILL = "create_bill"
    PAY_BILL = "pay_bill"
    BILL_SPLIT = "bill_split"  # every share of a split's first round, exactly as shown


@dataclass(frozen=True)
class Grant:
    """A code accepted for one action: what its request may now do, and the facts kept with it."""

    username: str
    action: str
    nonce: str  # which code (give_back restores exactly this one)
    facts: Doc = field(default_factory=dict)
    again: bool = False  # consumed earlier by this same request


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

    def issue(
        self, user: Doc, action: str, binding: str, summary: dict[str, object], facts: Doc | None = None
    ) -> None:
        """Create a code for this action and queue its DM; TooManyRequests past the rate limit.

        `facts`: what the confirmed action will need and the request for the code has just read
        (the payee's name and chat, a bill's details), handed back by `verify` (never shown)."""
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
            "facts": facts or {},
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

    def verify(self, username: str, action: str, binding: str, code: str, request_id: str) -> Grant:
        """Consume the newest code for this action if it matches; OtpRejected otherwise.

        The right code for this very action is checked and consumed by one conditional update
        (one round trip), which records the request it authorised (`request_id`, the client's
        "owner:Idempotency-Key"). Only a refusal reads the code to say why, and counts a wrong
        try — except a code already consumed by this very request (a retry after a crash, or a
        second copy of it): that is the request's authorisation, granted again.
        """
        otp_id = f"{username}:{action}"
        now = now_ms()
        consumed = self.store.otps.find_one_and_update(
            {
                "_id": otp_id,
                "code_hash": self._hash(otp_id, binding, code),
                "used": False,
                "attempts": {"$lt": self.settings.otp_max_attempts},
                "expires_at": {"$gt": now},
            },
            {"$set": {"used": True, "used_at": now, "used_for": request_id}},
            projection={"nonce": 1, "facts": 1},
        )
        if consumed is not None:
            return Grant(username, action, str(consumed["nonce"]), consumed.get("facts") or {})
        otp = self.store.otps.find_one({"_id": otp_id})
        right = otp is not None and hmac.compare_digest(otp["code_hash"], self._hash(otp_id, binding, code))
        if otp is not None and otp["used"] and right and otp.get("used_for") == request_id:
            return Grant(username, action, str(otp["nonce"]), otp.get("facts") or {}, again=True)
        if otp is None or otp["used"]:
            raise OtpRejected("no OTP pending for this action; request a new one", ErrorCode.OTP_MISSING)
        if otp["attempts"] >= self.settings.otp_max_attempts:
            raise OtpRejected(
                "this OTP is locked after too many wrong tries; request a new one", ErrorCode.OTP_LOCKED
            )
        if otp["expires_at"] <= now:
            raise OtpRejected("this OTP has expired; request a new one", ErrorCode.OTP_EXPIRED)
        if right:
            # the right code, not consumed above: another request used it just now, or it expired
            raise OtpRejected("this OTP was already used; request a new one", ErrorCode.OTP_MISSING)
        return self._wrong_try(otp, otp["binding"] != binding)

    def give_back(self, grant: Grant) -> None:
        """The action this code authorised was refused before any money moved (the balance or a
        limit changed meanwhile), or needed no code (a replay): the code stays good for it, as if
        never typed."""
        self.store.otps.update_one(
            {"_id": f"{grant.username}:{grant.action}", "nonce": grant.nonce, "used": True},
            {"$set": {"used": False}, "$unset": {"used_at": "", "used_for": ""}},
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

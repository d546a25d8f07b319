"""Exactly-once money requests: the `Idempotency-Key` header.

The first request with a key reserves it (with a movement id chosen up front) and runs. A replay
with the same key and body gets the first answer; a different body is refused; a replay while the
first still runs gets 409. If the first request died (crash), its lease runs out and a replay takes
over: it resumes the same movement id, so the money moves at most once.

Errors raised before the request was authorised (bad OTP, validation) release the key, so the user
can correct the OTP and retry with the same key. Outcomes after authorisation are kept and replayed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from backend.config import Settings
from backend.db import Doc, Store, now_ms
from backend.errors import ErrorCode, IdempotencyConflict, InvalidRequest, WalletError
from backend.ledger import new_movement_id

logger = logging.getLogger(__name__)

Outcome = tuple[int, dict[str, Any]]
KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:.")


@dataclass
class Attempt:
    """One run of an idempotent request: the movement id to use and whether it was authorised."""

    record_id: str
    movement_id: str
    authorized: bool
    store: Store

    def mark_authorized(self) -> None:
        """Remember that the OTP was accepted, so a takeover after a crash does not need it again."""
        self.authorized = True
        self.store.idempotency.update_one({"_id": self.record_id}, {"$set": {"authorized": True}})


def request_hash(route: str, body: dict[str, Any]) -> str:
    """A fingerprint of what was asked (the OTP left out: retyping it is not a new request)."""
    material = {k: v for k, v in body.items() if k != "otp"}
    blob = json.dumps({"route": route, "body": material}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def check_key(key: str | None) -> str:
    """The Idempotency-Key header, validated."""
    if not key:
        raise InvalidRequest("an Idempotency-Key header is required", ErrorCode.IDEMPOTENCY_KEY_REQUIRED)
    if len(key) > 100 or not set(key) <= KEY_CHARS:
        raise InvalidRequest(
            "Idempotency-Key must be 1–100 of A–Z a–z 0–9 - _ : .", ErrorCode.IDEMPOTENCY_KEY_INVALID
        )
    return key


class Idempotency:
    """Reserves keys, replays outcomes, hands crashed requests over."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.lease_ms = settings.ledger_lease_seconds * 1000
        self.ttl_ms = settings.idempotency_ttl_hours * 3_600_000

    def run(self, owner: str, key: str, fingerprint: str, execute: Callable[[Attempt], Outcome]) -> Outcome:
        """Run `execute` once per (owner, key); replay its outcome for every repeat."""
        record_id = f"{owner}:{key}"
        attempt = self._reserve(record_id, fingerprint)
        if isinstance(attempt, tuple):
            return attempt
        try:
            outcome = execute(attempt)
        except WalletError as error:
            if not attempt.authorized:
                self.store.idempotency.delete_one({"_id": record_id, "state": "processing"})
                raise
            outcome = (error.status, error.body())
        self.store.idempotency.update_one(
            {"_id": record_id},
            {"$set": {"state": "completed", "status": outcome[0], "response": outcome[1]}},
        )
        return outcome

    def _reserve(self, record_id: str, fingerprint: str) -> Attempt | Outcome:
        """A fresh attempt, a takeover of a dead one, or the stored outcome to replay."""
        now = now_ms()
        doc: Doc = {
            "_id": record_id,
            "fingerprint": fingerprint,
            "state": "processing",
            "movement_id": new_movement_id(),
            "authorized": False,
            "lease_until": now + self.lease_ms,
            "created_at": now,
            "expires_at": now + self.ttl_ms,
        }
        try:
            self.store.idempotency.insert_one(doc)
            return Attempt(record_id, doc["movement_id"], False, self.store)
        except DuplicateKeyError:
            existing = self.store.idempotency.find_one({"_id": record_id})
        if existing is None:  # released between our insert and read: let the client retry
            raise IdempotencyConflict(
                "a request with this key just ended; retry", ErrorCode.IDEMPOTENCY_IN_FLIGHT
            )
        if existing["fingerprint"] != fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was used for a different request")
        if existing["state"] == "completed":
            return int(existing["status"]), existing["response"]
        return self._take_over(existing, now)

    def _take_over(self, existing: Doc, now: int) -> Attempt:
        """Resume a request whose worker died; 409 while its lease is still live."""
        if existing["lease_until"] > now:
            raise IdempotencyConflict(
                "a request with this Idempotency-Key is still being processed",
                ErrorCode.IDEMPOTENCY_IN_FLIGHT,
            )
        taken = self.store.idempotency.find_one_and_update(
            {"_id": existing["_id"], "state": "processing", "lease_until": existing["lease_until"]},
            {"$set": {"lease_until": now + self.lease_ms}},
            return_document=ReturnDocument.AFTER,
        )
        if taken is None:
            raise IdempotencyConflict(
                "a request with this Idempotency-Key is still being processed",
                ErrorCode.IDEMPOTENCY_IN_FLIGHT,
            )
        logger.info("resuming interrupted request %s", existing["_id"].split(":", 1)[0])
        return Attempt(existing["_id"], taken["movement_id"], bool(taken["authorized"]), self.store)

    def purge_expired(self) -> int:
        """Forget keys older than IDEMPOTENCY_TTL_HOURS."""
        return self.store.idempotency.delete_many({"expires_at": {"$lt": now_ms()}}).deleted_count

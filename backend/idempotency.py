"""Exactly-once requests: the `Idempotency-Key` header, and the protocol every keyed route follows.

The reservation is not a document of its own: the document a request makes carries its key
(a ledger record for money, a bill for a new bill; a unique index on `request` = "owner:key").
`Idempotency.run` drives one request through the same four steps:

1. **authorize** — check the OTP (or the admin's token). The code's consumption records the
   request it authorised, so a retry of that request (after a crash, or a second copy) is granted
   again without a new code. A refusal first looks for the request's document: a replay of a
   request that went through gets its first answer even though its code is spent.
2. **perform** — make the document carrying the key (journal the movement and run it). If the
   key is there already, that document is the request's, and nothing new is made.
3. **replay** — a document found by its key answers for it: the same body gets the same answer
   (an unfinished movement is driven to its end first: every ledger step is conditional, so that
   is safe beside a worker still running it); another body with the key is refused (409).
4. **give back** — a code that authorised nothing (refused before money moved, or a replay)
   stays good for its action.

Errors before the document exists (a wrong OTP, validation) leave nothing behind, so the user can
correct the OTP and retry with the same key. A movement rejected after it was journaled keeps its
key, and a replay tells the same reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from backend.db import Doc
from backend.errors import ErrorCode, IdempotencyConflict, InvalidRequest, WalletError
from backend.otp import Grant

KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_:.")
Answer = TypeVar("Answer")


@dataclass(frozen=True)
class Reservation:
    """A client's Idempotency-Key on a request: the record that carries it is that request's."""

    owner: str
    key: str
    fingerprint: str  # of what was asked: the same key with another body is refused

    @property
    def id(self) -> str:
        """The key as stored ("owner:key": keys are per user)."""
        return f"{self.owner}:{self.key}"


def request_hash(route: str, body: dict[str, Any]) -> str:
    """A fingerprint of what was asked (the OTP left out: retyping it is not a new request)."""
    material = {k: v for k, v in body.items() if k != "otp"}
    blob = json.dumps({"route": route, "body": material}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def reservation(owner: str, key: str, route: str, body: dict[str, Any]) -> Reservation:
    """The reservation of a keyed request: its owner, key and fingerprint."""
    return Reservation(owner, key, request_hash(route, body))


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
    """Runs a keyed request once; replays its answer for every repeat (see the module docstring)."""

    def __init__(self, give_back: Callable[[Grant], None]) -> None:
        self.give_back = give_back

    def run(
        self,
        reserved: Reservation,
        *,
        authorize: Callable[[], Grant | None],
        perform: Callable[[Grant | None], tuple[Doc, bool]],
        find: Callable[[str], Doc | None],
        answer: Callable[[Doc], Answer],
    ) -> Answer:
        """authorize → perform → answer, or the replay of the document already under the key.

        `perform(grant)` makes the document carrying the key: (it, True), or (the one already
        there, False); `answer(doc)` is the request's answer from its document (raising the
        error of a rejected movement), the same for the first call and every replay.
        """
        try:
            grant = authorize()
        except WalletError:
            existing = find(reserved.id)
            if existing is None:
                raise
            return self._replay(reserved, existing, answer)
        try:
            doc, fresh = perform(grant)
        except WalletError:
            self._give_back(grant)  # refused before money moved: the code stays good
            raise
        if fresh:
            return answer(doc)
        if grant is not None and not grant.again:
            self._give_back(grant)  # the request went through before: this code was not needed
        return self._replay(reserved, doc, answer)

    def _replay(self, reserved: Reservation, doc: Doc, answer: Callable[[Doc], Answer]) -> Answer:
        """The answer of the request that holds this key, if it is the same request."""
        if doc.get("fingerprint") != reserved.fingerprint:
            raise IdempotencyConflict("this Idempotency-Key was used for a different request")
        return answer(doc)

    def _give_back(self, grant: Grant | None) -> None:
        if grant is not None:
            self.give_back(grant)

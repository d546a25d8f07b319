"""Password hashing (Argon2id), access tokens (JWT, HS256 pinned), revocation and refresh tokens."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.config import Settings
from backend.db import Doc, Store, now_ms
from backend.errors import NotAuthenticated

logger = logging.getLogger(__name__)

REST_NOT_BEFORE = "tokens:rest_not_before"  # in `counters`, see Tokens.migrate_revocations
REVOCATIONS_MIGRATED = "migration:revocations"  # in `counters`: the move above was made
ALGORITHM = "HS256"  # pinned: decode() accepts nothing else, so alg=none and RS/HS confusion fail
_hasher = PasswordHasher()  # argon2-cffi's default type is Argon2id
# Argon2 is slow on purpose (~50 ms, 64 MiB): bound how many run at once so that a burst of
# sign-ins cannot take every worker thread and starve the money routes.
_argon2_slots = threading.BoundedSemaphore(2)
# verified against for unknown usernames, so both failures cost the same time
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An Argon2id hash of a password."""
    with _argon2_slots:
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one Argon2 verification."""
    try:
        with _argon2_slots:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def keyed_hash(settings: Settings, value: str) -> str:
    """HMAC-SHA256 of a short secret (OTP code, refresh token) under the server key."""
    return hmac.new(settings.signing_key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _digit_pad(settings: Settings, subject: str, length: int) -> list[int]:
    """A one-time pad of decimal digits for `subject` (HMAC-SHA256 as a PRF; each subject once)."""
    stream = hmac.new(settings.signing_key.encode(), f"pad:{subject}".encode(), hashlib.sha256).digest()
    if length > len(stream) // 4:
        raise ValueError("the pad covers at most 8 digits")
    # 4 bytes a digit: the modulo bias (2**32 % 10) is below one part in 10**8
    return [int.from_bytes(stream[i * 4 : i * 4 + 4], "big") % 10 for i in range(length)]


def seal_digits(settings: Settings, subject: str, digits: str) -> str:
    """An OTP as it may rest in the outbox: unreadable without the server key."""
    pad = _digit_pad(settings, subject, len(digits))
    return "".join(str((int(d) + p) % 10) for d, p in zip(digits, pad, strict=True))


def open_digits(settings: Settings, subject: str, sealed: str) -> str:
    """The OTP back from `seal_digits`, for the one message that delivers it."""
    pad = _digit_pad(settings, subject, len(sealed))
    return "".join(str((int(d) - p) % 10) for d, p in zip(sealed, pad, strict=True))


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says."""

    username: str
    jti: str
    expires_at: int  # epoch seconds
    issued_at: int  # epoch seconds
    sid: str | None = None  # the chat session it belongs to (bot logins)


class Tokens:
    """Access tokens (JWT), and the bot's chat sessions with their rotating refresh tokens.

    A chat's login is a *session*: `session:<sid>` in `tokens`, made by register/link. Its access
    tokens carry `sid`; its refresh token is good for ONE refresh, which hands out the next one
    (rotation). A refresh token used a second time means it was copied: the whole session is
    revoked and the chat must log in again (OAuth 2.0 Security BCP, reuse detection). Logout
    revokes the session, which ends every access token of it at once. A revocation is marked on
    the user's document, so the one read that finds a token's user also tells whether the token
    still counts; its record in `tokens` takes the mark off once every token it covered expired.
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.rest_not_before = 0  # epoch s: REST tokens issued earlier are refused (see migrate_revocations)

    def issue_access(self, username: str, sid: str | None = None) -> str:
        """A signed JWT for `username`, valid ACCESS_TOKEN_TTL_SECONDS (1 day), of session `sid`."""
        now = now_ms() // 1000
        claims: dict[str, object] = {
            "sub": username,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + self.settings.access_token_ttl_seconds,
            "typ": "access",
        }
        if sid is not None:
            claims["sid"] = sid
        return jwt.encode(claims, self.settings.signing_key, algorithm=ALGORITHM)

    def verify_access(self, token: str) -> TokenClaims:
        """The claims of a valid, unexpired access token (no I/O; `authenticate` checks revocation)."""
        try:
            claims = jwt.decode(
                token,
                self.settings.signing_key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "iat", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise NotAuthenticated("token expired; sign in again") from None
        except jwt.InvalidTokenError:
            raise NotAuthenticated("invalid token") from None
        if claims.get("typ") != "access" or not isinstance(claims["sub"], str):
            raise NotAuthenticated("invalid token")
        sid = claims.get("sid")
        return TokenClaims(
            username=claims["sub"],
            jti=str(claims["jti"]),
            expires_at=int(claims["exp"]),
            issued_at=int(claims["iat"]),
            sid=None if sid is None else str(sid),
        )

    def authenticate(self, token: str) -> tuple[TokenClaims, Doc]:
        """The claims of a valid, unrevoked access token and its user: ONE read of the store.

        Revocations live on the user's document (`revoked`: "session:<sid>" / "jti:<jti>"), so
        the read that finds the user also tells whether this token still counts.
        """
        claims = self.verify_access(token)
        user = self.store.users.find_one({"_id": claims.username})
        if user is None:
            raise NotAuthenticated("this account no longer exists")
        revoked = user.get("revoked", ())
        if claims.sid is not None and "session:" + claims.sid in revoked:
            raise NotAuthenticated("this chat's session has ended; log in again")
        if "jti:" + claims.jti in revoked or (claims.sid is None and claims.issued_at < self.rest_not_before):
            raise NotAuthenticated("token revoked; sign in again")
        return claims, user

    def revoke_access(self, claims: TokenClaims) -> None:
        """Refuse this token from now on (a session's token: the whole session)."""
        if claims.sid is not None:
            self.revoke_session(claims.sid)
            return
        self._revoke(claims.username, "jti:" + claims.jti, claims.expires_at * 1000)

    def _revoke(self, username: str, token_id: str, until_ms: int) -> None:
        """Mark a token (or a session) revoked on its user, and keep a record of it until no
        access token it covers can still be alive; `purge_expired` then takes the mark off."""
        self._mark(username, token_id)
        doc = {"_id": "revoked:" + token_id, "kind": "revoked", "username": username, "expires_at": until_ms}
        self.store.tokens.replace_one({"_id": doc["_id"]}, doc, upsert=True)

    def open_session(self, username: str, chat_id: int) -> tuple[str, str]:
        """A new chat session: (its id, its first refresh token)."""
        sid = secrets.token_hex(12)
        expires = now_ms() + self.settings.refresh_token_ttl_days * 86_400_000
        self.store.tokens.insert_one(
            {
                "_id": "session:" + sid,
                "kind": "session",
                "username": username,
                "chat_id": chat_id,
                "revoked": False,
                "expires_at": expires,
            }
        )
        return sid, self._issue_refresh(sid, username, chat_id)

    def _issue_refresh(self, sid: str, username: str, chat_id: int) -> str:
        """A refresh token of session `sid`, good for one refresh; stored only as a hash."""
        token = secrets.token_urlsafe(32)
        self.store.tokens.insert_one(
            {
                "_id": "refresh:" + keyed_hash(self.settings, token),
                "kind": "refresh",
                "sid": sid,
                "username": username,
                "chat_id": chat_id,
                "used": False,
                "expires_at": now_ms() + self.settings.refresh_token_ttl_days * 86_400_000,
            }
        )
        return token

    def rotate(self, token: str) -> tuple[Doc, str]:
        """Use a refresh token once: (its session's record, the next refresh token).
        A token already used revokes its whole session (it was copied), then NotAuthenticated."""
        key = "refresh:" + keyed_hash(self.settings, token)
        doc = self.store.tokens.find_one_and_update(
            {"_id": key, "used": False}, {"$set": {"used": True, "used_at": now_ms()}}
        )
        if doc is None:
            reused = self.store.tokens.find_one({"_id": key}, {"sid": 1, "username": 1})
            if reused is not None and reused.get("sid"):
                logger.warning(
                    "a refresh token was used twice: session revoked (username=%s)", reused.get("username")
                )
                self.revoke_session(str(reused["sid"]))
            raise NotAuthenticated("session ended; log in again")
        session = self.store.tokens.find_one({"_id": "session:" + str(doc.get("sid"))})
        if session is None or session.get("revoked") or doc["expires_at"] < now_ms():
            raise NotAuthenticated("session ended; log in again")
        return session, self._issue_refresh(str(doc["sid"]), doc["username"], doc["chat_id"])

    def end_session(self, token: str) -> Doc | None:
        """Logout with a refresh token: revoke its session; its record, when there was one."""
        doc = self.store.tokens.find_one({"_id": "refresh:" + keyed_hash(self.settings, token)})
        if doc is None or not doc.get("sid"):
            return None
        session = self.store.tokens.find_one({"_id": "session:" + str(doc["sid"])})
        self.revoke_session(str(doc["sid"]))
        return session

    def _mark(self, username: str, token_id: str) -> None:
        """The revocation on the user's document, once."""
        self.store.users.update_one(
            {"_id": username, "revoked": {"$nin": [token_id]}}, {"$push": {"revoked": token_id}}
        )

    def revoke_session(self, sid: str) -> None:
        """End a session: its access tokens fail at once, its refresh tokens are gone."""
        session = self.store.tokens.find_one({"_id": "session:" + sid}, {"username": 1})
        if session is not None:  # a live access token of it is at most ACCESS_TOKEN_TTL old
            until = now_ms() + self.settings.access_token_ttl_seconds * 1000
            self._revoke(str(session["username"]), "session:" + sid, until)
        self.store.tokens.update_one({"_id": "session:" + sid}, {"$set": {"revoked": True}})
        self.store.tokens.delete_many({"kind": "refresh", "sid": sid})

    def purge_expired(self) -> int:
        """Drop revocation and refresh records past their expiry (a revocation's mark on its user
        goes first: every token it covered has expired by then)."""
        now = now_ms()
        for doc in list(self.store.tokens.find({"expires_at": {"$lt": now}, "kind": "revoked"})):
            token_id = doc["_id"].removeprefix("revoked:")
            self.store.users.update_one({"_id": doc["username"]}, {"$pull": {"revoked": token_id}})
        return self.store.tokens.delete_many({"expires_at": {"$lt": now}}).deleted_count

    def migrate_revocations(self) -> int:
        """At start-up: revocations kept before they lived on the user's document are moved there
        once (a revoked session's user is known; a revoked REST token's is in its claims, which
        were not kept, so those end every REST token issued before the move: they sign in
        again); every start reads that cutoff, while it lasts."""
        moved = 0
        if self.store.counters.find_one({"_id": REVOCATIONS_MIGRATED}, {"_id": 1}) is None:
            for doc in list(self.store.tokens.find({"kind": "session", "revoked": True})):
                self._mark(doc["username"], doc["_id"])
                moved += 1
            old = list(self.store.tokens.find({"kind": "revoked"}, {"username": 1, "expires_at": 1}))
            orphans = [doc for doc in old if "username" not in doc]
            if orphans:
                until = max(int(doc["expires_at"]) for doc in orphans)
                cutoff = {"_id": REST_NOT_BEFORE, "at": now_ms(), "expires_at": until}
                self.store.counters.replace_one({"_id": REST_NOT_BEFORE}, cutoff, upsert=True)
                self.store.tokens.delete_many({"_id": {"$in": [doc["_id"] for doc in orphans]}})
                moved += len(orphans)
            flag = {"_id": REVOCATIONS_MIGRATED}
            self.store.counters.replace_one(flag, flag, upsert=True)
        cutoff_doc = self.store.counters.find_one({"_id": REST_NOT_BEFORE})
        if cutoff_doc is not None and int(cutoff_doc["expires_at"]) > now_ms():
            self.rest_not_before = int(cutoff_doc["at"]) // 1000
        return moved

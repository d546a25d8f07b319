"""Accounts: sign-up, sign-in (with lock-out), profiles, Telegram links, freezing, the first admin."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from backend.config import Settings
from backend.db import Doc, Store, now_ms
from backend.errors import ErrorCode, NotAuthenticated, NotFound, TooManyRequests, UsernameTaken
from backend.ledger import UNVERIFIED, limit_fields
from backend.ratelimit import RateLimiter
from backend.schemas import USERNAME_RE, UserCreate
from backend.security import hash_password, verify_password

logger = logging.getLogger(__name__)

IP_FAILURE_FACTOR = 4  # one address may fail this many times more than one username


class Accounts:
    """Users and their credentials (balances belong to the ledger)."""

    def __init__(self, store: Store, settings: Settings, limiter: RateLimiter) -> None:
        self.store = store
        self.settings = settings
        self.limiter = limiter

    def signup(self, form: UserCreate, *, role: str = "user") -> Doc:
        """Create an account with a zero balance; UsernameTaken when the name exists."""
        now = now_ms()
        user: Doc = {
            "_id": form.username,
            "name": form.name,
            "email": form.email,
            "contact": form.contact,
            "password_hash": hash_password(form.password),
            "role": role,
            "frozen": False,
            "lang": "id",
            "balance": 0,
            "outbox": [],
            "inbox": [],
            "in_flight": 0,
            "day": 0,
            "day_out": 0,
            **limit_fields(UNVERIFIED, self.settings),
            "created_at": now,
            "updated_at": now,
        }
        try:
            self.store.users.insert_one(user)
        except DuplicateKeyError:
            raise UsernameTaken("that username is taken") from None
        logger.info("account created username=%s", form.username)
        return user

    def authenticate(self, username: str, password: str, client: str) -> Doc:
        """The user whose password this is; the same 401 for any wrong pair; 429 when locked.

        Each attempt is counted atomically *before* the password is checked (and taken back when
        it was right), so concurrent guesses can never get more checks than the limit. `client`
        names who is trying: an address for the REST API, the Telegram user for the bot.
        """
        key = username.lower() if USERNAME_RE.match(username) else "?invalid"
        window = self.settings.signin_lock_seconds
        limit = self.settings.signin_max_failures
        counters = ("signin:u:" + key, "signin:c:" + client)
        by_user = self.limiter.hit(counters[0], window)
        by_client = self.limiter.hit(counters[1], window)
        if by_user > limit or by_client > limit * IP_FAILURE_FACTOR:
            retry = self.limiter.retry_after(window)
            raise TooManyRequests(
                f"too many failed sign-ins; try again in {retry} s", ErrorCode.SIGNIN_LOCKED
            )
        user = self.store.users.find_one({"_id": key})
        if not verify_password(user["password_hash"] if user else None, password) or user is None:
            raise NotAuthenticated("wrong username or password", ErrorCode.INVALID_CREDENTIALS)
        for counter in counters:  # a right password is not a failure
            self.limiter.hit(counter, window, -1)
        return user

    def get(self, username: str) -> Doc:
        """One user, or NotFound."""
        user = self.store.users.find_one({"_id": username.lower()})
        if user is None:
            raise NotFound(f"user {username!r} not found", ErrorCode.USER_NOT_FOUND)
        return user

    def set_lang(self, username: str, lang: str) -> None:
        """Language of the messages the backend sends this user."""
        self.store.users.update_one({"_id": username}, {"$set": {"lang": lang, "updated_at": now_ms()}})

    def link_chat(self, username: str, chat_id: int, lang: str) -> None:
        """Bind a Telegram chat to this account (moving it away from any other account)."""
        now = now_ms()
        previous = self.store.users.find_one({"telegram_chat_id": chat_id}, {"_id": 1})
        if previous is not None and previous["_id"] != username:
            self.store.users.update_one(
                {"_id": previous["_id"], "telegram_chat_id": chat_id},
                {"$unset": {"telegram_chat_id": ""}, "$set": {"updated_at": now}},
            )
        self.store.users.update_one(
            {"_id": username},
            {"$set": {"telegram_chat_id": chat_id, "lang": lang, "updated_at": now}},
        )

    def unlink_chat(self, username: str, chat_id: int) -> None:
        """Forget the chat of this account, if it is still that one."""
        self.store.users.update_one(
            {"_id": username, "telegram_chat_id": chat_id},
            {"$unset": {"telegram_chat_id": ""}, "$set": {"updated_at": now_ms()}},
        )

    def set_frozen(self, username: str, frozen: bool) -> Doc:
        """Freeze (no money moves out) or unfreeze an account."""
        result = self.store.users.update_one(
            {"_id": username.lower()}, {"$set": {"frozen": frozen, "updated_at": now_ms()}}
        )
        if result.matched_count == 0:
            raise NotFound(f"user {username!r} not found", ErrorCode.USER_NOT_FOUND)
        return self.get(username)

    def search(self, prefix: str | None, *, limit: int, cursor: str | None) -> tuple[list[Doc], str | None]:
        """Users by username (optionally starting with `prefix`), in order, one page."""
        query: dict[str, Any] = {}
        bounds: dict[str, str] = {}
        if prefix:
            bounds = {"$gte": prefix.lower(), "$lt": prefix.lower() + "\x7f"}
        if cursor:
            bounds["$gt"] = cursor
        if bounds:
            query["_id"] = bounds
        page = list(self.store.users.find(query).sort("_id", ASCENDING).limit(limit + 1))
        more = len(page) > limit
        page = page[:limit]
        return page, (page[-1]["_id"] if more and page else None)

    def ensure_admin(self) -> None:
        """Create the first admin from ADMIN_USERNAME/ADMIN_PASSWORD when it does not exist."""
        name, password = self.settings.admin_username, self.settings.admin_password
        if not password and self.settings.env == "production":
            logger.warning("ADMIN_PASSWORD is unset: no admin account is created")
            return
        if not password:
            password = self._generated_admin_password()
        if self.store.users.find_one({"_id": name.lower()}, {"_id": 1}) is not None:
            self.store.users.update_one({"_id": name.lower()}, {"$set": {"role": "admin"}})
            return
        form = UserCreate(username=name, password=password, name="Administrator")
        try:
            self.signup(form, role="admin")
        except UsernameTaken:  # another process created it first
            return
        logger.info("admin account %s created", name)

    def _generated_admin_password(self) -> str:
        """Development without ADMIN_PASSWORD: a random one, kept in DATA_DIR/admin_password."""
        path = self.settings.data_dir / "admin_password"
        if not path.exists():
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(12))
            path.chmod(0o600)
            logger.warning("ADMIN_PASSWORD is unset: the admin's password was generated into %s", path)
        return path.read_text().strip()

"""BackendClient: the bot's only way to the backend, with typed errors.

    BackendError            the backend refused (4xx); `code` maps to a localized text
    └── NotLoggedIn         the chat has no session, or its refresh token was refused
    BackendUnavailable      connection refused, timeout, or a 5xx to a read — nothing was charged
    └── BackendUnsure       a money-moving request was sent but never answered, or got a 5xx

A chat's session is a plain dict kept in `chat_data` (so PicklePersistence keeps it across
restarts): {"access_token", "refresh_token", "username"}. The client renews the access token
in place when the backend says `token_invalid`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

logger = logging.getLogger(__name__)

Session = dict[str, str]
DOCUMENT_TIMEOUT = 120.0  # seconds a rendered document (statement, chart) may take
JSON = Any


class BackendError(Exception):
    """The backend answered with an error body {"detail", "code"}."""

    def __init__(self, status: int, code: str, detail: str = "", payee: str | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.payee = payee  # the account a receive_* refusal is about


class NotLoggedIn(BackendError):
    """No session in this chat, or the backend refused its refresh token."""

    def __init__(self) -> None:
        super().__init__(401, "token_invalid", "not logged in")


class BackendUnavailable(Exception):
    """The backend could not be reached or failed (5xx); nothing was changed."""


class BackendUnsure(BackendUnavailable):
    """A money-moving request may have reached the backend, but no answer came back."""


def _code_of(response: httpx.Response) -> str | None:
    """The `code` of an error body, if the body is one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body.get("code")) if isinstance(body, dict) and body.get("code") else None


def _path(*parts: str) -> str:
    """Join URL path segments, escaping user-typed ones."""
    return "/" + "/".join(quote(part, safe="") for part in parts)


class BackendClient:
    """Thin async wrapper over the backend's REST API (see the contract in the README)."""

    def __init__(
        self,
        base_url: str,
        bot_secret: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)
        self._bot_headers = {"X-Bot-Secret": bot_secret}
        self.on_renew: Callable[[], Awaitable[None]] | None = None  # called when a session rotated

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # -- plumbing ---------------------------------------------------------------------------
    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange; transport failures become BackendUnavailable."""
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.ConnectError as exc:
            raise BackendUnavailable(f"{method} {path}: cannot connect") from exc
        except httpx.TransportError as exc:
            raise BackendUnsure(f"{method} {path}: {type(exc).__name__}") from exc

    @staticmethod
    def _decode(response: httpx.Response, *, raw: bool = False) -> JSON:
        """The JSON body of a success (raw: the response itself, for files), or the matching
        exception."""
        if response.status_code == 503 and _code_of(response) == "delivery_unavailable":
            # refused before anything happened: no code was made, the user can be told why
            raise BackendError(503, "delivery_unavailable", "codes cannot be delivered right now")
        if response.status_code >= 500:
            # the request reached the backend: a money request may have moved money before failing
            raise BackendUnsure(f"backend answered {response.status_code}")
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            code, detail, payee = body.get("code"), body.get("detail"), body.get("payee")
            raise BackendError(
                response.status_code,
                str(code or "unknown"),
                str(detail or ""),
                payee if isinstance(payee, str) else None,
            )
        if raw:
            return response
        return response.json() if response.content else None

    async def _call(
        self, method: str, path: str, *, idempotent: bool = False, raw: bool = False, **kwargs: Any
    ) -> JSON:
        """Send and decode. Only a money-moving (idempotent) request can end "unsure": it is
        retried once with the same Idempotency-Key, so the backend applies it at most once."""
        try:
            return self._decode(await self._send(method, path, **kwargs), raw=raw)
        except BackendUnsure as exc:
            if not idempotent:
                raise BackendUnavailable(str(exc)) from exc
            first_unsure = True
        except BackendUnavailable:
            if not idempotent:
                raise
            first_unsure = False
        logger.info("retrying %s %s once with the same Idempotency-Key", method, path)
        try:
            return self._decode(await self._send(method, path, **kwargs), raw=raw)
        except BackendUnavailable as exc:
            if first_unsure and not isinstance(exc, BackendUnsure):
                raise BackendUnsure(str(exc)) from exc
            raise

    async def _bot(self, method: str, path: str, body: dict[str, Any]) -> JSON:
        """A bot-only route, authenticated by the shared secret."""
        return await self._call(method, path, json=body, headers=self._bot_headers)

    async def _user(self, session: Session | None, method: str, path: str, **kwargs: Any) -> JSON:
        """A user route with the chat's token; renews the token once on `token_invalid`."""
        if not session:
            raise NotLoggedIn()
        headers = dict(kwargs.pop("headers", {}))
        try:
            headers["Authorization"] = f"Bearer {session['access_token']}"
            return await self._call(method, path, headers=headers, **kwargs)
        except BackendError as exc:
            if exc.status != 401:
                raise
        await self._renew(session)
        headers["Authorization"] = f"Bearer {session['access_token']}"
        return await self._call(method, path, headers=headers, **kwargs)

    async def _renew(self, session: Session) -> None:
        """Exchange the refresh token for a new access token, in place."""
        try:
            fresh = await self.refresh(session["refresh_token"])
        except BackendError as exc:
            if exc.status == 401:
                raise NotLoggedIn() from exc
            raise
        session["access_token"] = fresh["accessToken"]
        session["refresh_token"] = fresh["refreshToken"]  # the old one is spent: rotation
        if self.on_renew is not None:  # on disk at once: after a restart the old one would end it
            await self.on_renew()

    # -- bot-only routes ----------------------------------------------------------------------
    async def register(self, **body: Any) -> JSON:
        """Sign up and link the chat: chat_id, username, password, name, email, contact, lang."""
        return await self._bot("POST", "/api/bot/register", body)

    async def link(self, **body: Any) -> JSON:
        """Log in and link the chat: chat_id, username, password, lang."""
        return await self._bot("POST", "/api/bot/link", body)

    async def refresh(self, refresh_token: str) -> JSON:
        """A new access token for a refresh token."""
        return await self._bot("POST", "/api/bot/refresh", {"refresh_token": refresh_token})

    async def logout(self, refresh_token: str) -> None:
        """Revoke the refresh token and unlink the chat."""
        await self._bot("POST", "/api/bot/logout", {"refresh_token": refresh_token})

    async def queue_reminders(self, interval_seconds: int, limit: int) -> int:
        """Have the backend queue reminders of open bills due one; how many bills it claimed."""
        body = {"interval_seconds": interval_seconds, "limit": limit}
        return int((await self._bot("POST", "/api/bot/reminders/queue", body))["claimed"])

    async def claim_notices(
        self, *, limit: int, wait_seconds: float, lowest_priority: int
    ) -> list[dict[str, Any]]:
        """Due notices from the outbox, leased to this bot (a long poll of up to `wait_seconds`)."""
        body = {"limit": limit, "wait_seconds": wait_seconds, "lowest_priority": lowest_priority}
        timeout = self._http.timeout.read or 10.0
        answer = await self._call(
            "POST",
            "/api/bot/notices/claim",
            json=body,
            headers=self._bot_headers,
            timeout=wait_seconds + timeout,
        )
        return list(answer["items"])

    async def ack_notices(self, outcomes: list[dict[str, Any]]) -> int:
        """Tell the outbox what became of claimed notices; how many were recorded."""
        return int((await self._bot("POST", "/api/bot/notices/ack", {"items": outcomes}))["recorded"])

    # -- user routes ----------------------------------------------------------------------------
    async def me(self, session: Session | None) -> JSON:
        """The logged-in user's profile and balance."""
        return await self._user(session, "GET", "/api/user")

    async def set_lang(self, session: Session | None, lang: str) -> None:
        """Tell the backend which language its DMs should use."""
        await self._user(session, "PUT", "/api/user/lang", json={"lang": lang})

    async def find_user(self, session: Session | None, username: str) -> JSON:
        """{username, name} of another user; BackendError user_not_found."""
        return await self._user(session, "GET", _path("api", "user", username))

    async def history(
        self, session: Session, limit: int, cursor: str | None, filters: dict[str, str] | None = None
    ) -> JSON:
        """One page of transactions, newest first: {items, next_cursor}; `filters`: month
        (this|last|YYYY-MM), kind, counterparty."""
        params: dict[str, Any] = {"limit": limit, **(filters or {})}
        if cursor:
            params["cursor"] = cursor
        path = _path("api", "user", "transfer", session["username"])
        return await self._user(session, "GET", path, params=params)

    async def document(
        self, session: Session, what: str, lang: str, **params: str
    ) -> tuple[bytes, Mapping[str, str]]:
        """A rendered document (`what`: "statement" with month and format pdf|csv, or "insights"
        as png): its bytes and the response headers (a statement's figures are X-Statement-*)."""
        path = _path("api", "user", what)
        # a month of many thousand movements takes the backend seconds to draw: wait for it longer
        wait = max(DOCUMENT_TIMEOUT, self._http.timeout.read or 0.0)
        response = await self._user(
            session, "GET", path, params={**params, "lang": lang}, raw=True, timeout=wait
        )
        return response.content, response.headers

    async def insights(self, session: Session, by: str = "counterparty") -> JSON:
        """Six months in and out, and where this month's money went (by counterparty or kind)."""
        return await self._user(session, "GET", "/api/user/insights", params={"format": "json", "by": by})

    async def request_otp(self, session: Session | None, **body: Any) -> JSON:
        """Ask the backend to DM a one-time password bound to this action."""
        return await self._user(session, "POST", "/api/processing", json=body)

    async def transfer(self, session: Session | None, key: str, **body: Any) -> JSON:
        """Move money (idempotent under `key`)."""
        headers = {"Idempotency-Key": key}
        return await self._user(session, "POST", "/api/transfer", json=body, headers=headers, idempotent=True)

    async def create_bill(self, session: Session | None, key: str, **body: Any) -> JSON:
        """Issue a bill (idempotent under `key`)."""
        headers = {"Idempotency-Key": key}
        return await self._user(session, "POST", "/api/bill", json=body, headers=headers, idempotent=True)

    async def get_bill(self, session: Session | None, code: str) -> JSON:
        """One bill the user issued or must pay; BackendError bill_not_found."""
        return await self._user(session, "GET", _path("api", "bill", "code", code))

    async def bills_to_pay(self, session: Session) -> list[dict[str, Any]]:
        """Open bills the user must pay."""
        return (await self._user(session, "GET", _path("api", "bill", session["username"])))["items"]

    async def bills_issued(self, session: Session) -> list[dict[str, Any]]:
        """Bills the user issued, newest first."""
        path = _path("api", "bill", session["username"], "issued")
        return (await self._user(session, "GET", path))["items"]

    async def pay_bill(self, session: Session | None, code: str, key: str, otp: str) -> JSON:
        """Pay a bill (idempotent under `key`): {bill, payment_id, balance}."""
        return await self._user(
            session,
            "POST",
            _path("api", "bill", code, "pay"),
            json={"otp": otp},
            headers={"Idempotency-Key": key},
            idempotent=True,
        )

    async def decline_bill(self, session: Session | None, code: str) -> JSON:
        """The payer declines a bill."""
        return await self._user(session, "POST", _path("api", "bill", code, "decline"))

    async def cancel_bill(self, session: Session | None, code: str) -> JSON:
        """The issuer cancels an open bill."""
        return await self._user(session, "DELETE", _path("api", "bill", code))

    # -- splits, dues and pay-me requests ----------------------------------------------------------
    async def create_split(self, session: Session | None, key: str, **body: Any) -> JSON:
        """Start a split, dues or a pay-me request (idempotent under `key`): its view."""
        headers = {"Idempotency-Key": key}
        return await self._user(session, "POST", "/api/splits", json=body, headers=headers, idempotent=True)

    async def get_split(self, session: Session | None, split_id: str) -> JSON:
        """One split as this user sees it (with `my_bill`); BackendError split_not_found."""
        return await self._user(session, "GET", _path("api", "splits", split_id))

    async def join_split(self, session: Session | None, split_id: str) -> JSON:
        """Join a split that is gathering members."""
        return await self._user(session, "POST", _path("api", "splits", split_id, "join"))

    async def preview_shares(
        self, session: Session | None, split_id: str, shares: dict[str, int] | None
    ) -> JSON:
        """What Bill everyone would bill: {people, billed_total, billed_count}."""
        path = _path("api", "splits", split_id, "shares")
        return await self._user(session, "POST", path, json={"shares": shares})

    async def bill_split(
        self, session: Session | None, split_id: str, key: str, otp: str, shares: dict[str, int] | None
    ) -> JSON:
        """Bill every share (idempotent under `key`): the split's view."""
        return await self._user(
            session,
            "POST",
            _path("api", "splits", split_id, "bill"),
            json={"otp": otp, "shares": shares},
            headers={"Idempotency-Key": key},
            idempotent=True,
        )

    async def cancel_split(self, session: Session | None, split_id: str) -> JSON:
        """The organiser cancels a split (or stops dues)."""
        return await self._user(session, "POST", _path("api", "splits", split_id, "cancel"))

    async def claim_request(self, session: Session | None, split_id: str) -> JSON:
        """This user's one bill for a pay-me request (made on the first call)."""
        return await self._user(session, "POST", _path("api", "splits", split_id, "claim"))

    async def run_dues(self, limit: int) -> int:
        """Have the backend make the dues rounds that have come; how many it made."""
        return int((await self._bot("POST", "/api/bot/dues/run", {"limit": limit}))["rounds"])

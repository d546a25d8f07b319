"""A local fake of the Telegram Bot API, for end-to-end tests of the bot (and of the backend's
OTP DMs and notices, which go to the same `{url}/bot{token}/sendMessage`).

    server = FakeTelegram(); server.start()           # uvicorn in a thread, 127.0.0.1:<free port>
    server.url                                         # TELEGRAM_API_URL for the bot and backend
    server.send_text(chat_id, "/start")                # a user types
    sent = await server.next_message(chat_id)          # the bot's next message to that chat
    server.press(chat_id, sent.data_of("Confirm"))     # the user presses an inline button
    server.press(chat_id, data, copies=2)              # Telegram delivers that update twice
    server.block(chat_id)                              # sends, edits, deletes → 403 Forbidden
    server.vanish(chat_id)                             # ... → 400 Bad Request: chat not found
    server.refusals_for(chat_id)                       # how many requests to it were refused
    print(server.transcript(chat_id))                  # the chat as its user saw it

Implements what PTB 22 calls: getMe, getUpdates (long polling, offset semantics), setWebhook,
deleteWebhook, getWebhookInfo, setMyCommands, sendMessage, sendPhoto (multipart), editMessageText,
editMessageReplyMarkup, deleteMessage, answerCallbackQuery, close/logOut. Any other method is
logged, recorded in `unknown_methods`, and answered `ok: true`.

Like the real server it refuses (400) a second answer to one callback query ("query is too old
... or query ID is invalid") and an edit that changes nothing ("message is not modified").

Rate limits (on by default; `FakeTelegram(limits=None)` turns them off, `Limits(...)` or
`Limits.scaled(0.1)` changes them). A *counted* request is any method whose params carry `chat_id`
except the get* methods: sends, edits, deletes, sendChatAction, copyMessage... Only requests that
were answered `ok` count (a refused one was not delivered). In any sliding window:

    overall, per bot token        30 per 1 s
    per private chat (id > 0)     4 per 1 s, 13 per 10 s, 63 per 60 s  (~1/s, bursts of 4)
    per group (id < 0 or @name)   20 per 60 s

Past a limit: HTTP 429 `{"ok": false, "error_code": 429, "description": "Too Many Requests: retry
after N", "parameters": {"retry_after": N}}`, N = whole seconds (at least 1) until that window
admits one more; each is recorded in `limit_refusals` (LimitRefusal: at, method, chat_id, scope
"overall" / "chat" / "group", retry_after), so a test can assert `not server.limit_refusals`.
A request is stamped with `time.monotonic()` when it arrives; check-and-record is atomic.

Fault injection, recorded in `injected` (Injected: at, method, chat_id, fault), never in
`limit_refusals`:

    fault = server.inject("429", rate=0.3, seconds=5, retry_after=2)   # → a Fault; fault.cancel()
    with server.inject("502", rate=1.0): ...                           # or a context manager
    server.inject("timeout", delay=12)   # hold the request, then 504, not delivered
    server.inject("slow", delay=0.5)     # wait, then process normally (limits apply after the wait)

Faults: "429" (with `retry_after`), "500"/"502"/"503"/"504" (not delivered), "timeout", "slow".
`rate` is a probability per request drawn from `random.Random(seed)` (`FakeTelegram(seed=...)`);
`seconds` bounds how long the fault lasts; `chats` restricts it to some chat ids. A fault applies
to counted requests unless `methods` names the methods it applies to (e.g. ["getUpdates"]).

Every request answered with an error and carrying a `chat_id` is in `refusals` (Refusal: at,
method, chat_id, code, description); `refusals_for(chat_id, code=None)` counts them.

What was delivered, with its time: `Sent.at` (monotonic time of delivery); `deliveries()` is every
delivered message of every chat in time order; `counted_requests` every admitted counted request
(edits and deletes too); `max_in_window(seconds, chat_id=None, requests=False)` the most messages
(or counted requests) in any sliding window, e.g. `assert server.max_in_window(60, group) <= 20`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import contextvars
import email.parser
import email.policy
import itertools
import json
import logging
import math
import random
import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

logger = logging.getLogger(__name__)

BOT_ID = 777000111
BOT_USERNAME = "MataDuitanTestBot"
JSON_FIELDS = {
    "reply_markup",
    "commands",
    "allowed_updates",
    "entities",
    "caption_entities",
    "scope",
    "link_preview_options",
    "reply_parameters",
}
INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "user_id"}
OTP = re.compile(r"(?<!\d)(\d{6})(?!\d)")
SERVER_ERRORS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
FAULTS = ("429", "timeout", "slow", *(str(code) for code in SERVER_ERRORS))
Windows = tuple[tuple[float, int], ...]  # ((seconds, at most this many requests), ...)

# the time the request being handled was admitted (Sent.at of what it delivers)
_request_time: contextvars.ContextVar[float | None] = contextvars.ContextVar("request_time", default=None)


class TelegramFakeTimeout(AssertionError):
    """A wait helper gave up: the bot did not do what the test expected in time."""


@dataclass(frozen=True)
class Limits:
    """Telegram's sending limits as sliding windows: (seconds, at most this many counted requests).

    `overall` is per bot token (all chats), `private` per private chat (chat_id > 0), `group` per
    group (chat_id < 0, or an @username)."""

    overall: Windows = ((1.0, 30),)
    private: Windows = ((1.0, 4), (10.0, 13), (60.0, 63))
    group: Windows = ((60.0, 20),)

    def scaled(self, factor: float) -> Limits:
        """The same counts in windows `factor` times as long (0.1: a minute lasts 6 s)."""

        def scale(windows: Windows) -> Windows:
            return tuple((seconds * factor, most) for seconds, most in windows)

        return replace(
            self, overall=scale(self.overall), private=scale(self.private), group=scale(self.group)
        )

    @property
    def longest(self) -> float:
        """The longest window (how long a request's stamp must be kept)."""
        return max(seconds for seconds, _ in (*self.overall, *self.private, *self.group))


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class LimitRefusal:
    """A counted request refused with 429 because a rate limit was reached."""

    at: float  # time.monotonic() when the request arrived
    method: str
    chat_id: int | str
    scope: str  # "overall", "chat" or "group"
    retry_after: int


@dataclass(frozen=True)
class Injected:
    """A request an injected fault acted on."""

    at: float
    method: str
    chat_id: int | str | None
    fault: str  # "429", "502", "timeout", "slow"...


@dataclass(frozen=True)
class Refusal:
    """A request with a chat_id that was answered with an error (for whatever reason)."""

    at: float
    method: str
    chat_id: int | str
    code: int
    description: str


@dataclass(frozen=True)
class Counted:
    """A counted request (send, edit, delete, chat action...) that was admitted and answered ok."""

    at: float
    method: str
    chat_id: int | str


@dataclass(eq=False)
class Fault:
    """An injected fault (made by FakeTelegram.inject); cancel() it, or use it as a context manager."""

    kind: str
    rate: float
    until: float | None  # time.monotonic() after which it no longer applies
    retry_after: int
    delay: float
    methods: frozenset[str] | None  # lowercase method names; None: every counted request
    chats: frozenset[int | str] | None
    server: FakeTelegram | None = field(default=None, repr=False)
    hits: int = 0  # requests it acted on
    cancelled: bool = False

    def applies(self, method: str, chat_id: Any, counted: bool, now: float) -> bool:
        """Whether this fault is in force for this request (before the random draw)."""
        if self.cancelled or (self.until is not None and now >= self.until):
            return False
        if self.methods is None and not counted:
            return False
        if self.methods is not None and method.lower() not in self.methods:
            return False
        return self.chats is None or chat_id in self.chats

    def cancel(self) -> None:
        """Stop injecting this fault."""
        self.cancelled = True
        if self.server is not None:
            with self.server._cond:
                if self in self.server._faults:
                    self.server._faults.remove(self)

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


@dataclass
class Sent:
    """A message the bot (or the backend, with the same token) sent to a chat."""

    chat_id: int
    message_id: int
    method: str
    text: str | None = None
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    photo: bytes | None = None
    params: dict[str, Any] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)
    at: float = 0.0  # time.monotonic() when it was delivered

    @property
    def body(self) -> str:
        """Text or caption."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def data_of(self, label_part: str) -> str:
        """The callback data of the first button whose label contains `label_part`."""
        for label, data in self.buttons:
            if label_part.lower() in label.lower():
                return data
        raise AssertionError(f"no button {label_part!r} in {self.buttons}")

    def otp(self) -> str | None:
        """The 6-digit code in the text, if any."""
        match = OTP.search(self.body)
        return match.group(1) if match else None


@dataclass
class Chat:
    """One chat between a user and the bot (private; a group when chat_id < 0)."""

    chat_id: int
    first_name: str
    language_code: str
    blocked: bool = False  # the user blocked the bot: 403
    vanished: bool = False  # the chat is gone (deleted account, bot removed): 400 chat not found
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # message_id → JSON
    sent: list[Sent] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    read: int = 0  # index in `sent` of the next message next_message() returns
    log: list[tuple[str, str]] = field(default_factory=list)  # (who, what), in order: transcript()
    message_ids: itertools.count = field(default_factory=lambda: itertools.count(1))


class FakeTelegram:
    """The fake server and its test helpers (thread-safe: the server runs in its own thread)."""

    def __init__(
        self, token: str = "123456:TEST-TOKEN", *, limits: Limits | None = DEFAULT_LIMITS, seed: int = 0
    ) -> None:
        self.token = token
        self.limits = limits  # None: no rate limits
        self.limit_refusals: list[LimitRefusal] = []
        self.injected: list[Injected] = []
        self.refusals: list[Refusal] = []
        self.counted_requests: list[Counted] = []
        self._stamps: dict[tuple[str, Any], list[float]] = {}  # (token, chat_id or "") → sorted times
        self._faults: list[Fault] = []
        self._random = random.Random(seed)
        self.chats: dict[int, Chat] = {}
        self.commands: dict[str, Any] = {}
        self.answered: list[dict[str, Any]] = []
        self.refused_answers: list[dict[str, Any]] = []  # second answers to one callback query
        self.unknown_methods: list[str] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._updates: dict[str, list[dict[str, Any]]] = {}
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._cond = threading.Condition()
        self._closing = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """TELEGRAM_API_URL for whoever talks to this fake."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTelegram:
        """Serve on 127.0.0.1:<free port> in a daemon thread; return once it accepts requests."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.asgi_app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Telegram server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Wake long polls and stop the server."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def asgi_app(self) -> Starlette:
        """The Starlette app: every Bot API method under /bot<token>/<method>."""
        return Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])])

    # -- chats ------------------------------------------------------------------------------------
    def chat(self, chat_id: int, first_name: str = "Tester", language_code: str = "en") -> Chat:
        """The chat with this id (created on first use)."""
        with self._cond:
            if chat_id not in self.chats:
                self.chats[chat_id] = Chat(chat_id, first_name, language_code)
            return self.chats[chat_id]

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends, edits and deletes fail with 403."""
        self.chat(chat_id).blocked = blocked

    def vanish(self, chat_id: int, vanished: bool = True) -> None:
        """The chat is gone (account deleted, bot removed from the group): sends, edits and
        deletes fail with 400 "Bad Request: chat not found"."""
        self.chat(chat_id).vanished = vanished

    def _dead(self, chat_id: Any) -> JSONResponse | None:
        """The refusal of any request to a vanished or blocked chat, else None."""
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is not None and chat.vanished:
            return _error(400, "Bad Request: chat not found")
        if chat is not None and chat.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        return None

    # -- rate limits and faults -------------------------------------------------------------------
    def inject(
        self,
        fault: str | int,
        rate: float = 1.0,
        seconds: float | None = None,
        *,
        retry_after: int = 1,
        delay: float | None = None,
        methods: Iterable[str] | None = None,
        chats: Iterable[int | str] | None = None,
    ) -> Fault:
        """From now on (for `seconds`, or until cancelled) answer a request with `fault` with
        probability `rate`: "429" (retry after `retry_after`), "500"/"502"/"503"/"504", "timeout"
        (hold it `delay` s, default 12, then 504) or "slow" (wait `delay` s, default 1, then
        serve it). Applies to counted requests, or to exactly `methods` when given; only to
        `chats` when given. Faults act in the order injected (a "slow" one lets later ones act)."""
        kind = str(fault).lower()
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: one of {FAULTS}")
        if delay is None:
            delay = 12.0 if kind == "timeout" else 1.0
        injected = Fault(
            kind=kind,
            rate=rate,
            until=None if seconds is None else time.monotonic() + seconds,
            retry_after=retry_after,
            delay=delay,
            methods=None if methods is None else frozenset(m.lower() for m in methods),
            chats=None if chats is None else frozenset(chats),
            server=self,
        )
        with self._cond:
            self._faults.append(injected)
        return injected

    def clear_faults(self) -> None:
        """Cancel every injected fault."""
        with self._cond:
            faults = list(self._faults)
        for fault in faults:
            fault.cancel()

    def reset_limits(self) -> None:
        """Forget every counted request, so every window starts empty."""
        with self._cond:
            self._stamps.clear()

    def _firing(self, method: str, chat_id: Any, counted: bool, now: float) -> list[Fault]:
        """The injected faults that act on this request (drawn now, in injection order)."""
        with self._cond:
            firing = []
            for fault in self._faults:
                if not fault.applies(method, chat_id, counted, now):
                    continue
                if fault.rate >= 1.0 or self._random.random() < fault.rate:
                    fault.hits += 1
                    firing.append(fault)
                    self.injected.append(Injected(now, method, chat_id, fault.kind))
            return firing

    def _buckets(self, token: str, chat_id: Any) -> list[tuple[str, tuple[str, Any], Windows]]:
        """(scope, key of its stamps, windows) of every limit a counted request is subject to."""
        assert self.limits is not None
        group = not isinstance(chat_id, int) or chat_id < 0
        return [
            ("overall", (token, ""), self.limits.overall),
            ("group", (token, chat_id), self.limits.group)
            if group
            else ("chat", (token, chat_id), self.limits.private),
        ]

    def _over_limit(self, token: str, chat_id: Any, now: float) -> tuple[str, int] | None:
        """(scope, retry_after) of the limit a request at `now` would break, else None. Holds
        the lock: checking, handling and recording one request is atomic."""
        worst: tuple[str, float] | None = None
        for scope, key, windows in self._buckets(token, chat_id):
            wait = _window_wait(self._stamps.get(key, []), now, windows)
            if wait is not None and (worst is None or wait > worst[1]):
                worst = (scope, wait)
        if worst is None:
            return None
        return worst[0], max(1, math.ceil(worst[1] - 1e-9))

    def _record(self, token: str, chat_id: Any, now: float) -> None:
        """Count an admitted request at `now` in its buckets (and forget stamps too old to matter)."""
        assert self.limits is not None
        horizon = now - self.limits.longest - 5.0
        for _, key, _ in self._buckets(token, chat_id):
            stamps = self._stamps.setdefault(key, [])
            bisect.insort(stamps, now)
            del stamps[: bisect.bisect_left(stamps, horizon)]

    def _user_json(self, chat: Chat) -> dict[str, Any]:
        return {
            "id": chat.chat_id,
            "is_bot": False,
            "first_name": chat.first_name,
            "language_code": chat.language_code,
        }

    def _chat_json(self, chat: Chat) -> dict[str, Any]:
        if chat.chat_id < 0:
            return {"id": chat.chat_id, "type": "group", "title": chat.first_name}
        return {"id": chat.chat_id, "type": "private", "first_name": chat.first_name}

    def _bot_json(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Mata Duitan",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # -- what users do ----------------------------------------------------------------------------
    def _push(self, payload: dict[str, Any], token: str | None, copies: int = 1) -> int:
        """Queue an update (`copies` times, same update_id) for the bot with `token`. → update_id"""
        with self._cond:
            update_id = next(self._update_ids)
            queue = self._updates.setdefault(token or self.token, [])
            queue.extend({"update_id": update_id, **payload} for _ in range(copies))
            self._cond.notify_all()
            return update_id

    def _user_message(self, chat_id: int, extra: dict[str, Any], sender: int | None = None) -> dict[str, Any]:
        """A message in the chat; in a group, `sender` says which member (a user id, i.e. the id
        of their private chat with the bot) wrote it, so `from` differs from `chat`."""
        chat = self.chat(chat_id)
        author = self.chat(sender) if sender is not None else chat
        with self._cond:
            message = {
                "message_id": next(chat.message_ids),
                "date": int(time.time()),
                "chat": self._chat_json(chat),
                "from": self._user_json(author),
                **extra,
            }
            chat.messages[message["message_id"]] = message
        return message

    def send_text(
        self, chat_id: int, text: str, *, token: str | None = None, sender: int | None = None
    ) -> int:
        """The user types `text` (a leading /command gets its bot_command entity); in a group
        (chat_id < 0), `sender` is the member who typed it. → message_id"""
        extra: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        message = self._user_message(chat_id, extra, sender)
        self._note(chat_id, "You", text)
        self._push({"message": message}, token)
        return int(message["message_id"])

    def send_contact(
        self, chat_id: int, phone: str, *, user_id: int | None = None, token: str | None = None
    ) -> int:
        """The user shares a contact (their own unless `user_id` says otherwise). → message_id"""
        chat = self.chat(chat_id)
        contact = {
            "phone_number": phone,
            "first_name": chat.first_name,
            "user_id": chat_id if user_id is None else user_id,
        }
        message = self._user_message(chat_id, {"contact": contact})
        self._note(chat_id, "You", f"(shares the contact {phone})")
        self._push({"message": message}, token)
        return int(message["message_id"])

    def press(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int | None = None,
        token: str | None = None,
        copies: int = 1,
    ) -> str:
        """The user presses an inline button with callback `data` (on the newest message that has
        it, unless `message_id` says which). With `copies` > 1 Telegram delivers that very update
        (same update_id, same callback query id) that many times. → callback query id"""
        chat = self.chat(chat_id)
        with self._cond:
            if message_id is None:
                owners = [s.message_id for s in chat.sent if data in (d for _, d in s.buttons)]
                message_id = owners[-1] if owners else None
            message = chat.messages.get(message_id) if message_id else None
            if message is None:
                message = {
                    "message_id": message_id or 0,
                    "date": int(time.time()),
                    "chat": self._chat_json(chat),
                }
            query_id = str(next(self._query_ids))
            labels = [label for s in chat.sent for label, d in s.buttons if d == data]
            twice = f" — Telegram delivers it {copies} times" if copies > 1 else ""
            chat.log.append(("You", f"(presses {labels[-1] if labels else data}){twice}"))
        payload = {
            "callback_query": {
                "id": query_id,
                "from": self._user_json(chat),
                "message": message,
                "chat_instance": str(chat_id),
                "data": data,
            }
        }
        self._push(payload, token, copies=copies)
        return query_id

    def redeliver_last(self, *, token: str | None = None) -> int:
        """Telegram delivers the last update again (same content, new update_id)."""
        with self._cond:
            queue = self._updates.get(token or self.token) or []
            if not queue:
                raise AssertionError("no update to redeliver (already confirmed by the bot)")
            last = {k: v for k, v in queue[-1].items() if k != "update_id"}
            message = last.get("message") or last.get("callback_query", {}).get("message") or {}
            if "chat" in message:
                self.chat(message["chat"]["id"]).log.append(("Telegram", "(delivers that again)"))
        return self._push(last, token)

    def _note(self, chat_id: int, who: str, what: str) -> None:
        """Add a line to the chat's transcript."""
        chat = self.chat(chat_id)
        with self._cond:
            chat.log.append((who, what))

    # -- what tests read --------------------------------------------------------------------------
    def transcript(self, chat_id: int) -> str:
        """The chat as its user saw it, in order: what they typed and pressed, what came back."""
        with self._cond:
            lines = list(self.chat(chat_id).log)
        return "\n".join(f"{who}: {what}".replace("\n", "\n" + " " * (len(who) + 2)) for who, what in lines)

    def sent(self, chat_id: int) -> list[Sent]:
        """Everything sent to the chat so far."""
        with self._cond:
            return list(self.chat(chat_id).sent)

    def deleted(self, chat_id: int) -> list[int]:
        """Ids of the chat's messages deleted so far."""
        with self._cond:
            return list(self.chat(chat_id).deleted)

    def refusals_for(self, chat_id: int | str, code: int | None = None) -> int:
        """How many requests to this chat were answered with an error (with this code, if given):
        limits, faults, 403 blocked, 400 chat not found, message not modified..."""
        with self._cond:
            return sum(1 for r in self.refusals if r.chat_id == chat_id and (code is None or r.code == code))

    def deliveries(self) -> list[Sent]:
        """Every message delivered to any chat, in the order of delivery (`Sent.at`)."""
        with self._cond:
            return sorted((s for chat in self.chats.values() for s in chat.sent), key=lambda s: s.at)

    def max_in_window(
        self, seconds: float, chat_id: int | str | None = None, *, requests: bool = False
    ) -> int:
        """The most messages delivered (to `chat_id`, or to any chat) in any sliding window of
        `seconds`; with `requests=True` the most counted requests (edits, deletes... too)."""
        with self._cond:
            if requests:
                times = [c.at for c in self.counted_requests if chat_id is None or c.chat_id == chat_id]
            else:
                times = [s.at for s in self.deliveries() if chat_id is None or s.chat_id == chat_id]
        return most_in_window(times, seconds)

    def answered_ids(self) -> set[str]:
        """Callback query ids answered so far."""
        with self._cond:
            return {str(a.get("callback_query_id")) for a in self.answered}

    async def wait_for(self, chat_id: int, predicate: Any = None, timeout: float = 10.0) -> Sent:
        """The first unread message to the chat that satisfies `predicate` (text substring or
        callable); skipped messages are marked read too."""
        deadline = time.monotonic() + timeout
        chat = self.chat(chat_id)
        while True:
            with self._cond:
                while chat.read < len(chat.sent):
                    candidate = chat.sent[chat.read]
                    chat.read += 1
                    if _matches(candidate, predicate):
                        return candidate
            if time.monotonic() > deadline:
                raise TelegramFakeTimeout(
                    f"chat {chat_id}: nothing matching {predicate!r} in:\n{self.transcript(chat_id)}"
                )
            await asyncio.sleep(0.01)

    async def next_message(self, chat_id: int, timeout: float = 10.0) -> Sent:
        """The bot's next (unread) message to the chat."""
        return await self.wait_for(chat_id, None, timeout)

    async def read_otp(self, chat_id: int, timeout: float = 10.0) -> str:
        """Wait for the wallet's OTP DM (it says "OTP": other texts may hold six digits, in a
        username or a bill code) and return the code."""
        sent = await self.wait_for(chat_id, lambda s: s.otp() is not None and "OTP" in s.body, timeout)
        code = sent.otp()
        assert code is not None
        return code

    async def expect_silence(self, chat_id: int, seconds: float = 0.5) -> None:
        """Fail if anything new arrives in the chat within `seconds`."""
        await asyncio.sleep(seconds)
        with self._cond:
            chat = self.chat(chat_id)
            extra = [s.body for s in chat.sent[chat.read :]]
        assert not extra, f"chat {chat_id}: unexpected {extra}"

    async def wait_until(self, condition: Any, timeout: float = 10.0) -> None:
        """Poll a zero-argument callable until it is true."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TelegramFakeTimeout(f"condition {condition!r} not met")
            await asyncio.sleep(0.01)

    # -- the HTTP side ----------------------------------------------------------------------------
    async def _endpoint(self, request: Request) -> JSONResponse:
        arrived = time.monotonic()
        token, method = request.path_params["token"], request.path_params["method"]
        params = await _read_params(request)
        with self._cond:
            self.calls.append((method, {k: v for k, v in params.items() if not isinstance(v, bytes)}))
        chat_id = params.get("chat_id")
        response = await self._serve(token, method, params, arrived)
        if response.status_code >= 400 and chat_id is not None:
            description = str(json.loads(bytes(response.body)).get("description", ""))
            with self._cond:
                self.refusals.append(Refusal(arrived, method, chat_id, response.status_code, description))
        return response

    async def _serve(self, token: str, method: str, params: dict[str, Any], now: float) -> JSONResponse:
        """Faults, then a dead chat, then the rate limits, then the method itself."""
        chat_id: Any = params.get("chat_id")
        counted = chat_id is not None and not method.lower().startswith("get")
        for fault in self._firing(method, chat_id, counted, now):
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
                now = time.monotonic()  # it reaches Telegram only now
            elif fault.kind == "timeout":
                await asyncio.sleep(fault.delay)
                return _error(504, SERVER_ERRORS[504])
            elif fault.kind == "429":
                return _too_many(fault.retry_after)
            else:
                return _error(int(fault.kind), SERVER_ERRORS[int(fault.kind)])
        handler = getattr(self, f"_api_{method.lower()}", None)
        if method.lower() == "getupdates":
            return await handler(token, params)  # type: ignore[misc]
        with self._cond:  # check, serve and record atomically (an RLock: handlers take it too)
            if counted:
                dead = self._dead(chat_id)
                if dead is not None:
                    return dead
                over = self._over_limit(token, chat_id, now) if self.limits is not None else None
                if over is not None:
                    scope, retry_after = over
                    self.limit_refusals.append(LimitRefusal(now, method, chat_id, scope, retry_after))
                    return _too_many(retry_after)
            if handler is None:
                logger.warning("fake Telegram: unknown method %s %s", method, _printable(params))
                self.unknown_methods.append(method)
                response = _ok(True)
            else:
                request_time = _request_time.set(now)
                try:
                    response = handler(token, params)
                finally:
                    _request_time.reset(request_time)
            if counted and response.status_code == 200:  # a refused request was not delivered
                if self.limits is not None:
                    self._record(token, chat_id, now)
                self.counted_requests.append(Counted(now, method, chat_id))
            return response

    async def _api_getupdates(self, token: str, params: dict[str, Any]) -> JSONResponse:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        updates = await anyio.to_thread.run_sync(self._wait_updates, token, offset, limit, timeout)
        return _ok(updates)

    def _wait_updates(self, token: str, offset: int, limit: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                queue = self._updates.setdefault(token, [])
                if offset:
                    queue[:] = [u for u in queue if u["update_id"] >= offset]  # confirmed ones go
                if queue or self._closing or time.monotonic() >= deadline:
                    return [dict(u) for u in queue[:limit]]
                self._cond.wait(timeout=max(0.0, min(0.5, deadline - time.monotonic())))

    def _api_getme(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return _ok(self._bot_json())

    def _api_deletewebhook(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return _ok(True)

    def _api_setwebhook(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return _ok(True)

    def _api_getwebhookinfo(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return _ok({"url": "", "has_custom_certificate": False, "pending_update_count": 0})

    def _api_setmycommands(self, token: str, params: dict[str, Any]) -> JSONResponse:
        with self._cond:
            self.commands[params.get("language_code") or ""] = params.get("commands")
        return _ok(True)

    def _api_getmycommands(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return _ok(self.commands.get(params.get("language_code") or "", []))

    def _api_close(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return _ok(True)

    def _api_logout(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return _ok(True)

    def _api_answercallbackquery(self, token: str, params: dict[str, Any]) -> JSONResponse:
        with self._cond:
            query_id = str(params.get("callback_query_id"))
            if query_id in {str(a.get("callback_query_id")) for a in self.answered}:
                self.refused_answers.append(params)
                return _error(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                )
            self.answered.append(params)
        return _ok(True)

    def _api_sendmessage(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return self._record_send("sendMessage", params, text=str(params.get("text", "")))

    def _api_sendphoto(self, token: str, params: dict[str, Any]) -> JSONResponse:
        photo = params.get("photo")
        return self._record_send(
            "sendPhoto",
            params,
            caption=params.get("caption"),
            photo=photo if isinstance(photo, bytes) else None,
        )

    def _record_send(self, method: str, params: dict[str, Any], **fields: Any) -> JSONResponse:
        chat = self.chat(int(params["chat_id"]))
        dead = self._dead(chat.chat_id)
        if dead is not None:
            return dead
        with self._cond:
            message_id = next(chat.message_ids)
            markup = params.get("reply_markup")
            sent = Sent(
                chat.chat_id,
                message_id,
                method,
                reply_markup=markup,
                params=_printable(params),
                at=_now(),
                **fields,
            )
            message = self._message_json(chat, sent)
            chat.messages[message_id] = message
            chat.sent.append(sent)
            chat.log.append(("Bot", _describe(sent)))
        return _ok(message)

    def _message_json(self, chat: Chat, sent: Sent) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": self._chat_json(chat),
            "from": self._bot_json(),
        }
        if sent.text is not None:
            message["text"] = sent.text
        if sent.method == "sendPhoto":
            message["photo"] = [
                {
                    "file_id": f"photo{sent.message_id}",
                    "file_unique_id": f"u{sent.message_id}",
                    "width": 300,
                    "height": 300,
                }
            ]
            if sent.caption:
                message["caption"] = sent.caption
        if isinstance(sent.reply_markup, dict) and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return message

    def _find_sent(self, params: dict[str, Any]) -> tuple[Chat, Sent] | JSONResponse:
        chat = self.chat(int(params["chat_id"]))
        dead = self._dead(chat.chat_id)
        if dead is not None:
            return dead
        for sent in chat.sent:
            if sent.message_id == int(params["message_id"]) and sent.message_id not in chat.deleted:
                return chat, sent
        return _error(400, "Bad Request: message to edit not found")

    def _api_editmessagetext(self, token: str, params: dict[str, Any]) -> JSONResponse:
        found = self._find_sent(params)
        if isinstance(found, JSONResponse):
            return found
        chat, sent = found
        text, markup = str(params.get("text", "")), params.get("reply_markup")
        if text == sent.text and _inline(markup) == _inline(sent.reply_markup):
            return _not_modified()
        with self._cond:
            sent.edits.append(_printable(params))
            chat.log.append(("Bot", f"(edits its message {sent.message_id} to:) {text}"))
            sent.text = text
            sent.reply_markup = markup
            chat.messages[sent.message_id] = self._message_json(chat, sent)
            return _ok(chat.messages[sent.message_id])

    def _api_editmessagereplymarkup(self, token: str, params: dict[str, Any]) -> JSONResponse:
        found = self._find_sent(params)
        if isinstance(found, JSONResponse):
            return found
        chat, sent = found
        if _inline(params.get("reply_markup")) == _inline(sent.reply_markup):
            return _not_modified()
        with self._cond:
            sent.edits.append(_printable(params))
            sent.reply_markup = params.get("reply_markup")
            chat.messages[sent.message_id] = self._message_json(chat, sent)
            return _ok(chat.messages[sent.message_id])

    def _api_deletemessage(self, token: str, params: dict[str, Any]) -> JSONResponse:
        chat = self.chat(int(params["chat_id"]))
        dead = self._dead(chat.chat_id)
        if dead is not None:
            return dead
        message_id = int(params["message_id"])
        with self._cond:
            if message_id not in chat.messages or message_id in chat.deleted:
                return _error(400, "Bad Request: message to delete not found")
            chat.deleted.append(message_id)
            chat.log.append(("Bot", "(deletes your message)"))
        return _ok(True)


def most_in_window(times: list[float], seconds: float = 1.0) -> int:
    """The most of these moments in any sliding window of `seconds` (what a limit checks)."""
    times = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def _describe(sent: Sent) -> str:
    """One sent message for a transcript: its text, then its buttons."""
    text = f"(photo) {sent.body}" if sent.method == "sendPhoto" else sent.body
    markup = sent.reply_markup or {}
    labels = [label for label, _ in sent.buttons]
    labels += [b["text"] for row in markup.get("keyboard") or [] for b in row]
    return text + ("\n" + " ".join(f"[{label}]" for label in labels) if labels else "")


def _matches(sent: Sent, predicate: Any) -> bool:
    if predicate is None:
        return True
    if isinstance(predicate, str):
        return predicate.lower() in sent.body.lower()
    return bool(predicate(sent))


def _window_wait(stamps: list[float], now: float, windows: Windows) -> float | None:
    """None if one more request at `now` keeps every sliding window of `stamps` (sorted) within
    its limit, else the seconds until it would. A request checked a little after a later one
    (they race to the lock) is placed at its own time among the others."""
    wait: float | None = None
    for seconds, most in windows:
        lo = bisect.bisect_right(stamps, now - seconds)
        at = bisect.bisect_right(stamps, now)
        hi = bisect.bisect_left(stamps, now + seconds)
        near = [*stamps[lo:at], now, *stamps[at:hi]]  # what shares a window with `now`
        new = at - lo
        for first in range(max(0, new - most), new + 1):
            if first + most < len(near) and near[first + most] - near[first] < seconds:
                # `most` + 1 requests in less than `seconds`: wait until the first leaves
                needed = near[first] + seconds - now if first < new else seconds
                wait = needed if wait is None else max(wait, needed)
    return wait


def _now() -> float:
    """The admission time of the request being handled (else now)."""
    admitted = _request_time.get()
    return time.monotonic() if admitted is None else admitted


def _too_many(retry_after: int) -> JSONResponse:
    return JSONResponse(
        {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {retry_after}",
            "parameters": {"retry_after": retry_after},
        },
        status_code=429,
    )


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _error(code: int, description: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": code, "description": description}, status_code=code)


def _inline(markup: Any) -> Any:
    """The inline keyboard of a markup (a reply keyboard is not part of the message)."""
    return markup.get("inline_keyboard") or None if isinstance(markup, dict) else None


def _not_modified() -> JSONResponse:
    return _error(
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )


def _printable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (f"<{len(v)} bytes>" if isinstance(v, bytes) else v) for k, v in params.items()}


def _coerce(params: dict[str, Any]) -> dict[str, Any]:
    """Form values are strings (JSON-encoded for objects): decode the known ones."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and key in JSON_FIELDS:
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        elif isinstance(value, str) and key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
            value = int(value)
        out[key] = value
    return out


async def _read_params(request: Request) -> dict[str, Any]:
    """Bot API parameters from the query string, a JSON body, a form or a multipart body."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body and content_type.startswith("application/json"):
        params.update(json.loads(body))
    elif body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update({k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()})
    elif body and content_type.startswith("multipart/form-data"):
        params.update(_parse_multipart(content_type, body))
    return _coerce(params)


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Parse multipart/form-data with the standard library (python-multipart is not installed)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    out: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        out[str(name)] = payload if part.get_filename() else payload.decode()
    return out

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
deleteWebhook, getWebhookInfo, setMyCommands, sendMessage, sendPhoto and sendDocument (multipart
upload, or a file_id this fake issued), editMessageText, editMessageReplyMarkup, editMessageMedia
(a chat's photo or document replaced, its file checked alike), deleteMessage,
answerCallbackQuery, answerInlineQuery, close/logOut. Any other method is logged, recorded in
`unknown_methods`, and answered `ok: true`.

Like the real server it refuses (400) a second answer to one callback or inline query ("query is
too old ... or query ID is invalid"), an edit that changes nothing ("message is not modified"), an
inline keyboard button Telegram would not take (BUTTON_DATA_INVALID, BUTTON_URL_INVALID...) and
inline query results it would not take (RESULT_ID_DUPLICATE...). A photo or document is refused as
Telegram does: a caption over 1024 characters ("message caption is too long"; with parse_mode HTML
the tags do not count), an empty file ("file must be non-empty"), a photo over 10 MB or a document
over 50 MB ("file is too big"), a photo that is no PNG or JPEG (IMAGE_PROCESS_FAILED) or whose
width + height > 10000 or sides differ more than 20 times (PHOTO_INVALID_DIMENSIONS), a string that
is not a file_id this fake gave this bot (no URL is fetched: "wrong file identifier/HTTP URL
specified"), a photo's file_id sent as a document or the other way ("type of file mismatch").

    sent = await server.wait_for(chat_id, lambda s: s.method == "sendDocument")
    sent.document, sent.filename, sent.caption, sent.file_id   # bytes, "statement-2026-11.pdf"...
    server.files[sent.file_id]                                  # StoredFile: kind, data, mime_type...

Groups and inline mode (the bot has /setinline and /setinlinefeedback on, so getMe says so):

    server.chat(-100_5, "Kos Melati", kind="supergroup")    # a group is a "group" unless told
    server.send_text(group, "hi", sender=sari)              # `from` is the member, not the group
    server.send_text(group, "ok", sender=budi, reply_to=m)  # carries reply_to_message (m's JSON)
    server.press(group, data, sender=budi)                  # a member presses a button
    query_id = server.inline_query(sari, "pay 5000", chat_type="group")
    results = await server.wait_inline_answer(query_id)     # what answerInlineQuery gave
    inline_id = server.choose_inline_result(sari, query_id, "r1", group)   # posted "via" the bot
    server.press_inline(budi, inline_id, data)              # callback_query without `message`
    server.max_inline_edits_in_window(1.0, inline_id)       # edits by inline_message_id
    start_payload(sent.url_of("Open"))                      # the ?start= of a t.me deep link

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
import copy
import email.parser
import email.policy
import html
import itertools
import json
import logging
import math
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

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
    "media",
    "results",
    "button",
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
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# the kinds of inline keyboard button: exactly one of these fields says what a button does
BUTTON_KINDS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a deep link's ?start= payload
TME_HOSTS = {"t.me", "www.t.me", "telegram.me", "www.telegram.me"}
INLINE_CHAT_TYPES = ("sender", "private", "group", "supergroup", "channel")
RESULT_TYPES = {
    "article",
    "audio",
    "contact",
    "document",
    "game",
    "gif",
    "location",
    "mpeg4_gif",
    "photo",
    "sticker",
    "venue",
    "video",
    "voice",
}
Windows = tuple[tuple[float, int], ...]  # ((seconds, at most this many requests), ...)
CAPTION_MAX = 1024  # characters (after entity parsing)
PHOTO_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
# JPEG start-of-frame markers (they carry the size): C0-CF but DHT (C4), JPG (C8), DAC (CC)
JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
MIME_TYPES = {".pdf": "application/pdf", ".csv": "text/csv"}  # else application/octet-stream
WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"

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


@dataclass(frozen=True)
class InlineEdit:
    """An edit of a message posted via inline mode (by inline_message_id) that was answered ok."""

    at: float  # time.monotonic() when the request arrived
    method: str  # "editMessageText" or "editMessageReplyMarkup"
    inline_message_id: str


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


class Upload(bytes):
    """A file part of a multipart request: its bytes (it is `bytes`), and `filename`, the name
    its Content-Disposition gave it."""

    filename: str

    def __new__(cls, data: bytes, filename: str) -> Upload:
        upload = super().__new__(cls, data)
        upload.filename = filename
        return upload


@dataclass(frozen=True)
class StoredFile:
    """A file the bot uploaded (sendPhoto, sendDocument), by the file_id the fake gave it: sending
    that id again (with the same bot token, the same method) sends this file."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" or "document"
    data: bytes = field(repr=False)
    filename: str | None
    token: str = field(repr=False)
    width: int | None = None  # a photo's
    height: int | None = None

    @property
    def mime_type(self) -> str:
        """Guessed from the filename, as Telegram does: application/pdf, text/csv, else
        application/octet-stream."""
        name = (self.filename or "").lower()
        return next((m for ext, m in MIME_TYPES.items() if name.endswith(ext)), "application/octet-stream")


@dataclass
class Sent:
    """A message the bot (or the backend, with the same token) sent to a chat; or, with method
    "inline", one a user posted into a chat via the bot's inline mode (`posted_by` is that user,
    `inline_message_id` is set when it has an inline keyboard: the bot edits it by that id)."""

    chat_id: int
    message_id: int
    method: str
    text: str | None = None
    caption: str | None = None
    reply_markup: dict[str, Any] | None = None
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None  # of the uploaded photo or document
    file_id: str | None = None  # of the photo or document (server.files[file_id])
    params: dict[str, Any] = field(default_factory=dict)
    edits: list[dict[str, Any]] = field(default_factory=list)
    at: float = 0.0  # time.monotonic() when it was delivered
    inline_message_id: str | None = None  # a message posted via inline mode, with a keyboard
    posted_by: int | None = None  # a message posted via inline mode: the user who chose it

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

    @property
    def urls(self) -> list[tuple[str, str]]:
        """(label, url) of every inline url button."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [(b["text"], b["url"]) for row in rows for b in row if b.get("url") is not None]

    def url_of(self, label_part: str) -> str:
        """The url of the first url button whose label contains `label_part`."""
        for label, url in self.urls:
            if label_part.lower() in label.lower():
                return url
        raise AssertionError(f"no url button {label_part!r} in {self.urls}")

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
    kind: str | None = None  # "supergroup" or "group" for a group; None: "group" (id < 0) or "private"


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
        self.commands: dict[str, Any] = {}  # the default menu, by language ("" for all)
        self.group_commands: dict[str, Any] = {}  # the menu in groups (scope all_group_chats)
        self.answered: list[dict[str, Any]] = []
        self.refused_answers: list[dict[str, Any]] = []  # second answers to one callback query
        self.inline_queries: dict[str, dict[str, Any]] = {}  # query id → the InlineQuery pushed
        self.inline_answers: dict[str, dict[str, Any]] = {}  # query id → answerInlineQuery params
        self.refused_inline_answers: list[dict[str, Any]] = []  # unknown ids, second answers
        self.inline_messages: dict[str, Sent] = {}  # inline_message_id → the message posted
        self.inline_edits: list[float] = []  # when each inline edit (answered ok) arrived
        self.inline_edit_log: list[InlineEdit] = []  # the same edits, with their inline_message_id
        self.files: dict[str, StoredFile] = {}  # file_id → what was uploaded (photos, documents)
        self._file_numbers = itertools.count(1)
        self._inline_tokens: dict[str, str] = {}  # inline query id → the bot token it went to
        self._ids_random = random.Random(seed)  # inline_message_ids (apart from the fault draws)
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
    def chat(
        self,
        chat_id: int,
        first_name: str = "Tester",
        language_code: str = "en",
        kind: str | None = None,
    ) -> Chat:
        """The chat with this id (created on first use). A group (chat_id < 0) is a "group"
        unless `kind="supergroup"` makes it one (also of an existing chat; `kind="group"` turns it
        back); a private chat (chat_id > 0) can only be "private"."""
        if kind is not None:
            kinds = ("group", "supergroup") if chat_id < 0 else ("private",)
            if kind not in kinds:
                raise ValueError(f"chat {chat_id} can be one of {kinds}, not {kind!r}")
        with self._cond:
            if chat_id not in self.chats:
                self.chats[chat_id] = Chat(chat_id, first_name, language_code)
            if kind is not None:
                self.chats[chat_id].kind = kind
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
        """The User of the person whose private chat with the bot this is."""
        return {
            "id": chat.chat_id,
            "is_bot": False,
            "first_name": chat.first_name,
            "language_code": chat.language_code,
        }

    def _chat_json(self, chat: Chat) -> dict[str, Any]:
        """The Chat: a group (or supergroup) has a title, a private chat the user's first name."""
        if chat.chat_id < 0:
            return {"id": chat.chat_id, "type": chat.kind or "group", "title": chat.first_name}
        return {"id": chat.chat_id, "type": "private", "first_name": chat.first_name}

    def _bot_json(self) -> dict[str, Any]:
        """The bot's User, as getMe describes it (inline mode and inline feedback are on)."""
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Mata Duitan",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
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
        self,
        chat_id: int,
        text: str,
        *,
        token: str | None = None,
        sender: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """The user types `text` (a leading /command gets its bot_command entity); in a group
        (chat_id < 0), `sender` is the member who typed it (the transcript names them). With
        `reply_to` it replies to that message of the chat (the bot's or a user's): it carries
        `reply_to_message`, that message's JSON. → message_id"""
        extra: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        note = text
        if reply_to is not None:
            replied = self._replied(chat_id, reply_to)
            extra["reply_to_message"] = replied
            note = f"(replying to {replied['from']['first_name']}) {text}"
        message = self._user_message(chat_id, extra, sender)
        self._note(chat_id, self._who(chat_id, sender), note)
        self._push({"message": message}, token)
        return int(message["message_id"])

    def _replied(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """Message `message_id` of the chat as a reply carries it: its JSON, one level deep (what
        *it* replied to is left out, as Telegram does). A message that is not there fails."""
        chat = self.chat(chat_id)
        with self._cond:
            message = chat.messages.get(message_id)
            if message is None or message_id in chat.deleted:
                raise AssertionError(f"chat {chat_id}: no message {message_id} to reply to")
            return {k: copy.deepcopy(v) for k, v in message.items() if k != "reply_to_message"}

    def _who(self, chat_id: int, sender: int | None) -> str:
        """Who a transcript line is by: "You" in one's own chat, a group member by first name."""
        if sender is None or sender == chat_id:
            return "You"
        return self.chat(sender).first_name

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
        sender: int | None = None,
    ) -> str:
        """The user presses an inline button with callback `data` (on the newest message the bot
        sent that has it, unless `message_id` says which); in a group, `sender` is the member who
        pressed it (`from`). With `copies` > 1 Telegram delivers that very update (same update_id,
        same callback query id) that many times. Buttons of a message posted via inline mode:
        press_inline. → callback query id"""
        chat = self.chat(chat_id)
        author = self.chat(sender) if sender is not None else chat
        with self._cond:
            if message_id is None:
                owners = [
                    s.message_id
                    for s in chat.sent
                    if s.method != "inline" and data in (d for _, d in s.buttons)
                ]
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
            who = self._who(chat_id, sender)
            chat.log.append((who, f"(presses {labels[-1] if labels else data}){twice}"))
        payload = {
            "callback_query": {
                "id": query_id,
                "from": self._user_json(author),
                "message": message,
                "chat_instance": str(chat_id),
                "data": data,
            }
        }
        self._push(payload, token, copies=copies)
        return query_id

    def inline_query(
        self, user_id: int, query: str, *, chat_type: str = "sender", token: str | None = None
    ) -> str:
        """User `user_id` (the id of their private chat with the bot) types "@bot `query`" in a
        chat of `chat_type` ("sender": their private chat with the bot, "private", "group",
        "supergroup", "channel"): the bot gets an inline_query update (offset ""). Answer it with
        answerInlineQuery, once. → inline query id"""
        if chat_type not in INLINE_CHAT_TYPES:
            raise ValueError(f"chat_type {chat_type!r}: one of {INLINE_CHAT_TYPES}")
        if len(query) > 256:
            raise ValueError("an inline query is at most 256 characters")
        user = self.chat(user_id)
        with self._cond:
            query_id = str(next(self._query_ids))
            inline = {
                "id": query_id,
                "from": self._user_json(user),
                "query": query,
                "offset": "",
                "chat_type": chat_type,
            }
            self.inline_queries[query_id] = inline
            self._inline_tokens[query_id] = token or self.token
        self._push({"inline_query": inline}, token)
        return query_id

    def choose_inline_result(
        self, user_id: int, query_id: str, result_id: str, chat_id: int, *, token: str | None = None
    ) -> str:
        """User `user_id` picks result `result_id` of the bot's answer to their inline query
        `query_id`, and it is posted into chat `chat_id` (any chat: a group, another private chat)
        as their message "via" the bot: text = its input_message_content.message_text, with its
        reply_markup. As Telegram does, it gets an inline_message_id only if it has an inline
        keyboard. The bot gets a chosen_inline_result update (inline feedback is on), on the
        token the query went to unless `token` says otherwise. → inline_message_id ("" if none)"""
        with self._cond:
            query, answer = self.inline_queries.get(query_id), self.inline_answers.get(query_id)
            if query is None or answer is None:
                raise AssertionError(f"inline query {query_id!r} was not answered: nothing to choose")
            if query["from"]["id"] != user_id:
                raise AssertionError(f"inline query {query_id!r} was {query['from']['id']}'s")
            result = next((r for r in answer["results"] if r.get("id") == result_id), None)
            if result is None:
                ids = [r.get("id") for r in answer["results"]]
                raise AssertionError(f"no result {result_id!r} in the answer to {query_id!r}: {ids}")
            content = result.get("input_message_content") or {}
            if "message_text" not in content:
                raise AssertionError(f"the fake posts only text results, not {result}")
            user, chat = self.chat(user_id), self.chat(chat_id)
            markup = result.get("reply_markup")
            inline_message_id = self._new_inline_message_id() if _inline(markup) else None
            sent = Sent(
                chat.chat_id,
                next(chat.message_ids),
                "inline",
                text=str(content["message_text"]),
                reply_markup=markup,
                params=dict(result),
                at=time.monotonic(),
                inline_message_id=inline_message_id,
                posted_by=user_id,
            )
            chat.messages[sent.message_id] = self._message_json(chat, sent)
            chat.sent.append(sent)
            if inline_message_id is not None:
                self.inline_messages[inline_message_id] = sent
            chat.log.append(("Bot", f"(via inline, posted by {user.first_name}) {_describe(sent)}"))
            chosen = {"result_id": result_id, "from": self._user_json(user), "query": query["query"]}
            if inline_message_id is not None:
                chosen["inline_message_id"] = inline_message_id
            to = token or self._inline_tokens[query_id]
        self._push({"chosen_inline_result": chosen}, to)
        return inline_message_id or ""

    def _new_inline_message_id(self) -> str:
        """A random-looking inline_message_id not given before (reproducible with the seed)."""
        while True:
            candidate = f"AQAAA{self._ids_random.getrandbits(112):028x}"
            if candidate not in self.inline_messages:
                return candidate

    def press_inline(
        self,
        user_id: int,
        inline_message_id: str,
        data: str,
        *,
        token: str | None = None,
        copies: int = 1,
    ) -> str:
        """User `user_id` (whoever sees the message) presses the button with callback `data` on
        a message posted via inline mode. As Telegram sends it, the callback_query carries
        `inline_message_id` and `chat_instance` but no `message` (the bot never had that message).
        `copies` as for press(). → callback query id"""
        with self._cond:
            sent = self.inline_messages.get(inline_message_id)
            if sent is None:
                raise AssertionError(f"no inline message {inline_message_id!r} to press a button on")
            user = self.chat(user_id)
            query_id = str(next(self._query_ids))
            labels = [label for label, d in sent.buttons if d == data]
            twice = f" — Telegram delivers it {copies} times" if copies > 1 else ""
            what = f"(presses {labels[-1] if labels else data} on the inline message){twice}"
            self.chat(sent.chat_id).log.append((user.first_name, what))
        payload = {
            "callback_query": {
                "id": query_id,
                "from": self._user_json(user),
                "inline_message_id": inline_message_id,
                "chat_instance": str(sent.chat_id),
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
        """Every message the bot delivered to any chat, in the order of delivery (`Sent.at`); not
        those users posted via inline mode (Telegram's limits do not count them either)."""
        with self._cond:
            sent = (s for chat in self.chats.values() for s in chat.sent if s.method != "inline")
            return sorted(sent, key=lambda s: s.at)

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

    def answer_of(self, query_id: str) -> dict[str, Any] | None:
        """The (accepted) answerCallbackQuery params of this callback query: text, show_alert,
        url...; None if it was not answered."""
        with self._cond:
            return next((a for a in self.answered if str(a.get("callback_query_id")) == query_id), None)

    def inline_results(self, query_id: str) -> list[dict[str, Any]]:
        """The results the bot answered inline query `query_id` with (fails if it did not yet:
        wait_inline_answer waits)."""
        with self._cond:
            answer = self.inline_answers.get(query_id)
            if answer is None:
                raise AssertionError(f"inline query {query_id!r} was not answered")
            return list(answer["results"])

    def max_inline_edits_in_window(self, seconds: float, inline_message_id: str | None = None) -> int:
        """The most edits by inline_message_id (of that message, or of any) in any sliding window
        of `seconds` (they are not counted requests: they carry no chat_id)."""
        with self._cond:
            times = [
                e.at
                for e in self.inline_edit_log
                if inline_message_id is None or e.inline_message_id == inline_message_id
            ]
        return most_in_window(times, seconds)

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

    async def wait_inline_answer(self, query_id: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the bot answers inline query `query_id`; → its results."""
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                answer = self.inline_answers.get(query_id)
                if answer is not None:
                    return list(answer["results"])
            if time.monotonic() > deadline:
                raise TelegramFakeTimeout(f"inline query {query_id!r} was not answered")
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
        menus = self._menus(params)
        if menus is None:
            return _error(400, "Bad Request: BOT_COMMAND_SCOPE_INVALID")
        with self._cond:
            menus[params.get("language_code") or ""] = params.get("commands")
        return _ok(True)

    def _api_getmycommands(self, token: str, params: dict[str, Any]) -> JSONResponse:
        menus = self._menus(params)
        if menus is None:
            return _error(400, "Bad Request: BOT_COMMAND_SCOPE_INVALID")
        return _ok(menus.get(params.get("language_code") or "", []))

    def _menus(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The menus of a command scope: the default one or all group chats (others: None)."""
        scope = params.get("scope") or {"type": "default"}
        if isinstance(scope, str):
            scope = json.loads(scope)
        return {"default": self.commands, "all_group_chats": self.group_commands}.get(scope.get("type"))

    def _api_close(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return _ok(True)

    def _api_logout(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return _ok(True)

    def _api_answercallbackquery(self, token: str, params: dict[str, Any]) -> JSONResponse:
        with self._cond:
            query_id = str(params.get("callback_query_id"))
            if query_id in {str(a.get("callback_query_id")) for a in self.answered}:
                self.refused_answers.append(params)
                return _error(400, QUERY_INVALID)
            self.answered.append(params)
        return _ok(True)

    def _api_answerinlinequery(self, token: str, params: dict[str, Any]) -> JSONResponse:
        """Record the answer to an inline query this bot got, once; results as Telegram checks
        them. No chat_id: never rate-limited."""
        query_id = str(params.get("inline_query_id"))
        with self._cond:
            if self._inline_tokens.get(query_id) != token or query_id in self.inline_answers:
                self.refused_inline_answers.append(params)
                return _error(400, QUERY_INVALID)
            results = params.get("results")
            problem = _results_problem(results)
            if problem is not None:
                return _error(400, problem)
            self.inline_answers[query_id] = {**_printable(params), "results": results}
        return _ok(True)

    def _api_sendmessage(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return self._record_send("sendMessage", params, text=str(params.get("text", "")))

    def _api_sendphoto(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return self._record_send("sendPhoto", params, upload="photo", token=token)

    def _api_senddocument(self, token: str, params: dict[str, Any]) -> JSONResponse:
        return self._record_send("sendDocument", params, upload="document", token=token)

    def _record_send(
        self,
        method: str,
        params: dict[str, Any],
        *,
        upload: str | None = None,
        token: str = "",
        **fields: Any,
    ) -> JSONResponse:
        """Deliver a message to a chat (unless the chat is dead or its keyboard is refused). With
        `upload` ("photo", "document") it carries that file, params[upload]: uploaded bytes or a
        file_id, checked as Telegram checks them (see _file), and a caption."""
        chat = self.chat(int(params["chat_id"]))
        dead = self._dead(chat.chat_id)
        if dead is not None:
            return dead
        problem = _markup_problem(params.get("reply_markup"))
        if problem is not None:
            return _error(400, problem)
        if upload is not None:
            caption = params.get("caption")
            fields["caption"] = None if caption is None else str(caption)
            if _caption_length(fields["caption"] or "", params.get("parse_mode")) > CAPTION_MAX:
                return _error(400, "Bad Request: message caption is too long")
        with self._cond:
            if upload is not None:
                stored = self._file(token, upload, params.get(upload))
                if isinstance(stored, JSONResponse):
                    return stored
                self.files[stored.file_id] = stored
                fields.update({upload: stored.data, "filename": stored.filename, "file_id": stored.file_id})
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

    def _file(self, token: str, kind: str, value: Any) -> StoredFile | JSONResponse:
        """The file a sendPhoto / sendDocument carries (`kind`: "photo" or "document"), else
        Telegram's refusal. Bytes are an upload: not empty, at most 10 MB (a photo) or 50 MB, and
        a photo a PNG or JPEG of sane dimensions; it gets a new file_id. A string must be a
        file_id this fake gave this bot, for a file of that kind (URLs are not fetched)."""
        if value is None or (isinstance(value, str) and not value):
            return _error(400, f"Bad Request: there is no {kind} in the request")
        if not isinstance(value, bytes):
            stored = self.files.get(str(value))
            if stored is None or stored.token != token:
                return _error(400, WRONG_FILE)
            if stored.kind != kind:
                return _error(400, "Bad Request: type of file mismatch")
            return stored
        data = bytes(value)
        if not data:
            return _error(400, "Bad Request: file must be non-empty")
        if len(data) > (PHOTO_MAX_BYTES if kind == "photo" else DOCUMENT_MAX_BYTES):
            return _error(400, "Bad Request: file is too big")
        size: tuple[int, int] | None = None
        if kind == "photo":
            size = _png_size(data) if data.startswith(PNG_SIGNATURE) else None
            if size is None and data.startswith(JPEG_SIGNATURE):
                size = _jpeg_size(data)
            if size is None:
                return _error(400, "Bad Request: IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10000 or max(width, height) > 20 * min(width, height):
                return _error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        number = next(self._file_numbers)
        return StoredFile(
            file_id=f"{'AgAC' if kind == 'photo' else 'BQAC'}AgIAAxkBfake{number:06d}",
            file_unique_id=f"AQADfake{number:06d}",
            kind=kind,
            data=data,
            filename=getattr(value, "filename", None) or None,
            token=token,
            width=size[0] if size else None,
            height=size[1] if size else None,
        )

    def _message_json(self, chat: Chat, sent: Sent) -> dict[str, Any]:
        """The Message of something sent: from the bot, or from a user "via" the bot."""
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": self._chat_json(chat),
            "from": self._bot_json(),
        }
        if sent.posted_by is not None:
            message["from"] = self._user_json(self.chat(sent.posted_by))
            message["via_bot"] = self._bot_json()
        if sent.text is not None:
            message["text"] = sent.text
        stored = self.files.get(sent.file_id) if sent.file_id is not None else None
        if stored is not None and sent.method == "sendPhoto":
            message["photo"] = [
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": stored.width,
                    "height": stored.height,
                    "file_size": len(stored.data),
                }
            ]
        if stored is not None and sent.method == "sendDocument":
            document: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
            if stored.filename:
                document["file_name"] = stored.filename
            document.update({"mime_type": stored.mime_type, "file_size": len(stored.data)})
            message["document"] = document
        if sent.method in ("sendPhoto", "sendDocument") and sent.caption:
            message["caption"] = sent.caption
        if isinstance(sent.reply_markup, dict) and "inline_keyboard" in sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        return message

    def _find_sent(self, params: dict[str, Any]) -> tuple[Chat, Sent] | JSONResponse:
        """The message an edit by chat_id + message_id is for, else the refusal."""
        if params.get("chat_id") is None or params.get("message_id") is None:
            return _error(400, "Bad Request: message identifier is not specified")
        chat = self.chat(int(params["chat_id"]))
        dead = self._dead(chat.chat_id)
        if dead is not None:
            return dead
        for sent in chat.sent:
            if sent.message_id == int(params["message_id"]) and sent.message_id not in chat.deleted:
                if sent.method == "inline":  # a user's message: only its inline_message_id edits it
                    return _error(400, "Bad Request: message can't be edited")
                return chat, sent
        return _error(400, "Bad Request: message to edit not found")

    def _edit_inline(self, method: str, params: dict[str, Any]) -> JSONResponse:
        """editMessageText / editMessageReplyMarkup by inline_message_id: answered True, not a
        Message, as Telegram does. Not a counted request (no chat_id), but stamped in
        `inline_edits` and `inline_edit_log` when answered ok."""
        markup = params.get("reply_markup")
        problem = _markup_problem(markup)
        if problem is not None:
            return _error(400, problem)
        inline_message_id = str(params["inline_message_id"])
        with self._cond:
            sent = self.inline_messages.get(inline_message_id)
            if sent is None:
                return _error(400, "Bad Request: message to edit not found")
            text = str(params.get("text", "")) if method == "editMessageText" else sent.text
            if text == sent.text and _inline(markup) == _inline(sent.reply_markup):
                return _not_modified()
            chat = self.chat(sent.chat_id)
            sent.edits.append(_printable(params))
            sent.text, sent.reply_markup = text, markup
            chat.messages[sent.message_id] = self._message_json(chat, sent)
            if method == "editMessageText":
                chat.log.append(("Bot", f"(edits the inline message to:) {text}"))
            else:
                labels = " ".join(f"[{label}]" for label, _ in sent.buttons) or "none"
                chat.log.append(("Bot", f"(changes the inline message's buttons to:) {labels}"))
            at = _now()
            self.inline_edits.append(at)
            self.inline_edit_log.append(InlineEdit(at, method, inline_message_id))
        return _ok(True)

    def _api_editmessagetext(self, token: str, params: dict[str, Any]) -> JSONResponse:
        if params.get("chat_id") is None and params.get("inline_message_id") is not None:
            return self._edit_inline("editMessageText", params)
        found = self._find_sent(params)
        if isinstance(found, JSONResponse):
            return found
        chat, sent = found
        text, markup = str(params.get("text", "")), params.get("reply_markup")
        problem = _markup_problem(markup)
        if problem is not None:
            return _error(400, problem)
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
        if params.get("chat_id") is None and params.get("inline_message_id") is not None:
            return self._edit_inline("editMessageReplyMarkup", params)
        found = self._find_sent(params)
        if isinstance(found, JSONResponse):
            return found
        chat, sent = found
        problem = _markup_problem(params.get("reply_markup"))
        if problem is not None:
            return _error(400, problem)
        if _inline(params.get("reply_markup")) == _inline(sent.reply_markup):
            return _not_modified()
        with self._cond:
            sent.edits.append(_printable(params))
            sent.reply_markup = params.get("reply_markup")
            chat.messages[sent.message_id] = self._message_json(chat, sent)
            return _ok(chat.messages[sent.message_id])

    def _api_editmessagemedia(self, token: str, params: dict[str, Any]) -> JSONResponse:
        """editMessageMedia of a chat's photo or document: `media` is an InputMedia (type photo or
        document; its file uploaded as "attach://<part>", or a file_id), with its caption. The
        file and caption are checked as sendPhoto / sendDocument check theirs; a message without
        media cannot take one, and the same file, caption and buttons are "not modified"."""
        found = self._find_sent(params)
        if isinstance(found, JSONResponse):
            return found
        chat, sent = found
        media, markup = params.get("media"), params.get("reply_markup")
        if not isinstance(media, dict) or media.get("type") not in ("photo", "document"):
            return _error(400, "Bad Request: can't parse InputMedia: media type is not photo or document")
        if sent.method not in ("sendPhoto", "sendDocument"):
            return _error(400, "Bad Request: there is no media in the message to edit")
        problem = _markup_problem(markup)
        if problem is not None:
            return _error(400, problem)
        kind, value = str(media["type"]), media.get("media")
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        caption = None if media.get("caption") is None else str(media["caption"])
        if _caption_length(caption or "", media.get("parse_mode")) > CAPTION_MAX:
            return _error(400, "Bad Request: message caption is too long")
        with self._cond:
            stored = self._file(token, kind, value)
            if isinstance(stored, JSONResponse):
                return stored
            same_file = sent.file_id is not None and stored.file_unique_id == (
                self.files[sent.file_id].file_unique_id
            )
            if same_file and caption == sent.caption and _inline(markup) == _inline(sent.reply_markup):
                return _not_modified()
            self.files[stored.file_id] = stored
            sent.edits.append(_printable(params))
            sent.method = "sendPhoto" if kind == "photo" else "sendDocument"
            sent.photo = stored.data if kind == "photo" else None
            sent.document = stored.data if kind == "document" else None
            sent.filename, sent.file_id, sent.caption = stored.filename, stored.file_id, caption
            sent.reply_markup = markup
            chat.log.append(("Bot", f"(changes its message {sent.message_id} to:) {_describe(sent)}"))
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


def start_payload(url: str) -> str | None:
    """The deep-link payload of a link: `https://t.me/<bot>?start=<payload>` (or tg://resolve?...
    &start=...) → "<payload>", percent-escapes decoded; None if it has no start parameter."""
    values = parse_qs(urlsplit(url).query, keep_blank_values=True).get("start")
    return values[0] if values else None


def _url_ok(url: Any) -> bool:
    """Whether a url button's url is one Telegram takes: http(s) with a host, or tg://...

    Deliberately stricter than Telegram: a t.me / telegram.me link's ?start= (or ?startgroup=)
    payload must be a valid deep-link payload, [A-Za-z0-9_-]{1,64}. Telegram accepts the button
    and only the app drops a bad payload when the link is opened; here the send is refused, so a
    broken deep link fails the test of whatever built it."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme == "tg":
        return bool(parts.netloc or parts.path.strip("/"))
    if scheme not in ("http", "https") or not parts.hostname:
        return False
    if parts.hostname.lower() in TME_HOSTS:
        query = parse_qs(parts.query, keep_blank_values=True)
        payloads = [*query.get("start", []), *query.get("startgroup", [])]
        return all(START_PAYLOAD.fullmatch(payload) for payload in payloads)
    return True


def _button_problem(button: Any) -> str | None:
    """Why Telegram would refuse this inline keyboard button (None: it takes it). It must do
    exactly one thing, one of BUTTON_KINDS, as the Bot API reference says (two at once is refused
    with BUTTON_TYPE_INVALID: the fake's wording); callback_data is 1-64 bytes (UTF-8); a url is
    http(s) with a host or tg://, and a t.me deep link's payload is checked (see _url_ok)."""
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        return 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String'
    kinds = [kind for kind in BUTTON_KINDS if button.get(kind) is not None]
    if not kinds:
        return (
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the "
            "inline keyboard"
        )
    if len(kinds) > 1:
        return "Bad Request: BUTTON_TYPE_INVALID"
    kind, value = kinds[0], button[kinds[0]]
    if kind == "callback_data" and (not isinstance(value, str) or not 1 <= len(value.encode()) <= 64):
        return "Bad Request: BUTTON_DATA_INVALID"
    if kind == "url" and not _url_ok(value):
        return "Bad Request: BUTTON_URL_INVALID"
    text_kinds = ("switch_inline_query", "switch_inline_query_current_chat")
    if kind in text_kinds and not isinstance(value, str):
        return f'Bad Request: can\'t parse inline keyboard button: Field "{kind}" must be of type String'
    return None


def _markup_problem(markup: Any) -> str | None:
    """Why Telegram would refuse a reply_markup's inline keyboard (None: fine, or not one)."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return 'Bad Request: can\'t parse inline keyboard: Field "inline_keyboard" must be of type Array'
    for row in rows:
        for button in row:
            problem = _button_problem(button)
            if problem is not None:
                return problem
    return None


def _results_problem(results: Any) -> str | None:
    """Why Telegram would refuse these answerInlineQuery results (None: it takes them). At most
    50; each has a string `type` it knows and a string `id` of 1-64 bytes, unique in the answer; an
    article has a title and a text input_message_content (the only content the fake knows); an
    inline keyboard is checked as in sendMessage."""
    if not isinstance(results, list):
        return "Bad Request: can't parse inline query results JSON object"
    if len(results) > 50:
        return "Bad Request: RESULTS_TOO_MUCH"
    seen: set[str] = set()
    for result in results:
        if not isinstance(result, dict):
            return "Bad Request: can't parse inline query result: expected an Object"
        for key in ("type", "id"):
            if key not in result:
                return f"Bad Request: can't parse inline query result: Can't find field \"{key}\""
            if not isinstance(result[key], str):
                return f'Bad Request: can\'t parse inline query result: Field "{key}" must be of type String'
        if not 1 <= len(result["id"].encode()) <= 64:
            return "Bad Request: RESULT_ID_INVALID"
        if result["id"] in seen:
            return "Bad Request: RESULT_ID_DUPLICATE"
        seen.add(result["id"])
        if result["type"] not in RESULT_TYPES:
            return "Bad Request: RESULT_TYPE_INVALID"
        problem = _article_problem(result) if result["type"] == "article" else None
        problem = problem or _markup_problem(result.get("reply_markup"))
        if problem is not None:
            return problem
    return None


def _article_problem(result: dict[str, Any]) -> str | None:
    """Why Telegram would refuse an InlineQueryResultArticle (None: fine)."""
    title, content = result.get("title"), result.get("input_message_content")
    for key, value, kind in (("title", title, str), ("input_message_content", content, dict)):
        if value is None:
            return f"Bad Request: can't parse inline query result: Can't find field \"{key}\""
        if not isinstance(value, kind):
            return f'Bad Request: can\'t parse inline query result: Field "{key}" has wrong type'
    if not str(title).strip():
        return "Bad Request: ARTICLE_TITLE_EMPTY"
    assert isinstance(content, dict)
    text = content.get("message_text")
    if not isinstance(text, str):
        return "Bad Request: can't parse input message content: Can't find field \"message_text\""
    if not text.strip():
        return "Bad Request: MESSAGE_EMPTY"
    if len(text) > 4096:
        return "Bad Request: MESSAGE_TOO_LONG"
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, the first after the signature (None: it is not
    there, or a side is 0: not an image Telegram can process)."""
    if len(data) < 24 or data[8:16] != b"\x00\x00\x00\x0dIHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame segment (None: no well-formed one)."""
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            at += 2
            continue
        if marker == 0xD9:  # end of image before any frame
            return None
        length = int.from_bytes(data[at + 2 : at + 4], "big")
        if marker in JPEG_SOF:
            if length < 7 or at + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return (width, height) if width and height else None
        if length < 2:
            return None
        at += 2 + length
    return None


def _caption_length(caption: str, parse_mode: Any) -> int:
    """A caption's length as Telegram limits it, in characters after entity parsing: with
    parse_mode HTML without its tags, entities unescaped (Markdown is counted as it is)."""
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        return len(html.unescape(re.sub(r"<[^>]*>", "", caption)))
    return len(caption)


def _describe(sent: Sent) -> str:
    """One sent message for a transcript: its text, then its buttons. A photo is "(photo)
    caption", a document "(document statement.pdf) caption"."""
    prefix = {"sendPhoto": "(photo)", "sendDocument": "(document)"}.get(sent.method)
    if sent.method == "sendDocument" and sent.filename:
        prefix = f"(document {sent.filename})"
    text = sent.body if prefix is None else prefix + (f" {sent.body}" if sent.body else "")
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
    """Parse multipart/form-data with the standard library (python-multipart is not installed).
    A file part (one with a filename) is an Upload: its exact bytes, and its `filename`."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    out: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        out[str(name)] = Upload(payload, filename) if filename is not None else payload.decode()
    return out

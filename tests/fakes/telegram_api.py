"""A local fake of the Telegram Bot API, for end-to-end tests of the bot (and of the backend's
OTP DMs and notices, which go to the same `{url}/bot{token}/sendMessage`).

    server = FakeTelegram(); server.start()           # uvicorn in a thread, 127.0.0.1:<free port>
    server.url                                         # TELEGRAM_API_URL for the bot and backend
    server.send_text(chat_id, "/start")                # a user types
    sent = await server.next_message(chat_id)          # the bot's next message to that chat
    server.press(chat_id, sent.data_of("Confirm"))     # the user presses an inline button
    server.press(chat_id, data, copies=2)              # Telegram delivers that update twice
    server.block(chat_id)                              # sendMessage → 403 Forbidden from now on
    print(server.transcript(chat_id))                  # the chat as its user saw it

Implements what PTB 22 calls: getMe, getUpdates (long polling, offset semantics), setWebhook,
deleteWebhook, getWebhookInfo, setMyCommands, sendMessage, sendPhoto (multipart), editMessageText,
editMessageReplyMarkup, deleteMessage, answerCallbackQuery, close/logOut. Any other method is
logged, recorded in `unknown_methods`, and answered `ok: true`.

Like the real server it refuses (400) a second answer to one callback query ("query is too old
... or query ID is invalid") and an edit that changes nothing ("message is not modified").
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import itertools
import json
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass, field
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


class TelegramFakeTimeout(AssertionError):
    """A wait helper gave up: the bot did not do what the test expected in time."""


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
    """One private chat between a user and the bot."""

    chat_id: int
    first_name: str
    language_code: str
    blocked: bool = False
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # message_id → JSON
    sent: list[Sent] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    read: int = 0  # index in `sent` of the next message next_message() returns
    log: list[tuple[str, str]] = field(default_factory=list)  # (who, what), in order: transcript()
    message_ids: itertools.count = field(default_factory=lambda: itertools.count(1))


class FakeTelegram:
    """The fake server and its test helpers (thread-safe: the server runs in its own thread)."""

    def __init__(self, token: str = "123456:TEST-TOKEN") -> None:
        self.token = token
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
        """The user blocks (or unblocks) the bot: sends to them fail with 403."""
        self.chat(chat_id).blocked = blocked

    def _user_json(self, chat: Chat) -> dict[str, Any]:
        return {
            "id": chat.chat_id,
            "is_bot": False,
            "first_name": chat.first_name,
            "language_code": chat.language_code,
        }

    def _chat_json(self, chat: Chat) -> dict[str, Any]:
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

    def _user_message(self, chat_id: int, extra: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(chat_id)
        with self._cond:
            message = {
                "message_id": next(chat.message_ids),
                "date": int(time.time()),
                "chat": self._chat_json(chat),
                "from": self._user_json(chat),
                **extra,
            }
            chat.messages[message["message_id"]] = message
        return message

    def send_text(self, chat_id: int, text: str, *, token: str | None = None) -> int:
        """The user types `text` (a leading /command gets its bot_command entity). → message_id"""
        extra: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            extra["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        message = self._user_message(chat_id, extra)
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
        """Wait for a DM holding a 6-digit code (the backend's OTP message) and return the code."""
        sent = await self.wait_for(chat_id, lambda s: s.otp() is not None, timeout)
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
        token, method = request.path_params["token"], request.path_params["method"]
        params = await _read_params(request)
        with self._cond:
            self.calls.append((method, {k: v for k, v in params.items() if not isinstance(v, bytes)}))
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            logger.warning("fake Telegram: unknown method %s %s", method, params)
            self.unknown_methods.append(method)
            return _ok(True)
        if method.lower() == "getupdates":
            return await handler(token, params)
        return handler(token, params)

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
        if chat.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        with self._cond:
            message_id = next(chat.message_ids)
            markup = params.get("reply_markup")
            sent = Sent(
                chat.chat_id,
                message_id,
                method,
                reply_markup=markup,
                params=_printable(params),
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
        if chat.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
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
        message_id = int(params["message_id"])
        with self._cond:
            if message_id not in chat.messages or message_id in chat.deleted:
                return _error(400, "Bad Request: message to delete not found")
            chat.deleted.append(message_id)
            chat.log.append(("Bot", "(deletes your message)"))
        return _ok(True)


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

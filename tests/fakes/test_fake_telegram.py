"""The fake Telegram Bot API is as strict as Telegram: rate limits, injected faults, dead chats,
groups and inline mode, keyboards.

Plain HTTP calls against a started FakeTelegram (no bot); small windows where waiting would be long;
one test drives it with PTB's own Bot, as the wallet bot does.
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputMediaDocument,
    InputMediaPhoto,
    InputTextMessageContent,
    Message,
)
from telegram.error import BadRequest

from tests.fakes.telegram_api import (
    BOT_USERNAME,
    DOCUMENT_MAX_BYTES,
    PHOTO_MAX_BYTES,
    QUERY_INVALID,
    WRONG_FILE,
    FakeTelegram,
    Limits,
    start_payload,
)

GROUP = -100_123
_clients: dict[int, httpx.Client] = {}  # id(server) → a client kept open (a new one costs ~30 ms)


@pytest.fixture
def make_server() -> Iterator[Any]:
    """make(**FakeTelegram arguments) → a started server; all are stopped at the end."""
    servers: list[FakeTelegram] = []

    def make(**kwargs: Any) -> FakeTelegram:
        server = FakeTelegram(**kwargs).start()
        servers.append(server)
        _clients[id(server)] = httpx.Client(base_url=server.url, timeout=5)
        return server

    yield make
    for server in servers:
        _clients.pop(id(server)).close()
        server.stop()


def call(server: FakeTelegram, method: str, *, token: str | None = None, **params: Any) -> httpx.Response:
    """One Bot API call, parameters as JSON."""
    return _clients[id(server)].post(f"/bot{token or server.token}/{method}", json=params)


def send(server: FakeTelegram, chat_id: int, text: str = "hi", **params: Any) -> httpx.Response:
    return call(server, "sendMessage", chat_id=chat_id, text=text, **params)


async def send_all(server: FakeTelegram, chat_ids: list[int]) -> list[httpx.Response]:
    """Send to every chat at once (concurrent requests)."""
    async with httpx.AsyncClient(timeout=5, limits=httpx.Limits(max_connections=100)) as client:
        url = f"{server.url}/bot{server.token}/sendMessage"
        return await asyncio.gather(*(client.post(url, json={"chat_id": c, "text": "hi"}) for c in chat_ids))


def updates(server: FakeTelegram) -> list[dict[str, Any]]:
    """Every pending update (confirmed, so the next call gets only newer ones)."""
    pending = call(server, "getUpdates", timeout=0).json()["result"]
    if pending:
        call(server, "getUpdates", timeout=0, offset=pending[-1]["update_id"] + 1)
    return list(pending)


def keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    """An inline keyboard, one button a row."""
    return {"inline_keyboard": [[button] for button in buttons]}


def article(result_id: str, text: str = "Bill BL-1: Rp5.000", **fields: Any) -> dict[str, Any]:
    """An InlineQueryResultArticle as JSON."""
    return {
        "type": "article",
        "id": result_id,
        "title": f"Result {result_id}",
        "input_message_content": {"message_text": text},
        **fields,
    }


def upload(
    server: FakeTelegram, method: str, field: str, data: bytes, filename: str = "file", **form: Any
) -> httpx.Response:
    """sendPhoto / sendDocument as PTB sends them: multipart, the file in the part `field`."""
    return _clients[id(server)].post(
        f"/bot{server.token}/{method}",
        data={k: str(v) for k, v in form.items()},
        files={field: (filename, data, "application/octet-stream")},
    )


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG (greyscale, all black) of this size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg(width: int = 4, height: int = 3) -> bytes:
    """The frame of a JPEG (SOI, APP0, baseline SOF0 of this size, EOI): what gives its size."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n\xe2\xe3\xcf\xd3\r\n\x00\xff trailer\n%%EOF\n"


def codes(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


def assert_too_many(response: httpx.Response) -> int:
    """The response is Telegram's 429; → its retry_after."""
    assert response.status_code == 429
    body = response.json()
    retry_after = body["parameters"]["retry_after"]
    assert isinstance(retry_after, int) and retry_after >= 1
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }
    return int(retry_after)


# -- rate limits ----------------------------------------------------------------------------------
async def test_a_burst_to_31_chats_delivers_30(make_server: Any) -> None:
    server = make_server()
    responses = await send_all(server, list(range(1, 32)))
    assert sorted(codes(responses)) == [200] * 30 + [429]
    refused = next(r for r in responses if r.status_code == 429)
    assert assert_too_many(refused) >= 1
    assert len(server.deliveries()) == 30
    assert [(r.scope, r.method) for r in server.limit_refusals] == [("overall", "sendMessage")]
    assert server.max_in_window(1.0) == 30
    # the overall limit is per bot token: another bot may still send
    assert send(server, 1, token="999:OTHER").status_code == 200


def test_five_quick_sends_to_one_chat_deliver_four_then_the_window_admits_again(make_server: Any) -> None:
    server = make_server()
    responses = [send(server, 42, f"m{i}") for i in range(5)]
    assert codes(responses) == [200, 200, 200, 200, 429]
    assert assert_too_many(responses[4]) == 1
    assert [(r.scope, r.chat_id) for r in server.limit_refusals] == [("chat", 42)]
    assert [s.text for s in server.sent(42)] == ["m0", "m1", "m2", "m3"]
    assert send(server, 43).status_code == 200  # another chat is not held up
    time.sleep(1.0)
    assert send(server, 42, "later").status_code == 200
    assert server.sent(42)[-1].text == "later"


async def test_concurrent_sends_to_one_chat_deliver_exactly_four(make_server: Any) -> None:
    server = make_server()
    responses = await send_all(server, [7] * 12)
    assert sorted(codes(responses)) == [200] * 4 + [429] * 8
    assert len(server.sent(7)) == 4
    assert len(server.limit_refusals) == 8
    assert server.refusals_for(7, 429) == 8


def test_a_private_chat_is_held_to_about_one_a_second(make_server: Any) -> None:
    """Bursts of 4 spaced past the short window still hit the longer one (13 per 10 s)."""
    server = make_server(limits=Limits().scaled(0.1))  # 4 per 0.1 s, 13 per 1 s, 63 per 6 s
    results = []
    for _ in range(4):
        results += codes([send(server, 5) for _ in range(4)])
        time.sleep(0.15)
    assert results.count(200) == 13
    assert results[:13] == [200] * 13 and set(results[13:]) == {429}
    assert {r.scope for r in server.limit_refusals} == {"chat"}
    assert server.max_in_window(1.0, 5) == 13
    assert server.max_in_window(0.1, 5) <= 4


def test_edits_and_deletes_count_like_sends(make_server: Any) -> None:
    server = make_server()
    ids = [send(server, 8, f"m{i}").json()["result"]["message_id"] for i in range(3)]
    assert call(server, "editMessageText", chat_id=8, message_id=ids[0], text="new").status_code == 200
    edit = call(server, "editMessageText", chat_id=8, message_id=ids[1], text="new")
    delete = call(server, "deleteMessage", chat_id=8, message_id=ids[2])
    action = call(server, "sendChatAction", chat_id=8, action="typing")
    assert codes([edit, delete, action]) == [429, 429, 429]
    assert [r.method for r in server.limit_refusals] == ["editMessageText", "deleteMessage", "sendChatAction"]
    assert server.max_in_window(1.0, 8, requests=True) == 4
    assert server.max_in_window(1.0, 8) == 3  # messages delivered


def test_a_group_gets_20_a_minute(make_server: Any) -> None:
    server = make_server()
    responses = [send(server, GROUP, f"g{i}") for i in range(21)]
    assert codes(responses) == [200] * 20 + [429]
    assert 55 <= assert_too_many(responses[20]) <= 60
    assert [(r.scope, r.chat_id) for r in server.limit_refusals] == [("group", GROUP)]
    assert server.max_in_window(60, GROUP) == 20
    assert responses[0].json()["result"]["chat"]["type"] == "group"


def test_a_group_window_admits_again(make_server: Any) -> None:
    server = make_server(limits=Limits(group=((0.5, 20),)))
    assert codes([send(server, GROUP) for _ in range(21)]) == [200] * 20 + [429]
    time.sleep(0.5)
    assert send(server, GROUP).status_code == 200


def test_get_methods_and_requests_without_a_chat_are_never_limited(make_server: Any) -> None:
    server = make_server(limits=Limits(overall=((10.0, 1),), private=((10.0, 1),)))
    for _ in range(40):
        assert call(server, "getMe").status_code == 200
        assert call(server, "getUpdates", timeout=0).status_code == 200
        assert call(server, "getChat", chat_id=9).status_code == 200
        assert call(server, "answerCallbackQuery", callback_query_id="x").status_code in (200, 400)
        assert call(server, "setMyCommands", commands=[]).status_code == 200
    assert server.limit_refusals == []
    assert send(server, 9).status_code == 200
    assert send(server, 10).status_code == 429  # the (tiny) overall limit


def test_refused_requests_are_not_counted(make_server: Any) -> None:
    server = make_server()
    server.block(11)
    assert codes([send(server, 11) for _ in range(10)]) == [403] * 10
    server.block(11, blocked=False)
    assert codes([send(server, 11) for _ in range(5)]) == [200] * 4 + [429]
    assert codes([send(server, 11) for _ in range(3)]) == [429] * 3  # 429s do not count either
    assert len(server.limit_refusals) == 4


def test_without_limits_everything_is_accepted(make_server: Any) -> None:
    server = make_server(limits=None)
    assert codes([send(server, 12, f"m{i}") for i in range(50)]) == [200] * 50
    assert codes([send(server, GROUP) for _ in range(30)]) == [200] * 30
    assert server.limit_refusals == []
    assert len(server.deliveries()) == 80


# -- injected faults ------------------------------------------------------------------------------
def test_an_injected_429_is_not_a_limit_refusal(make_server: Any) -> None:
    server = make_server()
    fault = server.inject("429", rate=1.0, retry_after=3)
    response = send(server, 13)
    assert assert_too_many(response) == 3
    assert call(server, "getMe").status_code == 200  # only counted requests by default
    assert server.limit_refusals == []
    assert [(i.fault, i.method, i.chat_id) for i in server.injected] == [("429", "sendMessage", 13)]
    assert server.sent(13) == [] and fault.hits == 1
    fault.cancel()
    assert send(server, 13).status_code == 200


def test_an_injected_502_and_other_server_errors(make_server: Any) -> None:
    server = make_server()
    with server.inject("502"):
        response = send(server, 14)
        assert response.status_code == 502
        assert response.json() == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
    with server.inject(503, methods=["getUpdates"]):
        assert call(server, "getUpdates", timeout=0).status_code == 503
        assert send(server, 14, "through").status_code == 200
    assert [s.text for s in server.sent(14)] == ["through"]
    assert [i.fault for i in server.injected] == ["502", "503"]
    assert server.refusals_for(14) == 1


async def test_a_slow_request_is_served_late_without_blocking_others(make_server: Any) -> None:
    server = make_server(limits=None)
    server.inject("slow", delay=0.4, chats=[15])
    async with httpx.AsyncClient(base_url=f"{server.url}/bot{server.token}", timeout=5) as client:
        started = time.monotonic()
        slow = asyncio.create_task(client.post("/sendMessage", json={"chat_id": 15, "text": "late"}))
        await asyncio.sleep(0.05)
        quick = await client.post("/sendMessage", json={"chat_id": 16, "text": "quick"})
        assert quick.status_code == 200 and time.monotonic() - started < 0.3
        assert (await slow).status_code == 200
    assert time.monotonic() - started >= 0.4
    assert server.sent(15)[0].at - started >= 0.4
    assert [s.text for s in server.deliveries()] == ["quick", "late"]
    assert [i.fault for i in server.injected] == ["slow"]


def test_a_timeout_holds_the_request_and_delivers_nothing(make_server: Any) -> None:
    server = make_server()
    server.inject("timeout", delay=0.5)
    with pytest.raises(httpx.ReadTimeout):
        _clients[id(server)].post(f"/bot{server.token}/sendMessage", json={"chat_id": 17}, timeout=0.2)
    started = time.monotonic()
    response = send(server, 17)  # a patient client gets the 504
    assert response.status_code == 504 and time.monotonic() - started >= 0.5
    time.sleep(0.4)
    assert server.sent(17) == []
    assert [i.fault for i in server.injected] == ["timeout", "timeout"]
    assert server.refusals_for(17, 504) == 2


def test_faults_are_reproducible_and_bounded_in_time(make_server: Any) -> None:
    def pattern(seed: int) -> list[int]:
        server = make_server(limits=None, seed=seed)
        server.inject("502", rate=0.5)
        return codes([send(server, 18) for _ in range(30)])

    first = pattern(7)
    assert first == pattern(7)
    assert 5 <= first.count(502) <= 25

    server = make_server(limits=None)
    server.inject("502", seconds=0.3)
    assert send(server, 19).status_code == 502
    time.sleep(0.35)
    assert send(server, 19).status_code == 200
    with pytest.raises(ValueError):
        server.inject("teapot")


# -- dead chats -----------------------------------------------------------------------------------
def every_kind_of_request(server: FakeTelegram, chat_id: int, message_id: int) -> list[int]:
    """sendMessage, sendPhoto (multipart), editMessageText, editMessageReplyMarkup, deleteMessage."""
    photo = upload(server, "sendPhoto", "photo", png(), "qr.png", chat_id=chat_id, caption="qr")
    return [
        send(server, chat_id).status_code,
        photo.status_code,
        call(server, "editMessageText", chat_id=chat_id, message_id=message_id, text="new").status_code,
        call(server, "editMessageReplyMarkup", chat_id=chat_id, message_id=message_id).status_code,
        call(server, "deleteMessage", chat_id=chat_id, message_id=message_id).status_code,
    ]


def test_a_vanished_chat_is_not_found_and_a_blocked_one_forbidden(make_server: Any) -> None:
    server = make_server(limits=None)
    gone, blocker = 20, 21
    ids = {c: send(server, c).json()["result"]["message_id"] for c in (gone, blocker)}
    server.vanish(gone)
    server.block(blocker)
    assert every_kind_of_request(server, gone, ids[gone]) == [400] * 5
    assert every_kind_of_request(server, blocker, ids[blocker]) == [403] * 5
    assert send(server, gone).json()["description"] == "Bad Request: chat not found"
    assert send(server, blocker).json()["description"] == "Forbidden: bot was blocked by the user"
    assert server.refusals_for(gone) == 6 and server.refusals_for(gone, 400) == 6
    assert server.refusals_for(blocker, 403) == 6
    assert server.refusals_for(22) == 0
    assert [len(server.sent(c)) for c in (gone, blocker)] == [1, 1]
    server.vanish(gone, vanished=False)
    assert send(server, gone).status_code == 200


def test_deliveries_are_stamped_in_time_order(make_server: Any) -> None:
    server = make_server(limits=None)
    before = time.monotonic()
    for chat_id in (30, 31, 30, GROUP):
        send(server, chat_id, f"to {chat_id}")
    delivered = server.deliveries()
    assert [s.chat_id for s in delivered] == [30, 31, 30, GROUP]
    assert all(before <= s.at <= time.monotonic() for s in delivered)
    assert [s.at for s in delivered] == sorted(s.at for s in delivered)
    assert server.max_in_window(10) == 4 and server.max_in_window(10, 30) == 2
    assert server.max_in_window(1e-9) == 1


# -- groups: members, replies, supergroups --------------------------------------------------------
SARI, BUDI = 501, 502


def test_a_reply_carries_the_message_it_replies_to(make_server: Any) -> None:
    server = make_server(limits=None)
    server.chat(SARI, "Sari")
    server.chat(BUDI, "Budi")
    server.chat(GROUP, "Kos Melati")
    asked = server.send_text(GROUP, "siapa yang bayar listrik?", sender=SARI)
    answer = server.send_text(GROUP, "aku", sender=BUDI, reply_to=asked)
    bot_id = send(server, GROUP, "Pointer to the private chat").json()["result"]["message_id"]
    thanks = server.send_text(GROUP, "ok", sender=SARI, reply_to=bot_id)
    messages = [u["message"] for u in updates(server)]
    assert [m["message_id"] for m in messages] == [asked, answer, thanks]
    assert messages[0]["from"]["id"] == SARI and "reply_to_message" not in messages[0]
    replied = messages[1]["reply_to_message"]
    assert replied["message_id"] == asked and replied["text"] == "siapa yang bayar listrik?"
    assert replied["from"] == {"id": SARI, "is_bot": False, "first_name": "Sari", "language_code": "en"}
    assert messages[1]["from"]["id"] == BUDI and messages[1]["chat"]["id"] == GROUP
    assert messages[2]["reply_to_message"]["from"]["is_bot"] is True
    # one level deep, as Telegram: a reply to a reply does not carry the first message
    again = server.send_text(GROUP, "makasih", sender=SARI, reply_to=answer)
    nested = updates(server)[0]["message"]["reply_to_message"]
    assert nested["message_id"] == answer and "reply_to_message" not in nested
    assert server.chat(GROUP).messages[again]["reply_to_message"]["message_id"] == answer
    transcript = server.transcript(GROUP)
    assert "Budi: (replying to Sari) aku" in transcript
    assert "Sari: (replying to Mata Duitan) ok" in transcript
    with pytest.raises(AssertionError, match="no message 999"):
        server.send_text(GROUP, "?", sender=SARI, reply_to=999)
    call(server, "deleteMessage", chat_id=GROUP, message_id=bot_id)
    with pytest.raises(AssertionError):
        server.send_text(GROUP, "?", sender=SARI, reply_to=bot_id)


def test_a_group_can_be_a_supergroup(make_server: Any) -> None:
    server = make_server(limits=None)
    basic, big = -100_1, -100_2
    server.chat(big, "Arisan RT 05", kind="supergroup")
    assert send(server, basic).json()["result"]["chat"] == {"id": basic, "type": "group", "title": "Tester"}
    assert send(server, big).json()["result"]["chat"] == {
        "id": big,
        "type": "supergroup",
        "title": "Arisan RT 05",
    }
    server.send_text(big, "/me", sender=SARI)
    assert updates(server)[0]["message"]["chat"]["type"] == "supergroup"
    assert send(server, 40).json()["result"]["chat"]["type"] == "private"
    server.chat(big, kind="group")  # an existing chat changes kind; its title stays
    assert send(server, big).json()["result"]["chat"]["type"] == "group"
    with pytest.raises(ValueError):
        server.chat(40, kind="supergroup")  # a private chat is private
    with pytest.raises(ValueError):
        server.chat(basic, kind="channel")


def test_a_member_presses_a_button_in_a_group(make_server: Any) -> None:
    server = make_server(limits=None)
    server.chat(BUDI, "Budi")
    send(server, GROUP, "Split the bill?", reply_markup=keyboard({"text": "Join", "callback_data": "join"}))
    query_id = server.press(GROUP, "join", sender=BUDI)
    default = server.press(GROUP, "join")
    first, second = (u["callback_query"] for u in updates(server))
    assert first["id"] == query_id and second["id"] == default
    assert first["from"]["id"] == BUDI and first["from"]["first_name"] == "Budi"
    assert first["message"]["chat"]["id"] == GROUP and first["message"]["text"] == "Split the bill?"
    assert second["from"]["id"] == GROUP  # unchanged without a sender
    assert "Budi: (presses Join)" in server.transcript(GROUP)


def test_get_me_describes_an_inline_bot_that_joins_groups(make_server: Any) -> None:
    me = call(make_server(), "getMe").json()["result"]
    assert me["username"] == BOT_USERNAME and me["is_bot"] is True
    assert me["supports_inline_queries"] is True and me["can_join_groups"] is True


# -- inline mode: queries and answers -------------------------------------------------------------
def test_an_inline_query_reaches_the_bot_and_is_answered_once(make_server: Any) -> None:
    server = make_server(limits=None)
    server.chat(SARI, "Sari", "id")
    query_id = server.inline_query(SARI, "pay BL-1", chat_type="group")
    (update,) = updates(server)
    assert update["inline_query"] == {
        "id": query_id,
        "from": {"id": SARI, "is_bot": False, "first_name": "Sari", "language_code": "id"},
        "query": "pay BL-1",
        "offset": "",
        "chat_type": "group",
    }
    results = [article("r1"), article("r2", reply_markup=keyboard({"text": "Pay", "callback_data": "p"}))]
    answer = call(server, "answerInlineQuery", inline_query_id=query_id, results=results, cache_time=0)
    assert answer.json() == {"ok": True, "result": True}
    assert server.inline_results(query_id) == results
    assert server.inline_answers[query_id]["cache_time"] == 0
    again = call(server, "answerInlineQuery", inline_query_id=query_id, results=results)
    unknown = call(server, "answerInlineQuery", inline_query_id="424242", results=results)
    for refused in (again, unknown):
        assert refused.status_code == 400
        assert refused.json() == {"ok": False, "error_code": 400, "description": QUERY_INVALID}
    assert len(server.refused_inline_answers) == 2
    other = server.inline_query(SARI, "x")  # another bot cannot answer it
    assert (
        call(server, "answerInlineQuery", token="999:OTHER", inline_query_id=other, results=[]).status_code
        == 400
    )
    assert server.inline_queries[other]["chat_type"] == "sender"  # the default
    with pytest.raises(ValueError):
        server.inline_query(SARI, "x", chat_type="secret")
    with pytest.raises(ValueError):
        server.inline_query(SARI, "x" * 257)
    with pytest.raises(AssertionError, match="not answered"):
        server.inline_results(other)


def test_form_encoded_results_arrive_as_a_json_string(make_server: Any) -> None:
    server = make_server(limits=None)
    query_id = server.inline_query(SARI, "bills")
    form = {"inline_query_id": query_id, "results": json.dumps([article("a")])}
    response = _clients[id(server)].post(f"/bot{server.token}/answerInlineQuery", data=form)
    assert response.status_code == 200
    assert server.inline_results(query_id)[0]["input_message_content"]["message_text"] == "Bill BL-1: Rp5.000"


BAD_RESULTS = [
    (
        [{"type": "article", "title": "t", "input_message_content": {"message_text": "m"}}],
        'Can\'t find field "id"',
    ),
    ([{"id": "1", "title": "t", "input_message_content": {"message_text": "m"}}], 'Can\'t find field "type"'),
    ([{**article("x"), "id": 7}], 'Field "id" must be of type String'),
    ([article("")], "RESULT_ID_INVALID"),
    ([article("é" * 33)], "RESULT_ID_INVALID"),  # 66 bytes
    ([article("same"), article("same")], "RESULT_ID_DUPLICATE"),
    ([{**article("x"), "type": "poem"}], "RESULT_TYPE_INVALID"),
    ([{k: v for k, v in article("x").items() if k != "title"}], 'Can\'t find field "title"'),
    ([{**article("x"), "title": " "}], "ARTICLE_TITLE_EMPTY"),
    ([{k: v for k, v in article("x").items() if k != "input_message_content"}], "input_message_content"),
    ([{**article("x"), "input_message_content": {"parse_mode": "HTML"}}], 'Can\'t find field "message_text"'),
    ([article("x", text="")], "MESSAGE_EMPTY"),
    ([article("x", text="a" * 4097)], "MESSAGE_TOO_LONG"),
    ([article(str(i)) for i in range(51)], "RESULTS_TOO_MUCH"),
    (
        [article("x", reply_markup=keyboard({"text": "Pay", "callback_data": "p" * 65}))],
        "BUTTON_DATA_INVALID",
    ),
    ("not a list", "can't parse inline query results"),
]


@pytest.mark.parametrize(("results", "description"), BAD_RESULTS)
def test_results_telegram_would_refuse_are_refused(make_server: Any, results: Any, description: str) -> None:
    server = make_server(limits=None)
    query_id = server.inline_query(SARI, "q")
    response = call(server, "answerInlineQuery", inline_query_id=query_id, results=results)
    assert response.status_code == 400
    assert response.json()["description"].startswith("Bad Request: ")
    assert description in response.json()["description"]
    assert query_id not in server.inline_answers
    fine = [article("é" * 32), article("1"), {"type": "photo", "id": "p", "photo_url": "https://x/p.jpg"}]
    assert call(server, "answerInlineQuery", inline_query_id=query_id, results=fine).status_code == 200


def test_answering_inline_queries_is_not_rate_limited(make_server: Any) -> None:
    server = make_server(limits=Limits(overall=((10.0, 1),), private=((10.0, 1),)))
    ids = [server.inline_query(SARI, f"q{i}") for i in range(10)]
    answers = [call(server, "answerInlineQuery", inline_query_id=q, results=[article("a")]) for q in ids]
    assert codes(answers) == [200] * 10
    assert server.limit_refusals == [] and server.counted_requests == []


async def test_wait_inline_answer_waits_for_the_answer(make_server: Any) -> None:
    server = make_server(limits=None)
    query_id = server.inline_query(SARI, "q")
    with pytest.raises(TimeoutError):  # TelegramFakeTimeout is an AssertionError, not this
        await asyncio.wait_for(server.wait_inline_answer(query_id, timeout=5), 0.1)

    async def answer_later() -> None:
        await asyncio.sleep(0.1)
        async with httpx.AsyncClient(base_url=f"{server.url}/bot{server.token}") as client:
            await client.post(
                "/answerInlineQuery", json={"inline_query_id": query_id, "results": [article("a")]}
            )

    task = asyncio.create_task(answer_later())
    assert [r["id"] for r in await server.wait_inline_answer(query_id, timeout=5)] == ["a"]
    await task
    with pytest.raises(AssertionError, match="not answered"):
        await server.wait_inline_answer(server.inline_query(SARI, "never"), timeout=0.05)


# -- inline mode: the chosen result, its edits and buttons ----------------------------------------
def posted_inline(server: FakeTelegram, chat_id: int = GROUP) -> tuple[str, str]:
    """Sari's inline query answered with a keyboard result r1 and a plain r2; she posts r1 into
    the chat. → (query id, inline_message_id)"""
    server.chat(SARI, "Sari")
    query_id = server.inline_query(SARI, "bill BL-1", chat_type="group")
    pay = keyboard(
        {"text": "Pay", "callback_data": "pay:BL-1"}, {"text": "Open", "url": "https://t.me/x?start=pay_BL-1"}
    )
    results = [article("r1", "Bill BL-1: Rp5.000", reply_markup=pay), article("r2", "Just text")]
    assert call(server, "answerInlineQuery", inline_query_id=query_id, results=results).status_code == 200
    updates(server)
    return query_id, server.choose_inline_result(SARI, query_id, "r1", chat_id)


def test_a_chosen_result_is_posted_via_the_bot_and_reported(make_server: Any) -> None:
    server = make_server(limits=None)
    server.chat(GROUP, "Kos Melati")
    query_id, inline_id = posted_inline(server)
    assert re.fullmatch(r"AQAAA[0-9a-f]+", inline_id) and len(inline_id) > 20
    (update,) = updates(server)
    assert update["chosen_inline_result"] == {
        "result_id": "r1",
        "from": {"id": SARI, "is_bot": False, "first_name": "Sari", "language_code": "en"},
        "query": "bill BL-1",
        "inline_message_id": inline_id,
    }
    (posted,) = server.sent(GROUP)
    assert server.inline_messages[inline_id] is posted
    assert posted.inline_message_id == inline_id and posted.method == "inline" and posted.posted_by == SARI
    assert posted.text == "Bill BL-1: Rp5.000" and posted.buttons == [("Pay", "pay:BL-1"), ("Open", "")]
    message = server.chat(GROUP).messages[posted.message_id]
    assert message["from"]["id"] == SARI and message["via_bot"]["username"] == BOT_USERNAME
    assert "Bot: (via inline, posted by Sari) Bill BL-1: Rp5.000\n" in server.transcript(GROUP)
    assert server.deliveries() == []  # the bot did not send it: no limit counts it
    # without a keyboard: no inline_message_id, in the update or anywhere
    assert server.choose_inline_result(SARI, query_id, "r2", 77) == ""
    (update,) = updates(server)
    assert "inline_message_id" not in update["chosen_inline_result"]
    assert server.sent(77)[0].text == "Just text" and server.sent(77)[0].inline_message_id is None
    assert list(server.inline_messages) == [inline_id]
    with pytest.raises(AssertionError, match="no result"):
        server.choose_inline_result(SARI, query_id, "r3", GROUP)
    with pytest.raises(AssertionError):
        server.choose_inline_result(BUDI, query_id, "r1", GROUP)  # not Budi's query
    with pytest.raises(AssertionError, match="not answered"):
        server.choose_inline_result(SARI, server.inline_query(SARI, "q"), "r1", GROUP)


async def test_a_posted_inline_message_is_seen_by_wait_for(make_server: Any) -> None:
    server = make_server(limits=None)
    posted_inline(server, chat_id=GROUP)
    assert (await server.wait_for(GROUP, "BL-1", timeout=1)).inline_message_id is not None


def test_an_inline_message_is_edited_by_its_inline_message_id(make_server: Any) -> None:
    server = make_server(limits=Limits(overall=((10.0, 1),), group=((10.0, 1),)))
    _, inline_id = posted_inline(server)
    paid = keyboard({"text": "Receipt", "callback_data": "receipt:BL-1"})
    edit = call(server, "editMessageText", inline_message_id=inline_id, text="BL-1 paid", reply_markup=paid)
    assert edit.json() == {"ok": True, "result": True}  # True, not a Message
    posted = server.inline_messages[inline_id]
    assert posted.text == "BL-1 paid" and posted.buttons == [("Receipt", "receipt:BL-1")]
    same = call(server, "editMessageText", inline_message_id=inline_id, text="BL-1 paid", reply_markup=paid)
    assert same.status_code == 400 and "message is not modified" in same.json()["description"]
    markup = call(server, "editMessageReplyMarkup", inline_message_id=inline_id)
    assert markup.json() == {"ok": True, "result": True} and posted.buttons == []
    assert call(server, "editMessageReplyMarkup", inline_message_id=inline_id).status_code == 400
    unknown = call(server, "editMessageText", inline_message_id="AQAAAnope", text="x")
    assert unknown.json()["description"] == "Bad Request: message to edit not found"
    bad = call(
        server, "editMessageText", inline_message_id=inline_id, text="y", reply_markup=keyboard({"text": "x"})
    )
    assert bad.status_code == 400 and posted.text == "BL-1 paid"
    assert [e.get("inline_message_id") for e in posted.edits] == [inline_id, inline_id]
    assert [e.method for e in server.inline_edit_log] == ["editMessageText", "editMessageReplyMarkup"]
    assert len(server.inline_edits) == 2 and server.inline_edits == [e.at for e in server.inline_edit_log]
    assert (
        server.max_inline_edits_in_window(10, inline_id) == 2
        and server.max_inline_edits_in_window(10, "x") == 0
    )
    assert server.limit_refusals == [] and server.counted_requests == []  # not counted: no chat_id
    transcript = server.transcript(GROUP)
    assert "Bot: (edits the inline message to:) BL-1 paid" in transcript
    assert "Bot: (changes the inline message's buttons to:) none" in transcript
    message = server.chat(GROUP).messages[posted.message_id]
    assert message["text"] == "BL-1 paid" and message["from"]["id"] == SARI
    # by chat_id + message_id it is a user's message: the bot cannot edit it that way
    by_chat = call(server, "editMessageText", chat_id=GROUP, message_id=posted.message_id, text="z")
    assert by_chat.json()["description"] == "Bad Request: message can't be edited"
    neither = call(server, "editMessageText", text="z")
    assert neither.json()["description"] == "Bad Request: message identifier is not specified"


def test_inline_edit_rates_are_measured_per_message(make_server: Any) -> None:
    server = make_server(limits=None)
    _, first = posted_inline(server)
    second = server.choose_inline_result(SARI, next(iter(server.inline_answers)), "r1", GROUP)
    for i in range(3):
        assert call(server, "editMessageText", inline_message_id=first, text=f"a{i}").status_code == 200
    assert call(server, "editMessageText", inline_message_id=second, text="b").status_code == 200
    assert server.max_inline_edits_in_window(60) == 4
    assert server.max_inline_edits_in_window(60, first) == 3
    assert server.max_inline_edits_in_window(60, second) == 1


def test_a_button_on_an_inline_message_comes_without_a_message(make_server: Any) -> None:
    server = make_server(limits=None)
    server.chat(BUDI, "Budi")
    _, inline_id = posted_inline(server)
    assert [list(u)[1] for u in updates(server)] == ["chosen_inline_result"]
    query_id = server.press_inline(BUDI, inline_id, "pay:BL-1", copies=2)
    first, second = updates(server)
    assert first == second  # delivered twice: same update, same query id
    assert first["callback_query"] == {
        "id": query_id,
        "from": {"id": BUDI, "is_bot": False, "first_name": "Budi", "language_code": "en"},
        "inline_message_id": inline_id,
        "chat_instance": str(GROUP),
        "data": "pay:BL-1",
    }
    assert "message" not in first["callback_query"]
    assert "Budi: (presses Pay on the inline message) — Telegram delivers it 2 times" in server.transcript(
        GROUP
    )
    assert server.answer_of(query_id) is None
    ok = call(server, "answerCallbackQuery", callback_query_id=query_id, text="Open the bot", show_alert=True)
    assert ok.json() == {"ok": True, "result": True}
    assert (
        call(server, "answerCallbackQuery", callback_query_id=query_id).json()["description"] == QUERY_INVALID
    )
    assert server.answer_of(query_id) == {
        "callback_query_id": query_id,
        "text": "Open the bot",
        "show_alert": True,
    }
    assert query_id in server.answered_ids()
    with pytest.raises(AssertionError, match="no inline message"):
        server.press_inline(BUDI, "AQAAAnope", "pay:BL-1")
    # press() looks only at what the bot sent: the inline message's button is not its own
    assert updates(server) == [] and server.press(GROUP, "pay:BL-1")
    assert "inline_message_id" not in updates(server)[0]["callback_query"]


def test_an_answer_may_send_a_url(make_server: Any) -> None:
    server = make_server(limits=None)
    send(server, 41, "Pay?", reply_markup=keyboard({"text": "Pay", "callback_data": "pay"}))
    query_id = server.press(41, "pay")
    url = f"https://t.me/{BOT_USERNAME}?start=pay_BL-1"
    assert call(server, "answerCallbackQuery", callback_query_id=query_id, url=url).status_code == 200
    answer = server.answer_of(query_id)
    assert answer is not None and start_payload(answer["url"]) == "pay_BL-1"


# -- keyboards: url buttons and what Telegram refuses ---------------------------------------------
def test_url_buttons_are_read_by_label(make_server: Any) -> None:
    server = make_server(limits=None)
    markup = {
        "inline_keyboard": [
            [{"text": "Open the wallet", "url": f"https://t.me/{BOT_USERNAME}?start=pay_BL-7"}],
            [
                {"text": "Pay", "callback_data": "pay:BL-7"},
                {"text": "Help", "url": "https://example.com/help"},
            ],
        ]
    }
    assert send(server, 42, "Bill", reply_markup=markup).status_code == 200
    (sent,) = server.sent(42)
    assert sent.urls == [
        ("Open the wallet", f"https://t.me/{BOT_USERNAME}?start=pay_BL-7"),
        ("Help", "https://example.com/help"),
    ]
    assert start_payload(sent.url_of("wallet")) == "pay_BL-7"
    assert sent.url_of("HELP") == "https://example.com/help"
    assert sent.data_of("Pay") == "pay:BL-7"
    with pytest.raises(AssertionError, match="no url button"):
        sent.url_of("Pay")  # a callback button has no url


VALID_BUTTONS = [
    {"text": "64 bytes", "callback_data": "é" * 32},
    {"text": "1 byte", "callback_data": "x"},
    {"text": "web", "url": "http://example.com/a?b=c"},
    {"text": "mention", "url": "tg://user?id=501"},
    {"text": "deep link", "url": f"https://t.me/{BOT_USERNAME}?start=pay_BL-1"},
    {"text": "group link", "url": f"https://telegram.me/{BOT_USERNAME}?startgroup=Ab-9_"},
    {"text": "plain t.me", "url": f"https://t.me/{BOT_USERNAME}"},
    {"text": "switch", "switch_inline_query": ""},
    {"text": "here", "switch_inline_query_current_chat": "bill "},
]
INVALID_BUTTONS = [
    ({"text": "65 bytes", "callback_data": "é" * 32 + "x"}, "Bad Request: BUTTON_DATA_INVALID"),
    ({"text": "empty", "callback_data": ""}, "Bad Request: BUTTON_DATA_INVALID"),
    ({"text": "ftp", "url": "ftp://example.com/file"}, "Bad Request: BUTTON_URL_INVALID"),
    ({"text": "no scheme", "url": "example.com"}, "Bad Request: BUTTON_URL_INVALID"),
    ({"text": "js", "url": "javascript:alert(1)"}, "Bad Request: BUTTON_URL_INVALID"),
    ({"text": "no host", "url": "https://"}, "Bad Request: BUTTON_URL_INVALID"),
    (
        {"text": "space", "url": f"https://t.me/{BOT_USERNAME}?start=pay%20BL-1"},
        "Bad Request: BUTTON_URL_INVALID",
    ),
    (
        {"text": "long", "url": f"https://t.me/{BOT_USERNAME}?start={'a' * 65}"},
        "Bad Request: BUTTON_URL_INVALID",
    ),
    (
        {"text": "empty start", "url": f"https://t.me/{BOT_USERNAME}?start="},
        "Bad Request: BUTTON_URL_INVALID",
    ),
    (
        {"text": "colon", "url": f"https://t.me/{BOT_USERNAME}?start=pay:BL-1"},
        "Bad Request: BUTTON_URL_INVALID",
    ),
    ({"text": "two", "callback_data": "x", "url": "https://example.com"}, "Bad Request: BUTTON_TYPE_INVALID"),
    ({"text": "nothing"}, "Text buttons are unallowed in the inline keyboard"),
    ({"callback_data": "x"}, 'Field "text" must be of type String'),
]


def test_valid_buttons_are_accepted(make_server: Any) -> None:
    server = make_server(limits=None)
    assert send(server, 43, "all kinds", reply_markup=keyboard(*VALID_BUTTONS)).status_code == 200
    assert len(server.sent(43)[0].reply_markup["inline_keyboard"]) == len(VALID_BUTTONS)  # type: ignore[index]
    reply_keyboard = {"keyboard": [[{"text": "Share my number", "request_contact": True}]]}
    assert send(server, 43, "not inline", reply_markup=reply_keyboard).status_code == 200


@pytest.mark.parametrize(("button", "description"), INVALID_BUTTONS)
def test_buttons_telegram_would_refuse_are_refused(
    make_server: Any, button: dict[str, Any], description: str
) -> None:
    server = make_server(limits=None)
    message_id = send(server, 44, "fine").json()["result"]["message_id"]
    markup = keyboard({"text": "ok", "callback_data": "ok"}, button)
    refused = [
        send(server, 44, "new", reply_markup=markup),
        call(
            server, "editMessageText", chat_id=44, message_id=message_id, text="edited", reply_markup=markup
        ),
        call(server, "editMessageReplyMarkup", chat_id=44, message_id=message_id, reply_markup=markup),
    ]
    for response in refused:
        assert response.status_code == 400
        assert description in response.json()["description"]
    assert [s.text for s in server.sent(44)] == ["fine"] and server.sent(44)[0].edits == []
    assert server.refusals_for(44, 400) == 3
    assert server.counted_requests == [server.counted_requests[0]]  # only the first send counted


def test_start_payload_reads_a_deep_link() -> None:
    assert start_payload(f"https://t.me/{BOT_USERNAME}?start=pay_BL-1") == "pay_BL-1"
    assert start_payload(f"tg://resolve?domain={BOT_USERNAME}&start=abc") == "abc"
    assert start_payload(f"https://t.me/{BOT_USERNAME}?start=a%2Db") == "a-b"
    assert start_payload(f"https://t.me/{BOT_USERNAME}?start=") == ""
    assert start_payload(f"https://t.me/{BOT_USERNAME}") is None
    assert start_payload(f"https://t.me/{BOT_USERNAME}?startgroup=x") is None


# -- photos and documents -------------------------------------------------------------------------
def test_an_uploaded_photo_keeps_its_bytes_and_size(make_server: Any) -> None:
    server = make_server(limits=None)
    image = png(30, 20)
    response = upload(server, "sendPhoto", "photo", image, "qr.png", chat_id=50, caption="Scan me")
    assert response.status_code == 200
    message = response.json()["result"]
    (size,) = message["photo"]
    assert (size["width"], size["height"], size["file_size"]) == (30, 20, len(image))
    assert message["caption"] == "Scan me"
    (sent,) = server.sent(50)
    assert (sent.method, sent.photo, sent.filename, sent.caption) == ("sendPhoto", image, "qr.png", "Scan me")
    assert sent.file_id == size["file_id"] and sent.document is None
    assert server.files[size["file_id"]].kind == "photo"
    assert upload(server, "sendPhoto", "photo", jpeg(640, 480), "p.jpg", chat_id=50).status_code == 200
    assert server.sent(50)[1].params["photo"] == f"<{len(jpeg(640, 480))} bytes>"
    assert server.transcript(50) == "Bot: (photo) Scan me\nBot: (photo)"


def test_an_uploaded_document_is_recorded_and_described(make_server: Any) -> None:
    server = make_server(limits=None)
    caption = "<b>Statement</b> November 2026 &amp; fees"
    response = upload(
        server, "sendDocument", "document", PDF, "statement-2026-11.pdf", chat_id=51, caption=caption
    )
    assert response.status_code == 200
    document = response.json()["result"]["document"]
    assert document == {
        "file_id": document["file_id"],
        "file_unique_id": document["file_unique_id"],
        "file_name": "statement-2026-11.pdf",
        "mime_type": "application/pdf",
        "file_size": len(PDF),
    }
    csv = upload(server, "sendDocument", "document", b"date,amount\n", "ledger.csv", chat_id=51)
    blob = upload(server, "sendDocument", "document", b"\x00\x01", "backup.bin", chat_id=51)
    assert csv.json()["result"]["document"]["mime_type"] == "text/csv"
    assert blob.json()["result"]["document"]["mime_type"] == "application/octet-stream"
    assert "caption" not in csv.json()["result"]
    first = server.sent(51)[0]
    assert (first.method, first.document, first.filename, first.caption) == (
        "sendDocument",
        PDF,
        "statement-2026-11.pdf",
        caption,
    )
    assert first.photo is None and first.file_id == document["file_id"]
    assert server.transcript(51).splitlines() == [
        f"Bot: (document statement-2026-11.pdf) {caption}",
        "Bot: (document ledger.csv)",
        "Bot: (document backup.bin)",
    ]
    assert len({s.file_id for s in server.sent(51)}) == 3


def test_photos_and_documents_count_against_the_limits(make_server: Any) -> None:
    server = make_server()
    responses = [upload(server, "sendDocument", "document", PDF, "s.pdf", chat_id=52) for _ in range(3)]
    responses += [upload(server, "sendPhoto", "photo", png(), "q.png", chat_id=52) for _ in range(2)]
    assert codes(responses) == [200, 200, 200, 200, 429]
    assert [(r.scope, r.method) for r in server.limit_refusals] == [("chat", "sendPhoto")]
    assert [c.method for c in server.counted_requests] == ["sendDocument"] * 3 + ["sendPhoto"]


CAPTION_TOO_LONG = "Bad Request: message caption is too long"
BAD_UPLOADS = [
    ("sendDocument", PDF, {"caption": "x" * 1025}, CAPTION_TOO_LONG),
    ("sendPhoto", png(), {"caption": "é" * 1025}, CAPTION_TOO_LONG),
    ("sendPhoto", png(), {"caption": "<b>" + "x" * 1025 + "</b>", "parse_mode": "HTML"}, CAPTION_TOO_LONG),
    ("sendDocument", b"", {}, "Bad Request: file must be non-empty"),
    ("sendPhoto", b"", {}, "Bad Request: file must be non-empty"),
    ("sendPhoto", PDF, {}, "Bad Request: IMAGE_PROCESS_FAILED"),
    ("sendPhoto", b"GIF89a\x01\x00\x01\x00", {}, "Bad Request: IMAGE_PROCESS_FAILED"),
    ("sendPhoto", b"\x89PNG fake", {}, "Bad Request: IMAGE_PROCESS_FAILED"),
    ("sendPhoto", png()[:20], {}, "Bad Request: IMAGE_PROCESS_FAILED"),  # IHDR cut short
    ("sendPhoto", png(0, 5), {}, "Bad Request: IMAGE_PROCESS_FAILED"),
    ("sendPhoto", b"\xff\xd8\xff\xe0 no frame", {}, "Bad Request: IMAGE_PROCESS_FAILED"),
    ("sendPhoto", png(5001, 5000), {}, "Bad Request: PHOTO_INVALID_DIMENSIONS"),
    ("sendPhoto", png(21, 1), {}, "Bad Request: PHOTO_INVALID_DIMENSIONS"),
    ("sendPhoto", png(1, 2100), {}, "Bad Request: PHOTO_INVALID_DIMENSIONS"),
    ("sendPhoto", jpeg(9000, 1001), {}, "Bad Request: PHOTO_INVALID_DIMENSIONS"),
    ("sendPhoto", png() + b"\x00" * PHOTO_MAX_BYTES, {}, "Bad Request: file is too big"),
]


@pytest.mark.parametrize(("method", "data", "form", "description"), BAD_UPLOADS)
def test_uploads_telegram_would_refuse_are_refused(
    make_server: Any, method: str, data: bytes, form: dict[str, Any], description: str
) -> None:
    server = make_server()
    field = "photo" if method == "sendPhoto" else "document"
    response = upload(server, method, field, data, "f.png", chat_id=53, **form)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error_code": 400, "description": description}
    assert server.sent(53) == [] and server.files == {}
    assert server.refusals_for(53, 400) == 1 and server.counted_requests == []


def test_the_limits_on_uploads_are_telegrams(make_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (PHOTO_MAX_BYTES, DOCUMENT_MAX_BYTES) == (10 * 1024 * 1024, 50 * 1024 * 1024)
    server = make_server(limits=None)
    fine = [
        upload(server, "sendDocument", "document", PDF, "s.pdf", chat_id=54, caption="x" * 1024),
        upload(server, "sendPhoto", "photo", png(), "q.png", chat_id=54, caption="é" * 1024),
        upload(server, "sendPhoto", "photo", png(5000, 5000), "q.png", chat_id=54),
        upload(server, "sendPhoto", "photo", png(20, 1), "q.png", chat_id=54),
        upload(server, "sendPhoto", "photo", png() + b"\x00" * (PHOTO_MAX_BYTES - len(png())), chat_id=54),
        upload(
            server,
            "sendPhoto",
            "photo",
            png(),
            chat_id=54,
            caption="<i>" + "y" * 1024 + "</i>",
            parse_mode="HTML",
        ),
    ]
    assert codes(fine) == [200] * 6
    monkeypatch.setattr("tests.fakes.telegram_api.DOCUMENT_MAX_BYTES", 100)  # not 50 MB over HTTP
    assert upload(server, "sendDocument", "document", b"x" * 100, chat_id=54).status_code == 200
    too_big = upload(server, "sendDocument", "document", b"x" * 101, chat_id=54)
    assert too_big.json()["description"] == "Bad Request: file is too big"
    assert len(server.sent(54)) == 7


def test_a_file_is_sent_again_by_its_file_id_and_only_by_one_the_fake_gave(make_server: Any) -> None:
    server = make_server(limits=None)
    first = upload(server, "sendDocument", "document", PDF, "statement-2026-11.pdf", chat_id=55)
    document = first.json()["result"]["document"]
    again = call(server, "sendDocument", chat_id=56, document=document["file_id"], caption="Again")
    assert again.status_code == 200
    assert again.json()["result"]["document"] == document
    sent = server.sent(56)[0]
    assert (sent.document, sent.filename, sent.caption, sent.file_id) == (
        PDF,
        "statement-2026-11.pdf",
        "Again",
        document["file_id"],
    )
    photo_id = upload(server, "sendPhoto", "photo", png(), chat_id=55).json()["result"]["photo"][0]["file_id"]
    assert call(server, "sendPhoto", chat_id=56, photo=photo_id).status_code == 200
    assert server.sent(56)[1].photo == png()
    refused = [
        call(server, "sendDocument", chat_id=56, document="BQACAgIAAxkBnope"),
        call(server, "sendDocument", chat_id=56, document="https://example.com/statement.pdf"),
        call(server, "sendPhoto", chat_id=56, photo="https://example.com/qr.png"),
        call(server, "sendDocument", token="999:OTHER", chat_id=56, document=document["file_id"]),
        call(server, "sendPhoto", chat_id=56, photo=document["file_id"]),
        call(server, "sendDocument", chat_id=56, document=photo_id),
        call(server, "sendDocument", chat_id=56, caption="nothing"),
    ]
    assert [r.json()["description"] for r in refused] == [WRONG_FILE] * 4 + [
        "Bad Request: type of file mismatch",
        "Bad Request: type of file mismatch",
        "Bad Request: there is no document in the request",
    ]
    assert len(server.sent(56)) == 2 and len(server.files) == 2


# -- PTB's own Bot against the fake ---------------------------------------------------------------
async def test_ptb_sends_a_document_and_sends_it_again_by_id(make_server: Any) -> None:
    """bot.send_document as the wallet sends a statement: multipart, PTB parses the answer."""
    server = make_server()
    async with Bot(server.token, base_url=f"{server.url}/bot") as bot:
        message = await bot.send_document(
            57, PDF, filename="statement-2026-11.pdf", caption="Your statement for November 2026"
        )
        assert isinstance(message, Message) and message.document is not None
        assert message.document.file_name == "statement-2026-11.pdf"
        assert message.document.mime_type == "application/pdf"
        assert message.document.file_size == len(PDF)
        assert message.caption == "Your statement for November 2026"
        (sent,) = server.sent(57)
        assert (sent.method, sent.document, sent.filename, sent.caption) == (
            "sendDocument",
            PDF,
            "statement-2026-11.pdf",
            "Your statement for November 2026",
        )
        assert sent.file_id == message.document.file_id
        assert server.transcript(57) == (
            "Bot: (document statement-2026-11.pdf) Your statement for November 2026"
        )
        again = await bot.send_document(58, message.document.file_id)
        assert again.document is not None and again.document.file_unique_id == message.document.file_unique_id
        assert server.sent(58)[0].document == PDF
        photo = await bot.send_photo(57, png(8, 8), caption="QR")
        assert photo.photo[-1].width == 8 and server.sent(57)[1].photo == png(8, 8)
        with pytest.raises(BadRequest, match="(?i)message caption is too long"):
            await bot.send_document(57, PDF, filename="s.pdf", caption="x" * 1025)
        with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
            await bot.send_photo(57, PDF)
        with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
            await bot.send_document(57, "BQACAgIAAxkBnope")
    assert [c.method for c in server.counted_requests] == ["sendDocument", "sendDocument", "sendPhoto"]
    assert server.refusals_for(57, 400) == 3 and server.limit_refusals == []


async def test_ptb_replaces_a_photo_with_edit_message_media(make_server: Any) -> None:
    """editMessageMedia as the wallet's /insights swaps its chart: a new upload, caption, buttons."""
    server = make_server()
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("By kind", callback_data="ins:kind")]])
    async with Bot(server.token, base_url=f"{server.url}/bot") as bot:
        first = await bot.send_photo(57, png(40, 20), caption="By person", reply_markup=buttons)
        other = InlineKeyboardMarkup([[InlineKeyboardButton("By person", callback_data="ins:person")]])
        edited = await bot.edit_message_media(
            InputMediaPhoto(png(30, 20), caption="By kind"), 57, first.message_id, reply_markup=other
        )
        assert isinstance(edited, Message) and edited.caption == "By kind"
        assert (edited.photo[-1].width, edited.photo[-1].height) == (30, 20)
        (sent,) = server.sent(57)
        assert (sent.photo, sent.caption, sent.buttons) == (
            png(30, 20),
            "By kind",
            [("By person", "ins:person")],
        )
        assert len(sent.edits) == 1 and server.files[sent.file_id or ""].width == 30
        assert "(changes its message" in server.transcript(57)
        again = InputMediaPhoto(edited.photo[-1].file_id, caption="By kind")
        with pytest.raises(BadRequest, match="(?i)not modified"):
            await bot.edit_message_media(again, 57, first.message_id, reply_markup=other)
        with pytest.raises(BadRequest, match="(?i)caption is too long"):
            await bot.edit_message_media(InputMediaPhoto(png(), caption="x" * 1025), 57, first.message_id)
        with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
            await bot.edit_message_media(InputMediaPhoto(PDF), 57, first.message_id)
        with pytest.raises(BadRequest, match="(?i)type of file mismatch"):
            await bot.edit_message_media(InputMediaDocument(edited.photo[-1].file_id), 57, first.message_id)
        text = await bot.send_message(57, "plain")
        with pytest.raises(BadRequest, match="(?i)no media in the message"):
            await bot.edit_message_media(InputMediaPhoto(png()), 57, text.message_id)
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_media(InputMediaPhoto(png()), 57, 999)
    assert server.sent(57)[0].caption == "By kind"


# -- PTB's own Bot against the fake ---------------------------------------------------------------
async def test_ptb_answers_an_inline_query_and_edits_the_inline_message(make_server: Any) -> None:
    """What the wallet bot would do, through PTB (form-encoded JSON, its own parsing of updates)."""
    server = make_server(limits=None)
    server.chat(SARI, "Sari")
    server.chat(GROUP, "Kos Melati", kind="supergroup")
    async with Bot(server.token, base_url=f"{server.url}/bot") as bot:
        assert bot.supports_inline_queries and bot.can_join_groups
        query_id = server.inline_query(SARI, "bill BL-1", chat_type="supergroup")
        (update,) = await bot.get_updates(timeout=0)
        assert update.inline_query is not None and update.inline_query.chat_type == "supergroup"
        assert update.inline_query.from_user.id == SARI
        pay = InlineKeyboardMarkup([[InlineKeyboardButton("Pay", callback_data="pay:BL-1")]])
        result = InlineQueryResultArticle(
            "r1", "Bill BL-1", InputTextMessageContent("Bill BL-1: Rp5.000"), reply_markup=pay
        )
        assert await update.inline_query.answer([result], cache_time=0) is True
        assert (await server.wait_inline_answer(query_id))[0]["reply_markup"] == pay.to_dict()
        inline_id = server.choose_inline_result(SARI, query_id, "r1", GROUP)
        (chosen,) = await bot.get_updates(offset=update.update_id + 1, timeout=0)
        assert chosen.chosen_inline_result is not None
        assert chosen.chosen_inline_result.inline_message_id == inline_id
        server.press_inline(SARI, inline_id, "pay:BL-1")
        (pressed,) = await bot.get_updates(offset=chosen.update_id + 1, timeout=0)
        callback = pressed.callback_query
        assert callback is not None and callback.message is None and callback.inline_message_id == inline_id
        assert (
            await callback.answer("Open the bot", url=f"https://t.me/{BOT_USERNAME}?start=pay_BL-1") is True
        )
        assert await callback.edit_message_text("BL-1: paid") is True
        assert server.inline_messages[inline_id].text == "BL-1: paid"
        await bot.get_updates(offset=pressed.update_id + 1, timeout=0)
    assert server.answer_of(callback.id) is not None
    assert start_payload(server.answer_of(callback.id)["url"]) == "pay_BL-1"  # type: ignore[index]

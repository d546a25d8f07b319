"""The fake Telegram Bot API is as strict as Telegram: rate limits, injected faults, dead chats.

Plain HTTP calls against a started FakeTelegram (no bot); small windows where waiting would be long.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.telegram_api import FakeTelegram, Limits

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
    photo = _clients[id(server)].post(
        f"/bot{server.token}/sendPhoto",
        data={"chat_id": str(chat_id), "caption": "qr"},
        files={"photo": ("qr.png", b"\x89PNG fake", "image/png")},
    )
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

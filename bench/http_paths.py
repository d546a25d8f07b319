"""The HTTP paths: transfer and bill payment at N concurrent clients, and the listing pages.

A client is one keep-alive HTTP/1.1 connection driven by a small hand-written asyncio client
(httpx costs more CPU per request than the backend's own routing on this machine, and the load
generator shares the cores with the backend and the database). One operation is what a user's
app does:

    transfer:  POST /api/processing {action: transfer, recipient, amount}   → 202, OTP DM'd
               POST /api/transfer {recipient, amount, otp} + Idempotency-Key → 201
    bill pay:  POST /api/processing {action: pay_bill, bill_code}           → 202, OTP DM'd
               POST /api/bill/{code}/pay {otp} + Idempotency-Key            → 200

OTPs travel the production way (OTP_DELIVERY=telegram): the backend queues each DM in its outbox
and the bot's courier claims it (POST /api/bot/notices/claim, a long poll) and acknowledges it.
Here `Courier` does the courier's part against the backend (claim, keep each chat's newest code,
acknowledge everything as sent) without Telegram, whose 30 messages/s would otherwise be what is
measured (bench.delivery measures that). The "you received" / "bill paid" notices are claimed
and acknowledged the same way, and counted. What the client sends is `otp_request` and
`money_request`, which bench.record sends too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import uvloop

from backend.notices import NoticeKind
from bench.seed import Pair
from bench.support import AMOUNT, BOT_SECRET, CpuMeter, RunResult

MIN_SAMPLES = 3


class HttpError(RuntimeError):
    """The backend answered something a benchmark operation did not expect."""


class Connection:
    """One keep-alive HTTP/1.1 connection (just enough of the protocol for uvicorn's answers)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Connection:
        """Connect."""
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def close(self) -> None:
        """Close the socket."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()

    async def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """Send one request, read the whole answer; → (status, decoded JSON or None)."""
        assert self.reader is not None and self.writer is not None
        payload = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = await self.reader.readexactly(length) if length else b""
        return status, (json.loads(data) if data else None)


class Courier:
    """The bot courier's side of the outbox, in its own thread: long-polls the backend for due
    notices, keeps each chat's newest OTP and acknowledges every notice as sent."""

    def __init__(self, backend_url: str, bot_secret: str = BOT_SECRET) -> None:
        split = urlsplit(backend_url)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.headers = {"X-Bot-Secret": bot_secret}
        self.codes: dict[int, str] = {}
        self.notices = 0
        self.otps = 0
        self._polled = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="courier", daemon=True)
        self._error: BaseException | None = None

    def start(self) -> Courier:
        """Poll until stop(); return once the backend has seen a poll (OTPs can be issued)."""
        self._thread.start()
        if not self._polled.wait(30):
            raise HttpError(f"the courier could not poll the backend: {self._error!r}")
        return self

    def stop(self) -> None:
        """Stop polling (the long poll in flight ends within its wait)."""
        self._stopping.set()
        self._thread.join(10)

    def _serve(self) -> None:
        try:
            uvloop.run(self._poll())
        except BaseException as exc:  # noqa: BLE001 - kept for start() to report
            self._error = exc
            raise

    async def _poll(self) -> None:
        conn = await Connection(self.host, self.port).open()
        claim = {"limit": 200, "wait_seconds": 1.0, "lowest_priority": 2}
        try:
            while not self._stopping.is_set():
                status, answer = await conn.request("POST", "/api/bot/notices/claim", claim, self.headers)
                if status != 200:
                    raise HttpError(f"notices/claim: {status} {answer}")
                self._polled.set()
                items = answer["items"]
                for item in items:
                    if item["kind"] == NoticeKind.OTP:
                        self.codes[int(item["chat_id"])] = str(item["data"]["code"])
                        self.otps += 1
                    else:
                        self.notices += 1
                if items:
                    sent = [{"id": i["id"], "claim": i["claim"], "outcome": "sent"} for i in items]
                    status, answer = await conn.request(
                        "POST", "/api/bot/notices/ack", {"items": sent}, self.headers
                    )
                    if status != 200:
                        raise HttpError(f"notices/ack: {status} {answer}")
        finally:
            await conn.close()

    async def code_for(self, chat_id: int, timeout: float = 10.0) -> str:
        """The OTP queued for a chat, once the courier has claimed it."""
        deadline = time.monotonic() + timeout
        while True:
            code = self.codes.pop(chat_id, None)
            if code is not None:
                return code
            if time.monotonic() > deadline:
                raise HttpError(f"no OTP reached chat {chat_id}")
            await asyncio.sleep(0.001)


@dataclass(frozen=True)
class Call:
    """One request of a client's operation, and the status that means it worked."""

    method: str
    path: str
    body: dict[str, Any]
    status: int


def otp_request(path: str, pair: Pair, bill: str | None = None) -> Call:
    """The OTP request that starts a transfer or a bill payment (`path`: transfer, billpay)."""
    if path == "transfer":
        return Call(
            "POST", "/api/processing", {"action": "transfer", "recipient": pair.payee, "amount": AMOUNT}, 202
        )
    return Call("POST", "/api/processing", {"action": "pay_bill", "bill_code": bill}, 202)


def money_request(path: str, pair: Pair, otp: str, bill: str | None = None) -> Call:
    """The request that moves the money, with its code (sent with an Idempotency-Key)."""
    if path == "transfer":
        return Call("POST", "/api/transfer", {"recipient": pair.payee, "amount": AMOUNT, "otp": otp}, 201)
    return Call("POST", f"/api/bill/{bill}/pay", {"otp": otp}, 200)


Operation = Callable[[Connection, Pair, int, dict[str, list[float]]], Awaitable[None]]


def operation(path: str, courier: Courier, tokens: dict[str, str], codes: dict[str, list[str]]) -> Operation:
    """OTP request + the money request, as the bot or an app does it (`codes`: each payer's open
    bills, the k-th paid by its k-th operation; empty for transfers)."""

    async def operate(conn: Connection, pair: Pair, k: int, parts: dict[str, list[float]]) -> None:
        auth = {"Authorization": "Bearer " + tokens[pair.payer]}
        bill = codes[pair.payer][k] if codes else None
        started = time.perf_counter()
        ask = otp_request(path, pair, bill)
        status, answer = await conn.request(ask.method, ask.path, ask.body, auth)
        if status != ask.status:
            raise HttpError(f"OTP request: {status} {answer}")
        code = await courier.code_for(pair.payer_chat)
        middle = time.perf_counter()
        pay = money_request(path, pair, code, bill)
        headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
        status, answer = await conn.request(pay.method, pay.path, pay.body, headers)
        if status != pay.status:
            raise HttpError(f"{path}: {status} {answer}")
        parts["otp_request"].append(middle - started)
        parts["money_request"].append(time.perf_counter() - middle)

    return operate


async def _run_clients(
    url: str, pairs: list[Pair], per_client: int, warmup: int, operation: Operation, cpu: CpuMeter | None
) -> RunResult:
    split = urlsplit(url)
    conns = [await Connection(split.hostname or "127.0.0.1", split.port or 80).open() for _ in pairs]
    parts: dict[str, list[float]] = {"otp_request": [], "money_request": []}
    latencies: list[float] = []
    warmed, timed = asyncio.Event(), asyncio.Event()
    ready = 0

    async def client(index: int) -> None:
        nonlocal ready
        for k in range(warmup):
            await operation(conns[index], pairs[index], k, {"otp_request": [], "money_request": []})
        ready += 1
        if ready == len(pairs):
            warmed.set()
        await timed.wait()  # every client starts its timed part at the same instant
        for k in range(warmup, warmup + per_client):
            started = time.perf_counter()
            await operation(conns[index], pairs[index], k, parts)
            latencies.append(time.perf_counter() - started)

    tasks = [asyncio.create_task(client(i)) for i in range(len(pairs))]
    waiter = asyncio.create_task(warmed.wait())
    await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    if not warmed.is_set():  # a client failed during its warm-up
        waiter.cancel()
        await asyncio.gather(*tasks)
    if cpu is not None:
        cpu.start()
    started = time.perf_counter()
    timed.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    used = cpu.stop() if cpu is not None else {}
    for conn in conns:
        await conn.close()
    return RunResult(len(latencies), elapsed, latencies, used, parts)


def run(
    url: str,
    pairs: list[Pair],
    per_client: int,
    warmup: int,
    operation: Operation,
    cpu: CpuMeter | None = None,
) -> RunResult:
    """One timed run: a client per pair, `per_client` operations each after `warmup` untimed."""
    return uvloop.run(_run_clients(url, pairs, per_client, warmup, operation, cpu))


# ---- listing pages ------------------------------------------------------------------------


async def _sample_gets(
    url: str, paths: dict[str, tuple[str, str]], samples: int, budget: float
) -> dict[str, list[float]]:
    split = urlsplit(url)
    conn = await Connection(split.hostname or "127.0.0.1", split.port or 80).open()
    out: dict[str, list[float]] = {name: [] for name in paths}
    started_all = time.perf_counter()
    try:
        for rounds in range(samples + 1):  # the first round warms up and is not kept
            if rounds > MIN_SAMPLES and time.perf_counter() - started_all > budget:
                break  # slow pages (seconds each at 1M records): fewer samples, same rounds
            for name, (path, token) in paths.items():
                started = time.perf_counter()
                status, answer = await conn.request("GET", path, None, {"Authorization": "Bearer " + token})
                if status != 200:
                    raise HttpError(f"GET {path}: {status} {answer}")
                if rounds:
                    out[name].append(time.perf_counter() - started)
    finally:
        await conn.close()
    return out


def sample_gets(
    url: str, paths: dict[str, tuple[str, str]], samples: int, budget: float = 20.0
) -> dict[str, list[float]]:
    """Latency samples of GET requests (path, token), interleaved so background work hits them
    alike; at most `samples` rounds, and no new round after `budget` seconds once MIN_SAMPLES
    rounds are in."""
    return uvloop.run(_sample_gets(url, paths, samples, budget))

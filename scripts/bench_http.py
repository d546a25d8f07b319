"""The HTTP paths: transfer and bill payment at N concurrent clients, and the listing pages.

A client is one keep-alive HTTP/1.1 connection driven by a small hand-written asyncio client
(httpx costs more CPU per request than the backend's own routing on this machine, and the load
generator shares the cores with the backend and the database). One operation is what a user's
app does:

    transfer:  POST /api/processing {action: transfer, recipient, amount}   → 202, OTP DM'd
               POST /api/transfer {recipient, amount, otp} + Idempotency-Key → 201
    bill pay:  POST /api/processing {action: pay_bill, bill_code}           → 202, OTP DM'd
               POST /api/bill/{code}/pay {otp} + Idempotency-Key            → 200

OTPs travel the production way (OTP_DELIVERY=telegram): the backend's Notifier POSTs sendMessage
to TELEGRAM_API_URL, here `TelegramSink`, a minimal Bot API endpoint that keeps each chat's newest
code. The backend's "you received" / "bill paid" notices go there too and are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import uvloop
from bench_seed import Pair
from bench_support import CpuMeter, RunResult, free_port

OTP_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
AMOUNT = 1000
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


class TelegramSink:
    """A minimal Bot API `sendMessage` endpoint in its own thread: remembers each chat's OTP."""

    def __init__(self, token: str = "123456:BENCH") -> None:
        self.token = token
        self.port = free_port()
        self.codes: dict[int, str] = {}
        self.notices = 0
        self.otps = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._serve, name="telegram-sink", daemon=True)

    @property
    def url(self) -> str:
        """TELEGRAM_API_URL for the backend."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TelegramSink:
        """Serve until stop()."""
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _serve(self) -> None:
        loop = uvloop.new_event_loop()
        self._loop = loop
        loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        self._ready.set()
        loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length) if length else b""
                self._record(body)
                answer = b'{"ok":true,"result":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"}}}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(answer)).encode()
                    + b"\r\n\r\n"
                    + answer
                )
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def _record(self, body: bytes) -> None:
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        text = form.get("text", "")
        match = OTP_RE.search(text) if "OTP" in text else None
        if match and "chat_id" in form:
            self.codes[int(form["chat_id"])] = match.group(1)
            self.otps += 1
        else:
            self.notices += 1

    async def code_for(self, chat_id: int, timeout: float = 10.0) -> str:
        """The OTP DM'd to a chat (it arrives before the 202 answer; the wait is a safety net)."""
        deadline = time.monotonic() + timeout
        while True:
            code = self.codes.pop(chat_id, None)
            if code is not None:
                return code
            if time.monotonic() > deadline:
                raise HttpError(f"no OTP reached chat {chat_id}")
            await asyncio.sleep(0.001)


Operation = Callable[[Connection, Pair, int, dict[str, list[float]]], Awaitable[None]]


def transfer_operation(sink: TelegramSink, tokens: dict[str, str]) -> Operation:
    """OTP request + transfer, as the bot or an app does it."""

    async def operate(conn: Connection, pair: Pair, k: int, parts: dict[str, list[float]]) -> None:
        auth = {"Authorization": "Bearer " + tokens[pair.payer]}
        started = time.perf_counter()
        otp_body = {"action": "transfer", "recipient": pair.payee, "amount": AMOUNT}
        status, answer = await conn.request("POST", "/api/processing", otp_body, auth)
        if status != 202:
            raise HttpError(f"OTP request: {status} {answer}")
        code = await sink.code_for(pair.payer_chat)
        middle = time.perf_counter()
        body = {"recipient": pair.payee, "amount": AMOUNT, "otp": code}
        headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
        status, answer = await conn.request("POST", "/api/transfer", body, headers)
        if status != 201:
            raise HttpError(f"transfer: {status} {answer}")
        parts["otp_request"].append(middle - started)
        parts["money_request"].append(time.perf_counter() - middle)

    return operate


def pay_operation(sink: TelegramSink, tokens: dict[str, str], codes: dict[str, list[str]]) -> Operation:
    """OTP request + payment of the payer's k-th open bill."""

    async def operate(conn: Connection, pair: Pair, k: int, parts: dict[str, list[float]]) -> None:
        auth = {"Authorization": "Bearer " + tokens[pair.payer]}
        bill = codes[pair.payer][k]
        started = time.perf_counter()
        status, answer = await conn.request(
            "POST", "/api/processing", {"action": "pay_bill", "bill_code": bill}, auth
        )
        if status != 202:
            raise HttpError(f"OTP request: {status} {answer}")
        code = await sink.code_for(pair.payer_chat)
        middle = time.perf_counter()
        headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
        status, answer = await conn.request("POST", f"/api/bill/{bill}/pay", {"otp": code}, headers)
        if status != 200:
            raise HttpError(f"pay: {status} {answer}")
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

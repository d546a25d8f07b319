"""A client that behaves like a real one against a backend that may crash under it.

A transfer is: ask for an OTP, read it, send the transfer with an Idempotency-Key; on a network
error, a 5xx or "still in flight", send the SAME request again (same key) until a final answer.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import httpx

from tests.support.backend_process import BackendProcess

RETRYABLE_CODES = {"idempotency_in_flight", "unavailable"}


@dataclass
class Outcome:
    """What one transfer attempt ended with, as the client saw it."""

    status: int
    body: dict[str, object]
    retries: int


@dataclass
class HttpUser:
    """One user of a live backend."""

    backend: BackendProcess
    username: str
    password: str
    token: str = ""
    retries: int = 0
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def call(self, method: str, path: str, deadline: float, **kw: object) -> httpx.Response | None:
        """One request; None on a network error (backend down)."""
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        headers = {
            **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            **kw.pop("headers", {}),
        }  # type: ignore[dict-item]
        try:
            return self.http.request(method, self.backend.url + path, headers=headers, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError:
            return None

    def sign_in(self, deadline: float) -> None:
        """Get a token, retrying while the backend is down."""
        while True:
            response = self.call(
                "POST",
                "/api/auth/signin",
                deadline,
                json={"username": self.username, "password": self.password},
            )
            if response is not None and response.status_code == 200:
                self.token = response.json()["accessToken"]
                return
            time.sleep(0.2)

    def request_otp(self, body: dict[str, object], action: str, deadline: float) -> str | Outcome:
        """Ask for an OTP until one is issued (→ the code, read from the backend log), or until
        it is refused because the action can be known to fail (→ that answer: no code is made)."""
        while True:
            response = self.call("POST", "/api/processing", deadline, json={"action": action, **body})
            if response is not None and response.status_code == 202:
                return self.backend.otp(self.username, action)
            if response is not None and response.status_code < 500:
                return Outcome(response.status_code, response.json(), 0)
            self.retries += 1
            time.sleep(0.2)

    def send(self, method: str, path: str, body: dict[str, object], deadline: float) -> Outcome:
        """Send one money request, retrying with the same Idempotency-Key until a final answer."""
        key, retries = uuid.uuid4().hex, 0
        while True:
            response = self.call(method, path, deadline, json=body, headers={"Idempotency-Key": key})
            final = (
                response is not None
                and response.status_code < 500
                and (response.json().get("code") not in RETRYABLE_CODES)
            )
            if final and response is not None:
                self.retries += retries
                return Outcome(response.status_code, response.json(), retries)
            retries += 1
            time.sleep(0.2)

    def transfer(self, to: str, amount: int, deadline: float) -> Outcome:
        """A whole transfer as a real client does it."""
        otp = self.request_otp({"recipient": to, "amount": amount}, "transfer", deadline)
        if isinstance(otp, Outcome):
            return otp
        body = {"recipient": to, "amount": amount, "otp": otp}
        return self.send("POST", "/api/transfer", body, deadline)


def admin_session(backend: BackendProcess) -> HttpUser:
    """The admin of a live backend, signed in."""
    admin = HttpUser(backend, "admin", "admin-pass-123")
    admin.sign_in(time.monotonic() + 30)
    return admin


def create_users(backend: BackendProcess, count: int, balance: int, prefix: str = "load") -> list[HttpUser]:
    """Sign up `count` users and deposit `balance` into each."""
    admin = admin_session(backend)
    users = []
    deadline = time.monotonic() + 60
    for index in range(count):
        name = f"{prefix}{index}"
        httpx.post(
            backend.url + "/api/auth/signup",
            json={"username": name, "password": "password-123", "name": name},
        )
        deposit = admin.send(
            "POST", f"/api/admin/users/{name}/deposit", {"amount": balance, "reference": "seed"}, deadline
        )
        assert deposit.status == 201, deposit.body
        user = HttpUser(backend, name, "password-123")
        user.sign_in(deadline)
        users.append(user)
    return users


def ledger_records(admin: HttpUser) -> list[dict[str, object]]:
    """Every ledger record, through the admin API."""
    records: list[dict[str, object]] = []
    cursor = None
    deadline = time.monotonic() + 120
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        response = admin.call("GET", "/api/admin/ledger", deadline, params=params)
        assert response is not None and response.status_code == 200
        records.extend(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if not cursor:
            return records


def reconcile(admin: HttpUser) -> dict[str, object]:
    """The reconciliation report."""
    response = admin.call("GET", "/api/admin/reconcile", time.monotonic() + 30)
    assert response is not None and response.status_code == 200
    return response.json()  # type: ignore[no-any-return]

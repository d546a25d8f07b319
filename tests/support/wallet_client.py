"""A thin client of the wallet API for tests: factories for users, OTPs read from their channel.

Works over any httpx.Client: FastAPI's in-process TestClient, or a real HTTP connection to a
backend process. OTPs come from `otp_source(username, action)`, which reads the `log` channel.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

OtpSource = Callable[[str, str], str]
_counter = itertools.count()
PASSWORD = "correct-horse-9"
# a well-formed NIK: Jawa Barat 32, regency 01, district 01, born 17-05-1990, serial 0001
TEST_NIK, TEST_BIRTH = "3201011705900001", "1990-05-17"


def unique_name(prefix: str = "u") -> str:
    """A fresh valid username."""
    return f"{prefix}{next(_counter)}_{uuid.uuid4().hex[:6]}"


def new_key() -> str:
    """A fresh Idempotency-Key."""
    return uuid.uuid4().hex


@dataclass
class Actor:
    """A signed-in user (or admin) and the calls a test makes on their behalf."""

    http: httpx.Client
    username: str
    token: str
    otp_source: OtpSource
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **kw: Any) -> httpx.Response:
        """GET with my token."""
        return self.http.get(path, headers=self.headers, **kw)

    def post(self, path: str, json: Any = None, key: str | None = None, **kw: Any) -> httpx.Response:
        """POST with my token (and an Idempotency-Key when given)."""
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.post(path, json=json, headers=headers, **kw)

    def delete(self, path: str) -> httpx.Response:
        """DELETE with my token."""
        return self.http.delete(path, headers=self.headers)

    def balance(self) -> int:
        """My balance now."""
        response = self.get("/api/user")
        assert response.status_code == 200, response.text
        return int(response.json()["amount_credit"])

    def otp(self, action: str, **fields: Any) -> str:
        """Request an OTP for this action and read it from the delivery channel."""
        response = self.post("/api/processing", {"action": action, **fields})
        assert response.status_code == 202, response.text
        assert "otp" not in response.json() and "code" not in response.json()
        return self.otp_source(self.username, action)

    def transfer(
        self,
        to: str,
        amount: int,
        *,
        key: str | None = None,
        otp: str | None = None,
        description: str | None = None,
    ) -> httpx.Response:
        """A whole transfer: OTP then the transfer itself (or the OTP request's refusal: a transfer
        that can be known to fail gets no code)."""
        if otp is None:
            asked = self.post("/api/processing", {"action": "transfer", "recipient": to, "amount": amount})
            if asked.status_code != 202:
                return asked
        code = otp or self.otp_source(self.username, "transfer")
        body: dict[str, Any] = {"recipient": to, "amount": amount, "otp": code}
        if description is not None:
            body["description"] = description
        return self.post("/api/transfer", body, key=key or new_key())

    def bill(
        self, payer: str, amount: int, name: str = "Makan siang", *, key: str | None = None, **extra: Any
    ) -> httpx.Response:
        """Create a bill with its OTP."""
        code = self.otp("create_bill", payer=payer, amount=amount)
        body = {"bill_name": name, "payer": payer, "amount": amount, "otp": code, **extra}
        return self.post("/api/bill", body, key=key or new_key())

    def pay(self, bill_code: str, *, key: str | None = None) -> httpx.Response:
        """Pay a bill with its OTP (or the OTP request's refusal)."""
        asked = self.post("/api/processing", {"action": "pay_bill", "bill_code": bill_code})
        if asked.status_code != 202:
            return asked
        code = self.otp_source(self.username, "pay_bill")
        return self.post(f"/api/bill/{bill_code}/pay", {"otp": code}, key=key or new_key())


@dataclass
class WalletClient:
    """Factories over one backend: users, the admin, deposits."""

    http: httpx.Client
    otp_source: OtpSource
    admin_username: str = "admin"
    admin_password: str = "admin-pass-123"
    _admin: Actor | None = field(default=None, init=False)

    def signin(self, username: str, password: str = PASSWORD) -> Actor:
        """Sign in and return the actor."""
        response = self.http.post("/api/auth/signin", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return Actor(self.http, response.json()["username"], response.json()["accessToken"], self.otp_source)

    def admin(self) -> Actor:
        """The admin created at start-up (signed in once per client)."""
        if self._admin is None:
            self._admin = self.signin(self.admin_username, self.admin_password)
        return self._admin

    def user(
        self, balance: int = 0, *, prefix: str = "u", name: str = "Test User", verified: bool = False
    ) -> Actor:
        """A new user, signed in, with `balance` deposited by the admin (KYC-verified first when
        `verified`: a verified wallet may hold more)."""
        username = unique_name(prefix)
        form = {"username": username, "password": PASSWORD, "name": name}
        response = self.http.post("/api/auth/signup", json=form)
        assert response.status_code == 201, response.text
        if verified:
            self.verify(username)
        if balance:
            self.deposit(username, balance)
        return self.signin(username)

    def verify(self, username: str, nik: str = TEST_NIK, date_of_birth: str = TEST_BIRTH) -> httpx.Response:
        """Admin KYC verification with a well-formed NIK."""
        body = {"full_name": "Sari Test Wulandari", "nik": nik, "date_of_birth": date_of_birth}
        response = self.admin().post(f"/api/admin/users/{username}/verify", body)
        assert response.status_code == 200, response.text
        return response

    def deposit(self, username: str, amount: int) -> httpx.Response:
        """Admin deposit, which must be accepted."""
        response = self.admin_money("deposit", username, amount)
        assert response.status_code == 201, response.text
        return response

    def admin_money(self, kind: str, username: str, amount: int) -> httpx.Response:
        """An admin "deposit" or "withdraw", answered as it is (accepted or refused)."""
        body = {"amount": amount, "reference": f"test {kind}"}
        return self.admin().post(f"/api/admin/users/{username}/{kind}", body, key=new_key())

"""BackendClient: what a failed call tells the user (nothing charged, or "check your history")."""

from __future__ import annotations

import httpx
import pytest

from bot.client import BackendClient, BackendUnavailable, BackendUnsure

SESSION = {"access_token": "a", "refresh_token": "r", "username": "budi"}


def client_answering(status: int, calls: list[str]) -> BackendClient:
    """A client whose backend always answers `status`."""

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers.get("Idempotency-Key", "-"))
        return httpx.Response(status, json={"detail": "boom", "code": "unavailable"})

    return BackendClient("http://backend", "secret", transport=httpx.MockTransport(handler))


async def test_a_5xx_to_a_money_request_is_unsure_and_retried_with_the_same_key() -> None:
    calls: list[str] = []
    client = client_answering(503, calls)
    with pytest.raises(BackendUnsure):
        await client.transfer(SESSION, "key-1", recipient="sari", amount=5_000, otp="123456")
    assert calls == ["key-1", "key-1"]
    await client.aclose()


async def test_a_5xx_to_a_read_means_nothing_was_charged() -> None:
    calls: list[str] = []
    client = client_answering(503, calls)
    with pytest.raises(BackendUnavailable) as error:
        await client.me(SESSION)
    assert not isinstance(error.value, BackendUnsure) and len(calls) == 1
    await client.aclose()

"""What the API fuzz found, each pinned by the smallest request that showed it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.fuzz.harness import BOT_SECRET
from tests.support.wallet_client import PASSWORD, WalletClient, new_key, unique_name

ERROR_BODY = "#/components/schemas/ErrorBody"
BOT = {"X-Bot-Secret": BOT_SECRET}


def declared(client: TestClient, method: str, path: str) -> dict[str, dict]:
    """The responses the served OpenAPI declares for one operation."""
    return client.get("/openapi.json").json()["paths"][path][method.lower()]["responses"]


def schema_ref(response: dict) -> str | None:
    """The `$ref` of a declared JSON response body."""
    return response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")


def test_bill_cursor_past_64_bits_is_refused_not_a_crash(wallet_client: WalletClient) -> None:
    """Guards: a 19–20 digit bill cursor raised OverflowError in the database driver (500)."""
    user = wallet_client.user()
    for path in (f"/api/bill/{user.username}", f"/api/bill/{user.username}/issued"):
        response = user.get(path, params={"cursor": "9" * 20})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert user.get(path, params={"cursor": "9" * 13 + ":ABCDEFGH23"}).status_code == 200


def test_validation_errors_are_declared_as_the_body_they_have(
    wallet_client: WalletClient, client: TestClient
) -> None:
    """Guards: 422 was declared as FastAPI's list of errors; the body is {"detail": str, "code"}."""
    admin = wallet_client.admin()
    response = admin.get("/api/admin/audit", params={"limit": 0})
    assert response.status_code == 422
    assert set(response.json()) == {"detail", "code"} and isinstance(response.json()["detail"], str)
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path != "/healthz":
                assert schema_ref(operation["responses"]["422"]) == ERROR_BODY, (method, path)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/api/auth/signin", 401),
        ("POST", "/api/auth/signin", 429),
        ("POST", "/api/auth/signup", 409),
        ("POST", "/api/auth/signout", 401),
        ("GET", "/api/user/{username}", 404),
        ("GET", "/api/user/transfer/{username}", 403),
        ("POST", "/api/processing", 429),
        ("POST", "/api/transfer", 400),
        ("POST", "/api/transfer", 409),
        ("GET", "/api/bill/code/{bill_code}", 404),
        ("POST", "/api/bill/{bill_code}/pay", 409),
        ("POST", "/api/admin/users/{username}/freeze", 404),
        ("GET", "/api/admin/reconcile", 403),
        ("POST", "/api/bot/link", 403),
        ("POST", "/api/bot/refresh", 401),
    ],
)
def test_error_statuses_the_api_answers_are_declared(
    client: TestClient, method: str, path: str, status: int
) -> None:
    """Guards: 4xx answers the routes give were missing from the OpenAPI (undocumented status)."""
    assert schema_ref(declared(client, method, path)[str(status)]) == ERROR_BODY


def test_a_body_that_is_not_utf8_gets_400_in_the_error_shape(client: TestClient) -> None:
    """Guards: FastAPI's own 400 ("error parsing the body") came without `code`, and undeclared."""
    response = client.post("/api/auth/signin", content=b"\x80", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body", "code": "bad_request"}
    assert schema_ref(declared(client, "POST", "/api/auth/signin")["400"]) == ERROR_BODY


def test_starlette_refusals_have_the_error_shape(client: TestClient) -> None:
    """Guards: unknown paths and methods answered {"detail"} only, unlike every other error."""
    assert client.get("/api/nowhere").json() == {"detail": "Not Found", "code": "not_found"}
    response = client.put("/healthz")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_health_declares_its_503(client: TestClient) -> None:
    """Guards: /healthz answers 503 with {"ok", "database"} when the database is down; declared."""
    responses = declared(client, "GET", "/healthz")
    assert schema_ref(responses["200"]) == schema_ref(responses["503"]) == "#/components/schemas/Health"
    assert client.get("/healthz").json() == {"ok": True, "database": "up"}


@pytest.mark.parametrize("name", [" ", "\x01", " \x7f\t "])
def test_a_name_blank_once_cleaned_is_refused(client: TestClient, name: str) -> None:
    """Guards: min_length ran before control characters and blanks were stripped, so a blank name
    passed; the bot's sign-up then re-validated the cleaned "" and crashed (500)."""
    form = {"username": unique_name(), "password": PASSWORD, "name": name}
    bot = client.post("/api/bot/register", json={**form, "chat_id": 42}, headers=BOT)
    assert bot.status_code == 422, bot.text
    assert bot.json()["code"] == "validation_error"
    assert client.post("/api/auth/signup", json=form).status_code == 422
    assert (
        client.post("/api/auth/signin", json={"username": form["username"], "password": PASSWORD}).status_code
        == 401
    )


def test_a_bill_name_blank_once_cleaned_is_refused(wallet_client: WalletClient) -> None:
    """Guards: the same for `bill_name` (a bill named "" could be created)."""
    issuer, payer = wallet_client.user(), wallet_client.user()
    body = {"bill_name": "\x01 ", "payer": payer.username, "amount": 1_000, "otp": "123456"}
    response = issuer.post("/api/bill", body, key=new_key())
    assert response.status_code == 422, response.text
    assert "bill_name" in response.json()["detail"]


@pytest.mark.parametrize("chat_id", [2**63, -(2**63) - 1, 2**70])
def test_a_chat_id_past_64_bits_is_refused_before_anything_is_stored(
    client: TestClient, chat_id: int
) -> None:
    """Guards: an unbounded chat_id made the database driver raise OverflowError (500) on
    /api/bot/register, after the account had been created, and on /api/bot/link."""
    form = {"username": unique_name(), "password": PASSWORD, "name": "Chat", "chat_id": chat_id}
    assert client.post("/api/bot/register", json=form, headers=BOT).status_code == 422
    assert (
        client.post("/api/auth/signin", json={"username": form["username"], "password": PASSWORD}).status_code
        == 401
    )
    assert (
        client.post(
            "/api/auth/signup", json={k: form[k] for k in ("username", "password", "name")}
        ).status_code
        == 201
    )
    link = {"username": form["username"], "password": PASSWORD, "chat_id": chat_id}
    assert client.post("/api/bot/link", json=link, headers=BOT).status_code == 422
    assert client.post("/api/bot/link", json={**link, "chat_id": 2**63 - 1}, headers=BOT).status_code == 200


@pytest.mark.parametrize(
    "secret", ["é".encode("latin-1"), b"\xff\xfe", "bot-secret-for-testsé".encode("latin-1")]
)
def test_a_non_ascii_bot_secret_is_refused_not_a_crash(client: TestClient, secret: bytes) -> None:
    """Guards: hmac.compare_digest raised TypeError on a non-ASCII X-Bot-Secret header (500).
    Found by review: schemathesis sends ASCII header values only."""
    response = client.post(
        "/api/bot/refresh", json={"refresh_token": "x" * 20}, headers={"X-Bot-Secret": secret}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"

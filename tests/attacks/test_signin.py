"""Sign-in brute force: slowed per username and per client address; no user enumeration."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from tests.support.wallet_client import PASSWORD, WalletClient, unique_name


def test_wrong_user_and_wrong_password_look_the_same(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    wrong_pw = client.post("/api/auth/signin", json={"username": actor.username, "password": "nope-nope"})
    no_user = client.post("/api/auth/signin", json={"username": unique_name(), "password": "nope-nope"})
    assert wrong_pw.status_code == no_user.status_code == 401
    assert wrong_pw.json() == no_user.json()


def test_repeated_failures_lock_the_username(wallet_client: WalletClient, client: TestClient) -> None:
    actor = wallet_client.user()
    for _ in range(5):
        bad = client.post("/api/auth/signin", json={"username": actor.username, "password": "wrong-pass"})
        assert bad.status_code == 401
    locked = client.post("/api/auth/signin", json={"username": actor.username, "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "signin_locked"


def test_spraying_many_usernames_from_one_address_is_locked(
    wallet_client: WalletClient, client: TestClient
) -> None:
    victim = wallet_client.user()
    for _ in range(20):  # 4 × SIGNIN_MAX_FAILURES, each against a different username
        client.post("/api/auth/signin", json={"username": unique_name(), "password": "guess-guess"})
    response = client.post("/api/auth/signin", json={"username": victim.username, "password": PASSWORD})
    assert response.status_code == 429 and response.json()["code"] == "signin_locked"


def test_concurrent_wrong_passwords_get_no_more_checks_than_the_limit(
    wallet_client: WalletClient, client: TestClient
) -> None:
    """Regression: 30 guesses at once were all checked against the password (limit 5), because
    the failure counter was read before the check and raised after it."""
    actor = wallet_client.user()

    def guess(i: int) -> int:
        body = {"username": actor.username, "password": f"guess-{i:04d}"}
        return client.post("/api/auth/signin", json=body).status_code

    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(guess, range(30)))
    assert statuses.count(401) <= 5 and statuses.count(429) >= 25
    assert statuses.count(401) + statuses.count(429) == 30


def test_a_right_password_does_not_count_as_a_failure(
    wallet_client: WalletClient, client: TestClient
) -> None:
    actor = wallet_client.user()
    for _ in range(10):
        ok = client.post("/api/auth/signin", json={"username": actor.username, "password": PASSWORD})
        assert ok.status_code == 200


def test_a_stranger_cannot_lock_someone_elses_bot_login(
    wallet_client: WalletClient, client: TestClient
) -> None:
    """Regression: /api/bot/link counted failures per client address, and every bot request comes
    from the bot's address: 20 failed links for other usernames locked a victim's correct login."""
    victim = wallet_client.user()
    bot = {"X-Bot-Secret": "bot-secret-for-tests"}
    for _ in range(25):  # a stranger in chat 1111 tries other people's usernames
        body = {"chat_id": 1111, "username": unique_name(), "password": "guess-guess"}
        client.post("/api/bot/link", json=body, headers=bot)
    stranger = client.post(
        "/api/bot/link", json={"chat_id": 1111, "username": unique_name(), "password": "x" * 8}, headers=bot
    )
    assert stranger.status_code == 429  # the stranger's own Telegram account is locked
    mine = {"chat_id": 2222, "username": victim.username, "password": PASSWORD}
    assert client.post("/api/bot/link", json=mine, headers=bot).status_code == 200

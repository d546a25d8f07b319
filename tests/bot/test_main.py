"""`python -m bot`: what it does when Telegram refuses the token or cannot be reached."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from telegram.error import InvalidToken, NetworkError

import bot.__main__ as entry
from bot.config import BotSettings

ROOT = Path(__file__).resolve().parents[2]


class FlakyApplication:
    """run_polling raises the next of `failures`, then returns (the bot was stopped)."""

    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures

    def run_polling(self, **_: Any) -> None:
        if self.failures:
            raise self.failures.pop(0)


def test_a_refused_token_is_reported_once_and_retried_slowly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    failures: list[Exception] = [InvalidToken(), InvalidToken(), InvalidToken(), NetworkError("down")]
    app = FlakyApplication(failures)
    sleeps: list[float] = []
    monkeypatch.setattr(entry, "build_application", lambda _settings: app)
    monkeypatch.setattr(entry, "wait", sleeps.append)
    settings = BotSettings(_env_file=None, telegram_bot_token="1:x", data_dir=tmp_path)  # type: ignore[call-arg]

    with caplog.at_level(logging.INFO, logger="bot.__main__"):
        entry.poll_until_stopped(settings)  # returns: no SystemExit, so no restart loop under make run

    assert not failures
    assert sleeps == [entry.INVALID_TOKEN_RETRY_SECONDS] * 3 + [entry.RETRY_SECONDS]
    assert entry.INVALID_TOKEN_RETRY_SECONDS >= 60
    refused = [r for r in caplog.records if "refused TELEGRAM_BOT_TOKEN" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.ERROR


class NotFound(BaseHTTPRequestHandler):
    """Telegram's answer to a malformed token: 404 for every method (PTB: InvalidToken)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = b'{"ok": false, "error_code": 404, "description": "Not Found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def refusing_telegram() -> Iterator[str]:
    """URL of a Bot API server that refuses every token."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_bot_whose_token_is_refused_keeps_running_and_stops_at_once_on_sigterm(
    tmp_path: Path, refusing_telegram: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k.upper() not in {"ENV", "WEBHOOK_URL", "BACKEND_URL"}},
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": "123:refused",
        "TELEGRAM_API_URL": refusing_telegram,
        "BOT_API_SECRET": "x" * 32,
        "DATA_DIR": str(tmp_path),
    }
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        bot = subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while "refused TELEGRAM_BOT_TOKEN" not in log.read_text():
            assert bot.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        time.sleep(1)
        assert bot.poll() is None, f"the bot exited on a refused token:\n{log.read_text()}"
        bot.send_signal(signal.SIGTERM)  # what supervisord sends on Ctrl-C of make run
        assert bot.wait(5) == 0, log.read_text()
        assert log.read_text().count("refused TELEGRAM_BOT_TOKEN") == 1
        assert "123:refused" not in log.read_text(), "PTB's traceback of the refusal holds the token"
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()

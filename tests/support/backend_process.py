"""A real backend process (`python -m backend`) on its own port and data directory.

Used where a test needs real HTTP and real crashes: `kill()` is SIGKILL, `restart()` starts a new
process on the same data. OTPs are read from its log (OTP_DELIVERY=log).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
OTP_LINE = re.compile(r"otp username=(\S+) code=(\d{6}) action=(\w+)")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_backend(env: dict[str, str], url: str, log_path: Path, timeout: float) -> subprocess.Popen[bytes]:
    """`python -m backend` with this environment, once /healthz answers 200 (or raise with its log)."""
    log = log_path.open("ab")
    process = subprocess.Popen([sys.executable, "-m", "backend"], cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("backend exited:\n" + log_path.read_text()[-3000:])
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("backend did not become healthy:\n" + log_path.read_text()[-3000:])


def terminate(process: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it is still running after `grace` seconds."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


class BackendProcess:
    """Start, kill -9 and restart the backend; read OTPs out of its log."""

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log_path = data_dir / "backend.log"
        self.env = {
            **os.environ,
            "ENV": "test",
            "DATA_DIR": str(data_dir),
            "PORT": str(self.port),
            "EMBEDDED_DB_PORT": str(free_port()),
            "MONGODB_URI": "",
            "OTP_DELIVERY": "log",
            "ADMIN_USERNAME": "admin",
            "ADMIN_PASSWORD": "admin-pass-123",
            "BOT_API_SECRET": "bot-secret-for-tests",
            "JWT_SECRET": "test-secret-" + "x" * 40,
            "TELEGRAM_BOT_TOKEN": "",
            "OTP_REQUESTS_PER_WINDOW": "100000",
            "LEDGER_LEASE_SECONDS": "2",
            "SWEEPER_INTERVAL_SECONDS": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._offset = 0
        self._codes: dict[tuple[str, str], str] = {}

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def mongo_uri(self) -> str:
        """URI of its embedded database (for checks that read the store directly)."""
        return f"mongodb://127.0.0.1:{self.env['EMBEDDED_DB_PORT']}/?directConnection=true"

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until /healthz answers."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = start_backend(self.env, self.url, self.log_path, timeout)

    def kill(self) -> None:
        """SIGKILL the backend (the embedded database keeps running, as after a real crash)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def db_pid(self) -> int | None:
        """Pid of the embedded database server."""
        try:
            return int((self.data_dir / "nx-27017.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def kill_db(self) -> None:
        """SIGKILL the embedded database server."""
        pid = self.db_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the backend (SIGTERM) and then the embedded database."""
        if self.process is not None:
            terminate(self.process)
            self.process = None
        pid = self.db_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def otp(self, username: str, action: str, timeout: float = 5.0) -> str:
        """The newest OTP the backend logged for this user and action (the log is read incrementally)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                self._read_new_log()
                code = self._codes.pop((username, action), None)
            if code is not None:
                return code
            if time.monotonic() > deadline:
                raise AssertionError(f"no OTP logged for {username} {action}")
            time.sleep(0.01)

    def _read_new_log(self) -> None:
        """Parse OTP lines appended since the last read."""
        with self.log_path.open("rb") as log:
            log.seek(self._offset)
            chunk = log.read()
        end = chunk.rfind(b"\n") + 1
        self._offset += end
        for user, code, action in OTP_LINE.findall(chunk[:end].decode(errors="replace")):
            self._codes[(user, action)] = code

"""The embedded database: an nx-27017 server (MongoDB wire protocol over SQLite) under DATA_DIR.

It runs as its own process so that the real pymongo driver talks to it exactly as it would to a
MongoDB server. The backend starts it when MONGODB_URI is unset and reuses one that is already
running (after a backend crash the database keeps serving). nx-27017 refuses to start while a pid
file names a live process, and after `kill -9` it leaves a stale pid file: we clear that ourselves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)


class EmbeddedMongo:
    """Start, find or stop the nx-27017 server that keeps its data in `data_dir`."""

    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1") -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.host = host
        self.pid_file = self.data_dir / "nx-27017.pid"
        self.log_file = self.data_dir / "nx-27017.log"
        self.db_file = self.data_dir / "mongo.sqlite"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        """The MongoDB URI of this server."""
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    def pid(self) -> int | None:
        """The pid in the pid file when that process is alive, else None."""
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def is_listening(self) -> bool:
        """True when something accepts connections on our port."""
        with socket.socket() as sock:
            sock.settimeout(0.2)
            return sock.connect_ex((self.host, self.port)) == 0

    def ensure_running(self, timeout: float = 20.0) -> bool:
        """Start the server unless ours is already up; True when this call started it."""
        if self.process is not None:
            self.process.poll()  # reap a server of ours that died, so its pid reads as gone
        if self.pid() is not None and self.is_listening():
            logger.info("embedded database already running on port %d", self.port)
            return False
        if self.is_listening():
            raise RuntimeError(
                f"port {self.port} is taken by another program; set EMBEDDED_DB_PORT or MONGODB_URI"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.unlink(missing_ok=True)  # stale after kill -9
        self.process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # survives a crash of the backend, like a real server
        )
        self._wait_until_listening(timeout)
        logger.info("embedded database started (pid %d, port %d)", self.process.pid, self.port)
        return True

    def command(self) -> list[str]:
        """The nx-27017 command line."""
        exe = shutil.which("nx-27017", path=str(Path(sys.executable).parent)) or "nx-27017"
        return [
            exe,
            "--db",
            str(self.db_file),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--pid-file",
            str(self.pid_file),
            "--log-file",
            str(self.log_file),
        ]

    def _wait_until_listening(self, timeout: float) -> None:
        """Block until the server accepts connections, or raise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_listening():
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"nx-27017 exited at start-up; see {self.log_file}")
            time.sleep(0.05)
        raise RuntimeError(f"nx-27017 did not listen on port {self.port} in {timeout:.0f}s")

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL: it sometimes ignores SIGTERM; WAL keeps the data)."""
        pid = self.process.pid if self.process is not None else self.pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 15)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid, self.process):
            time.sleep(0.05)
        if _alive(pid, self.process):
            os.kill(pid, 9)
        if self.process is not None:
            self.process.wait(timeout)
        self.pid_file.unlink(missing_ok=True)
        self.process = None


def _alive(pid: int, process: subprocess.Popen[bytes] | None) -> bool:
    """True while `pid` runs (reaping it first when it is our child)."""
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True

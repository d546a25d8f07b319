"""Shared pieces of `scripts/bench.py`: the machine, statistics, CPU accounting, processes.

Nothing here measures anything by itself; the scenario modules (bench_floor, bench_http,
bench_bot) call these helpers and return plain dicts that bench.py turns into tables.
"""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pymongo import MongoClient

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench_seed import BENCH_CAPS_ENV  # noqa: E402

from backend.config import Settings  # noqa: E402
from backend.embedded_db import EmbeddedMongo  # noqa: E402
from backend.security import Tokens  # noqa: E402
from tests.support.backend_process import start_backend, terminate  # noqa: E402

JWT_SECRET = "bench-secret-" + "x" * 40
BOT_SECRET = "bench-bot-secret"
ADMIN_PASSWORD = "bench-admin-pass-1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---- the machine ------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (platform.processor() is often empty on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version_of(package: str) -> str:
    """An installed distribution's version, or '-'."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def machine_info(database: str) -> dict[str, str]:
    """Everything the report header says about where the figures come from."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": f"{usable} usable ({os.cpu_count()} online)",
        "memory": mem,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "database": database,
        "stack": ", ".join(
            f"{p} {version_of(p)}"
            for p in ("fastapi", "uvicorn", "uvloop", "httptools", "pymongo", "python-telegram-bot")
        ),
    }


# ---- statistics -------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; NaN when there are no samples."""
    if not samples:
        return float("nan")
    data = sorted(samples)
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def median(values: list[float]) -> float:
    """The median of the per-run figures (NaN when empty)."""
    clean = [v for v in values if v == v]
    return statistics.median(clean) if clean else float("nan")


@dataclass
class RunResult:
    """One timed run: how many operations finished in how long, and each one's latency (s)."""

    ops: int
    seconds: float
    latencies: list[float]
    cpu: dict[str, float] = field(default_factory=dict)  # process label -> CPU seconds used
    extra: dict[str, list[float]] = field(default_factory=dict)  # named sub-latencies

    @property
    def rate(self) -> float:
        """Operations per second."""
        return self.ops / self.seconds if self.seconds else float("nan")


def summarize(runs: list[RunResult]) -> dict[str, Any]:
    """Median over runs of throughput, p50, p99 and CPU milliseconds per operation."""
    out: dict[str, Any] = {
        "runs": len(runs),
        "ops": median([r.ops for r in runs]),
        "rate": median([r.rate for r in runs]),
        "p50_ms": median([percentile(r.latencies, 50) * 1000 for r in runs]),
        "p99_ms": median([percentile(r.latencies, 99) * 1000 for r in runs]),
        "rates": [round(r.rate, 1) for r in runs],
    }
    for label in runs[0].cpu if runs else {}:
        out[f"cpu_ms_{label}"] = median([r.cpu.get(label, 0) * 1000 / r.ops for r in runs if r.ops])
        out[f"cpu_util_{label}"] = median([r.cpu.get(label, 0) / r.seconds for r in runs])
    for name in runs[0].extra if runs else {}:
        out[f"{name}_p50_ms"] = median([percentile(r.extra[name], 50) * 1000 for r in runs])
    return out


# ---- CPU accounting ---------------------------------------------------------------------


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine (and the hypervisor's steal) have used so far."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class CpuMeter:
    """CPU seconds used by a set of processes between start() and stop().

    `other` is everything else the machine did meanwhile (other programs, the kernel, steal):
    on a shared machine it tells how much of the two cores the benchmark really had.
    """

    def __init__(self, pids: dict[str, int | None]) -> None:
        self.pids = {label: pid for label, pid in pids.items() if pid}
        self.start_values: dict[str, float] = {}
        self.start_busy = 0.0

    def start(self) -> None:
        """Remember where each counter stands."""
        self.start_values = {label: process_cpu_seconds(pid) for label, pid in self.pids.items()}
        self.start_busy = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        """CPU seconds used since start(), per label, plus `other`."""
        used = {
            label: process_cpu_seconds(pid) - self.start_values.get(label, 0.0)
            for label, pid in self.pids.items()
        }
        used["other"] = max(0.0, machine_busy_seconds() - self.start_busy - sum(used.values()))
        return used


# ---- processes --------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Database:
    """The database a benchmark runs on: the embedded nx-27017 server, or MONGODB_URI."""

    label: str
    uri: str
    embedded: EmbeddedMongo | None = None

    @property
    def server_pid(self) -> int | None:
        """Pid of the embedded server (None for an external MongoDB: its CPU is not ours)."""
        return self.embedded.pid() if self.embedded else None

    def client(self, **extra: Any) -> MongoClient[dict[str, Any]]:
        """A client with the backend's own pool settings (backend/db.py)."""
        return MongoClient(
            self.uri,
            **extra,
            tz_aware=False,
            serverSelectionTimeoutMS=5000,
            connectTimeoutMS=5000,
            socketTimeoutMS=600_000,
            maxPoolSize=64,
        )

    def describe(self) -> str:
        """What the report calls this database."""
        if self.embedded is not None:
            import sqlite3

            return (
                f"embedded nx-27017 {version_of('nx-27017')} (neosqlite {version_of('neosqlite')}, "
                f"SQLite {sqlite3.sqlite_version}, WAL) on local disk"
            )
        with self.client() as client:
            info = client.admin.command("buildInfo")
        return f"MongoDB {info.get('version', '?')} at MONGODB_URI"

    def stop(self) -> None:
        """Stop the embedded server (an external one is left alone)."""
        if self.embedded is not None:
            self.embedded.stop()


def start_embedded(data_dir: Path) -> Database:
    """A fresh nx-27017 server under `data_dir`, exactly as backend/embedded_db.py runs it."""
    server = EmbeddedMongo(data_dir, free_port())
    server.ensure_running()
    return Database("embedded nx-27017", server.uri, server)


def external_database(uri: str) -> Database:
    """MONGODB_URI as given."""
    return Database("MONGODB_URI", uri)


class Backend:
    """`python -m backend` on its own port, with the settings a benchmark needs."""

    def __init__(self, database: Database, db_name: str, data_dir: Path, **env: str) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.log_path = data_dir / f"backend-{db_name}.log"
        self.env = {
            **os.environ,
            "ENV": "development",
            "DATA_DIR": str(data_dir),
            "PORT": str(self.port),
            "MONGODB_URI": database.uri,  # the embedded server we started is reused through its URI
            "MONGODB_DB": db_name,
            "JWT_SECRET": JWT_SECRET,
            "ADMIN_USERNAME": "admin",
            "ADMIN_PASSWORD": ADMIN_PASSWORD,
            "BOT_API_SECRET": BOT_SECRET,
            # Every client reuses one account for hundreds of transfers: the default of 5 OTPs per
            # 10 minutes per user would stop it after five. Nothing else departs from the defaults.
            "OTP_REQUESTS_PER_WINDOW": "100000000",
            **BENCH_CAPS_ENV,
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """Pid of the backend process."""
        return self.process.pid if self.process else None

    def start(self, timeout: float = 60.0) -> Backend:
        """Start it and wait for /healthz."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = start_backend(self.env, self.url, self.log_path, timeout)
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process is not None:
            terminate(self.process)
            self.process = None


@contextmanager
def running(backend: Backend) -> Iterator[Backend]:
    """Start a backend for the duration of a block."""
    backend.start()
    try:
        yield backend
    finally:
        backend.stop()


def settings_for_tokens() -> Settings:
    """Settings that sign access tokens exactly as the benchmarked backend does."""
    return Settings(_env_file=None, jwt_secret=JWT_SECRET)  # type: ignore[call-arg]


def mint_tokens(usernames: list[str]) -> dict[str, str]:
    """Access tokens for users, signed by backend.security.Tokens with the backend's key.

    Signing in through the API would cost one Argon2 verification per user before each run;
    that is the sign-in path, not the one measured here.
    """
    tokens = Tokens(None, settings_for_tokens())  # type: ignore[arg-type]  # issuing needs no store
    return {name: tokens.issue_access(name) for name in usernames}

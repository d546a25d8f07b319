"""Shared pieces of the benchmarks: the machine, statistics, CPU accounting, the database and
the backend's settings and process.

Nothing here measures anything by itself; the scenario modules (floor, http_paths, bot_flows)
call these helpers and return plain dicts that bench.main turns into tables. Processes are
started with tests/support (`BackendProcess`, `free_port`), as the tests start them.
"""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from backend.config import Settings
from backend.embedded_db import EmbeddedMongo
from backend.security import Tokens
from tests.support.backend_process import BackendProcess, free_port

JWT_SECRET = "bench-secret-" + "x" * 40
BOT_SECRET = "bench-bot-secret"
ADMIN_PASSWORD = "bench-admin-pass-1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
AMOUNT = 1000  # of every benchmarked transfer and bill
# Seeded accounts are verified, with caps far above what a run moves: the benchmarks measure the
# money path, not the e-money limits (the backend gets the same caps, or it would lower them).
BENCH_CAP, BENCH_MONTHLY_CAP = 10**12, 10**15
BENCH_CAPS_ENV = {"BALANCE_CAP_VERIFIED": str(BENCH_CAP), "MONTHLY_INCOMING_CAP": str(BENCH_MONTHLY_CAP)}


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


def backend_env(database: Database, db_name: str, **extra: str) -> dict[str, str]:
    """The settings of every benchmarked backend, as its environment: the one source for the
    process (`start_backend`), the recorder's in-process app and the seeder (`settings_from`)."""
    product = Settings.model_fields
    return {
        "ENV": "development",
        "MONGODB_URI": database.uri,  # the server started here is shared through its URI
        "MONGODB_DB": db_name,
        "JWT_SECRET": JWT_SECRET,
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BOT_API_SECRET": BOT_SECRET,
        "OTP_DELIVERY": "telegram",  # the production channel: the outbox, claimed by a courier
        # Every client reuses one account for hundreds of transfers: the default of 5 OTPs per
        # 10 minutes per user would stop it after five.
        "OTP_REQUESTS_PER_WINDOW": "100000000",
        # tests/support's BackendProcess shortens these for tests; a benchmark runs the product's
        "LEDGER_LEASE_SECONDS": str(product["ledger_lease_seconds"].default),
        "SWEEPER_INTERVAL_SECONDS": str(product["sweeper_interval_seconds"].default),
        **BENCH_CAPS_ENV,
        **extra,
    }


def settings_from(env: dict[str, str]) -> Settings:
    """The Settings a backend started with this environment has (fields are the names, lowercased)."""
    values: dict[str, Any] = {name.lower(): value for name, value in env.items()}
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def start_backend(database: Database, db_name: str, data_dir: Path, **env: str) -> BackendProcess:
    """`python -m backend` on its own port (tests/support's BackendProcess) with `backend_env`."""
    backend = BackendProcess(data_dir, **backend_env(database, db_name, **env))
    backend.start(timeout=60)
    return backend


def pid_of(backend: BackendProcess) -> int | None:
    """Pid of a running backend process (for CpuMeter and py-spy)."""
    return backend.process.pid if backend.process is not None else None


def mint_tokens(settings: Settings, usernames: list[str]) -> dict[str, str]:
    """Access tokens for users, signed by backend.security.Tokens with the backend's key.

    Signing in through the API would cost one Argon2 verification per user before each run;
    that is the sign-in path, not the one measured here.
    """
    tokens = Tokens(None, settings)  # type: ignore[arg-type]  # issuing needs no store
    return {name: tokens.issue_access(name) for name in usernames}

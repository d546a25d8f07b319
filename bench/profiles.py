"""Sampling profiles with py-spy (`--profile`): where the backend's and the database's CPU goes.

py-spy attaches to running processes (no code change, no restart) and samples only the thread
holding the GIL (`--gil`), so a profile is CPU time, not threads waiting on the database.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pymongo import monitoring

from bench.support import percentile

RATE = 400  # samples per second
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("backend code (backend/)", ("/backend/", "backend/")),
    ("pymongo + bson (driver)", ("/pymongo/", "/bson/", "pymongo/", "bson/")),
    ("FastAPI + Starlette routing, deps", ("/fastapi/", "/starlette/", "fastapi/", "starlette/")),
    ("pydantic validation/serialization", ("pydantic",)),
    ("uvicorn + httptools (HTTP server)", ("/uvicorn/", "httptools", "uvicorn/")),
    ("httpx/httpcore (Telegram sendMessage)", ("/httpx/", "/httpcore/", "httpx/", "httpcore/")),
    (
        "anyio / threads / asyncio (hand-offs)",
        ("/anyio/", "threading.py", "concurrent/futures", "asyncio/", "queue.py", "selectors.py", "uvloop"),
    ),
    ("PyJWT", ("/jwt/", "jwt/")),
    ("json", ("/json/", "json/")),
    ("logging", ("/logging/", "logging/")),
    ("nx-27017 wire server", ("nx_27017",)),
    ("neosqlite (query translation, documents)", ("neosqlite",)),
    ("sqlite3 (SQL execution, commit)", ("sqlite3",)),
]


def py_spy() -> str | None:
    """The py-spy executable next to this Python, or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Recording:
    """A py-spy process recording one pid until stop()."""

    label: str
    pid: int
    out: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self, rate: int = RATE) -> Recording:
        """Begin sampling."""
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        self.process = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(self.pid),
                "--rate",
                str(rate),
                "--gil",
                "--nonblocking",
                "--format",
                "raw",
                "--output",
                str(self.out),
                "--duration",
                "600",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # attached before the run starts
        return self

    def stop(self) -> Profile:
        """Stop sampling (SIGINT makes py-spy write its file) and read the profile."""
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return Profile.read(self.label, self.out)


@dataclass
class Profile:
    """Collapsed stacks → self time by category and function, inclusive time by function."""

    label: str
    stacks: Counter[str] = field(default_factory=Counter)

    @classmethod
    def read(cls, label: str, path: Path) -> Profile:
        """Parse py-spy's raw (collapsed) output."""
        profile = cls(label)
        if path.exists():
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if stack and count.isdigit():
                    profile.stacks[stack] += int(count)
        return profile

    @property
    def total(self) -> int:
        """Samples in the profile."""
        return sum(self.stacks.values())

    def by_category(self) -> list[tuple[str, float]]:
        """Share of samples per category of the innermost frame, largest first."""
        counts: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            counts[category(stack.split(";")[-1])] += n
        return [(name, 100 * n / max(self.total, 1)) for name, n in counts.most_common()]

    def self_time(self, top: int = 15) -> list[tuple[str, float]]:
        """Innermost frames (function, file) with the most samples."""
        counts: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            counts[short(stack.split(";")[-1])] += n
        return [(name, 100 * n / max(self.total, 1)) for name, n in counts.most_common(top)]

    def inclusive(self, needle: str, top: int = 25) -> list[tuple[str, float]]:
        """Functions from files containing `needle`, by share of samples with them on the stack."""
        counts: Counter[str] = Counter()
        for stack, n in self.stacks.items():
            seen = {short(f) for f in stack.split(";") if needle in f}
            for name in seen:
                counts[name] += n
        return [(name, 100 * n / max(self.total, 1)) for name, n in counts.most_common(top)]


def category(frame: str) -> str:
    """The category of one frame `function (path:line)`."""
    for name, needles in CATEGORIES:
        if any(n in frame for n in needles):
            return name
    return "other (stdlib, C extensions)"


def short(frame: str) -> str:
    """`function (file.py)` without the directory and line."""
    func, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    parts = path.replace("\\", "/").split("/")
    for anchor in (
        "backend",
        "bot",
        "pymongo",
        "bson",
        "fastapi",
        "starlette",
        "uvicorn",
        "anyio",
        "nx_27017",
        "neosqlite",
        "httpx",
        "httpcore",
        "pydantic",
    ):
        if anchor in parts:
            return f"{func} ({'/'.join(parts[parts.index(anchor) :])})"
    return f"{func} ({parts[-1]})"


def render(profiles: list[tuple[str, Profile]]) -> str:
    """Markdown for a set of profiles: categories, hottest frames, hottest backend functions."""
    lines: list[str] = []
    for title, profile in profiles:
        lines += [f"#### {title} — {profile.total} samples (GIL holder, {RATE} Hz)", ""]
        lines += ["| where the innermost frame is | share |", "|---|---:|"]
        lines += [f"| {name} | {share:.1f}% |" for name, share in profile.by_category()]
        lines += ["", "| hottest frames (self time) | share |", "|---|---:|"]
        lines += [f"| `{name}` | {share:.1f}% |" for name, share in profile.self_time(12)]
        needle = "backend" if "nx" not in profile.label else "nx_27017"
        lines += ["", f"| {needle} functions (inclusive: on the stack) | share |", "|---|---:|"]
        lines += [f"| `{name}` | {share:.1f}% |" for name, share in profile.inclusive(needle, 22)]
        if "nx" in profile.label:
            lines += ["", "| neosqlite functions (inclusive) | share |", "|---|---:|"]
            lines += [f"| `{name}` | {share:.1f}% |" for name, share in profile.inclusive("neosqlite", 15)]
        lines.append("")
    return "\n".join(lines)


# ---- the floor, call by call -------------------------------------------------------------------


class CallTimer(monitoring.CommandListener):
    """A pymongo CommandListener keeping each command's server round trip, in order."""

    def __init__(self) -> None:
        self.durations: list[tuple[str, float]] = []
        self.enabled = False

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        """Nothing to do when a command starts."""

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Keep (command name, milliseconds)."""
        if self.enabled:
            self.durations.append((event.command_name, event.duration_micros / 1000))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """A failed command still takes its position (its time is unknown)."""
        if self.enabled:
            self.durations.append((event.command_name, float("nan")))


def per_call(durations: list[tuple[str, float]], labels: list[str]) -> list[tuple[str, str, float]]:
    """Median round trip of the i-th call of each operation → (label, wire command, ms); `labels`:
    the recorded commands of one operation (bench.floor.Recording.labels)."""
    n = len(labels)
    if not durations or len(durations) % n:
        return []
    rows = []
    for i, label in enumerate(labels):
        samples = [durations[k][1] for k in range(i, len(durations), n)]
        rows.append((label, durations[i][0], percentile(samples, 50)))
    return rows


def render_calls(title: str, rows: list[tuple[str, str, float]], wall_ms: float) -> str:
    """A table of the calls of one operation, slowest first, with their share of the total."""
    total = sum(ms for _, _, ms in rows)
    lines = [
        f"#### {title}: {len(rows)} round trips, Σ p50 {total:.1f} ms (p50 of the whole operation "
        f"{wall_ms:.1f} ms)",
        "",
        "| # | recorded command | wire command | p50 | share |",
        "|---:|---|---|---:|---:|",
    ]
    order = sorted(range(len(rows)), key=lambda i: -rows[i][2])
    for i in order:
        label, command, ms = rows[i]
        lines.append(f"| {i + 1} | {label} | `{command}` | {ms:.2f} ms | {100 * ms / total:.0f}% |")
    return "\n".join(lines) + "\n"

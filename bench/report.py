"""The report of `python -m bench`: Markdown tables from the phases' results, written into
docs/BENCHMARKS.md between the `bench:begin/end` markers (and `profile:begin/end`), everything
around them kept.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from bench import bot_flows
from tests.support.backend_process import ROOT

REPORT = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
PBEGIN, PEND = "<!-- profile:begin -->", "<!-- profile:end -->"
TARGETS = {
    "http_8_share_of_floor": 0.50,
    "http_32_p99_ms": 50.0,
    "listing_ratio": 2.0,
    "bot_p50_ms": 30.0,
}


class PlanLike(Protocol):
    """What the report says about the plan (bench.main.Plan)."""

    @property
    def name(self) -> str: ...

    @property
    def runs(self) -> int: ...

    @property
    def warmup(self) -> int: ...


def f1(value: float, unit: str = "") -> str:
    """A figure with one decimal (— when missing)."""
    return "—" if value != value else f"{value:,.1f}{unit}"


def cpu_cell(row: dict[str, Any], label: str) -> str:
    """CPU milliseconds per operation and utilisation of one process."""
    ms, util = row.get(f"cpu_ms_{label}"), row.get(f"cpu_util_{label}")
    return "—" if ms is None or util is None else f"{ms:.1f} ms ({util * 100:.0f}%)"


def util_cell(row: dict[str, Any], label: str) -> str:
    """Utilisation of one process (share of one core)."""
    util = row.get(f"cpu_util_{label}")
    return "—" if util is None else f"{util * 100:.0f}%"


def path_table(result: dict[str, Any], path: str, title: str) -> list[str]:
    """Floor vs HTTP for one path at every concurrency."""
    floor = result.get("floor", {}).get(path, {})
    http = result.get(path, {})
    if not http and not floor:
        return []
    lines = [
        f"**{title}**",
        "",
        "| clients | floor ops/s | floor p50 / p99 | HTTP ops/s | HTTP p50 | HTTP p99 | HTTP / floor "
        "| backend CPU per op (util.) | database CPU per op (util.) | other programs (util.) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in sorted(set(floor) | set(http)):
        fl, ht = floor.get(level, {}), http.get(level, {})
        ratio = ht.get("rate", float("nan")) / fl.get("rate", float("nan")) if fl and ht else float("nan")
        lines.append(
            f"| {level} | {f1(fl.get('rate', float('nan')))} "
            f"| {f1(fl.get('p50_ms', float('nan')))} / {f1(fl.get('p99_ms', float('nan')))} ms "
            f"| {f1(ht.get('rate', float('nan')))} | {f1(ht.get('p50_ms', float('nan')), ' ms')} "
            f"| {f1(ht.get('p99_ms', float('nan')), ' ms')} | {f1(ratio * 100, '%')} "
            f"| {cpu_cell(ht, 'backend')} | {cpu_cell(ht, 'db')} | {util_cell(ht, 'other')} |"
        )
    if http:
        parts = ", ".join(
            f"{lvl} → {f1(r.get('otp_request_p50_ms', float('nan')))} + "
            f"{f1(r.get('money_request_p50_ms', float('nan')))} ms"
            for lvl, r in sorted(http.items())
        )
        lines += [
            "",
            f"p50 of the two requests (OTP request + money request) by clients: {parts}. "
            f"Per-run ops/s: " + "; ".join(f"{lvl}: {r['rates']}" for lvl, r in sorted(http.items())) + ".",
        ]
        if floor:
            lines[-1] += (
                " Floor database CPU per op: "
                + ", ".join(
                    f"{lvl} → {fl.get('cpu_ms_db', float('nan')):.1f} ms" for lvl, fl in sorted(floor.items())
                )
                + "."
            )
    return lines + [""]


def listing_table(result: dict[str, Any]) -> list[str]:
    """Listing latency by database size."""
    listing = result.get("listing")
    if not listing:
        return []
    names = [
        ("history", "history, 100 movements"),
        ("history_empty", "history, no movements"),
        ("bills_to_pay", "bills to pay"),
        ("bills_issued", "bills issued"),
    ]
    lines = [
        "**First page for one user** (GET, p50 / p99 over sequential requests; the database holds "
        "N ledger records and N/10 bills)",
        "",
        "| ledger records | seeding | "
        + " | ".join(label for _, label in names)
        + " | history query alone (pymongo) |",
        "|---:|---:|" + "---:|" * len(names) + "---:|",
    ]
    sizes = listing["sizes"]
    for size, row in sorted(sizes.items()):
        cells = " | ".join(f"{f1(row[n]['p50_ms'])} / {f1(row[n]['p99_ms'])} ms" for n, _ in names)
        lines.append(
            f"| {size:,} | {row['seed_seconds']:.0f} s ({row['seed_rate']:,.0f} records/s) | {cells} "
            f"| {row['history_db_ms']:.1f} ms |"
        )
    first, last = min(sizes), max(sizes)
    ratios = ", ".join(
        f"{label} {sizes[last][n]['p50_ms'] / sizes[first][n]['p50_ms']:.1f}×" for n, label in names
    )
    lines += ["", f"p50 at {last:,} ÷ p50 at {first:,}: {ratios}.", ""]
    base = {
        "transfer": result.get("transfer", {}).get(8, {}),
        "billpay": result.get("billpay", {}).get(8, {}),
    }
    lines += [
        "**Write paths as the database grows** (8 clients, one run each; the fresh-database "
        "figure is the 8-client row above)",
        "",
        "| database | path | ops/s | p50 | p99 | fresh database ops/s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, path, row in listing["growth"]["steps"]:
        name = "transfer" if path == "transfer" else "bill payment"
        lines.append(
            f"| {label} | {name} | {f1(row['rate'])} | {f1(row['p50_ms'], ' ms')} "
            f"| {f1(row['p99_ms'], ' ms')} | {f1(base[path].get('rate', float('nan')))} |"
        )
    lines.append("")
    return lines


def bot_table(result: dict[str, Any]) -> list[str]:
    """The bot figures."""
    bot = result.get("bot")
    if not bot:
        return []
    flows = bot["flows"]
    steps = bot["steps_p50_ms"]
    cpu = ", ".join(
        f"{label} {flows[f'cpu_ms_{label}']:.0f} ms ({flows[f'cpu_util_{label}'] * 100:.0f}%)"
        for label in ("bot", "backend", "db", "driver", "other")
        if f"cpu_ms_{label}" in flows
    )
    return [
        "**Bot** (real `python -m bot` polling the fake Bot API; backend DMs OTPs through it)",
        "",
        "| scenario | figure |",
        "|---|---:|",
        f"| /me round trip (update queued → reply at the Bot API), p50 / p99 "
        f"| {f1(bot['me_p50_ms'])} / {f1(bot['me_p99_ms'])} ms |",
        f"| {bot['chats']} chats running transfers at once: completed flows/s | {f1(flows['rate'])} |",
        f'| one whole flow (6 user actions, /transfer → "Sent"), p50 / p99 '
        f"| {f1(flows['p50_ms'] / 1000)} / {f1(flows['p99_ms'] / 1000)} s |",
        f"| {bot['chats']} chats logging in through /login, {bot_flows.LOGIN_CONCURRENCY} at a time "
        f"(Argon2id at the backend) | {bot['login_seconds']:.1f} s ({bot['login_retries']} retried) |",
        "",
        "Reply p50 per step under that load: "
        + ", ".join(f"{k[3:]} {v:.0f} ms" for k, v in steps.items())
        + f". CPU per completed flow (utilisation): {cpu}.",
        "",
    ]


def verdicts(result: dict[str, Any]) -> list[str]:
    """The targets, met or not."""
    rows = []
    fl8 = result.get("floor", {}).get("transfer", {}).get(8)
    ht8 = result.get("transfer", {}).get(8)
    if fl8 and ht8:
        share = ht8["rate"] / fl8["rate"]
        rows.append(
            (
                "HTTP transfer ≥ 50% of the floor at 8 clients",
                f"{share * 100:.0f}%",
                share >= TARGETS["http_8_share_of_floor"],
            )
        )
    ht32 = result.get("transfer", {}).get(32)
    if ht32:
        rows.append(
            (
                "HTTP transfer p99 < 50 ms at 32 clients",
                f"{ht32['p99_ms']:.0f} ms",
                ht32["p99_ms"] < TARGETS["http_32_p99_ms"],
            )
        )
    bp32 = result.get("billpay", {}).get(32)
    if bp32:
        rows.append(
            (
                "bill payment p99 < 50 ms at 32 clients",
                f"{bp32['p99_ms']:.0f} ms",
                bp32["p99_ms"] < TARGETS["http_32_p99_ms"],
            )
        )
    listing = result.get("listing")
    if listing:
        sizes = listing["sizes"]
        first, last = min(sizes), max(sizes)
        for name, label in (("history", "history"), ("bills_to_pay", "bills to pay")):
            ratio = sizes[last][name]["p50_ms"] / sizes[first][name]["p50_ms"]
            rows.append(
                (
                    f"{label} p50 at {last:,} within 2× of {first:,}",
                    f"{ratio:.1f}×",
                    ratio <= TARGETS["listing_ratio"],
                )
            )
    bot = result.get("bot")
    if bot:
        rows.append(
            (
                "bot round trip p50 < 30 ms",
                f"{bot['me_p50_ms']:.1f} ms",
                bot["me_p50_ms"] < TARGETS["bot_p50_ms"],
            )
        )
    if not rows:
        return []
    lines = ["**Targets**", "", "| target | measured | met |", "|---|---:|:---:|"]
    lines += [f"| {what} | {value} | {'yes' if ok else '**no**'} |" for what, value, ok in rows]
    return lines + [""]


def render(info: dict[str, str], plan: PlanLike, results: list[dict[str, Any]], runtime: float) -> str:
    """The generated part of docs/BENCHMARKS.md."""
    kind = "quick run, indicative only" if plan.name == "quick" else "full run"
    lines = [
        f"_Generated by `python -m bench` ({kind}) in {runtime / 60:.1f} min. "
        "Do not edit between the markers: the next run replaces it._",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in info.items()],
        f"| method | medians of {plan.runs} run(s); closed loop: each client starts its next "
        f"operation when the previous one ends; {plan.warmup} untimed operations per client "
        "first; every run starts from a reset database with fresh accounts (one payer/payee "
        "pair per client) |",
        "",
    ]
    for result in results:
        lines += [f"### Database: {result['database']}", ""]
        for error in result.get("errors", []):
            lines += [f"**Phase failed** — {error}", ""]
        lines += verdicts(result)
        lines += path_table(result, "transfer", "Transfer (OTP issued + verified, Idempotency-Key, ledger)")
        lines += path_table(
            result, "billpay", "Bill payment (OTP issued + verified, Idempotency-Key, ledger, bill)"
        )
        lines += floor_sequence(result)
        lines += listing_table(result)
        lines += bot_table(result)
    return "\n".join(lines).rstrip() + "\n"


def floor_sequence(result: dict[str, Any]) -> list[str]:
    """The store commands the floor replays, as recorded from the real app (bench.record)."""
    sequence = result.get("floor", {}).get("sequence")
    if not sequence:
        return []
    transfer, bill = sequence["transfer"], sequence["billpay"]
    lines = [
        f"**The floor's store commands**, recorded from one real transfer ({len(transfer)} commands) "
        f"and one real bill payment ({len(bill)}), each with its OTP request (bench.record; the "
        "floor replays exactly these)",
        "",
        "| # | transfer | bill payment |",
        "|---:|---|---|",
    ]
    for i in range(max(len(transfer), len(bill))):
        cells = [f"`{path[i]}`" if i < len(path) else "" for path in (transfer, bill)]
        lines.append(f"| {i + 1} | {cells[0]} | {cells[1]} |")
    mismatches = result["floor"].get("mismatches", {})
    if any(mismatches.values()):
        differ = "; ".join(f"{path}: {dict(counts)}" for path, counts in mismatches.items() if counts)
        lines += [
            "",
            f"**Replayed commands that did not do what the recorded ones did** (timed part): {differ}.",
        ]
    return lines + [""]


SKELETON = f"""# Benchmarks

`make bench` (`.venv/bin/python -m bench`, `--quick` for a short run) measures the paths below
and rewrites the section between the markers. What it does and how is in the docstrings of
bench/main.py and bench/floor.py.

{BEGIN}
{END}

## Where the time goes

{PBEGIN}
{PEND}
"""


def write_report(generated: str, profile: str | None) -> None:
    """Replace the generated blocks of docs/BENCHMARKS.md, keeping everything around them."""
    text = REPORT.read_text() if REPORT.exists() else SKELETON
    if BEGIN not in text:
        text = SKELETON + "\n" + text
    text = re.sub(
        f"{re.escape(BEGIN)}.*?{re.escape(END)}", lambda _: f"{BEGIN}\n{generated}{END}", text, flags=re.S
    )
    if profile is not None:
        if PBEGIN not in text:
            text += f"\n{PBEGIN}\n{PEND}\n"
        text = re.sub(
            f"{re.escape(PBEGIN)}.*?{re.escape(PEND)}",
            lambda _: f"{PBEGIN}\n{profile}{PEND}",
            text,
            flags=re.S,
        )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(text)

"""The README's pictures: page 1 of a sample e-statement and a sample insights chart.

    .venv/bin/python scripts/render_docs_images.py

Draws them with the backend's own renderers (backend.documents `statement_pdf` and
`insights_png`) from made-up but plausible figures: Sari Wulandari's November 2026, 25
movements of every kind (a top-up, transfers in and out, a bill paid, a bill received, a
withdrawal, a reversal), as backend.statements' `row_of` turns ledger records into statement
lines, and six months of money in and out. No database: the records carry the fields the
renderers read. Writes docs/statement-page.png (page 1 rasterized by poppler's `pdftoppm` at 80
dpi) and docs/insights.png (1200×600).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.db import Doc  # noqa: E402
from backend.documents import insights_png, statement_pdf  # noqa: E402
from backend.ledger import BILL_PAYMENT, DEPOSIT, REVERSAL, TRANSFER, WITHDRAWAL  # noqa: E402
from backend.statements import Month, Row, row_of  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
ZONE = "Asia/Jakarta"
LANG = "id"
MONTH = Month(2026, 11)
HOLDER: Doc = {"_id": "sari_w", "name": "Sari Wulandari"}
OPENING = 1_284_500

# (day, hh:mm, kind, src, dst, amount, description, bill code, reversal of), oldest first
MOVEMENTS = (
    (1, "08:12", DEPOSIT, None, "sari_w", 2_000_000, None, None, None),
    (1, "19:40", TRANSFER, "sari_w", "bu_ratna", 1_250_000, "Bayar kos November", None, None),
    (2, "12:31", TRANSFER, "sari_w", "dimas_p", 35_000, "Makan siang", None, None),
    (3, "07:55", TRANSFER, "sari_w", "ojek_pak_udin", 20_000, "Ongkos ojek", None, None),
    (4, "12:10", TRANSFER, "rina.ayu", "sari_w", 42_500, "Makan siang kemarin", None, None),
    (5, "20:03", BILL_PAYMENT, "sari_w", "pln_kosan", 187_300, "Listrik kos (K7QM2WXA)", "K7QM2WXA", None),
    (6, "09:47", TRANSFER, "sari_w", "kopi_kenangan", 28_000, "Kopi", None, None),
    (7, "18:22", TRANSFER, "budi_santoso", "sari_w", 150_000, "Patungan kado Tia", None, None),
    (8, "13:05", TRANSFER, "sari_w", "dimas_p", 47_000, "Makan siang + es teh", None, None),
    (9, "16:40", BILL_PAYMENT, "rina.ayu", "sari_w", 120_000, "Tiket konser (P3HD8RNE)", "P3HD8RNE", None),
    (10, "10:18", TRANSFER, "sari_w", "toko_pulsa", 50_000, "Pulsa", None, None),
    (11, "21:30", TRANSFER, "sari_w", "budi_santoso", 75_000, "Patungan bensin ke Bandung", None, None),
    (12, "08:02", TRANSFER, "sari_w", "toko_pulsa", 100_000, "Pulsa (salah kirim)", None, None),
    (12, "15:44", REVERSAL, "toko_pulsa", "sari_w", 100_000, None, None, "019a7a1c2e40f3b2a91c5d7e8"),
    (14, "11:11", WITHDRAWAL, "sari_w", None, 300_000, None, None, None),
    (15, "12:45", TRANSFER, "sari_w", "warung_bu_tini", 25_000, "Makan siang", None, None),
    (17, "19:15", TRANSFER, "mama", "sari_w", 500_000, "Uang jajan", None, None),
    (18, "10:30", TRANSFER, "sari_w", "arisan_rt05", 200_000, "Arisan RT 05", None, None),
    (20, "13:20", TRANSFER, "sari_w", "dimas_p", 32_000, "Makan siang", None, None),
    (21, "17:58", TRANSFER, "dimas_p", "sari_w", 60_000, "Ganti uang nonton", None, None),
    (23, "09:05", TRANSFER, "sari_w", "kopi_kenangan", 56_000, "Kopi berdua", None, None),
    (25, "08:00", DEPOSIT, None, "sari_w", 1_000_000, None, None, None),
    (26, "19:27", TRANSFER, "sari_w", "laundry_bersih", 45_000, "Laundry kiloan", None, None),
    (28, "12:50", TRANSFER, "sari_w", "warung_bu_tini", 27_000, "Makan siang", None, None),
    (30, "20:15", TRANSFER, "sari_w", "bu_ratna", 1_250_000, "Bayar kos Desember", None, None),
)

INSIGHTS: Doc = {
    "month": str(MONTH),
    "months": [
        {"month": "2026-06", "money_in": 3_150_000, "money_out": 2_874_000},
        {"month": "2026-07", "money_in": 3_420_000, "money_out": 3_512_500},
        {"month": "2026-08", "money_in": 3_000_000, "money_out": 2_655_300},
        {"month": "2026-09", "money_in": 3_275_000, "money_out": 3_048_700},
        {"month": "2026-10", "money_in": 3_600_000, "money_out": 3_395_100},
        {"month": "2026-11", "money_in": 3_972_500, "money_out": 3_727_300},
    ],
    "by": "counterparty",
    "spent": [
        {"counterparty": "bu_ratna", "kind": None, "amount": 2_500_000},
        {"counterparty": None, "kind": WITHDRAWAL, "amount": 300_000},
        {"counterparty": "arisan_rt05", "kind": None, "amount": 200_000},
        {"counterparty": "pln_kosan", "kind": None, "amount": 187_300},
        {"counterparty": "toko_pulsa", "kind": None, "amount": 150_000},
        {"counterparty": "dimas_p", "kind": None, "amount": 114_000},
        {"counterparty": "kopi_kenangan", "kind": None, "amount": 84_000},
        {"counterparty": "budi_santoso", "kind": None, "amount": 75_000},
        {"counterparty": "warung_bu_tini", "kind": None, "amount": 52_000},
        {"counterparty": "laundry_bersih", "kind": None, "amount": 45_000},
        {"counterparty": "ojek_pak_udin", "kind": None, "amount": 20_000},
    ],
    "balance": 1_529_700,
}


def epoch_ms(day: int, hh_mm: str) -> int:
    """An instant of MONTH in Jakarta time."""
    hour, minute = (int(part) for part in hh_mm.split(":"))
    moment = datetime(MONTH.year, MONTH.month, day, hour, minute, tzinfo=ZoneInfo(ZONE))
    return int(moment.timestamp() * 1000)


def rows() -> list[Row]:
    """The statement's lines with their running balance, as Statements.rows yields them."""
    out, balance = [], OPENING
    for number, (day, hh_mm, kind, src, dst, amount, description, code, reversal_of) in enumerate(MOVEMENTS):
        booked = epoch_ms(day, hh_mm)
        record: Doc = {
            "_id": f"{booked - 2_000:013x}{number:012x}",
            "kind": kind,
            "src": src,
            "dst": dst,
            "amount": amount,
            "description": description,
            "bill_code": code,
            "reversal_of": reversal_of,
            "reference": "bank transfer" if kind in (DEPOSIT, WITHDRAWAL) else None,
            "created_at": booked - 2_000,
            "done_at": booked,
        }
        row = row_of(record, str(HOLDER["_id"]))
        balance += row.amount
        out.append(replace(row, balance=balance))
    return out


def main() -> int:
    """Render both pictures into docs/."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("pdftoppm (poppler-utils) is not installed: cannot rasterize the statement.", file=sys.stderr)
        return 1
    made_at = epoch_ms(30, "23:59") + 3_600_000 * 10
    pdf, totals = statement_pdf(LANG, HOLDER, MONTH, OPENING, rows(), ZONE, made_at)
    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "statement.pdf"
        source.write_bytes(pdf)
        stem = Path(work) / "page"
        subprocess.run(
            [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", source, stem], check=True
        )
        shutil.copyfile(stem.with_suffix(".png"), DOCS / "statement-page.png")
    (DOCS / "insights.png").write_bytes(insights_png(LANG, INSIGHTS))
    print(
        f"docs/statement-page.png: {totals.count} movements, closing {totals.closing:,}; docs/insights.png",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

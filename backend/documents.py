"""The documents the backend renders: the e-statement as PDF (reportlab) and CSV (the csv module),
the admin's exports (CSV) and the spending chart as PNG (matplotlib, headless Agg backend).

reportlab's canvas writes a real, text-searchable PDF with an embedded Unicode TrueType font
(people's names and descriptions are not Latin-1), and its C-accelerated text drawing builds a
100,000-line statement (1,471 pages) in ~33 s on the 2-core test machine (docs/BENCHMARKS.md).
fpdf2, the other well-kept candidate, is pure Python.
The font is DejaVu Sans, which matplotlib ships, so nothing else needs installing. CSV lines are
produced one at a time (a streamed response holds a line, not the file); a PDF is drawn as its
rows stream past, its compressed pages kept in memory (measured in docs/BENCHMARKS.md).

Cells a spreadsheet would read as a formula (=, +, -, @ first) get a leading apostrophe: people
type descriptions, and a CSV must not run them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

from matplotlib.figure import Figure  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfbase import pdfmetrics  # noqa: E402
from reportlab.pdfbase.ttfonts import TTFont  # noqa: E402
from reportlab.pdfgen import canvas  # noqa: E402

from backend.db import Doc  # noqa: E402
from backend.statements import Month, Row, Tally, Totals  # noqa: E402
from backend.texts import month_name, rupiah, word  # noqa: E402

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
CHART_SIZE = (1200, 600)  # pixels of the insights chart (width, height)
_DPI = 100
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def when(ms: int, timezone: str) -> str:
    """Epoch ms as "2026-11-30 23:59:00" in `timezone`."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


def describe(lang: str, record: Doc) -> str:
    """What a movement was, in words: its description, else its bill, reversal or reference."""
    kind = word(lang, f"kind_{record['kind']}")
    if record.get("description"):
        return f"{kind} · {record['description']}"
    if record.get("bill_code"):
        return f"{kind} · {word(lang, 'bill', code=record['bill_code'])}"
    if record.get("reversal_of"):
        return word(lang, "reversal_of", id=record["reversal_of"])
    if record.get("reference"):
        return f"{kind} · {record['reference']}"
    return kind


def party(lang: str, row: Row) -> str:
    """The other side of a movement: @username, or the wallet itself for top-ups and withdrawals."""
    return f"@{row.counterparty}" if row.counterparty else word(lang, "wallet_party")


# ---- CSV ---------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """A text cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV text, one line at a time (a UTF-8 BOM first, so spreadsheets read the accents)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(value) for value in row])
        yield buffer.getvalue()


def statement_csv(lang: str, rows: Iterable[Row], timezone: str) -> Iterator[str]:
    """A statement's movements as CSV: date and time, reference, kind, description, counterparty,
    signed amount and the balance after it."""
    header = [word(lang, k) for k in ("when", "id", "kind", "what", "party", "amount", "balance")]
    return csv_lines(
        header,
        (
            [
                when(row.booked_at, timezone),
                row.record["_id"],
                row.record["kind"],
                describe(lang, row.record),
                row.counterparty or "",
                row.amount,
                row.balance,
            ]
            for row in rows
        ),
    )


LEDGER_COLUMNS = (
    "id",
    "booked_at",
    "created_at",
    "kind",
    "src",
    "dst",
    "amount",
    "description",
    "bill_code",
    "reference",
    "reversal_of",
    "actor",
)


def ledger_csv(records: Iterable[Doc], timezone: str) -> Iterator[str]:
    """The admin's export: one line per booked movement, its times in `timezone`."""
    return csv_lines(
        list(LEDGER_COLUMNS),
        (
            [
                r["_id"],
                when(r["done_at"], timezone),
                when(r["created_at"], timezone),
                r["kind"],
                r["src"] or "",
                r["dst"] or "",
                r["amount"],
                r.get("description") or "",
                r.get("bill_code") or "",
                r.get("reference") or "",
                r.get("reversal_of") or "",
                r.get("actor") or "",
            ]
            for r in records
        ),
    )


def balances_csv(balances: dict[str, int]) -> Iterator[str]:
    """Every account's balance as of a date, in username order."""
    return csv_lines(["username", "balance"], ([name, balances[name]] for name in sorted(balances)))


# ---- PDF ---------------------------------------------------------------------------------------

_PAGE_W, _PAGE_H = A4  # points
_MARGIN = 30.0
_LINE = 11.0  # points per table line
_BOTTOM = 48.0  # the table stops above the footer
# the table's columns: (label key, x of its left edge, width, right-aligned)
_COLUMNS = (
    ("when", 30.0, 80.0, False),
    ("what", 110.0, 190.0, False),
    ("party", 300.0, 100.0, False),
    ("amount", 400.0, 80.0, True),
    ("balance", 480.0, 85.0, True),
)
_FONT, _BOLD = "DejaVuSans", "DejaVuSans-Bold"
_GREEN = (0.08, 0.35, 0.24)


def _register_fonts() -> None:
    """DejaVu Sans (regular and bold), once per process."""
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(_FONT, str(FONT_DIR / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont(_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))


def _fit(text: str, font: str, size: float, width: float) -> str:
    """`text` cut with "…" to fit `width` points."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


class _StatementPdf:
    """One statement being drawn: pages, their header and footer, the table's lines.

    The rows are drawn as they stream past, once; what only the end knows (the totals in the
    summary on page 1, the page count in every footer) are PDF forms the pages refer to and
    that are written last, so the document's figures are those of the rows it shows.
    """

    def __init__(self, lang: str, title: str) -> None:
        _register_fonts()
        self.out = io.BytesIO()
        self.canvas = canvas.Canvas(self.out, pagesize=A4, pageCompression=1)
        self.canvas.setTitle(title)
        self.canvas.setAuthor(word(lang, "wallet"))
        self.lang, self.title, self.page, self.y = lang, title, 0, 0.0

    def new_page(self, *, table: bool) -> None:
        if self.page:
            self.canvas.showPage()
        self.page += 1
        c = self.canvas
        c.setFillColorRGB(*_GREEN)
        c.setFont(_BOLD, 8)
        c.drawString(_MARGIN, _PAGE_H - 22, self.title)
        c.setFillColorRGB(0, 0, 0)
        c.setFont(_FONT, 7)
        footer = word(self.lang, "page", page=self.page, pages="")
        c.drawString(_MARGIN, 24, footer)
        c.saveState()
        c.translate(_MARGIN + pdfmetrics.stringWidth(footer, _FONT, 7), 24)
        c.doForm("pages")
        c.restoreState()
        self.y = _PAGE_H - 40
        if table:
            self.columns()

    def columns(self) -> None:
        """The table's header line."""
        c = self.canvas
        c.setFillColorRGB(0.88, 0.93, 0.9)
        c.rect(_MARGIN, self.y - 3, _PAGE_W - 2 * _MARGIN, _LINE + 2, stroke=0, fill=1)
        c.setFillColorRGB(0, 0, 0)
        for key, x, width, right in _COLUMNS:
            self.text(x, width, right, word(self.lang, key), _BOLD, 7.5)
        self.y -= _LINE + 4

    def text(
        self, x: float, width: float, right: bool, text: str, font: str = _FONT, size: float = 7.5
    ) -> None:
        self.canvas.setFont(font, size)
        text = _fit(text, font, size, width - 4)
        if right:
            self.canvas.drawRightString(x + width - 2, self.y, text)
        else:
            self.canvas.drawString(x + 2, self.y, text)

    def line(self, cells: tuple[str, ...]) -> None:
        """One table line (a new page first when this one is full)."""
        if self.y < _BOTTOM:
            self.new_page(table=True)
        for (_, x, width, right), text in zip(_COLUMNS, cells, strict=True):
            self.text(x, width, right, text)
        self.y -= _LINE

    def form(self, name: str, draw: Callable[[canvas.Canvas], None]) -> None:
        """Write a form the pages refer to."""
        self.canvas.beginForm(name)
        draw(self.canvas)
        self.canvas.endForm()

    def done(self) -> bytes:
        self.canvas.showPage()
        self.canvas.save()
        return self.out.getvalue()


def statement_pdf(
    lang: str, holder: Doc, month: Month, opening: int, rows: Iterable[Row], timezone: str, made_at: int
) -> tuple[bytes, Totals]:
    """The e-statement of one month: who, the period, the summary, then every movement with the
    running balance; the closing balance and totals close it. → (the PDF, its totals)."""
    period = month_name(lang, month.year, month.month)
    doc = _StatementPdf(lang, f"{word(lang, 'wallet')} · {word(lang, 'statement')} · {period}")
    doc.new_page(table=False)
    c = doc.canvas
    c.setFont(_BOLD, 16)
    c.drawString(_MARGIN, doc.y - 6, f"{word(lang, 'wallet')} — {word(lang, 'statement')}")
    doc.y -= 30
    facts = (
        (word(lang, "holder"), f"{holder.get('name') or holder['_id']} (@{holder['_id']})"),
        (word(lang, "period"), period),
        (word(lang, "made"), when(made_at, timezone)),
    )
    for label, value in facts:
        c.setFont(_FONT, 9.5)
        c.drawString(_MARGIN, doc.y, label)
        c.drawString(_MARGIN + 110, doc.y, _fit(value, _FONT, 9.5, 400))
        doc.y -= 14
    c.setFont(_FONT, 7.5)
    c.drawString(_MARGIN, doc.y, word(lang, "times"))
    doc.y -= 40
    c.doForm("summary")  # drawn at the end, when the totals are known
    doc.y -= 22
    doc.columns()
    tally = Tally()
    for row in rows:
        tally.add(row)
        doc.line(
            (
                when(row.booked_at, timezone)[:16],
                describe(lang, row.record),
                party(lang, row),
                rupiah(row.amount, signed=True),
                rupiah(row.balance),
            )
        )
    totals = tally.totals(month, opening)
    if totals.count == 0:
        doc.text(_MARGIN, 400, False, word(lang, "none"), _FONT, 9)
        doc.y -= _LINE
    _closing(doc, totals)
    pages = doc.page

    def page_count(form: canvas.Canvas) -> None:
        form.setFont(_FONT, 7)
        form.drawString(0, 0, str(pages))

    doc.form("pages", page_count)
    summary_top = _PAGE_H - 40 - 30 - 3 * 14 - 40
    doc.form("summary", lambda f: _summary(f, lang, totals, summary_top))
    return doc.done(), totals


def _closing(doc: _StatementPdf, totals: Totals) -> None:
    """The closing balance and the month's totals under the table."""
    if doc.y < _BOTTOM + 4 * _LINE:
        doc.new_page(table=False)
    c = doc.canvas
    doc.y -= 4
    c.setLineWidth(0.5)
    c.line(_MARGIN, doc.y + _LINE - 2, _PAGE_W - _MARGIN, doc.y + _LINE - 2)
    lines = (
        ("closing", totals.closing, _BOLD),
        ("money_in", totals.money_in, _FONT),
        ("money_out", totals.money_out, _FONT),
        ("opening", totals.opening, _FONT),
    )
    for key, value, font in lines:
        c.setFont(font, 8.5)
        c.drawString(_MARGIN + 2, doc.y, word(doc.lang, key))
        c.drawRightString(_PAGE_W - _MARGIN - 2, doc.y, rupiah(value))
        doc.y -= _LINE + 1


def _summary(c: canvas.Canvas, lang: str, totals: Totals, top: float) -> None:
    """Opening, in, out, closing and the number of movements, side by side (page 1)."""
    figures = (
        ("opening", rupiah(totals.opening)),
        ("money_in", rupiah(totals.money_in)),
        ("money_out", rupiah(totals.money_out)),
        ("closing", rupiah(totals.closing)),
        ("count", str(totals.count)),
    )
    width = (_PAGE_W - 2 * _MARGIN) / len(figures)
    c.setFillColorRGB(0.94, 0.965, 0.95)
    c.rect(_MARGIN, top - 8, _PAGE_W - 2 * _MARGIN, 38, stroke=0, fill=1)
    c.setFillColorRGB(0, 0, 0)
    for place, (key, value) in enumerate(figures):
        x = _MARGIN + 6 + place * width
        c.setFont(_FONT, 7.5)
        c.drawString(x, top + 18, word(lang, key))
        c.setFont(_BOLD, 10.5)
        c.drawString(x, top + 2, _fit(value, _BOLD, 10.5, width - 8))


# ---- chart -------------------------------------------------------------------------------------


def insights_png(lang: str, insights: Doc) -> bytes:
    """Money in and out per month (bars), and this month's money out by counterparty or kind
    (horizontal bars, the biggest five and the rest), as a CHART_SIZE PNG."""
    width, height = CHART_SIZE
    figure = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
    months_axes, split_axes = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    months = [Month.parse(m["month"]) for m in insights["months"]]
    labels = [month_name(lang, m.year, m.month, short=True) for m in months]
    places = range(len(months))
    money_in = [m["money_in"] for m in insights["months"]]
    money_out = [m["money_out"] for m in insights["months"]]
    months_axes.bar([p - 0.2 for p in places], money_in, 0.4, label=word(lang, "money_in"), color="#2e8b57")
    months_axes.bar([p + 0.2 for p in places], money_out, 0.4, label=word(lang, "money_out"), color="#d2691e")
    months_axes.set_xticks(list(places), labels)
    months_axes.set_title(word(lang, "chart_months"))
    months_axes.legend()
    months_axes.yaxis.set_major_formatter(lambda value, _: rupiah(int(value)))
    now = Month.parse(insights["month"])
    current = month_name(lang, now.year, now.month)
    spent = _top(lang, insights["spent"])
    if spent:
        names = [name for name, _ in spent][::-1]
        split_axes.barh(names, [amount for _, amount in spent][::-1], color="#d2691e")
        split_axes.set_title(word(lang, "chart_split", month=current))
        split_axes.xaxis.set_major_formatter(lambda value, _: rupiah(int(value)))
        split_axes.tick_params(axis="x", labelrotation=30)
    else:
        split_axes.set_axis_off()
        split_axes.set_title(word(lang, "chart_split_none", month=current))
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=_DPI)
    return out.getvalue()


def _top(lang: str, spent: list[Doc], keep: int = 5) -> list[tuple[str, int]]:
    """The biggest `keep` of the month's money out, the rest as "Others"."""
    named = [
        (f"@{s['counterparty']}" if s["counterparty"] else word(lang, f"kind_{s['kind']}"), s["amount"])
        for s in spent
    ]
    if len(named) > keep:
        rest = sum(amount for _, amount in named[keep - 1 :])
        named = [*named[: keep - 1], (word(lang, "others"), rest)]
    return named

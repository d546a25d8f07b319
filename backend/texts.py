"""The words of what the backend itself renders for people: the e-statement (PDF and CSV) and the
spending chart, in English and Indonesian. (The bot's messages are in bot/texts.py; the backend
sends no chat text of its own: notices carry data, the bot words them.)

    word("id", "opening")                 → "Saldo awal"
    month_name("id", 2026, 11)            → "November 2026"
    rupiah(-1250000)                      → "-Rp1.250.000"
"""

from __future__ import annotations

LANGS = ("en", "id")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "wallet": "Mata Duitan",
        "statement": "E-statement",
        "holder": "Account holder",
        "period": "Period",
        "times": "Times are Western Indonesia Time (WIB, Asia/Jakarta).",
        "made": "Made on",
        "opening": "Opening balance",
        "closing": "Closing balance",
        "money_in": "Money in",
        "money_out": "Money out",
        "count": "Movements",
        "when": "Date (WIB)",
        "what": "Description",
        "party": "Counterparty",
        "amount": "Amount",
        "balance": "Balance",
        "id": "Reference",
        "kind": "Kind",
        "none": "No movements in this period.",
        "page": "Page {page} of {pages}",
        "kind_transfer": "Transfer",
        "kind_bill_payment": "Bill payment",
        "kind_deposit": "Top-up",
        "kind_withdrawal": "Withdrawal",
        "kind_reversal": "Reversal",
        "bill": "Bill {code}",
        "reversal_of": "Reversal of {id}",
        "chart_months": "Money in and out, last six months",
        "chart_split": "Money out in {month}",
        "chart_split_none": "Nothing went out in {month}",
        "others": "Others",
        "wallet_party": "Mata Duitan",
    },
    "id": {
        "wallet": "Mata Duitan",
        "statement": "E-statement (rekening koran)",
        "holder": "Pemilik akun",
        "period": "Periode",
        "times": "Waktu dalam Waktu Indonesia Barat (WIB, Asia/Jakarta).",
        "made": "Dibuat pada",
        "opening": "Saldo awal",
        "closing": "Saldo akhir",
        "money_in": "Uang masuk",
        "money_out": "Uang keluar",
        "count": "Transaksi",
        "when": "Tanggal (WIB)",
        "what": "Keterangan",
        "party": "Pihak lain",
        "amount": "Jumlah",
        "balance": "Saldo",
        "id": "Referensi",
        "kind": "Jenis",
        "none": "Tidak ada transaksi pada periode ini.",
        "page": "Halaman {page} dari {pages}",
        "kind_transfer": "Transfer",
        "kind_bill_payment": "Bayar tagihan",
        "kind_deposit": "Isi saldo",
        "kind_withdrawal": "Tarik tunai",
        "kind_reversal": "Pembatalan",
        "bill": "Tagihan {code}",
        "reversal_of": "Pembatalan {id}",
        "chart_months": "Uang masuk dan keluar, enam bulan terakhir",
        "chart_split": "Uang keluar pada {month}",
        "chart_split_none": "Tidak ada uang keluar pada {month}",
        "others": "Lainnya",
        "wallet_party": "Mata Duitan",
    },
}

MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "id": (
        "Januari", "Februari", "Maret", "April", "Mei", "Juni",
        "Juli", "Agustus", "September", "Oktober", "November", "Desember",
    ),
}  # fmt: skip


def lang_or_default(lang: str | None) -> str:
    """A language we write in: "en" or "id" (Indonesian unless English is asked for)."""
    return lang if lang in LANGS else "id"


def word(lang: str, key: str, **values: object) -> str:
    """One word or line in `lang`, its {placeholders} filled."""
    text = WORDS[lang_or_default(lang)][key]
    return text.format(**values) if values else text


def month_name(lang: str, year: int, month: int, *, short: bool = False) -> str:
    """ "November 2026" (short: "Nov 26")."""
    name = MONTHS[lang_or_default(lang)][month - 1]
    return f"{name[:3]} {year % 100:02d}" if short else f"{name} {year}"


def rupiah(amount: int, *, signed: bool = False) -> str:
    """Whole rupiah with dots between thousands: 1250000 → "Rp1.250.000" (signed: "+Rp…"/"-Rp…")."""
    digits = f"{abs(amount):,}".replace(",", ".")
    sign = "-" if amount < 0 else ("+" if signed and amount > 0 else "")
    return f"{sign}Rp{digits}"

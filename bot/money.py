"""Rupiah amounts: read them the way Indonesians type them, show them as `Rp50.000`."""

from __future__ import annotations

import re
from decimal import Decimal

MAX_AMOUNT = 10**12  # a trillion rupiah: anything above is a typo, not a payment

_MULTIPLIERS = {
    "": 1,
    "k": 1_000,
    "rb": 1_000,
    "ribu": 1_000,
    "jt": 1_000_000,
    "juta": 1_000_000,
    "miliar": 1_000_000_000,
    "milyar": 1_000_000_000,
}
# re.ASCII: `\d` must not accept look-alike digits (fullwidth ５, Arabic-Indic ٥...)
_SHAPE = re.compile(r"^(?P<number>\d[\d.,]*)(?P<suffix>[a-z]*)$", re.ASCII)
_GROUPED = re.compile(r"^\d{1,3}(?P<sep>[.,])\d{3}(?:(?P=sep)\d{3})*$", re.ASCII)
_GROUPED_DECIMAL_ID = re.compile(r"^\d{1,3}(?:\.\d{3})*,\d+$", re.ASCII)
_GROUPED_DECIMAL_EN = re.compile(r"^\d{1,3}(?:,\d{3})*\.\d+$", re.ASCII)
_PLAIN_DECIMAL = re.compile(r"^\d+(?:[.,]\d+)?$", re.ASCII)


class AmountError(ValueError):
    """The text is not an acceptable amount; `reason` is a texts.py key suffix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _to_decimal(number: str) -> Decimal:
    """`50.000` / `50,000` → 50000; `1,5` / `1.5` → 1.5; `1.000,50` → 1000.50."""
    if _GROUPED.match(number):
        return Decimal(re.sub(r"[.,]", "", number))
    if _GROUPED_DECIMAL_ID.match(number):
        return Decimal(number.replace(".", "").replace(",", "."))
    if _GROUPED_DECIMAL_EN.match(number):
        return Decimal(number.replace(",", ""))
    if _PLAIN_DECIMAL.match(number):
        return Decimal(number.replace(",", "."))
    raise AmountError("not_a_number")


def parse_amount(text: str) -> int:
    """Parse `50000`, `50.000`, `Rp 50.000`, `50rb`, `1,5jt` to whole rupiah, or raise."""
    cleaned = re.sub(r"\s+", "", text.strip().lower())
    if len(cleaned) > 40:
        raise AmountError("not_a_number")
    if cleaned.startswith(("-", "−")):
        raise AmountError("not_positive")
    cleaned = re.sub(r"^(?:idr|rp)\.?", "", cleaned)
    match = _SHAPE.match(cleaned)
    if not match or match["suffix"] not in _MULTIPLIERS:
        raise AmountError("not_a_number")
    value = _to_decimal(match["number"]) * _MULTIPLIERS[match["suffix"]]
    if value <= 0:
        raise AmountError("not_positive")
    if value != value.to_integral_value():
        raise AmountError("fraction")
    if value > MAX_AMOUNT:
        raise AmountError("too_large")
    return int(value)


def format_amount(amount: int, *, signed: bool = False) -> str:
    """`50000` → `Rp50.000`; with `signed`, `+Rp50.000` / `-Rp50.000`."""
    digits = f"{abs(amount):,}".replace(",", ".")
    if amount < 0:
        return f"-Rp{digits}"
    return f"+Rp{digits}" if signed and amount > 0 else f"Rp{digits}"

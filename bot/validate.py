"""Checks of what users type, before anything is sent to the backend."""

from __future__ import annotations

import re
import unicodedata

USERNAME = re.compile(r"^[a-z0-9_]{3,32}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BILL_CODE = re.compile(r"^[A-Za-z0-9]{8,16}$")  # the backend's codes: 10 of an unambiguous alphabet
MAX_NAME = 64
MAX_DESCRIPTION = 140
MIN_PASSWORD = 8
# the backend's rule for text shown inside the bot's own lines (backend/schemas.py `_one_line`):
# no control (\n, \t), format (bidi U+202E, U+2066...) or line/paragraph separator characters
UNPRINTABLE = {"Cc", "Cf", "Zl", "Zp"}
ZERO_WIDTH_JOINER = "\u200d"  # joins emoji: harmless and wanted


def one_line(text: str) -> bool:
    """True when `text` cannot break out of its line or turn the bot's own text around."""
    return all(unicodedata.category(c) not in UNPRINTABLE or c == ZERO_WIDTH_JOINER for c in text)


def username(text: str) -> str | None:
    """`@Budi_1` → `budi_1`; None when it cannot be a username."""
    candidate = text.strip().removeprefix("@")
    # check before lowercasing: "\u212a" (Kelvin sign) lowercases to an ASCII "k"
    return candidate.lower() if USERNAME.match(candidate.lower()) and candidate.isascii() else None


def name(text: str) -> str | None:
    """A person's or a bill's name: one line of 1–64 characters after trimming."""
    candidate = re.sub(r" {2,}", " ", text.strip(" "))
    return candidate if 0 < len(candidate) <= MAX_NAME and one_line(candidate) else None


def email(text: str) -> str | None:
    """A plausible email address (the backend has the last word)."""
    candidate = text.strip()
    return candidate if EMAIL.match(candidate) and len(candidate) <= 254 else None


def description(text: str) -> str | None:
    """A one-line description of at most 140 characters."""
    candidate = text.strip(" ")
    return candidate if 0 < len(candidate) <= MAX_DESCRIPTION and one_line(candidate) else None


def bill_code(text: str) -> str | None:
    """A bill code as typed (`/pay AB12CD34EF`, or from a deep link)."""
    candidate = text.strip()
    return candidate if BILL_CODE.match(candidate) else None

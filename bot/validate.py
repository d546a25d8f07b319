"""Checks of what users type, before anything is sent to the backend."""

from __future__ import annotations

import re

USERNAME = re.compile(r"^[a-z0-9_]{3,32}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BILL_CODE = re.compile(r"^[A-Za-z0-9]{8,16}$")  # the backend's codes: 10 of an unambiguous alphabet
MAX_NAME = 64
MAX_DESCRIPTION = 140
MIN_PASSWORD = 8


def username(text: str) -> str | None:
    """`@Budi_1` → `budi_1`; None when it cannot be a username."""
    candidate = text.strip().removeprefix("@")
    # check before lowercasing: "\u212a" (Kelvin sign) lowercases to an ASCII "k"
    return candidate.lower() if USERNAME.match(candidate.lower()) and candidate.isascii() else None


def name(text: str) -> str | None:
    """A person's or a bill's name: 1–64 characters after trimming."""
    candidate = " ".join(text.split())
    return candidate if 0 < len(candidate) <= MAX_NAME else None


def email(text: str) -> str | None:
    """A plausible email address (the backend has the last word)."""
    candidate = text.strip()
    return candidate if EMAIL.match(candidate) and len(candidate) <= 254 else None


def description(text: str) -> str | None:
    """A free-text description of at most 140 characters."""
    candidate = text.strip()
    return candidate if 0 < len(candidate) <= MAX_DESCRIPTION else None


def bill_code(text: str) -> str | None:
    """A bill code as typed (`/pay AB12CD34EF`, or from a deep link)."""
    candidate = text.strip()
    return candidate if BILL_CODE.match(candidate) else None

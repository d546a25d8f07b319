"""Identity for KYC verification: the Indonesian NIK (Nomor Induk Kependudukan), checked and masked.

A NIK is 16 digits: PP KK CC DDMMYY SSSS — province, regency/city and district codes, the
holder's date of birth (40 is added to the day for women), and a serial from 0001. It is checked
against the date of birth the admin read from the same identity card, and stored only masked
(the last 4 digits): the wallet never shows a full NIK again.
"""

from __future__ import annotations

import re
from datetime import date

from backend.errors import ErrorCode, InvalidRequest

NIK_RE = re.compile(r"^[0-9]{16}$")
# province codes of Kemendagri (Papua's 2022 provinces included: 93–96)
PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53}
    | {61, 62, 63, 64, 65, 71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96}
)
WOMEN_DAY_OFFSET = 40


def check_nik(nik: str, date_of_birth: date, today: date) -> None:
    """Raise InvalidRequest(invalid_identity) unless `nik` is a well-formed NIK of someone born on
    `date_of_birth` (a past date)."""
    if not NIK_RE.match(nik):
        raise _invalid("a NIK is exactly 16 digits")
    if int(nik[0:2]) not in PROVINCES:
        raise _invalid("the NIK's first two digits are not an Indonesian province code")
    if nik[2:4] == "00" or nik[4:6] == "00":
        raise _invalid("the NIK's regency and district codes cannot be 00")
    if nik[12:16] == "0000":
        raise _invalid("the NIK's last four digits (its serial) cannot be 0000")
    if not date(1900, 1, 1) <= date_of_birth <= today:
        raise _invalid("the date of birth must be a real past date")
    day, month, year = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    born = (date_of_birth.day, date_of_birth.month, date_of_birth.year % 100)
    if (day - WOMEN_DAY_OFFSET if day > WOMEN_DAY_OFFSET else day, month, year) != born:
        raise _invalid("the NIK's digits 7–12 do not match the date of birth (DDMMYY, day + 40 for women)")


def mask_nik(nik: str) -> str:
    """What is kept of a NIK, and the only way it is ever shown again: its last 4 digits."""
    return "*" * 12 + nik[-4:]


def _invalid(detail: str) -> InvalidRequest:
    return InvalidRequest(detail, ErrorCode.INVALID_IDENTITY)

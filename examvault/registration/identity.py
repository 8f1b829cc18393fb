"""Identity numbers and phone numbers: validation and masking. Pure.

An 18-digit resident ID (GB 11643-1999): a 6-digit region code, the birth date as
YYYYMMDD, a 3-digit sequence and an ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Province-level codes (GB/T 2260): the first two digits of a region code.
PROVINCES = frozenset(
    ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"]
)
_PROVINCES = PROVINCES  # the certificate-number validator's older name
_MOBILE = re.compile(r"1[3-9]\d{9}\Z")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}\Z")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_number_problem(text: str, *, today: date | None = None) -> str | None:
    """Why `text` is not a valid 18-digit resident ID number, or None when it is. The reason never
    quotes the digits: a mistyped number is still mostly a real person's."""
    s = text.strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", s):  # ASCII only: \d would take any script's digits
        return "a resident ID number has 17 digits and a final digit or X"
    if s[:2] not in PROVINCES or s[2:6] == "0000":
        return "its first six digits are not a region code of the right shape"
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return "digits 7–14 are not a birth date"
    if born.year < 1900 or born > (today or date.today()):
        return "the birth date in it is not plausible"
    if check_digit(s[:17]) != s[17]:
        return "the check digit is wrong (GB 11643 MOD 11-2); the number is mistyped"
    return None


def gender_of(number: str) -> str:
    """男 or 女 from an 18-digit resident ID (its 17th digit is odd for men, even for women); "" otherwise."""
    return ("男" if int(number[16]) % 2 else "女") if len(number) == 18 and number[16].isdigit() else ""


def phone_problem(text: str) -> str | None:
    s = re.sub(r"[\s()（）]", "", text)
    if _MOBILE.match(s) or _LANDLINE.match(s):
        return None
    return "expected an 11-digit mobile number (1xxxxxxxxxx) or a landline such as 0791-86123456"


def mask_id(text: str) -> str:
    """3601**********1234: enough to tell two people apart on a list, not enough to use."""
    s = text.strip()
    if len(s) <= 8:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]

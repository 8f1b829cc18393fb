"""Certificate numbers (证书编号) and the certificate life cycle. Pure: no I/O.

A number has 22 characters, in order (positions counted from 1):

    1      Y (用人单位 employer) or S (社会培训评价组织 social training/evaluation organisation)
    2–5    evaluation-institution code (评价机构代码), 4 digits
    6–7    province code (GB/T 2260), 2 digits
    8–13   site code (考点代码), 6 digits
    14–15  year of issue, last 2 digits
    16     level, 1 (一级/高级技师) … 5 (五级/初级工)
    17–22  serial, 000001–999999, per 16-character prefix

Digits are ASCII only: a full-width ０ looks right on paper and breaks every lookup.
"""

from __future__ import annotations

from typing import Any

from examvault.errors import ConflictError, ValidationError

# GB/T 2260 province-level codes: one list for ID numbers and certificate numbers.
from examvault.registration.identity import PROVINCES

LENGTH = 22
PREFIX_LENGTH = 16
MAX_SERIAL = 999_999
KINDS = {"Y": "用人单位", "S": "社会培训评价组织"}
_ASCII_DIGITS = frozenset("0123456789")

# field name, first index, end index (Python slice), label
FIELDS: tuple[tuple[str, int, int, str], ...] = (
    ("kind", 0, 1, "type letter"),
    ("institution", 1, 5, "evaluation-institution code"),
    ("province", 5, 7, "province code"),
    ("site", 7, 13, "site code"),
    ("year", 13, 15, "year"),
    ("level", 15, 16, "level"),
    ("serial", 16, 22, "serial"),
)
_SPAN = {name: (a, b, label) for name, a, b, label in FIELDS}


def _where(a: int, b: int) -> str:
    return f"character {a + 1}" if b - a == 1 else f"characters {a + 1}–{b}"


def _field_problems(name: str, value: str, offset: int | None) -> list[str]:
    """What is wrong with one field. With `offset` the problems name character positions in the
    whole number; without, they name the field (a value given on its own, e.g. from the plan)."""
    a, b, label = _SPAN[name]
    width = b - a

    def at(i: int, j: int | None = None) -> str:
        if offset is None:
            return f"{label} {value!r}"
        return f"{_where(offset + i, offset + (j if j is not None else i + 1))} ({label})"

    if name == "kind":
        if value in KINDS:
            return []
        if value.upper() in KINDS:
            return [f"{at(0)}: {value!r} must be the uppercase letter {value.upper()}"]
        return [f"{at(0)}: {value!r} is not Y (用人单位 employer) or S (社会培训评价组织)"]
    if offset is None and len(value) != width:
        return [f"{at(0)}: has {len(value)} characters; {width} digits are expected"]
    bad = [
        f"{at(i)}: {c!r} is {'a full-width or non-ASCII digit' if c.isdigit() else 'not a digit'}; only 0–9 are allowed"
        for i, c in enumerate(value)
        if c not in _ASCII_DIGITS
    ]
    if bad:
        return bad if offset is not None else [f"{label} {value!r}: only the ASCII digits 0–9 are allowed"]
    whole = at(0, width)
    if name == "province" and value not in PROVINCES:
        return [f"{whole}: {value} is not a GB/T 2260 province code"]
    if name == "level" and value not in "12345":
        return [f"{whole}: {value} is not a level (1 = 一级/高级技师 … 5 = 五级/初级工)"]
    if name == "serial" and int(value) == 0:
        return [f"{whole}: 000000 is not a serial; serials start at 000001"]
    return []


def number_problems(text: str) -> list[str]:
    """Every problem of `text` as a certificate number, each naming its character position(s)."""
    s = text.strip()
    if len(s) != LENGTH:
        return [f"a certificate number has {LENGTH} characters; this one has {len(s)}"]
    return [p for name, a, b, _ in FIELDS for p in _field_problems(name, s[a:b], a)]


def number_problem(text: str) -> str | None:
    """Why `text` is not a certificate number (all the reasons, joined), or None when it is one."""
    problems = number_problems(text)
    return "; ".join(problems) if problems else None


def parse_number(text: str) -> dict[str, Any]:
    """The fields of a certificate number; a ValidationError names each bad position and why."""
    s = text.strip()
    problems = number_problems(s)
    if problems:
        raise ValidationError(f"{s!r} is not a certificate number: " + "; ".join(problems))
    f = {name: s[a:b] for name, a, b, _ in FIELDS}
    return {
        "number": s,
        "prefix": s[:PREFIX_LENGTH],
        "kind": f["kind"],
        "kind_name": KINDS[f["kind"]],
        "institution": f["institution"],
        "province": f["province"],
        "site": f["site"],
        "year": int(f["year"]),
        "level": int(f["level"]),
        "serial": int(f["serial"]),
    }


def field_problem(name: str, value: str) -> str | None:
    """Why `value` cannot be the field `name` (kind, institution, province, site) of a number."""
    problems = _field_problems(name, value, None)
    return "; ".join(problems) if problems else None


def number_prefix(kind: str, institution: str, province: str, site: str, year: int, level: int) -> str:
    """The first 16 characters: everything but the serial. `year` is a calendar year or its last two digits."""
    if not 0 <= year <= 99 and not 1000 <= year <= 9999:
        raise ValidationError(f"year {year} is neither a calendar year nor its last two digits")
    if level not in (1, 2, 3, 4, 5):
        raise ValidationError(f"level {level} is not a level (1 = 一级/高级技师 … 5 = 五级/初级工)")
    given = {"kind": kind, "institution": institution, "province": province, "site": site}
    problems = [p for name, value in given.items() for p in _field_problems(name, value, None)]
    if problems:
        raise ValidationError("cannot make a certificate number: " + "; ".join(problems))
    return f"{kind}{institution}{province}{site}{year % 100:02d}{level}"


def format_number(
    kind: str, institution: str, province: str, site: str, year: int, level: int, serial: int
) -> str:
    prefix = number_prefix(kind, institution, province, site, year, level)
    if not 1 <= serial <= MAX_SERIAL:
        if serial > MAX_SERIAL:
            raise ConflictError(f"the serials of {prefix} are used up (000001–999999)")
        raise ValidationError(f"serial {serial} is not a serial; serials run from 000001 to 999999")
    return f"{prefix}{serial:06d}"


# ---------------------------------------------------------------- the life cycle

STATUSES = ("issued", "voided", "replaced", "revoked")
# action → (the status it needs, the status it leaves). Only an issued certificate moves, and
# every move is final: a voided, replaced or revoked number is never issued again.
TRANSITIONS = {
    "void": ("issued", "voided"),
    "reissue": ("issued", "replaced"),
    "revoke": ("issued", "revoked"),
}
_VERBS = {"void": "voided", "reissue": "reissued", "revoke": "revoked"}


def next_status(status: str, action: str, number: str = "") -> str:
    """The status after `action`, or a ConflictError saying why the certificate cannot move."""
    need, after = TRANSITIONS[action]
    if status != need:
        what = f"certificate {number}" if number else "a certificate"
        raise ConflictError(f"{what} is {status}; only an {need} certificate can be {_VERBS[action]}")
    return after

"""One exception hierarchy for the whole package.

The CLI maps each class to an exit code and the HTTP API to a status. Messages are
written for a custodian: what went wrong, where (file, row, column, field) and why.
They never carry plaintext item content or key material.
"""

from __future__ import annotations

from dataclasses import dataclass


class ExamvaultError(Exception):
    """Base class: anything a user can act on."""

    exit_code = 1
    http_status = 400


class ConfigurationError(ExamvaultError):
    """The bank, database or environment is not set up as the command needs."""

    exit_code = 2


class NotFoundError(ExamvaultError):
    exit_code = 4
    http_status = 404


class ConflictError(ExamvaultError):
    """The action clashes with the bank's current state (duplicate code, wrong status…)."""

    exit_code = 5
    http_status = 409


class PermissionDenied(ExamvaultError):
    """The acting user's roles do not allow the action."""

    exit_code = 6
    http_status = 403


class UnlockError(ExamvaultError):
    """The root key could not be unlocked: wrong passphrase, too few or corrupt shares."""

    exit_code = 7
    http_status = 401


class IntegrityError(ExamvaultError):
    """A ciphertext, signature or backup failed its integrity check.

    Raised for tampering, for ciphertext moved to another row, field or version, and
    for truncated data. Deliberately says nothing about which byte was wrong.
    """

    exit_code = 8
    http_status = 422


class KeyRetiredError(IntegrityError):
    """A record is encrypted under a key version below the domain's minimum."""


@dataclass(frozen=True)
class Issue:
    """One problem found in an input file, located as precisely as the format allows."""

    file: str
    location: str  # "row 12", "item 3", "paragraph 40"
    column: str  # "E (答案)" or the field name; "" when the whole row is at fault
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, {self.location}" if self.location else self.file
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


NOTHING_IMPORTED = "nothing was imported"


class ValidationError(ExamvaultError):
    """Input failed validation. Carries every issue found, not only the first."""

    exit_code = 3
    http_status = 422

    def __init__(
        self, issues: list[Issue] | str, *, outcome: str = "nothing was changed", limit: int = 50
    ) -> None:
        if isinstance(issues, str):
            self.issues: list[Issue] = []
            super().__init__(issues)
            return
        self.issues = list(issues)
        shown = [str(i) for i in self.issues[:limit]]
        more = len(self.issues) - len(shown)
        text = "\n".join(shown)
        if more > 0:
            text += f"\n… and {more} more problems"
        noun = "problem" if len(self.issues) == 1 else "problems"
        super().__init__(f"{len(self.issues)} {noun} found; {outcome}:\n{text}")


def check_length(value: str, limit: int, what: str) -> str:
    """Refuse text longer than its column holds (PostgreSQL would fail the whole action; SQLite would keep it)."""
    if len(value) > limit:
        raise ValidationError(f"{what} has {len(value)} characters; at most {limit} are allowed")
    return value

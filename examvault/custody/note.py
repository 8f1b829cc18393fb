"""Checkpoints as C2SP signed notes (https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint).

A note is text ending in a newline, a blank line, then one line per signature:
"— NAME BASE64(key id ‖ signature)". The signature is over the text alone.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from examvault.crypto.signing import SigningKey, VerifyKey, key_id
from examvault.errors import IntegrityError

_DASH = "\u2014 "


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    def sign(self, key: SigningKey) -> str:
        body = self.text()
        sig = key_id(key.name, key.verify_key.public) + key.sign_raw(body.encode())
        return f"{body}\n{_DASH}{key.name} {base64.b64encode(sig).decode()}\n"


def open_note(note: str, trusted: VerifyKey, what: str = "checkpoint") -> Checkpoint:
    """Parse a signed checkpoint and check the trusted key's signature on it; other signers are ignored."""
    body, sep, sigs = note.rpartition("\n\n")
    if not sep or not note.endswith("\n"):
        raise IntegrityError(f"{what} is not a signed note (no blank line before its signatures)")
    body += "\n"
    want = key_id(trusted.name, trusted.public)
    verified = False
    for line in sigs.splitlines():
        if not line.startswith(_DASH):
            raise IntegrityError(f"{what} has a malformed signature line")
        name, _, b64 = line[len(_DASH):].rpartition(" ")
        try:
            raw = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise IntegrityError(f"{what} has a malformed signature line") from None
        if name == trusted.name and raw[:4] == want and len(raw) == 68:
            verified = trusted.verify_raw(body.encode(), raw[4:])
            if not verified:
                break
    if not verified:
        raise IntegrityError(f"{what} is not signed by {trusted.name} (the signature is missing or does not verify)")
    lines = body.split("\n")[:-1]
    try:
        origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
        if len(root) != 32 or size < 0 or str(size) != lines[1]:
            raise ValueError
    except (IndexError, ValueError, binascii.Error):
        raise IntegrityError(f"{what} is not a tlog checkpoint (origin, size, root hash)") from None
    return Checkpoint(origin, size, root)

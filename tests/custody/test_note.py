"""Checkpoints as C2SP signed notes."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from examvault.crypto.signing import SigningKey, key_id
from examvault.custody.note import Checkpoint, open_note
from examvault.errors import IntegrityError

KEY = SigningKey.generate("examvault-1a2b3c4d")
ROOT = hashlib.sha256(b"root").digest()
CP = Checkpoint("examvault-1a2b3c4d/custody", 100000, ROOT)
DASH = "\u2014 "


def test_round_trip_and_format() -> None:
    note = CP.sign(KEY)
    body = f"examvault-1a2b3c4d/custody\n100000\n{base64.b64encode(ROOT).decode()}\n"
    assert note.startswith(body + "\n" + DASH + "examvault-1a2b3c4d ")
    assert note.endswith("\n") and note.count("\n") == 5
    raw = base64.b64decode(note.rstrip("\n").rsplit(" ", 1)[1])
    assert raw[:4] == key_id(KEY.name, KEY.verify_key.public) and len(raw) == 68
    assert KEY.verify_key.verify_raw(body.encode(), raw[4:])  # signed over the text alone
    assert open_note(note, KEY.verify_key) == CP


def test_round_trip_small_sizes() -> None:
    for size in (0, 1, 7):
        cp = Checkpoint("o", size, os.urandom(32))
        assert open_note(cp.sign(KEY), KEY.verify_key) == cp


@pytest.mark.parametrize(
    "old,new",
    [
        ("\n100000\n", "\n100001\n"),
        ("\n100000\n", "\n0100000\n"),
        (base64.b64encode(ROOT).decode(), base64.b64encode(bytes([ROOT[0] ^ 1]) + ROOT[1:]).decode()),
        ("examvault-1a2b3c4d/custody\n", "examvault-1a2b3c4e/custody\n"),
        ("examvault-1a2b3c4d/custody\n", "examvault-1a2b3c4d/custody\nextension line\n"),
    ],
    ids=["size", "size-leading-zero", "root", "origin", "extra-body-line"],
)
def test_altered_note_is_rejected(old: str, new: str) -> None:
    note = CP.sign(KEY)
    assert note.count(old) >= 1
    with pytest.raises(IntegrityError):
        open_note(note.replace(old, new, 1), KEY.verify_key)


def test_wrong_key_is_rejected() -> None:
    note = CP.sign(KEY)
    with pytest.raises(IntegrityError):
        open_note(note, SigningKey.generate("examvault-1a2b3c4d").verify_key)  # same name, other key
    with pytest.raises(IntegrityError):
        open_note(note, SigningKey.generate("someone-else").verify_key)
    # a note signed by another key under the trusted name is rejected too
    impostor = SigningKey.generate("examvault-1a2b3c4d")
    with pytest.raises(IntegrityError):
        open_note(CP.sign(impostor), KEY.verify_key)


def test_unknown_signature_lines_are_ignored() -> None:
    note = CP.sign(KEY)
    witness = SigningKey.generate("witness.example/w1")
    other = CP.sign(witness).rsplit("\n\n", 1)[1]  # "— witness… <sig>\n"
    assert other.startswith(DASH)
    garbage = f"{DASH}unknown-party {base64.b64encode(os.urandom(68)).decode()}\n"
    for extended in (note + other, note + garbage, note.replace("\n\n", "\n\n" + other, 1)):
        assert open_note(extended, KEY.verify_key) == CP
    assert open_note(note + other, witness.verify_key) == CP  # and the witness's own line verifies
    # the unknown lines do not stand in for the trusted signature
    with pytest.raises(IntegrityError):
        open_note(note.rsplit("\n\n", 1)[0] + "\n\n" + other + garbage, KEY.verify_key)


def test_a_bad_signature_by_the_trusted_key_is_not_outvoted() -> None:
    """A line with the trusted name and key id that does not verify rejects the note, as in Go's note.Open."""
    note = CP.sign(KEY)
    body, good = note.rsplit("\n\n", 1)
    raw = key_id(KEY.name, KEY.verify_key.public) + os.urandom(64)
    bad = f"{DASH}{KEY.name} {base64.b64encode(raw).decode()}\n"
    for lines in (bad + good, good + bad):
        with pytest.raises(IntegrityError):
            open_note(f"{body}\n\n{lines}", KEY.verify_key)


def test_malformed_notes() -> None:
    note = CP.sign(KEY)
    body, sig = note.rsplit("\n\n", 1)
    for bad in (
        note.rstrip("\n"),  # no final newline
        body + "\n" + sig,  # no blank line
        note + "not a signature line\n",
        note + f"{DASH}x !!!notbase64\n",
        "",
    ):
        with pytest.raises(IntegrityError):
            open_note(bad, KEY.verify_key)
    # a properly signed note whose body is not a checkpoint
    for text in ("origin\n-1\n" + base64.b64encode(ROOT).decode() + "\n", "origin\n5\n" + base64.b64encode(b"short").decode() + "\n", "origin\n"):
        raw = key_id(KEY.name, KEY.verify_key.public) + KEY.sign_raw(text.encode())
        signed = f"{text}\n{DASH}{KEY.name} {base64.b64encode(raw).decode()}\n"
        with pytest.raises(IntegrityError):
            open_note(signed, KEY.verify_key)

"""The AEAD envelope: per-record data keys under versioned domain keys.

Layout of every sealed blob (a field ciphertext or a wrapped key)::

    0x01 | nonce (12 bytes, random) | AES-256-GCM ciphertext ‖ tag (16 bytes)

The associated data is a canonical, length-prefixed encoding of where the blob
lives — (table, record id, version, field, key version) — so a ciphertext copied to
another row, field or version, or relabelled with another key version, fails to
open. Nothing here touches the database; `records.py` does that.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from examvault.errors import IntegrityError

FORMAT = 1
NONCE_LEN = 12
TAG_LEN = 16
KEY_LEN = 32
_HEADER = bytes([FORMAT])
_MIN_BLOB = 1 + NONCE_LEN + TAG_LEN
_BODY = 1 + NONCE_LEN  # where the ciphertext starts
_AAD_MAGIC = b"examvault/aad/v1"
DEK_FIELD = "__dek__"


def _lp(raw: bytes) -> bytes:
    return struct.pack(">I", len(raw)) + raw


def _part(part: str | int | bytes) -> bytes:
    if isinstance(part, bytes):
        return part
    return str(part).encode()


_MAGIC_LP = _lp(_AAD_MAGIC)


def canonical_aad(*parts: str | int | bytes) -> bytes:
    """Length-prefix every part so no two different tuples encode the same bytes."""
    return _MAGIC_LP + b"".join(_lp(_part(p)) for p in parts)


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(aead: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_LEN)
    return _HEADER + nonce + aead.encrypt(nonce, plaintext, aad)


def open_sealed(aead: AESGCM, blob: bytes, aad: bytes, *, what: str) -> bytes:
    if len(blob) < _MIN_BLOB or blob[0] != FORMAT:
        raise IntegrityError(f"{what}: ciphertext is truncated or not in examvault envelope format")
    try:
        return aead.decrypt(blob[1 : 1 + NONCE_LEN], blob[1 + NONCE_LEN :], aad)
    except InvalidTag:
        raise IntegrityError(
            f"{what}: integrity check failed (the ciphertext was altered, truncated or moved "
            "from another record, field or version)"
        ) from None


_LP_CACHE: dict[str | int, bytes] = {}


def _lp_cached(part: str | int) -> bytes:
    """Length-prefixed encoding of a table name, field name or small number, memoised."""
    enc = _LP_CACHE.get(part)
    if enc is None:
        enc = _lp(str(part).encode())
        if len(_LP_CACHE) < 100_000:
            _LP_CACHE[part] = enc
    return enc


class RecordAAD:
    """Builds the associated data for one record's fields; the shared prefix is encoded once.

    Equal, byte for byte, to canonical_aad(table, record_id, version, field, key_version);
    this is the hot path of bulk decryption, hence the caching.
    """

    __slots__ = ("_prefix", "_suffix")

    def __init__(self, table: str, record_id: str, version: int, key_version: int) -> None:
        self._prefix = _MAGIC_LP + _lp_cached(table) + _lp(record_id.encode()) + _lp_cached(version)
        self._suffix = _lp_cached(key_version)

    def for_field(self, field: str) -> bytes:
        return self._prefix + _lp_cached(field) + self._suffix


def seal_record(
    domain_key: AESGCM,
    table: str,
    record_id: str,
    version: int,
    key_version: int,
    fields: Mapping[str, bytes | None],
) -> tuple[bytes, dict[str, bytes | None]]:
    """Encrypt one record's fields under a fresh data key; return (wrapped key, blobs)."""
    aad = RecordAAD(table, record_id, version, key_version)
    # One read from the OS CSPRNG per record: the data key, then one fresh nonce per blob.
    rand = os.urandom(KEY_LEN + NONCE_LEN * (1 + len(fields)))
    dek, nonce = rand[:KEY_LEN], rand[KEY_LEN : KEY_LEN + NONCE_LEN]
    wrapped = _HEADER + nonce + domain_key.encrypt(nonce, dek, aad.for_field(DEK_FIELD))
    aead = AESGCM(dek)
    blobs: dict[str, bytes | None] = {}
    pos = KEY_LEN + NONCE_LEN
    for name, value in fields.items():
        if value is None:
            blobs[name] = None
            continue
        nonce = rand[pos : pos + NONCE_LEN]
        pos += NONCE_LEN
        blobs[name] = _HEADER + nonce + aead.encrypt(nonce, value, aad.for_field(name))
    return wrapped, blobs


def open_record(
    domain_key: AESGCM,
    table: str,
    record_id: str,
    version: int,
    key_version: int,
    wrapped_dek: bytes,
    blobs: Mapping[str, bytes | None],
) -> dict[str, bytes | None]:
    # The hot path of bulk decryption: no work here that only an error message needs.
    aad = RecordAAD(table, record_id, version, key_version)
    name = DEK_FIELD
    try:
        if len(wrapped_dek) < _MIN_BLOB or wrapped_dek[0] != FORMAT:
            raise InvalidTag
        aead = AESGCM(domain_key.decrypt(wrapped_dek[1:_BODY], wrapped_dek[_BODY:], aad.for_field(name)))
        out: dict[str, bytes | None] = {}
        for name, blob in blobs.items():
            if blob is None:
                out[name] = None
            elif len(blob) < _MIN_BLOB or blob[0] != FORMAT:
                raise InvalidTag
            else:
                out[name] = aead.decrypt(blob[1:_BODY], blob[_BODY:], aad.for_field(name))
        return out
    except InvalidTag:
        what = "data key" if name == DEK_FIELD else name
        raise IntegrityError(
            f"{table} {record_id} v{version} {what}: integrity check failed (the ciphertext was altered, "
            "truncated or moved from another record, field or version)"
        ) from None

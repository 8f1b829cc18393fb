"""The age v1 file format (https://age-encryption.org/v1), over the `cryptography` package.

Only what sealed packages need: X25519 recipients and identities, any number of extra
stanzas (age ignores types it does not know), the header MAC and the STREAM payload.
The reader is as strict as the reference implementation: canonical base64, 64-column
stanza bodies, chunk order, a final-chunk flag, and no data after the final chunk.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import bech32
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from examvault.errors import IntegrityError, ValidationError

VERSION_LINE = b"age-encryption.org/v1"
CHUNK = 64 * 1024
TAG = 16
_X25519_LABEL = b"age-encryption.org/v1/X25519"
_ZERO_NONCE = bytes(12)
_ARG = re.compile(rb"[\x21-\x7e]+\Z")


class AgeError(IntegrityError):
    """The file is not a valid age file, or it does not decrypt."""


class NoIdentityMatches(AgeError):
    pass


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def b64decode(text: str | bytes) -> bytes:
    """Strict unpadded standard base64: a non-canonical encoding is an error, as in age."""
    s = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    if "=" in s or "\n" in s or "\r" in s:
        raise AgeError("malformed base64 in the age header")
    try:
        raw = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise AgeError("malformed base64 in the age header") from None
    if b64encode(raw) != s:
        raise AgeError("non-canonical base64 in the age header")
    return raw


def _hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


# ---------------------------------------------------------------- keys


def _bech32_encode(hrp: str, raw: bytes) -> str:
    data = bech32.convertbits(raw, 8, 5)
    assert data is not None
    return bech32.bech32_encode(hrp, data)


def _bech32_decode(text: str, hrp: str, what: str) -> bytes:
    got_hrp, data = bech32.bech32_decode(text.lower() if text.isupper() else text)
    raw = bech32.convertbits(data, 5, 8, False) if data is not None else None
    if got_hrp != hrp or raw is None or len(raw) != 32:
        raise ValidationError(f"{what} is not a valid age X25519 key (expected {hrp}1…)")
    return bytes(raw)


@dataclass(frozen=True)
class Recipient:
    public: bytes

    @classmethod
    def parse(cls, text: str, what: str = "recipient") -> Recipient:
        return cls(_bech32_decode(text.strip(), "age", what))

    def __str__(self) -> str:
        return _bech32_encode("age", self.public)


@dataclass(frozen=True)
class Identity:
    secret: bytes

    @classmethod
    def generate(cls) -> Identity:
        return cls(X25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def parse_file(cls, text: str, what: str = "identity file") -> list[Identity]:
        """An identity file as age-keygen writes it: comments, blank lines, AGE-SECRET-KEY-1… lines."""
        out = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(cls(_bech32_decode(line, "age-secret-key-", what)))
        if not out:
            raise ValidationError(f"{what} holds no AGE-SECRET-KEY-1… line")
        return out

    def __str__(self) -> str:
        return _bech32_encode("age-secret-key-", self.secret).upper()

    def recipient(self) -> Recipient:
        pub = X25519PrivateKey.from_private_bytes(self.secret).public_key()
        return Recipient(pub.public_bytes(Encoding.Raw, PublicFormat.Raw))

    def file_text(self, now: datetime | None = None) -> str:
        created = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"# created: {created}\n# public key: {self.recipient()}\n{self}\n"


# ---------------------------------------------------------------- header


@dataclass(frozen=True)
class Stanza:
    type: str
    args: tuple[str, ...]
    body: bytes

    def encode(self) -> bytes:
        for part in (self.type, *self.args):
            if not _ARG.match(part.encode()):
                raise ValueError(f"invalid stanza argument {part!r}")
        lines = [b"-> " + " ".join((self.type, *self.args)).encode()]
        text = b64encode(self.body).encode()
        lines += [text[i : i + 64] for i in range(0, len(text), 64)]
        if len(text) % 64 == 0:  # the body always ends with a short (possibly empty) line
            lines.append(b"")
        return b"\n".join(lines) + b"\n"


def x25519_stanza(recipient: Recipient, file_key: bytes) -> Stanza:
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.public))
    wrap = _hkdf(shared, share + recipient.public, _X25519_LABEL)
    return Stanza("X25519", (b64encode(share),), ChaCha20Poly1305(wrap).encrypt(_ZERO_NONCE, file_key, None))


def _x25519_unwrap(identity: Identity, stanza: Stanza) -> bytes | None:
    if stanza.type != "X25519":
        return None
    if len(stanza.args) != 1 or len(stanza.body) != 32:
        raise AgeError("invalid X25519 stanza in the age header")
    share = b64decode(stanza.args[0])
    if len(share) != 32:
        raise AgeError("invalid X25519 stanza in the age header")
    secret = X25519PrivateKey.from_private_bytes(identity.secret)
    try:
        shared = secret.exchange(X25519PublicKey.from_public_bytes(share))
    except ValueError:  # an all-zero shared secret (a low-order point)
        raise AgeError("invalid X25519 stanza in the age header") from None
    wrap = _hkdf(shared, share + identity.recipient().public, _X25519_LABEL)
    try:
        return ChaCha20Poly1305(wrap).decrypt(_ZERO_NONCE, stanza.body, None)
    except InvalidTag:
        return None  # addressed to someone else


def wrap_with_key(key: bytes, salt: bytes, label: bytes, file_key: bytes) -> bytes:
    """Wrap the file key under a symmetric key (the release key of an electronic paper)."""
    return ChaCha20Poly1305(_hkdf(key, salt, label)).encrypt(_ZERO_NONCE, file_key, None)


def unwrap_with_key(key: bytes, salt: bytes, label: bytes, wrapped: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(_hkdf(key, salt, label)).decrypt(_ZERO_NONCE, wrapped, None)
    except InvalidTag:
        raise AgeError("the release key does not open this package") from None


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    raw: bytes  # the header bytes up to and including "---"; the MAC covers these
    stanza_offsets: tuple[int, ...]  # where each stanza starts in `raw`
    length: int  # bytes of the whole header, through the MAC line's newline

    def stanza(self, type_: str) -> Stanza | None:
        found = [s for s in self.stanzas if s.type == type_]
        if len(found) > 1:
            raise AgeError(f"the age header holds {len(found)} {type_} stanzas; one is allowed")
        return found[0] if found else None


def header_mac(file_key: bytes, raw: bytes) -> bytes:
    mac = HMAC(_hkdf(file_key, b"", b"header"), hashes.SHA256())
    mac.update(raw)
    return mac.finalize()


def encode_header(stanzas: Iterable[Stanza], file_key: bytes) -> bytes:
    raw = VERSION_LINE + b"\n" + b"".join(s.encode() for s in stanzas) + b"---"
    return raw + b" " + b64encode(header_mac(file_key, raw)).encode() + b"\n"


def parse_header(data: bytes) -> Header:
    """Parse (not verify) an age header at the start of `data`."""
    pos = 0

    def line() -> bytes:
        nonlocal pos
        end = data.find(b"\n", pos)
        if end < 0:
            raise AgeError("the age header is truncated")
        out, pos = data[pos:end], end + 1
        return out

    if line() != VERSION_LINE:
        raise AgeError("not an age v1 file (the first line is not age-encryption.org/v1)")
    stanzas, offsets = [], []
    while True:
        start = pos
        text = line()
        if text.startswith(b"--- "):
            mac = b64decode(text[4:])
            if len(mac) != 32:
                raise AgeError("the age header MAC is malformed")
            return Header(tuple(stanzas), mac, data[: start + 3], tuple(offsets), pos)
        if not text.startswith(b"-> "):
            raise AgeError("malformed age header line")
        parts = text[3:].split(b" ")
        if not parts or not all(_ARG.match(p) for p in parts):
            raise AgeError("malformed age stanza arguments")
        body = bytearray()
        while True:
            chunk = line()
            if len(chunk) > 64:
                raise AgeError("an age stanza body line is longer than 64 columns")
            body += b64decode(chunk) if chunk else b""
            if len(chunk) < 64:
                break
        offsets.append(start)
        stanzas.append(Stanza(parts[0].decode(), tuple(p.decode() for p in parts[1:]), bytes(body)))


def check_mac(header: Header, file_key: bytes) -> None:
    if not hmac.compare_digest(header_mac(file_key, header.raw), header.mac):
        raise AgeError("the age header MAC does not match: the header was altered")


def x25519_file_key(header: Header, identities: Iterable[Identity]) -> bytes:
    for identity in identities:
        for stanza in header.stanzas:
            key = _x25519_unwrap(identity, stanza)
            if key is not None:
                if len(key) != 16:
                    raise AgeError("invalid file key in the age header")
                return key
    raise NoIdentityMatches("no identity given matches any recipient of this file")


# ---------------------------------------------------------------- payload


def _payload_aead(file_key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    return ChaCha20Poly1305(_hkdf(file_key, nonce, b"payload"))


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_payload(file_key: bytes, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the payload: a fresh nonce, then STREAM chunks of exactly CHUNK bytes each but the last.

    Large pieces are encrypted where they lie (memoryview slices); only a piece's tail, under
    one chunk, is carried over to the next piece."""
    nonce = os.urandom(16)
    aead = _payload_aead(file_key, nonce)
    yield nonce
    pending = bytearray()  # at most CHUNK bytes not yet encrypted: they may turn out to be the last
    counter = 0
    for piece in chunks:
        with memoryview(piece) as whole, whole.cast("B") as view:
            at = 0
            if pending and len(view):
                at = min(CHUNK - len(pending), len(view))
                pending += view[:at]
                if at == len(view):
                    continue
                yield aead.encrypt(_chunk_nonce(counter, False), pending, None)  # full, and more follows
                counter += 1
                pending.clear()
            while len(view) - at > CHUNK:
                yield aead.encrypt(_chunk_nonce(counter, False), view[at : at + CHUNK], None)
                at += CHUNK
                counter += 1
            pending += view[at:]
    yield aead.encrypt(_chunk_nonce(counter, True), bytes(pending), None)


def plaintext_length(payload_length: int) -> int:
    """How many bytes a payload of this length decrypts to (nonce, then chunks of CHUNK + TAG)."""
    size = CHUNK + TAG
    n_chunks = -(-(payload_length - 16) // size)
    if payload_length < 16 + TAG or payload_length - 16 - (n_chunks - 1) * size < TAG:
        raise AgeError("the age payload is truncated")
    return payload_length - 16 - n_chunks * TAG


def decrypt_payload_into(file_key: bytes, payload: memoryview | bytes, out: bytearray,
                         progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
    """Decrypt every chunk in place into `out` (plaintext_length bytes), calling `progress(bytes done)` after each.

    As strict as age: chunk order (the counter is in the nonce), the final-chunk flag, no data
    after the final chunk, no empty final chunk after a full one. On a failure part of `out` holds
    plaintext that was authentic up to that chunk; the caller drops it."""
    view = memoryview(payload)
    if len(out) != plaintext_length(len(view)):
        raise ValueError("the output buffer does not fit the payload")
    size = CHUNK + TAG
    n_chunks = -(-(len(view) - 16) // size)
    aead = _payload_aead(file_key, bytes(view[:16]))
    with memoryview(out) as dest:
        pos, at = 16, 0
        for counter in range(n_chunks):
            piece = view[pos : pos + size]
            last = counter == n_chunks - 1
            try:
                aead.decrypt_into(_chunk_nonce(counter, last), piece, None, dest[at : at + len(piece) - TAG])
            except InvalidTag:
                raise AgeError(
                    "the age payload failed its integrity check (altered, truncated, reordered, or with data after its end)"
                ) from None
            if last and len(piece) == TAG and counter > 0:
                raise AgeError("the age payload ends with an empty chunk after a full one")
            pos += size
            at += len(piece) - TAG
            if progress is not None:
                progress(at)


def decrypt_payload_all(file_key: bytes, payload: memoryview | bytes) -> bytearray:
    """The whole plaintext in one buffer, decrypted in place (no chunk objects, no join)."""
    out = bytearray(plaintext_length(len(payload)))
    decrypt_payload_into(file_key, payload, out)
    return out


def encrypt(plaintext: bytes, recipients: Iterable[Recipient]) -> bytes:
    """A plain age file to X25519 recipients (used for interop tests and share files)."""
    file_key = os.urandom(16)
    header = encode_header([x25519_stanza(r, file_key) for r in recipients], file_key)
    return b"".join([header, *encrypt_payload(file_key, [plaintext])])


def decrypt(data: bytes, identities: Iterable[Identity]) -> bytes:
    header = parse_header(data)
    file_key = x25519_file_key(header, identities)
    check_mac(header, file_key)
    return decrypt_payload_all(file_key, memoryview(data)[header.length :])

"""Ed25519 signing keys, verifier keys in the C2SP signed-note format, and passphrase-sealed key files.

Every signature is over a context string and the message (see docs/package-format.md), so a
signature made for one purpose never verifies for another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from examvault.crypto import kdf
from examvault.crypto.envelope import canonical_aad, open_sealed, seal
from examvault.errors import IntegrityError, UnlockError, ValidationError

KEY_FILE_FORMAT = "examvault.sign-key/v1"
_ED25519 = b"\x01"  # the signed-note signature type byte for Ed25519
_NAME = re.compile(r"[^\s+]+\Z")

CONTEXTS = {
    "package-outer": b"examvault/package-outer/v1\n",
    "manifest": b"examvault/manifest/v1\n",
    "approval": b"examvault/approval/v1\n",
    "custody-event": b"examvault/custody-event/v1\n",
    "token": b"examvault/token/v1\n",
    "revocations": b"examvault/revocations/v1\n",
    "mark": b"examvault/mark/v1\n",
    "marking-signoff": b"examvault/marking-signoff/v1\n",
}


def check_name(name: str, what: str = "key name") -> str:
    if not _NAME.match(name):
        raise ValidationError(f"{what} {name!r} must be non-empty, with no spaces and no '+'")
    return name


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityError(f"{what} is not valid base64") from None


@dataclass(frozen=True)
class VerifyKey:
    name: str
    public: bytes

    @cached_property
    def key_id(self) -> str:
        return key_id(self.name, self.public).hex()

    @cached_property
    def _public_key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public)

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id}+{_b64(_ED25519 + self.public)}"

    @classmethod
    def parse(cls, text: str, what: str = "verifier key") -> VerifyKey:
        parts = text.strip().split("+", 2)  # the base64 part may itself hold "+"
        if len(parts) != 3 or not _NAME.match(parts[0]):
            raise ValidationError(f"{what} is not a signed-note verifier key (NAME+KEYID+BASE64)")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise ValidationError(f"{what} is not an Ed25519 signed-note verifier key")
        vk = cls(parts[0], raw[1:])
        if vk.key_id != parts[1]:
            raise ValidationError(f"{what}: its key id does not match its name and key")
        return vk

    @classmethod
    def load(cls, path: Path) -> VerifyKey:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"{path}: cannot read the verifier key ({exc.strerror})") from None
        return cls.parse(text, str(path))

    def verify_raw(self, message: bytes, signature: bytes) -> bool:
        try:
            self._public_key.verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def verify(self, context: str, message: bytes, signature: Mapping[str, Any]) -> bool:
        """A signature record {signer, key_id, signature} by this key over (context, message)."""
        if signature.get("signer") != self.name or signature.get("key_id") != self.key_id:
            return False
        raw = signature.get("signature")
        if not isinstance(raw, str):
            return False
        try:
            sig = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return False
        return self.verify_raw(CONTEXTS[context] + message, sig)


@dataclass(frozen=True)
class SigningKey:
    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        check_name(name)
        return cls(name, Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @cached_property  # a frozen dataclass still caches: cached_property writes the instance dict directly
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @cached_property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(self.name, self._private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def sign_raw(self, message: bytes) -> bytes:
        return self._private.sign(message)

    def sign(self, context: str, message: bytes) -> dict[str, str]:
        return {"signer": self.name, "key_id": self.verify_key.key_id, "signature": _b64(self.sign_raw(CONTEXTS[context] + message))}

    # ------------------------------------------------------------ the key file

    def file_text(self, passphrase: str) -> str:
        if len(passphrase) < 8:
            raise UnlockError("the signing-key passphrase must have at least 8 characters")
        params = kdf.default_params()
        salt = os.urandom(16)
        vk = str(self.verify_key)
        sealed = seal(AESGCM(kdf.derive(passphrase, salt, params)), self.seed, canonical_aad("sign-key", self.name, vk))
        doc = {"format": KEY_FILE_FORMAT, "name": self.name, "verify_key": vk, "kdf": params, "salt": _b64(salt), "sealed": _b64(sealed)}
        return json.dumps(doc, indent=1) + "\n"

    @classmethod
    def from_file_text(cls, text: str, passphrase: str, what: str = "signing-key file") -> SigningKey:
        try:
            doc = json.loads(text)
            if doc.get("format") != KEY_FILE_FORMAT:
                raise ValueError
            name, vk, params = str(doc["name"]), str(doc["verify_key"]), dict(doc["kdf"])
            salt, sealed = _unb64(doc["salt"], what), _unb64(doc["sealed"], what)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise ValidationError(f"{what} is not an examvault signing-key file ({KEY_FILE_FORMAT})") from None
        try:
            wrapping = kdf.derive(passphrase, salt, params)
        except (ValueError, KeyError, TypeError):
            raise ValidationError(f"{what}: its key-derivation parameters are invalid or beyond what is accepted") from None
        try:
            seed = open_sealed(AESGCM(wrapping), sealed, canonical_aad("sign-key", name, vk), what=what)
        except IntegrityError:
            raise UnlockError(f"{what}: wrong passphrase, or the file was altered") from None
        key = cls(name, seed)
        if str(key.verify_key) != vk:
            raise IntegrityError(f"{what}: the key does not match the verifier key recorded in the file")
        return key

    @classmethod
    def load(cls, path: Path, passphrase: str) -> SigningKey:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"{path}: cannot read the signing key ({exc.strerror})") from None
        return cls.from_file_text(text, passphrase, str(path))


def distinct_valid(context: str, message: bytes, signatures: Iterable[Mapping[str, Any]], keys: Iterable[VerifyKey]) -> set[str]:
    """Names of the keys that signed `message` validly. A key that signs twice counts once."""
    by_id = {(k.name, k.key_id): k for k in keys}
    good = set()
    for sig in signatures:
        k = by_id.get((sig.get("signer"), sig.get("key_id")))  # type: ignore[arg-type]
        if k is not None and k.verify(context, message, sig):
            good.add(k.name)
    return good


def canonical_json(obj: Any) -> bytes:
    """The one canonical JSON of the project (signed bytes, digests, stored documents)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

"""Passphrase → key-encryption key.

Argon2id with the OWASP minimum (m = 19 MiB, t = 2, p = 1) from the `cryptography`
package; scrypt (N = 2^17, r = 8, p = 1) where the linked OpenSSL lacks Argon2.
The parameters are stored with the slot so they can be raised later.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

ARGON2ID = {"kdf": "argon2id", "memory_kib": 19 * 1024, "iterations": 2, "lanes": 1}
SCRYPT = {"kdf": "scrypt", "n": 2**17, "r": 8, "p": 1}


def _argon2id(params: dict[str, Any], salt: bytes) -> Any:
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    return Argon2id(
        salt=salt,
        length=32,
        iterations=int(params["iterations"]),
        lanes=int(params["lanes"]),
        memory_cost=int(params["memory_kib"]),
    )


def default_params() -> dict[str, Any]:
    try:
        _argon2id(ARGON2ID, b"\0" * 16).derive(b"probe")
    except (ImportError, UnsupportedAlgorithm):
        return dict(SCRYPT)
    return dict(ARGON2ID)


# A key file names its own KDF parameters; beyond these no file may make a reader spend gigabytes or
# minutes (the defaults above: Argon2id 19 MiB × 2, scrypt 2^17 × 8 = 128 MiB).
LIMITS = {"argon2id": {"memory_kib": 256 * 1024, "iterations": 16, "lanes": 8}, "scrypt": {"n": 2**18, "r": 8, "p": 4}}


def derive(passphrase: str, salt: bytes, params: dict[str, Any]) -> bytes:
    secret = passphrase.encode("utf-8")
    for name, most in LIMITS.get(params["kdf"], {}).items():
        if not isinstance(params.get(name), int) or not 1 <= params[name] <= most:
            raise ValueError(f"KDF parameter {name} must be an integer from 1 to {most}")
    if params["kdf"] == "argon2id":
        return _argon2id(params, salt).derive(secret)
    if params["kdf"] == "scrypt":
        return Scrypt(salt=salt, length=32, n=int(params["n"]), r=int(params["r"]), p=int(params["p"])).derive(
            secret
        )
    raise ValueError(f"unknown KDF {params['kdf']!r}")

"""The key hierarchy: root key → versioned domain keys (→ per-record data keys, see envelope.py).

The root key exists only in memory, inside an unlocked `Keyring`. It is unwrapped
from a passphrase slot (Argon2id) or rebuilt from k-of-n Shamir shares; either way a
check value stored with the bank tells a wrong key from corrupt data.
"""

from __future__ import annotations

import hmac as _stdlib_hmac
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hmac import HMAC
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from examvault.crypto import kdf, shares
from examvault.crypto.envelope import canonical_aad, new_key, open_sealed, seal
from examvault.crypto.models import BankMeta, DomainKey, KeyPolicy, KeySlot
from examvault.db import utcnow
from examvault.errors import ConfigurationError, IntegrityError, KeyRetiredError, UnlockError

DOMAINS = ("items", "marking", "packages", "audit", "personal")
_CHECK_LABEL = b"examvault/root-check/v1"


def root_check(root: bytes) -> bytes:
    mac = HMAC(root, hashes.SHA256())
    mac.update(_CHECK_LABEL)
    return mac.finalize()


def _slot_aad(bank_id: uuid.UUID) -> bytes:
    return canonical_aad("root_slot", str(bank_id))


def _domain_aad(bank_id: uuid.UUID, domain: str, version: int) -> bytes:
    return canonical_aad("domain_key", str(bank_id), domain, version)


@dataclass
class Keyring:
    """An unlocked bank: the root key and the domain keys it opens. Memory only."""

    bank_id: uuid.UUID
    _root: bytes = field(repr=False)
    _keys: dict[tuple[str, int], AESGCM] = field(default_factory=dict, repr=False)
    primary: dict[str, int] = field(default_factory=dict)
    minimum: dict[str, int] = field(default_factory=dict)

    def reload(self, session: Session) -> None:
        """Re-read policies and domain keys (after a rotation, or another process's)."""
        self.primary = {}
        self.minimum = {}
        self._keys = {}
        for pol in session.scalars(select(KeyPolicy)):
            self.primary[pol.domain] = pol.primary_version
            self.minimum[pol.domain] = pol.min_version
        for row in session.scalars(select(DomainKey).where(DomainKey.wrapped_key.is_not(None))):
            assert row.wrapped_key is not None
            raw = open_sealed(
                AESGCM(self._root),
                row.wrapped_key,
                _domain_aad(self.bank_id, row.domain, row.version),
                what=f"domain key {row.domain} v{row.version}",
            )
            self._keys[(row.domain, row.version)] = AESGCM(raw)

    def pin(self, session: Session, domain: str) -> None:
        """Call before sealing: holds the domain's policy for this transaction (FOR SHARE on
        PostgreSQL, so a concurrent `set-min` waits for it) and refreshes this keyring if
        another process rotated or retired keys since it was unlocked."""
        pol = session.scalars(select(KeyPolicy).where(KeyPolicy.domain == domain).with_for_update(read=True)).one()
        if (pol.primary_version, pol.min_version) != (self.primary.get(domain), self.minimum.get(domain)):
            self.reload(session)

    def key(self, domain: str, version: int) -> AESGCM:
        if version < self.minimum.get(domain, 1):
            raise KeyRetiredError(
                f"key version {version} of domain {domain!r} is retired "
                f"(minimum is {self.minimum[domain]}); this ciphertext is no longer accepted"
            )
        try:
            return self._keys[(domain, version)]
        except KeyError:
            raise IntegrityError(f"no key version {version} in domain {domain!r}") from None

    def primary_key(self, domain: str) -> tuple[int, AESGCM]:
        version = self.primary[domain]
        return version, self.key(domain, version)

    def derive(self, label: str) -> bytes:
        """A purpose-bound secret (e.g. the backup MAC key) that never equals the root."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=self.bank_id.bytes, info=label.encode()).derive(
            self._root
        )

    def wrap_root(self, wrapping_key: bytes) -> bytes:
        return seal(AESGCM(wrapping_key), self._root, _slot_aad(self.bank_id))

    def split(self, count: int, threshold: int) -> list[str]:
        return shares.split(self._root, count, threshold)

    def wrap_domain_key(self, domain: str, version: int, raw: bytes) -> bytes:
        return seal(AESGCM(self._root), raw, _domain_aad(self.bank_id, domain, version))


def _meta(session: Session) -> BankMeta:
    meta = session.get(BankMeta, 1)
    if meta is None:
        raise ConfigurationError("this database holds no examvault bank; run `examvault init` first")
    return meta


def _passphrase_slot(passphrase: str, keyring: Keyring) -> KeySlot:
    params = kdf.default_params()
    salt = os.urandom(16)
    return KeySlot(
        kind="passphrase",
        kdf_params=params,
        salt=salt,
        wrapped_root=keyring.wrap_root(kdf.derive(passphrase, salt, params)),
    )


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < 8:
        raise UnlockError("the passphrase must have at least 8 characters")


def create(session: Session, passphrase: str, institution: str = "") -> Keyring:
    """A new root key, its passphrase slot and version 1 of every domain key."""
    check_passphrase(passphrase)
    root = new_key()
    meta = BankMeta(id=1, bank_id=uuid.uuid4(), institution=institution, root_check=root_check(root))
    session.add(meta)
    keyring = Keyring(bank_id=meta.bank_id, _root=root)
    session.add(_passphrase_slot(passphrase, keyring))
    for domain in DOMAINS:
        session.add(KeyPolicy(domain=domain, primary_version=1, min_version=1))
        session.flush()
        session.add(DomainKey(domain=domain, version=1, wrapped_key=keyring.wrap_domain_key(domain, 1, new_key())))
    session.flush()
    keyring.reload(session)
    return keyring


def _accept_root(session: Session, meta: BankMeta, root: bytes, *, how: str) -> Keyring:
    if not _stdlib_hmac.compare_digest(root_check(root), meta.root_check):
        raise UnlockError(f"{how} reconstruct a key that does not unlock this bank")
    keyring = Keyring(bank_id=meta.bank_id, _root=root)
    keyring.reload(session)
    return keyring


def unlock_with_passphrase(session: Session, passphrase: str) -> Keyring:
    meta = _meta(session)
    slot = session.scalars(select(KeySlot).where(KeySlot.kind == "passphrase").order_by(KeySlot.id)).first()
    if slot is None:
        raise UnlockError("this bank has no passphrase slot; unlock it with its Shamir shares")
    kek = kdf.derive(passphrase, slot.salt, slot.kdf_params)
    try:
        root = open_sealed(AESGCM(kek), slot.wrapped_root, _slot_aad(meta.bank_id), what="root key slot")
    except IntegrityError:
        raise UnlockError("wrong passphrase: it does not unlock this bank") from None
    return _accept_root(session, meta, root, how="the passphrase does not")


def unlock_with_shares(session: Session, share_texts: list[shares.ShareText]) -> Keyring:
    meta = _meta(session)
    if meta.shares_threshold is None:
        raise UnlockError("no Shamir shares were made for this bank (`examvault keys split`)")
    root = shares.combine(share_texts)
    return _accept_root(session, meta, root, how="these shares")


def change_passphrase(session: Session, keyring: Keyring, new_passphrase: str) -> None:
    check_passphrase(new_passphrase)
    for slot in session.scalars(select(KeySlot).where(KeySlot.kind == "passphrase")):
        session.delete(slot)
    session.add(_passphrase_slot(new_passphrase, keyring))


def split(session: Session, keyring: Keyring, count: int, threshold: int) -> list[str]:
    mnemonics = keyring.split(count, threshold)
    meta = _meta(session)
    meta.shares_threshold = threshold
    meta.shares_count = count
    meta.shares_created_at = utcnow()
    return mnemonics


def lock_policy(session: Session, domain: str) -> KeyPolicy:
    policy = session.get(KeyPolicy, domain, with_for_update=True)
    if policy is None:
        raise ConfigurationError(f"unknown key domain {domain!r}; domains are {', '.join(DOMAINS)}")
    return policy


def add_version(session: Session, keyring: Keyring, domain: str) -> int:
    """Rotate: a new domain-key version becomes primary; old ones still decrypt."""
    policy = lock_policy(session, domain)
    latest = max(session.scalars(select(DomainKey.version).where(DomainKey.domain == domain)))
    version = latest + 1
    session.add(DomainKey(domain=domain, version=version, wrapped_key=keyring.wrap_domain_key(domain, version, new_key())))
    policy.primary_version = version
    session.flush()
    keyring.reload(session)
    return version


def raise_minimum(session: Session, keyring: Keyring, domain: str, version: int) -> list[int]:
    """Refuse versions below `version` from now on, and erase their wrapped keys."""
    policy = lock_policy(session, domain)
    if not policy.min_version <= version <= policy.primary_version:
        raise ConfigurationError(
            f"minimum version for {domain!r} must be between {policy.min_version} and "
            f"the primary version {policy.primary_version}; got {version}"
        )
    policy.min_version = version
    erased = []
    for row in session.scalars(select(DomainKey).where(DomainKey.domain == domain, DomainKey.version < version)):
        if row.wrapped_key is not None:
            row.wrapped_key = None
            row.retired_at = utcnow()
            erased.append(row.version)
    session.flush()
    keyring.reload(session)
    return erased


def status(session: Session) -> dict[str, Any]:
    meta = _meta(session)
    slots = list(session.scalars(select(KeySlot)))
    domains = []
    for pol in session.scalars(select(KeyPolicy).order_by(KeyPolicy.domain)):
        versions = [
            {
                "version": k.version,
                "created_at": k.created_at.isoformat(),
                "retired_at": k.retired_at.isoformat() if k.retired_at else None,
                "state": "retired" if k.wrapped_key is None else ("primary" if k.version == pol.primary_version else "active"),
            }
            for k in session.scalars(select(DomainKey).where(DomainKey.domain == pol.domain).order_by(DomainKey.version))
        ]
        domains.append(
            {"domain": pol.domain, "primary_version": pol.primary_version, "min_version": pol.min_version, "versions": versions}
        )
    return {
        "bank_id": str(meta.bank_id),
        "institution": meta.institution,
        "passphrase_slots": [{"kdf": s.kdf_params} for s in slots if s.kind == "passphrase"],
        "shares": (
            {"threshold": meta.shares_threshold, "count": meta.shares_count, "created_at": meta.shares_created_at.isoformat()}
            if meta.shares_threshold and meta.shares_created_at
            else None
        ),
        "domains": domains,
    }

"""Key-management actions as service functions: each one a transaction and an audit event.

The CLI, the HTTP API and the demo call these; none of them touches the keyring directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto import keyring
from examvault.crypto.records import census, rewrap
from examvault.errors import ConflictError


def domains(domain: str) -> list[str]:
    return list(keyring.DOMAINS) if domain == "all" else [domain]


def key_status(bank: Bank) -> dict[str, Any]:
    """Versions per domain and how many records use each; needs no unlock."""
    with bank.transaction() as session:
        bank.actor(session, "keys.manage")
        info = keyring.status(session)
        for d in info["domains"]:
            d["records"] = {t: {str(v): n for v, n in c.items()} for t, c in census(session, d["domain"]).items()}
        return info


def rotate(bank: Bank, domain: str = "all") -> dict[str, int]:
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "keys.manage")
        kr = bank.keyring(session)
        out = {}
        for d in domains(domain):
            out[d] = keyring.add_version(session, kr, d)
            audit(session, actor, "keys.rotate", "domain", d, version=out[d])
        return out


def rewrap_domain(bank: Bank, domain: str = "all", *, batch_size: int = 500,
                  progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:  # fmt: skip
    """Re-encrypt records below the primary version, in short batches (the bank stays usable)."""
    with bank.transaction() as session:
        actor = bank.actor(session, "keys.manage")
        kr = bank.keyring(session)
        todo = {
            d: sum(n for c in census(session, d).values() for v, n in c.items() if v < kr.primary[d]) for d in domains(domain)
        }
    out = {}
    for d, total in todo.items():
        done = 0

        def step(n: int, d: str = d, total: int = total) -> None:
            nonlocal done
            done += n
            if progress:
                progress(d, done, max(total, done))

        out[d] = rewrap(bank.factory, kr, d, batch_size=batch_size, on_batch=step)
        with bank.transaction(write=True) as session:
            audit(session, actor.username, "keys.rewrap", "domain", d, records=out[d])
    return out


def set_minimum(bank: Bank, domain: str, version: int) -> list[int]:
    """Refuse versions below `version` and erase them — only once no record needs them."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "keys.manage")
        kr = bank.keyring(session)
        keyring.lock_policy(session, domain)  # before counting: writers that seal hold it shared
        left = {t: sum(n for v, n in c.items() if v < version) for t, c in census(session, domain).items()}
        if any(left.values()):
            detail = ", ".join(f"{n} in {t}" for t, n in left.items() if n)
            raise ConflictError(f"records still use {domain} versions below {version} ({detail}); run `examvault keys rewrap` first")
        erased = keyring.raise_minimum(session, kr, domain, version)
        audit(session, actor, "keys.set_min", "domain", domain, min_version=version, erased=erased)
        return erased


def split_root(bank: Bank, count: int, threshold: int) -> list[str]:
    """k-of-n SLIP-39 shares of the root key. The caller hands them out; the bank keeps none."""
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "keys.manage")
        kr = bank.keyring(session)
        words = keyring.split(session, kr, count, threshold)
        audit(session, actor, "keys.split", "bank", str(kr.bank_id), shares=count, threshold=threshold)
        return words


def change_passphrase(bank: Bank, new_passphrase: str) -> None:
    with bank.transaction(write=True) as session:
        actor = bank.actor(session, "keys.manage")
        kr = bank.keyring(session)
        keyring.change_passphrase(session, kr, new_passphrase)
        audit(session, actor, "keys.passphrase", "bank", str(kr.bank_id))

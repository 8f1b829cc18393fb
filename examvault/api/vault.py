"""The server's seal, as in Vault: it starts sealed and holds the root key only in memory once
custodians have unsealed it with k Shamir shares (one request each) or the passphrase.

Shares wait in memory, never on disk or in a log, until the threshold is reached; progress resets
after `timeout` without a new share, and on any failure. Every submission is an audit event that
names the client and the share's index, never its words.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import shamir_mnemonic as slip39
from shamir_mnemonic.share import Share

from examvault.accounts.service import audit
from examvault.bank import Bank
from examvault.crypto import keyring as keyring_mod
from examvault.crypto.keyring import Keyring
from examvault.crypto.shares import ShareText, mnemonic_of
from examvault.errors import ConflictError, ExamvaultError, UnlockError

UNSEAL_TIMEOUT = 600.0  # seconds a started unseal waits for its next share


class Sealed(ExamvaultError):
    exit_code = 7
    http_status = 503


@dataclass
class Vault:
    bank: Bank
    timeout: float = UNSEAL_TIMEOUT
    _keyring: Keyring | None = field(default=None, init=False, repr=False)
    _pending: dict[int, tuple[str, str]] = field(default_factory=dict, init=False, repr=False)  # index → (label, words)
    _pending_id: int | None = field(default=None, init=False, repr=False)
    _threshold: int | None = field(default=None, init=False, repr=False)
    _last: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def sealed(self) -> bool:
        return self._keyring is None

    def keyring(self) -> Keyring:
        kr = self._keyring
        if kr is None:
            raise Sealed("the server is sealed: custodians must unseal it first (POST /api/v1/sys/unseal)")
        return kr

    def _expire(self) -> None:
        if self._pending and time.monotonic() - self._last > self.timeout:
            self._reset()

    def _reset(self) -> None:
        self._pending.clear()
        self._pending_id = self._threshold = None

    def status(self) -> dict[str, Any]:
        with self._lock:
            self._expire()
            return self._status()

    def _audit(self, client: str, action: str, **details: Any) -> None:
        with self.bank.transaction(write=True) as session:
            audit(session, f"client:{client}"[:80], action, "server", "seal", **details)

    def submit_share(self, text: str, *, client: str) -> dict[str, Any]:
        words = mnemonic_of(text)
        with self._lock:
            if not self.sealed:
                raise ConflictError("the server is already unsealed")
            self._expire()
            try:
                share = Share.from_mnemonic(words)
            except (slip39.MnemonicError, ValueError):
                self._audit(client, "vault.share.rejected", reason="corrupt or mistyped")
                raise UnlockError("share: corrupt or mistyped (its checksum, word list or length does not hold)") from None
            if self._pending_id is not None and share.identifier != self._pending_id:
                self._reset()
                self._audit(client, "vault.share.rejected", reason="from another split; progress reset")
                raise UnlockError("share: it comes from a different split than the shares already given; progress was reset")
            if share.index in self._pending:
                raise ConflictError(f"share: share number {share.index + 1} was already given")
            self._pending_id, self._threshold = share.identifier, share.member_threshold
            self._pending[share.index] = (f"share {share.index + 1}", words)
            self._last = time.monotonic()
            self._audit(client, "vault.share", index=share.index + 1, progress=len(self._pending), threshold=self._threshold)
            if len(self._pending) < self._threshold:
                return self._status()
            texts = [ShareText(label, w) for label, w in self._pending.values()]
            self._reset()
            try:
                with self.bank.transaction() as session:
                    self._keyring = keyring_mod.unlock_with_shares(session, texts)
            except UnlockError as exc:
                self._audit(client, "vault.unseal.failed", how="shares")
                raise UnlockError(f"{exc}; progress was reset") from None
            self._audit(client, "vault.unseal", how="shares")
            return self._status()

    def _status(self) -> dict[str, Any]:
        return {"sealed": self.sealed, "threshold": self._threshold, "progress": len(self._pending),
                "timeout_seconds": int(self.timeout)}  # fmt: skip

    def unseal_passphrase(self, passphrase: str, *, client: str) -> dict[str, Any]:
        with self._lock:
            if not self.sealed:
                raise ConflictError("the server is already unsealed")
            try:
                with self.bank.transaction() as session:
                    self._keyring = keyring_mod.unlock_with_passphrase(session, passphrase)
            except UnlockError:
                self._audit(client, "vault.unseal.failed", how="passphrase")
                raise
            self._reset()
            self._audit(client, "vault.unseal", how="passphrase")
            return self._status()

    def seal(self, actor: str) -> None:
        """Forget the root key and every domain key; in-flight requests finish with the keys they hold."""
        with self._lock:
            self._keyring = None
            self._reset()
        with self.bank.transaction(write=True) as session:
            audit(session, actor, "vault.seal", "server", "seal")

"""What one running service holds: the database handle, the seal, the jobs and the login limiter.

Several instances may serve one PostgreSQL bank; each is unsealed on its own (the root key never
leaves the memory of the process that was given it), and lockouts and sessions live in the database,
so every instance sees them.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from examvault.accounts.credentials import Identity
from examvault.api.jobs import Jobs
from examvault.api.vault import Vault
from examvault.bank import Bank
from examvault.crypto.signing import SigningKey
from examvault.db import utcnow

IDENTITY_TTL = 2.0  # seconds
LOGIN_WINDOW = 300.0  # seconds
LOGIN_ATTEMPTS = 20  # per client in the window: beyond it, 429 before the password is even hashed


@dataclass
class RateLimiter:
    window: float = LOGIN_WINDOW
    limit: int = LOGIN_ATTEMPTS
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self, key: str) -> float:
        """0 if allowed now, else the seconds until it will be."""
        now = time.monotonic()
        with self._lock:
            if len(self._hits) > 10_000:  # bounded: forget clients quiet for a whole window
                for stale in [k for k, h in self._hits.items() if not h or now - h[-1] > self.window]:
                    del self._hits[stale]
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] > self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return self.window - (now - hits[0])
            hits.append(now)
            return 0.0


@dataclass
class Server:
    bank: Bank
    secure_cookies: bool = True
    vault: Vault = field(init=False)
    jobs: Jobs = field(default_factory=Jobs)
    logins: RateLimiter = field(default_factory=RateLimiter)
    # Signs CSRF tokens; a new one per process start, so a restart ends console forms in flight.
    _csrf_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _signers: dict[int, SigningKey] = field(default_factory=dict, repr=False)
    _signers_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # token → (when read, identity): a token is looked up in the database at most once per IDENTITY_TTL
    # seconds in this process. Logout, a new password and a revoked token clear it here at once; another
    # instance sees them within IDENTITY_TTL.
    _identities: dict[str, tuple[float, Identity]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.vault = Vault(self.bank)

    def csrf_token(self, session_token: str) -> str:
        return hmac.new(self._csrf_key, session_token.encode(), "sha256").hexdigest()

    def csrf_ok(self, session_token: str, given: str) -> bool:
        return bool(given) and hmac.compare_digest(self.csrf_token(session_token), given)

    def hold_signer(self, token_id: int, key: SigningKey) -> None:
        """An examiner's or approver's signing key, opened once per login session: kept in this process's
        memory only, and dropped at logout, session end or seal."""
        with self._signers_lock:
            self._signers[token_id] = key

    def signer(self, token_id: int) -> SigningKey | None:
        return self._signers.get(token_id)

    def seal(self, actor: str) -> None:
        """Forget the root key and every signing key held for a session."""
        self.forget_signers()
        self.vault.seal(actor)

    def end_session(self, token_id: int) -> None:
        """After logout: the held signing key and the remembered identity go at once."""
        self.drop_signer(token_id)
        self.forget_identities(token_id=token_id)

    def drop_signer(self, token_id: int) -> None:
        with self._signers_lock:
            self._signers.pop(token_id, None)

    def forget_signers(self) -> None:
        with self._signers_lock:
            self._signers.clear()

    def cached_identity(self, token: str) -> Identity | None:
        hit = self._identities.get(token)
        if hit is None:
            return None
        read_at, identity = hit
        if time.monotonic() - read_at > IDENTITY_TTL or identity.expires_at <= utcnow():
            self._identities.pop(token, None)
            return None
        return identity

    def remember_identity(self, token: str, identity: Identity) -> None:
        if len(self._identities) > 10_000:  # bounded: drop the oldest half
            for key in sorted(self._identities, key=lambda k: self._identities[k][0])[:5_000]:
                self._identities.pop(key, None)
        self._identities[token] = (time.monotonic(), identity)

    def forget_identities(self, *, username: str | None = None, token_id: int | None = None) -> None:
        for key, (_t, ident) in list(self._identities.items()):
            if ident.username == username or ident.token_id == token_id:
                self._identities.pop(key, None)

    def user_bank(self, identity: Identity) -> Bank:
        bank = self.bank.as_actor(identity.username, lambda _session: self.vault.keyring(), roles=identity.roles)
        bank._has_bank = True  # unsealing read this bank's keys: it exists, no need to inspect the schema per request
        return bank

    def close(self) -> None:
        self.jobs.shutdown()
        self.forget_signers()
        if not self.vault.sealed:
            self.seal("server:shutdown")
        self.bank.close()

"""The handle that every service function takes: database, acting user, and key access.

The CLI and the HTTP API each build a `Bank` and then call the same service
functions; neither implements a rule of its own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from examvault import db
from examvault.accounts.models import User
from examvault.accounts.service import get_user, require, require_roles
from examvault.crypto.keyring import Keyring
from examvault.errors import ConfigurationError, UnlockError

Unlocker = Callable[[Session], Keyring]


@dataclass
class Bank:
    engine: Engine
    actor_name: str | None = None
    unlocker: Unlocker | None = None
    factory: sessionmaker[Session] = field(init=False)
    _keyring: Keyring | None = field(default=None, init=False, repr=False)
    _has_bank: bool = field(default=False, init=False, repr=False)
    _roles: frozenset[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.factory = db.session_factory(self.engine)

    @classmethod
    def open(cls, url: str, *, actor: str | None = None, unlocker: Unlocker | None = None, schema: str | None = None) -> Bank:
        return cls(db.open_engine(url, schema=schema), actor, unlocker)

    @contextmanager
    def transaction(self, *, commit: bool = True, write: bool = False) -> Iterator[Session]:
        with db.transaction(self.factory, commit=commit, write=write) as session:
            yield session

    def actor(self, session: Session, permission: str | None = None) -> User:
        if not self._has_bank:  # asked once per handle: the schema's inspection costs a round trip
            if not db.has_bank(self.engine):
                raise ConfigurationError(f"no examvault bank at {self.engine.url!r}; run `examvault init` first")
            self._has_bank = True
        if not self.actor_name:
            raise ConfigurationError("no acting user: pass --user NAME or set EXAMVAULT_USER")
        user = get_user(session, self.actor_name)
        if permission:
            require(user, permission)
        return user

    def keyring(self, session: Session) -> Keyring:
        """Unlock on first use; the root key then stays in this process's memory only."""
        if self._keyring is None:
            if self.unlocker is None:
                raise UnlockError("this action needs the bank unlocked: set EXAMVAULT_PASSPHRASE, pass --passphrase-file, or give --share files")
            self._keyring = self.unlocker(session)
        return self._keyring

    def as_actor(self, name: str, unlocker: Unlocker | None, *, roles: frozenset[str] | None = None) -> Bank:
        """The same database handle acting for another user: the HTTP service makes one per request, with
        the roles it has just read while checking the request's token."""
        bank = copy.copy(self)
        bank.actor_name, bank.unlocker, bank._keyring, bank._roles = name, unlocker, None, roles
        return bank

    def permit(self, session: Session, permission: str) -> None:
        """`actor(session, permission)` for read-only hot paths that need no `User` row: with roles already
        known for this handle (an HTTP request), the check costs no query."""
        if self._roles is None or not self.actor_name:
            self.actor(session, permission)
        else:
            require_roles(self.actor_name, self._roles, permission)

    def forget_keys(self) -> None:
        self._keyring = None

    def close(self) -> None:
        self.forget_keys()
        self.engine.dispose()

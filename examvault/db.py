"""Engine and session set-up, and schema migrations.

SQLite (a file in the working directory) is the embedded default; PostgreSQL is the
multi-user deployment. Both go through the same SQLAlchemy models and Alembic
migrations, so nothing below this module knows which one it talks to.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Engine, Integer, MetaData, Numeric, String, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from examvault.errors import ConfigurationError

DEFAULT_DB_FILE = "examvault.db"

_naming = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_naming)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back an aware datetime, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; examvault stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


BEIJING = ZoneInfo("Asia/Shanghai")  # times are stored in UTC and shown, and days counted, in Beijing time


def utcnow() -> datetime:
    return datetime.now(UTC)


def beijing_today() -> date:
    return datetime.now(BEIJING).date()


_last_v7 = 0


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): time-ordered, so bulk inserts append to the primary-key
    B-tree instead of splitting pages all over it. The 74 random bits keep ids unguessable;
    within one millisecond the value is bumped to stay monotonic in this process."""
    global _last_v7
    rand = int.from_bytes(os.urandom(10))  # 80 bits; 74 are used
    rand_a, rand_b = rand >> 68, rand & ((1 << 62) - 1)
    value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    if value <= _last_v7:
        value = _last_v7 + 1
    _last_v7 = value
    return uuid.UUID(int=value)


def free_codes(make: Callable[[int], str], taken: set[str]) -> Iterator[str]:
    """Human codes make(n) for n = len(taken) + 1, … that are not taken yet (codes given by hand may
    already sit where the count would put the next one)."""
    return (code for code in map(make, itertools.count(len(taken) + 1)) if code not in taken)


def resolve_url(db: str | None) -> str:
    """Turn `--db` / EXAMVAULT_DB (a path or a SQLAlchemy URL) into a URL."""
    value = db or os.environ.get("EXAMVAULT_DB") or DEFAULT_DB_FILE
    if "://" in value:
        try:
            make_url(value)
        except ArgumentError as exc:
            raise ConfigurationError(f"database URL {value!r} is not valid: {exc}") from None
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets a long rewrap run while other commands read and write the bank.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: a 100k-item import stays in memory
    cur.execute("PRAGMA secure_delete=ON")  # erased key material is overwritten, not left in free pages
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # A writing action takes SQLite's write lock up front (BEGIN IMMEDIATE): otherwise a
    # long import that read first would fail at its first write if another writer had
    # committed meanwhile, instead of waiting its turn.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("examvault_write") else "BEGIN")


def open_engine(url: str, *, schema: str | None = None, pool_size: int | None = None) -> Engine:
    """Create an engine. `schema` (PostgreSQL only) isolates a bank in its own schema; `pool_size` is for
    the HTTP service, whose worker threads would otherwise open and close a connection per request."""
    kwargs: dict[str, Any] = {}
    backend = make_url(url).get_backend_name()
    if backend == "postgresql" and pool_size:
        kwargs |= {"pool_size": pool_size, "max_overflow": pool_size}
    if backend == "postgresql" and schema:
        kwargs["connect_args"] = {"options": f"-csearch_path={schema}"}
    engine = create_engine(url, **kwargs)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so that
        # each user action is exactly one transaction.
        event.listen(engine, "connect", lambda c, _r: setattr(c, "isolation_level", None))
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session], *, commit: bool = True, write: bool = False) -> Iterator[Session]:
    """One user-visible action = one transaction: commit on success, roll back on any error.

    `commit=False` runs the whole action and then rolls it back (a dry run). `write=True`
    marks an action that will write, so SQLite serialises it with other writers from the start.
    """
    session = factory()
    try:
        session.begin()
        if write:
            session.connection(execution_options={"examvault_write": True})
        yield session
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(None))
    head = script.get_current_head()
    assert head is not None
    return head


def has_bank(engine: Engine) -> bool:
    return inspect(engine).has_table("bank_meta")


def _memoised(type_: Any, dialect: Any) -> Any:
    """The column's bind processor; for repeated values (one timestamp for a whole
    import, a handful of point values) each distinct value is processed once."""
    proc = type_.dialect_impl(dialect).bind_processor(dialect)
    if proc is None or not isinstance(type_, (DateTime, UTCDateTime, Numeric, Integer, String)):
        return proc
    cache: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            out = cache[value] = proc(value)
            return out
        except TypeError:  # unhashable
            return proc(value)

    return run


def bulk_insert(session: Session, table: Any, rows: list[dict[str, Any]], chunk: int = 5000) -> None:
    """Insert many rows through the driver's executemany, with SQLAlchemy's type
    processing applied once per column instead of its per-row machinery.

    Every row must carry the same keys. This is the import hot path: on 100,000
    items it is several times faster than `session.execute(insert(table), rows)`.
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    keys = list(rows[0])
    compiled = table.insert().compile(dialect=dialect, column_keys=keys)
    ordered = list(compiled.positiontup) if compiled.positional else keys
    procs = [(i, p) for i, k in enumerate(ordered) if (p := _memoised(table.c[k].type, dialect))]
    getter = itemgetter(*ordered)
    params: list[Any] = []
    for r in rows:
        values = list(getter(r))
        for i, p in procs:
            values[i] = p(values[i])
        params.append(tuple(values) if compiled.positional else dict(zip(ordered, values, strict=True)))
    sql = str(compiled)
    for i in range(0, len(params), chunk):
        conn.exec_driver_sql(sql, params[i : i + chunk])


def drop_schema(engine: Engine) -> None:
    """Remove every examvault table (a failed init or restore leaves the database empty)."""
    from examvault.schema import metadata

    with engine.begin() as conn:
        metadata.drop_all(conn)
        if inspect(conn).has_table("alembic_version"):
            conn.exec_driver_sql("DROP TABLE alembic_version")

"""Opening the database: engine, SQLite pragmas, and schema migrations (Alembic).

SQLite is the embedded default; any SQLAlchemy URL works (PostgreSQL for a lab's shared server).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from evtrack.errors import RefreshLockedError, StoreError
from evtrack.lock import POLL_SECONDS, refresh_lock, sqlite_file, sqlite_uri
from evtrack.resources import migrations_dir

#: How long opening a database waits for another process that is migrating it (seconds).
MIGRATION_WAIT = 120.0
#: Page cache of each SQLite connection, MiB, and the WAL size (pages) that sets off a
#: checkpoint (see _sqlite_pragmas).
CACHE_MIB = 8
WAL_CHECKPOINT_PAGES = 10_000
#: How long a SQLite connection waits for another writer before failing.
BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; the schema relies on them (cascades).
    cur.execute("PRAGMA foreign_keys=ON")
    # WAL lets reports read while a refresh writes; busy_timeout waits instead of failing at once.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    # A page cache of CACHE_MIB instead of SQLite's 2 MiB: the secondary indexes an ingest
    # writes to (cited PMIDs, MeSH descriptors) take their keys in no order, and with 2 MiB
    # nearly every insert into them missed the cache once a store held some 100 k papers.
    # Filled only as pages are read, so a small store never uses it. And a checkpoint every
    # WAL_CHECKPOINT_PAGES pages (40 MB of log on disk) instead of every 1,000: a batch of
    # 500 records writes about 1,000 pages, so each commit paid a checkpoint that wrote the
    # same index pages back again. 200,000 generated records (bench/ingest.py's worker, one
    # run each): 153.8 s as SQLite ships, 140.7 s with the cache, 128.3 s with both.
    cur.execute(f"PRAGMA cache_size=-{CACHE_MIB * 1024}")
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
    cur.close()


def display_url(url: str) -> str:
    """``url`` fit to print or log: a password in it is shown as ``***``.

    A lab's server URL may carry the role's password; messages and ``evtrack status`` must not.
    """
    try:
        parsed = make_url(url)
        # Unchanged when there is nothing to hide: rendering would percent-encode ?host=/run/…
        return url if parsed.password is None else parsed.render_as_string(hide_password=True)
    except ArgumentError:  # not parseable as a URL: mask what looks like user:password@
        return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite files the parent directory is created."""
    try:
        engine = create_engine(url, future=True)
    except ArgumentError as exc:
        raise StoreError(f"cannot use database URL {display_url(url)!r}: {exc}") from exc
    except ModuleNotFoundError as exc:
        hint = " (pip install 'evtrack[postgres]')" if url.startswith("postgres") else ""
        raise StoreError(f"cannot use database URL {display_url(url)!r}: its driver is not "
                         f"installed: {exc}{hint}") from exc
    if engine.dialect.name == "sqlite":
        database = sqlite_file(engine)
        # A URI filename (``file:…?uri=true``, which may ask for read-only) is opened as named.
        if database is not None and not sqlite_uri(engine):
            database.parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


def head_revision() -> str:
    """The newest schema revision this version of evtrack knows."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; refuse a database from a newer evtrack."""
    cfg = _alembic_config()
    script = ScriptDirectory.from_config(cfg)
    deadline = time.monotonic() + MIGRATION_WAIT
    while True:
        try:
            current = current_revision(engine)
            break
        except OperationalError as exc:
            # Two processes opening one new SQLite file at once: the one that did not switch
            # it to WAL can be told "locked" at once, without a busy wait (about one start in
            # ten in test_two_refreshes_started_together_on_a_new_database). Ask again.
            if "database is locked" in str(exc.orig) and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
                continue
            # One line: psycopg's message goes on with "\n\tIs the server running on that host…".
            reason = " ".join(str(exc.orig).split())
            raise StoreError(f"cannot open database {engine.url!r}: {reason}") from exc
    if current is not None:
        try:
            script.get_revision(current)
        except Exception as exc:  # alembic raises several types for an unknown revision
            raise StoreError(
                f"database {engine.url!r} has schema revision {current}, which this evtrack "
                "does not know: it was written by a newer evtrack. Upgrade evtrack to use it."
            ) from exc
    head = script.get_current_head()
    if current == head:
        return  # the usual case: no lock, no transaction, so readers never wait on a refresh
    # Two processes starting on a new database would both run CREATE TABLE: the refresh lock
    # (evtrack.lock) lets one migrate while the other waits, then finds the schema current.
    while True:
        try:
            with refresh_lock(engine), engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            return
        except RefreshLockedError:
            if time.monotonic() > deadline:
                raise
        time.sleep(POLL_SECONDS)
        if current_revision(engine) == head:
            return


def open_store(url: str, *, migrate: bool = True) -> Engine:
    """Open (and by default migrate) the database at ``url``."""
    engine = create_db_engine(url)
    if migrate:
        upgrade(engine)
    elif current_revision(engine) != head_revision():
        raise StoreError(
            f"database {engine.url!r} is not initialised or not up to date: run `evtrack init`"
        )
    return engine


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one committed state of the database.

    Reports and exports read a dozen tables; while a refresh commits batch after batch, reading
    them statement by statement could mix two states (links from after a commit, judgements
    from before it). Nothing is written through this connection, and it never waits for a
    writer: SQLite in WAL mode and PostgreSQL both serve snapshots without locking.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            # pysqlite opens no transaction for a SELECT, so each statement would see the
            # newest commit; an explicit BEGIN pins one WAL snapshot at the first read.
            conn.exec_driver_sql("BEGIN")
        elif engine.dialect.name == "postgresql":
            # READ COMMITTED (the default) takes a new snapshot per statement.
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            yield conn
        finally:
            conn.rollback()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)

"""Opening the database: engine, SQLite pragmas, and schema migrations (Alembic).

SQLite is the embedded default; any SQLAlchemy URL works (PostgreSQL for a lab's shared server).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from evtrack.errors import StoreError
from evtrack.resources import migrations_dir


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; the schema relies on them (cascades).
    cur.execute("PRAGMA foreign_keys=ON")
    # WAL lets reports read while a refresh writes; busy_timeout waits instead of failing at once.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite files the parent directory is created."""
    try:
        engine = create_engine(url, future=True)
    except (ArgumentError, ModuleNotFoundError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
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
    try:
        current = current_revision(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot open database {engine.url!r}: {exc.orig}") from exc
    if current is not None:
        try:
            script.get_revision(current)
        except Exception as exc:  # alembic raises several types for an unknown revision
            raise StoreError(
                f"database {engine.url!r} has schema revision {current}, which this evtrack "
                "does not know: it was written by a newer evtrack. Upgrade evtrack to use it."
            ) from exc
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


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


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)

"""Shared test fixtures.

Recorded NCBI responses and evaluation data are read from ``../shared`` next to the repository
root (never copied into the repo); the path is derived from this file, not the working directory.
"""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import URL, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool, Pool

from evtrack.testing.chaos import sqlite_backup

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures" / "entrez"


@pytest.fixture(scope="session")
def entrez_fixtures() -> Path:
    """Directory of real recorded NCBI E-utilities responses."""
    if not FIXTURES.is_dir():
        pytest.fail(f"recorded NCBI responses not found at {FIXTURES}: "
                    "../shared must sit beside the repository")
    return FIXTURES


# --- The database under test ----------------------------------------------------------------
# Every test that opens a store takes its URL from `db_url` (or `databases.create()` for a wider
# scope) instead of building a SQLite path, so `pytest --db-url URL` runs the same tests on a
# PostgreSQL server. The tests deliberately do not read EVTRACK_DB: that is the application's own
# setting, and a developer whose EVTRACK_DB names the lab's shared database must never have tests
# creating and dropping databases there.


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db-url", metavar="URL", default=None,
        help="run the tests that open a store on this PostgreSQL server: a SQLAlchemy URL "
             "(postgresql+psycopg://...) of a role allowed to CREATE DATABASE. Each such test "
             "gets a fresh database there, dropped afterwards. Default: a fresh SQLite file "
             "per test. scripts/pg starts a throwaway server.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: tests SQLite itself (pragmas, WAL, files); skipped when "
                   "--db-url selects another backend")
    url = config.getoption("--db-url")
    if url and make_url(url).get_backend_name() != "postgresql":
        raise pytest.UsageError(f"--db-url: only PostgreSQL servers are supported, not {url!r} "
                                "(SQLite is the default and needs no option)")


def _server_url(config: pytest.Config) -> URL | None:
    url = config.getoption("--db-url")
    return make_url(url) if url else None


def pytest_report_header(config: pytest.Config) -> str:
    server = _server_url(config)
    if server is None:
        return "evtrack test database: sqlite (a fresh file per test)"
    return (f"evtrack test database: postgresql at {server.render_as_string(hide_password=True)}"
            " (a fresh database per test)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _server_url(config) is None:
        return
    skip = pytest.mark.skip(reason="SQLite-only (tests SQLite itself); covered by the SQLite run")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


class DatabaseFactory:
    """Fresh, empty databases on the backend under test: SQLite files, or PostgreSQL databases
    created on the ``--db-url`` server and dropped again."""

    def __init__(self, server: URL | None, tmp: pytest.TempPathFactory) -> None:
        self._server = server
        self._tmp = tmp
        self.backend = "postgresql" if server is not None else "sqlite"
        self._admin: Engine | None = None
        self._live: set[str] = set()
        # Every DBAPI connection opened on a test database, held until the database is dropped
        # and closed then. Tests often let an engine go without dispose(); its pooled psycopg
        # connections would then be garbage-collected while open, which raises a ResourceWarning
        # that this suite (filterwarnings = error) turns into a failure of whatever test runs.
        self._opened: dict[str, list[Any]] = {}
        if server is not None:
            event.listen(Pool, "connect", self._track)

    def _track(self, dbapi_connection: Any, _record: Any) -> None:
        name = getattr(getattr(dbapi_connection, "info", None), "dbname", None)
        if name in self._live:
            self._opened.setdefault(name, []).append(dbapi_connection)

    def _admin_engine(self) -> Engine:
        assert self._server is not None
        if self._admin is None:
            # CREATE/DROP DATABASE cannot run inside a transaction block.
            self._admin = create_engine(self._server, isolation_level="AUTOCOMMIT",
                                        poolclass=NullPool)
            try:
                self._admin.connect().close()
            except OperationalError as exc:
                pytest.exit(f"--db-url: cannot connect to "
                            f"{self._server.render_as_string(hide_password=True)}: {exc.orig}",
                            returncode=pytest.ExitCode.USAGE_ERROR)
        return self._admin

    def create(self) -> str:
        """The URL of a new, empty database."""
        if self._server is None:
            return f"sqlite:///{self._tmp.mktemp('db') / 'ledger.sqlite'}"
        name = f"evtrack_test_{secrets.token_hex(6)}"
        with self._admin_engine().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self._live.add(name)
        return self._server.set(database=name).render_as_string(hide_password=False)

    def copy(self, url: str) -> str:
        """The URL of a new database holding the same rows as ``url`` (one made by
        :meth:`create`), ids and timestamps included: e.g. one copy of a prepared ledger per
        trial.

        On PostgreSQL the source becomes the new database's template, which needs it idle: its
        connections are closed first, so engines on it must not be used again.
        """
        if self._server is None:
            target = self._tmp.mktemp("db") / "ledger.sqlite"
            source_path = make_url(url).database
            assert source_path, url
            sqlite_backup(source_path, target)
            return f"sqlite:///{target}"
        source = make_url(url).database
        assert source in self._live, f"{url} was not made by this factory"
        for dbapi_connection in self._opened.pop(source, []):
            dbapi_connection.close()
        name = f"evtrack_test_{secrets.token_hex(6)}"
        with self._admin_engine().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        self._live.add(name)
        return self._server.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`create` (SQLite files go with pytest's tmp dirs)."""
        name = make_url(url).database
        if self._server is not None and name is not None and name in self._live:
            self._drop(name)

    def _drop(self, name: str) -> None:
        for dbapi_connection in self._opened.pop(name, []):
            dbapi_connection.close()
        with self._admin_engine().connect() as conn:
            # FORCE (PostgreSQL 13+) also ends sessions of subprocesses a test started.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._live.discard(name)

    def close(self) -> None:
        for name in sorted(self._live):  # left by a fixture that did not drop its database
            self._drop(name)
        if self._server is not None:
            event.remove(Pool, "connect", self._track)
        if self._admin is not None:
            self._admin.dispose()


@pytest.fixture(scope="session")
def databases(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    """Makes fresh databases on the backend under test; for fixtures wider than one test
    (``url = databases.create()`` … ``databases.drop(url)``)."""
    factory = DatabaseFactory(_server_url(request.config), tmp_path_factory)
    yield factory
    factory.close()


@pytest.fixture
def db_url(databases: DatabaseFactory) -> Iterator[str]:
    """The URL of a fresh, empty database for this test, on the backend under test."""
    url = databases.create()
    yield url
    databases.drop(url)


@pytest.fixture
def cli_db(request: pytest.FixtureRequest, databases: DatabaseFactory,
           monkeypatch: pytest.MonkeyPatch) -> str | None:
    """EVTRACK_DB for a CLI test run in-process: unset on SQLite, so the CLI's own default
    (``db/evtrack.sqlite`` under the test's working directory, which the test chdirs to a tmp
    dir) is what is tested; a fresh database on another backend. Returns what it set, if any."""
    if databases.backend == "sqlite":
        monkeypatch.delenv("EVTRACK_DB", raising=False)
        return None
    url: str = request.getfixturevalue("db_url")
    monkeypatch.setenv("EVTRACK_DB", url)
    return url


def load_migration(name: str) -> Any:
    """The migration script ``db/migrations/versions/<name>`` as a module."""
    path = Path(__file__).parents[1] / "db" / "migrations" / "versions" / name
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    """Move ``engine``'s schema up (or ``down``) to ``revision`` with evtrack's migrations,
    in one transaction."""
    from alembic import command

    from evtrack.store.db import _alembic_config

    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)

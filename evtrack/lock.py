"""The refresh lock: one writer job (refresh or ingest) per database at a time, across
processes and machines.

Two refreshes interleaving on one database would each decide what to fetch from the same
stale picture and then collide on inserting the same papers; an ingest in the middle of a
refresh would change papers under its judging and its snapshot. :func:`refresh_lock` makes the
second one wait (``wait`` seconds, telling the user once) or refuse with
:class:`~evtrack.errors.RefreshLockedError`. Readers (``report``, ``export``, ``status``) never
take it: they read committed snapshots and are not blocked.

No table is needed, so no migration:

* **SQLite file** — an OS lock (``flock``; ``msvcrt.locking`` on Windows) on a file beside the
  database, ``<database>.refresh-lock``. The holder writes its pid, host and start time into it
  so that a waiting user is told who holds it. The kernel drops the lock when the holder's
  process ends, however it ends (SIGKILL, power-off of a laptop's process), so a crash never
  leaves a stale lock to clean up. The file itself is left in place on purpose: deleting it
  would let a third process lock a fresh file while a second still waits on the old inode.
  (As with SQLite itself, network file systems may not honour the lock.)
* **PostgreSQL** — a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated
  autocommit connection held for the whole refresh; the server drops it when that connection
  dies. Advisory locks are per database, so two ledgers in two databases never wait on each
  other. The holder names itself in ``application_name``, which a waiting user is shown.
* **In-memory SQLite** — nothing to lock: no other process can see the database.
* Any other dialect — refused rather than run unprotected.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, Engine, text

from evtrack.errors import RefreshLockedError, StoreError

#: How often a waiting refresh tries the lock again (seconds).
POLL_SECONDS = 0.2

# A fixed 64-bit key in PostgreSQL's advisory-lock space, derived from a name so that it is
# recognisable and unlikely to collide with another application's keys in the same database.
PG_LOCK_KEY = int.from_bytes(hashlib.sha256(b"evtrack.refresh").digest()[:8], "big", signed=True)

Notify = Callable[[str], None]


@contextmanager
def refresh_lock(engine: Engine, *, wait: float = 0.0, notify: Notify | None = None,
                 poll: float = POLL_SECONDS, job: str = "refresh") -> Iterator[None]:
    """Hold the refresh lock of ``engine``'s database for the duration of the block.

    When another refresh holds it: with ``wait`` <= 0 raise
    :class:`~evtrack.errors.RefreshLockedError` at once; otherwise call ``notify`` once with a
    message saying who holds it, retry every ``poll`` seconds, and raise if it is still held
    after ``wait`` seconds. ``job`` ("refresh", "ingest") is what a waiting user is told the
    holder is doing.

    >>> with refresh_lock(engine, wait=60, notify=print):   # doctest: +SKIP
    ...     refresh(...)
    """
    dialect, database = engine.dialect.name, sqlite_file(engine)
    if dialect == "sqlite":
        if database is None:
            yield
            return
        with _file_lock(database, str(engine.url), wait, notify, poll, job):
            yield
    elif dialect == "postgresql":
        with _pg_lock(engine, wait, notify, poll, job):
            yield
    else:
        raise StoreError(f"evtrack cannot lock a {dialect} database against two refreshes at "
                         "once; use SQLite or PostgreSQL")


def in_memory(engine: Engine) -> bool:
    """Whether ``engine`` is an in-memory SQLite database, which no other process can open."""
    database = engine.url.database
    return engine.dialect.name == "sqlite" and (
        not database or database == ":memory:" or database.startswith("file::memory:")
        or engine.url.query.get("mode") == "memory")


def sqlite_uri(engine: Engine) -> bool:
    """Whether ``engine``'s SQLite database is named by a URI filename (``file:…?uri=true``)."""
    return str(engine.url.query.get("uri", "")).lower() in ("true", "1")


def sqlite_file(engine: Engine) -> Path | None:
    """The file holding ``engine``'s SQLite database; None in memory (or not SQLite).

    A URI filename (``sqlite:///file:/data/store.sqlite?mode=ro&uri=true``) is read as SQLite
    reads it, so a store opened both ways is the one file, with the one lock beside it.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or in_memory(engine):
        return None
    if sqlite_uri(engine) and database.startswith("file:"):
        parts = urlsplit(database)
        return Path(unquote(parts.path)) if parts.path else None
    return Path(database).expanduser()


def lock_path(database: Path) -> Path:
    """The lock file of a SQLite database file."""
    return database.with_name(database.name + ".refresh-lock")


def _acquire(try_once: Callable[[], bool], holder: Callable[[], str], what: str, wait: float,
             notify: Notify | None, poll: float) -> None:
    """Try, then (if allowed) wait and retry until ``wait`` seconds have passed."""
    if try_once():
        return
    if wait <= 0:
        raise RefreshLockedError(f"another refresh or ingest is running on {what} ({holder()}); "
                                 "try again when it has finished, or pass --wait SECONDS")
    if notify is not None:
        notify(f"Another refresh or ingest is running on {what} ({holder()}); "
               f"waiting up to {wait:g} s for it to finish…")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        if try_once():
            return
    raise RefreshLockedError(f"another refresh or ingest is still running on {what} after waiting "
                             f"{wait:g} s ({holder()})")


# -- SQLite: an OS lock on a file beside the database -------------------------------------------

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_os_lock(handle: IO[str]) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _os_unlock(handle: IO[str]) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_os_lock(handle: IO[str]) -> bool:
        # flock, not lockf: flock locks belong to the open file, so two threads of one process
        # (or two engines in one notebook) exclude each other as two processes do.
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _os_unlock(handle: IO[str]) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _holder_text(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
        return (f"evtrack {info.get('job', 'refresh')}, pid {info['pid']} on {info['host']} "
                f"since {info['since']}")
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


@contextmanager
def _file_lock(database: Path, what: str, wait: float, notify: Notify | None,
               poll: float, job: str) -> Iterator[None]:
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    # "a+" creates the file without truncating what the current holder wrote.
    with open(path, "a+", encoding="utf-8") as handle:
        _acquire(lambda: _try_os_lock(handle), lambda: _holder_text(path), what, wait, notify,
                 poll)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"job": job, "pid": os.getpid(), "host": socket.gethostname(),
                                     "since": f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"}))
            handle.flush()
            yield
        finally:
            _os_unlock(handle)


# -- PostgreSQL: a session-level advisory lock ---------------------------------------------------


def _pg_holder(conn: Connection) -> str:
    hi, lo = (PG_LOCK_KEY >> 32) & 0xFFFFFFFF, PG_LOCK_KEY & 0xFFFFFFFF
    row = conn.execute(text(
        "SELECT a.application_name, a.backend_start FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.classid = :hi AND l.objid = :lo AND l.objsubid = 1"), {"hi": hi, "lo": lo}).first()
    if row is None or not row[0]:
        return "holder unknown"
    return f"{row[0]} since {row[1]:%Y-%m-%d %H:%M:%S %Z}".strip()


@contextmanager
def _pg_lock(engine: Engine, wait: float, notify: Notify | None, poll: float,
             job: str) -> Iterator[None]:
    # Autocommit: the lock belongs to the session, and an open transaction held for the whole
    # refresh would keep VACUUM from cleaning up behind it.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        name = f"evtrack {job} (pid {os.getpid()} on {socket.gethostname()})"[:63]
        conn.execute(text("SELECT set_config('application_name', :name, false)"),
                     {"name": name})

        def try_once() -> bool:
            return bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                    {"key": PG_LOCK_KEY}))

        what = engine.url.render_as_string(hide_password=True)
        _acquire(try_once, lambda: _pg_holder(conn), what, wait, notify, poll)
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})

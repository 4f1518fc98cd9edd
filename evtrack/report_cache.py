"""The summary report, kept in the store for as long as the ledger does not change.

``build_report(full=False)`` — the terminal table and the claims CSV — reads every link's
counts and scores every claim: at a thousand claims and a million links that is tens of
seconds, every time, although the ledger changes only when something writes to it. So the
report is kept in ``report_cache`` with the ledger *generation* it was computed at, and served
again while the generation is the same; so are its two renderings, the terminal table and the
claims CSV, which depend on nothing else (a kept table prints without decoding the report).

Why this cannot serve a stale report: the generation is bumped by database triggers on every
write to a table the report reads (migration 0004), in the writer's own transaction, whoever the
writer is. It is read *before* the report is built, so a write that lands while building makes
the stored generation older than the ledger, and the next report is built afresh. What else
decides the figures is in the key: the priors (their full contents, not their file name),
evtrack's version (the judge's measured error rates, the scorer) and this module's format. A
payload that does not decode is rebuilt and replaced. Writing the cache is best effort: a
read-only or busy database still gets its report, just not kept.

The payload is JSON with the report's own dataclasses tagged by name and rebuilt from an
allowlist (never pickle: a team's database is shared, and loading it must not run code).
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import DBAPIError

from evtrack import __version__
from evtrack.chain import ChainPath, ChainReport, Questioning
from evtrack.reliability import JudgeReliability, TierEstimate
from evtrack.render import render
from evtrack.report import (
    CitedStatus,
    ClaimReport,
    ClaimSummary,
    CuratedStatus,
    LinkRow,
    Report,
    build_report,
)
from evtrack.scoring import Certainty, Contribution, GroupBelief, Priors, Score, default_priors
from evtrack.store import ledger
from evtrack.store.db import BUSY_TIMEOUT_MS
from evtrack.store.models import ReportCache

#: How long keeping a report may wait for SQLite's writer lock (then the store's usual
#: ``busy_timeout`` is restored on the pooled connection).
WRITE_WAIT_MS = 200
#: Bump when the payload's shape or the report's dataclasses change.
FORMAT = 2
#: The classes a payload may name; nothing else is ever built from one.
CLASSES: dict[str, type] = {cls.__name__: cls for cls in (
    Report, ClaimReport, ClaimSummary, LinkRow, CitedStatus, CuratedStatus, Score, Contribution,
    GroupBelief, Certainty, ChainReport, ChainPath, Questioning, JudgeReliability, TierEstimate)}

#: Per class, the positions of its fields declared as tuples.
TUPLE_FIELDS: dict[str, frozenset[int]] = {
    name: frozenset(i for i, f in enumerate(dataclasses.fields(cls))
                    if str(f.type).startswith("tuple"))
    for name, cls in CLASSES.items()}
#: ``"@Name"`` → (class, field names in order, tuple fields' positions).
_BUILDERS: dict[str, tuple[type, tuple[str, ...], frozenset[int]]] = {
    "@" + name: (cls, tuple(f.name for f in dataclasses.fields(cls)), TUPLE_FIELDS[name])
    for name, cls in CLASSES.items()}


#: The exact types :func:`encode` passes through (subclasses take the slower, checked path).
_SCALARS: frozenset[type] = frozenset({type(None), bool, int, float, str})
#: Class → (tag, field names in order, tuple fields' positions), for :func:`encode`.
_ENCODERS: dict[type, tuple[str, tuple[str, ...], frozenset[int]]] = {
    cls: (tag, names, tuples) for tag, (cls, names, tuples) in _BUILDERS.items()}


class PayloadError(ValueError):
    """A cached payload that does not decode into a report."""


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data that :func:`decode` turns back into an equal value.

    Every value that is not a JSON scalar or list becomes a one-key object: a dataclass
    ``{"@Name": [field values in order]}``, a tuple ``{"@t": [...]}``, a mapping
    ``{"@d": [[key, value], ...]}``, a datetime or date ``{"@dt"|"@date": "ISO"}``. Positional
    fields keep a hundred thousand links small, and :func:`decode` rebuilds them in
    ``json.loads``' object hook, with no second walk over the tree. A field declared a tuple
    (``LinkRow.authors``) is written as a plain list and made a tuple again by its class's
    :data:`TUPLE_FIELDS`: a third of a million fewer objects to read back."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    known = _ENCODERS.get(kind)
    if known is not None:  # a report dataclass: most of the tree, so scalars skip the call
        tag, names, tuples = known
        out: list[Any] = []
        for i, name in enumerate(names):
            v = getattr(value, name)
            if type(v) in _SCALARS:
                out.append(v)
            elif i in tuples and type(v) is tuple:
                out.append([x if type(x) in _SCALARS else encode(x) for x in v])
            else:
                out.append(encode(v))
        return {tag: out}
    if kind is list:
        return [x if type(x) in _SCALARS else encode(x) for x in value]
    if isinstance(value, bool | int | float | str):  # a subclass of one (an enum, say)
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        raise TypeError(f"cannot cache a {type(value).__qualname__}")
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {"@dt": value.isoformat()}
    if isinstance(value, date):
        return {"@date": value.isoformat()}
    if isinstance(value, tuple):
        return {"@t": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {"@d": [[encode(k), encode(v)] for k, v in value.items()]}
    raise TypeError(f"cannot cache a {type(value).__qualname__}")


def _rebuild(obj: dict[str, Any]) -> Any:
    if len(obj) != 1:
        raise PayloadError("a cached report's object has more than one key")
    tag, inner = next(iter(obj.items()))
    known = _BUILDERS.get(tag)
    if known is not None:  # a report dataclass, the common case
        cls, names, tuples = known
        if len(inner) != len(names):
            raise PayloadError(f"a cached {cls.__name__} has {len(inner)} fields, "
                               f"not {len(names)}")
        for i in tuples:
            if type(inner[i]) is list:
                inner[i] = tuple(inner[i])
        # What the generated __init__ would do (these have no __post_init__), without its
        # object.__setattr__ per field of a frozen class: a fifth of a second per 100,000.
        made: Any = object.__new__(cls)
        made.__dict__.update(zip(names, inner, strict=True))
        return made
    if tag == "@t":
        return tuple(inner)
    if tag == "@d":
        return {k: v for k, v in inner}
    if tag == "@dt":
        return datetime.fromisoformat(inner)
    if tag == "@date":
        return date.fromisoformat(inner)
    raise PayloadError(f"a cached report names {tag!r}, which is not a report type")


def decode(payload: str) -> Any:
    """The value whose :func:`encode` was serialised as ``payload``; :class:`PayloadError`
    for anything else (bad JSON, a class not in :data:`CLASSES`, wrong fields)."""
    try:
        with no_collections():
            return json.loads(payload, object_hook=_rebuild)
    except PayloadError:
        raise
    except (TypeError, ValueError, IndexError) as exc:  # JSONDecodeError is a ValueError
        raise PayloadError(f"cached report does not decode: {exc}") from exc


@contextmanager
def no_collections() -> Iterator[None]:
    """No garbage collection while a report is built, encoded or decoded: hundreds of
    thousands of new objects that all live on, so every collection walks a growing heap for
    nothing (encoding the 1M-link bench report: 5.1 s with collections, 1.2 s without)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def cache_key(priors: Priors, kind: str = "report") -> str:
    """What besides the ledger decides a kept entry: its kind (the report, or one rendering of
    it), the priors, evtrack's version and the payload's format."""
    basis = json.dumps([FORMAT, __version__, kind, encode_priors(priors)], sort_keys=True)
    return hashlib.sha256(basis.encode()).hexdigest()


def encode_priors(priors: Priors) -> Any:
    return {f.name: (dict(v) if isinstance(v, Mapping) else v)
            for f in dataclasses.fields(priors) for v in [getattr(priors, f.name)]}


def generation(engine: Engine) -> int:
    """The ledger's generation now (migration 0004's triggers bump it on every write)."""
    with engine.connect() as conn:
        return ledger.generation(conn)


def _kept(engine: Engine, key: str) -> tuple[int, str | None]:
    """The ledger's generation now, and the payload kept under ``key`` if it was made at it."""
    with engine.connect() as conn:
        now = ledger.generation(conn)
        kept = conn.execute(select(ReportCache.generation, ReportCache.payload)
                            .where(ReportCache.key == key)).first()
    return now, (kept.payload if kept is not None and kept.generation == now else None)


def summary_report(engine: Engine, priors: Priors | None = None) -> Report:
    """``build_report(engine, priors=priors, full=False)`` for every claim: the kept one when
    the ledger has not changed since it was built, else built now and kept."""
    priors = priors or default_priors()
    key = cache_key(priors)
    now, payload = _kept(engine, key)
    if payload is not None:
        try:
            report = decode(payload)
        except PayloadError:
            report = None
        if isinstance(report, Report):
            return dataclasses.replace(report, generated_at=datetime.now())
    with no_collections():
        report = build_report(engine, priors=priors, full=False)
        payload = json.dumps(encode(report), separators=(",", ":"))
    store(engine, key, now, payload)
    return report


def rendered_summary(engine: Engine, fmt: str, *, details: bool = True,
                     priors: Priors | None = None) -> str:
    """``render(summary_report(engine, priors), fmt, details=details)`` for the terminal table
    or the claims CSV (``fmt`` "table" or "csv"), kept as text too: both depend on nothing but
    the report, so a ledger that has not changed is reported without decoding the report."""
    if fmt not in ("table", "csv"):
        raise ValueError(f"only the table and the claims CSV are kept, not {fmt!r}")
    priors = priors or default_priors()
    key = cache_key(priors, f"text:{fmt}:{'details' if details else 'summary'}")
    now, text = _kept(engine, key)
    if text is None:
        text = render(summary_report(engine, priors), fmt, details=details)
        store(engine, key, now, text)
    return text


def store(engine: Engine, key: str, at_generation: int, payload: str) -> bool:
    """Keep ``payload`` as made at ``at_generation``; False when the store refused the write
    (read-only, or busy): it is then simply not kept.

    A report never waits for a refresh: on SQLite, where one writer at a time holds the
    database, the write gives up after :data:`WRITE_WAIT_MS` instead of the usual 30 s."""
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={WRITE_WAIT_MS}")
                conn.commit()  # ends SQLAlchemy's autobegun transaction (pysqlite began none)
            try:
                with conn.begin():
                    conn.execute(delete(ReportCache).where(ReportCache.key == key))
                    conn.execute(insert(ReportCache).values(
                        key=key, generation=at_generation, created_at=datetime.now(),
                        payload=payload))
            finally:
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                    conn.commit()
    except DBAPIError:
        return False
    return True


def forget(engine: Engine) -> None:
    """Drop every kept report and rendering (the next report is built afresh)."""
    with engine.begin() as conn:
        conn.execute(delete(ReportCache))

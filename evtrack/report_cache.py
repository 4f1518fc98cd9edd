"""The summary report, kept in the store: whole while the ledger does not change, claim by
claim when it does.

``build_report(full=False)`` — the terminal table and the claims CSV — reads every link's
counts and scores every claim: at a thousand claims and a million links that is tens of
seconds, although the ledger changes only when something writes to it, and a write mostly
touches a few claims. So the report is kept in two layers:

* **the whole**, in ``report_cache``, with the ledger *generation* it was assembled at (bumped
  by migration 0004's triggers on every write to a table the report reads): served again while
  the generation is the same. So are its two renderings, the terminal table and the claims
  CSV, which depend on nothing else (a kept table prints without decoding the report);
* **one part per claim**, in ``report_parts``: its :class:`ClaimSummary`, the generation it was
  built at, and a fingerprint of the automatic judges' error rates it was scored with. After a
  write, :func:`summary_report` builds only the claims whose part is missing or stale, and
  reuses the others. A part's links (half of what there is to decode) are read only when
  something uses them (:func:`encode_part`); the table and the claims CSV do not;
* **links.csv claim by claim**, in ``export_parts`` (migration 0007), checked the same way:
  ``evtrack export --csv-only`` writes the kept rows of every claim no write has touched
  (:func:`kept_export_parts`), and with the ledger unchanged writes claims.csv and links.csv
  without decoding the report at all (:func:`kept_export`).

Why this cannot serve a stale report. Migration 0006's triggers mark every claim a write can
change — its claim row, queries, edges, cited and curated references, links, their
judgements and verdicts, and the papers it links with their authors and corrections — with the
writing transaction's generation (newer than any snapshot that does not see the write), in
that transaction, whoever the writer is. A part is reused only while its claim's mark is not
newer than the part. Marks and parts are read in the report's own snapshot, the one its
generation comes from, so a write that lands while building leaves a newer mark and the next
report builds that claim again. What a claim's score takes from the
other claims — the judges' error rates, re-learnt from every verdict — is the part's
fingerprint, checked against the judges the new report computes; what else decides the
figures is in the key: the priors (their full contents, not their file name), evtrack's
version and this module's format. A part or payload that does not decode is rebuilt and
replaced. Writing is best effort: a read-only or busy database still gets its report, just
not kept.

The payload is JSON with the report's own dataclasses tagged by name and rebuilt from an
allowlist (never pickle: a team's database is shared, and loading it must not run code).
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy.exc import DBAPIError

from evtrack import __version__
from evtrack.chain import ChainPath, ChainReport, Questioning
from evtrack.links_stream import Packed
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
from evtrack.store.db import BUSY_TIMEOUT_MS, read_snapshot
from evtrack.store.models import ClaimMark, ExportPart, ReportCache, ReportPart

#: How long keeping a report may wait for SQLite's writer lock (then the store's usual
#: ``busy_timeout`` is restored on the pooled connection).
WRITE_WAIT_MS = 200
#: Bump when the payload's shape or the report's dataclasses change.
FORMAT = 4
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
def no_collections(*, freeze: bool = False) -> Iterator[None]:
    """No garbage collection while a report is built, encoded or decoded: hundreds of
    thousands of new objects that all live on, so every collection walks a growing heap for
    nothing (encoding the 1M-link bench report: 5.1 s with collections, 1.2 s without).

    With ``freeze`` (:func:`summary_report`, whose report lives on) they are frozen
    (:func:`gc.freeze`) on the way out, before collection resumes: else the first young
    collection walks every one of them (0.3 s after decoding a thousand kept claims), and
    rendering the report pays again. They are acyclic and die by reference counting as ever;
    a reference cycle made inside waits for the next freezing report, which unfreezes what
    this one froze and collects once before it begins (a process that reports once, the CLI,
    never pays that)."""
    collecting = gc.isenabled()
    if collecting and freeze and _frozen:
        _frozen.clear()
        gc.unfreeze()
        gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if freeze:
                gc.freeze()
                # Not gc.get_freeze_count(): it counts the frozen objects one by one (0.12 s in
                # the refresh benchmark's process).
                _frozen.append(True)
            gc.enable()


#: Whether :func:`no_collections` froze the heap and has not unfrozen it since.
_frozen: list[bool] = []


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


def _kept(engine: Engine, key: str) -> str | None:
    """The payload kept under ``key`` if it was made at the ledger's generation now."""
    with engine.connect() as conn:
        return _kept_at(conn, key, ledger.generation(conn))


def _kept_at(conn: Connection, key: str, now: int) -> str | None:
    return conn.scalar(select(ReportCache.payload)
                       .where(ReportCache.key == key, ReportCache.generation == now))


def _head(snapshot: Connection, key: str, now: int) -> tuple[Report, list[str], str] | None:
    """The kept report's head if it was assembled at generation ``now``: the report without
    its claims, their order, and the judges' fingerprint."""
    payload = _kept_at(snapshot, key, now)
    if payload is None:
        return None
    try:
        shell, order, judges = decode(payload)
    except (PayloadError, TypeError, ValueError):
        return None
    if not isinstance(shell, Report) or not isinstance(order, list):
        return None
    return shell, order, judges


def _in_order(parts: Mapping[str, Any], order: list[str]) -> list[Any] | None:
    """``parts`` in ``order``, or None when one is missing."""
    return [parts[cid] for cid in order] if all(cid in parts for cid in order) else None


def judges_fingerprint(judges: list[JudgeReliability]) -> str:
    """What a claim's score takes from outside the claim, besides the priors in the key: the
    automatic judges' error rates, re-learnt from every verdict in the store."""
    return hashlib.sha256(json.dumps(encode(judges), separators=(",", ":")).encode()).hexdigest()


def _fresh(marks: Mapping[str, int], claim_id: str, generation: int) -> bool:
    """Whether a part of ``claim_id`` read at ``generation`` saw every write that marked it
    (migration 0006: a mark is newer than every snapshot that missed its write)."""
    return marks.get(claim_id, -1) <= generation


def _marks(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(select(ClaimMark.claim_id, ClaimMark.generation)).all())


def _parts(conn: Connection, key: str, judges: str) -> dict[str, ClaimReport]:
    """The kept claim parts under ``key`` that ``conn``'s snapshot would build again as they
    are: scored with these ``judges``, and no write has marked their claim since the snapshot
    they were read in (migration 0006: a mark is newer than every snapshot that missed its
    write, so a mark at or before the part's generation is a write the part saw)."""
    marks = _marks(conn)
    rows = [(cid, payload) for cid, generation, fingerprint, payload in conn.execute(
        select(ReportPart.claim_id, ReportPart.generation, ReportPart.judges, ReportPart.payload)
        .where(ReportPart.key == key)).all()
        if fingerprint == judges and _fresh(marks, cid, generation)]
    split = [payload.partition("\n") for _cid, payload in rows]
    try:  # one parse for all of them; part by part only when one is damaged
        heads = decode("[" + ",".join(head for head, _nl, _links in split) + "]")
        decoded = [_part(head, links) for head, (_h, _nl, links) in zip(heads, split,
                                                                        strict=True)]
    except PayloadError:
        decoded = [decode_part(payload) for _cid, payload in rows]
    return {cid: part for (cid, _payload), part in zip(rows, decoded, strict=True)
            if part is not None and part.id == cid}


#: Where :class:`ClaimSummary`'s links are among its fields.
_LINKS = [f.name for f in dataclasses.fields(ClaimSummary)].index("links")


def encode_part(claim: ClaimSummary) -> str:
    """A claim's part as kept: on its first line its summary without the links, the links
    the table and the claims CSV name (:meth:`ClaimSummary.shown`) and a CRC of the second
    line, the links; :func:`_part` reads that line only when the links are used (they are
    half of what there is to decode, and a report after a write seldom needs them)."""
    face = encode(claim)
    fields = face["@ClaimSummary"]
    links = json.dumps(fields[_LINKS], separators=(",", ":"))
    fields[_LINKS] = None
    cited = {x.pmid for x in claim.cited}
    shown = [r for r in claim.links if r.retracted or r.pmid in cited]
    return json.dumps([face, encode(shown), zlib.crc32(links.encode())],
                      separators=(",", ":")) + "\n" + links


def decode_part(payload: str) -> ClaimSummary | None:
    """The part :func:`encode_part` wrote as ``payload``, its links read on first use; None
    when it is not one."""
    head, _newline, links = payload.partition("\n")
    try:
        return _part(decode(head), links)
    except PayloadError:
        return None


def _part(head: Any, links: str) -> ClaimSummary | None:
    """The part :func:`encode_part` wrote, from its decoded first line and its second line,
    its links left to be read on first use; None when it is not one."""
    if not (type(head) is list and len(head) == 3 and type(head[0]) is ClaimSummary
            and type(head[1]) is list and head[0].__dict__.get("links", ()) is None
            and head[2] == zlib.crc32(links.encode())):
        return None
    part, shown, _crc = head
    state = part.__dict__
    del state["links"]
    state["_shown"] = shown
    state["_later"] = lambda: _links(links)
    return part


def _links(text: str) -> list[LinkRow]:
    links = decode(text)
    if type(links) is not list or not all(type(r) is LinkRow for r in links):
        raise PayloadError("a kept claim's links are not links")
    return links


def _kept_report(engine: Engine, key: str) -> Report | None:
    """The kept report if it was assembled at the ledger's generation now, and every part it
    lists is still good."""
    with read_snapshot(engine) as snapshot:
        head = _head(snapshot, key, ledger.generation(snapshot))
        if head is None:
            return None
        shell, order, judges = head
        claims = _in_order(_parts(snapshot, key, judges), order)
    return None if claims is None else dataclasses.replace(shell, claims=claims)


def summary_report(engine: Engine, priors: Priors | None = None) -> Report:
    """``build_report(engine, priors=priors, full=False)`` for every claim: the kept one when
    the ledger has not changed since it was assembled; else the claims no write has touched
    since their parts were kept are reused, the others are built, and the whole is kept."""
    priors = priors or default_priors()
    key = cache_key(priors)
    with no_collections(freeze=True):
        report = _kept_report(engine, key)
        if report is not None:
            return dataclasses.replace(report, generated_at=datetime.now())
        reused: dict[str, ClaimReport] = {}

        def kept(conn: Connection, judges: list[JudgeReliability]) -> dict[str, ClaimReport]:
            reused.update(_parts(conn, key, judges_fingerprint(judges)))
            return reused

        report = build_report(engine, priors=priors, full=False, kept=kept)
        judges = judges_fingerprint(report.judges)
        built = [(c.id, encode_part(c)) for c in report.claims
                 if c.id not in reused and isinstance(c, ClaimSummary)]
        head = json.dumps(encode([dataclasses.replace(report, claims=[]),
                                  [c.id for c in report.claims], judges]),
                          separators=(",", ":"))
    assert report.generation is not None
    _store_parts(engine, key, report.generation, judges, head, built,
                 keep=[c.id for c in report.claims if c.id in reused])
    return report


def rendered_summary(engine: Engine, fmt: str, *, details: bool = True,
                     priors: Priors | None = None) -> str:
    """``render(summary_report(engine, priors), fmt, details=details)`` for the terminal table
    or the claims CSV (``fmt`` "table" or "csv"), kept as text too: both depend on nothing but
    the report, so a ledger that has not changed is reported without decoding the report."""
    if fmt not in ("table", "csv"):
        raise ValueError(f"only the table and the claims CSV are kept, not {fmt!r}")
    priors = priors or default_priors()
    text = _kept(engine, _text_key(priors, fmt, details))
    if text is None:
        text = keep_rendering(engine, summary_report(engine, priors), fmt, priors,
                              details=details)
    return text


def keep_rendering(engine: Engine, report: Report, fmt: str, priors: Priors, *,
                   details: bool = True) -> str:
    """``render(report, fmt, details=details)``, kept for :func:`rendered_summary` as made at
    the ledger ``report`` shows (whatever came since): ``report`` is :func:`summary_report`'s
    under ``priors``."""
    text = render(report, fmt, details=details)
    assert report.generation is not None
    store(engine, _text_key(priors, fmt, details), report.generation, text)
    return text


def _text_key(priors: Priors, fmt: str, details: bool) -> str:
    return cache_key(priors, f"text:{fmt}:{'details' if details else 'summary'}")


# --------------------------------------------------------------------------- links.csv


def kept_export_parts(conn: Connection, report: Report, priors: Priors) -> dict[str, Packed]:
    """The kept links.csv parts of ``report``'s claims (:func:`summary_report`'s under
    ``priors``) that ``conn``'s snapshot, at ``report``'s generation, would make again as they
    are: exactly as :func:`_parts` checks a report part."""
    return _export_parts(conn, _export_key(priors), judges_fingerprint(report.judges),
                         [c.id for c in report.claims])


def _export_key(priors: Priors) -> str:
    return cache_key(priors, "links.csv")


def _export_parts(conn: Connection, key: str, judges: str, claim_ids: list[str]
                  ) -> dict[str, Packed]:
    marks = _marks(conn)
    wanted = set(claim_ids)
    return {cid: (data, rows) for cid, generation, fingerprint, rows, data in conn.execute(
        select(ExportPart.claim_id, ExportPart.generation, ExportPart.judges, ExportPart.rows,
               ExportPart.data).where(ExportPart.key == key))
        if cid in wanted and fingerprint == judges and _fresh(marks, cid, generation)}


def store_export_parts(engine: Engine, report: Report, priors: Priors,
                       built: Mapping[str, Packed]) -> bool:
    """Keep the links.csv parts ``built`` for ``report`` (the others of its claims were kept
    already and stay); any other part goes, under this key or any other (other priors, an
    older format: a million links' parts are tens of megabytes, so only the latest export's
    are kept). False when the store refused."""
    assert report.generation is not None
    key, judges = _export_key(priors), judges_fingerprint(report.judges)
    keep = [c.id for c in report.claims if c.id not in built]

    def write(conn: Connection) -> None:
        conn.execute(delete(ExportPart).where(ExportPart.key != key))
        conn.execute(delete(ExportPart).where(ExportPart.claim_id.not_in(keep)))
        conn.execute(insert(ExportPart), [
            {"key": key, "claim_id": cid, "generation": report.generation, "judges": judges,
             "rows": rows, "data": data} for cid, (data, rows) in built.items()])
    return _write(engine, write)


def kept_export(engine: Engine, priors: Priors) -> tuple[str, list[Packed]] | None:
    """claims.csv's text and every claim's packed links.csv part, in the report's order, when
    all of them were kept for the ledger as it is now: ``evtrack export --csv-only`` then
    writes them without decoding the report. None when any is missing or stale."""
    with read_snapshot(engine) as snapshot:
        now = ledger.generation(snapshot)
        head = _head(snapshot, cache_key(priors), now)
        text = _kept_at(snapshot, _text_key(priors, "csv", True), now)
        if head is None or text is None:
            return None
        _shell, order, judges = head
        parts = _in_order(_export_parts(snapshot, _export_key(priors), judges, order), order)
    return None if parts is None else (text, parts)


def store(engine: Engine, key: str, at_generation: int, payload: str) -> bool:
    """Keep ``payload`` (a rendering) as made at ``at_generation``; False when the store
    refused the write (read-only, or busy): it is then simply not kept."""
    return _write(engine, lambda conn: _put(conn, key, at_generation, payload))


def _put(conn: Connection, key: str, at_generation: int, payload: str) -> None:
    conn.execute(delete(ReportCache).where(ReportCache.key == key))
    conn.execute(insert(ReportCache).values(key=key, generation=at_generation,
                                            created_at=datetime.now(), payload=payload))


def _store_parts(engine: Engine, key: str, at_generation: int, judges: str, head: str,
                 built: list[tuple[str, str]], keep: list[str]) -> bool:
    """Keep the assembled report: its head (everything but the claims, and their order) and
    the claim parts built now; the reused parts stay as they are, the rest under ``key`` go."""
    def write(conn: Connection) -> None:
        conn.execute(delete(ReportPart).where(ReportPart.key == key,
                                              ReportPart.claim_id.not_in(keep)))
        if built:
            conn.execute(insert(ReportPart), [
                {"key": key, "claim_id": cid, "generation": at_generation, "judges": judges,
                 "payload": payload} for cid, payload in built])
        _put(conn, key, at_generation, head)
    return _write(engine, write)


def _write(engine: Engine, write: Callable[[Connection], None]) -> bool:
    """Run ``write`` in one transaction; False when the store refused it.

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
                    write(conn)
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
        conn.execute(delete(ReportPart))
        conn.execute(delete(ExportPart))

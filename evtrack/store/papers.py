"""Storing and loading paper records with batched SQLAlchemy Core statements.

A record is written as one ``papers`` row plus child rows (authors, MeSH, publication types,
corrections, references). Re-storing a PMID updates it in place — the row keeps its id, so every
claim link to it survives — and a record whose content hash did not change is not rewritten.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Connection, bindparam, delete, insert, select, update

from evtrack.records import (
    AbstractSection,
    Author,
    Correction,
    MeshHeading,
    MeshQualifier,
    PaperRecord,
    PubDate,
    PublicationType,
    Reference,
)
from evtrack.store.models import (
    Paper,
    PaperAuthor,
    PaperCorrection,
    PaperMesh,
    PaperPubType,
    PaperReference,
)
from evtrack.store.rows import CHILD_COLUMNS, PAPER_CONTENT, PreparedRecord, prepare_record

# Typed as Any: the five models share paper_id/position columns but no common base class.
_CHILD_TABLES: tuple[Any, ...] = (
    PaperAuthor, PaperMesh, PaperPubType, PaperCorrection, PaperReference)


@dataclass
class StoreCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0  # older revisions than the stored one: kept out

    def add(self, other: StoreCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.stale += other.stale


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def content_hash(record: PaperRecord) -> str:
    """sha256 of everything stored of ``record``: equal records, equal hashes."""
    return prepare_record(record).digest


def store_records(conn: Connection, records: Sequence[PaperRecord], *, source: str,
                  run_id: int | None) -> StoreCounts:
    """Insert or update a batch of records in one round of executemany statements.

    The caller owns the transaction: one batch is one commit unit.
    """
    return store_prepared(conn, [prepare_record(r) for r in records], source=source,
                          run_id=run_id)


def store_prepared(conn: Connection, prepared: Sequence[PreparedRecord], *, source: str,
                   run_id: int | None) -> StoreCounts:
    """:func:`store_records` for records already turned into rows (:mod:`.rows`)."""
    counts = StoreCounts()
    rows = {r.pmid: r for r in prepared}  # the last copy of a PMID wins
    if not rows:
        return counts
    existing = {
        pmid: (pid, digest, revised)
        for pmid, pid, digest, revised in conn.execute(
            select(Paper.pmid, Paper.id, Paper.content_hash, Paper.date_revised)
            .where(Paper.pmid.in_(list(rows)))
        )
    }
    new: list[str] = []
    changed: dict[str, int] = {}  # pmid -> paper id
    for pmid, r in rows.items():
        old = existing.get(pmid)
        if old is None:
            new.append(pmid)
        elif old[1] == r.digest:
            counts.unchanged += 1
        elif _older(r.date_revised, old[2]):
            # An old local dump must not overwrite a fresher record fetched from NCBI.
            counts.stale += 1
        else:
            changed[pmid] = old[0]
    counts.new, counts.updated = len(new), len(changed)
    if not new and not changed:
        return counts

    now = utcnow()
    if new:
        _insert(conn, Paper, (*PAPER_CONTENT, *_PAPER_META, "first_run_id"),
                [(*rows[p].paper, rows[p].digest, source, run_id, now, run_id) for p in new])
    if changed:
        _update_papers(conn, [(*rows[p].paper, rows[p].digest, source, run_id, now, pid)
                              for p, pid in changed.items()])
        for table in _CHILD_TABLES:
            conn.execute(delete(table).where(table.paper_id.in_(list(changed.values()))))
    ids = dict(changed)
    if new:
        ids.update(conn.execute(select(Paper.pmid, Paper.id).where(Paper.pmid.in_(new))).all())
    for i, table in enumerate(_CHILD_TABLES):
        _insert(conn, table, ("paper_id", "position", *CHILD_COLUMNS[table.__tablename__]),
                [(pid, pos, *values) for pmid, pid in ids.items()
                 for pos, values in enumerate(rows[pmid].children[i])])
    return counts


_PAPER_META = ("content_hash", "source", "updated_run_id", "updated_at")

# Bulk writes. On SQLite the rows go straight to the driver's executemany: SQLAlchemy Core
# spends about 15 us of Python per row and per statement preparing parameters, more than
# SQLite spends writing the row, and a record has about thirty rows. Elsewhere (PostgreSQL)
# Core's executemany, which batches the rows into multi-row statements, is used as it is.

def _insert(conn: Connection, table: Any, columns: Sequence[str],
            rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        sql = (f"INSERT INTO {table.__tablename__} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' * len(columns))})")
        conn.exec_driver_sql(sql, _for_sqlite(conn, table, columns, rows))
    else:
        conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])


def _update_papers(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Rows are the content and meta values followed by the paper id."""
    columns = (*PAPER_CONTENT, *_PAPER_META)
    if conn.dialect.name == "sqlite":
        sql = f"UPDATE papers SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?"
        conn.exec_driver_sql(sql, _for_sqlite(conn, Paper, (*columns, "id"), rows))
    else:
        stmt = (update(Paper).where(Paper.id == bindparam("b_id"))
                .values({c: bindparam(f"b_{c}") for c in columns}))
        conn.execute(stmt, [{f"b_{c}": v for c, v in zip((*columns, "id"), r, strict=True)}
                            for r in rows])


def _for_sqlite(conn: Connection, table: Any, columns: Sequence[str],
                rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Apply SQLAlchemy's own conversions where a column type has one (the DateTime column's
    text format), so that rows written here read back through SQLAlchemy like any other."""
    for i, name in enumerate(columns):
        column_type = table.__table__.c[name].type
        # Booleans need none: sqlite3 stores True/False as 1/0 by itself.
        process = (None if isinstance(column_type, Boolean)
                   else column_type.bind_processor(conn.dialect))
        if process is not None:
            rows = [(*r[:i], process(r[i]), *r[i + 1:]) for r in rows]
    return rows


def _older(candidate: str | None, stored: str | None) -> bool:
    return bool(candidate and stored and candidate < stored)  # ISO dates compare as text


def stored_pmids(conn: Connection, pmids: Iterable[str] | None = None) -> set[str]:
    """PMIDs already in the store (all of them, or those among ``pmids``)."""
    stmt = select(Paper.pmid)
    if pmids is not None:
        wanted = list(pmids)
        found: set[str] = set()
        for i in range(0, len(wanted), 500):
            found.update(conn.scalars(stmt.where(Paper.pmid.in_(wanted[i:i + 500]))))
        return found
    return set(conn.scalars(stmt))


def load_records(conn: Connection, pmids: Iterable[str] | None = None,
                 batch: int = 500, *, references: bool = True) -> Iterator[PaperRecord]:
    """Rebuild PaperRecords from the store (all papers, or the given PMIDs), in PMID order.

    ``references=False`` leaves out the reference lists and comments/corrections, the largest
    tables, for callers that only search the records (a third of the time of a full load).
    """
    if pmids is None:
        wanted: list[str] = list(conn.scalars(select(Paper.pmid).order_by(Paper.pmid)))
    else:
        wanted = sorted(set(pmids))
    for i in range(0, len(wanted), batch):
        chunk = wanted[i:i + batch]
        papers = conn.execute(select(Paper).where(Paper.pmid.in_(chunk))).mappings().all()
        by_id = {p["id"]: p for p in papers}
        children: dict[Any, dict[int, list[Any]]] = {t: {} for t in _CHILD_TABLES}
        for table in _CHILD_TABLES:
            if not references and table in (PaperReference, PaperCorrection):
                continue
            rows = conn.execute(
                select(table).where(table.paper_id.in_(list(by_id)))
                .order_by(table.paper_id, table.position)
            ).mappings().all()
            grouped: dict[int, list[Any]] = {}
            for row in rows:
                grouped.setdefault(row["paper_id"], []).append(row)
            children[table] = grouped
        for p in sorted(papers, key=lambda p: p["pmid"]):
            yield _record_from_rows(p, {t: children[t].get(p["id"], []) for t in _CHILD_TABLES})


def _record_from_rows(p: Any, kids: dict[type, list[Any]]) -> PaperRecord:
    return PaperRecord(
        pmid=p["pmid"],
        title=p["title"],
        abstract_sections=tuple(
            AbstractSection(text=text, label=label, category=cat)
            for label, cat, text in json.loads(p["abstract_json"])
        ),
        journal=p["journal"], journal_iso=p["journal_iso"], volume=p["volume"],
        issue=p["issue"], pages=p["pages"],
        pub_date=PubDate(year=p["pub_year"], month=p["pub_month"], day=p["pub_day"],
                         season=p["pub_season"], medline_date=p["medline_date"]),
        authors=tuple(
            Author(last_name=a["last_name"], fore_name=a["fore_name"], initials=a["initials"],
                   collective_name=a["collective_name"],
                   affiliations=tuple(json.loads(a["affiliations_json"])), orcid=a["orcid"])
            for a in kids[PaperAuthor]
        ),
        doi=p["doi"], pmcid=p["pmcid"],
        other_ids=tuple((k, v) for k, v in json.loads(p["other_ids_json"])),
        language=p["language"],
        mesh=tuple(
            MeshHeading(descriptor=m["descriptor"], descriptor_ui=m["descriptor_ui"],
                        major=bool(m["major"]),
                        qualifiers=tuple(MeshQualifier(name=n, ui=u, major=bool(mj))
                                         for n, u, mj in json.loads(m["qualifiers_json"])))
            for m in kids[PaperMesh]
        ),
        publication_types=tuple(PublicationType(name=t["name"], ui=t["ui"])
                                for t in kids[PaperPubType]),
        keywords=tuple(json.loads(p["keywords_json"])),
        corrections=tuple(Correction(ref_type=c["ref_type"], source=c["ref_source"],
                                     pmid=c["ref_pmid"]) for c in kids[PaperCorrection]),
        references=tuple(Reference(citation=r["citation"], pmid=r["ref_pmid"], doi=r["doi"],
                                   pmcid=r["pmcid"]) for r in kids[PaperReference]),
        status=p["status"],
        date_revised=p["date_revised"],
    )

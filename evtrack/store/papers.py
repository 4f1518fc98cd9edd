"""Storing and loading paper records with batched SQLAlchemy Core statements.

A record is written as one ``papers`` row plus child rows (authors, MeSH, publication types,
corrections, references). Re-storing a PMID updates it in place — the row keeps its id, so every
claim link to it survives — and a record whose content hash did not change is not rewritten.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from evtrack.design import classify_design
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
    return hashlib.sha256(
        json.dumps(asdict(record), sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def _paper_row(record: PaperRecord, source: str, run_id: int | None, digest: str) -> dict[str, Any]:
    design = classify_design(record)
    d = record.pub_date
    return {
        "pmid": record.pmid,
        "title": record.title,
        "abstract": record.abstract,
        "abstract_json": json.dumps(
            [[s.label, s.category, s.text] for s in record.abstract_sections], ensure_ascii=False),
        "journal": record.journal,
        "journal_iso": record.journal_iso,
        "volume": record.volume,
        "issue": record.issue,
        "pages": record.pages,
        "pub_year": d.year,
        "pub_month": d.month,
        "pub_day": d.day,
        "pub_season": d.season,
        "medline_date": d.medline_date,
        "doi": record.doi,
        "pmcid": record.pmcid,
        "language": record.language,
        "keywords_json": json.dumps(list(record.keywords), ensure_ascii=False),
        "other_ids_json": json.dumps([list(p) for p in record.other_ids], ensure_ascii=False),
        "status": record.status,
        "date_revised": record.date_revised,
        "is_retracted": record.is_retracted,
        "design_tier": design.tier,
        "design_reason": design.reason,
        "content_hash": digest,
        "source": source,
        "updated_run_id": run_id,
        "updated_at": utcnow(),
    }


def _child_rows(paper_id: int, record: PaperRecord) -> dict[type, list[dict[str, Any]]]:
    return {
        PaperAuthor: [
            {"paper_id": paper_id, "position": i, "last_name": a.last_name,
             "fore_name": a.fore_name, "initials": a.initials,
             "collective_name": a.collective_name,
             "affiliations_json": json.dumps(list(a.affiliations), ensure_ascii=False),
             "orcid": a.orcid}
            for i, a in enumerate(record.authors)
        ],
        PaperMesh: [
            {"paper_id": paper_id, "position": i, "descriptor": m.descriptor,
             "descriptor_ui": m.descriptor_ui, "major": m.major,
             "qualifiers_json": json.dumps([[q.name, q.ui, q.major] for q in m.qualifiers],
                                           ensure_ascii=False)}
            for i, m in enumerate(record.mesh)
        ],
        PaperPubType: [
            {"paper_id": paper_id, "position": i, "name": p.name, "ui": p.ui}
            for i, p in enumerate(record.publication_types)
        ],
        PaperCorrection: [
            {"paper_id": paper_id, "position": i, "ref_type": c.ref_type,
             "ref_source": c.source, "ref_pmid": c.pmid}
            for i, c in enumerate(record.corrections)
        ],
        PaperReference: [
            {"paper_id": paper_id, "position": i, "citation": r.citation, "ref_pmid": r.pmid,
             "doi": r.doi, "pmcid": r.pmcid}
            for i, r in enumerate(record.references)
        ],
    }


def store_records(conn: Connection, records: Sequence[PaperRecord], *, source: str,
                  run_id: int | None) -> StoreCounts:
    """Insert or update a batch of records in one round of executemany statements.

    The caller owns the transaction: one batch is one commit unit.
    """
    counts = StoreCounts()
    latest: dict[str, PaperRecord] = {r.pmid: r for r in records}  # last copy of a PMID wins
    existing = {
        pmid: (pid, digest, revised)
        for pmid, pid, digest, revised in conn.execute(
            select(Paper.pmid, Paper.id, Paper.content_hash, Paper.date_revised)
            .where(Paper.pmid.in_(list(latest)))
        )
    }
    new_rows, changed = [], []
    for pmid, record in latest.items():
        digest = content_hash(record)
        row = _paper_row(record, source, run_id, digest)
        if pmid not in existing:
            row["first_run_id"] = run_id
            new_rows.append(row)
        elif existing[pmid][1] == digest:
            counts.unchanged += 1
        elif _older(record.date_revised, existing[pmid][2]):
            # An old local dump must not overwrite a fresher record fetched from NCBI.
            counts.stale += 1
        else:
            changed.append((existing[pmid][0], row))
    if new_rows:
        conn.execute(insert(Paper), new_rows)
        counts.new = len(new_rows)
    for paper_id, row in changed:
        conn.execute(update(Paper).where(Paper.id == paper_id).values(**row))
    counts.updated = len(changed)

    touched = [r["pmid"] for r in new_rows] + [r["pmid"] for _, r in changed]
    if not touched:
        return counts
    ids = dict(conn.execute(select(Paper.pmid, Paper.id).where(Paper.pmid.in_(touched))).all())
    changed_ids = [pid for pid, _ in changed]
    if changed_ids:
        for table in _CHILD_TABLES:
            conn.execute(delete(table).where(table.paper_id.in_(changed_ids)))
    batched: dict[Any, list[dict[str, Any]]] = {t: [] for t in _CHILD_TABLES}
    for pmid in touched:
        for table, rows in _child_rows(ids[pmid], latest[pmid]).items():
            batched[table].extend(rows)
    for table, rows in batched.items():
        if rows:
            conn.execute(insert(table), rows)
    return counts


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
                 batch: int = 500) -> Iterator[PaperRecord]:
    """Rebuild PaperRecords from the store (all papers, or the given PMIDs), in PMID order."""
    if pmids is None:
        wanted: list[str] = list(conn.scalars(select(Paper.pmid).order_by(Paper.pmid)))
    else:
        wanted = sorted(set(pmids))
    for i in range(0, len(wanted), batch):
        chunk = wanted[i:i + batch]
        papers = conn.execute(select(Paper).where(Paper.pmid.in_(chunk))).mappings().all()
        by_id = {p["id"]: p for p in papers}
        children: dict[Any, dict[int, list[Any]]] = {}
        for table in _CHILD_TABLES:
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

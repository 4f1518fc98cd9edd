"""The stored papers as an offline corpus, answered by SQL instead of loaded into memory.

:class:`~evtrack.offline.OfflineSource` searches, fetches and follows links over its corpus.
For the papers of a large store (a review group's mirror of a topic: hundreds of thousands)
:class:`StoredCorpus` answers those questions from the database: queries through the full-text
index of :mod:`evtrack.search_index` (FTS5 on SQLite, tsvector on PostgreSQL), reference and
cited-by links through the indexed ``ref_pmid`` columns, citations through the publication
year. Only what is asked for is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy import Engine, func, select

from evtrack.querylang import Query
from evtrack.records import Author, PaperRecord, PubDate
from evtrack.search_index import StoredIndex
from evtrack.store.models import Paper, PaperAuthor, PaperCorrection, PaperReference
from evtrack.store.papers import load_records, stored_pmids

_CHUNK = 500  # ids per IN (…) list


class StoredCorpus:
    """A database's papers, searchable offline. Building it brings the search index up to
    date (the first time: the whole store is indexed, once)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.index = StoredIndex(engine)
        self.sync = self.index.sync()
        with engine.connect() as conn:
            self._size = conn.scalar(select(func.count()).select_from(Paper)) or 0

    def __len__(self) -> int:
        return self._size

    def search(self, query: Query) -> set[str]:
        return self.index.search(query)

    def having(self, pmids: Iterable[str]) -> set[str]:
        """Which of ``pmids`` are stored."""
        with self.engine.connect() as conn:
            return stored_pmids(conn, pmids)

    def dates(self, pmids: Iterable[str]) -> dict[str, tuple[PubDate, str | None]]:
        """Publication date and DateRevised of stored papers, for date-limited searches."""
        out: dict[str, tuple[PubDate, str | None]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(pmids)):
                rows = conn.execute(select(Paper.pmid, Paper.pub_year, Paper.pub_month,
                                           Paper.pub_day, Paper.date_revised)
                                    .where(Paper.pmid.in_(chunk)))
                for pmid, year, month, day, revised in rows:
                    out[pmid] = (PubDate(year, month, day), revised)
        return out

    def records(self, pmids: Iterable[str]) -> Iterator[PaperRecord]:
        with self.engine.connect() as conn:
            yield from load_records(conn, pmids)

    def references(self, pmid: str) -> set[str]:
        """What a stored paper cites: its reference list and older "Cites" corrections."""
        with self.engine.connect() as conn:
            refs = set(conn.scalars(
                select(PaperReference.ref_pmid).join(Paper, Paper.id == PaperReference.paper_id)
                .where(Paper.pmid == pmid, PaperReference.ref_pmid.is_not(None))))
            refs.update(conn.scalars(
                select(PaperCorrection.ref_pmid)
                .join(Paper, Paper.id == PaperCorrection.paper_id)
                .where(Paper.pmid == pmid, PaperCorrection.ref_type == "Cites",
                       PaperCorrection.ref_pmid.is_not(None))))
        return {r for r in refs if r}

    def cited_by(self, pmid: str) -> set[str]:
        """Stored papers that cite ``pmid`` (both through indexed ``ref_pmid`` columns)."""
        with self.engine.connect() as conn:
            citing = set(conn.scalars(
                select(Paper.pmid).join(PaperReference, PaperReference.paper_id == Paper.id)
                .where(PaperReference.ref_pmid == pmid)))
            citing.update(conn.scalars(
                select(Paper.pmid).join(PaperCorrection, PaperCorrection.paper_id == Paper.id)
                .where(PaperCorrection.ref_pmid == pmid, PaperCorrection.ref_type == "Cites")))
        return citing

    def citation_candidates(self, year: int | None) -> Iterator[PaperRecord]:
        """Stored papers of ``year`` (all papers without one) as records holding just what
        ECitMatch compares: journal, year, volume, pages and the first author."""
        stmt = (select(Paper.pmid, Paper.journal, Paper.journal_iso, Paper.volume, Paper.pages,
                       Paper.pub_year, PaperAuthor.last_name, PaperAuthor.collective_name)
                .outerjoin(PaperAuthor, (PaperAuthor.paper_id == Paper.id)
                           & (PaperAuthor.position == 0)))
        if year is not None:
            stmt = stmt.where(Paper.pub_year == year)  # indexed
        with self.engine.connect() as conn:
            for pmid, journal, iso, volume, pages, pub_year, last, collective in \
                    conn.execute(stmt):
                first = (Author(last_name=last, collective_name=collective),) if (
                    last or collective) else ()
                yield PaperRecord(pmid=pmid, title="", journal=journal, journal_iso=iso,
                                  volume=volume, pages=pages, pub_date=PubDate(pub_year),
                                  authors=first)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]

"""The offline evidence source: the same interface as live NCBI, over records held locally.

Its corpus is the bundled snapshot, any directories of PubMed XML, and the papers already in the
store (so ``evtrack ingest`` feeds later offline refreshes). PubMed query syntax is evaluated
locally by :mod:`evtrack.querylang`; ECitMatch and ELink are answered from the records' own
bibliographic fields and reference lists. The store's papers are searched in the database
itself when it can (:meth:`OfflineSource.for_store`), so a store of any size costs neither
minutes of start-up nor gigabytes of memory.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from evtrack.errors import UnsupportedQueryError
from evtrack.pubmed_xml import iter_records
from evtrack.querylang import QueryIndex, parse_query
from evtrack.records import CitationMatch, CitationQuery, PaperRecord, PubDate, SearchResult
from evtrack.sources import LINK_CITEDIN, LINK_REFS

if TYPE_CHECKING:  # the store is imported only when one is used
    from sqlalchemy import Engine

    from evtrack.store.corpus import StoredCorpus


def xml_files(paths: Iterable[str | Path]) -> list[Path]:
    """The ``*.xml`` files named, or found (recursively, sorted) in the directories named."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*.xml") if f.is_file()))
        else:
            out.append(p)
    return out


def _norm(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


class OfflineSource:
    """An :class:`~evtrack.sources.EvidenceSource` over an in-memory corpus of records and,
    optionally, the papers of a store answered from the database (``store``), whose copy of a
    PMID wins over an in-memory one."""

    name = "offline"

    def __init__(self, records: Iterable[PaperRecord], store: StoredCorpus | None = None) -> None:
        self._records: dict[str, PaperRecord] = {}
        for r in records:
            self._records[r.pmid] = r  # a later copy (e.g. a stored, fuller record) wins
        self._store = store
        if store is not None:
            for pmid in store.having(self._records):
                del self._records[pmid]
        self._index = QueryIndex(self._records.values())
        self._cited_by: dict[str, set[str]] = {}
        for r in self._records.values():
            for cited in self._refs_of(r.pmid):
                self._cited_by.setdefault(cited, set()).add(r.pmid)
        self._calls: Counter[str] = Counter()
        self.warnings: list[str] = []

    def _refs_of(self, pmid: str) -> set[str]:
        """What a paper cites: its ReferenceList, and older records' CommentsCorrections "Cites"."""
        rec = self._records.get(pmid)
        if rec is None:
            return set()
        refs = {ref.pmid for ref in rec.references if ref.pmid}
        refs.update(c.pmid for c in rec.corrections if c.ref_type == "Cites" and c.pmid)
        return refs

    @classmethod
    def for_store(cls, engine: Engine, paths: Iterable[str | Path]) -> OfflineSource:
        """Corpus = the records in these XML files and every paper in the store (which wins on
        a PMID). On SQLite with FTS5 and on PostgreSQL the stored papers stay in the database
        and are searched there (:mod:`evtrack.store.corpus`); elsewhere they are loaded and
        indexed in memory."""
        from evtrack.search_index import available

        if available(engine):
            from evtrack.store.corpus import StoredCorpus

            files = cls.from_files(paths)
            return cls(files._records.values(), store=StoredCorpus(engine))
        from evtrack.store.papers import load_records

        with engine.connect() as conn:
            stored = list(load_records(conn))
        return cls.from_files(paths, extra=stored)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path],
                   extra: Iterable[PaperRecord] = ()) -> OfflineSource:
        """Corpus = the records in these XML files, then ``extra`` (which wins on a PMID)."""
        def gen() -> Iterator[PaperRecord]:
            for f in xml_files(paths):
                yield from iter_records(f)
            yield from extra
        return cls(gen())

    def _note(self, warning: str) -> None:
        # One note per kind of approximation (the text before the first colon), not per query.
        kind = warning.split(":", 1)[0]
        if all(w.split(":", 1)[0] != kind for w in self.warnings):
            self.warnings.append(warning)

    def __len__(self) -> int:
        return len(self._records) + (len(self._store) if self._store is not None else 0)

    def search(self, query: str, *, mindate: date | None = None,
               maxdate: date | None = None, datetype: str = "pdat") -> SearchResult:
        self._calls["esearch"] += 1
        parsed = parse_query(query)
        for w in parsed.warnings:
            self._note(w)
        hits = self._index.search(parsed)
        if mindate or maxdate:
            hits = {p for p in hits if self._in_range(self._records[p].pub_date,
                                                      self._records[p].date_revised,
                                                      mindate, maxdate, datetype)}
        if self._store is not None:
            stored = self._store.search(parsed)
            if mindate or maxdate:
                dates = self._store.dates(stored)
                stored = {p for p in stored
                          if self._in_range(*dates[p], mindate, maxdate, datetype)}
            hits |= stored
        # PubMed lists newest first; PMIDs grow with time, so this is a stable stand-in.
        ordered = tuple(sorted(hits, key=int, reverse=True))
        return SearchResult(query=query, count=len(ordered), pmids=ordered, requests=0)

    @staticmethod
    def _in_range(pub_date: PubDate, date_revised: str | None, lo: date | None,
                  hi: date | None, datetype: str) -> bool:
        if datetype == "pdat":
            y = pub_date.year
            if y is None:
                return False
            # A partial date covers its whole month or year: it matches if that span overlaps.
            m_lo, m_hi = (pub_date.month,) * 2 if pub_date.month else (1, 12)
            start = date(y, m_lo, pub_date.day or 1)
            end = date(y, m_hi, pub_date.day or calendar.monthrange(y, m_hi)[1])
        elif datetype == "mdat":
            if not date_revised:
                return False
            start = end = date.fromisoformat(date_revised)
        else:
            raise UnsupportedQueryError(
                f"date type {datetype!r} is not available offline (only pdat and mdat)")
        return (lo is None or end >= lo) and (hi is None or start <= hi)

    def fetch(self, pmids: Sequence[str]) -> Iterator[PaperRecord]:
        self._calls["efetch"] += 1
        stored: dict[str, PaperRecord] = {}
        if self._store is not None:
            stored = {r.pmid: r for r in self._store.records(
                p for p in pmids if p not in self._records)}
        for p in pmids:
            if p in self._records:
                yield self._records[p]
            elif p in stored:
                yield stored[p]

    def links(self, pmids: Sequence[str], linkname: str) -> Mapping[str, tuple[str, ...]]:
        self._calls["elink"] += 1
        out: dict[str, tuple[str, ...]] = {}
        for p in pmids:
            if linkname == LINK_REFS:
                refs = self._refs_of(p)
                if self._store is not None and p not in self._records:
                    refs = self._store.references(p)
                ids = sorted(refs, key=int)
            elif linkname == LINK_CITEDIN:
                citing = set(self._cited_by.get(p, ()))
                if self._store is not None:
                    citing |= self._store.cited_by(p)
                ids = sorted(citing, key=int)
            else:
                raise UnsupportedQueryError(f"link {linkname!r} is not available offline")
            out[p] = tuple(dict.fromkeys(ids))
        return out

    def match_citations(self, citations: Iterable[CitationQuery]) -> list[CitationMatch]:
        """ECitMatch's rules, locally: journal, year, volume, first page and first author."""
        self._calls["ecitmatch"] += 1
        results = []
        for c in citations:
            found = [r for r in self._records.values() if self._cites(r, c)]
            if self._store is not None:
                found += [r for r in self._store.citation_candidates(c.year)
                          if self._cites(r, c)]
            if len(found) == 1:
                # "found-local": matched in our own corpus, which is not a check against PubMed.
                results.append(CitationMatch(c.key, found[0].pmid, "found-local"))
            else:
                results.append(CitationMatch(c.key, None, "AMBIGUOUS" if found else "NOT_FOUND"))
        return results

    @staticmethod
    def _cites(r: PaperRecord, c: CitationQuery) -> bool:
        if _norm(c.journal) not in {_norm(r.journal), _norm(r.journal_iso)}:
            return False
        if c.year is not None and r.pub_date.year != c.year:
            return False
        if c.volume and _norm(r.volume) != _norm(c.volume):
            return False
        if c.first_page and _norm((r.pages or "").split("-")[0]) != _norm(c.first_page):
            return False
        if c.author and r.authors:
            last = _norm(c.author).split(" ")[0]
            first = r.authors[0]
            if _norm(first.last_name or first.collective_name).split(" ")[0] != last:
                return False
        return True

    def request_counts(self) -> Mapping[str, int]:
        return dict(self._calls)

"""Reference-manager exports: the evidence of a report as RIS or BibTeX.

One entry per paper, whatever the number of claims it bears on; each claim it is linked to adds
a note — ``evtrack C6: supports; design tier animal-in-vivo; decided by curator (…): <why>`` —
and a keyword ``evtrack:C6:supports``, so a reference manager can filter by claim and stance.
Bibliographic fields (authors in full, journal, volume, issue, pages, DOI, PMID) come from the
stored PubMed records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from evtrack.records import Author, PaperRecord
from evtrack.report import LinkRow, Report
from evtrack.store.db import read_snapshot
from evtrack.store.papers import load_records

REFERENCE_FORMATS = ("ris", "bibtex")


@dataclass(frozen=True)
class EvidenceEntry:
    """One paper and what the report says about it, claim by claim."""

    record: PaperRecord
    links: tuple[LinkRow, ...]  # one per claim it is linked to, in report order

    @property
    def notes(self) -> list[str]:
        out = []
        for r in self.links:
            why = f": {r.rationale}" if r.rationale else ""
            flag = "; RETRACTED, counts for nothing" if r.retracted else ""
            out.append(f"evtrack {r.claim_id}: {r.stance}; design tier {r.tier}; decided by "
                       f"{r.decided_by or 'nobody yet'}{flag}{why}")
        return out

    @property
    def keywords(self) -> list[str]:
        return [f"evtrack:{r.claim_id}:{r.stance}" for r in self.links] + \
            [f"evtrack:tier:{t}" for t in dict.fromkeys(r.tier for r in self.links)]


def evidence_entries(report: Report, records: Mapping[str, PaperRecord]) -> list[EvidenceEntry]:
    """The report's papers in first-seen order, each with its links; papers missing from
    ``records`` are skipped (a report never links a paper the store lacks)."""
    links: dict[str, list[LinkRow]] = {}
    for c in report.claims:
        for r in c.links:
            links.setdefault(r.pmid, []).append(r)
    return [EvidenceEntry(records[pmid], tuple(rows)) for pmid, rows in links.items()
            if pmid in records]


def load_entries(engine: Engine, report: Report) -> list[EvidenceEntry]:
    """:func:`evidence_entries` with the records read from the store."""
    pmids = {r.pmid for c in report.claims for r in c.links}
    with read_snapshot(engine) as conn:
        records = {r.pmid: r for r in load_records(conn, pmids)}
    return evidence_entries(report, records)


def _person(a: Author, *, bibtex: bool) -> str | None:
    """``Last, First`` as both formats want it; a collective author whole (braced in BibTeX,
    so that it is not split into first and last names)."""
    if a.collective_name:
        return "{" + bib_escape(a.collective_name) + "}" if bibtex else a.collective_name
    if not a.last_name:
        return None
    name = f"{a.last_name}, {a.fore_name or a.initials}" if (a.fore_name or a.initials) \
        else a.last_name
    return bib_escape(name) if bibtex else name


def _pages(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    start, _, end = pages.partition("-")
    if end and len(end) < len(start):  # PubMed abbreviates: 1199-205 is 1199-1205
        end = start[:len(start) - len(end)] + end
    return start, end or None


# --- RIS --------------------------------------------------------------------------------------


def to_ris(entries: Iterable[EvidenceEntry]) -> str:
    """RIS (the tagged format of EndNote, Zotero, Mendeley), one ``TY … ER`` block per paper."""
    out: list[str] = []
    for x in entries:
        r = x.record

        def tag(name: str, value: object, out: list[str] = out) -> None:
            if value not in (None, ""):
                out.append(f"{name}  - {_one_line(str(value))}")

        tag("TY", "JOUR")
        tag("TI", r.title)
        for a in r.authors:
            tag("AU", _person(a, bibtex=False))
        tag("PY", r.pub_date.year)
        tag("DA", _ris_date(r))
        tag("JO", r.journal_iso or r.journal)
        tag("T2", r.journal)
        tag("VL", r.volume)
        tag("IS", r.issue)
        sp, ep = _pages(r.pages)
        tag("SP", sp)
        tag("EP", ep)
        tag("DO", r.doi)
        tag("AN", f"PMID:{r.pmid}")
        tag("UR", f"https://pubmed.ncbi.nlm.nih.gov/{r.pmid}/")
        for k in x.keywords:
            tag("KW", k)
        for n in x.notes:
            tag("N1", n)
        out.append("ER  - ")
        out.append("")
    return "\n".join(out)


def _ris_date(r: PaperRecord) -> str | None:
    d = r.pub_date
    if d.year is None:
        return None
    return f"{d.year:04d}/{f'{d.month:02d}' if d.month else ''}/{f'{d.day:02d}' if d.day else ''}/"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- BibTeX -----------------------------------------------------------------------------------

_BIB_SPECIAL = re.compile(r"([&%$#_{}])|(\\)|(~)|(\^)")


def bib_escape(text: str) -> str:
    """Escape LaTeX's special characters so the text reads back as written."""
    def sub(m: re.Match[str]) -> str:
        if m.group(1):
            return "\\" + m.group(1)
        if m.group(2):
            return r"\textbackslash{}"
        if m.group(3):
            return r"\textasciitilde{}"
        return r"\textasciicircum{}"
    return _BIB_SPECIAL.sub(sub, _one_line(text))


def to_bibtex(entries: Iterable[EvidenceEntry]) -> str:
    """BibTeX ``@article`` entries keyed ``pmid<PMID>``, UTF-8 (biber and bibtex8 read it)."""
    out: list[str] = []
    for x in entries:
        r = x.record
        fields: list[tuple[str, str | None]] = [
            ("title", "{" + bib_escape(r.title) + "}"),  # inner braces keep its capitals
            ("author", " and ".join(p for a in r.authors
                                    if (p := _person(a, bibtex=True)) is not None) or None),
            ("journal", bib_escape(r.journal_iso or r.journal or "") or None),
            ("year", str(r.pub_date.year) if r.pub_date.year else None),
            ("volume", r.volume), ("number", r.issue),
            ("pages", "--".join(p for p in _pages(r.pages) if p) or None),
            ("doi", r.doi), ("pmid", r.pmid),
            ("url", f"https://pubmed.ncbi.nlm.nih.gov/{r.pmid}/"),
            ("keywords", ", ".join(x.keywords)),
            ("note", bib_escape(" | ".join(x.notes))),
        ]
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
        out.append(f"@article{{pmid{r.pmid},\n{body}\n}}\n")
    return "\n".join(out)


def render_references(entries: Iterable[EvidenceEntry], fmt: str) -> str:
    if fmt == "ris":
        return to_ris(entries)
    if fmt == "bibtex":
        return to_bibtex(entries)
    raise ValueError(f"unknown reference format {fmt!r}")

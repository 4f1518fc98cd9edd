"""A paper record as the table rows the store writes, with its content hash.

This is the CPU-bound half of storing a record (design call, JSON columns, hash), kept free of
SQLAlchemy so that ingest's parse workers can run it next to the parser and hand the main
process rows that are ready to write (:mod:`evtrack.ingest`).
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable
from typing import Any, NamedTuple

from evtrack.design import classify_design
from evtrack.records import PaperRecord

#: The ``papers`` columns of :attr:`PreparedRecord.paper`, in order. The content hash covers
#: exactly these, the design call included: a changed classifier rewrites the papers it changes.
PAPER_CONTENT = (
    "pmid", "title", "abstract", "abstract_json", "journal", "journal_iso", "volume", "issue",
    "pages", "pub_year", "pub_month", "pub_day", "pub_season", "medline_date", "doi", "pmcid",
    "language", "keywords_json", "other_ids_json", "status", "date_revised", "is_retracted",
    "design_tier", "design_reason")
_DATE_REVISED = PAPER_CONTENT.index("date_revised")

#: Child tables and their value columns (each row also has ``paper_id`` and ``position``), in
#: the order of :attr:`PreparedRecord.children`.
CHILD_COLUMNS: dict[str, tuple[str, ...]] = {
    "paper_authors": ("last_name", "fore_name", "initials", "collective_name",
                      "affiliations_json", "orcid"),
    "paper_mesh": ("descriptor", "descriptor_ui", "major", "qualifiers_json"),
    "paper_pub_types": ("name", "ui"),
    "paper_corrections": ("ref_type", "ref_source", "ref_pmid"),
    "paper_references": ("citation", "ref_pmid", "doi", "pmcid"),
}


def _encoder() -> Callable[[Any], str]:
    """JSON text as ``json.dumps(value, ensure_ascii=False)`` writes it, at less cost per call.

    ``JSONEncoder.encode`` builds a new C encoder on every call, two thirds of the cost of
    encoding the short lists stored here (ten calls a record). This builds it once; where the
    C encoder is missing or takes other arguments, the ordinary encoder is used.
    """
    encoder = json.JSONEncoder(ensure_ascii=False)
    fallback = encoder.encode
    make = getattr(json.encoder, "c_make_encoder", None)
    basestring = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or basestring is None:
        return fallback
    try:
        # (markers, default, encoder, indent, key separator, item separator, sort_keys,
        # skipkeys, allow_nan): JSONEncoder's own defaults, without the cycle check (rows
        # hold no cycles).
        encode = make(None, encoder.default, basestring, None, ": ", ", ",
                      False, False, True)
        if "".join(encode([["\u00e9", None, 1, True], ()], 0)) != fallback(
                [["\u00e9", None, 1, True], ()]):
            return fallback
    except TypeError:
        return fallback
    join = "".join
    return lambda value: join(encode(value, 0))


_json = _encoder()


class PreparedRecord(NamedTuple):
    """A record's ``papers`` content values, its child rows' values (without the paper id and
    position) per child table, and the sha256 of all of it. A tuple: cheap to pickle between
    processes."""

    paper: tuple[Any, ...]
    children: tuple[list[tuple[Any, ...]], ...]
    digest: str

    @property
    def pmid(self) -> str:
        pmid: str = self.paper[0]
        return pmid

    @property
    def date_revised(self) -> str | None:
        revised: str | None = self.paper[_DATE_REVISED]
        return revised


def prepare_record(record: PaperRecord) -> PreparedRecord:
    """The rows of ``record`` and its content hash: equal records, equal hashes."""
    design = classify_design(record)
    d = record.pub_date
    paper = (
        record.pmid, record.title, record.abstract,
        _json([[s.label, s.category, s.text] for s in record.abstract_sections]),
        record.journal, record.journal_iso, record.volume, record.issue, record.pages,
        d.year, d.month, d.day, d.season, d.medline_date, record.doi, record.pmcid,
        record.language, _json(record.keywords), _json(record.other_ids), record.status,
        record.date_revised, record.is_retracted, design.tier, design.reason,
    )
    children = (
        [(a.last_name, a.fore_name, a.initials, a.collective_name,
          _json(a.affiliations) if a.affiliations else "[]", a.orcid) for a in record.authors],
        [(m.descriptor, m.descriptor_ui, m.major,
          _json([[q.name, q.ui, q.major] for q in m.qualifiers]) if m.qualifiers else "[]")
         for m in record.mesh],
        [(p.name, p.ui) for p in record.publication_types],
        [(c.ref_type, c.source, c.pmid) for c in record.corrections],
        [(r.citation, r.pmid, r.doi, r.pmcid) for r in record.references],
    )
    # The rows hold the whole record (load_records rebuilds it from them), so hashing their
    # JSON is hashing the record, at a tenth of the cost of json.dumps(dataclasses.asdict(r)).
    digest = hashlib.sha256(_json([paper, children]).encode()).hexdigest()
    return PreparedRecord(paper, children, digest)

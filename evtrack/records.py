"""Our own record types. Every response from NCBI or from a local file becomes these at once.

They are plain frozen dataclasses: cheap to build in the streaming parser, easy to compare in
tests, and independent of both Bio.Entrez and SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Author:
    """One entry of an AuthorList. Either a person (last/fore name) or a collective."""

    last_name: str | None = None
    fore_name: str | None = None
    initials: str | None = None
    collective_name: str | None = None
    affiliations: tuple[str, ...] = ()
    orcid: str | None = None

    @property
    def display(self) -> str:
        """``"Autry AE"`` style, as PubMed shows authors; the collective name otherwise."""
        if self.collective_name:
            return self.collective_name
        return " ".join(p for p in (self.last_name, self.initials) if p)


@dataclass(frozen=True)
class AbstractSection:
    """One ``AbstractText`` element; ``label`` is set for structured abstracts."""

    text: str
    label: str | None = None
    category: str | None = None  # NlmCategory: BACKGROUND, METHODS, RESULTS, CONCLUSIONS, …


@dataclass(frozen=True)
class MeshQualifier:
    name: str
    ui: str | None = None
    major: bool = False


@dataclass(frozen=True)
class MeshHeading:
    descriptor: str
    descriptor_ui: str | None = None
    major: bool = False  # the descriptor itself is a major topic
    qualifiers: tuple[MeshQualifier, ...] = ()

    @property
    def is_major_topic(self) -> bool:
        """PubMed's [majr]: the descriptor or any of its qualifiers is starred."""
        return self.major or any(q.major for q in self.qualifiers)


@dataclass(frozen=True)
class PublicationType:
    name: str
    ui: str | None = None


@dataclass(frozen=True)
class Correction:
    """A ``CommentsCorrections`` entry: retraction, erratum, comment, expression of concern …"""

    ref_type: str  # RetractionIn, RetractionOf, ErratumIn, CommentIn, ExpressionOfConcernIn, …
    source: str | None = None  # the citation text NCBI gives ("Nature. 2012;485(7396):E3")
    pmid: str | None = None


@dataclass(frozen=True)
class Reference:
    """One entry of the article's ReferenceList (what the paper cites)."""

    citation: str
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None


@dataclass(frozen=True)
class PubDate:
    """Publication date as PubMed gives it.

    ``medline_date`` keeps the free text (``"1998 Dec-1999 Jan"``)."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    season: str | None = None
    medline_date: str | None = None

    def iso(self) -> str | None:
        """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` from what is known, or None."""
        if self.year is None:
            return None
        out = f"{self.year:04d}"
        if self.month:
            out += f"-{self.month:02d}"
            if self.day:
                out += f"-{self.day:02d}"
        return out


@dataclass(frozen=True)
class PaperRecord:
    """Everything evtrack keeps of one PubMed article.

    ``pmid`` is a string of digits (PubMed ids are identifiers, not numbers to add up).
    ``abstract`` is the flattened text of all sections, labels included as ``LABEL: text``.
    """

    pmid: str
    title: str
    abstract_sections: tuple[AbstractSection, ...] = ()
    journal: str | None = None
    journal_iso: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    pub_date: PubDate = field(default_factory=PubDate)
    authors: tuple[Author, ...] = ()
    doi: str | None = None
    pmcid: str | None = None
    # (IdType, value) from ArticleIdList, beyond doi/pmc
    other_ids: tuple[tuple[str, str], ...] = ()
    language: str | None = None
    mesh: tuple[MeshHeading, ...] = ()
    publication_types: tuple[PublicationType, ...] = ()
    keywords: tuple[str, ...] = ()
    corrections: tuple[Correction, ...] = ()
    references: tuple[Reference, ...] = ()
    # MedlineCitation/@Status: MEDLINE, PubMed-not-MEDLINE, In-Data-Review, …
    status: str | None = None
    date_revised: str | None = None  # ISO date of DateRevised, drives "updated since" decisions

    @property
    def abstract(self) -> str:
        parts = []
        for s in self.abstract_sections:
            parts.append(f"{s.label}: {s.text}" if s.label else s.text)
        return "\n".join(parts)

    @property
    def year(self) -> int | None:
        return self.pub_date.year

    @property
    def is_retracted(self) -> bool:
        """True for a retracted paper (not for the retraction notice itself)."""
        return any(pt.name == "Retracted Publication" for pt in self.publication_types) or any(
            c.ref_type == "RetractionIn" for c in self.corrections
        )

    @property
    def is_retraction_notice(self) -> bool:
        return any(pt.name == "Retraction of Publication" for pt in self.publication_types)


@dataclass(frozen=True)
class SearchResult:
    """What a search of an evidence source gives back.

    ``count`` is the total number of hits the source reports; ``pmids`` are *all* of them
    (a source must split or page its query rather than silently cut the list).
    """

    query: str
    count: int
    pmids: tuple[str, ...]
    requests: int = 1  # how many requests the search cost (date slices, pages)


@dataclass(frozen=True)
class CitationQuery:
    """An ECitMatch-ready citation. ``key`` is echoed back with the answer."""

    key: str
    journal: str
    year: int | None = None
    volume: str | None = None
    first_page: str | None = None
    author: str | None = None  # "Seamans J"


@dataclass(frozen=True)
class CitationMatch:
    """ECitMatch's answer for one citation: a PMID, or a status such as NOT_FOUND / AMBIGUOUS."""

    key: str
    pmid: str | None
    status: str  # "found", "NOT_FOUND", "AMBIGUOUS", "INVALID_JOURNAL", …

"""The evidence-source interface: what refresh needs from NCBI or from an offline corpus.

Both :class:`evtrack.entrez.NcbiSource` (live E-utilities through Bio.Entrez) and
:class:`evtrack.offline.OfflineSource` (bundled snapshot + local PubMed XML) implement it, so
the pipeline behind it is the same online and offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Protocol

from evtrack.records import CitationMatch, CitationQuery, PaperRecord, SearchResult

#: ELink link names evtrack follows for the article's cited papers.
LINK_REFS = "pubmed_pubmed_refs"  # papers the source paper cites
LINK_CITEDIN = "pubmed_pubmed_citedin"  # papers citing the source paper
LINK_NAMES = (LINK_REFS, LINK_CITEDIN)


class EvidenceSource(Protocol):
    """Where records come from. Every method raises an EvtrackError subclass on failure:
    an empty result always means "nothing matched", never "the source failed"."""

    #: short name stored with each refresh run: "ncbi" or "offline"
    name: str

    def search(self, query: str, *, mindate: date | None = None,
               maxdate: date | None = None, datetype: str = "pdat") -> SearchResult:
        """All PMIDs matching a PubMed query (no silent cut at 10,000)."""
        ...

    def fetch(self, pmids: Sequence[str]) -> Iterator[PaperRecord]:
        """Full records for these PMIDs, in batches; ids the source does not know are skipped."""
        ...

    def links(self, pmids: Sequence[str], linkname: str) -> Mapping[str, tuple[str, ...]]:
        """For each source PMID, the PMIDs linked to it by ``linkname`` (one link set per id)."""
        ...

    def match_citations(self, citations: Iterable[CitationQuery]) -> list[CitationMatch]:
        """Resolve citations to PMIDs (ECitMatch)."""
        ...

    def request_counts(self) -> Mapping[str, int]:
        """Requests made so far, by utility (``esearch``, ``efetch``, …); zeros offline."""
        ...

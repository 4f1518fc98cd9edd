"""Claims as data: the dataclasses a claims file (``queries/*.toml``) is validated into.

Loading and validation live below the dataclasses (``load_claims``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Stances a curator or a judge may give a claim–paper link.
STANCES = ("supports", "contradicts", "mixed", "mentions", "unclear")

#: Relations a claim may state; the judge reads their direction.
RELATIONS = (
    "blocks",          # subject antagonises / inhibits object
    "activates",
    "increases",
    "decreases",
    "is_required_for",
    "is_sufficient_for",
    "causes",
    "does_not_explain",
    "binds",
)

#: PMID confidence carried from the curated bibliography.
PMID_STATUSES = ("verified", "unverified")


@dataclass(frozen=True)
class ClaimQuery:
    """One PubMed query that finds evidence for a claim."""

    name: str
    term: str


@dataclass(frozen=True)
class CitedReference:
    """A reference the article itself cites for the claim, ECitMatch-ready.

    ``pmid`` may be given; ``pmid_status`` says whether it was checked against PubMed.
    """

    key: str
    journal: str
    year: int
    volume: str | None = None
    first_page: str | None = None
    author: str | None = None  # "Seamans J": last name and initials
    pmid: str | None = None
    pmid_status: str = "unverified"
    doi: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class CuratedEvidence:
    """A curator's stance on one paper for this claim (the curator layer, like INDRA's)."""

    stance: str
    note: str
    pmid: str | None = None
    pmid_status: str = "unverified"
    doi: str | None = None
    label: str | None = None  # "Autry 2011", for people reading the file
    design: str | None = None  # curator's design tier when publication types cannot tell


@dataclass(frozen=True)
class Claim:
    """One mechanistic claim: its words, its structure and how to find evidence for it."""

    id: str
    text: str
    subject: str
    relation: str
    object: str
    context: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)  # entity -> synonyms
    queries: tuple[ClaimQuery, ...] = ()
    leads_to: tuple[str, ...] = ()  # chain edges: this claim -> those
    questions: tuple[str, ...] = ()  # this claim casts doubt on those
    cited: tuple[CitedReference, ...] = ()
    curated: tuple[CuratedEvidence, ...] = ()
    source_file: str = ""

    def terms_for(self, entity: str) -> tuple[str, ...]:
        """The entity's own name followed by its aliases."""
        return (entity, *self.aliases.get(entity, ()))


@dataclass(frozen=True)
class ClaimSet:
    """All claims loaded from one or more files, in file order."""

    claims: tuple[Claim, ...]
    files: tuple[str, ...] = ()

    def get(self, claim_id: str) -> Claim:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(claim_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.claims)

"""Citation integrity: does each paper the article cites support the claim it is cited for?

An article's references are its own evidence. For every (claim, cited reference) pair this
module reads the link's current stance — a researcher's verdict, else the curator's stance,
else the automatic judge, exactly as the report decides it — and answers in four words:

======================  =========================================================
``supports``            the cited paper supports the claim
``only partly``         mixed: it supports part of the claim, or only under conditions
``does not``            it contradicts the claim, only mentions it, or is off-topic
``not judged``          the reference was not resolved, not linked, or nobody judged it
======================  =========================================================

Caveats travel with the answer: a retracted paper, a review or commentary (it restates rather
than tests), a PMID nobody checked against PubMed, a stance only the automatic judge gave.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from evtrack.report import ClaimReport, LinkRow

#: The four answers, best first.
SUPPORTS, PARTLY, DOES_NOT, NOT_JUDGED = "supports", "only partly", "does not", "not judged"
INTEGRITY_VERDICTS = (SUPPORTS, PARTLY, DOES_NOT, NOT_JUDGED)

_BY_STANCE = {"supports": SUPPORTS, "mixed": PARTLY, "contradicts": DOES_NOT,
              "mentions": DOES_NOT, "irrelevant": DOES_NOT}
_WHY_NOT = {"contradicts": "it contradicts the claim",
            "mentions": "it mentions the claim without evidence for it",
            "irrelevant": "it does not bear on the claim"}
#: Tiers whose papers restate a finding rather than test it.
_SECONDHAND = ("review",)


@dataclass(frozen=True)
class CitationCheck:
    """One reference the article cites for one claim, and whether it holds up."""

    claim_id: str
    key: str  # the claims file's citation key: "autry2011"
    citation: str  # "Autry AE. Nature 2011;475:91"
    pmid: str | None
    resolution: str  # how the citation was resolved: found, found-local, NOT_FOUND, …
    verdict: str  # one of INTEGRITY_VERDICTS
    stance: str | None  # the link's stance, when linked
    decider: str | None  # verdict | curator | judge
    decided_by: str | None
    tier: str | None
    rationale: str | None
    caveats: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``C7 ← Autry AE. Nature 2011;475:91``."""
        return f"{self.claim_id} ← {self.citation}"

    @property
    def explanation(self) -> str:
        """One sentence a reader can act on."""
        if self.verdict == NOT_JUDGED:
            if self.stance is None:
                return f"not linked to the claim (citation {self.resolution})"
            return f"linked, but nobody judged it yet (stance {self.stance})"
        why = {SUPPORTS: "it supports the claim",
               PARTLY: "it supports the claim only in part (mixed)"}.get(
            self.verdict, _WHY_NOT.get(self.stance or "", "it does not support the claim"))
        who = f"; decided by {self.decided_by}" if self.decided_by else ""
        return why + who


def check_citations(claim: ClaimReport) -> list[CitationCheck]:
    """The integrity of every reference the article cites for ``claim``, in file order."""
    links = {r.pmid: r for r in claim.shown()}
    out = []
    for ref in claim.cited:
        row = links.get(ref.pmid or "")
        out.append(_check(claim.id, ref.key, ref.citation, ref.pmid, ref.resolution, row))
    return out


def check_all(claims: Iterable[ClaimReport]) -> list[CitationCheck]:
    return [x for c in claims for x in check_citations(c)]


def integrity_summary(checks: Iterable[CitationCheck]) -> str:
    """``"7 cited references: 5 supports, 1 only partly, 1 not judged"``."""
    checks = list(checks)
    n = Counter(x.verdict for x in checks)
    parts = ", ".join(f"{n[v]} {v}" for v in INTEGRITY_VERDICTS if n[v])
    return f"{len(checks)} cited reference{'' if len(checks) == 1 else 's'}: {parts or 'none'}"


def _check(claim_id: str, key: str, citation: str, pmid: str | None, resolution: str,
           row: LinkRow | None) -> CitationCheck:
    caveats = []
    if resolution.startswith(("NOT_FOUND", "AMBIGUOUS", "INVALID", "unresolved")) or \
            "unverified" in resolution:
        caveats.append(f"PMID not confirmed by PubMed ({resolution})")
    if row is None:
        return CitationCheck(claim_id, key, citation, pmid, resolution, NOT_JUDGED, None, None,
                             None, None, None, tuple(caveats))
    verdict = _BY_STANCE.get(row.stance, NOT_JUDGED)
    if row.retracted:
        caveats.insert(0, "retracted: it counts for nothing")
    if row.tier in _SECONDHAND and verdict in (SUPPORTS, PARTLY):
        caveats.append("a review or commentary: it restates the claim rather than tests it")
    if row.decider == "judge" and verdict != NOT_JUDGED:
        caveats.append("only the automatic judge decided this; a verdict would settle it")
    return CitationCheck(claim_id, key, citation, pmid, resolution, verdict, row.stance,
                         row.decider, row.decided_by, row.tier, row.rationale, tuple(caveats))

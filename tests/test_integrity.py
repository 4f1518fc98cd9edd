"""Citation integrity: does each reference the article cites support the claim it is cited for?"""

from __future__ import annotations

import pytest

from evtrack.integrity import (
    DOES_NOT,
    NOT_JUDGED,
    PARTLY,
    SUPPORTS,
    check_citations,
    integrity_summary,
)
from evtrack.report import CitedStatus, ClaimReport, LinkRow
from evtrack.scoring import support_score


def link(pmid: str, stance: str, decider: str = "curator", tier: str = "animal-in-vivo",
         retracted: bool = False) -> LinkRow:
    return LinkRow(claim_id="C6", pmid=pmid, title=f"Paper {pmid}", year=2011, journal="Nature",
                   doi=None, tier=tier, tier_source="curator", stance=stance, decider=decider,
                   decided_by={"curator": "curator (ketamine.toml)", "verdict": "A. Reviewer",
                               "judge": "judge cue-rules 2.0", "none": ""}[decider],
                   rationale="why", confidence=0.9, retracted=retracted, found_by=())


def cited(pmid: str | None, resolution: str = "found") -> CitedStatus:
    return CitedStatus(key=f"ref{pmid}", citation=f"Author. J 2011;{pmid}", pmid=pmid,
                       resolution=resolution, in_store=pmid is not None, stance=None,
                       decided_by=None)


def claim(links: list[LinkRow], refs: list[CitedStatus]) -> ClaimReport:
    return ClaimReport(id="C6", text="BDNF is required", subject="BDNF", relation="required",
                       object="effect", leads_to=[], questions=[], queries=[], links=links,
                       cited=refs, curated=[], score=support_score([]))


@pytest.mark.parametrize(
    ("stance", "decider", "verdict"),
    [
        ("supports", "curator", SUPPORTS),
        ("supports", "verdict", SUPPORTS),
        ("mixed", "curator", PARTLY),
        ("contradicts", "verdict", DOES_NOT),
        ("mentions", "judge", DOES_NOT),
        ("irrelevant", "verdict", DOES_NOT),
        ("unclear", "judge", NOT_JUDGED),
        ("unjudged", "none", NOT_JUDGED),
    ],
)
def test_the_answer_follows_the_links_current_stance(stance: str, decider: str,
                                                      verdict: str) -> None:
    [check] = check_citations(claim([link("1", stance, decider)], [cited("1")]))
    assert (check.verdict, check.stance, check.decider) == (verdict, stance, decider)


def test_an_unlinked_or_unresolved_reference_is_not_judged() -> None:
    checks = check_citations(claim([], [cited("2"), cited(None, "NOT_FOUND")]))
    assert [c.verdict for c in checks] == [NOT_JUDGED, NOT_JUDGED]
    assert "not linked" in checks[0].explanation
    assert any("not confirmed by PubMed" in x for x in checks[1].caveats)


def test_caveats_name_retractions_reviews_and_machine_judgements() -> None:
    checks = check_citations(claim(
        [link("1", "supports", retracted=True), link("2", "supports", tier="review"),
         link("3", "contradicts", decider="judge")],
        [cited("1"), cited("2"), cited("3")]))
    assert checks[0].caveats[0].startswith("retracted")
    assert "restates the claim" in checks[1].caveats[0]
    assert "automatic judge" in checks[2].caveats[0]
    assert checks[2].explanation.startswith("it contradicts the claim")


def test_the_summary_counts_each_answer() -> None:
    checks = check_citations(claim([link("1", "supports"), link("2", "mixed")],
                                   [cited("1"), cited("2"), cited("3")]))
    assert integrity_summary(checks) == \
        "3 cited references: 1 supports, 1 only partly, 1 not judged"
    assert checks[0].label == "C6 ← Author. J 2011;1"

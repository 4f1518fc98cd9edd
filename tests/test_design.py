"""Study design tiers: every tier and every precedence rule, then the recorded PubMed records."""

from __future__ import annotations

from pathlib import Path

import pytest

from evtrack.design import DESIGN_TIERS, TIER_LABELS, DesignCall, classify_design
from evtrack.records import MeshHeading, PaperRecord, PublicationType


def paper(
    pts: tuple[str, ...] = ("Journal Article",), mesh: tuple[str, ...] = (), title: str = "A study."
) -> PaperRecord:
    return PaperRecord(
        pmid="1",
        title=title,
        publication_types=tuple(PublicationType(n) for n in pts),
        mesh=tuple(MeshHeading(d) for d in mesh),
    )


# (case id, publication types, MeSH descriptors, title, tier, reason)
CASES = [
    # -- publication types, one per tier
    ("meta-analysis", ("Journal Article", "Meta-Analysis"), (), "A study.",
     "meta-analysis", 'publication type "Meta-Analysis"'),
    ("systematic review", ("Systematic Review",), (), "A study.",
     "meta-analysis", 'publication type "Systematic Review"'),
    ("rct", ("Journal Article", "Randomized Controlled Trial"), (), "A study.",
     "rct", 'publication type "Randomized Controlled Trial"'),
    ("phase II", ("Clinical Trial, Phase II",), (), "A study.",
     "clinical-trial", 'publication type "Clinical Trial, Phase II"'),
    ("controlled trial", ("Controlled Clinical Trial",), (), "A study.",
     "clinical-trial", 'publication type "Controlled Clinical Trial"'),
    ("pragmatic trial", ("Pragmatic Clinical Trial",), (), "A study.",
     "clinical-trial", 'publication type "Pragmatic Clinical Trial"'),
    ("observational", ("Journal Article", "Observational Study"), (), "A study.",
     "human-observational", 'publication type "Observational Study"'),
    ("case report", ("Case Reports",), (), "A study.",
     "human-observational", 'publication type "Case Reports"'),
    ("veterinary rct", ("Randomized Controlled Trial, Veterinary",), (), "A study.",
     "animal-in-vivo", 'publication type "Randomized Controlled Trial, Veterinary"'),
    ("review", ("Journal Article", "Review"), (), "A study.",
     "review", 'publication type "Review"'),
    ("editorial", ("Editorial",), (), "A study.", "review", 'publication type "Editorial"'),
    ("letter", ("Letter",), (), "A study.", "review", 'publication type "Letter"'),
    ("news", ("News",), (), "A study.", "review", 'publication type "News"'),
    ("retraction notice", ("Retraction of Publication",), (), "A study.",
     "other", 'publication type "Retraction of Publication"'),
    ("erratum", ("Published Erratum",), (), "A study.",
     "other", 'publication type "Published Erratum"'),
    ("trial protocol", ("Clinical Trial Protocol", "Clinical Trial"), (), "A study.",
     "other", 'publication type "Clinical Trial Protocol"'),
    # -- publication-type precedence
    ("systematic review beats review", ("Review", "Systematic Review"), (), "A study.",
     "meta-analysis", 'publication type "Systematic Review"'),
    ("meta-analysis beats rct", ("Randomized Controlled Trial", "Meta-Analysis"), (), "A study.",
     "meta-analysis", 'publication type "Meta-Analysis"'),
    ("rct beats phase III", ("Clinical Trial, Phase III", "Randomized Controlled Trial"), (),
     "A study.", "rct", 'publication type "Randomized Controlled Trial"'),
    ("comment + journal article is commentary", ("Journal Article", "Comment"), (), "A study.",
     "review", 'publication type "Comment"'),
    ("case report beats letter", ("Letter", "Case Reports"), (), "A study.",
     "human-observational", 'publication type "Case Reports"'),
    ("case report beats review", ("Review", "Case Reports"), (), "A study.",
     "human-observational", 'publication type "Case Reports"'),
    ("format type beats MeSH design", ("Review",), ("Humans", "Cohort Studies"), "A study.",
     "review", 'publication type "Review"'),
    ("retracted rct is still an rct", ("Randomized Controlled Trial", "Retracted Publication"), (),
     "A study.", "rct", 'publication type "Randomized Controlled Trial"'),
    ("neutral types are ignored", ("Comparative Study", "Multicenter Study",
                                   "Research Support, Non-U.S. Gov't"), (), "A study.",
     "other", "no design cue in publication types, MeSH or title"),
    # -- MeSH
    ("cohort mesh", (), ("Humans", "Cohort Studies"), "A study.",
     "human-observational", 'MeSH "Cohort Studies" with "Humans"'),
    ("human design beats Animals", (), ("Animals", "Humans", "Case-Control Studies"), "A study.",
     "human-observational", 'MeSH "Case-Control Studies" with "Humans"'),
    ("crossover mesh", (), ("Cross-Over Studies", "Humans"), "A study.",
     "clinical-trial", 'MeSH "Cross-Over Studies" with "Humans"'),
    ("'as Topic' is not a design", (), ("Humans", "Randomized Controlled Trials as Topic"),
     "A study.", "human-observational", 'MeSH "Humans" without a trial or lab design'),
    ("mice", (), ("Mice", "Ketamine"), "A study.",
     "animal-in-vivo", 'MeSH "Mice" without human subjects'),
    ("mouse strain", (), ("Mice, Inbred C57BL", "Ketamine"), "A study.",
     "animal-in-vivo", 'MeSH "Mice, Inbred C57BL" without human subjects'),
    ("animal + culture is animal", (), ("Animals", "Rats", "Cells, Cultured"), "A study.",
     "animal-in-vivo", 'MeSH "Animals" and "Cells, Cultured" without human subjects'),
    ("humans + animals is animal", (), ("Humans", "Animals", "Macaca"), "A study.",
     "animal-in-vivo", 'MeSH "Animals" with "Humans"'),
    ("human cells", (), ("Humans", "Cells, Cultured"), "A study.",
     "in-vitro", 'MeSH "Cells, Cultured" with "Humans"'),
    ("in vitro techniques", (), ("In Vitro Techniques", "Hippocampus"), "A study.",
     "in-vitro", 'MeSH "In Vitro Techniques"'),
    ("humans alone", (), ("Humans", "Depressive Disorder"), "A study.",
     "human-observational", 'MeSH "Humans" without a trial or lab design'),
    ("cell-free biochemistry", (), ("Protein Binding", "Kinetics"), "A study.",
     "in-vitro", 'MeSH "Protein Binding" without human or animal subjects'),
    ("MeSH beats title", (), ("Humans",), "Ketamine in mice.",
     "human-observational", 'MeSH "Humans" without a trial or lab design'),
    ("uninformative MeSH falls to title", (), ("Temperature",), "Ketamine in mice.",
     "animal-in-vivo", 'title cue "in mice"'),
    # -- title cues (no MeSH, as in the offline snapshot)
    ("title meta", (), (), "Ketamine for depression: a systematic review and meta-analysis.",
     "meta-analysis", 'title cue "systematic review"'),
    ("title review beats trial", (), (), "A review of randomized trials of ketamine.",
     "review", 'title cue "A review"'),
    ("title rct", (), (), "A randomised, placebo-controlled study of ketamine.",
     "rct", 'title cue "randomised"'),
    ("title trial", (), (), "An open-label pilot of ketamine in depression.",
     "clinical-trial", 'title cue "open-label"'),
    ("title animal beats in vitro", (), (), "Ketamine acts in vitro and in vivo.",
     "animal-in-vivo", 'title cue "in vivo"'),
    ("title in vitro", (), (), "Ketamine and BDNF release from cultured cortical neurons.",
     "in-vitro", 'title cue "cultured"'),
    ("title case series", (), (), "Ketamine for depression: a case series.",
     "human-observational", 'title cue "case series"'),
    ("title population", (), (), "Ketamine response in depressed patients.",
     "human-observational", 'title cue "patients"'),
    ("no cue", (), (), "Proton MRI of carbon distribution.",
     "other", "no design cue in publication types, MeSH or title"),
]


@pytest.mark.parametrize(
    ("pts", "mesh", "title", "tier", "reason"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_classify_design(
    pts: tuple[str, ...], mesh: tuple[str, ...], title: str, tier: str, reason: str
) -> None:
    call = classify_design(paper(pts or ("Journal Article",), mesh, title))
    assert (call.tier, call.reason) == (tier, reason)


@pytest.mark.parametrize(
    ("record", "basis"),
    [
        (paper(("Review",)), "publication-type"),
        (paper(mesh=("Mice",)), "mesh"),
        (paper(title="Ketamine in rats."), "title"),
        (paper(), "fallback"),
    ],
)
def test_call_says_what_decided_it(record: PaperRecord, basis: str) -> None:
    assert classify_design(record).basis == basis


def test_tiers_are_ordered_and_labelled() -> None:
    assert DESIGN_TIERS[0] == "meta-analysis" and DESIGN_TIERS[-1] == "other"
    assert set(TIER_LABELS) == set(DESIGN_TIERS)
    assert DesignCall("rct", "x").rank < DesignCall("in-vitro", "x").rank
    assert DesignCall("review", "x").label.startswith("Review")


def test_retracted_rct_keeps_its_tier_and_its_flag() -> None:
    rec = paper(("Randomized Controlled Trial", "Retracted Publication"))
    assert rec.is_retracted and classify_design(rec).tier == "rct"


# -- recorded PubMed EFetch responses ------------------------------------------------------
# Tiers read by hand from each record's publication types, MeSH and title.
FIXTURE_TIERS = [
    # Journal Article + Review; MeSH Humans (AIDS policy review).
    ("pubmed1.xml", "12091962", "review", 'publication type "Review"'),
    # Journal Article only; MeSH has no Humans/Animals, only biochemistry (binding sites, ESR).
    ("pubmed1.xml", "9997", "in-vitro", 'MeSH "Binding Sites" without human or animal subjects'),
    # MeSH Animals + Sea Bream (fish sperm cryopreservation): the Animals tag cannot say ex vivo.
    ("pubmed2.xml", "11748933", "animal-in-vivo", 'MeSH "Animals" without human subjects'),
    # PubMed-not-MEDLINE: no MeSH, and the NMR-imaging title gives no cue.
    ("pubmed2.xml", "11700088", "other", "no design cue in publication types, MeSH or title"),
    # Observational Study; MeSH also has "Randomized Controlled Trials as Topic", not a design.
    ("pubmed4.xml", "27797938", "human-observational", 'publication type "Observational Study"'),
    # In-Data-Review: no MeSH yet; an occupational-exposure title.
    ("pubmed5.xml", "28775130", "human-observational", 'title cue "Occupational"'),
    # PubMed-not-MEDLINE exercise physiology "in Trained Runners".
    ("pubmed6.xml", "30108519", "human-observational", 'title cue "Runners"'),
    # PubMed-not-MEDLINE imaging-software paper: nothing says a design.
    ("pubmed7.xml", "29963580", "other", "no design cue in publication types, MeSH or title"),
]


@pytest.fixture(scope="module")
def fixture_records(entrez_fixtures: Path) -> dict[str, PaperRecord]:
    from evtrack.pubmed_xml import iter_records

    files = sorted({f for f, *_ in FIXTURE_TIERS})
    return {r.pmid: r for f in files for r in iter_records(entrez_fixtures / f)}


@pytest.mark.parametrize(("file", "pmid", "tier", "reason"), FIXTURE_TIERS,
                         ids=[f"{f}:{p}" for f, p, *_ in FIXTURE_TIERS])
def test_recorded_records(
    fixture_records: dict[str, PaperRecord], file: str, pmid: str, tier: str, reason: str
) -> None:
    call = classify_design(fixture_records[pmid])
    assert (call.tier, call.reason) == (tier, reason)

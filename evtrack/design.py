"""Study design tier of a paper, from its publication types, MeSH and (last) its title.

The tier says how strong a paper's evidence can be, not whether it is right. The rules run in a
fixed order and the first that applies wins; ``docs/design-tiers.md`` has the full table:

1. **Publication types** (PubMed ``PublicationTypeList``), because they state what the
   publication *is*: notices and protocols (no data) → ``other``; meta-analysis / systematic
   review → ``meta-analysis``; veterinary trials and observational studies → ``animal-in-vivo``;
   randomised trials → ``rct``; other trials → ``clinical-trial``; observational study, case
   reports, twin study → ``human-observational``; review, comment, editorial, letter, news,
   guideline … → ``review``. Study-design types beat format types: a "Case Reports" "Letter"
   reports a patient, a "Comment" on nothing else is commentary. Types that say nothing about design
   ("Journal Article", "Comparative Study", "Research Support, …") are ignored.
2. **MeSH** (MEDLINE-indexed records only): human study-design descriptors with "Humans" →
   ``human-observational`` (or ``clinical-trial`` for crossover / blinding descriptors); animal
   descriptors or the "Animals" check tag → ``animal-in-vivo`` (even with "Humans" or with
   cell-culture descriptors: such papers nearly always include whole-animal work, and we would
   rather under-rate than over-rate); cell-culture / in-vitro descriptors → ``in-vitro``;
   "Humans" alone → ``human-observational``; cell-free biochemistry descriptors → ``in-vitro``.
   "… as Topic" descriptors are about a design, not of it, and are never read as one.
3. **Title cues**, when neither of the above decides — always the case for records that are not
   MEDLINE-indexed and for the bundled offline snapshot, which has no MeSH.
4. Otherwise ``other``.

Retraction is not a design: a retracted RCT is still an RCT, flagged by
:attr:`evtrack.records.PaperRecord.is_retracted`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evtrack.records import PaperRecord

META_ANALYSIS = "meta-analysis"
RCT = "rct"
CLINICAL_TRIAL = "clinical-trial"
HUMAN_OBSERVATIONAL = "human-observational"
ANIMAL_IN_VIVO = "animal-in-vivo"
IN_VITRO = "in-vitro"
REVIEW = "review"
OTHER = "other"

#: Design tiers, strongest evidence first.
DESIGN_TIERS: tuple[str, ...] = (
    META_ANALYSIS,
    RCT,
    CLINICAL_TRIAL,
    HUMAN_OBSERVATIONAL,
    ANIMAL_IN_VIVO,
    IN_VITRO,
    REVIEW,
    OTHER,
)

TIER_LABELS: dict[str, str] = {
    META_ANALYSIS: "Meta-analysis / systematic review",
    RCT: "Randomised controlled trial",
    CLINICAL_TRIAL: "Other clinical trial",
    HUMAN_OBSERVATIONAL: "Human observational (cohort, case-control, cross-sectional, case report)",
    ANIMAL_IN_VIVO: "Animal (in vivo)",
    IN_VITRO: "In vitro (cells, tissue, cell-free)",
    REVIEW: "Review / commentary (no new data)",
    OTHER: "Other / unknown",
}

#: Where a call came from; a title-based call is weaker than one from NLM indexing.
BASES = ("publication-type", "mesh", "title", "fallback")


@dataclass(frozen=True)
class DesignCall:
    """A design tier and the evidence for it, e.g. ``publication type "Review"``."""

    tier: str
    reason: str
    basis: str = "fallback"

    @property
    def label(self) -> str:
        return TIER_LABELS[self.tier]

    @property
    def rank(self) -> int:
        """0 for the strongest tier (meta-analysis), 7 for ``other``."""
        return DESIGN_TIERS.index(self.tier)


# -- publication types ----------------------------------------------------------------------
# Ordered (tier, names) groups; the first group with a match wins. Names are NLM's own.
_PT_RULES: tuple[tuple[str, frozenset[str]], ...] = (
    # A notice or a protocol reports no results, whatever else it is tagged with.
    (OTHER, frozenset({
        "Retraction of Publication", "Published Erratum", "Expression of Concern",
        "Clinical Trial Protocol", "Dataset",
    })),
    (META_ANALYSIS, frozenset({"Meta-Analysis", "Systematic Review", "Network Meta-Analysis"})),
    (ANIMAL_IN_VIVO, frozenset({
        "Randomized Controlled Trial, Veterinary", "Clinical Trial, Veterinary",
        "Observational Study, Veterinary",
    })),
    (RCT, frozenset({"Randomized Controlled Trial"})),
    (CLINICAL_TRIAL, frozenset({
        "Clinical Trial", "Clinical Trial, Phase I", "Clinical Trial, Phase II",
        "Clinical Trial, Phase III", "Clinical Trial, Phase IV", "Controlled Clinical Trial",
        "Pragmatic Clinical Trial", "Adaptive Clinical Trial", "Equivalence Trial",
    })),
    (HUMAN_OBSERVATIONAL, frozenset({"Observational Study", "Case Reports", "Twin Study"})),
    (REVIEW, frozenset({
        "Review", "Scoping Review", "Comment", "Editorial", "Letter", "News",
        "Newspaper Article", "Interview", "Lecture", "Biography", "Historical Article",
        "Guideline", "Practice Guideline", "Consensus Development Conference",
        "Consensus Development Conference, NIH", "Patient Education Handout", "Personal Narrative",
    })),
)

# -- MeSH -----------------------------------------------------------------------------------
_HUMAN_OBS_MESH = frozenset({
    "Cohort Studies", "Case-Control Studies", "Cross-Sectional Studies", "Prospective Studies",
    "Retrospective Studies", "Longitudinal Studies", "Follow-Up Studies", "Epidemiologic Studies",
    "Seroepidemiologic Studies", "Health Surveys", "Registries",
})
_TRIAL_MESH = frozenset({"Cross-Over Studies", "Double-Blind Method", "Single-Blind Method"})
_ANIMAL_MESH = frozenset({
    "Animals", "Mice", "Rats", "Rodentia", "Macaca", "Macaca mulatta", "Macaca fascicularis",
    "Primates", "Haplorhini", "Callithrix", "Dogs", "Cats", "Swine", "Sheep", "Rabbits",
    "Guinea Pigs", "Cricetinae", "Mesocricetus", "Gerbillinae", "Zebrafish", "Drosophila",
    "Drosophila melanogaster", "Caenorhabditis elegans", "Disease Models, Animal",
})
# Subheadings like "Mice, Knockout" or "Rats, Sprague-Dawley" count as their parent.
_ANIMAL_MESH_PREFIXES = ("Mice, ", "Rats, ", "Macaca ", "Swine, ", "Dogs, ")
_CULTURE_MESH = frozenset({
    "Cells, Cultured", "In Vitro Techniques", "Cell Line", "Cell Line, Tumor",
    "Tumor Cells, Cultured", "Primary Cell Culture", "Cell Culture Techniques",
    "Organ Culture Techniques", "Tissue Culture Techniques", "HEK293 Cells", "HeLa Cells",
    "Induced Pluripotent Stem Cells", "Organoids", "Patch-Clamp Techniques",
})
# Cell-free bench work: read as in vitro only when no organism check tag is present.
_BIOCHEM_MESH = frozenset({
    "Binding Sites", "Protein Binding", "Protein Conformation", "Kinetics", "Recombinant Proteins",
    "Enzyme Inhibitors", "Crystallography, X-Ray", "Molecular Structure", "Models, Molecular",
    "Molecular Docking Simulation", "Oxidation-Reduction", "Electron Spin Resonance Spectroscopy",
    "Magnetic Resonance Spectroscopy", "Spectrum Analysis",
})

# -- title cues -----------------------------------------------------------------------------
# Ordered like the tiers except that review cues come before trial cues: "a review of
# randomised trials" is a review. Each pattern is matched case-insensitively on word bounds.
_TITLE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (META_ANALYSIS, (r"meta-?analys[ie]s", r"systematic review", r"pooled analysis")),
    (REVIEW, (
        r"a review", r"review of", r"narrative review", r"literature review", r"an update",
        r"commentary", r"editorial", r"perspectives?", r"an overview", r"state of the art",
    )),
    (RCT, (
        r"randomi[sz]ed", r"double-blind(?:ed)?", r"placebo-controlled", r"triple-masked",
    )),
    (CLINICAL_TRIAL, (
        r"clinical trial", r"phase (?:[1-4]|i{1,3}|iv)[ab]?", r"open-label", r"pilot trial",
        r"crossover (?:trial|study)", r"single-arm", r"trial",
    )),
    (ANIMAL_IN_VIVO, (
        r"in vivo", r"in mice", r"in rats?", r"mice", r"mouse", r"murine", r"rats?", r"rodents?",
        r"monkeys?", r"macaques?", r"primates?", r"zebrafish", r"drosophila", r"knock-?out",
        r"animal models?",
    )),
    (IN_VITRO, (
        r"in vitro", r"cultured", r"cultures?", r"cell lines?", r"slices?", r"organoids?",
        r"kinase assays?", r"enzyme kinetics", r"recombinant",
    )),
    (HUMAN_OBSERVATIONAL, (
        r"cohort", r"case-control", r"cross-sectional", r"case reports?", r"case series",
        r"a case of", r"population-based", r"registry", r"nationwide", r"prevalence",
        r"incidence", r"occupational", r"epidemiolog\w*", r"retrospective", r"prospective",
        r"patients?", r"adults", r"children", r"adolescents", r"infants", r"women", r"men",
        r"volunteers", r"participants", r"subjects", r"athletes", r"runners", r"veterans",
        r"humans?",
    )),
)
_TITLE_PATTERNS = tuple(
    (tier, re.compile(r"(?<![\w-])(" + "|".join(pats) + r")(?![\w-])", re.IGNORECASE))
    for tier, pats in _TITLE_RULES
)
_AS_TOPIC = " as Topic"


def classify_design(record: PaperRecord) -> DesignCall:
    """The design tier of ``record`` and the evidence for it.

    >>> from evtrack.records import PaperRecord, PublicationType
    >>> rec = PaperRecord(pmid="1", title="x", publication_types=(
    ...     PublicationType("Review"), PublicationType("Systematic Review")))
    >>> call = classify_design(rec)
    >>> call.tier, call.reason
    ('meta-analysis', 'publication type "Systematic Review"')
    """
    return (
        _from_publication_types(record)
        or _from_mesh(record)
        or _from_title(record)
        or DesignCall(OTHER, "no design cue in publication types, MeSH or title", "fallback")
    )


def _from_publication_types(record: PaperRecord) -> DesignCall | None:
    names = [pt.name for pt in record.publication_types]
    for tier, group in _PT_RULES:
        for name in names:
            if name in group:
                return DesignCall(tier, f'publication type "{name}"', "publication-type")
    return None


def _from_mesh(record: PaperRecord) -> DesignCall | None:
    # "Randomized Controlled Trials as Topic" indexes a paper *about* trials: never a design.
    names = [m.descriptor for m in record.mesh if not m.descriptor.endswith(_AS_TOPIC)]
    if not names:
        return None
    present = set(names)
    humans = "Humans" in present

    def first(group: frozenset[str]) -> str | None:
        return next((n for n in names if n in group), None)

    animal = next(
        (n for n in names if n in _ANIMAL_MESH or n.startswith(_ANIMAL_MESH_PREFIXES)), None
    )
    if humans and (hit := first(_HUMAN_OBS_MESH)):
        return DesignCall(HUMAN_OBSERVATIONAL, f'MeSH "{hit}" with "Humans"', "mesh")
    if humans and not animal and (hit := first(_TRIAL_MESH)):
        return DesignCall(CLINICAL_TRIAL, f'MeSH "{hit}" with "Humans"', "mesh")
    culture = first(_CULTURE_MESH)
    if animal:
        also = f' and "{culture}"' if culture else ""
        who = 'with "Humans"' if humans else "without human subjects"
        return DesignCall(ANIMAL_IN_VIVO, f'MeSH "{animal}"{also} {who}', "mesh")
    if culture:
        who = ' with "Humans"' if humans else ""
        return DesignCall(IN_VITRO, f'MeSH "{culture}"{who}', "mesh")
    if humans:
        return DesignCall(HUMAN_OBSERVATIONAL, 'MeSH "Humans" without a trial or lab design',
                          "mesh")
    if hit := first(_BIOCHEM_MESH):
        return DesignCall(IN_VITRO, f'MeSH "{hit}" without human or animal subjects', "mesh")
    return None


def _from_title(record: PaperRecord) -> DesignCall | None:
    for tier, pattern in _TITLE_PATTERNS:
        if m := pattern.search(record.title):
            return DesignCall(tier, f'title cue "{m.group(1)}"', "title")
    return None

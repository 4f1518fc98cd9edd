"""The cue-rule layer of the stance judge, on invented sentences (no third-party text).

Each row puts one sentence in the RESULTS section of an otherwise empty abstract, so the
stance comes from that sentence alone. The rows pin the rules (``use_model=False``); the last
tests check that the full judge keeps the rules' answer whenever they read the relation.
"""

from __future__ import annotations

import dataclasses

import pytest

from evtrack.claims import Claim
from evtrack.judge import JUDGE_METHOD, JUDGE_STANCES, Judgement, judge_link, split_sentences
from evtrack.records import AbstractSection, PaperRecord

CLAIMS = {
    "increases": Claim(
        id="C5", text="Ketamine rapidly increases BDNF protein.", subject="ketamine",
        relation="increases", object="BDNF",
        aliases={"BDNF": ("brain-derived neurotrophic factor",)},
    ),
    "blocks": Claim(
        id="C1", text="Ketamine blocks NMDA receptors.", subject="ketamine", relation="blocks",
        object="NMDA receptor", aliases={"NMDA receptor": ("NMDAR", "NMDA-type receptor")},
    ),
    "decreases": Claim(
        id="Cd", text="Ketamine lowers eEF2 phosphorylation.", subject="ketamine",
        relation="decreases", object="eEF2 phosphorylation",
    ),
    "activates": Claim(
        id="Ca", text="Ketamine activates mTOR signalling.", subject="ketamine",
        relation="activates", object="mTOR",
    ),
    "is_required_for": Claim(
        id="C6", text="BDNF is required for ketamine's antidepressant response.", subject="BDNF",
        relation="is_required_for", object="antidepressant response",
        aliases={"antidepressant response": (
            "antidepressant-like response", "antidepressant effect", "antidepressant-like effect",
        )},
    ),
    "is_sufficient_for": Claim(
        id="C8", text="An eEF2 kinase inhibitor suffices for an antidepressant-like effect.",
        subject="eEF2 kinase inhibitor", relation="is_sufficient_for",
        object="antidepressant-like effect",
    ),
    "causes": Claim(
        id="Cc", text="Ketamine causes dissociative symptoms.", subject="ketamine",
        relation="causes", object="dissociative symptoms",
    ),
    "binds": Claim(
        id="Cb", text="Ketamine binds the NMDA receptor pore.", subject="ketamine",
        relation="binds", object="NMDA receptor",
    ),
    "does_not_explain": Claim(
        id="C4", text="Raised glutamate release does not explain the antidepressant effect.",
        subject="glutamate release", relation="does_not_explain", object="antidepressant effect",
    ),
}

# (relation, invented sentence, expected stance)
TABLE = [
    # increases
    ("increases", "Ketamine rapidly increased BDNF protein in the hippocampus.", "supports"),
    ("increases", "Brain-derived neurotrophic factor was elevated 30 min after ketamine.",
     "supports"),
    ("increases", "BDNF was higher in ketamine-treated rats than in saline controls.", "supports"),
    ("increases", "Stress lowered BDNF, and ketamine reversed the stress-induced decrease in BDNF.",
     "supports"),
    ("increases", "Ketamine, but not memantine, increased BDNF.", "supports"),
    ("increases", "Memantine lowered BDNF, whereas ketamine increased BDNF.", "supports"),
    ("increases", "Ketamine did not increase BDNF protein levels.", "contradicts"),
    ("increases", "No significant increase in BDNF was seen after ketamine.", "contradicts"),
    ("increases", "The rise in BDNF after ketamine was not significant.", "contradicts"),
    ("increases", "Ketamine neither increased nor decreased BDNF.", "contradicts"),
    ("increases", "BDNF levels were unchanged after ketamine.", "contradicts"),
    ("increases", "Ketamine failed to alter BDNF levels.", "contradicts"),
    ("increases", "Ketamine decreased BDNF in the cortex.", "contradicts"),
    # comparisons: a comparative reads for the entity before "than"
    ("increases", "BDNF was higher after ketamine than after saline.", "supports"),
    ("increases", "BDNF was lower in saline-treated rats than in ketamine-treated rats.",
     "supports"),
    ("increases", "BDNF was higher in saline-treated rats than in ketamine-treated rats.",
     "contradicts"),
    ("increases", "Compared with saline, ketamine increased BDNF.", "supports"),
    ("increases", "Unlike saline, ketamine increased BDNF.", "supports"),
    ("increases", "Memantine, but not ketamine, increased BDNF.", "contradicts"),
    ("increases", "Ketamine not only increased BDNF but also raised TrkB.", "supports"),
    # direction reversal by a verb before the cue
    ("increases", "Ketamine prevented the stress-induced reduction of BDNF.", "supports"),
    ("increases", "Ketamine attenuated the stress-induced rise in BDNF.", "contradicts"),
    # null results and denied significance
    ("increases", "Ketamine did not significantly increase BDNF.", "contradicts"),
    ("increases", "Ketamine was without effect on BDNF.", "contradicts"),
    ("increases", "BDNF did not differ between ketamine and saline groups.", "contradicts"),
    ("increases", "There was no difference in BDNF between ketamine and saline groups.",
     "contradicts"),
    ("increases", "BDNF was similar in ketamine and saline groups.", "contradicts"),
    ("increases", "Ketamine increased BDNF, although not significantly.", "contradicts"),
    # hypotheses and received wisdom
    ("increases", "We hypothesized that ketamine increases BDNF.", "mentions"),
    ("increases", "It remains unclear whether ketamine increases BDNF.", "mentions"),
    ("increases", "Ketamine is thought to increase BDNF.", "mentions"),
    ("increases", "Ketamine may increase BDNF in depressed patients.", "mentions"),
    ("increases", "We propose that ketamine raises BDNF.", "mentions"),
    ("increases", "We asked whether ketamine increases BDNF.", "mentions"),
    ("increases", "Ketamine and BDNF were measured in plasma.", "mentions"),
    ("increases", "Norketamine increased BDNF.", "unclear"),  # whole words only
    ("increases", "Ketamine increased TrkB phosphorylation.", "unclear"),
    # blocks
    ("blocks", "Ketamine blocked NMDA receptor currents in a use-dependent manner.", "supports"),
    ("blocks", "Ketamine inhibited NMDA-type receptors at low micromolar concentrations.",
     "supports"),
    ("blocks", "At antidepressant concentrations ketamine did not block NMDARs.", "contradicts"),
    ("blocks", "Ketamine potentiated NMDA receptor currents.", "contradicts"),
    ("blocks", "The NMDA receptor antagonist ketamine was given at 10 mg/kg.", "mentions"),
    ("blocks", "Ketamine might block NMDA receptors on interneurons.", "mentions"),
    ("blocks", "Ketamine blocked NMDA receptors more potently than memantine.", "supports"),
    ("blocks", "Memantine, but not ketamine, blocked NMDA receptors.", "contradicts"),
    # decreases
    ("decreases", "Ketamine reduced eEF2 phosphorylation within 30 min.", "supports"),
    ("decreases", "Ketamine increased eEF2 phosphorylation.", "contradicts"),
    ("decreases", "Ketamine had no effect on eEF2 phosphorylation.", "contradicts"),
    ("decreases", "Ketamine could lower eEF2 phosphorylation.", "mentions"),
    # activates
    ("activates", "Ketamine rapidly activated mTOR signalling.", "supports"),
    ("activates", "Ketamine suppressed mTOR signalling.", "contradicts"),
    ("activates", "Ketamine did not activate mTOR.", "contradicts"),
    # is_required_for, direct and loss-of-function readings
    ("is_required_for", "BDNF is required for the antidepressant response to ketamine.",
     "supports"),
    ("is_required_for", "The antidepressant response to ketamine was BDNF-dependent.", "supports"),
    ("is_required_for", "Mice lacking BDNF showed no antidepressant-like response to ketamine.",
     "supports"),
    ("is_required_for",
     "The antidepressant effect of ketamine was abolished in BDNF knockout mice.", "supports"),
    ("is_required_for", "BDNF was not required for the antidepressant effect of ketamine.",
     "contradicts"),
    ("is_required_for", "The antidepressant effect of ketamine was independent of BDNF.",
     "contradicts"),
    ("is_required_for", "In BDNF+/- mice ketamine still produced an antidepressant-like effect.",
     "contradicts"),
    ("is_required_for",
     "Blocking BDNF with a neutralising antibody did not prevent the antidepressant effect.",
     "contradicts"),
    ("is_required_for", "BDNF might be necessary for the antidepressant response.", "mentions"),
    # is_sufficient_for
    ("is_sufficient_for", "An eEF2 kinase inhibitor produced a rapid antidepressant-like effect.",
     "supports"),
    ("is_sufficient_for",
     "The eEF2 kinase inhibitor was insufficient to produce an antidepressant-like effect.",
     "contradicts"),
    # causes
    ("causes", "Ketamine caused dissociative symptoms in healthy volunteers.", "supports"),
    ("causes", "Ketamine did not cause dissociative symptoms at 0.1 mg/kg.", "contradicts"),
    # binds
    ("binds", "Ketamine binds the NMDA receptor within the channel pore.", "supports"),
    ("binds", "Ketamine did not bind the NMDA receptor at low concentrations.", "contradicts"),
    # does_not_explain: the claim is itself a negation
    ("does_not_explain", "Glutamate release did not account for the antidepressant effect.",
     "supports"),
    ("does_not_explain", "The antidepressant effect was independent of glutamate release.",
     "supports"),
    ("does_not_explain", "Glutamate release accounts for the antidepressant effect of ketamine.",
     "contradicts"),
    ("does_not_explain", "Glutamate release may mediate the antidepressant effect.", "mentions"),
]


def results_only(sentence: str, title: str = "A study.") -> PaperRecord:
    return PaperRecord(pmid="1", title=title,
                       abstract_sections=(AbstractSection(sentence, "RESULTS", "RESULTS"),))


def rules(claim: Claim, record: PaperRecord) -> Judgement:
    """The cue-rule layer alone."""
    return judge_link(claim, record, use_model=False)


@pytest.mark.parametrize(("relation", "sentence", "stance"), TABLE,
                         ids=[f"{r}:{s[:40]}" for r, s, _ in TABLE])
def test_stance_table(relation: str, sentence: str, stance: str) -> None:
    j = rules(CLAIMS[relation], results_only(sentence))
    assert j.stance == stance
    if stance == "unclear":
        assert (j.rationale, j.confidence) == (None, 0.0)
    else:
        assert j.rationale == sentence
        assert 0.0 < j.confidence <= 1.0


def test_every_relation_has_a_supporting_and_a_contradicting_row() -> None:
    for relation in CLAIMS:
        stances = {s for r, _, s in TABLE if r == relation}
        assert {"supports", "contradicts"} <= stances, relation


def test_hedge_lowers_confidence_below_a_finding() -> None:
    claim = CLAIMS["increases"]
    found = rules(claim, results_only("Ketamine increased BDNF."))
    hedged = rules(claim, results_only("Ketamine may increase BDNF."))
    soft = rules(claim, results_only("These data suggest that ketamine increases BDNF."))
    assert hedged.stance != "supports" and hedged.confidence < found.confidence
    assert soft.stance == "supports" and hedged.confidence < soft.confidence < found.confidence


ABSTRACT = (
    AbstractSection("Ketamine is known to lower BDNF in stressed animals, e.g. after restraint.",
                    "BACKGROUND", "BACKGROUND"),
    AbstractSection("Rats received ketamine (10 mg/kg) or saline.", "METHODS", "METHODS"),
    AbstractSection("Hippocampal BDNF rose 1.8-fold after ketamine (p < 0.01). "
                    "TrkB was unchanged.", "RESULTS", "RESULTS"),
)


def test_result_sentence_beats_background_and_is_verbatim() -> None:
    rec = PaperRecord(pmid="2", title="Ketamine and hippocampal signalling.",
                      abstract_sections=ABSTRACT)
    j = rules(CLAIMS["increases"], rec)
    assert j.stance == "supports"
    assert j.rationale == "Hippocampal BDNF rose 1.8-fold after ketamine (p < 0.01)."


@pytest.mark.parametrize("sentence", [
    "Ketamine is known to increase BDNF.",
    "It has been reported that ketamine elevates BDNF in rodents.",
])
def test_background_co_mention_only_mentions(sentence: str) -> None:
    rec = PaperRecord(pmid="3", title="A study.", abstract_sections=(
        AbstractSection(sentence), AbstractSection("We measured sleep in 40 volunteers.")))
    j = rules(CLAIMS["increases"], rec)
    assert (j.stance, j.rationale) == ("mentions", sentence)


def test_unstructured_opening_sentence_is_background() -> None:
    rec = PaperRecord(pmid="4", title="A study.", abstract_sections=(AbstractSection(
        "Ketamine increases BDNF. Sleep was recorded for a week. Sleep did not change."),))
    assert rules(CLAIMS["increases"], rec).stance == "mentions"


def test_title_can_carry_the_finding() -> None:
    rec = PaperRecord(pmid="5", title="Ketamine rapidly increases brain-derived neurotrophic "
                      "factor in the mouse hippocampus.")
    j = rules(CLAIMS["increases"], rec)
    assert j.stance == "supports" and j.rationale == rec.title


def test_question_title_is_not_a_finding() -> None:
    rec = PaperRecord(pmid="6", title="Does ketamine increase BDNF?")
    assert rules(CLAIMS["increases"], rec).stance == "mentions"


def test_conflicting_findings_lower_confidence() -> None:
    clean = results_only("Ketamine increased BDNF at 1 h.")
    mixed = PaperRecord(pmid="7", title="Ketamine decreased BDNF in old rats.",
                        abstract_sections=clean.abstract_sections)
    j_clean = rules(CLAIMS["increases"], clean)
    j_mixed = rules(CLAIMS["increases"], mixed)
    assert j_mixed.stance == "supports" and j_mixed.confidence < j_clean.confidence


@pytest.mark.parametrize(("sentence", "stance"), [
    ("Shorter sleep duration was followed by higher cortisol.", "supports"),
    ("Longer sleep duration was followed by higher cortisol.", "contradicts"),
])
def test_less_of_the_subject_flips_the_direction(sentence: str, stance: str) -> None:
    claim = Claim(id="Cs", text="", subject="sleep duration", relation="decreases",
                  object="cortisol")
    assert rules(claim, results_only(sentence)).stance == stance


def test_no_abstract_and_no_entities_is_unclear() -> None:
    j = judge_link(CLAIMS["increases"], PaperRecord(pmid="8", title="Sleep in athletes."))
    assert (j.stance, j.rationale, j.confidence) == ("unclear", None, 0.0)
    assert rules(CLAIMS["increases"], PaperRecord(pmid="8", title="Sleep in athletes.")) == (
        Judgement("unclear", None, 0.0))


def test_unknown_relation_only_mentions() -> None:
    claim = dataclasses.replace(CLAIMS["increases"], relation="modulates")
    assert rules(claim, results_only("Ketamine increased BDNF.")).stance == "mentions"


@pytest.mark.parametrize(("text", "expected"), [
    ("Smith et al. reported a rise. BDNF increased 2.5-fold (p < 0.05). It fell.",
     ["Smith et al. reported a rise.", "BDNF increased 2.5-fold (p < 0.05).", "It fell."]),
    ("Drugs (e.g. ketamine) act fast vs. placebo. Mice were tested (Fig. 2).",
     ["Drugs (e.g. ketamine) act fast vs. placebo.", "Mice were tested (Fig. 2)."]),
    ("Levels rose, i.e. BDNF doubled. eEF2 was dephosphorylated. mTOR rose.",
     ["Levels rose, i.e. BDNF doubled.", "eEF2 was dephosphorylated.", "mTOR rose."]),
    ("Is it fast? Yes! Values were 0.5 vs. 1.5 in the U.S. Army cohort.",
     ["Is it fast?", "Yes!", "Values were 0.5 vs. 1.5 in the U.S. Army cohort."]),
    ("", []),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize("sentence", [
    "Ketamine increased brain derived neurotrophic factor.",  # hyphen as space
    "Ketamine increased brain-derived neurotrophic factors.",  # plural
    "KETAMINE increased bdnf.",  # case
    "BDNF-positive cells increased after ketamine.",  # hyphenated compound
])
def test_alias_matching_tolerates_case_hyphens_and_plurals(sentence: str) -> None:
    assert rules(CLAIMS["increases"], results_only(sentence)).stance == "supports"


def test_judgement_records_method_and_version() -> None:
    j = rules(CLAIMS["increases"], results_only("Ketamine increased BDNF."))
    assert j.method == JUDGE_METHOD and j.version
    assert j.stance in JUDGE_STANCES
    assert rules(CLAIMS["increases"], results_only("Ketamine increased BDNF.")) == j
    with pytest.raises(dataclasses.FrozenInstanceError):
        j.stance = "contradicts"  # type: ignore[misc]

"""The trained lexical judge: its features, its linear models, and the judge's public API.

Abstracts here are invented (our own words); the shipped model is the one under test, so these
rows are easy cases any sensible lexical model must get right.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evtrack.claims import Claim
from evtrack.judge import (
    JUDGE_METHOD,
    JUDGE_VERSION,
    LEXICAL_METHOD,
    ClaimText,
    judge_link,
    judge_text,
)
from evtrack.judge_features import analyse, antonym_swaps, stem, weighted_recall
from evtrack.judge_model import JudgeModelError, LinearModel, load_model
from evtrack.judge_train import fit_linear, idf_table
from evtrack.records import AbstractSection, PaperRecord


@pytest.mark.parametrize("family", [
    ("increase", "increased", "increases", "increasing"),
    ("association", "associated", "associations"),
    ("reduction", "reduces", "reduced"),
    ("inhibition", "inhibitor", "inhibits"),
    ("expression", "expressed", "expressing"),
])
def test_a_word_family_shares_one_stem(family: tuple[str, ...]) -> None:
    assert len({stem(w) for w in family}) == 1


@pytest.mark.parametrize(("text", "up", "down", "negation", "null"), [
    ("Drug X increased IL-6.", 1, 0, 0, 0),
    ("Drug X did not increase IL-6.", 0, 1, 1, 0),  # negation flips the direction word
    ("Drug X lowered IL-6.", 0, 1, 0, 0),
    ("Drug X had no effect on IL-6.", 0, 0, 1, 1),  # "no effect" is a null result
    ("IL-6 was unchanged after drug X.", 0, 0, 0, 1),
    ("Drug X not only raised IL-6 but also TNF.", 1, 0, 0, 0),  # "not only" denies nothing
])
def test_analyse_reads_direction_negation_and_null(text: str, up: int, down: int,
                                                  negation: int, null: int) -> None:
    info = analyse(text)
    assert (info.up, info.down, info.negation, info.null) == (up, down, negation, null)


def test_opposite_words_are_counted_only_when_the_claim_word_is_absent() -> None:
    claim = analyse("Exercise raises HDL levels.")
    assert antonym_swaps(claim, analyse("Exercise lowered HDL levels.")) == 1
    assert antonym_swaps(claim, analyse("Exercise raised HDL levels.")) == 0
    assert antonym_swaps(claim, analyse("Exercise raised HDL but lowered LDL.")) == 0


def test_weighted_recall_weighs_rare_words_more() -> None:
    claim = analyse("aspirin prevents stroke")
    idf = {stem("aspirin"): 3.0, stem("prevents"): 1.0, stem("stroke"): 2.0}
    assert weighted_recall(claim, analyse("aspirin and stroke").content, idf, 5.0) == (
        pytest.approx(5 / 6))
    assert weighted_recall(claim, analyse("nothing shared").content, idf, 5.0) == 0.0


def test_a_logistic_model_computes_the_sigmoid_of_its_standardised_input() -> None:
    m = LinearModel(("x",), ("no", "yes"), (1.0,), (2.0,), ((4.0,),), (-1.0,))
    no, yes = m.probabilities({"x": 3.0})  # z = 4 * (3 - 1) / 2 - 1 = 3
    assert yes == pytest.approx(1 / (1 + math.exp(-3))) and no + yes == pytest.approx(1.0)
    assert m.probabilities({}) == pytest.approx(m.probabilities({"x": 0.0}))
    assert LinearModel.from_json(json.loads(json.dumps(m.to_json()))) == m


def test_fitting_separates_a_separable_problem_and_is_deterministic() -> None:
    rows = [{"a": float(i % 2), "b": float(i % 3)} for i in range(30)]
    y = ["yes" if r["a"] else "no" for r in rows]
    m1 = fit_linear(rows, y, ["a", "b"], ("no", "yes"))
    m2 = fit_linear(rows, y, ["a", "b"], ("no", "yes"))
    assert m1 == m2
    assert all((m1.probabilities(r)[1] > 0.5) == (t == "yes") for r, t in zip(rows, y,
                                                                               strict=True))
    assert abs(m1.coef[0][0]) > abs(m1.coef[0][1])  # the informative feature weighs more


def test_idf_keeps_common_stems_and_ranks_rarer_ones_higher() -> None:
    texts = ["the cat sat"] * 30 + ["the dog ran"] * 25
    idf, default = idf_table(texts, min_df=20)
    assert set(idf) == {"the", "cat", "sat", "dog", "ran"}
    assert idf["the"] < idf["dog"] < default


def test_the_shipped_model_carries_the_judge_version() -> None:
    model = load_model()
    assert model.version == JUDGE_VERSION
    assert set(model.label.classes) == {"SUPPORT", "CONTRADICT", "NOT ENOUGH INFO"}


@pytest.mark.parametrize("content", ["not json", '{"version": "1"}'])
def test_a_broken_model_file_is_an_error_that_says_how_to_fix_it(tmp_path: Path,
                                                                 content: str) -> None:
    path = tmp_path / "model.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(JudgeModelError, match="judge model"):
        load_model(path)
    with pytest.raises(JudgeModelError):
        load_model(tmp_path / "absent.json")


# -- the judge on free text -----------------------------------------------------------------
ABSTRACT = (
    "Statins are widely prescribed to lower cholesterol.",
    "We followed 2,000 adults for ten years.",
    "Statin use was associated with a significantly lower risk of dementia (hazard ratio "
    "0.71, 95% CI 0.60 to 0.84).",
    "Adverse events were rare.",
)


@pytest.mark.parametrize(("claim", "stance"), [
    ("Statin use is associated with a lower risk of dementia.", "supports"),
    ("Statin use is associated with a higher risk of dementia.", "contradicts"),
])
def test_a_free_text_claim_is_judged_by_the_lexical_model(claim: str, stance: str) -> None:
    j = judge_text(claim, ABSTRACT, title="Statins and dementia: a cohort study")
    assert (j.stance, j.method, j.version) == (stance, LEXICAL_METHOD, JUDGE_VERSION)
    assert j.rationale_indices[0] == 2 and j.rationale == ABSTRACT[2]
    assert 0.0 < j.confidence <= 1.0


def test_an_abstract_about_something_else_gives_no_finding() -> None:
    j = judge_text("Vitamin C shortens the common cold.", ABSTRACT)
    assert j.stance in ("mentions", "unclear")
    assert judge_text("Vitamin C shortens the common cold.", []).stance == "unclear"


def test_the_free_text_judge_is_deterministic() -> None:
    claim = "Statin use is associated with a lower risk of dementia."
    assert judge_text(claim, ABSTRACT) == judge_text(claim, ABSTRACT)


CLAIM = Claim(id="Cx", text="Statin use lowers the risk of dementia.", subject="statin",
              relation="decreases", object="dementia risk")


def test_rules_decide_when_they_read_the_relation() -> None:
    rec = PaperRecord(pmid="1", title="A cohort study.", abstract_sections=(
        AbstractSection("Statin use reduced dementia risk by a third.", "RESULTS", "RESULTS"),))
    j = judge_link(CLAIM, rec)
    assert (j.stance, j.method) == ("supports", JUDGE_METHOD)
    assert j.rationale_indices == (0,)


def test_the_model_decides_when_the_entities_go_by_other_names() -> None:
    # "dementia risk" is never named as such, so the rules see no co-mention.
    rec = PaperRecord(pmid="2", title="Statins and dementia: a cohort study",
                      abstract_sections=tuple(AbstractSection(s) for s in ABSTRACT))
    j = judge_link(CLAIM, rec)
    assert (j.stance, j.method) == ("supports", LEXICAL_METHOD)
    assert j.rationale == ABSTRACT[2]
    assert judge_link(CLAIM, rec, use_model=False).method == JUDGE_METHOD


def test_claim_text_takes_its_structure_from_a_claims_file_claim() -> None:
    c = ClaimText.of(Claim(id="C", text="t", subject="s", relation="blocks", object="o",
                           aliases={"s": ("S1",)}))
    assert (c.text, c.subject, c.relation, c.object) == ("t", "s", "blocks", "o")
    assert c.terms_for("s") == ("s", "S1") and c.terms_for(None) == ()
    assert ClaimText.of("free text") == ClaimText("free text")

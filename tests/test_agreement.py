"""Cohen's kappa on hand-computed tables, its edge cases, and the pairwise report."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evtrack.agreement import (
    AgreementError,
    PairAgreement,
    cohens_kappa,
    format_agreement,
    pairwise_agreement,
    strength,
)
from evtrack.errors import NotFoundError

S, C, M = "supports", "contradicts", "mentions"


def pairs_from_table(categories: list[str], table: list[list[int]]) -> list[tuple[str, str]]:
    """Expand a confusion table (rows: first rater, columns: second) into rating pairs."""
    return [(categories[i], categories[j])
            for i, row in enumerate(table) for j, count in enumerate(row) for _ in range(count)]


def test_the_classic_two_by_two_table() -> None:
    # 50 items.            B supports  B contradicts
    #   A supports              20           5        (A: 25)
    #   A contradicts           10          15        (A: 25)
    #                     (B: 30)      (B: 20)
    # p_o = (20 + 15) / 50 = 0.70
    # p_e = (25/50)(30/50) + (25/50)(20/50) = 0.30 + 0.20 = 0.50
    # κ = (0.70 − 0.50) / (1 − 0.50) = 0.40
    # SE = √(0.7 · 0.3 / (50 · 0.5²)) = √0.0168 = 0.12961
    k = cohens_kappa(pairs_from_table([S, C], [[20, 5], [10, 15]]))
    assert k.n == 50
    assert k.table == ((20, 5), (10, 15))
    assert k.observed == pytest.approx(0.70)
    assert k.expected == pytest.approx(0.50)
    assert k.kappa == pytest.approx(0.40)
    assert k.se == pytest.approx(0.12961, abs=1e-5)
    assert k.ci95 == pytest.approx((0.40 - 1.96 * 0.12961, 0.40 + 1.96 * 0.12961), abs=1e-4)


def test_a_three_by_three_table() -> None:
    # 60 links.         B: supports contradicts mentions | A total
    #   A supports            25        2          3     |   30
    #   A contradicts          1       10          4     |   15
    #   A mentions             4        1         10     |   15
    #   B total               30       13         17
    # p_o = (25 + 10 + 10) / 60 = 45/60 = 0.75
    # p_e = (30·30 + 15·13 + 15·17) / 60² = (900 + 195 + 255) / 3600 = 1350/3600 = 0.375
    # κ = (0.75 − 0.375) / (1 − 0.375) = 0.375 / 0.625 = 0.60
    k = cohens_kappa(pairs_from_table([S, C, M], [[25, 2, 3], [1, 10, 4], [4, 1, 10]]))
    assert k.categories == (S, C, M)
    assert (k.observed, k.expected) == (pytest.approx(0.75), pytest.approx(0.375))
    assert k.kappa == pytest.approx(0.60)
    assert strength(k.kappa) == "moderate"


def test_perfect_agreement_is_one() -> None:
    k = cohens_kappa([(S, S), (C, C), (S, S), (M, M)])
    assert k.kappa == pytest.approx(1.0)
    assert k.observed == 1.0 and k.se == 0.0


def test_systematic_disagreement_is_below_chance() -> None:
    # p_o = 0; each rater half S, half C: p_e = 0.5; κ = (0 − 0.5) / 0.5 = −1.
    k = cohens_kappa([(S, C), (C, S)])
    assert k.kappa == pytest.approx(-1.0)
    assert strength(k.kappa) == "poor"


def test_all_one_category_leaves_kappa_undefined() -> None:
    # p_o = 1 and p_e = 1: κ = 0/0. Reported as undefined, never as 1 or a division error.
    k = cohens_kappa([(S, S)] * 7)
    assert (k.n, k.observed, k.expected, k.kappa, k.ci95) == (7, 1.0, 1.0, None, None)
    text = format_agreement([PairAgreement("ann", "bob", 0, 0, k)])
    assert "κ undefined" in text and "'supports'" in text


def test_categories_follow_the_stance_order_and_can_be_fixed() -> None:
    assert cohens_kappa([("irrelevant", S), (C, "mixed")]).categories == \
        (S, C, "mixed", "irrelevant")
    k = cohens_kappa([(S, S)], categories=[C, S])
    assert k.table == ((0, 0), (0, 1))
    with pytest.raises(ValueError, match="categories missing"):
        cohens_kappa([(S, M)], categories=[S])
    with pytest.raises(ValueError, match="at least one item"):
        cohens_kappa([])


@pytest.mark.parametrize(("kappa", "word"), [
    (None, "undefined"), (-0.1, "poor"), (0.0, "slight"), (0.2, "slight"), (0.21, "fair"),
    (0.4, "fair"), (0.41, "moderate"), (0.61, "substantial"), (0.8, "substantial"),
    (0.81, "almost perfect"), (1.0, "almost perfect"),
])
def test_landis_koch_words(kappa: float | None, word: str) -> None:
    assert strength(kappa) == word


@given(st.lists(st.tuples(st.sampled_from([S, C, M]), st.sampled_from([S, C, M])),
                min_size=1, max_size=40))
def test_kappa_is_symmetric_in_the_raters_and_at_most_one(pairs: list[tuple[str, str]]) -> None:
    k = cohens_kappa(pairs)
    swapped = cohens_kappa([(b, a) for a, b in pairs], categories=k.categories)
    assert swapped.table == tuple(zip(*k.table, strict=True))
    if k.kappa is None:
        assert swapped.kappa is None and k.observed == 1.0
    else:
        assert swapped.kappa == pytest.approx(k.kappa)
        assert -1.0 - 1e-9 <= k.kappa <= 1.0 + 1e-9
        assert (k.kappa == pytest.approx(1.0)) == (k.observed == 1.0)


RATINGS = {
    "ann": {("C6", "1"): S, ("C6", "2"): C, ("C6", "3"): S},
    "bob": {("C6", "1"): S, ("C6", "2"): S, ("C9", "9"): M},
    "cy": {("C1", "5"): S},
}


def test_each_pair_of_reviewers_gets_a_kappa_over_the_links_both_judged() -> None:
    pairs = pairwise_agreement(RATINGS)
    assert [(p.first, p.second) for p in pairs] == [("ann", "bob"), ("ann", "cy"), ("bob", "cy")]
    ann_bob = pairs[0]
    assert ann_bob.kappa is not None
    assert (ann_bob.kappa.n, ann_bob.first_only, ann_bob.second_only) == (2, 1, 1)
    assert ann_bob.kappa.table == ((1, 0), (1, 0))  # ann rows: S, C; bob columns: S, C
    assert pairs[1].kappa is None and pairs[2].kappa is None


def test_naming_reviewers_restricts_the_pairs_in_that_order() -> None:
    pairs = pairwise_agreement(RATINGS, ["bob", "ann"])
    assert [(p.first, p.second) for p in pairs] == [("bob", "ann")]


def test_no_overlap_is_said_plainly() -> None:
    text = format_agreement(pairwise_agreement(RATINGS, ["ann", "cy"]))
    assert text == ("ann × cy: no link judged by both (ann alone: 3, cy alone: 1); kappa needs "
                    "the same links judged by both (`evtrack audit --blind` gives reviewers one "
                    "queue).\n")


def test_too_few_or_unknown_reviewers_are_errors() -> None:
    with pytest.raises(AgreementError, match=r"two reviewers.*ann \(3 links\)"):
        pairwise_agreement({"ann": RATINGS["ann"]})
    with pytest.raises(AgreementError, match="verdicts so far: none"):
        pairwise_agreement({})
    with pytest.raises(NotFoundError, match="no verdicts by dee"):
        pairwise_agreement(RATINGS, ["ann", "dee"])


def test_the_report_shows_n_agreement_kappa_and_the_table() -> None:
    k = cohens_kappa(pairs_from_table([S, C], [[20, 5], [10, 15]]))
    text = format_agreement([PairAgreement("ann", "bob", 3, 0, k)])
    assert text.splitlines() == [
        "ann × bob: 50 links judged by both (ann alone: 3, bob alone: 0)",
        "  observed agreement 0.70, chance 0.50, Cohen's κ = 0.40 (fair, 95% CI 0.15 to 0.65)",
        "  rows: ann; columns: bob",
        "                    supports  contradicts",
        "  supports                20            5",
        "  contradicts             10           15",
    ]

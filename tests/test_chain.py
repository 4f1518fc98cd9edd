"""The claim chain: every path from a root to a leaf, its weakest link, and who questions whom."""

from __future__ import annotations

import pytest

from evtrack.chain import ChainPath, Questioning, claim_chain

# The ketamine article's chain, with made-up scores chosen so each path has a different
# weakest link: C1 → C2 → C3, C1 → C7 → C5 → C6 → C9, C1 → C7 → C8; C4 questions C3.
KETAMINE_EDGES = {"C1": ["C2", "C7"], "C2": ["C3"], "C5": ["C6"], "C6": ["C9"],
                  "C7": ["C5", "C8"]}
SCORES = {"C1": 0.80, "C2": 0.30, "C3": 0.60, "C4": 0.25, "C5": 0.70, "C6": 0.40,
          "C7": 0.90, "C8": 0.20, "C9": 0.85}


def test_each_path_is_as_strong_as_its_weakest_claim() -> None:
    chain = claim_chain(SCORES, KETAMINE_EDGES, {"C4": ["C3"]})
    assert chain.paths == (
        ChainPath(("C1", "C2", "C3"), 0.30, "C2"),
        ChainPath(("C1", "C7", "C5", "C6", "C9"), 0.40, "C6"),
        ChainPath(("C1", "C7", "C8"), 0.20, "C8"),
    )
    assert chain.weakest == ChainPath(("C1", "C7", "C8"), 0.20, "C8")


def test_questions_are_listed_beside_the_chain_not_in_it() -> None:
    chain = claim_chain(SCORES, KETAMINE_EDGES, {"C4": ["C3"]})
    assert chain.questions == (Questioning("C4", "C3", 0.25, 0.60),)
    assert all("C4" not in p.claims for p in chain.paths)


def test_on_a_tie_the_upstream_claim_is_the_weakest_link() -> None:
    chain = claim_chain({"A": 0.5, "B": 0.2, "C": 0.2}, {"A": ["B"], "B": ["C"]})
    assert chain.paths == (ChainPath(("A", "B", "C"), 0.2, "B"),)


def test_paths_through_a_claim() -> None:
    chain = claim_chain(SCORES, KETAMINE_EDGES)
    assert [p.claims[-1] for p in chain.paths_through("C7")] == ["C9", "C8"]
    assert chain.paths_through("C4") == []


@pytest.mark.parametrize(("scores", "edges", "paths"), [
    # a claim with no leads_to edge in or out is no chain
    ({"A": 0.5}, {}, ()),
    # edges to claims outside the report (a report on some claims only) are dropped
    ({"A": 0.5, "B": 0.4}, {"A": ["B", "Z"]}, (("A", "B"),)),
    # a diamond has two paths, both reaching the shared leaf
    ({"A": 1.0, "B": 0.5, "C": 0.6, "D": 0.7}, {"A": ["B", "C"], "B": ["D"], "C": ["D"]},
     (("A", "B", "D"), ("A", "C", "D"))),
    # a cycle (refused by the claims loader, but a store may hold an old file's edges)
    ({"A": 1.0, "B": 0.5, "C": 0.6}, {"A": ["B"], "B": ["C"], "C": ["B"]}, (("A", "B", "C"),)),
])
def test_path_shapes(scores: dict[str, float], edges: dict[str, list[str]],
                     paths: tuple[tuple[str, ...], ...]) -> None:
    assert tuple(p.claims for p in claim_chain(scores, edges).paths) == paths


def test_no_chain_has_no_weakest_path() -> None:
    assert claim_chain({"A": 0.5}, {}).weakest is None

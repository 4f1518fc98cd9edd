"""The claim chain: claims linked by ``leads_to`` edges, and where the chain is weakest.

An article's argument is a chain — ketamine blocks NMDA receptors (C1), which silences eEF2
kinase (C7), which raises BDNF (C5), which is required (C6) for the clinical effect (C9) — and
a chain holds no better than its weakest link. For every path from a root (a claim nothing
leads to) to a leaf (a claim that leads nowhere) the path's support is the lowest score on it,
and its weakest claim is the one with that score; on a tie the upstream claim is named, since
everything after it depends on it. ``questions`` edges ("C4 questions C3") are not links of a
chain: they are listed beside it with both claims' scores.

>>> chain = claim_chain({"A": 0.9, "B": 0.2, "C": 0.5}, leads_to={"A": ["B"], "B": ["C"]})
>>> [(p.claims, p.weakest, p.support) for p in chain.paths]
[(('A', 'B', 'C'), 'B', 0.2)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: A claims file with many branching claims could have very many paths; past this many the
#: report lists the weakest ones found and says it stopped.
MAX_PATHS = 1000


@dataclass(frozen=True)
class ChainPath:
    claims: tuple[str, ...]  # root first
    support: float  # the lowest score on the path
    weakest: str  # the claim with that score (upstream on a tie)


@dataclass(frozen=True)
class Questioning:
    """``by`` casts doubt on ``target`` (a ``questions`` edge)."""

    by: str
    target: str
    by_score: float
    target_score: float


@dataclass(frozen=True)
class ChainReport:
    paths: tuple[ChainPath, ...]  # in claims-file order of roots and edges
    questions: tuple[Questioning, ...]
    truncated: bool = False

    @property
    def weakest(self) -> ChainPath | None:
        """The path whose weakest link is weakest overall (first such path on a tie)."""
        return min(self.paths, key=lambda p: p.support, default=None)

    def paths_through(self, claim_id: str) -> list[ChainPath]:
        return [p for p in self.paths if claim_id in p.claims]


def claim_chain(scores: Mapping[str, float], leads_to: Mapping[str, Sequence[str]],
                questions: Mapping[str, Sequence[str]] | None = None) -> ChainReport:
    """Paths, their weakest links and the ``questions`` edges among the claims in ``scores``.

    ``scores`` gives the claims in file order; edges to claims not in it are ignored (a report
    on some claims only has no score for the others). A claim with no ``leads_to`` edge in or
    out is not part of any chain.
    """
    order = {c: i for i, c in enumerate(scores)}
    edges = {c: sorted(dict.fromkeys(t for t in leads_to.get(c, ()) if t in scores and t != c),
                       key=order.__getitem__)
             for c in scores}
    has_parent = {t for targets in edges.values() for t in targets}
    roots = [c for c in scores if edges[c] and c not in has_parent]

    paths: list[ChainPath] = []
    truncated = False

    def walk(path: list[str]) -> None:
        nonlocal truncated
        if len(paths) >= MAX_PATHS:
            truncated = True
            return
        # The claims loader refuses cycles; a store synced from an older file is guarded here.
        nxt = [t for t in edges[path[-1]] if t not in path]
        if not nxt:
            weakest = min(path, key=lambda c: (scores[c], path.index(c)))
            paths.append(ChainPath(tuple(path), scores[weakest], weakest))
            return
        for t in nxt:
            walk([*path, t])

    for root in roots:
        walk([root])
    quest = tuple(Questioning(by, target, scores[by], scores[target])
                  for by in scores for target in (questions or {}).get(by, ())
                  if target in scores)
    return ChainReport(tuple(paths), quest, truncated)

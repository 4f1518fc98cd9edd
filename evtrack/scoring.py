"""The support score: how much the linked evidence supports a claim. Formula in docs/scoring.md.

Each judged link is a piece of evidence with a weight ``p = tier_weight × decider_reliability``.
Supporting pieces combine like independent chances that at least one is right,
``S = 1 − Π(1 − p)``, contradicting ones the same way into ``C``, and the score is
``S × (1 − C)``. A "mixed" stance counts half on each side. Retracted papers count for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: How much one paper of a design tier can carry (strongest first).
TIER_WEIGHTS: dict[str, float] = {
    "meta-analysis": 0.9,
    "rct": 0.8,
    "clinical-trial": 0.6,
    "human-observational": 0.5,
    "animal-in-vivo": 0.4,
    "in-vitro": 0.3,
    "review": 0.2,
    "other": 0.2,
}

#: How far a stance can be trusted, by who decided it. The automatic judge's figure is a
#: conservative prior until its error rate is measured against verdicts.
DECIDER_RELIABILITY: dict[str, float] = {"verdict": 1.0, "curator": 0.9, "judge": 0.5}


@dataclass(frozen=True)
class Evidence:
    pmid: str
    stance: str  # supports | contradicts | mixed | mentions | unclear | irrelevant | unjudged
    tier: str
    decider: str  # verdict | curator | judge | none
    retracted: bool = False

    @property
    def weight(self) -> float:
        if self.retracted or self.decider not in DECIDER_RELIABILITY:
            return 0.0
        tier = TIER_WEIGHTS.get(self.tier, TIER_WEIGHTS["other"])
        return tier * DECIDER_RELIABILITY[self.decider]


@dataclass(frozen=True)
class Score:
    score: float
    support: float  # S
    contradiction: float  # C
    contributions: tuple[tuple[str, str, float], ...]  # (pmid, side, weight), largest first


def support_score(evidence: Iterable[Evidence]) -> Score:
    """Combine evidence into a score in [0, 1]; see the module docstring."""
    keep_s, keep_c = 1.0, 1.0
    contributions: list[tuple[str, str, float]] = []
    for e in evidence:
        w = e.weight
        if w <= 0:
            continue
        if e.stance == "supports":
            keep_s *= 1 - w
            contributions.append((e.pmid, "supports", w))
        elif e.stance == "contradicts":
            keep_c *= 1 - w
            contributions.append((e.pmid, "contradicts", w))
        elif e.stance == "mixed":
            keep_s *= 1 - w / 2
            keep_c *= 1 - w / 2
            contributions.append((e.pmid, "mixed", w / 2))
    s, c = 1 - keep_s, 1 - keep_c
    contributions.sort(key=lambda t: (-t[2], t[0]))
    return Score(score=s * (1 - c), support=s, contradiction=c,
                 contributions=tuple(contributions))

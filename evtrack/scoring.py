"""The support score: how much the linked evidence supports a claim. Formula in docs/scoring.md.

In the spirit of INDRA's belief engine, every counted piece of evidence is a chance of being
right, ``p = (1 − tier error) × (1 − decider error)``, with the error priors in a data file
(``evtrack/data/score_priors.toml``) and the automatic judge's error from its measured rate
re-estimated from verdicts (:mod:`evtrack.reliability`). Within one independent group
(:mod:`evtrack.groups`) the k-th strongest paper on a side counts ``p × decay^k``; then

    S = 1 − Π (1 − p_eff)  over supporting evidence  (a "mixed" paper counts p/2 on each side)
    C = 1 − Π (1 − p_eff)  over contradicting evidence
    score = S × (1 − C)

Retracted papers count for nothing. :class:`Scorer` holds the priors, so a different scorer is a
different priors file (or a subclass), not a code change.
"""

from __future__ import annotations

import bisect
import math
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from evtrack.design import DESIGN_TIERS
from evtrack.errors import ConfigError
from evtrack.reliability import JudgeReliability

#: The priors evtrack ships.
DEFAULT_PRIORS_FILE = Path(__file__).resolve().parent / "data" / "score_priors.toml"

#: Certainty labels, lowest first.
CERTAINTY_LEVELS = ("very low", "low", "moderate", "high")

#: Who can decide a stance; anything else (an unjudged link) counts for nothing.
DECIDERS = ("verdict", "curator", "judge")


@dataclass(frozen=True)
class Priors:
    """Every number the score uses, read from a priors file (see :func:`load_priors`)."""

    tier_error: Mapping[str, float]
    decider_error: Mapping[str, float]  # verdict | curator | judge (judge: fallback only)
    min_shared_authors: int
    group_decay: float
    judge_prior_strength: float
    certainty_start: Mapping[str, str]  # tier -> level
    serious_contradiction: float
    very_serious_contradiction: float
    min_independent_groups: int
    max_automatic_share: float
    source: str  # the file they came from


def load_priors(path: Path | None = None) -> Priors:
    """Read and check a priors file (default: the packaged one). Every key must be present."""
    path = path or DEFAULT_PRIORS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the score priors ({exc})") from exc

    def table(name: str) -> dict[str, Any]:
        node: Any = data
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            raise ConfigError(f"{path}: [{name}] is missing")
        return node

    def number(name: str, key: str, lo: float, hi: float) -> float:
        v = table(name).get(key)
        if not isinstance(v, int | float) or isinstance(v, bool) or not lo <= v <= hi:
            raise ConfigError(f"{path}: {name}.{key} must be a number in [{lo}, {hi}], got {v!r}")
        return float(v)

    def level(key: str) -> str:
        v = table("certainty.start").get(key)
        if v not in CERTAINTY_LEVELS:
            raise ConfigError(f"{path}: certainty.start.{key} must be one of "
                              f"{', '.join(CERTAINTY_LEVELS)}, got {v!r}")
        return str(v)

    # Checked in the file's order, so the first problem reported is the first in the file.
    tier_error = {t: number("tier_error", t, 0, 1) for t in DESIGN_TIERS}
    decider_error = {d: number("decider_error", d, 0, 1) for d in DECIDERS}
    min_shared = int(number("groups", "min_shared_authors", 1, 1000))
    decay = number("groups", "decay", 0, 1)
    strength = number("judge_learning", "prior_strength", 0.001, 1e9)
    start = {t: level(t) for t in DESIGN_TIERS}
    serious = number("certainty.downgrade", "serious_contradiction", 0, 1)
    very_serious = number("certainty.downgrade", "very_serious_contradiction", serious, 1)
    return Priors(
        tier_error=tier_error, decider_error=decider_error, min_shared_authors=min_shared,
        group_decay=decay, judge_prior_strength=strength, certainty_start=start,
        serious_contradiction=serious, very_serious_contradiction=very_serious,
        min_independent_groups=int(number("certainty.downgrade", "min_independent_groups",
                                          0, 1000)),
        max_automatic_share=number("certainty.downgrade", "max_automatic_share", 0, 1),
        source=str(path),
    )


@lru_cache(maxsize=1)
def default_priors() -> Priors:
    """The packaged priors, read once (lazily: importing evtrack does no I/O)."""
    return load_priors()


@dataclass(frozen=True)
class Evidence:
    """One claim–paper link as the scorer sees it."""

    pmid: str
    stance: str  # supports | contradicts | mixed | mentions | unclear | irrelevant | unjudged
    tier: str
    decider: str  # verdict | curator | judge | none
    retracted: bool = False
    group: str | None = None  # independent group key; None: a group of its own
    method: str | None = None  # for decider "judge": which judge, e.g. "cue-rules 1.0"

    @property
    def group_key(self) -> str:
        return self.group if self.group is not None else self.pmid

    @property
    def weight(self) -> float:
        """``p`` under the packaged priors with no verdicts learnt; see :meth:`Scorer.weight`."""
        return Scorer().weight(self)


@dataclass(frozen=True)
class Contribution:
    """What one paper did to the score."""

    pmid: str
    stance: str
    tier: str
    decider: str
    group: str
    weight: float  # p: its chance of being right on its own
    effective: float  # after the group decay (for "mixed": on each side)
    delta: float  # score with it minus score without it (leave-one-out)


@dataclass(frozen=True)
class GroupBelief:
    """One independent group's share of the evidence."""

    key: str
    pmids: tuple[str, ...]  # its counted papers
    supports: int
    contradicts: int
    mixed: int
    support: float  # 1 − Π(1 − p_eff) over its supporting side
    contradiction: float


@dataclass(frozen=True)
class Certainty:
    """GRADE-like certainty: a starting level from the best supporting design, then downgrades."""

    label: str  # high | moderate | low | very low
    start: str  # the level the best supporting design starts at
    best_tier: str | None
    downgrades: tuple[str, ...]  # each concern, with the figure that raised it
    levels_off: int = 0


@dataclass(frozen=True)
class Score:
    """A claim's support score with everything needed to explain it."""

    score: float
    support: float  # S
    contradiction: float  # C
    contributions: tuple[Contribution, ...]  # counted papers, largest |delta| first
    groups: tuple[GroupBelief, ...]  # strongest support first
    certainty: Certainty
    independent_support: int  # groups with at least one supporting paper
    automatic_share: float  # the part of the support weight that rests on the automatic judge


@dataclass(frozen=True)
class _Piece:
    evidence: Evidence
    side: str  # supports | contradicts
    p: float


class Scorer:
    """The support score under given priors and a given trust in the automatic judges.

    ``judges`` are the (learnt) reliabilities of automatic judges, one per method and version.
    A judgement by a judge not among them gets the priors' fallback error. Evidence that does
    not say which judge made it (``method`` None) is taken to be by the only judge given.
    """

    def __init__(self, priors: Priors | None = None,
                 judges: Iterable[JudgeReliability] = ()) -> None:
        self.priors = priors or default_priors()
        self.judges = {j.key: j for j in judges}
        # weight() per (tier, stance, decider, method, retracted): a thousand claims' hundred
        # thousand links come in a few dozen kinds, and a judge's error is a search.
        self._weights: dict[tuple[str, str, str, str | None, bool], float] = {}

    def decider_error(self, e: Evidence) -> float | None:
        """The chance that ``e``'s stance is wrong; None when nobody decided it."""
        if e.decider == "judge":
            judge = (self.judges.get(e.method) if e.method is not None
                     else next(iter(self.judges.values())) if len(self.judges) == 1 else None)
            if judge is not None:
                return judge.error(self._tier(e), e.stance)
        return self.priors.decider_error.get(e.decider)

    def weight(self, e: Evidence) -> float:
        """``p = (1 − tier error) × (1 − decider error)``; 0 for retracted or unjudged links."""
        kind = (e.tier, e.stance, e.decider, e.method, e.retracted)
        p = self._weights.get(kind)
        if p is None:
            err = self.decider_error(e)
            p = self._weights[kind] = (0.0 if e.retracted or err is None else
                                       (1 - self.priors.tier_error[self._tier(e)]) * (1 - err))
        return p

    def _tier(self, e: Evidence) -> str:
        return e.tier if e.tier in self.priors.tier_error else "other"

    def _pieces(self, evidence: Iterable[Evidence]) -> list[_Piece]:
        out = []
        for e in evidence:
            p = self.weight(e)
            if p <= 0:
                continue
            if e.stance in ("supports", "contradicts"):
                out.append(_Piece(e, e.stance, p))
            elif e.stance == "mixed":
                out += [_Piece(e, "supports", p / 2), _Piece(e, "contradicts", p / 2)]
        return out

    def _rank(self, pieces: list[_Piece], idx: list[int]) -> tuple[float, dict[int, float]]:
        """One side of one group: (Π(1 − p_eff), effective weight per piece index).

        Ranks are by (−p, PMID) and factors are multiplied in sorted order, so the result does
        not depend on the order the evidence came in, not even in the last floating-point bit.
        """
        if len(idx) == 1:  # most groups' sides: p at rank 0 is p × 1.0, and 1.0 × (1 − p)
            p = pieces[idx[0]].p
            return 1 - p, {idx[0]: p}
        order = sorted(idx, key=lambda i: (-pieces[i].p, pieces[i].evidence.pmid))
        eff = {i: pieces[i].p * self.priors.group_decay ** k for k, i in enumerate(order)}
        return math.prod(sorted(1 - e for e in eff.values()), start=1.0), eff

    @staticmethod
    def _sides(factors: Mapping[tuple[str, str], float]) -> tuple[float, float]:
        """(S, C) from the per-(side, group) factors."""
        keep = {side: math.prod(sorted(f for (sd, _g), f in factors.items() if sd == side),
                               start=1.0)
                for side in ("supports", "contradicts")}
        return 1 - keep["supports"], 1 - keep["contradicts"]

    def score(self, evidence: Iterable[Evidence]) -> Score:
        """Combine ``evidence`` into a :class:`Score`; see the module docstring."""
        pieces = self._pieces(evidence)
        members: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, piece in enumerate(pieces):
            members[(piece.side, piece.evidence.group_key)].append(i)
        factors: dict[tuple[str, str], float] = {}
        effective: dict[int, float] = {}
        for key, idx in members.items():
            factors[key], eff = self._rank(pieces, idx)
            effective.update(eff)
        s, c = self._sides(factors)
        total = s * (1 - c)

        # Leave one paper out: only its own group's factors change, so this stays cheap
        # (the audit scores every possible answer for every link). Only the sides those
        # factors are on are multiplied again, as the same sorted list with them replaced:
        # the figures are _sides(without)'s to the last bit, without re-sorting every group
        # for every paper (a claim with thousands of links has hundreds of groups).
        by_pmid: dict[str, list[int]] = defaultdict(list)
        for i, piece in enumerate(pieces):
            by_pmid[piece.evidence.pmid].append(i)
        ordered = {side: sorted(f for (sd, _g), f in factors.items() if sd == side)
                   for side in ("supports", "contradicts")}
        kept = {side: math.prod(fs, start=1.0) for side, fs in ordered.items()}
        # A side's product without a paper depends only on which factor values leave it and
        # which come in (the list stays sorted, and equal floats are interchangeable), so it
        # is multiplied once per such change: most papers are alone in their group, and
        # papers of one kind have one factor, so a claim's hundred papers make a few changes.
        products: dict[tuple[str, tuple[float, ...], tuple[float, ...]], float] = {}
        contributions = []
        for pmid, mine in by_pmid.items():
            without = dict(kept)
            for side in ("supports", "contradicts"):
                keys = {(pieces[i].side, pieces[i].evidence.group_key) for i in mine
                        if pieces[i].side == side}
                if not keys:
                    continue
                out = tuple(sorted(factors[key] for key in keys))
                # A group left empty keeps the factor of no evidence, 1.0.
                into = tuple(sorted(self._rank(pieces, rest)[0] if rest else 1.0
                                    for key in keys
                                    for rest in [[i for i in members[key] if i not in mine]]))
                change = (side, out, into)
                product = products.get(change)
                if product is None:
                    fs = list(ordered[side])
                    for f in out:
                        del fs[bisect.bisect_left(fs, f)]
                    for f in into:
                        bisect.insort(fs, f)
                    product = products[change] = math.prod(fs, start=1.0)
                without[side] = product
            s2, c2 = 1 - without["supports"], 1 - without["contradicts"]
            e = pieces[mine[0]].evidence
            contributions.append(Contribution(
                pmid=pmid, stance=e.stance, tier=self._tier(e), decider=e.decider,
                group=e.group_key, weight=self.weight(e),
                effective=max(effective[i] for i in mine), delta=total - s2 * (1 - c2)))
        contributions.sort(key=lambda x: (-abs(x.delta), x.pmid))

        groups = self._groups(pieces, effective)
        support_weight = math.fsum(effective[i] for i, pc in enumerate(pieces)
                             if pc.side == "supports")
        judge_weight = math.fsum(effective[i] for i, pc in enumerate(pieces)
                           if pc.side == "supports" and pc.evidence.decider == "judge")
        share = judge_weight / support_weight if support_weight else 0.0
        independent = sum(1 for g in groups if g.supports)
        best = [self._tier(pc.evidence) for pc in pieces if pc.evidence.stance == "supports"]
        return Score(score=total, support=s, contradiction=c,
                     contributions=tuple(contributions), groups=groups,
                     certainty=self._certainty(best, c, independent, share),
                     independent_support=independent, automatic_share=share)

    def _groups(self, pieces: list[_Piece],
                effective: dict[int, float]) -> tuple[GroupBelief, ...]:
        by_group: dict[str, list[int]] = defaultdict(list)
        for i, pc in enumerate(pieces):
            by_group[pc.evidence.group_key].append(i)
        out = []
        for key, idx in by_group.items():
            stances = {pieces[i].evidence.pmid: pieces[i].evidence.stance for i in idx}
            keep: dict[str, list[float]] = {"supports": [], "contradicts": []}
            for i in idx:
                keep[pieces[i].side].append(1 - effective[i])
            n = Counter(stances.values())
            out.append(GroupBelief(
                key=key, pmids=(tuple(sorted(stances, key=lambda p: (len(p), p)))
                                if len(stances) > 1 else tuple(stances)),
                supports=n["supports"], contradicts=n["contradicts"], mixed=n["mixed"],
                support=1 - math.prod(sorted(keep["supports"]), start=1.0),
                contradiction=1 - math.prod(sorted(keep["contradicts"]), start=1.0)))
        out.sort(key=lambda g: (-g.support, -g.contradiction, g.key))
        return tuple(out)

    def _certainty(self, supporting_tiers: list[str], contradiction: float,
                   independent: int, automatic_share: float) -> Certainty:
        """Start from the best supporting design; one level off per concern (docs/scoring.md)."""
        pr = self.priors
        if not supporting_tiers:
            return Certainty("very low", "very low", None, ("no supporting evidence counts",))
        # The design that sets the highest starting level; the stronger tier on a tie.
        best = min(supporting_tiers, key=lambda t: (-CERTAINTY_LEVELS.index(
            pr.certainty_start[t]), DESIGN_TIERS.index(t)))
        start = pr.certainty_start[best]
        down: list[tuple[str, int]] = []
        if contradiction >= pr.very_serious_contradiction:
            down.append((f"very serious inconsistency (−2): contradiction {contradiction:.2f} "
                         f"≥ {pr.very_serious_contradiction:g}", 2))
        elif contradiction >= pr.serious_contradiction:
            down.append((f"inconsistency (−1): contradiction {contradiction:.2f} "
                         f"≥ {pr.serious_contradiction:g}", 1))
        if independent < pr.min_independent_groups:
            down.append((f"few independent groups (−1): {independent} supporting, fewer "
                         f"than {pr.min_independent_groups}", 1))
        if automatic_share > pr.max_automatic_share:
            down.append((f"unverified judgements (−1): {automatic_share:.0%} of the support "
                         "rests on the automatic judge", 1))
        off = sum(n for _, n in down)
        level = max(0, CERTAINTY_LEVELS.index(start) - off)
        return Certainty(CERTAINTY_LEVELS[level], start, best, tuple(r for r, _ in down), off)


def support_score(evidence: Iterable[Evidence], scorer: Scorer | None = None) -> Score:
    """Score ``evidence`` with ``scorer`` (default: the packaged priors, no verdicts learnt)."""
    return (scorer or Scorer()).score(evidence)

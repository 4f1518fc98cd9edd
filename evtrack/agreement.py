"""Inter-reviewer agreement on verdicts: Cohen's kappa for each pair of reviewers.

For two reviewers who judged the same ``n`` links, with ``p_o`` the share of links on which they
gave the same stance and ``p_e = Σ_k (row_k / n)(col_k / n)`` the share expected by chance from
each reviewer's own stance frequencies::

    κ = (p_o − p_e) / (1 − p_e)

κ is 1 for perfect agreement, 0 for agreement no better than chance, negative below chance. When
both reviewers used one and the same stance for every link, ``p_e = 1`` and κ is undefined
(0/0): reported as such, with the observed agreement. The standard error is the usual large-sample
approximation ``√(p_o(1 − p_o) / (n (1 − p_e)²))`` (Cohen 1960), so the 95 % interval is rough
for small ``n``. Labels follow Landis & Koch (1977).

Each reviewer's rating of a link is their newest verdict on it.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from evtrack.errors import EvtrackError, NotFoundError
from evtrack.store.models import Claim, Link, Paper, Verdict
from evtrack.verdicts import VERDICT_STANCES

K = TypeVar("K", bound=Hashable)


class AgreementError(EvtrackError):
    """Agreement cannot be computed: too few reviewers, or none judged a link in common."""


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa for one pair of raters over ``n`` items both rated."""

    n: int
    categories: tuple[str, ...]
    table: tuple[tuple[int, ...], ...]  # rows: first rater, columns: second rater
    observed: float  # p_o
    expected: float  # p_e
    kappa: float | None  # None when undefined (p_e == 1)
    se: float | None

    @property
    def ci95(self) -> tuple[float, float] | None:
        if self.kappa is None or self.se is None:
            return None
        return (max(-1.0, self.kappa - 1.96 * self.se), min(1.0, self.kappa + 1.96 * self.se))


def cohens_kappa(pairs: Iterable[tuple[str, str]],
                 categories: Sequence[str] | None = None) -> Kappa:
    """Cohen's kappa from (first rater's category, second rater's category) pairs.

    ``categories`` fixes the table's order; by default the stances in :data:`VERDICT_STANCES`
    order, then any others alphabetically. Raises ``ValueError`` for no pairs.
    """
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        raise ValueError("Cohen's kappa needs at least one item rated by both raters")
    seen = {c for pair in pairs for c in pair}
    if categories is None:
        known = [c for c in VERDICT_STANCES if c in seen]
        categories = (*known, *sorted(seen - set(known)))
    elif seen - set(categories):
        raise ValueError(f"categories missing from the list: {sorted(seen - set(categories))}")
    index = {c: i for i, c in enumerate(categories)}
    cells = Counter((index[a], index[b]) for a, b in pairs)
    k = len(categories)
    table = tuple(tuple(cells[(i, j)] for j in range(k)) for i in range(k))
    rows = [sum(table[i]) for i in range(k)]
    cols = [sum(table[i][j] for i in range(k)) for j in range(k)]
    p_o = sum(table[i][i] for i in range(k)) / n
    p_e = sum(r * c for r, c in zip(rows, cols, strict=True)) / (n * n)
    if math.isclose(p_e, 1.0):
        kappa, se = None, None
    else:
        kappa = (p_o - p_e) / (1 - p_e)
        se = math.sqrt(p_o * (1 - p_o) / (n * (1 - p_e) ** 2))
    return Kappa(n=n, categories=tuple(categories), table=table, observed=p_o, expected=p_e,
                 kappa=kappa, se=se)


def strength(kappa: float | None) -> str:
    """Landis & Koch's words for a kappa."""
    if kappa is None:
        return "undefined"
    if kappa < 0:
        return "poor"
    for upper, word in ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"),
                        (0.80, "substantial")):
        if kappa <= upper:
            return word
    return "almost perfect"


@dataclass(frozen=True)
class PairAgreement:
    """Two reviewers, how many links each judged, and kappa over the links both judged."""

    first: str
    second: str
    first_only: int
    second_only: int
    kappa: Kappa | None  # None when they judged no link in common


def pairwise_agreement(ratings: Mapping[str, Mapping[K, str]],
                       reviewers: Sequence[str] | None = None) -> list[PairAgreement]:
    """Kappa for every pair of ``reviewers`` (default: everyone in ``ratings``, sorted).

    ``ratings`` maps reviewer → item → category. Raises :class:`AgreementError` for fewer than
    two reviewers and :class:`~evtrack.errors.NotFoundError` for a named reviewer without
    ratings.
    """
    names = list(dict.fromkeys(reviewers)) if reviewers else sorted(ratings)
    missing = [r for r in names if not ratings.get(r)]
    if missing:
        have = ", ".join(f"{r} ({len(v)})" for r, v in sorted(ratings.items())) or "nobody"
        raise NotFoundError(f"no verdicts by {', '.join(missing)} (verdicts so far: {have})")
    if len(names) < 2:
        have = ", ".join(f"{r} ({len(v)} links)" for r, v in sorted(ratings.items()))
        raise AgreementError("agreement needs verdicts from two reviewers on the same links; "
                             f"verdicts so far: {have or 'none'}")
    out = []
    for a, b in itertools.combinations(names, 2):
        both = [item for item in ratings[a] if item in ratings[b]]
        kappa = cohens_kappa([(ratings[a][i], ratings[b][i]) for i in both]) if both else None
        out.append(PairAgreement(a, b, len(ratings[a]) - len(both),
                                 len(ratings[b]) - len(both), kappa))
    return out


def reviewer_ratings(engine: Engine, claim_ids: Sequence[str] | None = None
                     ) -> dict[str, dict[tuple[str, str], str]]:
    """reviewer → (claim id, PMID) → stance of their newest verdict on that link."""
    q = (select(Verdict.reviewer, Link.claim_id, Paper.pmid, Verdict.stance)
         .join(Link, Link.id == Verdict.link_id).join(Paper, Paper.id == Link.paper_id)
         .order_by(Verdict.created_at, Verdict.id))
    if claim_ids:
        q = q.where(Link.claim_id.in_(list(claim_ids)))
    out: dict[str, dict[tuple[str, str], str]] = {}
    with Session(engine) as s:
        if claim_ids:
            known = set(s.scalars(select(Claim.id).where(Claim.id.in_(list(claim_ids)))))
            missing = sorted(set(claim_ids) - known)
            if missing:
                raise NotFoundError(f"no claim {', '.join(missing)} in the store "
                                    "(see `evtrack claims list`)")
        for reviewer, claim_id, pmid, stance in s.execute(q):
            out.setdefault(reviewer, {})[(claim_id, pmid)] = stance  # newest wins
    return out


def format_agreement(pairs: Sequence[PairAgreement]) -> str:
    """A plain-text account: per pair, n, observed and chance agreement, kappa, the table."""
    blocks = []
    for p in pairs:
        head = f"{p.first} × {p.second}: "
        k = p.kappa
        if k is None:
            blocks.append(head + f"no link judged by both ({p.first} alone: {p.first_only}, "
                          f"{p.second} alone: {p.second_only}); kappa needs the same links "
                          "judged by both (`evtrack audit --blind` gives reviewers one queue).")
            continue
        lines = [head + f"{k.n} link{'' if k.n == 1 else 's'} judged by both"
                 + f" ({p.first} alone: {p.first_only}, {p.second} alone: {p.second_only})"]
        if k.kappa is None:
            lines.append(f"  observed agreement {k.observed:.2f}; Cohen's κ undefined: both used "
                         f"only {k.categories[0]!r}, so chance agreement is 1")
        else:
            ci = k.ci95
            interval = f", 95% CI {ci[0]:.2f} to {ci[1]:.2f}" if ci else ""
            lines.append(f"  observed agreement {k.observed:.2f}, chance {k.expected:.2f}, "
                         f"Cohen's κ = {k.kappa:.2f} ({strength(k.kappa)}{interval})")
        width = max(len(c) for c in k.categories) + 2
        cells = width
        lines.append(f"  rows: {p.first}; columns: {p.second}")
        lines.append("  " + " " * width + "".join(f"{c:>{cells}}" for c in k.categories))
        for cat, row in zip(k.categories, k.table, strict=True):
            lines.append(f"  {cat:<{width}}" + "".join(f"{v:>{cells}}" for v in row))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"

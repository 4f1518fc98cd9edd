"""Evidence over time: what was published by a date, and how the evidence piled up year by year.

PubMed often dates a paper only to the year (the bundled snapshot always does), sometimes to the
month or the day. "Published by a date" is decided at the precision the record gives, which is
what a reader would do with the citation in hand: a paper dated ``2014`` counts as published by
2014-10-04, one dated ``2014-11`` does not. :func:`published_by` states the rule once; the
report's ``--as-of`` and the evidence-over-time plot both use it.

>>> article = date(2014, 10, 4)
>>> published_by(2014, None, None, article), published_by(2014, 11, None, article)
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol


def published_by(year: int | None, month: int | None, day: int | None, when: date) -> bool:
    """True when a paper dated (year, month, day) — month and day optional — is not after
    ``when`` at the precision it is dated. An undated paper is never counted: nobody can say
    it was known by then."""
    if year is None:
        return False
    if month is None:
        return year <= when.year
    if day is None:
        return (year, month) <= (when.year, when.month)
    return (year, month, day) <= (when.year, when.month, when.day)


def partial_iso(year: int | None, month: int | None, day: int | None) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` from what is known; None when undated."""
    if year is None:
        return None
    out = f"{year:04d}"
    if month:
        out += f"-{month:02d}"
        if day:
            out += f"-{day:02d}"
    return out


def year_fraction(when: date) -> float:
    """A date as a decimal year (2014-10-04 → 2014.76), for placing it on a year axis."""
    start = date(when.year, 1, 1)
    days = (date(when.year + 1, 1, 1) - start).days
    return when.year + (when - start).days / days


class _Dated(Protocol):
    @property
    def year(self) -> int | None: ...
    @property
    def stance(self) -> str: ...
    @property
    def retracted(self) -> bool: ...


@dataclass(frozen=True)
class Cumulative:
    """Running totals of one stance by publication year: ``steps[i] = (year, total so far)``,
    one step per year in which the total changed."""

    stance: str
    steps: tuple[tuple[int, int], ...]

    @property
    def total(self) -> int:
        return self.steps[-1][1] if self.steps else 0

    def by(self, year: float) -> int:
        """The total counted at ``year`` (a decimal year: papers dated to a year count from
        the start of that year, as :func:`published_by` counts them)."""
        n = 0
        for y, total in self.steps:
            if y <= year:
                n = total
        return n


def cumulative_by_year(links: Iterable[_Dated],
                       stances: tuple[str, ...] = ("supports", "contradicts")
                       ) -> tuple[dict[str, Cumulative], int]:
    """Cumulative counts per stance by publication year, and how many papers were left out
    for having no year. Retracted papers are left out: they count for nothing in the score."""
    per_year: dict[str, dict[int, int]] = {s: {} for s in stances}
    undated = 0
    for r in links:
        if r.retracted or r.stance not in per_year:
            continue
        if r.year is None:
            undated += 1
            continue
        per_year[r.stance][r.year] = per_year[r.stance].get(r.year, 0) + 1
    out = {}
    for s, counts in per_year.items():
        total, steps = 0, []
        for y in sorted(counts):
            total += counts[y]
            steps.append((y, total))
        out[s] = Cumulative(s, tuple(steps))
    return out, undated

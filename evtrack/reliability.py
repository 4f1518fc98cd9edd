"""How far to trust the automatic judge: its measured error rate, re-estimated from verdicts.

The starting point is the error rate measured on a labelled benchmark (``bench/scifact_eval.py
--write-error-rates`` writes ``evtrack/data/judge_error_rates.json``), per stance when the file
has it — a judge's "contradicts" calls are often wrong far more often than its "supports" — or
a conservative fallback when nothing was measured for the judge in use. Every researcher verdict
on a link that the judge also judged is an observation: the judge was right, or it was not. The
rate is re-estimated per design tier and stance with a Beta prior worth ``prior_strength``
verdicts:

    error(tier, stance) = (e0(stance) · n0 + disagreements) / (n0 + verdicts)

so three verdicts move a prior worth twenty by at most 3/23, while a few hundred take over.
Only the judge's *counted* calls (supports, contradicts, mixed) are observations: they are what
the score trusts. A verdict of ``unclear`` says nothing about the judge and is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evtrack.errors import ConfigError

#: Where the measured error rate of the automatic judge is kept (package data).
MEASURED_ERROR_FILE = Path(__file__).resolve().parent / "data" / "judge_error_rates.json"

#: The judge's stances that the score counts, hence the ones a verdict can prove right or wrong.
COUNTED_STANCES = ("supports", "contradicts", "mixed")


@dataclass(frozen=True)
class MeasuredError:
    """An error rate measured for one version of one judge."""

    method: str
    version: str
    error_rate: float
    n: int | None = None  # how many of the judge's calls the measurement rests on
    basis: str = ""  # what it was measured on, for the report
    by_stance: Mapping[str, float] = field(default_factory=dict)  # stance -> error rate


def load_measured_error(path: Path | None = None) -> list[MeasuredError]:
    """The measured error rates in ``path`` (default: the packaged file); [] when absent.

    The file holds one object ``{"method", "version", "error_rate", …}`` or a list of them;
    keys beyond these are ignored. A file that exists but cannot be used is an error, not a
    silent fallback: a typo there would otherwise quietly change every score.
    """
    path = path or MEASURED_ERROR_FILE
    if not path.is_file():
        return []
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not readable JSON ({exc})") from exc
    entries = data if isinstance(data, list) else [data]
    out = []
    for i, entry in enumerate(entries):
        where = f"{path}" + (f": entry {i}" if isinstance(data, list) else "")
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected an object with method, version, error_rate")
        rate = entry.get("error_rate")
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise ConfigError(f"{where}: error_rate must be a number in [0, 1], got {rate!r}")
        method, version = entry.get("method"), entry.get("version")
        if not isinstance(method, str) or not isinstance(version, str | int | float):
            raise ConfigError(f"{where}: method (text) and version are required")
        by_stance = entry.get("error_rate_by_stance") or {}
        if not isinstance(by_stance, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
                for v in by_stance.values()):
            raise ConfigError(f"{where}: error_rate_by_stance must map stances to numbers "
                              "in [0, 1]")
        # The rate is over the judge's committed calls when the file says how many there were.
        n = entry.get("committed", entry.get("n"))
        basis = entry.get("measured_on") or entry.get("dataset") or ""
        out.append(MeasuredError(method=method, version=str(version), error_rate=float(rate),
                                 n=n if isinstance(n, int) and not isinstance(n, bool) else None,
                                 basis=str(basis),
                                 by_stance={str(k): float(v) for k, v in by_stance.items()}))
    return out


@dataclass(frozen=True)
class VerdictCheck:
    """One researcher verdict on a link the automatic judge also judged."""

    tier: str
    judge_stance: str
    verdict_stance: str

    @property
    def counts(self) -> bool:
        return self.judge_stance in COUNTED_STANCES and self.verdict_stance != "unclear"

    @property
    def judge_was_wrong(self) -> bool:
        return self.judge_stance != self.verdict_stance


@dataclass(frozen=True)
class TierEstimate:
    """The judge's error on one design tier and stance, and the verdicts it rests on."""

    tier: str
    stance: str  # the judge's call
    verdicts: int
    disagreements: int
    prior: float
    error: float  # posterior mean


@dataclass(frozen=True)
class JudgeReliability:
    """One automatic judge's error rate per design tier and stance, with what it rests on."""

    method: str
    version: str
    prior_error: float  # for any stance without a prior of its own
    prior_strength: float
    prior_basis: str  # "measured on …" or "fallback: …"
    prior_by_stance: Mapping[str, float] = field(default_factory=dict)
    estimates: tuple[TierEstimate, ...] = ()  # only where verdicts exist

    @property
    def key(self) -> str:
        """``"cue-rules 1.0"``: which judgements this applies to."""
        return f"{self.method} {self.version}"

    @property
    def verdicts(self) -> int:
        return sum(t.verdicts for t in self.estimates)

    @property
    def disagreements(self) -> int:
        return sum(t.disagreements for t in self.estimates)

    def prior(self, stance: str) -> float:
        return self.prior_by_stance.get(stance, self.prior_error)

    def error(self, tier: str, stance: str) -> float:
        """The estimated chance that the judge's ``stance`` call on a ``tier`` paper is wrong."""
        for est in self.estimates:
            if (est.tier, est.stance) == (tier, stance):
                return est.error
        return self.prior(stance)


def learn_judge_reliability(checks: Iterable[VerdictCheck], *, method: str, version: str,
                            prior_error: float, prior_strength: float, prior_basis: str,
                            prior_by_stance: Mapping[str, float] | None = None
                            ) -> JudgeReliability:
    """Re-estimate the judge's error per tier and stance from verdicts (Beta–binomial, see
    the module docstring).

    >>> r = learn_judge_reliability(
    ...     [VerdictCheck("rct", "supports", "contradicts")], method="m", version="1",
    ...     prior_error=0.2, prior_strength=4, prior_basis="test")
    >>> round(r.error("rct", "supports"), 2), r.error("in-vitro", "supports")
    (0.36, 0.2)
    """
    by_stance = dict(prior_by_stance or {})
    if any(not 0 <= e <= 1 for e in (prior_error, *by_stance.values())) or prior_strength <= 0:
        raise ValueError("error priors must be in [0, 1] and prior_strength positive")
    seen: dict[tuple[str, str], list[int]] = {}
    for c in checks:
        if c.counts:
            tally = seen.setdefault((c.tier, c.judge_stance), [0, 0])  # [verdicts, wrong]
            tally[0] += 1
            tally[1] += int(c.judge_was_wrong)
    n0 = prior_strength
    estimates = []
    for (tier, stance), (n, wrong) in sorted(seen.items()):
        e0 = by_stance.get(stance, prior_error)
        estimates.append(TierEstimate(tier, stance, n, wrong, e0, (e0 * n0 + wrong) / (n0 + n)))
    return JudgeReliability(method=method, version=version, prior_error=prior_error,
                            prior_strength=prior_strength, prior_basis=prior_basis,
                            prior_by_stance=by_stance, estimates=tuple(estimates))


def judge_reliability(checks: Iterable[VerdictCheck], *, method: str, version: str,
                      fallback_error: float, prior_strength: float,
                      measured: Iterable[MeasuredError] = ()) -> JudgeReliability:
    """The judge ``method``/``version``'s reliability: the measured rate for exactly that judge
    as prior when there is one (a rate measured for another version says nothing about this
    one), else ``fallback_error``; then updated with ``checks``."""
    match = next((m for m in measured if (m.method, m.version) == (method, version)), None)
    if match is not None:
        on = f" on {match.basis}" if match.basis else ""
        calls = f", {match.n} calls" if match.n else ""
        basis = f"measured{on}{calls}"
        prior, by_stance = match.error_rate, match.by_stance
    else:
        basis = "fallback: no error rate measured for this judge version"
        prior, by_stance = fallback_error, {}
    return learn_judge_reliability(checks, method=method, version=version, prior_error=prior,
                                   prior_by_stance=by_stance,
                                   prior_strength=prior_strength, prior_basis=basis)

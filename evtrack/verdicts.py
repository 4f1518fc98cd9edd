"""Researcher verdicts: what a verdict may say, who gave it, recording it, and the audit trail.

A verdict is a person's stance on one claim–paper link. It overrides the curator's stance and the
automatic judge, and nothing but :func:`record_verdict` (through
:func:`evtrack.store.ledger.add_verdict`) ever writes one: refresh replaces judgements, never
verdicts. Verdicts are append-only — a reviewer who changes their mind adds a newer verdict, so
the trail keeps both.

Example::

    with engine.begin() as conn:
        record_verdict(conn, "C6", "21677641", stance="supports", reviewer="A. Reviewer",
                       note="BDNF knockouts unresponsive", tag=None)
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from evtrack.claims import STANCES
from evtrack.errors import ConfigError, EvtrackError

if TYPE_CHECKING:  # the CLI imports this module for its constants: keep `evtrack --help` light
    from sqlalchemy import Connection, Engine

#: Stances a verdict may give: the claims file's, plus "irrelevant" (the query found a paper
#: that does not bear on the claim at all — a retrieval error, not a "mentions").
VERDICT_STANCES: tuple[str, ...] = (*STANCES, "irrelevant")

#: Error tags, after INDRA's curation tags: what the automatic judgement got wrong.
ERROR_TAGS: tuple[str, ...] = ("wrong_relation", "polarity", "negative_result", "hypothesis",
                               "context_mismatch", "other")


class VerdictError(EvtrackError):
    """A verdict's stance or error tag is not one evtrack knows."""


def parse_tag(text: str | None, *, numbers: bool = False) -> str | None:
    """An error tag from what a reviewer typed; with ``numbers``, also its number (1-based) in
    :data:`ERROR_TAGS`, the audit loop's shortcut.

    Empty means no tag. Case, surrounding spaces and hyphens for underscores are forgiven
    (``"Context-Mismatch"`` → ``"context_mismatch"``); anything else is a :class:`VerdictError`
    that lists the choices.
    """
    raw = (text or "").strip()
    if not raw:
        return None
    if numbers and raw.isdigit() and 1 <= int(raw) <= len(ERROR_TAGS):
        return ERROR_TAGS[int(raw) - 1]
    name = raw.lower().replace("-", "_").replace(" ", "_")
    if name in ERROR_TAGS:
        return name
    choices = (", ".join(f"{i} {t}" for i, t in enumerate(ERROR_TAGS, 1)) if numbers
               else ", ".join(ERROR_TAGS))
    raise VerdictError(f"unknown error tag {raw!r}; choose one of: {choices} (or none)")


def check_stance(stance: str) -> str:
    if stance not in VERDICT_STANCES:
        raise VerdictError(f"unknown stance {stance!r}; choose one of: "
                           f"{', '.join(VERDICT_STANCES)}")
    return stance


def resolve_reviewer(flag: str | None, environ: Mapping[str, str],
                     git_user: Callable[[], str | None]) -> str:
    """Who is giving verdicts: ``--reviewer`` > ``EVTRACK_REVIEWER`` > ``git config user.name``
    > the login name. ``git_user`` is only called when needed (it runs a subprocess)."""
    for candidate in (flag, environ.get("EVTRACK_REVIEWER")):
        if candidate and candidate.strip():
            return candidate.strip()
    name = git_user()
    if name:
        return name
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (bare containers)
        login = ""
    if login:
        return login
    raise ConfigError("cannot tell who you are: pass --reviewer NAME or set EVTRACK_REVIEWER")


def record_verdict(conn: Connection, claim_id: str, pmid: str, *, stance: str, reviewer: str,
                   note: str | None = None, tag: str | None = None) -> int:
    """Validate and store one verdict inside the caller's transaction; returns its id.

    Raises :class:`VerdictError` for an unknown stance or tag and
    :class:`~evtrack.errors.NotFoundError` when the claim and PMID are not linked.
    """
    from evtrack.store.ledger import add_verdict

    check_stance(stance)
    clean_tag = parse_tag(tag)
    if not reviewer.strip():
        raise VerdictError("a verdict needs a reviewer name")
    return add_verdict(conn, claim_id, pmid, stance=stance, reviewer=reviewer.strip(),
                       note=(note or "").strip() or None, tag=clean_tag)


@dataclass(frozen=True)
class TrailRow:
    """One verdict in the audit trail, with what it overrode."""

    verdict_id: int
    claim_id: str
    claim: str
    pmid: str
    title: str
    stance: str
    stance_before: str  # the stance in force just before this verdict
    decided_before: str  # who decided that: "verdict by X", the curator file, the judge
    curator_stance: str | None  # the claims file's stance on the link now, if any
    judge_stance: str | None  # the automatic judge's stance on the link now, if any
    reviewer: str
    created_at: datetime  # UTC
    note: str | None
    tag: str | None
    current: bool  # False once a newer verdict on the same link exists


def audit_trail(engine: Engine, claim_ids: list[str] | None = None) -> list[TrailRow]:
    """Every verdict, oldest first, with the stance it replaced.

    The curator's and judge's stances are the ones stored now: a later refresh may have
    re-judged the link, and the judge keeps no history.
    """
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from evtrack.refresh import CURATED_METHOD
    from evtrack.store.models import Claim, Judgement, Link, Paper, Verdict

    with Session(engine) as s:
        q = (select(Verdict, Link.claim_id, Claim.text, Paper.pmid, Paper.title)
             .join(Link, Link.id == Verdict.link_id).join(Claim, Claim.id == Link.claim_id)
             .join(Paper, Paper.id == Link.paper_id).order_by(Verdict.created_at, Verdict.id))
        if claim_ids:
            q = q.where(Link.claim_id.in_(claim_ids))
        rows = s.execute(q).all()
        link_ids = {r[0].link_id for r in rows}
        judged: dict[tuple[int, str], tuple[str, str]] = {}
        for lid, method, stance, who in s.execute(
                select(Judgement.link_id, Judgement.method, Judgement.stance,
                       Judgement.decided_by)
                .where(Judgement.link_id.in_(link_ids)).order_by(Judgement.id)):
            judged[(lid, "curator" if method == CURATED_METHOD else "judge")] = (stance, who)
    last: dict[int, tuple[str, str]] = {}
    newest = {r[0].link_id: r[0].id for r in rows}
    out = []
    for v, claim_id, claim_text, pmid, title in rows:
        cur, auto = judged.get((v.link_id, "curator")), judged.get((v.link_id, "judge"))
        before = last.get(v.link_id) or cur or auto or ("unjudged", "none")
        out.append(TrailRow(
            verdict_id=v.id, claim_id=claim_id, claim=claim_text, pmid=pmid, title=title,
            stance=v.stance, stance_before=before[0], decided_before=before[1],
            curator_stance=cur[0] if cur else None, judge_stance=auto[0] if auto else None,
            reviewer=v.reviewer, created_at=v.created_at, note=v.note, tag=v.tag,
            current=newest[v.link_id] == v.id))
        last[v.link_id] = (v.stance, f"verdict by {v.reviewer}")
    return out

"""What changed since a refresh or a date: the refresh diff.

Every successful refresh ends with a snapshot of each claim (:func:`take_snapshot`): its score,
certainty and, per linked paper, the stance, tier, decider, retraction flag and correction
notices. :func:`diff_since` compares such a snapshot — the baseline — with the ledger as it is
now and lists, per claim: new papers (by stance and tier), stance changes, score and certainty
changes, new retractions and correction notices, and the researchers' verdicts added since.

The baseline for ``since``:

* ``None``: the state before the newest refresh (its predecessor's snapshot), so right after a
  refresh ``evtrack diff`` shows what that refresh changed, plus any verdicts since;
* a run id: the state that run left (the newest snapshot at or before it);
* a date: the state at the start of that day (the newest snapshot taken before it).

No snapshot to compare with (a new database, a date before the first refresh) means an empty
baseline: everything is new, and the label says so.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, delete, insert, select

from evtrack import report_cache
from evtrack.errors import NotFoundError
from evtrack.report import UNJUDGED, ClaimReport, Report, build_report
from evtrack.store import ledger, summary
from evtrack.store.db import read_snapshot
from evtrack.store.models import (
    ClaimSnapshot,
    Judgement,
    Link,
    Paper,
    PaperCorrection,
    RefreshRun,
    Verdict,
)
from evtrack.store.papers import utcnow

#: CommentsCorrections types that are notices *about* the paper itself.
NOTICE_TYPES = ("RetractionIn", "PartialRetractionIn", "ExpressionOfConcernIn", "ErratumIn",
                "CorrectedandRepublishedIn", "RetractedandRepublishedIn")

#: Change kinds, in the order they are listed within a claim.
CHANGE_KINDS = ("claim", "score", "certainty", "retraction", "notice", "new-paper", "stance",
                "verdict")

#: A score change smaller than this is rounding, not news.
SCORE_EPSILON = 0.005


class LinkState(NamedTuple):
    """A link as a snapshot keeps it; a tuple, written to ``links_json`` as the list it is."""

    stance: str
    tier: str
    decider: str
    retracted: bool
    notices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClaimState:
    claim_id: str
    score: float
    support: float
    contradiction: float
    certainty: str
    independent_groups: int
    links: Mapping[str, LinkState] = field(default_factory=dict)


@dataclass(frozen=True)
class Baseline:
    label: str  # "run 3 (refresh, offline, 2026-11-27 14:05 UTC)", "before the first refresh"
    run_id: int | None
    taken_at: datetime | None  # verdicts after this are "added since"
    states: Mapping[str, ClaimState]


@dataclass(frozen=True)
class Change:
    """One thing that changed. ``before``/``after`` are the old and new value as text."""

    kind: str  # one of CHANGE_KINDS
    claim_id: str
    detail: str  # one line for people
    pmid: str | None = None
    title: str | None = None
    stance: str | None = None
    tier: str | None = None
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class Changes:
    since: Baseline
    now: str  # "run 4 (refresh, offline) finished …"
    items: tuple[Change, ...]
    claims: tuple[str, ...]  # every claim compared, in report order

    def for_claim(self, claim_id: str) -> list[Change]:
        return [c for c in self.items if c.claim_id == claim_id]

    def new_papers(self, claim_id: str) -> dict[str, Counter[str]]:
        """New papers of a claim: stance → tier → how many."""
        out: dict[str, Counter[str]] = {}
        for c in self.for_claim(claim_id):
            if c.kind == "new-paper":
                out.setdefault(c.stance or "unjudged", Counter())[c.tier or "other"] += 1
        return out

    @property
    def unchanged(self) -> list[str]:
        changed = {c.claim_id for c in self.items}
        return [cid for cid in self.claims if cid not in changed]


# --- snapshots --------------------------------------------------------------------------------


def paper_notices(conn: Connection, pmids: Iterable[str] | None = None
                  ) -> dict[str, tuple[str, ...]]:
    """PMID → the notices PubMed lists about it (:data:`NOTICE_TYPES`), sorted: of ``pmids``,
    or of every paper (one query) when None."""
    stmt = (select(Paper.pmid, PaperCorrection.ref_type)
            .join(PaperCorrection, PaperCorrection.paper_id == Paper.id)
            .where(PaperCorrection.ref_type.in_(NOTICE_TYPES)))
    parts = [stmt] if pmids is None else [
        stmt.where(summary.among(conn, Paper.pmid, part))
        for part in summary.batches(sorted(set(pmids)))]
    found: dict[str, set[str]] = {}
    for part in parts:
        for pmid, kind in conn.execute(part):
            found.setdefault(pmid, set()).add(kind)
    return {pmid: tuple(sorted(kinds)) for pmid, kinds in found.items()}


def claim_states(report: Report, notices: Mapping[str, tuple[str, ...]]) -> dict[str, ClaimState]:
    """Each claim of ``report`` reduced to what a diff compares."""
    return {c.id: _claim_state(c, {r.pmid: LinkState(r.stance, r.tier, r.decider, r.retracted,
                                                     notices.get(r.pmid, ())) for r in c.links})
            for c in report.claims}


def report_states(conn: Connection, report: Report) -> dict[str, ClaimState]:
    """:func:`claim_states` of ``report``, with its papers' notices read on ``conn``."""
    return claim_states(report, paper_notices(conn, {r.pmid for c in report.claims
                                                     for r in c.links}))


def _claim_state(c: ClaimReport, links: dict[str, LinkState]) -> ClaimState:
    return ClaimState(claim_id=c.id, score=c.score.score, support=c.score.support,
                      contradiction=c.score.contradiction, certainty=c.score.certainty.label,
                      independent_groups=c.score.independent_support, links=links)


#: Claims whose links' states :func:`summary_states` reads in one go.
STATE_CHUNK = 50
#: How many times :func:`current_states` takes the summary report again when the ledger changed
#: between it and the links' states, before it builds the full report instead.
ATTEMPTS = 3


def current_states(engine: Engine) -> tuple[Report, dict[str, ClaimState]]:
    """Every claim's state as the store holds it now, with the report it was read with.

    :func:`claim_states` of the full report, without the full report: from the kept summary
    report (:func:`evtrack.report_cache.summary_report`, which names only the links that can
    move a score) and every link's state read from the store in one snapshot with it
    (:func:`summary_states`). At a million links that is what spares a refresh building the
    full report, a minute and some 3 GB, to take its snapshot. When the ledger keeps changing
    between the two reads, the full report is built after :data:`ATTEMPTS` tries.
    """
    for _ in range(ATTEMPTS):
        report = report_cache.summary_report(engine)
        with read_snapshot(engine) as conn:
            if ledger.generation(conn) == report.generation:
                return report, summary_states(conn, report)
    report = build_report(engine)
    with read_snapshot(engine) as conn:
        return report, report_states(conn, report)


#: (stance, decider) of a link nobody judged.
_UNJUDGED = UNJUDGED[:2]


def summary_states(conn: Connection, report: Report) -> dict[str, ClaimState]:
    """:func:`claim_states` of the full report, from a summary ``report`` and ``conn``, a
    snapshot showing the ledger it was built from.

    The links the summary names carry their own stance, tier and decider. Every other link
    moves no score (no verdict, no curator's design, not retracted: :mod:`evtrack.store.summary`),
    so its stance is its effective judgement's, its decider the curator or the judge, and its
    tier its paper's. The links and their judgements are read :data:`STATE_CHUNK` claims at a
    time, as plain tuples; the papers and their notices once. Those links' states are a few
    hundred distinct values at most, each made once and shared (a state is immutable).
    """
    papers = {pid: (pmid, tier) for pid, pmid, tier in summary.plain_rows(
        conn, select(Paper.id, Paper.pmid, Paper.design_tier))}
    notices = paper_notices(conn)
    out: dict[str, ClaimState] = {}
    shared: dict[tuple[str, str, str, tuple[str, ...]], LinkState] = {}  # by its fields
    for part in summary.batches(report.claims, STATE_CHUNK):
        in_claims = Link.claim_id.in_([c.id for c in part])
        judged = {lid: (stance, "curator" if method == summary.CURATED_METHOD else "judge")
                  for lid, stance, method in summary.plain_rows(
                      conn, select(Judgement.link_id, Judgement.stance, Judgement.method)
                      .join(Link, Link.id == Judgement.link_id)
                      .where(in_claims, summary.effective_judgement()))}
        links: dict[str, list[tuple[int, int]]] = {}
        for cid, lid, pid in summary.plain_rows(
                conn, select(Link.claim_id, Link.id, Link.paper_id).where(in_claims)):
            links.setdefault(cid, []).append((lid, pid))
        for c in part:
            states = {r.pmid: LinkState(r.stance, r.tier, r.decider, r.retracted,
                                        notices.get(r.pmid, ())) for r in c.links}
            for lid, pid in links.get(c.id, ()):
                pmid, tier = papers[pid]
                if pmid not in states:
                    stance, decider = judged.get(lid, _UNJUDGED)
                    key = (stance, tier, decider, notices.get(pmid, ()))
                    state = shared.get(key)
                    if state is None:
                        state = shared[key] = LinkState(stance, tier, decider, False, key[3])
                    states[pmid] = state
            out[c.id] = _claim_state(c, states)
    return out


def take_snapshot(engine: Engine, run_id: int) -> int:
    """Store every claim's current state under ``run_id``; returns how many claims.

    Taking it twice for one run replaces it. A refresh does the same in two steps
    (:func:`snapshot_rows`, then :func:`store_snapshot` in the transaction that marks the run
    ok), so no run is ever "ok" without its snapshot.
    """
    rows = snapshot_rows(engine, run_id)
    with engine.begin() as conn:
        store_snapshot(conn, run_id, rows)
    return len(rows)


def snapshot_rows(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    """Each claim's state as the store holds it now (:func:`current_states`), as
    ``claim_snapshots`` rows for ``run_id``."""
    _report, states = current_states(engine)
    now = utcnow()
    encoded: dict[LinkState, str] = {}
    return [{"run_id": run_id, "claim_id": s.claim_id, "taken_at": now, "score": s.score,
             "support": s.support, "contradiction": s.contradiction, "certainty": s.certainty,
             "independent_groups": s.independent_groups,
             "links_json": links_json(s.links, encoded)}
            for s in states.values()]


def links_json(links: Mapping[str, LinkState], encoded: dict[LinkState, str]) -> str:
    """``links`` as ``claim_snapshots.links_json`` keeps them: ``[[state, …], {pmid: i, …}]``,
    the claim's distinct states (each a list ``[stance, tier, decider, retracted, [notices]]``:
    a :class:`LinkState` is that tuple) in order of first use, and each link in PMID order with
    the position of its state. A claim's thousand links are a handful of states, so the row is
    a fourth of every link's state written out (the first format, until migration 0008);
    ``encoded`` keeps each state's JSON, made once for every claim of a snapshot."""
    index: dict[LinkState, int] = {}
    out = []
    for pmid, state in sorted(links.items()):
        i = index.get(state)
        if i is None:
            i = index[state] = len(index)
        key = f'"{pmid}"' if pmid.isascii() and pmid.isdigit() else json.dumps(pmid)
        out.append(f"{key}:{i}")
    states = []
    for state in index:
        text = encoded.get(state)
        if text is None:
            text = encoded[state] = json.dumps(state, separators=(",", ":"))
        states.append(text)
    return "[[" + ",".join(states) + "],{" + ",".join(out) + "}]"


def read_links(text: str) -> dict[str, LinkState]:
    """The links :func:`links_json` wrote as ``text`` (migration 0008 rewrote the rows an
    earlier evtrack kept, every link's state written out, in this format)."""
    listed, at = json.loads(text)
    states = [_link_state(v) for v in listed]
    return {p: states[i] for p, i in at.items()}


def _link_state(v: list[Any]) -> LinkState:
    return LinkState(v[0], v[1], v[2], bool(v[3]), tuple(v[4]))


def store_snapshot(conn: Connection, run_id: int, rows: list[dict[str, Any]]) -> None:
    """Replace ``run_id``'s snapshot with ``rows`` inside the caller's transaction."""
    conn.execute(delete(ClaimSnapshot).where(ClaimSnapshot.run_id == run_id))
    if rows:
        conn.execute(insert(ClaimSnapshot), rows)


def _load_states(conn: Connection, run_id: int) -> dict[str, ClaimState]:
    out = {}
    for s in conn.execute(select(ClaimSnapshot).where(ClaimSnapshot.run_id == run_id)):
        links = read_links(s.links_json)
        out[s.claim_id] = ClaimState(s.claim_id, s.score, s.support, s.contradiction,
                                     s.certainty, s.independent_groups, links)
    return out


def _run_label(conn: Connection, run_id: int) -> str:
    r = conn.execute(select(RefreshRun).where(RefreshRun.id == run_id)).first()
    if r is None:
        return f"run {run_id}"
    when = r.finished_at or r.started_at
    return f"run {r.id} ({r.kind}, {r.source}, {when:%Y-%m-%d %H:%M} UTC)"


def find_baseline(conn: Connection, since: int | date | None = None) -> Baseline:
    """The snapshot to compare with; see the module docstring. An unknown run id raises
    :class:`~evtrack.errors.NotFoundError`."""
    snap = select(ClaimSnapshot.run_id, ClaimSnapshot.taken_at).order_by(
        ClaimSnapshot.run_id.desc()).limit(1)
    if since is None:
        newest = conn.scalar(select(ClaimSnapshot.run_id).order_by(ClaimSnapshot.run_id.desc())
                             .limit(1))
        row = conn.execute(snap.where(ClaimSnapshot.run_id < newest)).first() \
            if newest is not None else None
        empty = "before the first refresh"
    elif isinstance(since, int):
        if conn.scalar(select(RefreshRun.id).where(RefreshRun.id == since)) is None:
            raise NotFoundError(f"no run {since} in the store (see `evtrack status`)")
        row = conn.execute(snap.where(ClaimSnapshot.run_id <= since)).first()
        empty = f"run {since} (no snapshot at or before it: everything counts as new)"
    else:
        start = datetime.combine(since, time.min)
        row = conn.execute(snap.where(ClaimSnapshot.taken_at < start)).first()
        empty = f"{since:%Y-%m-%d} (no refresh before it: everything counts as new)"
    if row is None:
        when = datetime.combine(since, time.min) if isinstance(since, date) else None
        return Baseline(empty, None, when, {})
    run_id, taken_at = row
    label = _run_label(conn, run_id)
    if isinstance(since, date):
        label = f"{since:%Y-%m-%d}: {label}"
    return Baseline(label, run_id, taken_at, _load_states(conn, run_id))


# --- the diff ---------------------------------------------------------------------------------


def diff_since(engine: Engine, since: int | date | None = None,
               report: Report | None = None,
               claim_ids: Sequence[str] | None = None) -> Changes:
    """What changed between the baseline for ``since`` and now: in ``report``'s claims, or
    else in ``claim_ids``' (their full report; an unknown one raises
    :class:`~evtrack.errors.NotFoundError`), or else in every claim as the store holds them
    now (:func:`current_states`, which builds no full report)."""
    now: dict[str, ClaimState] | None = None
    if report is None and claim_ids:
        # A few claims' full report costs less than every claim's kept summary (at a million
        # links, one claim's: 0.3 s against 1 s).
        report = build_report(engine, list(claim_ids))
    elif report is None:
        report, now = current_states(engine)
    with read_snapshot(engine) as conn:
        base = find_baseline(conn, since)
        if now is None:
            now = report_states(conn, report)
        verdicts = _verdicts_since(conn, base.taken_at, list(now))
        # The links a summary report names carry their titles; the others' are read here,
        # for the links whose state moved (a change names only those).
        titles: dict[tuple[str, str], str | None] = {
            (c.id, r.pmid): r.title for c in report.claims for r in c.links}
        moved: list[tuple[str, str]] = []
        for cid, state in now.items():
            old = base.states[cid].links if cid in base.states else {}
            moved += [(cid, pmid) for pmid, x in state.links.items()
                      if (cid, pmid) not in titles and old.get(pmid) != x]
        if moved:
            found = _titles(conn, {pmid for _cid, pmid in moved})
            titles.update({key: found.get(key[1]) for key in moved})
        items: list[Change] = []
        for cid, state in now.items():
            items += _claim_changes(base.states.get(cid), state, titles, bool(base.states))
    items += verdicts
    order = {cid: i for i, cid in enumerate(now)}
    items.sort(key=lambda c: (order.get(c.claim_id, len(order)), CHANGE_KINDS.index(c.kind),
                              c.pmid or ""))
    return Changes(base, report.last_run or "no refresh yet", tuple(items), tuple(now))


def _titles(conn: Connection, pmids: Iterable[str]) -> dict[str, str]:
    """PMID → its paper's title."""
    out: dict[str, str] = {}
    for part in summary.batches(sorted(pmids)):
        out.update(conn.execute(select(Paper.pmid, Paper.title)
                                .where(summary.among(conn, Paper.pmid, part))).all())
    return out


def _claim_changes(before: ClaimState | None, now: ClaimState,
                   titles: Mapping[tuple[str, str], str | None],
                   had_baseline: bool) -> list[Change]:
    cid = now.claim_id
    out: list[Change] = []
    if before is None:
        # A claim added to the files since the baseline, or no baseline at all.
        first = "new claim" if had_baseline else "first refresh"
        out.append(Change("claim", cid, f"{first}: score {now.score:.2f}, certainty "
                          f"{now.certainty}", after=f"{now.score:.2f}"))
        before = ClaimState(cid, 0.0, 0.0, 0.0, "none", 0, {})
    elif abs(now.score - before.score) >= SCORE_EPSILON:
        out.append(Change("score", cid, f"score {before.score:.2f} → {now.score:.2f}",
                          before=f"{before.score:.2f}", after=f"{now.score:.2f}"))
    if before.certainty not in ("none", now.certainty):
        out.append(Change("certainty", cid, f"certainty {before.certainty} → {now.certainty}",
                          before=before.certainty, after=now.certainty))
    for pmid, x in sorted(now.links.items()):
        old = before.links.get(pmid)
        common = {"pmid": pmid, "title": titles.get((cid, pmid)), "stance": x.stance,
                  "tier": x.tier}
        if old is None:
            out.append(Change("new-paper", cid, f"new paper PMID {pmid}: {x.stance} ({x.tier}, "
                              f"{x.decider})", after=x.stance, **common))
        elif old.stance != x.stance:
            out.append(Change("stance", cid, f"PMID {pmid}: {old.stance} → {x.stance} "
                              f"(now decided by {x.decider})", before=old.stance,
                              after=x.stance, **common))
        if x.retracted and not (old and old.retracted):
            out.append(Change("retraction", cid, f"PMID {pmid} is retracted: it no longer "
                              "counts", **common))
        for notice in x.notices:
            if notice != "RetractionIn" and notice not in (old.notices if old else ()):
                out.append(Change("notice", cid, f"PMID {pmid}: new notice {notice}",
                                  after=notice, **common))
    return out


def _verdicts_since(conn: Connection, after: datetime | None,
                    claim_ids: list[str]) -> list[Change]:
    q = (select(Verdict.stance, Verdict.reviewer, Verdict.note, Verdict.created_at,
                Link.claim_id, Paper.pmid, Paper.title)
         .join(Link, Link.id == Verdict.link_id).join(Paper, Paper.id == Link.paper_id)
         .where(Link.claim_id.in_(claim_ids)).order_by(Verdict.created_at, Verdict.id))
    if after is not None:
        q = q.where(Verdict.created_at > after)
    return [Change("verdict", cid, f"verdict on PMID {pmid}: {stance} by {who} "
                   f"({created:%Y-%m-%d})" + (f": {note}" if note else ""),
                   pmid=pmid, title=title, stance=stance, after=stance)
            for stance, who, note, created, cid, pmid, title in conn.execute(q)]


# --- as text and as a table -------------------------------------------------------------------

#: changes.csv's columns, in order.
CHANGE_COLUMNS = ["since", "kind", "claim_id", "pmid", "title", "stance", "tier", "before",
                  "after", "detail"]

_MARK = {"new-paper": "+", "stance": "~", "retraction": "!", "notice": "!", "verdict": "✎"}


def changes_text(ch: Changes, *, details: bool = True) -> str:
    """The diff for a terminal: per claim a headline, then one line per paper-level change."""
    lines = [f"What changed since {ch.since.label} — now: {ch.now}"]
    if not ch.items:
        return lines[0] + "\nNothing changed.\n"
    for cid in ch.claims:
        items = ch.for_claim(cid)
        if not items:
            continue
        head = "; ".join(x.detail for x in items if x.kind in ("claim", "score", "certainty"))
        lines.append(f"{cid:<6}{head or 'score and certainty unchanged'}")
        new = ch.new_papers(cid)
        if new:
            n = sum(sum(t.values()) for t in new.values())
            lines.append(f"      {n} new paper{'s' if n != 1 else ''}: " + "; ".join(
                f"{stance} {sum(t.values())} ("
                + ", ".join(f"{tier} {k}" for tier, k in sorted(t.items())) + ")"
                for stance, t in sorted(new.items(), key=lambda kv: _stance_order(kv[0]))))
        if details:
            for x in items:
                if x.kind in _MARK:
                    title = f" — {x.title[:70]}{'…' if len(x.title) > 70 else ''}" \
                        if x.title else ""
                    lines.append(f"      {_MARK[x.kind]} {x.detail}{title}")
    if ch.unchanged:
        lines.append(f"Unchanged: {', '.join(ch.unchanged)}")
    return "\n".join(lines) + "\n"


def _stance_order(stance: str) -> int:
    order = ("supports", "contradicts", "mixed", "mentions")
    return order.index(stance) if stance in order else len(order)


def changes_rows(ch: Changes) -> list[dict[str, str | None]]:
    """One row per change, with :data:`CHANGE_COLUMNS` as keys (for ``changes.csv``)."""
    return [{"since": ch.since.label, "kind": x.kind, "claim_id": x.claim_id, "pmid": x.pmid,
             "title": x.title, "stance": x.stance, "tier": x.tier, "before": x.before,
             "after": x.after, "detail": x.detail} for x in ch.items]

"""Building the support report: per claim, its evidence, how it was judged, and its score.

The result is plain dataclasses; :mod:`evtrack.render` turns them into a table, JSON, CSV or
HTML, and :mod:`evtrack.export` into CSV files. Every figure can be traced to PMIDs and deciders.

Stance precedence for a link: the newest researcher verdict, else the curator's stance from the
claims file, else the automatic judge. The design tier is the curator's when given, else the one
inferred from publication types and MeSH.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from evtrack.chain import ChainReport, claim_chain
from evtrack.errors import NotFoundError
from evtrack.groups import author_name, group_label, independent_groups, shared_authors
from evtrack.refresh import CURATED_METHOD
from evtrack.reliability import (
    JudgeReliability,
    VerdictCheck,
    judge_reliability,
    load_measured_error,
)
from evtrack.scoring import Evidence, Priors, Score, Scorer, default_priors
from evtrack.store.db import read_snapshot
from evtrack.store.models import (
    CitedReference,
    Claim,
    ClaimEdge,
    ClaimQuery,
    CuratedRef,
    Judgement,
    Link,
    LinkProvenance,
    Paper,
    PaperAuthor,
    RefreshRun,
    Verdict,
)
from evtrack.timeline import partial_iso, published_by

#: Report columns for stance counts, in order.
STANCE_BUCKETS = ("supports", "contradicts", "mixed-or-mentions", "not-judged")


def stance_bucket(stance: str) -> str:
    if stance in ("supports", "contradicts"):
        return stance
    if stance in ("mixed", "mentions"):
        return "mixed-or-mentions"
    return "not-judged"  # unclear, irrelevant, or no judgement at all


@dataclass(frozen=True)
class LinkRow:
    claim_id: str
    pmid: str
    title: str
    year: int | None
    journal: str | None
    doi: str | None
    tier: str
    tier_source: str  # curator | inferred: <reason>
    stance: str
    decider: str  # verdict | curator | judge | none
    decided_by: str  # who: reviewer name, curator file, judge method+version
    rationale: str | None
    confidence: float | None
    retracted: bool
    found_by: tuple[str, ...]  # provenance: "query:tiab", "cited:autry2011", …
    authors: tuple[str, ...] = ()  # "Monteggia L": last name + first initial
    group: str | None = None  # its independent group's key (evtrack.groups)
    auto_stance: str | None = None  # the automatic judge's stance, also under a verdict
    auto_method: str | None = None  # which judge: "cue-rules 1.0"
    published: str | None = None  # publication date as precise as known: 2014, 2014-10

    @property
    def evidence(self) -> Evidence:
        return Evidence(self.pmid, self.stance, self.tier, self.decider, self.retracted,
                        group=self.group, method=self.auto_method)


@dataclass(frozen=True)
class CitedStatus:
    key: str
    citation: str
    pmid: str | None
    resolution: str
    in_store: bool
    stance: str | None  # this paper's stance on the claim, when linked and judged
    decided_by: str | None


@dataclass(frozen=True)
class CuratedStatus:
    label: str | None
    pmid: str | None
    pmid_status: str
    doi: str | None
    stance: str
    note: str
    in_store: bool


@dataclass
class ClaimReport:
    id: str
    text: str
    subject: str
    relation: str
    object: str
    leads_to: list[str]
    questions: list[str]
    queries: list[tuple[str, str, int | None]]  # name, term, last hit count
    links: list[LinkRow]
    cited: list[CitedStatus]
    curated: list[CuratedStatus]
    score: Score
    stance_counts: dict[str, int] = field(default_factory=dict)
    tier_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # tier -> bucket -> n
    group_labels: dict[str, str] = field(default_factory=dict)  # group key -> shared authors

    @property
    def retracted(self) -> list[LinkRow]:
        return [r for r in self.links if r.retracted]


@dataclass
class Report:
    generated_at: datetime
    last_run: str | None
    claims: list[ClaimReport]
    chain: ChainReport | None = None  # the claim chain and its weakest links
    # How far each automatic judge (method + version) in the store was trusted, and why.
    judges: list[JudgeReliability] = field(default_factory=list)
    priors: str = ""  # the score priors file used
    as_of: date | None = None  # only evidence published by this date counts (evtrack.timeline)


def build_report(engine: Engine, claim_ids: list[str] | None = None,
                 priors: Priors | None = None, as_of: date | None = None) -> Report:
    """The support report for the given claims (all claims in the store when None).

    ``priors`` swaps the score's priors (default: the packaged file). The automatic judge's
    error rate is re-estimated from every verdict in the store, not only those on these claims.
    ``as_of`` keeps only papers published by that date (:func:`evtrack.timeline.published_by`):
    every figure is then what the evidence said at the time, judged as it is judged today.
    """
    priors = priors or default_priors()
    # A Session (not a bare Connection) so that select(Model) yields model objects; on one
    # snapshot, so that a refresh committing meanwhile cannot show half of itself.
    with read_snapshot(engine) as snapshot, Session(bind=snapshot) as conn:
        q = select(Claim).order_by(Claim.claim_set, Claim.position)
        if claim_ids:
            q = q.where(Claim.id.in_(claim_ids))
        claims = [row[0] for row in conn.execute(q).all()]
        if claim_ids:
            missing = set(claim_ids) - {c.id for c in claims}
            if missing:
                raise NotFoundError(f"no claim {', '.join(sorted(missing))} in the store "
                                    "(run `evtrack refresh` first, or check `evtrack claims list`)")
        links = _link_rows(conn, [c.id for c in claims], priors.min_shared_authors, as_of)
        judges = _judge_reliabilities(conn, priors)
        scorer = Scorer(priors, judges)
        reports = [_claim_report(conn, c, links.get(c.id, []), scorer) for c in claims]
        run = conn.execute(select(RefreshRun).where(RefreshRun.status == "ok")
                           .order_by(RefreshRun.id.desc()).limit(1)).first()
    last = None
    if run is not None:
        r = run[0]
        last = f"run {r.id} ({r.kind}, {r.source}) finished {r.finished_at:%Y-%m-%d %H:%M} UTC"
    chain = claim_chain({c.id: c.score.score for c in reports},
                        leads_to={c.id: c.leads_to for c in reports},
                        questions={c.id: c.questions for c in reports})
    return Report(generated_at=datetime.now(), last_run=last, claims=reports, chain=chain,
                  judges=judges, priors=priors.source, as_of=as_of)


def _link_rows(conn: Session, claim_ids: list[str],
               min_shared_authors: int = 2,
               as_of: date | None = None) -> dict[str, list[LinkRow]]:
    base = conn.execute(
        select(Link.id, Link.claim_id, Paper.id.label("paper_id"), Paper.pmid, Paper.title,
               Paper.pub_year, Paper.pub_month, Paper.pub_day,
               Paper.journal_iso, Paper.journal, Paper.doi, Paper.design_tier,
               Paper.design_reason, Paper.is_retracted)
        .join(Paper, Paper.id == Link.paper_id).where(Link.claim_id.in_(claim_ids))
    ).all()
    ids = [r.id for r in base]
    verdicts: dict[int, Verdict] = {}
    for verdict in conn.scalars(select(Verdict).where(Verdict.link_id.in_(ids))
                                .order_by(Verdict.created_at, Verdict.id)):
        verdicts[verdict.link_id] = verdict  # newest wins
    judgements: dict[tuple[int, str], Judgement] = {}
    for (j,) in conn.execute(select(Judgement).where(Judgement.link_id.in_(ids))):
        judgements[(j.link_id, CURATED_METHOD if j.method == CURATED_METHOD else "auto")] = j
    provenance: dict[int, list[str]] = {}
    for lid, kind, detail in conn.execute(
            select(LinkProvenance.link_id, LinkProvenance.kind, LinkProvenance.detail)
            .where(LinkProvenance.link_id.in_(ids))
            .order_by(LinkProvenance.kind, LinkProvenance.detail)):
        provenance.setdefault(lid, []).append(f"{kind}:{detail}")
    designs = {(cid, pmid): d for cid, pmid, d in conn.execute(
        select(CuratedRef.claim_id, CuratedRef.pmid, CuratedRef.design)
        .where(CuratedRef.claim_id.in_(claim_ids), CuratedRef.design.is_not(None)))}
    authors: dict[int, list[str]] = {}
    paper_ids = list({r.paper_id for r in base})
    for i in range(0, len(paper_ids), 500):  # stay under SQLite's bound-parameter limit
        for a in conn.scalars(select(PaperAuthor)
                              .where(PaperAuthor.paper_id.in_(paper_ids[i:i + 500]))
                              .order_by(PaperAuthor.paper_id, PaperAuthor.position)):
            name = author_name(a.last_name, a.fore_name, a.initials, a.collective_name)
            if name:
                authors.setdefault(a.paper_id, []).append(name)

    out: dict[str, list[LinkRow]] = {}
    if as_of is not None:  # what could have been known then; judged as we judge it now
        base = [r for r in base if published_by(r.pub_year, r.pub_month, r.pub_day, as_of)]
    for r in base:
        v = verdicts.get(r.id)
        cur, auto = judgements.get((r.id, CURATED_METHOD)), judgements.get((r.id, "auto"))
        if v is not None:
            stance, decider, who, why, conf = v.stance, "verdict", v.reviewer, v.note, 1.0
        elif cur is not None:
            stance, decider, who, why, conf = (cur.stance, "curator", cur.decided_by,
                                               cur.rationale, cur.confidence)
        elif auto is not None:
            stance, decider, who, why, conf = (auto.stance, "judge", auto.decided_by,
                                               auto.rationale, auto.confidence)
        else:
            stance, decider, who, why, conf = "unjudged", "none", "", None, None
        cur_design = designs.get((r.claim_id, r.pmid))
        tier, tier_source = ((cur_design, "curator") if cur_design
                             else (r.design_tier, f"inferred: {r.design_reason}"))
        out.setdefault(r.claim_id, []).append(LinkRow(
            claim_id=r.claim_id, pmid=r.pmid, title=r.title, year=r.pub_year,
            journal=r.journal_iso or r.journal, doi=r.doi, tier=tier, tier_source=tier_source,
            stance=stance, decider=decider, decided_by=who, rationale=why, confidence=conf,
            retracted=bool(r.is_retracted), found_by=tuple(provenance.get(r.id, ())),
            authors=tuple(authors.get(r.paper_id, ())),
            auto_stance=auto.stance if auto else None,
            auto_method=f"{auto.method} {auto.version}" if auto else None,
            published=partial_iso(r.pub_year, r.pub_month, r.pub_day)))
    for cid, rows in out.items():
        out[cid] = _with_groups(rows, min_shared_authors)
    for rows in out.values():
        rows.sort(key=lambda x: (x.stance != "supports", x.stance != "contradicts",
                                 -(x.year or 0), x.pmid))
    return out


def _with_groups(rows: list[LinkRow], min_shared: int) -> list[LinkRow]:
    """Give each link its independent group. Only papers that can count are grouped: a
    retracted paper, or one nobody judged as evidence, must not join two labs into one."""
    counted = {r.pmid: r.authors for r in rows
               if not r.retracted and r.stance in ("supports", "contradicts", "mixed")}
    key = {pmid: g.key for g in independent_groups(counted, min_shared) for pmid in g.pmids}
    return [dataclasses.replace(r, group=key.get(r.pmid)) for r in rows]


def _judge_reliabilities(conn: Session, priors: Priors) -> list[JudgeReliability]:
    """One reliability per automatic judge (method, version) with judgements in the store:
    its measured error rate, re-estimated from every verdict on a link it judged (on any
    claim, not only the reported ones)."""
    newest: dict[int, str] = {}
    for lid, stance in conn.execute(select(Verdict.link_id, Verdict.stance)
                                    .order_by(Verdict.created_at, Verdict.id)):
        newest[lid] = stance
    designs = {(cid, pmid): d for cid, pmid, d in conn.execute(
        select(CuratedRef.claim_id, CuratedRef.pmid, CuratedRef.design)
        .where(CuratedRef.design.is_not(None)))}
    checks: dict[tuple[str, str], list[VerdictCheck]] = {
        (m, v): [] for m, v in conn.execute(
            select(Judgement.method, Judgement.version).distinct()
            .where(Judgement.method != CURATED_METHOD))}
    if newest:
        for lid, method, version, stance, cid, pmid, tier in conn.execute(
                select(Judgement.link_id, Judgement.method, Judgement.version, Judgement.stance,
                       Link.claim_id, Paper.pmid, Paper.design_tier)
                .join(Link, Link.id == Judgement.link_id).join(Paper, Paper.id == Link.paper_id)
                .where(Judgement.method != CURATED_METHOD)):
            if lid in newest:
                checks[(method, version)].append(VerdictCheck(
                    tier=designs.get((cid, pmid)) or tier, judge_stance=stance,
                    verdict_stance=newest[lid]))
    measured = load_measured_error()
    return [judge_reliability(found, method=m, version=v,
                              fallback_error=priors.decider_error["judge"],
                              prior_strength=priors.judge_prior_strength, measured=measured)
            for (m, v), found in sorted(checks.items())]


def _claim_report(conn: Session, c: Claim, links: list[LinkRow], scorer: Scorer) -> ClaimReport:
    edges = conn.execute(select(ClaimEdge.to_claim, ClaimEdge.kind)
                         .where(ClaimEdge.from_claim == c.id)).all()
    queries = [(q.name, q.term, q.last_count) for (q,) in conn.execute(
        select(ClaimQuery).where(ClaimQuery.claim_id == c.id).order_by(ClaimQuery.id))]
    by_pmid = {r.pmid: r for r in links}
    cited = []
    for (ref,) in conn.execute(select(CitedReference).where(CitedReference.claim_id == c.id)
                               .order_by(CitedReference.id)):
        row = by_pmid.get(ref.resolved_pmid or "")
        cited.append(CitedStatus(
            key=ref.key, citation=ref.citation, pmid=ref.resolved_pmid or ref.given_pmid,
            resolution=ref.resolution, in_store=row is not None,
            stance=row.stance if row else None, decided_by=row.decided_by if row else None))
    curated = [CuratedStatus(label=e.label, pmid=e.pmid, pmid_status=e.pmid_status, doi=e.doi,
                             stance=e.stance, note=e.note, in_store=(e.pmid or "") in by_pmid)
               for (e,) in conn.execute(select(CuratedRef).where(CuratedRef.claim_id == c.id)
                                        .order_by(CuratedRef.position))]
    stance_counts = Counter(stance_bucket(r.stance) for r in links)
    tiers: dict[str, dict[str, int]] = {}
    for r in links:
        bucket = tiers.setdefault(r.tier, dict.fromkeys(STANCE_BUCKETS, 0))
        bucket[stance_bucket(r.stance)] += 1
    return ClaimReport(
        id=c.id, text=c.text, subject=c.subject, relation=c.relation, object=c.object,
        leads_to=sorted(t for t, k in edges if k == "leads_to"),
        questions=sorted(t for t, k in edges if k == "questions"),
        queries=queries, links=links, cited=cited, curated=curated,
        score=scorer.score(r.evidence for r in links),
        stance_counts={b: stance_counts.get(b, 0) for b in STANCE_BUCKETS},
        tier_counts=tiers, group_labels=_group_labels(links))


def _group_labels(links: list[LinkRow]) -> dict[str, str]:
    """Group key → the authors its papers share (``"Kavalali E, Monteggia L"``)."""
    members: dict[str, dict[str, tuple[str, ...]]] = {}
    for r in links:
        if r.group is not None:
            members.setdefault(r.group, {})[r.pmid] = r.authors
    return {key: group_label(key, shared_authors(papers)) for key, papers in members.items()}

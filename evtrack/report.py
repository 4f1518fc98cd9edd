"""Building the support report: per claim, its evidence, how it was judged, and its score.

The result is plain dataclasses; :mod:`evtrack.render` turns them into a table, JSON, CSV or
HTML, and :mod:`evtrack.export` into CSV files. Every figure can be traced to PMIDs and deciders.

Stance precedence for a link: the newest researcher verdict, else the curator's stance from the
claims file, else the automatic judge. The design tier is the curator's when given, else the one
inferred from publication types and MeSH. Of two automatic judges on one link, the one whose
judgement was written last speaks.

Two ways to build it, with the same figures to the last bit (``tests/test_report_scale.py``):
the full report loads every link of every claim (JSON, HTML, reference lists, ``evtrack
audit`` and ``evtrack diff`` list them all); ``build_report(full=False)`` — the terminal table
and the claims CSV — counts links with SQL aggregates (:mod:`evtrack.store.summary`, where the
choice is argued) and loads only those that can move a score or that it names, a tenth of a
large store's links; ``links.csv`` takes the rest from the store (:mod:`evtrack.export`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Row, select
from sqlalchemy.orm import Session

from evtrack.chain import ChainReport, claim_chain
from evtrack.errors import NotFoundError
from evtrack.groups import author_name, group_label, independent_groups, shared_authors
from evtrack.refresh import CURATED_METHOD
from evtrack.reliability import (
    COUNTED_STANCES,
    JudgeReliability,
    VerdictCheck,
    judge_reliability,
    load_measured_error,
)
from evtrack.scoring import Evidence, Priors, Score, Scorer, default_priors
from evtrack.store import ledger, summary
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


class _Placement(NamedTuple):
    """Where SQL aggregates count a link (its paper's tier, its effective judgement's stance)
    and where it belongs (a curator's design, a verdict's stance: see :func:`_summary_counts`)."""

    claim_id: str
    sql_tier: str
    sql_stance: str
    tier: str
    stance: str


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
        return [r for r in self.shown() if r.retracted]

    def shown(self) -> list[LinkRow]:
        """The links the table and the claims CSV name one by one: among them every
        retracted one and every paper the article cites for the claim (here: all links)."""
        return self.links

    @property
    def complete(self) -> bool:
        """``links`` holds every linked paper (see :class:`ClaimSummary`)."""
        return True

    @property
    def n_papers(self) -> int:
        """How many papers are linked to the claim (within ``as_of``)."""
        return len(self.links)


@dataclass
class ClaimSummary(ClaimReport):
    """A claim's report whose ``links`` are only those it names one by one: every link that
    counts for or against the claim, retracted papers, links with a verdict, papers the
    article cites or the curator lists (``build_report(full=False)``). Every figure is the
    full report's; :mod:`evtrack.export` reads the other links for ``links.csv``."""

    n_linked: int = 0

    def __getattr__(self, name: str) -> Any:
        """``links`` kept apart (:mod:`evtrack.report_cache`), read on first use: the table
        and the claims CSV need only :meth:`shown`, a few of them."""
        later = self.__dict__.get("_later")
        if name != "links" or later is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        links = self.__dict__["links"] = later()
        del self.__dict__["_later"], self.__dict__["_shown"]
        return links

    def shown(self) -> list[LinkRow]:
        shown: list[LinkRow] | None = self.__dict__.get("_shown")
        return self.links if shown is None else shown

    @property
    def complete(self) -> bool:
        return False

    @property
    def n_papers(self) -> int:
        return self.n_linked


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
    generation: int | None = None  # the ledger's generation it shows (evtrack.store.ledger)


#: ``build_report``'s ``kept``: given its snapshot and the judges it scores with, the claims
#: whose reports are still what that snapshot would give (:mod:`evtrack.report_cache`).
Kept = Callable[[Connection, list[JudgeReliability]], Mapping[str, ClaimReport]]


def build_report(engine: Engine, claim_ids: list[str] | None = None,
                 priors: Priors | None = None, as_of: date | None = None, *,
                 full: bool = True, kept: Kept | None = None) -> Report:
    """The support report for the given claims (all claims in the store when None).

    ``priors`` swaps the score's priors (default: the packaged file). The automatic judge's
    error rate is re-estimated from every verdict in the store, not only those on these claims.
    ``as_of`` keeps only papers published by that date (:func:`evtrack.timeline.published_by`):
    every figure is then what the evidence said at the time, judged as it is judged today.

    ``full=False`` gives the same report — the same scores, certainty, counts, groups, chain —
    with only the links it names one by one (:class:`ClaimSummary`): those that can move the
    score, retracted papers, links with a verdict, papers the article cites or the curator
    lists. The counts come from SQL aggregates (:mod:`evtrack.store.summary`), so a store
    with a million links is reported in seconds; ``links.csv`` reads the rest from the store.

    ``kept`` (summaries only) is asked, in the report's snapshot, which claims' reports need
    not be read again: those are taken as they are, and only the others are read and scored.
    """
    priors = priors or default_priors()
    # On one snapshot, so that a refresh committing meanwhile cannot show half of itself. A
    # Session on it where select(Model) must yield model objects (claims, cited and curated
    # references, the last run); the link rows are read on the bare Connection: through the
    # Session every row of them went through ORM result loading (profiled at 1M links,
    # _link_rows took 15.3 s that way, 11.6 s this way).
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
        at = ledger.generation(snapshot)
        judges = _judge_reliabilities(snapshot, priors)
        reused = kept(snapshot, judges) if kept is not None and not full else {}
        todo = [c for c in claims if c.id not in reused]
        ids = [c.id for c in todo]
        # Every claim in the store: no IN list at all (a thousand claims would be one).
        scope = None if not claim_ids and len(todo) == len(claims) else ids
        links: dict[str, list[LinkRow]] = {}
        totals: dict[str, dict[str, dict[str, int]]] = {}
        if todo and full:
            links = _link_rows(snapshot, ids, priors.min_shared_authors, as_of)
        elif todo:
            placed: list[_Placement] = []
            # The aggregates on another connection meanwhile, over the same ledger.
            with summary.counts_alongside(engine, scope, as_of, at) as counted:
                links = _link_rows(snapshot, ids, priors.min_shared_authors, as_of,
                                   base=summary.detail_links(snapshot, scope, as_of),
                                   placed=placed)
                totals = _summary_counts(counted(snapshot), placed)
        scorer = Scorer(priors, judges)
        extras = _claim_extras(conn, ids)
        reports = [reused[c.id] if c.id in reused else
                   _claim_report(c, links.get(c.id, []), scorer, extras,
                                 None if full else totals.get(c.id, {})) for c in claims]
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
                  judges=judges, priors=priors.source, as_of=as_of, generation=at)


def _link_rows(conn: Connection, claim_ids: list[str],
               min_shared_authors: int = 2,
               as_of: date | None = None, *,
               base: Sequence[Row[*tuple[Any, ...]]] | None = None,
               placed: list[_Placement] | None = None) -> dict[str, list[LinkRow]]:
    """The rows of the links of ``claim_ids`` (or of the links in ``base`` only); with
    ``placed``, where SQL aggregates count each of them too (:func:`_summary_counts`)."""
    if base is None:
        base = []
        for part in summary.batches(claim_ids, 500):
            base += conn.execute(summary.base_columns().where(Link.claim_id.in_(part))).all()
    if as_of is not None:  # what could have been known then; judged as we judge it now
        base = [r for r in base if published_by(r.pub_year, r.pub_month, r.pub_day, as_of)]
    ids = [r.id for r in base]
    # Each read fetched whole (.all()): iterating a result fetches it row by row.
    verdicts: dict[int, Any] = {}
    judgements: dict[tuple[int, str], Any] = {}
    provenance: dict[int, list[str]] = {}
    for part in summary.batches(ids):
        for verdict in conn.execute(select(Verdict.link_id, Verdict.stance, Verdict.reviewer,
                                     Verdict.note).where(summary.among(conn, Verdict.link_id, part))
                              .order_by(Verdict.created_at, Verdict.id)).all():
            verdicts[verdict.link_id] = verdict  # newest wins
        # Of two automatic judges on one link, the one written last (highest id) speaks.
        for j in conn.execute(select(Judgement.link_id, Judgement.method, Judgement.version,
                                     Judgement.stance, Judgement.rationale,
                                     Judgement.confidence, Judgement.decided_by)
                              .where(summary.among(conn, Judgement.link_id, part))
                              # By link first: ordered by id alone, SQLite walks the
                              # whole table in id order instead of using the link index.
                              .order_by(Judgement.link_id, Judgement.id)).all():
            judgements[(j.link_id, CURATED_METHOD if j.method == CURATED_METHOD else "auto")] = j
        for lid, kind, detail in conn.execute(
                select(LinkProvenance.link_id, LinkProvenance.kind, LinkProvenance.detail)
                .where(summary.among(conn, LinkProvenance.link_id, part))
                .order_by(LinkProvenance.kind, LinkProvenance.detail)).all():
            provenance.setdefault(lid, []).append(f"{kind}:{detail}")
    designs = {(cid, pmid): d for cid, pmid, d in conn.execute(
        select(CuratedRef.claim_id, CuratedRef.pmid, CuratedRef.design)
        .where(CuratedRef.claim_id.in_(claim_ids), CuratedRef.design.is_not(None)))}
    authors: dict[int, list[str]] = {}
    paper_ids = sorted({r.paper_id for r in base})
    for part in summary.batches(paper_ids):
        for pid, last, fore, initials, collective in conn.execute(
                select(PaperAuthor.paper_id, PaperAuthor.last_name, PaperAuthor.fore_name,
                       PaperAuthor.initials, PaperAuthor.collective_name)
                .where(summary.among(conn, PaperAuthor.paper_id, part))
                .order_by(PaperAuthor.paper_id, PaperAuthor.position)).all():
            name = author_name(last, fore, initials, collective)
            if name:
                authors.setdefault(pid, []).append(name)

    fields: dict[str, list[dict[str, Any]]] = {}
    for r in base:
        v = verdicts.get(r.id)
        cur, auto = judgements.get((r.id, CURATED_METHOD)), judgements.get((r.id, "auto"))
        stance, decider, who, why, conf = _decision(v, cur, auto)
        cur_design = designs.get((r.claim_id, r.pmid))
        tier, tier_source = ((cur_design, "curator") if cur_design
                             else (r.design_tier, f"inferred: {r.design_reason}"))
        if placed is not None:
            judged = cur.stance if cur else auto.stance if auto else "unjudged"
            placed.append(_Placement(r.claim_id, r.design_tier, judged, tier, stance))
        fields.setdefault(r.claim_id, []).append(dict(
            claim_id=r.claim_id, pmid=r.pmid, title=r.title, year=r.pub_year,
            journal=r.journal_iso or r.journal, doi=r.doi, tier=tier, tier_source=tier_source,
            stance=stance, decider=decider, decided_by=who, rationale=why, confidence=conf,
            retracted=bool(r.is_retracted), found_by=tuple(provenance.get(r.id, ())),
            authors=tuple(authors.get(r.paper_id, ())),
            auto_stance=auto.stance if auto else None,
            auto_method=f"{auto.method} {auto.version}" if auto else None,
            published=partial_iso(r.pub_year, r.pub_month, r.pub_day)))
    out = {cid: _with_groups(rows, min_shared_authors) for cid, rows in fields.items()}
    for rows in out.values():
        rows.sort(key=link_order)
    return out


def link_order(row: LinkRow) -> tuple[bool, bool, int, str]:
    """How a claim's links are listed: supporting, then contradicting, then the rest; newest
    first within each, then by PMID."""
    return row.stance != "supports", row.stance != "contradicts", -(row.year or 0), row.pmid


#: :func:`_decision` of a link nobody judged: (stance, decider, who, why, confidence).
UNJUDGED: tuple[str, str, str, None, None] = ("unjudged", "none", "", None, None)


def _decision(verdict: Any, curated: Any, auto: Any
              ) -> tuple[str, str, str, str | None, float | None]:
    """(stance, decider, who, why, confidence) of a link, by precedence: its newest verdict,
    else the curator's judgement, else the automatic judge's."""
    if verdict is not None:
        return verdict.stance, "verdict", verdict.reviewer, verdict.note, 1.0
    if curated is not None:
        return (curated.stance, "curator", curated.decided_by, curated.rationale,
                curated.confidence)
    if auto is not None:
        return auto.stance, "judge", auto.decided_by, auto.rationale, auto.confidence
    return UNJUDGED


def _with_groups(rows: list[dict[str, Any]], min_shared: int) -> list[LinkRow]:
    """Give each link its independent group. Only papers that can count are grouped: a
    retracted paper, or one nobody judged as evidence, must not join two labs into one."""
    counted = {r["pmid"]: r["authors"] for r in rows
               if not r["retracted"] and r["stance"] in COUNTED_STANCES}
    key = {pmid: g.key for g in independent_groups(counted, min_shared) for pmid in g.pmids}
    return [LinkRow(**r, group=key.get(r["pmid"])) for r in rows]


def _summary_counts(counted: summary.Counts, placed: list[_Placement]
                    ) -> dict[str, dict[str, dict[str, int]]]:
    """Claim → design tier → stance bucket → links.

    SQL counts the links per claim and paper's tier, and those of them whose effective
    judgement says "mentions" (:mod:`evtrack.store.summary`); every other link starts as "not
    judged". Every link whose effective judgement counts (supports, contradicts, mixed) is
    among the links the summary loads, and so is every link a verdict decides or a curator's
    design places: each loaded link moves from where SQL put it to its own bucket (for most,
    that is no move at all).
    """
    totals, mentions = counted
    out: dict[str, dict[str, dict[str, int]]] = {}
    for cid, tiers in totals.items():
        claim = out[cid] = {}
        for tier, n in tiers.items():
            m = mentions.get((cid, tier), Counter())["mentions"]
            claim[tier] = {"supports": 0, "contradicts": 0, "mixed-or-mentions": m,
                           "not-judged": n - m}
    for x in placed:
        sql = "mixed-or-mentions" if x.sql_stance == "mentions" else "not-judged"
        out[x.claim_id][x.sql_tier][sql] -= 1
        bucket = out[x.claim_id].setdefault(x.tier, dict.fromkeys(STANCE_BUCKETS, 0))
        bucket[stance_bucket(x.stance)] += 1
    return {cid: {t: b for t, b in tiers.items() if any(b.values())}
            for cid, tiers in out.items()}


def _judge_reliabilities(conn: Connection, priors: Priors) -> list[JudgeReliability]:
    """One reliability per automatic judge (method, version) with judgements in the store:
    its measured error rate, re-estimated from every verdict on a link it judged (on any
    claim, not only the reported ones)."""
    newest: dict[int, str] = {}
    for lid, stance in conn.execute(select(Verdict.link_id, Verdict.stance)
                                    .order_by(Verdict.created_at, Verdict.id)).all():
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
                .where(Judgement.method != CURATED_METHOD,
                       Judgement.link_id.in_(select(Verdict.link_id)))):
            if lid in newest:
                checks[(method, version)].append(VerdictCheck(
                    tier=designs.get((cid, pmid)) or tier, judge_stance=stance,
                    verdict_stance=newest[lid]))
    measured = load_measured_error()
    return [judge_reliability(found, method=m, version=v,
                              fallback_error=priors.decider_error["judge"],
                              prior_strength=priors.judge_prior_strength, measured=measured)
            for (m, v), found in sorted(checks.items())]


class _ClaimExtras(NamedTuple):
    """What a claim's report shows besides its links, for every reported claim at once."""

    edges: dict[str, list[tuple[str, str]]]
    queries: dict[str, list[tuple[str, str, int | None]]]
    cited: dict[str, list[CitedReference]]
    curated: dict[str, list[CuratedRef]]


def _claim_extras(conn: Session, claim_ids: list[str]) -> _ClaimExtras:
    """Edges, queries, cited references and curated evidence of ``claim_ids``: four queries
    for all of them, not four per claim."""
    extras = _ClaimExtras({}, {}, {}, {})
    for part in summary.batches(claim_ids, 500):
        for a, b, kind in conn.execute(select(ClaimEdge.from_claim, ClaimEdge.to_claim,
                                              ClaimEdge.kind)
                                       .where(ClaimEdge.from_claim.in_(part))):
            extras.edges.setdefault(a, []).append((b, kind))
        for cid, name, term, count in conn.execute(
                select(ClaimQuery.claim_id, ClaimQuery.name, ClaimQuery.term,
                       ClaimQuery.last_count)
                .where(ClaimQuery.claim_id.in_(part)).order_by(ClaimQuery.id)):
            extras.queries.setdefault(cid, []).append((name, term, count))
        for cited in conn.scalars(select(CitedReference)
                                  .where(CitedReference.claim_id.in_(part))
                                  .order_by(CitedReference.id)):
            extras.cited.setdefault(cited.claim_id, []).append(cited)
        for curated in conn.scalars(select(CuratedRef).where(CuratedRef.claim_id.in_(part))
                                    .order_by(CuratedRef.claim_id, CuratedRef.position)):
            extras.curated.setdefault(curated.claim_id, []).append(curated)
    return extras


def _claim_report(c: Claim, links: list[LinkRow], scorer: Scorer, extras: _ClaimExtras,
                  tier_counts: dict[str, dict[str, int]] | None = None) -> ClaimReport:
    """The report of claim ``c``; ``tier_counts`` None: ``links`` are all its links, and the
    counts are theirs; else a summary with these counts (:func:`_summary_counts`)."""
    edges = extras.edges.get(c.id, [])
    by_pmid = {r.pmid: r for r in links}
    cited = []
    for ref in extras.cited.get(c.id, []):
        row = by_pmid.get(ref.resolved_pmid or "")
        cited.append(CitedStatus(
            key=ref.key, citation=ref.citation, pmid=ref.resolved_pmid or ref.given_pmid,
            resolution=ref.resolution, in_store=row is not None,
            stance=row.stance if row else None, decided_by=row.decided_by if row else None))
    curated = [CuratedStatus(label=e.label, pmid=e.pmid, pmid_status=e.pmid_status, doi=e.doi,
                             stance=e.stance, note=e.note, in_store=(e.pmid or "") in by_pmid)
               for e in extras.curated.get(c.id, [])]
    if tier_counts is None:
        tiers: dict[str, dict[str, int]] = {}
        for r in links:
            bucket = tiers.setdefault(r.tier, dict.fromkeys(STANCE_BUCKETS, 0))
            bucket[stance_bucket(r.stance)] += 1
    else:
        tiers = tier_counts
    stance_counts = {b: sum(v[b] for v in tiers.values()) for b in STANCE_BUCKETS}
    fields = dict(
        id=c.id, text=c.text, subject=c.subject, relation=c.relation, object=c.object,
        leads_to=sorted(t for t, k in edges if k == "leads_to"),
        questions=sorted(t for t, k in edges if k == "questions"),
        queries=list(extras.queries.get(c.id, [])), links=links, cited=cited, curated=curated,
        score=scorer.score(r.evidence for r in links),
        stance_counts=stance_counts, tier_counts=tiers, group_labels=_group_labels(links))
    if tier_counts is None:
        return ClaimReport(**fields)  # type: ignore[arg-type]
    return ClaimSummary(**fields, n_linked=sum(stance_counts.values()))  # type: ignore[arg-type]


def _group_labels(links: list[LinkRow]) -> dict[str, str]:
    """Group key → the authors its papers share (``"Kavalali E, Monteggia L"``)."""
    members: dict[str, dict[str, tuple[str, ...]]] = {}
    for r in links:
        if r.group is not None:
            members.setdefault(r.group, {})[r.pmid] = r.authors
    return {key: group_label(key, shared_authors(papers) if len(papers) > 1 else ())
            for key, papers in members.items()}

"""Refresh: claims → evidence source → records → store → judgement, one stage after another.

The source is anything implementing :class:`~evtrack.sources.EvidenceSource` — live NCBI or the
offline corpus — so this module is the same pipeline in both worlds. Records are stored in
batches, each its own transaction, so an interrupted refresh keeps what it fetched and a rerun
converges on the same database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, TypeVar

from sqlalchemy import Connection, Engine, delete, func, select, update

from evtrack.claims import ClaimSet
from evtrack.errors import EvtrackError
from evtrack.judge import judge_link
from evtrack.lock import refresh_lock
from evtrack.records import CitationQuery, PaperRecord
from evtrack.sources import LINK_NAMES, EvidenceSource
from evtrack.store import ledger
from evtrack.store.ledger import LinkRequest
from evtrack.store.models import ClaimQuery, CuratedRef, Judgement, Link, Paper, RefreshRun
from evtrack.store.papers import StoreCounts, load_records, store_records, stored_pmids

T = TypeVar("T")


class Step(Protocol):
    """Wraps a sequence to show progress: ``step("Fetching", batches)``. The CLI passes a
    progress bar; the library default passes items through untouched."""

    def __call__(self, label: str, items: Sequence[T], /) -> Iterable[T]: ...


CURATED_METHOD = "curated-file"


def _no_progress(_label: str, items: Sequence[T], /) -> Iterable[T]:
    return items


@dataclass
class ClaimStats:
    query_hits: dict[str, int] = field(default_factory=dict)  # query name -> hits
    linked: int = 0
    links_new: int = 0


@dataclass
class RefreshSummary:
    run_id: int
    source: str
    requests: dict[str, int]
    counts: StoreCounts
    links_new: int
    per_claim: dict[str, ClaimStats]
    citations: list[tuple[str, str, str, str | None]]  # claim, key, resolution, pmid
    warnings: list[str]


def refresh(engine: Engine, claim_set: ClaimSet, source: EvidenceSource, *,
            batch_size: int = 200, follow_links: bool = True,
            step: Step = _no_progress, wait: float = 0.0,
            notify: Callable[[str], None] | None = None,
            judge: str = "lexical") -> RefreshSummary:
    """Run one refresh of every claim in ``claim_set`` against ``source``.

    ``judge`` selects the stance judge (:data:`evtrack.judge.JUDGES`); a link whose automatic
    judgement another judge, or another version, made is judged again.

    Holds the database's refresh lock (:func:`evtrack.lock.refresh_lock`) throughout: when
    another refresh runs, wait up to ``wait`` seconds (``notify`` is told once) or raise
    :class:`~evtrack.errors.RefreshLockedError`.
    """
    with refresh_lock(engine, wait=wait, notify=notify):
        return _locked_refresh(engine, claim_set, source, batch_size=batch_size,
                               follow_links=follow_links, step=step, judge=judge)


def _locked_refresh(engine: Engine, claim_set: ClaimSet, source: EvidenceSource, *,
                    batch_size: int, follow_links: bool, step: Step,
                    judge: str = "lexical") -> RefreshSummary:
    with engine.begin() as conn:
        # We hold the lock, so a refresh still marked "running" is one whose process died
        # (SIGKILL, power loss): say so, rather than leave it looking alive forever.
        conn.execute(update(RefreshRun)
                     .where(RefreshRun.kind == "refresh", RefreshRun.status == "running")
                     .values(status="failed", error="interrupted: the process stopped before "
                                                    "the refresh finished"))
        ledger.sync_claims(conn, claim_set)
        since = ledger.last_ok_refresh_start(conn, source.name)
        run_id = ledger.start_run(conn, "refresh", source.name)
    counts = StoreCounts()
    try:
        summary = _run(engine, claim_set, source, run_id, counts, batch_size, follow_links,
                       since.date() if since else None, step, judge)
        # Each claim's figures as this run left them: what `evtrack diff` compares against.
        # Stored in the transaction that marks the run ok, so a kill cannot separate the two.
        from evtrack.changes import snapshot_rows, store_snapshot  # changes imports report
        snapshot = snapshot_rows(engine, run_id)
    except BaseException as exc:
        # Whatever was stored in finished batches stays; the run is marked so a rerun knows.
        with engine.begin() as conn:
            ledger.finish_run(conn, run_id, status="failed", requests=source.request_counts(),
                              new=counts.new, updated=counts.updated, links_new=0,
                              error=str(exc) if isinstance(exc, EvtrackError) else repr(exc))
        raise
    with engine.begin() as conn:
        store_snapshot(conn, run_id, snapshot)
        ledger.finish_run(conn, run_id, status="ok", requests=summary.requests, new=counts.new,
                          updated=counts.updated, links_new=summary.links_new)
    return summary


def _run(engine: Engine, claim_set: ClaimSet, source: EvidenceSource, run_id: int,
         counts: StoreCounts, batch_size: int, follow_links: bool, since: date | None,
         step: Step, judge: str = "lexical") -> RefreshSummary:
    per_claim = {c.id: ClaimStats() for c in claim_set.claims}
    requests: list[LinkRequest] = []

    # 1. The article's own citations, resolved to PMIDs (ECitMatch), in one request.
    citations, cited_pmids = _resolve_citations(engine, claim_set, source)
    for claim_id, key, _status, pmid in citations:
        if pmid:
            requests.append(LinkRequest(claim_id, pmid, "cited", key))

    # 2. Every claim's queries.
    queries = [(c.id, q) for c in claim_set.claims for q in c.queries]
    for claim_id, q in step("Searching", queries):
        result = source.search(q.term)
        per_claim[claim_id].query_hits[q.name] = result.count
        requests.extend(LinkRequest(claim_id, p, "query", q.name) for p in result.pmids)
        with engine.begin() as conn:
            conn.execute(update(ClaimQuery)
                         .where(ClaimQuery.claim_id == claim_id, ClaimQuery.name == q.name)
                         .values(last_count=result.count, last_run_id=run_id))

    # 3. The curator's papers.
    for c in claim_set.claims:
        for e in c.curated:
            if e.pmid:
                requests.append(LinkRequest(c.id, e.pmid, "curated", e.label or e.pmid))

    # 4. Papers that cite, or are cited by, the article's references.
    if follow_links and cited_pmids:
        for linkname in LINK_NAMES:
            kind = "elink_" + linkname.rsplit("_", 1)[-1]
            linked = source.links(sorted(cited_pmids), linkname)
            for claim_id, _key, _s, pmid in citations:
                if pmid:
                    requests.extend(LinkRequest(claim_id, p, kind, pmid)
                                    for p in linked.get(pmid, ()))

    # 5. Fetch what the store lacks (offline: everything, unchanged records are not rewritten;
    #    live: also what NCBI says was modified since the last refresh).
    wanted = sorted({r.pmid for r in requests}, key=int)
    with engine.connect() as conn:
        have = stored_pmids(conn, wanted)
    to_fetch = [p for p in wanted if p not in have]
    if source.name != "ncbi":
        to_fetch = wanted
    elif since is not None and queries:
        union = " OR ".join(f"({q.term})" for _c, q in queries)
        changed = source.search(union, mindate=since, maxdate=date.today(), datetype="mdat")
        to_fetch += sorted(set(changed.pmids) & have, key=int)
    batches = [to_fetch[i:i + batch_size] for i in range(0, len(to_fetch), batch_size)]
    for batch in step("Fetching", batches):
        records = list(source.fetch(batch))
        with engine.begin() as conn:
            counts.add(store_records(conn, records, source=source.name, run_id=run_id))

    # 6. Links and their provenance, then judgements.
    with engine.begin() as conn:
        links_new = ledger.record_links(conn, requests, run_id)
        _judge(conn, claim_set, run_id, step, judge)

    with engine.connect() as conn:
        for cid, stats in per_claim.items():
            stats.linked = len(conn.execute(select(Link.id).where(Link.claim_id == cid)).all())
            stats.links_new = len(conn.execute(select(Link.id).where(
                Link.claim_id == cid, Link.first_run_id == run_id)).all())
    warnings = list(getattr(source, "warnings", []))
    return RefreshSummary(run_id=run_id, source=source.name,
                          requests=dict(source.request_counts()), counts=counts,
                          links_new=links_new, per_claim=per_claim, citations=citations,
                          warnings=warnings)


def _resolve_citations(engine: Engine, claim_set: ClaimSet, source: EvidenceSource
                       ) -> tuple[list[tuple[str, str, str, str | None]], set[str]]:
    queries: dict[tuple[object, ...], CitationQuery] = {}
    for c in claim_set.claims:
        for ref in c.cited:
            ident = (ref.journal, ref.year, ref.volume, ref.first_page, ref.author)
            queries.setdefault(ident, CitationQuery(
                key=f"cit{len(queries) + 1}", journal=ref.journal, year=ref.year,
                volume=ref.volume, first_page=ref.first_page, author=ref.author))
    matches = {m.key: m for m in source.match_citations(queries.values())} if queries else {}
    out: list[tuple[str, str, str, str | None]] = []
    with engine.begin() as conn:
        for c in claim_set.claims:
            for ref in c.cited:
                q = queries[(ref.journal, ref.year, ref.volume, ref.first_page, ref.author)]
                m = matches.get(q.key)
                if m is not None and m.pmid:
                    # "found" from NCBI confirms a PMID; "found-local" only matched our corpus.
                    pmid, status = m.pmid, m.status
                    if ref.pmid and ref.pmid != m.pmid:
                        status += f" (differs from the file's PMID {ref.pmid})"
                elif ref.pmid:
                    # Not resolvable here (offline corpus lacks it, or NCBI said so): keep the
                    # file's PMID, marked with how sure the file was.
                    pmid = ref.pmid
                    found = m.status if m else "unresolved"
                    status = f"{found}; using file PMID ({ref.pmid_status})"
                else:
                    pmid, status = None, m.status if m else "unresolved"
                ledger.set_citation_resolution(conn, c.id, ref.key, pmid, status)
                out.append((c.id, ref.key, status, pmid))
    return out, {p for *_x, p in out if p}


def _judge(conn: Connection, claim_set: ClaimSet, run_id: int, step: Step,
           judge: str = "lexical") -> None:
    """Judge new links and links whose paper changed; (re)apply the curator's stances.

    Runs inside the caller's transaction, the one that records the links: a reader never
    sees links without their judgements, and a crash leaves neither.
    """
    from evtrack.judge import AUTO_METHODS, current_versions

    claims = {c.id: c for c in claim_set.claims}
    current = current_versions(judge)
    judged = {lid for lid, method, version in conn.execute(
        select(Judgement.link_id, Judgement.method, Judgement.version).where(
            Judgement.method.in_(AUTO_METHODS))) if current.get(method) == version}
    rows = conn.execute(select(Link.id, Link.claim_id, Paper.pmid, Paper.updated_run_id)
                        .join(Paper, Paper.id == Link.paper_id)
                        .where(Link.claim_id.in_(list(claims)))).all()
    # Papers changed since the last refresh that finished: by this run, and also by a run
    # that died after storing them but before judging (or by an ingest), whose links
    # would otherwise keep a judgement of the old text.
    last_ok = conn.scalar(select(func.max(RefreshRun.id)).where(
        RefreshRun.kind == "refresh", RefreshRun.status == "ok"))
    todo = sorted(((lid, cid, pmid) for lid, cid, pmid, upd in rows
                   if lid not in judged or upd == run_id
                   or (upd is not None and (last_ok is None or upd > last_ok))),
                  key=lambda t: (t[2] or "", t[1]))  # a paper's links in a row: analyse's cache
    records: dict[str, PaperRecord] = {
        r.pmid: r for r in load_records(conn, {pmid for *_x, pmid in todo})}
    curated = conn.execute(select(CuratedRef.claim_id, CuratedRef.pmid, CuratedRef.stance,
                                  CuratedRef.note)
                           .where(CuratedRef.claim_id.in_(list(claims)),
                                  CuratedRef.pmid.is_not(None))).all()
    link_of: dict[tuple[str, str | None], int] = {(cid, pmid): lid for lid, cid, pmid, _u in rows}
    auto = []
    for lid, cid, pmid in step("Judging", todo):
        j = judge_link(claims[cid], records[pmid], judge=judge)
        auto.append({"link_id": lid, "method": j.method, "version": j.version,
                     "stance": j.stance, "rationale": j.rationale, "confidence": j.confidence,
                     "decided_by": f"judge {j.method} {j.version}"})
    cur = [{"link_id": link_of[(cid, pmid)], "method": CURATED_METHOD, "version": "1",
            "stance": stance, "rationale": note, "confidence": 0.9,
            "decided_by": f"curator ({claims[cid].source_file.rsplit('/', 1)[-1]})"}
           for cid, pmid, stance, note in curated if (cid, pmid) in link_of]
    # The judge's layers (cue rules, lexical model) store under their own method names: a link
    # re-judged by the other layer must not keep the old layer's row beside the new one.
    for i in range(0, len(todo), 500):
        conn.execute(delete(Judgement).where(
            Judgement.link_id.in_([lid for lid, *_x in todo[i:i + 500]]),
            Judgement.method.in_(AUTO_METHODS)))
    ledger.save_judgements(conn, auto)
    ledger.save_judgements(conn, cur)

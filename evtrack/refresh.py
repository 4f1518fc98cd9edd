"""Refresh: claims → evidence source → records → store → judgement.

The source is anything implementing :class:`~evtrack.sources.EvidenceSource` — live NCBI or the
offline corpus — so this module is the same pipeline in both worlds. Records are stored in
batches, each its own transaction, so an interrupted refresh keeps what it fetched and a rerun
converges on the same database.

Live, the requests are made on one background thread (:class:`_Requests`) while this thread
stores, links and judges the answers already in: NCBI's rate limit leaves a third of a second
between requests, and that time is the refresh's local work. Requests are exactly those the work
needs, in as few batches as before.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Select, delete, func, select, update

from evtrack.claims import CitedReference, Claim, ClaimSet
from evtrack.errors import EvtrackError
from evtrack.judge import judge_link
from evtrack.lock import refresh_lock
from evtrack.parse_pool import fewer_collections
from evtrack.records import CitationMatch, CitationQuery, PaperRecord
from evtrack.sources import LINK_NAMES, EvidenceSource
from evtrack.store import ledger
from evtrack.store.ledger import LinkRequest
from evtrack.store.models import ClaimQuery, CuratedRef, Judgement, Link, Paper, RefreshRun
from evtrack.store.papers import StoreCounts, load_records, store_records, stored_pmids
from evtrack.store.summary import batches

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
    # fewer_collections: a refresh makes ~300 short-lived objects per record too, and a full
    # collection walking every object in the process stops the request thread as well.
    with refresh_lock(engine, wait=wait, notify=notify), fewer_collections():
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
    live = source.name == "ncbi"
    flow = _Flow(engine, claim_set, source, run_id, counts, batch_size, live, judge)
    queries = flow.queries
    with _Requests(background=live) as http:
        # Every request the work needs is sent as soon as it is known, and nothing else. The
        # "modified since" search goes first: which stored papers to fetch again depends on it.
        if live and since is not None and queries:
            union = " OR ".join(f"({q.term})" for _c, q in queries)
            flow.send(http, ("changed",), partial(source.search, union, mindate=since,
                                                  maxdate=date.today(), datetype="mdat"))
        else:
            flow.changed = set()
        citations = _citation_queries(claim_set)
        if citations:
            flow.send(http, ("citations", citations),
                      partial(source.match_citations, list(citations.values())))
        for i, (_cid, q) in enumerate(queries):
            flow.send(http, ("search", i), partial(source.search, q.term))
        flow.add([LinkRequest(c.id, e.pmid, "curated", e.label or e.pmid)
                  for c in claim_set.claims for e in c.curated if e.pmid])

        for i in step("Searching", range(len(queries))):
            while i not in flow.searched:
                flow.handle(http, follow_links)
        while flow.lookups:
            flow.handle(http, follow_links)
        flow.send_fetches(http)
        for _ in step("Fetching", range(http.outstanding)):
            flow.handle(http, follow_links)
    flow.link_and_judge(everything=True)
    flow.judge_rest(step)

    per_claim = flow.per_claim
    with engine.connect() as conn:
        for cid, stats in per_claim.items():
            stats.linked = len(conn.execute(select(Link.id).where(Link.claim_id == cid)).all())
            stats.links_new = len(conn.execute(select(Link.id).where(
                Link.claim_id == cid, Link.first_run_id == run_id)).all())
    warnings = list(getattr(source, "warnings", []))
    return RefreshSummary(run_id=run_id, source=source.name,
                          requests=dict(source.request_counts()), counts=counts,
                          links_new=flow.links_new, per_claim=per_claim,
                          citations=flow.citations, warnings=warnings)


class _Flow:
    """What one refresh has learnt so far, and the store work each answer brings.

    Each answer (from :class:`_Requests`) is handled as it comes: a search's PMIDs are routed
    either to an EFetch batch (papers the store lacks, or that NCBI says changed) or straight to
    linking; a full batch is sent at once, ahead of the searches still waiting; a fetched batch
    is stored in its own transaction; links whose papers are in the store are recorded and
    judged in one transaction, ``batch_size`` requests at a time. Data flows one way: answers
    in, rows out.
    """

    def __init__(self, engine: Engine, claim_set: ClaimSet, source: EvidenceSource,
                 run_id: int, counts: StoreCounts, batch_size: int, live: bool,
                 judge: str) -> None:
        self.engine, self.source, self.run_id, self.counts = engine, source, run_id, counts
        self.claim_set, self.claims = claim_set, {c.id: c for c in claim_set.claims}
        self.queries = [(c.id, q) for c in claim_set.claims for q in c.queries]
        self.batch_size, self.live, self.judge = batch_size, live, judge
        self.per_claim = {c.id: ClaimStats() for c in claim_set.claims}
        self.citations: list[tuple[str, str, str, str | None]] = []
        self.changed: set[str] | None = None  # "modified since" PMIDs; None until answered
        self.searched: set[int] = set()  # indexes of the queries answered
        self.lookups = 0  # searches, ECitMatch and ELink requests not yet answered
        self.links_new = 0
        self._unrouted: list[LinkRequest] = []
        self._seen: set[str] = set()  # PMIDs routed
        self._to_fetch: list[str] = []  # routed to EFetch, not yet sent
        self._held: dict[str, list[LinkRequest]] = {}  # requests waiting for their paper
        self._ready: list[LinkRequest] = []  # requests whose paper is stored
        self._done_links: set[int] = set()  # links judged (or found up to date) by this run
        with engine.connect() as conn:
            # Papers changed since the last refresh that finished: by this run, and also by a
            # run that died after storing them but before judging (or by an ingest), whose
            # links would otherwise keep a judgement of the old text.
            self.last_ok = conn.scalar(select(func.max(RefreshRun.id)).where(
                RefreshRun.kind == "refresh", RefreshRun.status == "ok"))
            self.curated = conn.execute(
                select(CuratedRef.claim_id, CuratedRef.pmid, CuratedRef.stance, CuratedRef.note)
                .where(CuratedRef.claim_id.in_(list(self.claims)),
                       CuratedRef.pmid.is_not(None))).all()

    def send(self, http: _Requests, tag: tuple[Any, ...], call: Callable[[], Any]) -> None:
        self.lookups += 1
        http.send(tag, call, urgent=tag[0] == "links")

    def handle(self, http: _Requests, follow_links: bool) -> None:
        """Take the next answer and do the store work it allows."""
        tag, answer = http.next()
        kind = tag[0]
        if kind == "fetch":
            batch = tag[1]
            with self.engine.begin() as conn:
                self.counts.add(store_records(conn, answer, source=self.source.name,
                                              run_id=self.run_id))
            for pmid in batch:
                self._ready.extend(self._held.pop(pmid, ()))
        else:
            self.lookups -= 1
            if kind == "changed":
                self.changed = set(answer.pmids)
            elif kind == "citations":
                self.citations = _resolve_citations(self.engine, self.claim_set, tag[1], answer)
                self.add([LinkRequest(cid, pmid, "cited", key)
                          for cid, key, _s, pmid in self.citations if pmid])
                cited = sorted({pmid for *_x, pmid in self.citations if pmid})
                for linkname in LINK_NAMES if follow_links and cited else ():
                    self.send(http, ("links", linkname),
                              partial(self.source.links, cited, linkname))
            elif kind == "links":
                kind_name = "elink_" + tag[1].rsplit("_", 1)[-1]
                self.add([LinkRequest(cid, p, kind_name, pmid)
                          for cid, _key, _s, pmid in self.citations if pmid
                          for p in answer.get(pmid, ())])
            else:  # a claim's query
                claim_id, q = self.queries[tag[1]]
                self.per_claim[claim_id].query_hits[q.name] = answer.count
                with self.engine.begin() as conn:
                    conn.execute(update(ClaimQuery)
                                 .where(ClaimQuery.claim_id == claim_id, ClaimQuery.name == q.name)
                                 .values(last_count=answer.count, last_run_id=self.run_id))
                self.searched.add(tag[1])
                self.add([LinkRequest(claim_id, p, "query", q.name) for p in answer.pmids])
        self.add([])
        self.send_fetches(http)
        self.link_and_judge()

    def add(self, requests: list[LinkRequest]) -> None:
        """Route link requests: to EFetch when their paper is wanted (offline: every paper,
        unchanged records are not rewritten; live: those the store lacks, and those NCBI says
        were modified since the last refresh), else straight to linking."""
        self._unrouted.extend(requests)
        if self.changed is None or not self._unrouted:
            return  # which stored papers to fetch again is not known yet
        fresh = list(dict.fromkeys(r.pmid for r in self._unrouted if r.pmid not in self._seen))
        self._seen.update(fresh)
        if self.live:
            with self.engine.connect() as conn:
                have = stored_pmids(conn, fresh)
            fresh = [p for p in fresh if p not in have or p in self.changed]
        self._to_fetch.extend(fresh)
        self._held.update((p, []) for p in fresh)
        for r in self._unrouted:
            self._held.get(r.pmid, self._ready).append(r)
        self._unrouted = []

    def send_fetches(self, http: _Requests) -> None:
        """Send every full EFetch batch; the last, short one once no lookup can add to it: so
        the batches are as few as when everything was fetched at the end."""
        while len(self._to_fetch) >= self.batch_size or (self._to_fetch and not self.lookups):
            batch = tuple(self._to_fetch[:self.batch_size])
            del self._to_fetch[:self.batch_size]
            http.send(("fetch", batch), partial(_fetch_all, self.source, batch), urgent=True)

    def link_and_judge(self, *, everything: bool = False) -> None:
        """Record the ready links and their provenance, and judge them, in one transaction: a
        reader never sees links without their judgements, and a crash leaves neither."""
        if not self._ready or (not everything and len(self._ready) < self.batch_size):
            return
        ready, self._ready = self._ready, []
        with self.engine.begin() as conn:
            self.links_new += ledger.record_links(conn, ready, self.run_id)
            rows = [row for row in _link_rows(conn, ready) if row[0] not in self._done_links]
            _judge(conn, self.claims, self.run_id, self.last_ok, rows, self.curated,
                   _no_progress, self.judge)
        self._done_links.update(row[0] for row in rows)

    def judge_rest(self, step: Step) -> None:
        """Judge the claims' other links that need it: those of papers changed by a run that
        died, or by an ingest, and those judged by another judge or version."""
        with self.engine.begin() as conn:
            rows = [(lid, cid, pmid, upd) for lid, cid, pmid, upd in conn.execute(
                        _judge_columns().where(Link.claim_id.in_(list(self.claims))))
                    if lid not in self._done_links]
            _judge(conn, self.claims, self.run_id, self.last_ok, rows, self.curated, step,
                   self.judge)


def _fetch_all(source: EvidenceSource, batch: Sequence[str]) -> list[PaperRecord]:
    return list(source.fetch(batch))


def _link_rows(conn: Connection, requests: Sequence[LinkRequest]
               ) -> list[tuple[int, str, str, int | None]]:
    """``(link id, claim, PMID, paper's updated_run_id)`` of the links these requests name."""
    pairs = {(r.claim_id, r.pmid) for r in requests}
    rows: list[tuple[int, str, str, int | None]] = []
    for part in batches(sorted({r.pmid for r in requests}), 500):
        rows.extend((lid, cid, pmid, upd) for lid, cid, pmid, upd in conn.execute(
            _judge_columns().where(Paper.pmid.in_(part))) if (cid, pmid) in pairs)
    return rows


def _judge_columns() -> Select[int, str, str, int | None]:
    """What :func:`_judge` needs of a link: its id, claim, paper's PMID and updated_run_id."""
    return (select(Link.id, Link.claim_id, Paper.pmid, Paper.updated_run_id)
            .join(Paper, Paper.id == Link.paper_id))


def _citation_queries(claim_set: ClaimSet) -> dict[tuple[object, ...], CitationQuery]:
    """One ECitMatch query per distinct cited reference of the claims."""
    queries: dict[tuple[object, ...], CitationQuery] = {}
    for c in claim_set.claims:
        for ref in c.cited:
            queries.setdefault(_citation_ident(ref), CitationQuery(
                key=f"cit{len(queries) + 1}", journal=ref.journal, year=ref.year,
                volume=ref.volume, first_page=ref.first_page, author=ref.author))
    return queries


def _citation_ident(ref: CitedReference) -> tuple[object, ...]:
    """What makes two cited references one ECitMatch query."""
    return (ref.journal, ref.year, ref.volume, ref.first_page, ref.author)


def _resolve_citations(engine: Engine, claim_set: ClaimSet,
                       queries: dict[tuple[object, ...], CitationQuery],
                       answer: list[CitationMatch]) -> list[tuple[str, str, str, str | None]]:
    """Store each cited reference's resolution; ``(claim, key, resolution, PMID)`` for each."""
    matches = {m.key: m for m in answer}
    out: list[tuple[str, str, str, str | None]] = []
    with engine.begin() as conn:
        for c in claim_set.claims:
            for ref in c.cited:
                q = queries[_citation_ident(ref)]
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
    return out


class _Requests:
    """The source's requests, made one at a time on one background thread, answers in order.

    While that thread waits for the rate limit (Biopython's sleep releases the GIL), the
    refreshing thread stores, links and judges what has already come back. Every request runs
    on the one thread, so they stay serialized behind Biopython's rate limiter and
    :mod:`evtrack.entrez`'s patches of Biopython's module globals never overlap. Requests are
    made in the order sent, an ``urgent`` one (EFetch, ELink) ahead of any not yet started.
    After a request fails no other is made: :meth:`next` hands out the answers made before it,
    then raises that very exception in the caller's thread.

    ``background=False`` makes each request at once in the caller's thread: the offline source
    has no waits to overlap, and it reads the store this refresh writes, which it must do
    before anything is stored, as it always has.
    """

    def __init__(self, *, background: bool) -> None:
        self._todo: queue.PriorityQueue[tuple[int, int, tuple[tuple[Any, ...], Callable[[], Any]]
                                              | None]] = queue.PriorityQueue()
        self._done: queue.SimpleQueue[tuple[tuple[Any, ...], Any, bool]] = queue.SimpleQueue()
        self._order = itertools.count()
        self._failed = False  # the in-thread mode's memory of a failure
        self.outstanding = 0  # sent, answer not yet taken by next()
        self._thread = (threading.Thread(target=self._work, name="evtrack-requests",
                                         daemon=True) if background else None)
        if self._thread is not None:
            self._thread.start()

    def __enter__(self) -> _Requests:
        return self

    def __exit__(self, *_exc: object) -> None:
        """Stop after the request in progress (none is started after this) and wait for it."""
        if self._thread is not None:
            self._todo.put((-1, -1, None))
            self._thread.join()

    def send(self, tag: tuple[Any, ...], call: Callable[[], Any], *, urgent: bool = False) -> None:
        if self._thread is not None:
            self._todo.put((0 if urgent else 1, next(self._order), (tag, call)))
        elif self._failed:
            return  # never answered: next() raises the failure first
        else:
            answer = _answer(tag, call)
            self._done.put(answer)
            self._failed = answer[2]
        self.outstanding += 1

    def next(self) -> tuple[tuple[Any, ...], Any]:
        """The next answer, in the order requests were made; a failed request's exception."""
        tag, value, failed = self._done.get()
        self.outstanding -= 1
        if failed:
            raise value
        return tag, value

    def _work(self) -> None:
        while True:
            _urgency, _n, item = self._todo.get()
            if item is None:
                return
            answer = _answer(*item)
            self._done.put(answer)
            if answer[2]:
                return


def _answer(tag: tuple[Any, ...], call: Callable[[], Any]) -> tuple[tuple[Any, ...], Any, bool]:
    """``(tag, answer, False)``, or ``(tag, exception, True)`` for the caller to raise."""
    try:
        return tag, call(), False
    except BaseException as exc:  # noqa: BLE001 - handed over whole, raised by next()
        return tag, exc, True


def _judge(conn: Connection, claims: Mapping[str, Claim], run_id: int, last_ok: int | None,
           rows: Sequence[tuple[int, str, str, int | None]],
           curated: Sequence[tuple[str, str | None, str, str | None]], step: Step,
           judge: str = "lexical") -> None:
    """Judge those of these links (``(link id, claim, PMID, paper's updated_run_id)``) that are
    new, judged by another judge or version, or whose paper changed since the last refresh that
    finished (``last_ok``); (re)apply the curator's stances to them.

    Runs inside the caller's transaction, the one that records the links: a reader never
    sees links without their judgements, and a crash leaves neither.
    """
    from evtrack.judge import AUTO_METHODS, current_versions

    current = current_versions(judge)
    ids = [lid for lid, *_x in rows]
    judged: set[int] = set()
    for i in range(0, len(ids), 500):
        judged.update(lid for lid, method, version in conn.execute(
            select(Judgement.link_id, Judgement.method, Judgement.version).where(
                Judgement.link_id.in_(ids[i:i + 500]), Judgement.method.in_(AUTO_METHODS)))
            if current.get(method) == version)
    todo = sorted(((lid, cid, pmid) for lid, cid, pmid, upd in rows
                   if lid not in judged or upd == run_id
                   or (upd is not None and (last_ok is None or upd > last_ok))),
                  key=lambda t: (t[2] or "", t[1]))  # a paper's links in a row: analyse's cache
    records: dict[str, PaperRecord] = {
        r.pmid: r for r in load_records(conn, {pmid for *_x, pmid in todo})}
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

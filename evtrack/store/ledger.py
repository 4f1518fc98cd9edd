"""Claims, links, provenance, judgements and runs: the ledger's bookkeeping, in SQLAlchemy Core.

Every function takes an open Connection inside the caller's transaction. Nothing here ever
writes the ``verdicts`` table except :func:`add_verdict` — refresh cannot touch a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, insert, select, tuple_, update

from evtrack import claims as cl
from evtrack.errors import NotFoundError
from evtrack.store.models import (
    CitedReference,
    Claim,
    ClaimEdge,
    ClaimQuery,
    CuratedRef,
    Judgement,
    LedgerState,
    Link,
    LinkProvenance,
    Paper,
    RefreshRun,
    Verdict,
)
from evtrack.store.papers import utcnow


def citation_text(ref: cl.CitedReference) -> str:
    parts = [p for p in (ref.author, ref.journal) if p]
    vol = f";{ref.volume}" if ref.volume else ""
    page = f":{ref.first_page}" if ref.first_page else ""
    return f"{'. '.join(parts)} {ref.year}{vol}{page}"


def sync_claims(conn: Connection, claim_set: cl.ClaimSet) -> None:
    """Write the claims files' content into the store.

    Claims are upserted, never deleted: links and verdicts hang off them. Queries, edges and
    curated references are replaced; a cited reference keeps what resolving it found unless
    the citation itself changed.
    """
    for pos, c in enumerate(claim_set.claims):
        row = {"claim_set": c.source_file.rsplit("/", 1)[-1].removesuffix(".toml"),
               "position": pos, "text": c.text, "subject": c.subject, "relation": c.relation,
               "object": c.object, "context_json": json.dumps(c.context, sort_keys=True),
               "source_file": c.source_file}
        if conn.execute(select(Claim.id).where(Claim.id == c.id)).first():
            conn.execute(update(Claim).where(Claim.id == c.id).values(**row))
        else:
            conn.execute(insert(Claim).values(id=c.id, **row))
    for c in claim_set.claims:
        _sync_queries(conn, c)
        conn.execute(delete(ClaimEdge).where(ClaimEdge.from_claim == c.id))
        edges = [{"from_claim": c.id, "to_claim": t, "kind": "leads_to"} for t in c.leads_to]
        edges += [{"from_claim": c.id, "to_claim": t, "kind": "questions"} for t in c.questions]
        if edges:
            conn.execute(insert(ClaimEdge), edges)
        _sync_cited(conn, c)
        conn.execute(delete(CuratedRef).where(CuratedRef.claim_id == c.id))
        curated = [{"claim_id": c.id, "position": i, "label": e.label, "pmid": e.pmid,
                    "pmid_status": e.pmid_status, "doi": e.doi, "stance": e.stance,
                    "note": e.note, "design": e.design} for i, e in enumerate(c.curated)]
        if curated:
            conn.execute(insert(CuratedRef), curated)


def _sync_queries(conn: Connection, c: cl.Claim) -> None:
    have = dict(conn.execute(select(ClaimQuery.name, ClaimQuery.term)
                             .where(ClaimQuery.claim_id == c.id)).all())
    wanted = {q.name: q.term for q in c.queries}
    gone = set(have) - set(wanted)
    if gone:
        conn.execute(delete(ClaimQuery).where(ClaimQuery.claim_id == c.id,
                                              ClaimQuery.name.in_(gone)))
    for name, term in wanted.items():
        if name not in have:
            conn.execute(insert(ClaimQuery).values(claim_id=c.id, name=name, term=term))
        elif have[name] != term:
            conn.execute(update(ClaimQuery).where(ClaimQuery.claim_id == c.id,
                                                  ClaimQuery.name == name)
                         .values(term=term, last_count=None, last_run_id=None))


def _sync_cited(conn: Connection, c: cl.Claim) -> None:
    have = {r.key: r for r in conn.execute(select(CitedReference)
                                           .where(CitedReference.claim_id == c.id)).all()}
    keys = {ref.key for ref in c.cited}
    gone = set(have) - keys
    if gone:
        conn.execute(delete(CitedReference).where(CitedReference.claim_id == c.id,
                                                  CitedReference.key.in_(gone)))
    for ref in c.cited:
        row = {"citation": citation_text(ref), "given_pmid": ref.pmid,
               "given_pmid_status": ref.pmid_status, "doi": ref.doi}
        old = have.get(ref.key)
        if old is None:
            conn.execute(insert(CitedReference).values(claim_id=c.id, key=ref.key,
                                                       resolution="pending", **row))
        elif any(getattr(old, k) != v for k, v in row.items()):
            conn.execute(update(CitedReference).where(CitedReference.id == old.id)
                         .values(resolved_pmid=None, resolution="pending", **row))


def set_citation_resolution(conn: Connection, claim_id: str, key: str, pmid: str | None,
                            resolution: str) -> None:
    conn.execute(update(CitedReference)
                 .where(CitedReference.claim_id == claim_id, CitedReference.key == key)
                 .values(resolved_pmid=pmid, resolution=resolution))


@dataclass(frozen=True)
class LinkRequest:
    """"Link this paper to this claim, because …".

    kind: cited | query | elink_refs | elink_citedin | curated."""

    claim_id: str
    pmid: str
    kind: str
    detail: str


def record_links(conn: Connection, requests: Iterable[LinkRequest], run_id: int) -> int:
    """Create or refresh links and their provenance; returns how many links are new.

    Requests whose PMID is not in the store are ignored (the caller fetched what exists).
    """
    reqs = list(dict.fromkeys(requests))
    if not reqs:
        return 0
    pmids = {r.pmid for r in reqs}
    paper_ids: dict[str, int] = {}
    wanted = list(pmids)
    for i in range(0, len(wanted), 500):
        paper_ids.update(conn.execute(select(Paper.pmid, Paper.id)
                                      .where(Paper.pmid.in_(wanted[i:i + 500]))).all())
    now = utcnow()
    pairs = {(r.claim_id, paper_ids[r.pmid]) for r in reqs if r.pmid in paper_ids}
    existing = _link_ids(conn, pairs)
    fresh = [{"claim_id": c, "paper_id": p, "first_run_id": run_id, "last_run_id": run_id,
              "first_seen": now, "last_seen": now} for c, p in sorted(pairs - set(existing))]
    if fresh:
        conn.execute(insert(Link), fresh)
    if existing:
        ids = list(existing.values())
        for i in range(0, len(ids), 500):
            conn.execute(update(Link).where(Link.id.in_(ids[i:i + 500]))
                         .values(last_run_id=run_id, last_seen=now))
    link_ids = _link_ids(conn, pairs)
    prov = {(link_ids[(r.claim_id, paper_ids[r.pmid])], r.kind, r.detail)
            for r in reqs if r.pmid in paper_ids}
    have: set[tuple[int, str, str]] = set()
    linked = sorted({p[0] for p in prov})
    for i in range(0, len(linked), 500):
        have.update(conn.execute(select(LinkProvenance.link_id, LinkProvenance.kind,
                                        LinkProvenance.detail)
                                 .where(LinkProvenance.link_id.in_(linked[i:i + 500]))).all())
    new_prov = [{"link_id": lid, "kind": k, "detail": d, "first_run_id": run_id,
                 "last_run_id": run_id} for lid, k, d in sorted(prov - have)]
    if new_prov:
        conn.execute(insert(LinkProvenance), new_prov)
    seen = sorted(prov & have)
    if seen:  # one executemany, not a statement per row: a rerun sees every link again
        conn.execute(update(LinkProvenance)
                     .where(LinkProvenance.link_id == bindparam("lid"),
                            LinkProvenance.kind == bindparam("k"),
                            LinkProvenance.detail == bindparam("d"))
                     .values(last_run_id=run_id),
                     [{"lid": lid, "k": k, "d": d} for lid, k, d in seen])
    return len(fresh)


def _link_ids(conn: Connection, pairs: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    items = sorted(pairs)
    for i in range(0, len(items), 400):
        chunk = items[i:i + 400]
        rows = conn.execute(select(Link.claim_id, Link.paper_id, Link.id)
                            .where(tuple_(Link.claim_id, Link.paper_id).in_(chunk))).all()
        out.update({(c, p): lid for c, p, lid in rows})
    return out


def save_judgements(conn: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    """Replace the judgements of (link, method) pairs: machines and files may change their mind."""
    if not rows:
        return
    conn.execute(delete(Judgement).where(Judgement.link_id == bindparam("lid"),  # one executemany
                                         Judgement.method == bindparam("m")),
                 [{"lid": r["link_id"], "m": r["method"]} for r in rows])
    conn.execute(insert(Judgement), [dict(r, created_at=utcnow()) for r in rows])


def start_run(conn: Connection, kind: str, source: str) -> int:
    res = conn.execute(insert(RefreshRun).values(kind=kind, source=source, started_at=utcnow(),
                                                 status="running", requests_json="{}"))
    pk = res.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def finish_run(conn: Connection, run_id: int, *, status: str, requests: Mapping[str, int],
               new: int, updated: int, links_new: int, error: str | None = None) -> None:
    conn.execute(update(RefreshRun).where(RefreshRun.id == run_id).values(
        finished_at=utcnow(), status=status, requests_json=json.dumps(dict(requests)),
        records_new=new, records_updated=updated, links_new=links_new, error=error))


def last_ok_refresh_start(conn: Connection, source: str) -> datetime | None:
    """When the newest successful refresh from ``source`` started (None if there was none)."""
    return conn.scalar(select(RefreshRun.started_at).where(RefreshRun.kind == "refresh",
                                                           RefreshRun.source == source,
                                                           RefreshRun.status == "ok")
                       .order_by(RefreshRun.id.desc()).limit(1))


def link_id_for(conn: Connection, claim_id: str, pmid: str) -> int:
    row = conn.execute(select(Link.id).join(Paper, Paper.id == Link.paper_id)
                       .where(Link.claim_id == claim_id, Paper.pmid == pmid)).first()
    if row is None:
        raise NotFoundError(f"no link between claim {claim_id} and PMID {pmid} in the store")
    return int(row[0])


def add_verdict(conn: Connection, claim_id: str, pmid: str, *, stance: str, reviewer: str,
                note: str | None = None, tag: str | None = None) -> int:
    """Record a researcher's verdict on a link; it overrides every automatic judgement."""
    lid = link_id_for(conn, claim_id, pmid)
    res = conn.execute(insert(Verdict).values(link_id=lid, stance=stance, reviewer=reviewer,
                                              note=note, tag=tag, created_at=utcnow()))
    pk = res.inserted_primary_key
    assert pk is not None
    return int(pk[0])


def count_rows(conn: Connection) -> dict[str, int]:
    """Row counts of the main tables, for ``evtrack status``."""
    tables = {"papers": Paper, "claims": Claim, "links": Link, "judgements": Judgement,
              "verdicts": Verdict, "runs": RefreshRun}
    return {name: int(conn.scalar(select(func.count()).select_from(t)) or 0)
            for name, t in tables.items()}


def generation(conn: Connection) -> int:
    """The ledger's generation as ``conn`` sees it: database triggers bump it in every
    transaction that writes a table the support report reads (migrations 0004 and 0005), so
    two reads that see one generation see one ledger."""
    return int(conn.execute(select(LedgerState.generation)
                            .where(LedgerState.id == 1)).scalar_one())

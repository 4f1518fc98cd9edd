"""A deterministic ledger of any size, written straight into a store with Core inserts.

``fill_store(engine, claims=1_000, papers=200_000, links=1_000_000, seed=0)`` writes claims,
papers with author lists, claim–paper links with provenance, judgements, curator stances,
researcher verdicts and cited references — the rows ``evtrack refresh`` would leave — without
parsing or judging anything, so that the reporting side (``bench/report.py``, the scale tests)
can be measured and checked on a store of realistic size and shape. The same seed gives the
same rows (ids included).

The *shape*: a claim's links come from a window of the paper space whose papers were written
by a few labs (a lab is a handful of people who sign most of its papers), so independent author
groups form the way they do in real fields; claim sizes are skewed (a few claims with thousands
of links, many with a few hundred); most links are judged by an automatic judge (two judges,
mostly with a "not about the claim" stance), about one in a hundred by the curator (some with a
curated study design), a few in a thousand have a researcher's verdict (some two: the newer one
counts), and a few papers in a thousand are retracted.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from evtrack.design import DESIGN_TIERS
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

__all__ = ["SCALE_VERSION", "ScaleCounts", "fill_store"]

#: Bumped whenever the rows for given sizes and seed change (benchmarks cache stores by it).
SCALE_VERSION = 1

CURATED_METHOD = "curated-file"  # evtrack.refresh.CURATED_METHOD (not imported: no refresh deps)
JUDGES = (("lexical-lr", "2.0", 0.7), ("cue-rules", "2.0", 0.3))  # method, version, share
# Automatic judges' stances: most papers a claim's query finds are not evidence either way.
AUTO_STANCES = (("supports", 6), ("contradicts", 2), ("mixed", 1), ("mentions", 31),
                ("unclear", 25), ("irrelevant", 35))
CURATED_STANCES = (("supports", 55), ("contradicts", 20), ("mixed", 10), ("mentions", 15))
VERDICT_STANCES = (("supports", 40), ("contradicts", 25), ("mixed", 10), ("irrelevant", 15),
                   ("unclear", 10))
TIERS = ((DESIGN_TIERS[0], 2), (DESIGN_TIERS[1], 4), (DESIGN_TIERS[2], 4), (DESIGN_TIERS[3], 20),
         (DESIGN_TIERS[4], 35), (DESIGN_TIERS[5], 15), (DESIGN_TIERS[6], 12), (DESIGN_TIERS[7], 8))
BATCH = 20_000
EPOCH = datetime(2026, 1, 1, 12, 0, 0)


@dataclass(frozen=True)
class ScaleCounts:
    claims: int
    papers: int
    links: int
    authors: int
    judgements: int
    verdicts: int
    curated: int
    retracted: int


def _pick(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


class _Names:
    def __init__(self, rng: random.Random) -> None:
        syl = [a + b for a in "bcdfghklmnprstvz" for b in "aeiou"]
        seen: dict[str, None] = {}
        while len(seen) < 6_000:
            seen["".join(rng.choices(syl, k=rng.randint(2, 3))).capitalize()] = None
        self.last = list(seen)
        self.fore = [n[:5] for n in self.last[:400]]

    def person(self, rng: random.Random) -> tuple[str, str, str]:
        fore = rng.choice(self.fore)
        return rng.choice(self.last), fore, fore[0]


def fill_store(engine: Engine, *, claims: int = 1_000, papers: int = 200_000,
               links: int = 1_000_000, seed: int = 0) -> ScaleCounts:
    """Write a generated ledger of this size into the (empty, migrated) store ``engine``."""
    if links > claims * papers:
        raise ValueError("more links than claim–paper pairs")
    rng = random.Random(seed)
    names = _Names(rng)
    with engine.begin() as conn:
        conn.execute(insert(RefreshRun).values(
            id=1, kind="refresh", source="offline", started_at=EPOCH,
            finished_at=EPOCH + timedelta(minutes=5), status="ok", requests_json="{}",
            records_new=papers, records_updated=0, links_new=links))
        conn.execute(insert(Claim), [_claim(i) for i in range(claims)])
        conn.execute(insert(ClaimQuery), [
            {"id": i + 1, "claim_id": f"C{i + 1}", "name": "main",
             "term": f"generated[tiab] AND topic{i + 1}[tiab]", "last_count": None,
             "last_run_id": 1} for i in range(claims)])
        edges = []
        for i in range(1, claims):  # chains of five claims, and a few questions edges
            if i % 5:
                edges.append({"from_claim": f"C{i}", "to_claim": f"C{i + 1}", "kind": "leads_to"})
            if i % 97 == 0:
                edges.append({"from_claim": f"C{i + 1}", "to_claim": f"C{i}",
                              "kind": "questions"})
        if edges:
            conn.execute(insert(ClaimEdge), edges)

    # Papers: consecutive papers mostly come from the same lab (labs of 3-7 people).
    lab_of: list[int] = []
    labs: list[list[tuple[str, str, str]]] = []
    retracted = 0
    paper_rows: list[dict[str, Any]] = []
    author_rows: list[dict[str, Any]] = []
    n_authors = 0
    pmids = [str(30_000_001 + 2 * i + (i % 3 == 0)) for i in range(papers)]
    with engine.begin() as conn:
        for i in range(papers):
            if not labs or rng.random() < 0.12:
                labs.append([names.person(rng) for _ in range(rng.randint(3, 7))])
            lab = len(labs) - 1 if rng.random() < 0.85 else rng.randrange(len(labs))
            lab_of.append(lab)
            is_retracted = rng.random() < 0.003
            retracted += is_retracted
            year = rng.randint(1990, 2025)
            tier = _pick(rng, TIERS)
            paper_rows.append({
                "id": i + 1, "pmid": pmids[i], "title": f"Generated paper {i + 1} on topic "
                f"{lab % 997}", "abstract": "", "abstract_json": "[]",
                "journal": f"Journal of Topic {lab % 311}", "journal_iso": f"J Top {lab % 311}",
                "pub_year": year, "pub_month": rng.randint(1, 12) if rng.random() < 0.8 else None,
                "pub_day": rng.randint(1, 28) if rng.random() < 0.4 else None,
                "doi": f"10.5555/gen.{i + 1}" if rng.random() < 0.7 else None,
                "keywords_json": "[]", "other_ids_json": "[]", "status": "MEDLINE",
                "is_retracted": is_retracted, "design_tier": tier,
                "design_reason": f"generated {tier}", "content_hash": f"{i:064x}",
                "source": "file", "first_run_id": 1, "updated_run_id": 1, "updated_at": EPOCH})
            members = labs[lab]
            people = rng.sample(members, rng.randint(min(2, len(members)), len(members)))
            people += [names.person(rng) for _ in range(rng.choice((0, 0, 1, 2, 3)))]
            rng.shuffle(people)
            for pos, (last, fore, initials) in enumerate(people):
                author_rows.append({"paper_id": i + 1, "position": pos, "last_name": last,
                                    "fore_name": fore, "initials": initials,
                                    "collective_name": None, "affiliations_json": "[]",
                                    "orcid": None})
            if rng.random() < 0.002:
                author_rows.append({"paper_id": i + 1, "position": len(people),
                                    "last_name": None, "fore_name": None, "initials": None,
                                    "collective_name": f"Consortium {lab % 50}",
                                    "affiliations_json": "[]", "orcid": None})
            if len(paper_rows) >= BATCH:
                n_authors += _flush(conn, paper_rows, author_rows)
        n_authors += _flush(conn, paper_rows, author_rows)

    counts = _links(engine, rng, claims, papers, links, pmids)
    _reset_sequences(engine)
    return ScaleCounts(claims=claims, papers=papers, links=links, authors=n_authors,
                       judgements=counts[0], verdicts=counts[1], curated=counts[2],
                       retracted=retracted)


def _claim(i: int) -> dict[str, Any]:
    return {"id": f"C{i + 1}", "claim_set": "scale", "position": i,
            "text": f"Generated claim {i + 1}: factor {i + 1} increases response {i % 37}",
            "subject": f"factor {i + 1}", "relation": "increases", "object": f"response {i % 37}",
            "context_json": "{}", "source_file": "scale.toml"}


def _flush(conn: Any, papers: list[dict[str, Any]], authors: list[dict[str, Any]]) -> int:
    if papers:
        conn.execute(insert(Paper), papers)
    n = len(authors)
    if authors:
        conn.execute(insert(PaperAuthor), authors)
    papers.clear()
    authors.clear()
    return n


def _claim_sizes(rng: random.Random, claims: int, papers: int, links: int) -> list[int]:
    weights = [rng.lognormvariate(0, 0.9) for _ in range(claims)]
    total = sum(weights)
    sizes = [max(1, min(papers, int(links * w / total))) for w in weights]
    i = 0
    while sum(sizes) != links:  # exact total, within each claim's room
        j = i % claims
        diff = links - sum(sizes)
        if diff > 0 and sizes[j] < papers:
            sizes[j] += min(diff, papers - sizes[j])
        elif diff < 0 and sizes[j] > 1:
            sizes[j] -= min(-diff, sizes[j] - 1)
        i += 1
    return sizes


def _link_papers(rng: random.Random, size: int, papers: int) -> Iterator[int]:
    """``size`` distinct paper indexes: a few windows of the paper space (a few fields)."""
    chosen: set[int] = set()
    spread = max(50, size)
    centres = [rng.randrange(papers) for _ in range(rng.randint(1, 4))]
    while len(chosen) < size:
        if rng.random() < 0.9:
            idx = int(rng.choice(centres) + rng.gauss(0, spread)) % papers
        else:
            idx = rng.randrange(papers)
        if idx not in chosen:
            chosen.add(idx)
            yield idx


def _links(engine: Engine, rng: random.Random, claims: int, papers: int, links: int,
           pmids: list[str]) -> tuple[int, int, int]:
    sizes = _claim_sizes(rng, claims, papers, links)
    link_rows: list[dict[str, Any]] = []
    prov: list[dict[str, Any]] = []
    judg: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    curated: list[dict[str, Any]] = []
    cited: list[dict[str, Any]] = []
    lid = jid = vid = 0
    n_judg = n_curated = 0
    with engine.begin() as conn:
        for c, size in enumerate(sizes):
            cid = f"C{c + 1}"
            positions = 0
            linked: list[str] = []
            for idx in _link_papers(rng, size, papers):
                lid += 1
                pmid = pmids[idx]
                linked.append(pmid)
                link_rows.append({"id": lid, "claim_id": cid, "paper_id": idx + 1,
                                  "first_run_id": 1, "last_run_id": 1, "first_seen": EPOCH,
                                  "last_seen": EPOCH})
                prov.append({"link_id": lid, "kind": "query", "detail": "main",
                             "first_run_id": 1, "last_run_id": 1})
                if rng.random() < 0.05:
                    prov.append({"link_id": lid, "kind": "elink_citedin",
                                 "detail": pmids[rng.randrange(papers)], "first_run_id": 1,
                                 "last_run_id": 1})
                r = rng.random()
                judges = ([JUDGES[0]] if r < 0.62 else [JUDGES[1]] if r < 0.85
                          else [JUDGES[0], JUDGES[1]] if r < 0.92 else [])
                for method, version, _share in judges:
                    jid += 1
                    stance = _pick(rng, AUTO_STANCES)
                    judg.append({"id": jid, "link_id": lid, "method": method,
                                 "version": version, "stance": stance,
                                 "rationale": f"cue {jid % 17}", "confidence": 0.5 + r / 2,
                                 "decided_by": f"judge {method} {version}",
                                 "created_at": EPOCH})
                if rng.random() < 0.01:
                    jid += 1
                    n_curated += 1
                    stance = _pick(rng, CURATED_STANCES)
                    judg.append({"id": jid, "link_id": lid, "method": CURATED_METHOD,
                                 "version": "1", "stance": stance, "rationale": "curated",
                                 "confidence": 1.0, "decided_by": "curator (scale.toml)",
                                 "created_at": EPOCH})
                    positions += 1
                    design = _pick(rng, TIERS) if rng.random() < 0.3 else None
                    curated.append({"claim_id": cid, "position": positions,
                                    "label": f"Curated {lid}", "pmid": pmid,
                                    "pmid_status": "verified", "doi": None, "stance": stance,
                                    "note": "read by the curator", "design": design})
                if rng.random() < 0.003:
                    for k in range(1 if rng.random() < 0.9 else 2):
                        vid += 1
                        verdicts.append({"id": vid, "link_id": lid,
                                         "stance": _pick(rng, VERDICT_STANCES),
                                         "reviewer": f"Reviewer {vid % 7}", "note": None,
                                         "tag": None,
                                         "created_at": EPOCH + timedelta(days=k, seconds=vid)})
                n_judg = jid
                if len(link_rows) >= BATCH:
                    _flush_links(conn, link_rows, prov, judg, verdicts, curated, cited)
            for k in range(2):  # the article's own references for the claim
                resolved = rng.choice(linked) if rng.random() < 0.8 else None
                cited.append({"claim_id": cid, "key": f"ref{k + 1}",
                              "citation": f"Author A. J Gen. 20{10 + k};{c}:{k}",
                              "given_pmid": resolved, "given_pmid_status": "verified",
                              "doi": None, "resolved_pmid": resolved,
                              "resolution": "found-local" if resolved else "NOT_FOUND"})
        _flush_links(conn, link_rows, prov, judg, verdicts, curated, cited)
    return n_judg, vid, n_curated


def _flush_links(conn: Any, *tables: list[dict[str, Any]]) -> None:
    for model, rows in zip((Link, LinkProvenance, Judgement, Verdict, CuratedRef,
                            CitedReference), tables, strict=True):
        if rows:
            conn.execute(insert(model), rows)
            rows.clear()


def _reset_sequences(engine: Engine) -> None:
    """PostgreSQL: move the id sequences past the explicit ids written here."""
    if engine.dialect.name != "postgresql":
        return
    from sqlalchemy import text
    with engine.begin() as conn:
        for table in ("refresh_runs", "claim_queries", "papers", "links", "judgements",
                      "verdicts", "curated_refs", "cited_references"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"))

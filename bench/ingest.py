"""Ingest benchmark: parse + store N generated PubMed records, ours against the naive way.

    .venv/bin/python bench/ingest.py --records 20000 --records 200000 --runs 3

For each size, in the same run and on the same generated file (``bench/generate.py``):

* **ours, first** — ``evtrack.ingest.ingest_files`` into a fresh SQLite database (the real
  ``evtrack ingest`` path: streaming parser, parse worker processes, batched writes);
* **ours, first, no parse workers** — the same with ``workers=0``: parsing and writing take
  turns in one process (what the workers buy);
* **ours, again** — the same file once more into that database (every record unchanged);
* **ours, revised** — a revision of the file in which every other record changed (later
  ``DateRevised``, a new title, one MeSH heading fewer): updates in place;
* **baseline** — ``Bio.Entrez.read`` of the whole file and SQLAlchemy ORM ``add_all`` of the
  equivalent mapped objects (papers, authors, MeSH, publication types, corrections,
  references), one commit. It holds the whole file in memory (about 12x its size), so above
  ``--baseline-max`` records it runs on the first ``--baseline-max`` records of the same
  corpus (same seed, so the same records) and its rate is compared.

Each variant runs in its own process; records/s is wall time of the ingest call alone (not
interpreter start or schema creation); peak RSS is the sum of the VmHWM of the process and of
every worker it started (an upper bound of what they held at once); CPU is theirs summed.
Medians of ``--runs``.
Targets (issue 5): >= 5,000 records/s, >= 15x the baseline, peak RSS <= 150 MB and flat from
20 k to 200 k records, re-ingest within 2x of the first ingest.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import (
    TreeMonitor,
    machine,
    machine_line,
    median,
    peak_rss_mb,
    run_worker,
    table,
    verdict,
)
from generate import corpus_file

TARGET_RATE = 5_000
TARGET_RATIO = 15.0
TARGET_RSS_MB = 150.0
TARGET_REINGEST = 2.0
RSS_FLAT_TOLERANCE = 1.15  # "flat": the largest size may use at most 15 % more than the smallest


# --------------------------------------------------------------------------- workers


def worker_ours(path: Path, db: Path, workers: int | None) -> dict[str, Any]:
    from evtrack.ingest import ingest_files
    from evtrack.store.db import open_store

    engine = open_store(f"sqlite:///{db}")  # schema migrations are not part of the figure
    with TreeMonitor() as tree:
        cpu_before = tree.cpu_seconds
        start = time.perf_counter()
        result = ingest_files(engine, [path], workers=workers)
        seconds = time.perf_counter() - start
    if result.failures:
        raise SystemExit(f"ingest failed: {result.failures}")
    c = result.counts
    return {"seconds": seconds, "cpu": tree.cpu_seconds - cpu_before,
            "records": c.new + c.updated + c.unchanged + c.stale, "new": c.new,
            "updated": c.updated, "unchanged": c.unchanged, "processes": len(tree.peaks),
            "peak_rss_mb": tree.peak_rss_mb}


def worker_baseline(path: Path, db: Path) -> dict[str, Any]:
    """Bio.Entrez.read + ORM add_all of the same rows our store writes."""
    from Bio import Entrez
    from sqlalchemy.orm import Session

    from evtrack.store.db import open_store

    engine = open_store(f"sqlite:///{db}")
    start, cpu = time.perf_counter(), time.process_time()
    with open(path, "rb") as handle:
        parsed = Entrez.read(handle)  # validates against the bundled DTD
    with Session(engine) as session, session.begin():
        papers = [_orm_paper(article) for article in parsed["PubmedArticle"]]
        session.add_all(p for p, _children in papers)
        session.flush()  # assigns the paper ids the child rows need
        session.add_all(child for paper, children in papers for child in children(paper.id))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "records": len(papers)}


def _orm_paper(article: Any) -> tuple[Any, Any]:
    """A Paper and a function making its child objects, from one Entrez PubmedArticle."""
    from evtrack.design import classify_design
    from evtrack.records import MeshHeading, MeshQualifier, PaperRecord, PublicationType
    from evtrack.store.models import (
        Paper,
        PaperAuthor,
        PaperCorrection,
        PaperMesh,
        PaperPubType,
        PaperReference,
    )
    from evtrack.store.papers import utcnow

    citation, data = article["MedlineCitation"], article["PubmedData"]
    art = citation["Article"]
    journal, issue = art["Journal"], art["Journal"]["JournalIssue"]
    date = issue.get("PubDate", {})
    sections = art.get("Abstract", {}).get("AbstractText", [])
    ids = {i.attributes["IdType"]: str(i) for i in data.get("ArticleIdList", [])}
    pub_types = art.get("PublicationTypeList", [])
    headings = citation.get("MeshHeadingList", [])
    corrections = citation.get("CommentsCorrectionsList", [])
    references = [r for group in data.get("ReferenceList", []) for r in group["Reference"]]
    revised = citation.get("DateRevised")
    design = classify_design(PaperRecord(
        pmid=str(citation["PMID"]), title=str(art["ArticleTitle"]),
        publication_types=tuple(PublicationType(str(p)) for p in pub_types),
        mesh=tuple(MeshHeading(str(h["DescriptorName"]), major=h["DescriptorName"].attributes[
            "MajorTopicYN"] == "Y", qualifiers=tuple(
                MeshQualifier(str(q), major=q.attributes["MajorTopicYN"] == "Y")
                for q in h.get("QualifierName", []))) for h in headings)))
    month = date.get("Month")
    paper = Paper(
        pmid=str(citation["PMID"]), title=str(art["ArticleTitle"]),
        abstract="\n".join(f"{s.attributes['Label']}: {s}" if "Label" in s.attributes else str(s)
                           for s in sections),
        abstract_json=json.dumps([[s.attributes.get("Label"), s.attributes.get("NlmCategory"),
                                   str(s)] for s in sections], ensure_ascii=False),
        journal=journal.get("Title"), journal_iso=journal.get("ISOAbbreviation"),
        volume=issue.get("Volume"), issue=issue.get("Issue"),
        pages=art.get("Pagination", {}).get("MedlinePgn"),
        pub_year=int(date["Year"]) if "Year" in date else None,
        pub_month=(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec"].index(month) + 1) if month else None,
        pub_day=int(date["Day"]) if "Day" in date else None, pub_season=date.get("Season"),
        medline_date=date.get("MedlineDate"), doi=ids.get("doi"), pmcid=ids.get("pmc"),
        language=(art.get("Language") or [None])[0],
        keywords_json=json.dumps([str(k) for group in citation.get("KeywordList", [])
                                  for k in group], ensure_ascii=False),
        other_ids_json=json.dumps([[k, v] for k, v in ids.items()
                                   if k not in ("pubmed", "doi", "pmc")]),
        status=citation.attributes.get("Status"),
        date_revised="-".join(revised[k] for k in ("Year", "Month", "Day")) if revised else None,
        is_retracted=any(str(p) == "Retracted Publication" for p in pub_types),
        design_tier=design.tier, design_reason=design.reason,
        content_hash=hashlib.sha256(repr(article).encode()).hexdigest(), source="file",
        updated_at=utcnow())

    def children(paper_id: int) -> Iterator[Any]:
        for i, a in enumerate(art.get("AuthorList", [])):
            orcid = [str(x) for x in a.get("Identifier", []) if x.attributes["Source"] == "ORCID"]
            yield PaperAuthor(paper_id=paper_id, position=i, last_name=a.get("LastName"),
                              fore_name=a.get("ForeName"), initials=a.get("Initials"),
                              collective_name=a.get("CollectiveName"),
                              affiliations_json=json.dumps(
                                  [x["Affiliation"] for x in a.get("AffiliationInfo", [])],
                                  ensure_ascii=False),
                              orcid=orcid[0] if orcid else None)
        for i, h in enumerate(headings):
            d = h["DescriptorName"]
            yield PaperMesh(paper_id=paper_id, position=i, descriptor=str(d),
                            descriptor_ui=d.attributes.get("UI"),
                            major=d.attributes["MajorTopicYN"] == "Y",
                            qualifiers_json=json.dumps(
                                [[str(q), q.attributes.get("UI"),
                                  q.attributes["MajorTopicYN"] == "Y"]
                                 for q in h.get("QualifierName", [])]))
        for i, p in enumerate(pub_types):
            yield PaperPubType(paper_id=paper_id, position=i, name=str(p),
                               ui=p.attributes.get("UI"))
        for i, c in enumerate(corrections):
            yield PaperCorrection(paper_id=paper_id, position=i, ref_type=c.attributes["RefType"],
                                  ref_source=c.get("RefSource"),
                                  ref_pmid=str(c["PMID"]) if "PMID" in c else None)
        for i, r in enumerate(references):
            rids = {x.attributes["IdType"]: str(x) for x in r.get("ArticleIdList", [])}
            yield PaperReference(paper_id=paper_id, position=i, citation=r.get("Citation", ""),
                                 ref_pmid=rids.get("pubmed"), doi=rids.get("doi"),
                                 pmcid=rids.get("pmc"))

    return paper, children


def write_revision(source: Path, target: Path) -> None:
    """Every other record of ``source`` changed as a later NCBI revision would change it."""
    from evtrack.pubmed_xml import iter_records, write_records

    def revised() -> Iterator[Any]:
        for i, r in enumerate(iter_records(source)):
            if i % 2 == 0:
                r = dataclasses.replace(r, title=r.title + " (corrected)", mesh=r.mesh[:-1],
                                        date_revised="2026-01-15")
            yield r

    partial = target.with_suffix(".part")
    with open(partial, "wb") as out:
        write_records(revised(), out)
    partial.rename(target)


# --------------------------------------------------------------------------- driver


def measure(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    corpus = corpus_file(work, n, args.seed)
    revision = work / f"{corpus.stem}-revised.xml"
    if not revision.exists():
        write_revision(corpus, revision)
    n_base = min(n, args.baseline_max)
    base_corpus = corpus if n_base == n else corpus_file(work, n_base, args.seed)
    me = Path(__file__).resolve()
    keys = ("first", "one_process", "again", "revised", "base")
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
    for run in range(args.runs):
        db = work / f"ours-{n}-{run}.sqlite"
        single = work / f"ours-{n}-{run}-single.sqlite"
        for path in (db, single):
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        for key, path, target, kind in (("first", corpus, db, "ours"),
                                        ("one_process", corpus, single, "ours:0"),
                                        ("again", corpus, db, "ours"),
                                        ("revised", revision, db, "ours")):
            runs[key].append(run_worker(me, ["--worker", kind, str(path), str(target)]))
        if not args.no_baseline:
            base_db = work / f"base-{n}-{run}.sqlite"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{base_db}{suffix}").unlink(missing_ok=True)
            runs["base"].append(run_worker(me, ["--worker", "baseline", str(base_corpus),
                                                str(base_db)]))
        print(f"  n={n} run {run + 1}/{args.runs}: "
              + ", ".join(f"{k} {v[-1]['records'] / v[-1]['seconds']:,.0f}/s"
                          for k, v in runs.items() if v), file=sys.stderr)

    def summary(key: str) -> dict[str, Any]:
        rs = runs[key]
        if not rs:
            return {}
        return {"records": rs[0]["records"],
                "rate": median([r["records"] / r["seconds"] for r in rs]),
                "cpu_rate": median([r["records"] / r["cpu"] for r in rs]),
                "seconds": median([r["seconds"] for r in rs]),
                "peak_rss_mb": median([r["peak_rss_mb"] for r in rs])}

    out = {k: summary(k) for k in runs}
    assert runs["first"][0]["new"] == n, runs["first"][0]
    assert runs["again"][0]["unchanged"] == n, runs["again"][0]
    assert runs["revised"][0]["updated"] == (n + 1) // 2, runs["revised"][0]
    out["xml_mb"] = corpus.stat().st_size / 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, action="append",
                        help="corpus size; repeat for several (default 20000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per variant (median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baseline-max", type=int, default=20_000)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--workdir", type=Path, help="keep corpora here (default: a temp dir)")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "XML", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, xml, db = args.worker
        if kind.startswith("ours"):
            workers = int(kind.partition(":")[2]) if ":" in kind else None
            result = worker_ours(Path(xml), Path(db), workers)
        else:
            result = worker_baseline(Path(xml), Path(db))
            result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return

    sizes = args.records or [20_000]
    with tempfile.TemporaryDirectory(prefix="evtrack-bench-") as tmp:
        work = args.workdir or Path(tmp)
        results = {n: measure(n, args, work) for n in sizes}
    print(f"ingest benchmark — {machine_line()}")
    print(f"medians of {args.runs} runs; records/s = wall clock of the ingest call; cpu rec/s = "
          "records per CPU-second of all its processes; peak RSS = sum of their peaks\n")
    rows = []
    for r in results.values():
        for key, label in (("first", "ours, first ingest"),
                           ("one_process", "ours, first, no parse workers"),
                           ("again", "ours, same again"), ("revised", "ours, half revised"),
                           ("base", "baseline: Entrez.read + ORM")):
            s = r[key]
            if s:
                rows.append([f"{label} (n={s['records']:,})", f"{s['rate']:,.0f}",
                             f"{s['cpu_rate']:,.0f}", f"{s['seconds']:.1f}",
                             f"{s['peak_rss_mb']:,.0f}"])
    print(table(["", "records/s", "cpu rec/s", "seconds", "peak RSS MB"], rows))

    largest, smallest = results[max(sizes)], results[min(sizes)]
    checks = []
    for n, r in results.items():
        first = r["first"]
        checks.append((f"n={n:,}: >= {TARGET_RATE:,} records/s", f"{first['rate']:,.0f}",
                       first["rate"] >= TARGET_RATE))
        if r["base"]:
            ratio = first["rate"] / r["base"]["rate"]
            r["ratio"] = ratio
            checks.append((f"n={n:,}: >= {TARGET_RATIO:.0f}x baseline", f"{ratio:.1f}x",
                           ratio >= TARGET_RATIO))
        checks.append((f"n={n:,}: peak RSS <= {TARGET_RSS_MB:.0f} MB",
                       f"{first['peak_rss_mb']:.0f} MB", first["peak_rss_mb"] <= TARGET_RSS_MB))
        for key in ("again", "revised"):
            slower = r[key]["seconds"] / first["seconds"]
            r[f"{key}_vs_first"] = slower
            checks.append((f"n={n:,}: re-ingest ({key}) <= {TARGET_REINGEST:.0f}x first",
                           f"{slower:.2f}x", slower <= TARGET_REINGEST))
    if len(sizes) > 1:
        growth = largest["first"]["peak_rss_mb"] / smallest["first"]["peak_rss_mb"]
        checks.append((f"peak RSS flat from {min(sizes):,} to {max(sizes):,}",
                       f"{growth:.2f}x", growth <= RSS_FLAT_TOLERANCE))
    print()
    print(table(["target", "measured", ""], [[t, m, verdict(ok)] for t, m, ok in checks]))
    print(json.dumps({"bench": "ingest", "machine": machine(), "runs": args.runs,
                      "seed": args.seed, "results": {str(n): r for n, r in results.items()},
                      "targets_met": all(ok for *_x, ok in checks)}))


if __name__ == "__main__":
    main()

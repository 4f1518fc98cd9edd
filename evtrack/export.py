"""CSV export through pandas: the claims summary, one row per claim–paper link, the audit
trail (one row per verdict), citation integrity and the refresh diff; and the evidence for
reference managers (RIS, BibTeX)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
from sqlalchemy import Connection, Engine, Select, case, func, select

from evtrack import report_cache
from evtrack.bibexport import load_entries, to_bibtex, to_ris
from evtrack.changes import CHANGE_COLUMNS, Changes, changes_rows, diff_since
from evtrack.csvsafe import (
    LINE_END,
    neutralise_cell,
    neutralise_row,
    neutralise_sql,
    write_csv,
)
from evtrack.csvsafe import read_csv as read_csv  # the way back from write_csv
from evtrack.errors import StaleReportError
from evtrack.integrity import check_all
from evtrack.parse_pool import fewer_collections
from evtrack.render import LINK_COLUMNS, claims_frame, link_record, links_frame
from evtrack.report import UNJUDGED, ClaimReport, Report, link_order
from evtrack.scoring import Priors
from evtrack.store import ledger, summary
from evtrack.store.db import read_snapshot
from evtrack.store.models import Judgement, Link, LinkProvenance, Paper
from evtrack.verdicts import TrailRow

#: verdicts.csv's columns, in order.
TRAIL_COLUMNS = ["verdict_id", "claim_id", "claim", "pmid", "title", "stance", "stance_before",
                 "decided_before", "curator_stance", "judge_stance", "reviewer", "created_at",
                 "note", "tag", "current"]


def export_csv(report: Report, out_dir: Path, *, engine: Engine | None = None,
               chunk: int = 50) -> list[tuple[Path, int]]:
    """Write ``claims.csv`` and ``links.csv`` into ``out_dir``; returns (path, rows) pairs.

    For a summary report (``build_report(full=False)``), whose claims hold only the links they
    name, ``links.csv`` is streamed from ``engine`` ``chunk`` claims at a time (the links no
    score depends on straight from the store): the same file, without a million rows in
    memory at once. It is read in one snapshot of the ledger, which must be the one the
    report was built from: :class:`~evtrack.errors.StaleReportError` when something wrote to
    the ledger since, before either file is touched (build the report again). links.csv
    appears whole or not at all.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    claims = claims_frame(report)
    path = out_dir / "links.csv"
    if all(c.complete for c in report.claims):
        write_csv(claims, out_dir / "claims.csv")
        links = links_frame(report)
        write_csv(links, path)
        return [(out_dir / "claims.csv", len(claims)), (path, len(links))]
    if engine is None:
        raise ValueError("a summary report's links.csv is read from the store: pass engine")
    part = path.with_name(f".{path.name}.part")
    # Collections seldom: each chunk makes a few hundred thousand tuples that die with it,
    # and the report (all of it alive) need not be walked for them.
    with fewer_collections(), read_snapshot(engine) as conn:
        now = ledger.generation(conn)
        if report.generation is not None and now != report.generation:
            raise StaleReportError(
                f"the ledger changed after this report was built (generation "
                f"{report.generation}, now {now}): its links.csv would mix the two; build "
                "the report again")
        write_csv(claims, out_dir / "claims.csv")
        try:
            with open(part, "w", encoding="utf-8", newline="") as out:
                rows = _stream_links(out, report, conn, chunk)
            part.replace(path)
        finally:
            part.unlink(missing_ok=True)
    return [(out_dir / "claims.csv", len(claims)), (path, rows)]


#: How many times :func:`export_tables` builds the report again when the ledger changed
#: under it before it gives up (a refresh committing batch after batch, say).
ATTEMPTS = 3


def export_tables(engine: Engine, out_dir: Path, priors: Priors | None = None
                  ) -> list[tuple[Path, int]]:
    """``claims.csv`` and ``links.csv`` of every claim, as :func:`export_csv` writes them for
    the full report, from the kept summary report (:func:`evtrack.report_cache.summary_report`)
    with links.csv streamed from the store (``evtrack export --csv-only``): at a million links,
    a seventh of the time and a sixth of the memory of building every link's row first
    (``bench/RESULTS.md``). When the ledger changes
    between the report and the links, the report is built again, at most :data:`ATTEMPTS`
    times."""
    attempt = 1
    while True:
        report = report_cache.summary_report(engine, priors)
        try:
            return export_csv(report, out_dir, engine=engine)
        except StaleReportError:
            if attempt == ATTEMPTS:
                raise
            attempt += 1


def _stream_links(out: TextIO, report: Report, conn: Connection, chunk: int) -> int:
    """links.csv of a summary report: the links it names, with their weights and groups, and
    the others (:func:`_unnamed_rows`) straight from the store, ``chunk`` claims at a time —
    the same bytes as ``write_csv(links_frame(…))`` of the full report
    (``tests/test_report_scale.py``), at a fraction of the cost."""
    writer = csv.writer(out, lineterminator=LINE_END)
    writer.writerow(LINK_COLUMNS)
    rows = 0
    for i in range(0, len(report.claims), chunk):
        part = report.claims[i:i + chunk]
        unnamed = _unnamed_rows(part, *_unnamed_reads(conn, part, report.as_of))
        for claim in part:
            moved = {x.pmid: x for x in claim.score.contributions}
            keyed = unnamed.get(claim.id, [])
            keyed += [(*link_order(r), neutralise_row(link_record(claim, r, moved)))
                      for r in claim.links]
            # One claim's PMIDs are distinct: the key never ties, and the cells are never
            # compared.
            keyed.sort()
            writer.writerows(map(itemgetter(4), keyed))
            rows += len(keyed)
    return rows


#: What :func:`_unnamed_reads` returns: judgements, provenance, links with their papers.
_Reads = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _unnamed_reads(conn: Connection, claims: Sequence[ClaimReport], as_of: date | None
                   ) -> _Reads:
    """The three range reads behind :func:`_unnamed_rows` for ``claims``' links, with the
    cells as links.csv has them and the text already defused: the judgement that speaks for
    each link (:func:`evtrack.store.summary.effective_judgement`), the provenance in order,
    the links with their papers."""
    in_claims = Link.claim_id.in_([c.id for c in claims])
    # Only the judgement that speaks for its link, as the counts take it. The sort key in
    # integers, which compare with link_order's booleans: a Boolean column would be
    # converted in Python, value by value.
    judgements = _tuples(conn, select(
        Judgement.link_id, case((Judgement.stance == "supports", 0), else_=1),
        case((Judgement.stance == "contradicts", 0), else_=1), neutralise_sql(Judgement.stance),
        case((Judgement.method == summary.CURATED_METHOD, "curator"), else_="judge"),
        neutralise_sql(Judgement.decided_by), neutralise_sql(Judgement.rationale),
        Judgement.confidence)
        .join(Link, Link.id == Judgement.link_id)
        .where(in_claims, summary.effective_judgement()))
    provenance = _tuples(conn, select(
        LinkProvenance.link_id, LinkProvenance.kind, LinkProvenance.detail)
        .join(Link, Link.id == LinkProvenance.link_id).where(in_claims)
        .order_by(LinkProvenance.link_id, LinkProvenance.kind, LinkProvenance.detail))
    journal = case((func.coalesce(Paper.journal_iso, "") != "", Paper.journal_iso),
                   else_=Paper.journal)  # the report's `journal_iso or journal`
    stmt = (select(Link.claim_id, Link.id, Paper.pmid, Paper.pub_year,
                   neutralise_sql(Link.claim_id), neutralise_sql(Paper.pmid),
                   neutralise_sql(Paper.title), Paper.pub_year, neutralise_sql(journal),
                   neutralise_sql(Paper.doi), neutralise_sql(Paper.design_tier),
                   neutralise_sql("inferred: " + Paper.design_reason))
            .join(Paper, Paper.id == Link.paper_id).where(in_claims))
    if as_of is not None:
        stmt = stmt.where(summary.published_by_clause(as_of))
    return judgements, provenance, _tuples(conn, stmt)


def _unnamed_rows(claims: Sequence[ClaimReport], judgements: list[tuple[Any, ...]],
                  provenance: list[tuple[Any, ...]], links: list[tuple[Any, ...]]
                  ) -> dict[str, list[tuple[Any, ...]]]:
    """links.csv's rows of the links ``claims`` do not name, by claim, each as
    (:func:`evtrack.report.link_order`'s key, cells), from :func:`_unnamed_reads`.

    Those links move no score: none has a verdict, a curator's design, a retracted paper or
    a stance that counts, so none joins an independent group, weighs anything or is decided
    by anyone but the curator's file or the judge; SQL gave their cells, and Python only
    puts each row together.
    """
    named = {(c.id, r.pmid) for c in claims for r in c.links}
    judged = {lid: rest for lid, *rest in judgements}
    found: dict[int, list[str]] = {}
    for lid, kind, detail in provenance:
        found.setdefault(lid, []).append(f"{kind}:{detail}")
    found_by = {lid: neutralise_cell(" ".join(v)) for lid, v in found.items()}
    out: dict[str, list[tuple[Any, ...]]] = {}
    for cid, lid, pmid, year, *cells in links:
        if (cid, pmid) not in named:
            not_s, not_c, *decision = judged.get(lid, _UNJUDGED)
            out.setdefault(cid, []).append(
                (not_s, not_c, -(year or 0), pmid,
                 (*cells, *decision, False, found_by.get(lid, ""), "", 0.0, 0.0)))
    return out


#: :func:`_unnamed_rows`' judgement of a link nobody judged: its sort key, then the report's.
_UNJUDGED = (1, 1, *UNJUDGED)


def _tuples(conn: Connection, stmt: Select[*tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``stmt``'s rows as the driver returns them, plain tuples: no :class:`~sqlalchemy.Row`
    per row (a million of them cost seconds). Only for columns that need no conversion from
    what the driver gives (text, integers, floats)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    args = (tuple(params[k] for k in compiled.positiontup or ()) if compiled.positional
            else params)
    # Through the Connection, not a cursor of our own: it keeps the snapshot's transaction.
    result = conn.exec_driver_sql(str(compiled), args)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def verdicts_frame(rows: Sequence[TrailRow]) -> pd.DataFrame:
    """The audit trail as a frame: one row per verdict, oldest first; times in UTC, ISO 8601."""
    frame = pd.DataFrame(
        [{col: getattr(r, col) for col in TRAIL_COLUMNS} for r in rows], columns=TRAIL_COLUMNS)
    frame["created_at"] = [f"{r.created_at:%Y-%m-%dT%H:%M:%S}Z" for r in rows]
    return frame


def export_audit_trail(rows: Sequence[TrailRow], out_dir: Path) -> tuple[Path, int]:
    """Write ``verdicts.csv`` into ``out_dir`` (a header only when there are no verdicts)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "verdicts.csv"
    write_csv(verdicts_frame(rows), path)
    return path, len(rows)


#: citations.csv's columns, in order.
CITATION_COLUMNS = ["claim_id", "key", "citation", "pmid", "resolution", "supports_claim",
                    "stance", "decider", "decided_by", "design_tier", "explanation", "caveats"]


def citations_frame(report: Report) -> pd.DataFrame:
    """Citation integrity, one row per (claim, reference the article cites for it)."""
    rows = [{"claim_id": x.claim_id, "key": x.key, "citation": x.citation, "pmid": x.pmid,
             "resolution": x.resolution, "supports_claim": x.verdict, "stance": x.stance,
             "decider": x.decider, "decided_by": x.decided_by, "design_tier": x.tier,
             "explanation": x.explanation, "caveats": "; ".join(x.caveats)}
            for x in check_all(report.claims)]
    return pd.DataFrame(rows, columns=CITATION_COLUMNS)


def changes_frame(changes: Changes) -> pd.DataFrame:
    """The refresh diff (:mod:`evtrack.changes`), one row per change."""
    return pd.DataFrame(changes_rows(changes), columns=CHANGE_COLUMNS)


def export_review_files(engine: Engine, report: Report, out_dir: Path) -> list[tuple[Path, int]]:
    """Write ``citations.csv`` (citation integrity), ``changes.csv`` (what changed since before
    the last refresh) and the evidence for reference managers, ``evidence.ris`` and
    ``evidence.bib``; returns (path, rows or entries) pairs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("citations.csv", citations_frame(report)),
                        ("changes.csv", changes_frame(diff_since(engine, report=report)))):
        write_csv(frame, out_dir / name)
        written.append((out_dir / name, len(frame)))
    entries = load_entries(engine, report)
    for name, text in (("evidence.ris", to_ris(entries)), ("evidence.bib", to_bibtex(entries))):
        (out_dir / name).write_text(text, encoding="utf-8")
        written.append((out_dir / name, len(entries)))
    return written

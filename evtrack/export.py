"""CSV export through pandas: the claims summary, one row per claim–paper link, the audit
trail (one row per verdict), citation integrity and the refresh diff; and the evidence for
reference managers (RIS, BibTeX)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import pandas as pd
from sqlalchemy import Engine

from evtrack.bibexport import load_entries, to_bibtex, to_ris
from evtrack.changes import CHANGE_COLUMNS, Changes, changes_rows, diff_since
from evtrack.csvsafe import LINE_END, neutralise_row, write_csv
from evtrack.csvsafe import read_csv as read_csv  # the way back from write_csv
from evtrack.integrity import check_all
from evtrack.render import LINK_COLUMNS, claims_frame, link_record, links_frame
from evtrack.report import Report, iter_unnamed_links, link_order
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
    memory at once.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    claims = claims_frame(report)
    write_csv(claims, out_dir / "claims.csv")
    written = [(out_dir / "claims.csv", len(claims))]
    path = out_dir / "links.csv"
    if all(c.complete for c in report.claims):
        links = links_frame(report)
        write_csv(links, path)
        written.append((path, len(links)))
        return written
    if engine is None:
        raise ValueError("a summary report's links.csv is read from the store: pass engine")
    with open(path, "w", encoding="utf-8", newline="") as out:
        rows = _stream_links(out, report, engine, chunk)
    written.append((path, rows))
    return written


def _stream_links(out: TextIO, report: Report, engine: Engine, chunk: int) -> int:
    """links.csv of a summary report: the links it names, with their weights and groups, and
    the others straight from the store (:func:`evtrack.report.iter_unnamed_links`), through
    :mod:`csv` rather than a frame per chunk — the same bytes as ``write_csv(links_frame(…))``
    of the full report (``tests/test_report_scale.py``), at a fraction of the cost."""
    writer = csv.writer(out, lineterminator=LINE_END)
    writer.writerow(LINK_COLUMNS)
    rows = 0
    for claim, others in iter_unnamed_links(engine, report, chunk=chunk):
        moved = {x.pmid: x for x in claim.score.contributions}
        # Cells as pandas' to_csv writes them after csvsafe.neutralise: text defused, a
        # missing value empty, numbers and booleans as Python spells them.
        writer.writerows(neutralise_row(link_record(claim, r, moved))
                         for r in sorted((*claim.links, *others), key=link_order))
        rows += len(claim.links) + len(others)
    return rows


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

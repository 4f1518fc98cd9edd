"""CSV export through pandas: the claims summary, one row per claim–paper link, the audit
trail (one row per verdict), citation integrity and the refresh diff; and the evidence for
reference managers (RIS, BibTeX)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from sqlalchemy import Engine

from evtrack import report_cache
from evtrack.bibexport import load_entries, to_bibtex, to_ris
from evtrack.changes import CHANGE_COLUMNS, Changes, changes_rows, diff_since
from evtrack.csvsafe import read_csv as read_csv  # the way back from write_csv
from evtrack.csvsafe import write_csv
from evtrack.errors import StaleReportError
from evtrack.integrity import check_all
from evtrack.links_stream import Packed, header_bytes, unpack, write_links
from evtrack.parse_pool import fewer_collections
from evtrack.render import claims_frame, links_frame
from evtrack.report import Report
from evtrack.scoring import Priors, default_priors
from evtrack.store import ledger
from evtrack.store.db import read_snapshot
from evtrack.verdicts import TrailRow

#: verdicts.csv's columns, in order.
TRAIL_COLUMNS = ["verdict_id", "claim_id", "claim", "pmid", "title", "stance", "stance_before",
                 "decided_before", "curator_stance", "judge_stance", "reviewer", "created_at",
                 "note", "tag", "current"]


def export_csv(report: Report, out_dir: Path, *, engine: Engine | None = None,
               chunk: int = 50, keep_parts: Priors | None = None) -> list[tuple[Path, int]]:
    """Write ``claims.csv`` and ``links.csv`` into ``out_dir``; returns (path, rows) pairs.

    For a summary report (``build_report(full=False)``), whose claims hold only the links they
    name, ``links.csv`` is streamed from ``engine`` ``chunk`` claims at a time (the links no
    score depends on straight from the store; :mod:`evtrack.links_stream`): the same file,
    without a million rows in memory at once. It is read in one snapshot of the ledger,
    which must be the one the report was built from:
    :class:`~evtrack.errors.StaleReportError` when something wrote to the ledger since,
    before either file is touched (build the report again). links.csv appears whole or not
    at all. From :data:`evtrack.links_stream.HELPER_MIN_LINKS` links on, a helper process
    writes part of it on the second core.

    With ``keep_parts``, the priors of a :func:`evtrack.report_cache.summary_report`, links.csv
    is kept in the store claim by claim, and the claims kept for this very ledger are
    written as they were (:func:`evtrack.report_cache.kept_export_parts`); so is claims.csv's
    text.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "links.csv"
    if all(c.complete for c in report.claims):
        write_csv(claims_frame(report), out_dir / "claims.csv")
        links = links_frame(report)
        write_csv(links, path)
        return [(out_dir / "claims.csv", len(report.claims)), (path, len(links))]
    if engine is None:
        raise ValueError("a summary report's links.csv is read from the store: pass engine")
    if keep_parts is not None and report.as_of is not None:
        raise ValueError("only summary_report's reports (no as_of) are kept claim by claim")
    built: dict[str, Packed] | None = None if keep_parts is None else {}
    # Kept before the snapshot, whose connection must write nothing (an in-memory store's
    # pool has only the one); it is right for the report's ledger whatever the check says.
    text = (None if keep_parts is None
            else report_cache.keep_rendering(engine, report, "csv", keep_parts))
    # Collections seldom: each chunk makes a few hundred thousand tuples that die with it,
    # and the report (all of it alive) need not be walked for them.
    with fewer_collections(), read_snapshot(engine) as conn:
        now = ledger.generation(conn)
        if report.generation is not None and now != report.generation:
            raise StaleReportError(
                f"the ledger changed after this report was built (generation "
                f"{report.generation}, now {now}): its links.csv would mix the two; build "
                "the report again")
        kept = ({} if keep_parts is None
                else report_cache.kept_export_parts(conn, report, keep_parts))
        if text is None:
            write_csv(claims_frame(report), out_dir / "claims.csv")
        else:
            _write_text(out_dir / "claims.csv", text.encode("utf-8"))
        with _whole(path) as out:
            rows = write_links(out, report, conn, engine, out_dir, chunk, kept, built)
    if keep_parts is not None and built:
        report_cache.store_export_parts(engine, report, keep_parts, built)
    return [(out_dir / "claims.csv", len(report.claims)), (path, rows)]


@contextmanager
def _whole(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for writing, in binary, as a hidden file beside it that replaces it
    once written: it appears whole or not at all."""
    part = path.with_name(f".{path.name}.part")
    try:
        with open(part, "wb") as out:
            yield out
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)


def _write_text(path: Path, data: bytes) -> None:
    with _whole(path) as out:
        out.write(data)


#: How many times :func:`export_tables` builds the report again when the ledger changed
#: under it before it gives up (a refresh committing batch after batch, say).
ATTEMPTS = 3


def export_tables(engine: Engine, out_dir: Path, priors: Priors | None = None
                  ) -> list[tuple[Path, int]]:
    """``claims.csv`` and ``links.csv`` of every claim, as :func:`export_csv` writes them for
    the full report, from the kept summary report (:func:`evtrack.report_cache.summary_report`)
    with links.csv streamed from the store (``evtrack export --csv-only``): at a million links,
    a seventh of the time and a sixth of the memory of building every link's row first
    (``bench/RESULTS.md``). Both are kept in the store, links.csv claim by claim: when the
    ledger has not changed since, they are written as kept, without even decoding the report
    (:func:`evtrack.report_cache.kept_export`); after a write, only the claims it touched
    are made again. When the ledger changes between the report and the links, the report is
    built again, at most :data:`ATTEMPTS` times."""
    priors = priors or default_priors()
    kept = report_cache.kept_export(engine, priors)
    if kept is not None:
        with suppress(_Damaged):  # then built as if not kept (the damaged part again)
            return _write_kept(out_dir, *kept)
    attempt = 1
    while True:
        report = report_cache.summary_report(engine, priors)
        try:
            return export_csv(report, out_dir, engine=engine, keep_parts=priors)
        except StaleReportError:
            if attempt == ATTEMPTS:
                raise
            attempt += 1


class _Damaged(Exception):
    """A kept links.csv part that does not decompress."""


def _write_kept(out_dir: Path, claims_text: str, parts: list[Packed]
                ) -> list[tuple[Path, int]]:
    """claims.csv and links.csv from :func:`evtrack.report_cache.kept_export`; _Damaged, with
    links.csv left as it was, when a part does not decompress."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with _whole(out_dir / "links.csv") as out:
        out.write(header_bytes())
        for data, _rows in parts:
            text = unpack(data)
            if text is None:
                raise _Damaged
            out.write(text)
    _write_text(out_dir / "claims.csv", claims_text.encode("utf-8"))
    return [(out_dir / "claims.csv", len(parts)),
            (out_dir / "links.csv", sum(rows for _data, rows in parts))]


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

"""links.csv of a summary report, streamed from the store, with a helper process on the second
core for a large store.

A summary report (``build_report(full=False)``) names only the links that can move a score;
the others (at a million links, nine in ten) are read here straight from the store, a few
claims at a time, and written with the named ones in the full report's order: the same bytes
as ``write_csv(links_frame(…))`` of the full report (``tests/test_report_scale.py``).

That is about 30 s of CPU at a million links (reads, row assembly, csv), all in one process,
while the other core idled. So from :data:`HELPER_MIN_LINKS` links on, the claims are cut
in two: this process writes the first part while a helper (``python -m
evtrack.links_stream``, :mod:`evtrack.children`) writes the second into a file of its own on
its own connection, which is then appended. The helper reads the same ledger or none: it
checks the report's ledger generation inside its own snapshot, as this process does in its
own. When a write landed in between, or the helper fails in any way (it cannot start,
it died, its database URL does not open), that costs only time: this process writes the
second part itself, from its own snapshot, which shows the report's ledger already.

Each claim's rows are made as one part, in the report's order, so that ``evtrack export``
can keep them claim by claim (:func:`evtrack.report_cache.store_export_parts`, packed with
zlib; the helper packs its own): the claims whose kept part is still good for this ledger are
written as kept, and only the others are made (and cut between the two processes).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, case, func, select

from evtrack import children
from evtrack.csvsafe import LINE_END, neutralise_cell, neutralise_row, neutralise_sql
from evtrack.lock import in_memory
from evtrack.parse_pool import default_workers, fewer_collections
from evtrack.render import LINK_COLUMNS, link_record
from evtrack.report import UNJUDGED, ClaimReport, Report, link_order
from evtrack.store import ledger, summary
from evtrack.store.db import create_db_engine, read_snapshot
from evtrack.store.models import Judgement, Link, LinkProvenance, Paper

log = logging.getLogger(__name__)

#: Links in the report from which the second part goes to a helper process: starting one
#: (interpreter, SQLAlchemy, a connection) costs about a second of CPU.
HELPER_MIN_LINKS = 200_000
#: Share of the links left to the helper: a little under half, since this process also
#: prepares the helper's named rows and appends its file. At a million links (the bench
#: store), 0.45 left this process writing 1.5-2 s after the helper was done, and 0.5 had it
#: wait 0.8-2.1 s for the helper.
HELPER_SHARE = 0.47

#: One row of links.csv as written: :func:`evtrack.report.link_order`'s key (four values),
#: then the cells.
Keyed = tuple[Any, ...]
#: A claim's id and its named links' rows, which is all the helper needs of the report.
NamedClaim = tuple[str, list[Keyed]]


#: One claim's part of links.csv, as :mod:`evtrack.report_cache` keeps it: its rows' bytes
#: compressed with :func:`zlib.compress` at :data:`PACK_LEVEL`, and how many rows.
Packed = tuple[bytes, int]
#: zlib's fastest level: at a million links, 210 MB of rows to 39 MB in 1.1 s of CPU (level 6:
#: 32 MB in 3.2 s), and back in 0.7 s.
PACK_LEVEL = 1
#: One claim's part as made here: its id, its rows' bytes, how many rows, and the bytes packed
#: already (by the helper, on its own core) or None.
Piece = tuple[str, bytes, int, bytes | None]
#: The helper's answer: per claim in order, its id, the bytes of its rows in the helper's
#: file, how many rows, and the rows packed (or None).
Index = list[tuple[str, int, int, bytes | None]]


def write_links(out: BinaryIO, report: Report, conn: Connection, engine: Engine, beside: Path,
                chunk: int = 50, kept: Mapping[str, Packed] | None = None,
                built: dict[str, Packed] | None = None) -> int:
    """Write a summary ``report``'s links.csv (header first) to ``out``; returns its rows.

    ``conn`` is a snapshot (:func:`evtrack.store.db.read_snapshot`) already checked to show
    ``report``'s ledger generation; ``engine`` opens the helper's connection, whose part is
    written into a hidden file in the directory ``beside`` and removed once appended.

    The claims in ``kept`` (their parts as made for this very ledger, packed) are written as
    they are; only the others are made. With ``built``, each part made here is packed into it,
    for the caller to keep.
    """
    kept = kept or {}
    missing = [c for c in report.claims if c.id not in kept]
    cut = _helper_cut(missing, engine)
    helper = (_Helper.start(engine, report, missing[cut:], chunk, beside, built is not None)
              if cut < len(missing) else None)
    mine = {c.id for c in missing[:cut]}
    made = _made(conn, missing[:cut], report.as_of, chunk)
    theirs = _theirs(helper, lambda: _made(conn, missing[cut:], report.as_of, chunk))
    out.write(header_bytes())
    rows = 0
    try:
        for claim in report.claims:
            if claim.id in kept:
                data, count = kept[claim.id]
                text = unpack(data)
                if text is not None:
                    out.write(text)
                    rows += count
                    continue
                log.warning("links.csv: the kept rows of claim %s do not decompress; making "
                            "them again", claim.id)
                cid, text, count, packed = next(_made(conn, [claim], report.as_of, chunk))
            elif claim.id in mine:
                cid, text, count, packed = next(made)
            else:
                cid, text, count, packed = next(theirs)
            assert cid == claim.id, (cid, claim.id)  # both walk the report's order
            out.write(text)
            rows += count
            if built is not None:
                built[cid] = (packed or zlib.compress(text, PACK_LEVEL), count)
    finally:
        if helper is not None:
            helper.close()
    return rows


def _theirs(helper: _Helper | None, here: Callable[[], Iterator[Piece]]) -> Iterator[Piece]:
    """The parts of the claims left to the helper, in order, once they are first asked for:
    read back from its file when it is done, else (it wrote none, or never started) made by
    ``here`` in this process."""
    index = helper.finish() if helper is not None else None
    if index is None:
        yield from here()
        return
    assert helper is not None
    with open(helper.path, "rb") as part:
        for cid, size, count, packed in index:
            yield cid, part.read(size), count, packed


def unpack(data: bytes) -> bytes | None:
    """A kept part's rows (:data:`Packed`), or None when they do not decompress."""
    try:
        return zlib.decompress(data)
    except zlib.error:
        return None


def _helper_cut(claims: Sequence[ClaimReport], engine: Engine) -> int:
    """Where ``claims`` (those whose links.csv part is to be made) are cut between this process
    and the helper (the number of claims this process makes: all of them when a helper would
    not pay or cannot open the store)."""
    links = [c.n_papers for c in claims]
    total = sum(links)
    if total < HELPER_MIN_LINKS or default_workers() < 2 or in_memory(engine):
        return len(claims)
    mine, cut = 0, 0
    while cut < len(links) - 1 and mine + links[cut] <= total * (1 - HELPER_SHARE):
        mine += links[cut]
        cut += 1
    return max(cut, 1)


class _Helper:
    """The helper process making the parts of the last claims into a file beside ``out``."""

    def __init__(self, proc: subprocess.Popen[bytes], path: Path) -> None:
        self.proc, self.path = proc, path

    @classmethod
    def start(cls, engine: Engine, report: Report, claims: Sequence[ClaimReport],
              chunk: int, beside: Path, pack: bool) -> _Helper | None:
        handle, name = tempfile.mkstemp(prefix=".links-", suffix=".csv.part", dir=beside)
        os.close(handle)
        path = Path(name)
        try:
            proc = children.start("evtrack.links_stream")  # imports while we prepare
        except OSError as exc:
            path.unlink(missing_ok=True)
            log.warning("links.csv: no helper process (%s); writing it in one process", exc)
            return None
        helper = cls(proc, path)
        with suppress(OSError):  # it died already: finish() says so
            children.send(proc.stdin, {
                "url": engine.url.render_as_string(hide_password=False),
                "generation": report.generation, "as_of": report.as_of, "chunk": chunk,
                "path": str(path), "pack": pack, "claims": [_named(c) for c in claims]})
        return helper

    def finish(self) -> Index | None:
        """The helper's :data:`Index` once it is done, or None when it wrote none (why is
        logged)."""
        try:
            status, payload = children.receive(self.proc.stdout)
        except EOFError:
            status, payload = "error", f"it stopped (exit status {self.proc.wait()})"
        if status == "stale":  # a write since our snapshot: ours still shows the report's
            log.info("links.csv: the helper's snapshot is at ledger generation %s, after the "
                     "report's; writing its part here", payload)
            return None
        if status != "ok":
            log.warning("links.csv: the helper process failed (%s); writing its part here",
                        payload)
            return None
        index: Index = payload
        return index

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.path.unlink(missing_ok=True)


def _serve() -> None:
    """The helper: one job in on stdin, ``("ok", its parts' index)``, ``("stale", its
    generation)`` or ``("error", why)`` out on stdout."""
    sink = sys.stdout.buffer
    try:
        job = children.receive(sys.stdin.buffer)
    except EOFError:
        return  # the caller gave up before sending
    try:
        answer = _serve_job(job)
    except Exception as exc:  # reported: the caller writes this part itself
        answer = ("error", f"{type(exc).__name__}: {exc}")
    children.send(sink, answer)


def _serve_job(job: dict[str, Any]) -> tuple[str, Any]:
    engine = create_db_engine(job["url"])
    try:
        with fewer_collections(), read_snapshot(engine) as conn:
            now = ledger.generation(conn)
            if job["generation"] is not None and now != job["generation"]:
                return "stale", now
            index: Index = []
            with open(job["path"], "wb") as out:
                for cid, text, count, _ in _pieces(
                        conn, summary.batches(job["claims"], job["chunk"]), job["as_of"]):
                    out.write(text)
                    index.append((cid, len(text), count,
                                  zlib.compress(text, PACK_LEVEL) if job["pack"] else None))
            return "ok", index
    finally:
        engine.dispose()


def _named(claim: ClaimReport) -> NamedClaim:
    """``claim``'s id and the rows of the links it names, with their weights and groups."""
    moved = {x.pmid: x for x in claim.score.contributions}
    return claim.id, [(*link_order(r), neutralise_row(link_record(claim, r, moved)))
                      for r in claim.links]


def _made(conn: Connection, claims: Sequence[ClaimReport], as_of: date | None,
          chunk: int) -> Iterator[Piece]:
    """:func:`_pieces` of ``claims``, their named rows made one chunk at a time."""
    return _pieces(conn, ([_named(c) for c in part] for part in summary.batches(claims, chunk)),
                   as_of)


def _pieces(conn: Connection, chunks: Iterable[Sequence[NamedClaim]],
            as_of: date | None) -> Iterator[Piece]:
    """links.csv's part of each claim in ``chunks``, in order: the named rows given, the
    others read from ``conn`` a chunk at a time, in the report's order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    for part in chunks:
        unnamed = _unnamed_rows(part, *_unnamed_reads(conn, [cid for cid, _ in part], as_of))
        for cid, named in part:
            keyed = unnamed.get(cid, [])
            keyed += named
            # One claim's PMIDs are distinct: the key never ties, and the cells are never
            # compared.
            keyed.sort()
            writer.writerows(map(itemgetter(4), keyed))
            yield cid, buffer.getvalue().encode("utf-8"), len(keyed), None
            buffer.seek(0)
            buffer.truncate()


def header_bytes() -> bytes:
    """links.csv's header line."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=LINE_END).writerow(LINK_COLUMNS)
    return buffer.getvalue().encode("utf-8")


#: What :func:`_unnamed_reads` returns: judgements, provenance, links with their papers.
_Reads = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _unnamed_reads(conn: Connection, claim_ids: Sequence[str], as_of: date | None) -> _Reads:
    """The three range reads behind :func:`_unnamed_rows` for the claims' links, with the
    cells as links.csv has them and the text already defused: the judgement that speaks for
    each link (:func:`evtrack.store.summary.effective_judgement`), the provenance in order,
    the links with their papers."""
    in_claims = Link.claim_id.in_(list(claim_ids))
    # Only the judgement that speaks for its link, as the counts take it. The sort key in
    # integers, which compare with link_order's booleans: a Boolean column would be
    # converted in Python, value by value.
    judgements = summary.plain_rows(conn, select(
        Judgement.link_id, case((Judgement.stance == "supports", 0), else_=1),
        case((Judgement.stance == "contradicts", 0), else_=1), neutralise_sql(Judgement.stance),
        case((Judgement.method == summary.CURATED_METHOD, "curator"), else_="judge"),
        neutralise_sql(Judgement.decided_by), neutralise_sql(Judgement.rationale),
        Judgement.confidence)
        .join(Link, Link.id == Judgement.link_id)
        .where(in_claims, summary.effective_judgement()))
    provenance = summary.plain_rows(conn, select(
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
    return judgements, provenance, summary.plain_rows(conn, stmt)


def _unnamed_rows(claims: Sequence[NamedClaim], judgements: list[tuple[Any, ...]],
                  provenance: list[tuple[Any, ...]], links: list[tuple[Any, ...]]
                  ) -> dict[str, list[Keyed]]:
    """links.csv's rows of the links ``claims`` do not name, by claim, each as
    (:func:`evtrack.report.link_order`'s key, cells), from :func:`_unnamed_reads`.

    Those links move no score: none has a verdict, a curator's design, a retracted paper or
    a stance that counts, so none joins an independent group, weighs anything or is decided
    by anyone but the curator's file or the judge; SQL gave their cells, and Python only
    puts each row together.
    """
    named = {(cid, key[3]) for cid, rows in claims for key in rows}  # key[3]: the PMID
    judged = {lid: rest for lid, *rest in judgements}
    found: dict[int, list[str]] = {}
    for lid, kind, detail in provenance:
        found.setdefault(lid, []).append(f"{kind}:{detail}")
    found_by = {lid: neutralise_cell(" ".join(v)) for lid, v in found.items()}
    out: dict[str, list[Keyed]] = {}
    for cid, lid, pmid, year, *cells in links:
        if (cid, pmid) not in named:
            not_s, not_c, *decision = judged.get(lid, _UNJUDGED)
            out.setdefault(cid, []).append(
                (not_s, not_c, -(year or 0), pmid,
                 (*cells, *decision, False, found_by.get(lid, ""), "", 0.0, 0.0)))
    return out


#: :func:`_unnamed_rows`' judgement of a link nobody judged: its sort key, then the report's.
_UNJUDGED = (1, 1, *UNJUDGED)


if __name__ == "__main__":
    _serve()

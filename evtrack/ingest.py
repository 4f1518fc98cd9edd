"""Importing PubMed EFetch XML files into the store (``evtrack ingest``).

Files are streamed and stored in batches, each batch one transaction. Large files are parsed
by worker processes while this process writes (:mod:`evtrack.parse_pool`): parsing costs more
CPU than writing, so on two cores this buys 1.6x (bench/RESULTS.md). A bad file does not stop the
others: its failure is reported with the file's name, and the records read before the fault
are kept. An ingest holds the database's writer lock (:func:`evtrack.lock.refresh_lock`), so
it never runs in the middle of a refresh, nor a refresh in the middle of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from evtrack.errors import EvtrackError
from evtrack.lock import refresh_lock
from evtrack.offline import xml_files
from evtrack.parse_pool import ParsePool, default_workers, fewer_collections
from evtrack.refresh import Step, _no_progress
from evtrack.store import ledger
from evtrack.store.papers import StoreCounts, store_prepared
from evtrack.store.rows import PreparedRecord


@dataclass
class IngestResult:
    run_id: int
    files: int
    counts: StoreCounts = field(default_factory=StoreCounts)
    failures: list[tuple[Path, str]] = field(default_factory=list)  # (file, what went wrong)


def ingest_files(engine: Engine, paths: Iterable[str | Path], *, batch_size: int = 500,
                 step: Step = _no_progress, workers: int | None = None, wait: float = 0.0,
                 notify: Callable[[str], None] | None = None) -> IngestResult:
    """Import XML files and directories (searched recursively for ``*.xml``).

    ``workers`` is the number of parse processes for large files (default: one per core;
    0 parses everything in this process). When a refresh or another ingest is writing to the
    database, wait up to ``wait`` seconds (``notify`` is told once) or raise
    :class:`~evtrack.errors.RefreshLockedError`.
    """
    files = xml_files(paths)
    with refresh_lock(engine, wait=wait, notify=notify, job="ingest"):
        return _ingest(engine, files, batch_size, step, workers)


def _ingest(engine: Engine, files: list[Path], batch_size: int, step: Step,
            workers: int | None) -> IngestResult:
    with engine.begin() as conn:
        run_id = ledger.start_run(conn, "ingest", "file")
    result = IngestResult(run_id=run_id, files=len(files))

    def flush(batch: list[PreparedRecord]) -> None:
        with engine.begin() as conn:
            result.counts.add(store_prepared(conn, batch, source="file", run_id=run_id))

    try:
        with (ParsePool(default_workers() if workers is None else workers) as pool,
              fewer_collections()):
            for f in step("Ingesting", files):
                batch: list[PreparedRecord] = []
                read = 0
                try:
                    for rec in pool.records(f):
                        batch.append(rec)
                        read += 1
                        if len(batch) >= batch_size:
                            flush(batch)
                            batch = []
                except EvtrackError as exc:
                    kept = f" ({read} records before the fault were stored)" if read else ""
                    result.failures.append((f, f"{exc}{kept}"))
                if batch:
                    flush(batch)
    except BaseException as exc:
        _finish(engine, result, "failed", repr(exc))
        raise
    _finish(engine, result, "partial" if result.failures else "ok",
            "; ".join(msg for _f, msg in result.failures) or None)
    return result


def _finish(engine: Engine, result: IngestResult, status: str, error: str | None) -> None:
    with engine.begin() as conn:
        ledger.finish_run(conn, result.run_id, status=status, requests={},
                          new=result.counts.new, updated=result.counts.updated, links_new=0,
                          error=error)

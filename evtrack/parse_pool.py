"""Parsing PubMed XML on several cores: a file cut into runs of whole articles, parsed in parallel.

Parsing a record (expat, the element tree, our record, its rows) costs more CPU than writing
it to SQLite, and one Python process uses one core. So ``evtrack ingest`` lets worker
processes parse while the main process writes: a large file is cut at ``</PubmedArticle>``
boundaries into pieces of half a megabyte; each piece, wrapped in the file's own prolog and
root tag, is a complete document that a worker parses with the very same parser
(:func:`evtrack.pubmed_xml.iter_records`, same entity policy) and turns into rows
(:func:`evtrack.store.rows.prepare_record`). Rows come back in file order.

Whatever the cutting cannot vouch for — a prolog it does not recognise (an internal DTD
subset, another encoding), a piece a worker cannot parse, anything after the last article but
the closing tag, a worker that died — is left to the ordinary sequential parser: it reads the
file from the start, skips the records already delivered and so yields the same records and
raises the same error, at the same record, as a sequential ingest would.

The workers are plain ``python -m evtrack.parse_pool`` processes speaking length-prefixed
pickles over their stdin and stdout (:mod:`evtrack.children`). multiprocessing's pools would
re-import the caller's ``__main__`` (for ``evtrack`` that is the whole CLI, SQLAlchemy
included) in every worker; these import the parser and nothing else, so two of them cost
about 50 MB.
"""

from __future__ import annotations

import gc
import io
import os
import pickle
import queue
import re
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

from evtrack import children
from evtrack.pubmed_xml import iter_records
from evtrack.store.rows import PreparedRecord, prepare_record

#: Bytes of articles per piece handed to a worker (some sixty records).
PIECE_BYTES = 512 * 1024
#: Pieces handed out per worker before the first answer is taken: enough to keep the workers
#: parsing through the writing of a batch (500 records, some eight pieces).
AHEAD = 4
#: Files smaller than this are parsed in the main process: workers would not pay for themselves.
MIN_PARALLEL_BYTES = 8 * PIECE_BYTES

_END = b"</PubmedArticle>"
_CLOSE = b"</PubmedArticleSet>"
# What may precede the root in a file we cut: XML declaration, comments, a DOCTYPE without an
# internal subset (so no entity declarations), whitespace. Anything else is parsed in one go.
_PROLOG = re.compile(rb"(?:\s|<\?xml[^>]*\?>|<!--(?:[^-]|-(?!-))*-->|<!DOCTYPE[^\[>]*>)*"
                     rb"<PubmedArticleSet(?:\s[^>]*)?>")
_HEAD = 64 * 1024
#: Allocations between young-generation garbage collections while parsing (Python's is 700).
_GC_YOUNG = 20_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Less garbage collection while records stream through.

    A record makes some three hundred objects that die young; with Python's thresholds the
    collector ran every couple of records and every so often walked every object in the
    process (SQLAlchemy's included): about an eighth of the CPU of an ingest. Here the objects
    that exist on entry (modules, metadata) are frozen out of the collections and the young
    generation is collected less often; both are restored on exit. Collection stays on: a
    reference cycle is still freed."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(_GC_YOUNG, thresholds[0]), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


class _Unsplit(Exception):
    """The rest of the file is for the sequential parser."""


def default_workers() -> int:
    """Parse workers by default: one per core (the main process mostly waits on SQLite)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


class ParsePool:
    """Worker processes that parse pieces of PubMed XML files into rows, started when a file
    first needs them and stopped when the pool is closed."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        for proc in self._procs:
            if proc.stdin:
                with suppress(OSError):  # a killed worker's pipe may hold an unsent piece
                    proc.stdin.close()  # end of input: the worker exits
        for proc in self._procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()
        self._procs = []

    def records(self, path: Path) -> Iterator[PreparedRecord]:
        """The records of one PubMed XML file as rows, in file order.

        Large files are parsed in pieces by the workers; small files, or whatever the pieces
        cannot cover, in this process. A fault in the file raises the parser's
        :class:`~evtrack.errors.RecordParseError` after every record before it.
        """
        done = 0
        if self.workers > 0 and _size(path) >= MIN_PARALLEL_BYTES:
            try:
                for piece in self._parallel(path):
                    yield from piece
                    done += len(piece)
                return
            except Exception:  # not swallowed: the sequential parse below meets the same
                pass  # fault and reports precisely what and where it is
        for i, record in enumerate(iter_records(path)):
            if i >= done:
                yield prepare_record(record)

    def _parallel(self, path: Path) -> Iterator[list[PreparedRecord]]:
        if not self._procs:
            self._procs = [children.start("evtrack.parse_pool") for _ in range(self.workers)]
        # AHEAD pieces per worker are in flight, each handed to whichever worker is free by a
        # thread that sends it and reads the answer (blocking pipe I/O, so the thread holds
        # no lock while the worker parses). The workers thus keep parsing while this process
        # is busy writing a batch, instead of idling with one answer each, and the answers are
        # taken in the order of their pieces, which is file order.
        free: queue.SimpleQueue[subprocess.Popen[bytes]] = queue.SimpleQueue()
        for proc in self._procs:
            free.put(proc)

        def parse(head: bytes, piece: bytes) -> bytes:
            proc = free.get()
            try:
                children.send(proc.stdin, (head, piece))
                try:
                    return children.receive_raw(proc.stdout)
                except EOFError:
                    raise _Unsplit("a parse worker stopped") from None
            finally:
                free.put(proc)  # a dead worker too: the next piece fails fast on it

        pending: deque[Future[bytes]] = deque()
        executor = ThreadPoolExecutor(len(self._procs), thread_name_prefix="evtrack-parse")
        finished = False
        try:
            with open(path, "rb") as stream:
                head, pieces = _pieces(stream)
                for piece in pieces:
                    pending.append(executor.submit(parse, head, piece))
                    if len(pending) >= AHEAD * len(self._procs):
                        yield _answer(pending.popleft().result())
                while pending:
                    yield _answer(pending.popleft().result())
            finished = True
        finally:
            # Abandoned half-way or failed: answers still due would be out of step with the
            # next file, and a worker may be dead, so the next file starts fresh workers.
            for future in pending:
                future.cancel()
            if not finished:
                for proc in self._procs:
                    proc.kill()  # before the shutdown: it ends the threads' blocking reads
            executor.shutdown(wait=True)
            if not finished:
                self.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # let the sequential parser report it


def _pieces(stream: BinaryIO) -> tuple[bytes, Iterator[bytes]]:
    """The prolog with the root's start tag, and runs of whole articles after it."""
    start = stream.read(_HEAD)
    found = _PROLOG.match(start)
    if found is None:
        raise _Unsplit
    head, rest = start[:found.end()], start[found.end():]

    def pieces() -> Iterator[bytes]:
        buffer = rest
        while True:
            data = stream.read(PIECE_BYTES)
            buffer += data
            cut = buffer.rfind(_END)
            if cut >= 0 and (len(buffer) >= PIECE_BYTES or not data):
                cut += len(_END)
                yield buffer[:cut]
                buffer = buffer[cut:]
            if not data:
                break
        if buffer.strip() != _CLOSE:
            raise _Unsplit  # a truncated file, trailing junk, a missing closing tag …
    return head, pieces()


def _parse_piece(head: bytes, piece: bytes) -> list[PreparedRecord]:
    """One piece as a document of its own, parsed and turned into rows."""
    document = io.BytesIO(b"".join((head, piece, _CLOSE)))
    return [prepare_record(r) for r in iter_records(document)]


def _answer(data: bytes) -> list[PreparedRecord]:
    """A worker's rows, or :class:`_Unsplit` with the fault it reported."""
    status, payload = pickle.loads(data)  # from our own worker, never from a file or network
    if status != "ok":
        raise _Unsplit(payload)
    rows: list[PreparedRecord] = payload
    return rows


def _serve() -> None:
    """A worker: pieces in on stdin, ``("ok", rows)`` or ``("error", why)`` out on stdout."""
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    gc.freeze()  # see fewer_collections: the modules just imported are never garbage
    gc.set_threshold(_GC_YOUNG, *gc.get_threshold()[1:])
    while True:
        try:
            head, piece = children.receive(source)
        except EOFError:
            return  # the pool closed our input
        try:
            answer: tuple[str, Any] = ("ok", _parse_piece(head, piece))
        except Exception as exc:  # reported, and the file is parsed again sequentially
            answer = ("error", f"{type(exc).__name__}: {exc}")
        children.send(sink, answer)
        del answer
        # A piece's parser leaves a reference cycle (expat and its handlers, with their
        # buffers) that the rarer collections would let pile up: freed here, where little
        # else is alive, so the worker's memory stays that of one piece.
        gc.collect()


if __name__ == "__main__":
    _serve()

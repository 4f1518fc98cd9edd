"""A local stand-in for NCBI's E-utilities, with NCBI's rate limit and faults on demand.

It serves PubMed ESearch, EFetch, ELink, ECitMatch and EInfo on ``127.0.0.1`` from a corpus of
records (the bundled snapshot, PubMed XML files, generated records), so that the *real*
:class:`~evtrack.entrez.NcbiSource` — Biopython's request path unchanged — can be run against
it by pointing ``EVTRACK_EUTILS_URL`` (``--eutils-url``) at :attr:`EutilsServer.base_url`.
evtrack's own tests and ``bench/chaos.py`` use it; so can a lab checking a mirror or proxy
setup without spending NCBI's quota::

    python -m evtrack.testing.eutils_server ~/pubmed-xml/ --port 8089
    EVTRACK_EUTILS_URL=http://127.0.0.1:8089/entrez/eutils/ NCBI_EMAIL=me@lab.org evtrack refresh

What it does like NCBI: ``usehistory``/``WebEnv``/``query_key`` (with an expiry),
``retstart``/``retmax`` and ESearch's 10,000-id window, ``mindate``/``maxdate``/``datetype``
(``pdat``, ``mdat``), GET or POST, one ELink LinkSet per repeated ``id=``, ECitMatch's
pipe-separated lines, ``<ERROR>`` bodies under HTTP 200 for bad requests, and HTTP 429 past
3 requests/second (10 with an ``api_key``), per key or client address (a token bucket, so a
burst of that size is allowed, as NCBI's limiter does in practice).

Faults are injected per request with :meth:`EutilsServer.inject`: see :data:`FAULT_KINDS`.
Every loop here is bounded: stalls end after ``stall`` seconds or when the server stops.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import secrets
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from evtrack.offline import OfflineSource, xml_files
from evtrack.pubmed_xml import iter_records
from evtrack.records import PaperRecord
from evtrack.testing import eutils_answers as answers
from evtrack.testing.eutils_answers import AnswerError, Params, error_body, one

log = logging.getLogger(__name__)

#: Where the utilities live under the server's root, as on eutils.ncbi.nlm.nih.gov.
PATH_PREFIX = "/entrez/eutils/"
UTILITIES = {"esearch.fcgi": "esearch", "efetch.fcgi": "efetch", "elink.fcgi": "elink",
             "einfo.fcgi": "einfo", "ecitmatch.cgi": "ecitmatch"}

#: The faults :meth:`EutilsServer.inject` can schedule, and what each sends.
FAULT_KINDS: dict[str, str] = {
    "429": "HTTP 429 with NCBI's JSON rate-limit body (which echoes the API key)",
    "400": "HTTP 400 with NCBI's JSON answer to a bad API key (not worth retrying)",
    "500": "HTTP 500 with an HTML page",
    "502": "HTTP 502 with an HTML page (a proxy in front of NCBI)",
    "503": "HTTP 503 with an HTML page",
    "reset": "the connection is reset before any answer",
    "timeout": "the request is read, then nothing is sent for `stall` seconds",
    "slow": "the right answer, dribbled out in pieces over `slow` seconds",
    "truncated": "HTTP 200, the answer cut in half (Content-Length matches the cut body)",
    "cut": "HTTP 200, the connection dropped half-way through the announced body",
    "html": "HTTP 200 with an HTML error page instead of data",
    "error": "HTTP 200 with an <ERROR> element instead of data",
    "empty": "HTTP 200 with an empty body",
    "empty_set": "HTTP 200 with a well-formed answer that lists nothing",
    "webenv_expired": "HTTP 200 with the error NCBI sends when the history (WebEnv) expired",
    "body": "HTTP 200 with the bytes of Fault.body (hostile answers: entities, bad bytes, …)",
    "hold": "the answer waits until release() (or `hold_limit` seconds): parks a client mid-run",
}

_HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>NCBI - WWW Error Blocked Diagnostic"
              b"</title></head><body><h1>An error has occurred</h1><p>The server is busy or "
              b"down for maintenance. Please try again later.</p></body></html>\n")


@dataclass(frozen=True)
class Fault:
    """Answer the ``at``-th matching request (counted from injection) and the ``times - 1``
    after it with fault ``kind``. ``utility`` limits matching to one utility (``"efetch"``);
    ``times=None`` keeps failing for good (an outage)."""

    kind: str
    utility: str | None = None
    at: int = 1
    times: int | None = 1
    body: bytes = field(default=b"", repr=False)  # for kind "body"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.utility is not None and self.utility not in UTILITIES.values():
            raise ValueError(f"unknown utility {self.utility!r}")
        if self.at < 1 or (self.times is not None and self.times < 1):
            raise ValueError("at and times must be >= 1")

    @classmethod
    def parse(cls, text: str) -> Fault:
        """``kind[:utility[:at[:times]]]``, e.g. ``503:efetch:2:3`` or ``reset::1:forever``."""
        kind, utility, at, times = (text.split(":") + ["", "", ""])[:4]
        return cls(kind, utility or None, int(at or 1),
                   None if times == "forever" else int(times or 1))


@dataclass
class _Scheduled:
    fault: Fault
    seen: int = 0  # matching requests since injection

    def hit(self, utility: str) -> bool:
        if self.fault.utility not in (None, utility):
            return False
        self.seen += 1
        first, times = self.fault.at, self.fault.times
        return self.seen >= first and (times is None or self.seen < first + times)


@dataclass(frozen=True)
class Served:
    """One request as the stand-in saw it. ``params`` keeps the API key: tests look for it."""

    utility: str
    method: str
    params: Params
    outcome: str  # "ok", "rate-limited" or the fault kind injected
    at: float = field(default_factory=time.monotonic)  # when it arrived (monotonic clock)


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class _State:
    corpus: OfflineSource
    faults: list[_Scheduled] = field(default_factory=list)
    served: list[Served] = field(default_factory=list)
    history: dict[str, tuple[float, dict[int, tuple[str, ...]]]] = field(default_factory=dict)
    buckets: dict[str, _Bucket] = field(default_factory=dict)


class EutilsServer:
    """The stand-in, serving from a background thread while the ``with`` block runs.

    >>> with EutilsServer.from_paths(snapshot_files()) as server:       # doctest: +SKIP
    ...     server.inject(Fault("503", "efetch"))
    ...     NcbiSource("me@lab.org", base_url=server.base_url).fetch(["21677641"])
    """

    def __init__(self, records: Iterable[PaperRecord], *, host: str = "127.0.0.1",
                 port: int = 0, rate_limit: bool = True, history_ttl: float = 8 * 3600,
                 stall: float = 5.0, slow: float = 0.5, hold_limit: float = 120.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the stand-in only listens on the loopback interface")
        self.rate_limit, self.history_ttl, self.stall, self.slow = (
            rate_limit, history_ttl, stall, slow)
        self.hold_limit = hold_limit
        self._clock = clock  # the rate limit's and the history's (tests freeze it)
        self._released = threading.Event()
        self._held = 0
        self._state = _State(OfflineSource(records))
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path], **options: object) -> EutilsServer:
        """Serve the records in these PubMed XML files or directories."""
        return cls(records_of(paths), **options)  # type: ignore[arg-type]

    # -- life cycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The E-utilities base URL to give ``EVTRACK_EUTILS_URL`` / ``NcbiSource(base_url=)``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{PATH_PREFIX}"

    def start(self) -> EutilsServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="eutils-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()  # ends stalls and slow bodies at once
        self._released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> EutilsServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- control ---------------------------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Schedule faults; each counts matching requests from now on."""
        with self._lock:
            self._state.faults.extend(_Scheduled(f) for f in faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._state.faults.clear()

    def set_records(self, records: Iterable[PaperRecord]) -> None:
        """Serve a different corpus from now on (changed records, new query results)."""
        corpus = OfflineSource(records)
        with self._lock:
            self._state.corpus = corpus

    def expire_history(self) -> None:
        """Forget every WebEnv at once, as NCBI's history server does after some hours."""
        with self._lock:
            self._state.history.clear()

    @property
    def served(self) -> list[Served]:
        """Every request so far, in arrival order."""
        with self._lock:
            return list(self._state.served)

    def count(self, utility: str | None = None, outcome: str | None = None) -> int:
        return sum(1 for s in self.served if utility in (None, s.utility)
                   and outcome in (None, s.outcome))

    # -- answering (called from handler threads) -------------------------------------------------

    def _admit(self, params: Params, client: str) -> bool:
        """NCBI's limit as a token bucket per API key (or client address)."""
        if not self.rate_limit:
            return True
        key = one(params, "api_key")
        rate = 10.0 if key else 3.0
        now = self._clock()
        with self._lock:
            bucket = self._state.buckets.setdefault(key or client, _Bucket(rate, now))
            bucket.tokens = min(rate, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens < 1.0:
                return False
            bucket.tokens -= 1.0
            return True

    def release(self) -> None:
        """Let requests parked by a "hold" fault (and later ones) through."""
        self._released.set()

    def wait_until(self, ready: Callable[[], bool], timeout: float = 60.0) -> bool:
        """Poll ``ready()`` until it is true (True) or ``timeout`` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return True
            time.sleep(0.01)
        return ready()

    @property
    def holding(self) -> int:
        """How many requests a "hold" fault is parking right now."""
        with self._lock:
            return self._held

    def _pick_fault(self, utility: str) -> Fault | None:
        with self._lock:
            hits = [s.fault for s in self._state.faults if s.hit(utility)]
        return hits[0] if hits else None

    def _hold(self) -> None:
        with self._lock:
            self._held += 1
        try:
            self._released.wait(self.hold_limit)
        finally:
            with self._lock:
                self._held -= 1

    def _record(self, served: Served) -> None:
        with self._lock:
            self._state.served.append(served)

    def _answer(self, utility: str, params: Params) -> tuple[bytes, str]:
        """The body and content type of a normal answer; AnswerError for NCBI's refusals."""
        with self._lock:
            corpus = self._state.corpus
        if utility == "esearch":
            return self._esearch(corpus, params), "text/xml"
        if utility == "efetch":
            answers.check_efetch_format(params)
            return answers.efetch_body(corpus, self._efetch_ids(params)), "text/xml"
        if utility == "elink":
            return answers.elink_body(corpus, params), "text/xml"
        if utility == "ecitmatch":
            return answers.ecitmatch_body(corpus, params), "text/plain"
        return answers.einfo_body(corpus, params, "Build-evtrack-stand-in"), "text/xml"

    def _esearch(self, corpus: OfflineSource, params: Params) -> bytes:
        term = one(params, "term", "") or ""
        pmids = answers.search_pmids(corpus, params)
        history = None
        if one(params, "usehistory") == "y":
            history = self._remember(one(params, "WebEnv"), pmids)
        return answers.esearch_body(term, pmids, answers.number(params, "retstart", 0),
                                    answers.number(params, "retmax", 20), history)

    def _remember(self, webenv: str | None, pmids: tuple[str, ...]) -> tuple[str, int]:
        with self._lock:
            now = self._clock()
            if webenv is None or not self._live(webenv, now):
                webenv = "MCID_" + secrets.token_hex(12)
                self._state.history[webenv] = (now, {})
            queries = self._state.history[webenv][1]
            key = len(queries) + 1
            queries[key] = pmids
            return webenv, key

    def _live(self, webenv: str, now: float) -> bool:
        entry = self._state.history.get(webenv)
        return entry is not None and now - entry[0] <= self.history_ttl

    def _efetch_ids(self, params: Params) -> list[str]:
        webenv = one(params, "WebEnv")
        if webenv is None:
            ids = answers.requested_ids(params)
            if not ids:
                raise AnswerError("Empty id list - nothing todo")
            return ids
        key = answers.number(params, "query_key", 1)
        with self._lock:
            if not self._live(webenv, self._clock()):
                raise AnswerError(f"Unable to obtain query #{key}")
            stored = self._state.history[webenv][1].get(key)
        if stored is None:
            raise AnswerError(f"Unable to obtain query #{key}")
        start = answers.number(params, "retstart", 0)
        return list(stored[start:start + answers.number(params, "retmax", 20)])


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (timed out, was killed) is a normal event here, not a traceback."""

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


def _handler_for(server: EutilsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        stand_in = server
    return Handler


class _Handler(BaseHTTPRequestHandler):
    stand_in: EutilsServer
    server_version = "evtrack-eutils-stand-in"
    _params: Params = {}  # this request's parameters, once parsed

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        # Silence the default stderr access log: a GET's query string carries the API key.
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve(urlsplit(self.path).query)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length).decode("utf-8", "replace"))

    def _serve(self, query: str) -> None:
        path = urlsplit(self.path).path
        name = path[len(PATH_PREFIX):] if path.startswith(PATH_PREFIX) else None
        utility = UTILITIES.get(name or "")
        if utility is None:
            self._send(404, b"<html><body>Not Found</body></html>", "text/html")
            return
        params = parse_qs(query, keep_blank_values=True)
        self._params = params
        server = self.stand_in
        if not server._admit(params, self.client_address[0]):
            server._record(Served(utility, self.command, params, "rate-limited"))
            self._rate_limited(params)
            return
        picked = server._pick_fault(utility)
        fault = picked.kind if picked else None
        server._record(Served(utility, self.command, params, fault or "ok"))
        if fault == "hold":
            server._hold()
        elif picked is not None and self._early_fault(picked, utility):
            return
        try:
            body, ctype = server._answer(utility, params)
        except AnswerError as exc:
            body, ctype = error_body(utility, str(exc)), "text/xml"
        if fault == "truncated":
            self._send(200, body[:len(body) // 2], ctype)
        elif fault == "cut":
            self._send_head(200, ctype, len(body))
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self._reset()
        elif fault == "slow":
            self._send_head(200, ctype, len(body))
            pieces = 10
            size = max(1, -(-len(body) // pieces))
            for i in range(0, len(body), size):
                self.wfile.write(body[i:i + size])
                self.wfile.flush()
                if server._closing.wait(server.slow / pieces):
                    return
        else:
            self._send(200, body, ctype)

    def _early_fault(self, picked: Fault, utility: str) -> bool:
        """Faults that replace the answer outright; False for those that distort it."""
        fault = picked.kind
        if fault == "429":
            self._rate_limited(self._params)
        elif fault == "400":
            self._send(400, json.dumps({"error": "API key invalid", "api-key": one(
                self._params, "api_key") or "", "type": "invalid", "status": "unknown"}).encode(),
                "application/json")
        elif fault in ("500", "502", "503"):
            self._send(int(fault), _HTML_PAGE, "text/html")
        elif fault == "reset":
            self._reset()
        elif fault == "timeout":
            self.stand_in._closing.wait(self.stand_in.stall)
            self.close_connection = True
        elif fault == "html":
            self._send(200, _HTML_PAGE, "text/html")
        elif fault == "error":
            self._send(200, error_body(utility, "Search Backend failed: internal error"),
                       "text/xml")
        elif fault == "webenv_expired":
            self._send(200, error_body(utility, "Unable to obtain query #1"), "text/xml")
        elif fault == "empty":
            self._send(200, b"", "text/xml")
        elif fault == "body":
            self._send(200, picked.body, "text/plain" if utility == "ecitmatch" else "text/xml")
        elif fault == "empty_set":
            self._send(200, answers.empty_answer(utility),
                       "text/plain" if utility == "ecitmatch" else "text/xml")
        else:
            return False
        return True

    def _rate_limited(self, params: Params) -> None:
        # NCBI's own body, which echoes the key: a client must never store or log it.
        key = one(params, "api_key") or self.client_address[0]
        body = json.dumps({"error": "API rate limit exceeded", "api-key": key,
                           "count": "11" if one(params, "api_key") else "4",
                           "limit": "10" if one(params, "api_key") else "3"}).encode()
        self._send(429, body, "application/json")

    def _send_head(self, status: int, ctype: str, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{ctype}; charset=UTF-8")
        self.send_header("Content-Length", str(length))
        self.send_header("Connection", "close")
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self._send_head(status, ctype, len(body))
        self.wfile.write(body)
        self.close_connection = True

    def _reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0) rather than an orderly FIN."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


# -- command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m evtrack.testing.eutils_server [PATHS…]``: serve until ``--lifetime`` ends."""
    from evtrack.resources import snapshot_files

    parser = argparse.ArgumentParser(
        prog="python -m evtrack.testing.eutils_server",
        description="A local E-utilities stand-in serving PubMed XML files "
                    "(default: evtrack's bundled snapshot).")
    parser.add_argument("paths", nargs="*", help="PubMed XML files or directories")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free one)")
    parser.add_argument("--lifetime", type=float, default=3600.0,
                        help="stop after this many seconds (default 3600)")
    parser.add_argument("--no-rate-limit", action="store_true",
                        help="do not answer 429 past 3 (10 with api_key) requests/s")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND[:UTIL[:AT[:N]]]",
                        help=f"inject a fault; kinds: {', '.join(FAULT_KINDS)}")
    args = parser.parse_args(argv)
    paths = args.paths or [str(p) for p in snapshot_files()]
    with EutilsServer.from_paths(paths, port=args.port,
                                 rate_limit=not args.no_rate_limit) as server:
        server.inject(*(Fault.parse(f) for f in args.fault))
        print(f"E-utilities stand-in at {server.base_url} ({len(server._state.corpus)} records) "
              f"for {args.lifetime:g} s; set EVTRACK_EUTILS_URL to it.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.lifetime)


def records_of(paths: Iterable[str | Path]) -> Iterator[PaperRecord]:
    """The records of PubMed XML files or directories (a later copy of a PMID wins)."""
    for path in xml_files(paths):
        yield from iter_records(path)


if __name__ == "__main__":
    main()

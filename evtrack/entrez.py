"""The one door to NCBI: :class:`NcbiSource`, the live :class:`~evtrack.sources.EvidenceSource`.

This is the only evtrack module that imports ``Bio.Entrez``. Every call passes ``email``, ``tool``
and ``api_key`` as keyword arguments (Biopython's module globals are never touched), goes through
Biopython's own per-process rate limiter, and is wrapped in our retry loop: exponential backoff
with full jitter on HTTP 429/5xx, network errors, timeouts and unusable bodies, honouring
``Retry-After``. Each response is read whole as bytes, checked, and turned into our dataclasses
at once; XML is parsed with defusedxml, never ``Entrez.read`` (which may try to download DTDs).

Decisions worth knowing:

* An HTML page or an ``<ERROR>`` element under HTTP 200 is retried like a 5xx (NCBI sends both
  for backend hiccups as well as for bad requests) and then raised as :class:`EntrezError` with
  NCBI's message: it is never returned as data.
* ESearch ``PhraseNotFound`` is *not* an error: NCBI searched, found nothing for that phrase,
  and the result (usually empty) is returned with a logged warning. ``FieldNotFound`` (an unknown
  ``[tag]``) is an error: NCBI would silently search a different query.
* The API key never appears in a message or log line: ``_scrub`` removes it from any text that
  came from an exception, and we raise ``from None`` so the HTTPError (whose ``url`` holds the key)
  is not chained into tracebacks.
* ``base_url`` (``EVTRACK_EUTILS_URL``) points the unchanged Biopython request path at a mirror,
  a proxy or the local stand-in (:mod:`evtrack.testing.eutils_server`): Biopython still builds
  every request; only the address prefix it hard-codes is swapped just before the request is
  opened (see :func:`_routed`).
"""

from __future__ import annotations

import http.client
import io
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any, TypeVar
from urllib.error import HTTPError
from xml.etree.ElementTree import Element, ParseError

from Bio import Entrez
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from evtrack.config import NCBI_EUTILS_URL, eutils_base_url
from evtrack.errors import ConfigError, EntrezError, RecordParseError
from evtrack.pubmed_xml import iter_records
from evtrack.records import CitationMatch, CitationQuery, PaperRecord, SearchResult

log = logging.getLogger(__name__)
T = TypeVar("T")

_EFETCH_URL = NCBI_EUTILS_URL + "efetch.fcgi"
ESEARCH_RETMAX = 10_000  # ESearch never lists more than the first 10,000 ids of a query
SLICE_LIMIT = 9_999  # a date slice is accepted below the cap; at the cap we split once more
EARLIEST = date(1800, 1, 1)  # start of the date range split when the caller gives none
LINK_BATCH = 100  # source ids per ELink request (one id= parameter each)
CITMATCH_MAX_CHARS = 600  # bdata per ECitMatch request: keeps it a GET (see match_citations)
MAX_RETRY_AFTER = 300.0  # a longer Retry-After is clamped rather than hanging a refresh
_CITATION_KEY = re.compile(r"[\w.:/-]+", re.ASCII)
_ERROR_RE = re.compile(rb"<ERROR>(.*?)</ERROR>", re.DOTALL)
_TIMEOUT_LOCK = threading.Lock()


class _Retryable(Exception):
    """A 200 response whose body is unusable (HTML, <ERROR>, truncated, unparsable)."""


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Give sockets opened inside the block a timeout (Biopython sets none, biopython#1524).

    ``Bio.Entrez._open`` calls ``urlopen(request)`` with no ``timeout`` argument, and urllib's
    ``OpenerDirector.open`` overwrites any ``Request.timeout`` with the global-default sentinel, so
    the socket default is the only per-call knob that needs no monkeypatching of Biopython or a
    process-wide ``install_opener``. The timeout sticks to the socket once created, so it also
    bounds reading the body. The lock keeps concurrent callers from restoring each other's value.
    """
    with _TIMEOUT_LOCK:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(seconds)
        try:
            yield
        finally:
            socket.setdefaulttimeout(previous)


@contextmanager
def _one_try() -> Iterator[None]:
    """Let Biopython send each request once; our loop in :meth:`NcbiSource._call` retries.

    ``Bio.Entrez._open`` retries 429/5xx up to ``Entrez.max_tries`` times at once, without
    waiting; nested in our backoff loop that turned one throttled attempt into a burst of three
    requests, which during a rate-limit episode only earns more 429s. Must be entered with
    ``_TIMEOUT_LOCK`` held, like :func:`_routed`; the module global is restored on exit.
    """
    if not hasattr(Entrez, "max_tries"):  # a Biopython without the inner loop
        yield
        return
    previous = Entrez.max_tries
    Entrez.max_tries = 1
    try:
        yield
    finally:
        Entrez.max_tries = previous


@contextmanager
def _routed(base_url: str | None) -> Iterator[None]:
    """Send the requests Biopython opens inside the block to ``base_url`` instead of NCBI.

    Biopython hard-codes ``https://eutils.ncbi.nlm.nih.gov/entrez/eutils/<utility>`` in each
    function and opens the finished ``Request`` through its module-level name ``urlopen``. For
    the duration of one call we put a wrapper under that name that rewrites the address prefix
    and hands the same Request (method, parameters, body, headers) to the original ``urlopen``:
    Biopython's parameter building, POST choice, rate limiting and retries all stay in charge.
    A process-wide ``install_opener`` would reroute every urllib user instead. Must be entered
    with ``_TIMEOUT_LOCK`` held (inside :func:`_socket_timeout`), which keeps concurrent callers
    from seeing each other's wrapper.
    """
    if base_url is None:
        yield
        return
    original = Entrez.urlopen

    def urlopen(request: Any, *args: Any, **kwargs: Any) -> Any:
        url = request.full_url
        if url.startswith(base_url):  # Biopython's own retry sends the same Request again
            return original(request, *args, **kwargs)
        if not url.startswith(NCBI_EUTILS_URL):
            # Never fall through to NCBI when the user asked for a mirror. The URL itself is
            # not shown: a GET carries the API key in it.
            raise ConfigError("Biopython built a request outside "
                              f"{NCBI_EUTILS_URL}; cannot route it to {base_url}")
        request.full_url = base_url + url[len(NCBI_EUTILS_URL):]
        return original(request, *args, **kwargs)

    Entrez.urlopen = urlopen  # type: ignore[assignment]  # same call shape, typed loosely
    try:
        yield
    finally:
        Entrez.urlopen = original


class NcbiSource:
    """PubMed through NCBI E-utilities.

    >>> source = NcbiSource("me@example.org", api_key=None)            # doctest: +SKIP
    >>> source.search("Autry AE[au] AND 2011[dp] AND Nature[ta]").pmids  # doctest: +SKIP
    ('21677641',)
    """

    name = "ncbi"

    def __init__(self, email: str, *, api_key: str | None = None, tool: str = "evtrack",
                 batch_size: int = 200, max_attempts: int = 5, backoff_base: float = 0.5,
                 backoff_cap: float = 30.0, timeout: float = 60.0,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                 today: Callable[[], date] = date.today, base_url: str | None = None) -> None:
        if not email or not email.strip():
            raise ConfigError("NCBI requires an email address: set NCBI_EMAIL or pass --email")
        if batch_size < 1 or max_attempts < 1 or timeout <= 0:
            raise ConfigError("batch_size and max_attempts must be >= 1 and timeout > 0")
        self.email, self.api_key, self.tool = email.strip(), api_key or None, tool
        self.batch_size, self.max_attempts, self.timeout = batch_size, max_attempts, timeout
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self._sleep, self._rng, self._today = sleep, rng or random.Random(), today
        self._counts: dict[str, int] = {}
        url = eutils_base_url(base_url) if base_url else NCBI_EUTILS_URL
        #: None when talking to NCBI itself; else the mirror/stand-in every request goes to.
        self.base_url: str | None = None if url == NCBI_EUTILS_URL else url

    def __repr__(self) -> str:  # never show the api key
        key = "'***'" if self.api_key else "None"
        return f"NcbiSource(email={self.email!r}, tool={self.tool!r}, api_key={key})"

    # -- public API ------------------------------------------------------------------------------

    def search(self, query: str, *, mindate: date | None = None, maxdate: date | None = None,
               datetype: str = "pdat") -> SearchResult:
        """All PMIDs matching ``query``, in ascending numeric order, without ESearch's 10,000 cut.

        A query with more hits than one ESearch can list is split into halves of its date range
        (``datetype``; 1800-01-01 to the end of next year when no range is given, so issues
        dated in the future are covered) down to single days; a day still too big raises
        :class:`EntrezError`. ``requests`` in the result counts the ESearch calls (not retries).
        """
        if not query.strip():
            raise ValueError("empty PubMed query")
        ranged = mindate is not None or maxdate is not None
        lo, hi = mindate or EARLIEST, maxdate or date(self._today().year + 1, 12, 31)
        if lo > hi:
            raise ValueError(f"mindate {lo} is after maxdate {hi}")
        calls = 0

        def esearch(span: tuple[date, date] | None) -> tuple[int, list[str]]:
            nonlocal calls
            calls += 1
            return self._esearch(query, span, datetype)

        total, ids = esearch((lo, hi) if ranged else None)
        found = set(ids)
        if total > SLICE_LIMIT:
            found = set()
            pending = _halves(lo, hi)[::-1]  # a stack, earlier half on top
            while pending:
                span = pending.pop()
                count, ids = esearch(span)
                if count <= SLICE_LIMIT:
                    found.update(ids)
                elif span[0] == span[1]:
                    raise EntrezError(
                        f"query too broad: {count} hits on the single day {span[0]} ({datetype}), "
                        f"more than ESearch can list; narrow the query: {query!r}", "esearch")
                else:
                    pending.extend(_halves(*span)[::-1])
            if len(found) < total:  # records outside the range, or PubMed changed meanwhile
                log.warning("ESearch reported %d hits but date slices %s..%s listed %d: %r",
                            total, lo, hi, len(found), query)
        return SearchResult(query=query, count=total, pmids=tuple(sorted(found, key=int)),
                            requests=calls)

    def modified_since(self, query: str, since: date) -> SearchResult:
        """PMIDs matching ``query`` whose record changed (``mdat``) since ``since``, up to today."""
        return self.search(query, mindate=since, maxdate=self._today(), datetype="mdat")

    def fetch(self, pmids: Sequence[str]) -> Iterator[PaperRecord]:
        """Full PubMed records, ``batch_size`` ids per POSTed EFetch; unknown ids are skipped.

        A batch is parsed completely before its records are yielded, so a truncated body can be
        retried without having handed out half of it.
        """
        ids = _unique_pmids(pmids)
        for start in range(0, len(ids), self.batch_size):
            batch = ids[start:start + self.batch_size]
            yield from self._call("efetch", partial(self._efetch, batch), _parse_efetch)

    def links(self, pmids: Sequence[str], linkname: str) -> dict[str, tuple[str, ...]]:
        """For each source PMID, the PMIDs ELink relates to it by ``linkname``.

        ``linkname`` is e.g. ``pubmed_pubmed_refs`` or ``pubmed_pubmed_citedin``. Every source id
        gets an entry (``()`` when it has no such links).
        """
        if not linkname.startswith("pubmed_pubmed"):
            raise ValueError(f"not a PubMed-to-PubMed link name: {linkname!r}")
        result: dict[str, tuple[str, ...]] = {}
        ids = _unique_pmids(pmids)
        for start in range(0, len(ids), LINK_BATCH):
            batch = ids[start:start + LINK_BATCH]
            answered = self._call("elink", partial(self._elink, batch, linkname),
                                  partial(_parse_elink, linkname=linkname))
            missing = [pmid for pmid in batch if pmid not in answered]
            if missing:
                log.warning("ELink returned no link set for %s", ", ".join(missing))
            result.update((pmid, answered.get(pmid, ())) for pmid in batch)
        return result

    def match_citations(self, citations: Iterable[CitationQuery]) -> list[CitationMatch]:
        """Resolve citations to PMIDs with ECitMatch; one match per citation, in input order.

        Each citation goes out as ``journal|year|volume|first_page|author|key|`` and NCBI echoes
        the key with the answer, so keys must be unique and plain (letters, digits, ``._:/-``).
        Requests are kept short: Biopython POSTs above 1,000 encoded characters, and POST is
        not documented for ECitMatch.
        """
        queries = list(citations)
        keys = [c.key for c in queries]
        bad = [k for k in keys if not _CITATION_KEY.fullmatch(k)]
        if bad or len(set(keys)) != len(keys):
            raise ValueError(f"citation keys must be unique and match {_CITATION_KEY.pattern}: "
                             f"{bad or sorted(k for k in set(keys) if keys.count(k) > 1)}")
        answers: dict[str, tuple[str | None, str]] = {}
        for batch in _chunks_by_size([_bdata_line(c) for c in queries], CITMATCH_MAX_CHARS):
            answers.update(self._call(
                "ecitmatch", partial(self._ecitmatch, batch),
                partial(_parse_ecitmatch, keys=[line.split("|")[5] for line in batch])))
        return [CitationMatch(c.key, *answers[c.key]) for c in queries]

    def request_counts(self) -> dict[str, int]:
        """HTTP attempts made so far by utility, retries included (Biopython's inner ones not)."""
        return dict(self._counts)

    # -- requests --------------------------------------------------------------------------------

    def _identity(self) -> dict[str, Any]:
        # api_key=None is passed on purpose: Biopython fills absent keys from its module globals
        # (_construct_params uses setdefault) and then drops None values.
        return {"email": self.email, "tool": self.tool, "api_key": self.api_key}

    def _esearch(self, query: str, span: tuple[date, date] | None,
                 datetype: str) -> tuple[int, list[str]]:
        params: dict[str, Any] = {"db": "pubmed", "term": query, "usehistory": "y",
                                  "retmax": ESEARCH_RETMAX, **self._identity()}
        if span is not None:
            params.update(datetype=datetype, mindate=f"{span[0]:%Y/%m/%d}",
                          maxdate=f"{span[1]:%Y/%m/%d}")
        return self._call("esearch", partial(Entrez.esearch, **params),
                          partial(_parse_full_esearch, query=query))

    def _efetch(self, batch: list[str]) -> Any:
        params = {"db": "pubmed", "retmode": "xml", "id": ",".join(batch), **self._identity()}
        # Entrez.efetch lets _build_request(cgi, variables) choose: POST only for >= 200 ids or
        # > 1000 encoded characters, so a short last batch would be a GET with the api_key in
        # the URL. We call the same two helpers efetch uses, forcing post=True (Biopython 1.88
        # _build_request(cgi, params=None, post=None, ecitmatch=False, join_ids=True)); if a
        # future Biopython drops them we fall back to the public function.
        build, send = getattr(Entrez, "_build_request", None), getattr(Entrez, "_open", None)
        if build is None or send is None:
            return Entrez.efetch(**params)
        return send(build(_EFETCH_URL, params, post=True))

    def _elink(self, batch: list[str], linkname: str) -> Any:
        # Entrez.elink builds with join_ids=False and urlencode(..., doseq=True), so a *list*
        # of ids becomes one id= parameter per source id: one LinkSet per id in the answer.
        # A comma-joined string would give one merged LinkSet (biopython#361).
        return Entrez.elink(dbfrom="pubmed", db="pubmed", linkname=linkname, id=list(batch),
                            **self._identity())

    def _ecitmatch(self, batch: list[str]) -> Any:
        # A pre-formatted bdata *string* keeps our email/tool/api_key: given a list of dicts,
        # _update_ecitmatch_variables rebuilds the parameters from db and bdata only. urlencode
        # turns spaces into '+' and '\r' into %0D; ecitmatch=True restores the '|'.
        return Entrez.ecitmatch(db="pubmed", bdata="\r".join(batch), **self._identity())

    def _call(self, utility: str, send: Callable[[], Any], parse: Callable[[bytes], T]) -> T:
        """One logical request: send, read the whole body, check and parse it; retry with backoff.

        Each attempt is exactly one HTTP request: Biopython's own immediate retries are turned
        off for the call (:func:`_one_try`), so every retry here waits as NCBI asks.
        """
        last, status = "", None
        for attempt in range(1, self.max_attempts + 1):
            self._counts[utility] = self._counts.get(utility, 0) + 1
            retry_after, status = None, None
            try:
                with _socket_timeout(self.timeout), _one_try(), _routed(self.base_url):
                    handle = send()
                    try:  # a plain-text answer comes wrapped in a TextIOWrapper: take the bytes
                        body = (handle.buffer if isinstance(handle, io.TextIOWrapper)
                                else handle).read()
                    finally:
                        handle.close()
                _check_body(body)
                return parse(body)
            except HTTPError as exc:
                status, reason = exc.code, exc.reason
                retry_after = _retry_after(exc.headers)
                exc.close()
                if status != 429 and not 500 <= status < 600:
                    raise EntrezError(self._scrub(f"NCBI {utility} rejected the request: HTTP "
                                                  f"{status} {reason}"), utility, status) from None
                last = f"HTTP {status} {reason}"
            except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, cut bodies
                last = f"{type(exc).__name__}: {exc}"
            except _Retryable as exc:
                last = str(exc)
            if attempt < self.max_attempts:
                delay = self._backoff(attempt, retry_after)
                log.warning("%s", self._scrub(f"NCBI {utility} attempt {attempt}/"
                                              f"{self.max_attempts} failed ({last}); "
                                              f"retrying in {delay:.2f}s"))
                self._sleep(delay)
        raise EntrezError(self._scrub(f"NCBI {utility} failed after {self.max_attempts} attempts; "
                                      f"last error: {last}"), utility, status) from None

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))], at least Retry-After."""
        delay = self._rng.random() * min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
        return delay

    def _scrub(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text


# -- response checks and parsers (pure functions of the body bytes) ----------------------------


def _check_body(body: bytes) -> None:
    """Reject bodies that are not data, whatever the utility (see the module docstring)."""
    if not body.strip():
        raise _Retryable("empty body")
    head = body[:1024].lower()
    if b"<!doctype html" in head or b"<html" in head:
        raise _Retryable("NCBI sent an HTML page instead of data")
    error = _ERROR_RE.search(body)
    if error:
        message = error.group(1).decode("utf-8", "replace").strip()[:300]
        raise _Retryable(f"NCBI reported an error: {message}")


def _parse_xml(body: bytes, root_tag: str) -> Element:
    try:  # defusedxml: no entity expansion, no external resources, nothing fetched
        root = SafeET.fromstring(body)
    except (ParseError, DefusedXmlException) as exc:
        raise _Retryable(f"unparsable XML: {exc}") from None
    if root.tag != root_tag:
        raise _Retryable(f"expected <{root_tag}>, got <{root.tag}>")
    return root


def _pmid_text(element: Element) -> str:
    text = (element.text or "").strip()
    if not text.isdigit():
        raise _Retryable(f"not a PMID in the answer: {text!r}")
    return text


def _parse_esearch(body: bytes, query: str) -> tuple[int, list[str]]:
    root = _parse_xml(body, "eSearchResult")
    unknown_fields = [e.text or "" for e in root.iterfind("ErrorList/FieldNotFound")]
    if unknown_fields:
        raise EntrezError(f"PubMed does not know the search field(s) {', '.join(unknown_fields)} "
                          f"in {query!r}; fix the [tags]", "esearch")
    not_found = [e.text or "" for e in root.iterfind("ErrorList/PhraseNotFound")]
    if not_found:  # a legitimate answer (usually empty), not a failure: see module docstring
        log.warning("PubMed found nothing for %s in %r", ", ".join(not_found), query)
    try:
        count = int(root.findtext("Count", ""))
    except ValueError:
        raise _Retryable("ESearch answer without a Count") from None
    return count, [_pmid_text(e) for e in root.iterfind("IdList/Id")]


def _parse_full_esearch(body: bytes, query: str) -> tuple[int, list[str]]:
    """As :func:`_parse_esearch`, for our requests (retmax=10000): every hit must be listed."""
    count, ids = _parse_esearch(body, query)
    if len(ids) < min(count, ESEARCH_RETMAX):
        raise _Retryable(f"ESearch listed {len(ids)} of {count} ids")
    return count, ids


def _parse_efetch(body: bytes) -> list[PaperRecord]:
    try:
        return list(iter_records(io.BytesIO(body)))
    except RecordParseError as exc:  # truncated or corrupted: worth another try
        raise _Retryable(f"unusable PubMed XML: {exc}") from None


def _parse_elink(body: bytes, linkname: str) -> dict[str, tuple[str, ...]]:
    root = _parse_xml(body, "eLinkResult")
    result: dict[str, tuple[str, ...]] = {}
    for linkset in root.iterfind("LinkSet"):
        sources = [_pmid_text(e) for e in linkset.iterfind("IdList/Id")]
        if len(sources) != 1:  # a comma-joined request: the links cannot be attributed
            raise EntrezError(f"ELink merged the links of {', '.join(sources)} into one set; "
                              "request one id= parameter per source id", "elink")
        linked: list[str] = []
        for db in linkset.iterfind("LinkSetDb"):
            if (db.findtext("LinkName") or "").strip() == linkname:
                linked.extend(_pmid_text(e) for e in db.iterfind("Link/Id"))
        result[sources[0]] = tuple(dict.fromkeys(linked))
    return result


def _parse_ecitmatch(body: bytes, keys: list[str]) -> dict[str, tuple[str | None, str]]:
    """``{key: (pmid or None, status)}``; the last field is a PMID or e.g. ``NOT_FOUND``."""
    answers: dict[str, tuple[str | None, str]] = {}
    for line in body.decode("utf-8", "replace").splitlines():
        fields = line.strip().split("|")
        if len(fields) < 7:
            continue  # blank or stray lines; a missing answer is caught below
        key, outcome = fields[5].strip(), fields[6].strip()
        answers[key] = (outcome, "found") if outcome.isdigit() else (None, outcome or "NOT_FOUND")
    missing = [k for k in keys if k not in answers]
    if missing:
        raise _Retryable(f"ECitMatch answered {len(keys) - len(missing)} of {len(keys)} citations")
    return answers


# -- small helpers ------------------------------------------------------------------------------


def _unique_pmids(pmids: Iterable[str]) -> list[str]:
    ids = [str(p).strip() for p in pmids]
    bad = [p for p in ids if not p.isdigit()]
    if bad:
        raise ValueError(f"not PMIDs: {', '.join(map(repr, bad[:5]))}")
    return list(dict.fromkeys(ids))


def _halves(lo: date, hi: date) -> list[tuple[date, date]]:
    mid = lo + timedelta(days=(hi - lo).days // 2)
    return [(lo, mid), (mid + timedelta(days=1), hi)]


def _bdata_line(citation: CitationQuery) -> str:
    def clean(value: object) -> str:  # '|' and line breaks would shift ECitMatch's fields
        return " ".join(re.sub(r"[|\r\n]", " ", "" if value is None else str(value)).split())

    fields = (citation.journal, citation.year, citation.volume, citation.first_page,
              citation.author)
    return "|".join(clean(f) for f in fields) + f"|{citation.key}|"


def _chunks_by_size(lines: list[str], limit: int) -> Iterator[list[str]]:
    """Consecutive groups of lines adding up to about ``limit`` characters (at least one line)."""
    batch: list[str] = []
    size = 0
    for line in lines:
        if batch and size + len(line) > limit:
            yield batch
            batch, size = [], 0
        batch.append(line)
        size += len(line) + 3  # + the %0D separator
    if batch:
        yield batch


def _retry_after(headers: Any) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    value = headers.get("Retry-After") if headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

"""Offline tests of evtrack.entrez: request building, recorded NCBI answers, retries.

The network seam is ``Bio.Entrez.urlopen``: Biopython 1.88 does ``from urllib.request import
urlopen`` and ``Bio.Entrez._open`` calls ``urlopen(request)``, so replacing that name routes every
request, already built by Biopython, to :class:`FakeNcbi`. Nothing here touches the network or
really sleeps: our backoff sleeps into a list, and Biopython's rate limiter runs on a fake clock.
"""

from __future__ import annotations

import email.message
import http.client
import io
import logging
import random
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlsplit
from urllib.request import Request

import pytest
from Bio import Entrez

from evtrack import entrez as entrez_module
from evtrack.entrez import NcbiSource, _parse_esearch
from evtrack.errors import ConfigError, EntrezError
from evtrack.records import CitationQuery
from evtrack.sources import LINK_CITEDIN, LINK_REFS

EMAIL = "curator@example.org"
KEY = "0123456789abcdef0123456789abcdef0123"  # shaped like an NCBI API key


# -- the fake NCBI --------------------------------------------------------------------------------


@dataclass
class Sent:
    """One request as it left Biopython."""

    utility: str  # "esearch", "efetch", …
    method: str
    raw: str  # the query string (GET) or body (POST), exactly as encoded
    params: dict[str, list[str]]
    url: str
    socket_timeout: float | None  # socket.getdefaulttimeout() while the request was opened

    def one(self, name: str) -> str:
        values = self.params[name]
        assert len(values) == 1, f"{name} sent {len(values)} times"
        return values[0]


class FakeResponse(io.BytesIO):
    def __init__(self, body: bytes, url: str, content_type: str) -> None:
        super().__init__(body)
        self.url = url
        self.headers = email.message.Message()
        self.headers["Content-Type"] = content_type


class CutResponse(FakeResponse):
    """A response whose body breaks off while being read."""

    def read(self, size: int | None = -1) -> bytes:
        raise http.client.IncompleteRead(b"<eSearchResult><Cou")


#: an answer: a body, an exception to raise, a CutResponse marker, or a function of the request
Answer = bytes | BaseException | type[CutResponse] | Callable[[Sent], Any]


class FakeNcbi:
    """Stands in for ``urlopen``: records each request, answers from a queue (the last repeats)."""

    def __init__(self, answers: tuple[Answer, ...]) -> None:
        self.answers = list(answers)
        self.sent: list[Sent] = []

    def __call__(self, request: Request, *args: Any, **kwargs: Any) -> FakeResponse:
        method = request.get_method()
        if method == "POST":
            assert isinstance(request.data, bytes)
            raw = request.data.decode()
        else:
            raw = urlsplit(request.full_url).query
        utility = urlsplit(request.full_url).path.rsplit("/", 1)[-1].split(".")[0]
        sent = Sent(utility, method, raw, parse_qs(raw, keep_blank_values=True),
                    request.full_url, socket.getdefaulttimeout())
        self.sent.append(sent)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if callable(answer) and not isinstance(answer, type):
            answer = answer(sent)
        if isinstance(answer, BaseException):
            raise answer
        plain = "text/plain" if utility == "ecitmatch" else "text/xml"
        if answer is CutResponse:
            return CutResponse(b"", request.full_url, plain)
        assert isinstance(answer, bytes)
        return FakeResponse(answer, request.full_url, plain)

    def of(self, utility: str) -> list[Sent]:
        return [s for s in self.sent if s.utility == utility]


class FakeClock:
    """Replaces ``Bio.Entrez.time`` so Biopython's rate limiter waits on paper."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FixedRng(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def http_error(code: int, retry_after: str | None = None) -> Callable[[Sent], HTTPError]:
    def make(sent: Sent) -> HTTPError:
        headers = email.message.Message()
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        # the real HTTPError carries the URL, api_key included
        return HTTPError(sent.url, code, http.client.responses[code], headers, io.BytesIO())
    return make


def esearch_body(ids: list[str], count: int | None = None, extra: str = "") -> bytes:
    listed = "".join(f"<Id>{i}</Id>" for i in ids)
    return (f'<?xml version="1.0" encoding="UTF-8" ?>\n<eSearchResult><Count>'
            f"{len(ids) if count is None else count}</Count><RetMax>{len(ids)}</RetMax>"
            f"<RetStart>0</RetStart><IdList>{listed}</IdList>{extra}</eSearchResult>").encode()


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Biopython's clock on paper. Its inner retry loop is left at the default: NcbiSource
    itself keeps it to one try per attempt of ours."""
    fake = FakeClock()
    monkeypatch.setattr(Entrez, "time", fake)
    monkeypatch.setattr(Entrez._open, "previous", 0.0)
    monkeypatch.setattr(Entrez, "sleep_between_tries", 0)
    return fake


@pytest.fixture
def ncbi(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakeNcbi]:
    def install(*answers: Answer) -> FakeNcbi:
        fake = FakeNcbi(answers)
        monkeypatch.setattr(Entrez, "urlopen", fake)
        return fake
    return install


class Sleeps(list[float]):
    pass


def make_source(**settings: Any) -> tuple[NcbiSource, Sleeps]:
    sleeps = Sleeps()
    options: dict[str, Any] = {"api_key": KEY, "sleep": sleeps.append, "rng": FixedRng(0.5),
                               "today": lambda: date(2025, 6, 30)}
    options.update(settings)
    return NcbiSource(EMAIL, **options), sleeps


def read(fixtures: Path, name: str) -> bytes:
    return (fixtures / name).read_bytes()


# -- settings and identity ------------------------------------------------------------------------


@pytest.mark.parametrize("email_address", ["", "   "])
def test_empty_email_is_a_config_error(email_address: str) -> None:
    with pytest.raises(ConfigError, match="email"):
        NcbiSource(email_address)


def test_repr_hides_the_api_key() -> None:
    source, _ = make_source()
    assert KEY not in repr(source) and "***" in repr(source)


def test_every_utility_sends_tool_email_and_key_per_call(
        ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path) -> None:
    source, _ = make_source()
    fake = ncbi(esearch_body(["1"]), read(entrez_fixtures, "pubmed1.xml"),
                read(entrez_fixtures, "elink1.xml"),
                read(entrez_fixtures, "ecitmatch/citmatch_single.txt"))
    source.search("x")
    list(source.fetch(["12091962"]))
    source.links(["9298984"], LINK_REFS)
    source.match_citations([CitationQuery("covid1", "n engl j med", 2020, "382", "727", "zhu n")])
    assert [s.utility for s in fake.sent] == ["esearch", "efetch", "elink", "ecitmatch"]
    for sent in fake.sent:
        assert (sent.one("tool"), sent.one("email"), sent.one("api_key")) == ("evtrack", EMAIL, KEY)
    # settings travel with each call: Biopython's module globals stay as shipped
    assert (Entrez.email, Entrez.api_key, Entrez.tool) == (None, None, "biopython")


def test_no_api_key_means_none_sent_even_if_a_global_is_set(
        ncbi: Callable[..., FakeNcbi], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Entrez, "api_key", "SOMEONE-ELSES-KEY")
    source, _ = make_source(api_key=None)
    fake = ncbi(esearch_body(["1"]))
    source.search("x")
    assert "api_key" not in fake.sent[0].params


def test_biopython_rate_limit_still_paces_calls(
        ncbi: Callable[..., FakeNcbi], clock: FakeClock) -> None:
    ncbi(esearch_body(["1"]))
    with_key, _ = make_source()
    with_key.search("x")
    with_key.search("x")
    without_key, _ = make_source(api_key=None)
    without_key.search("x")
    assert clock.sleeps == [pytest.approx(0.1), pytest.approx(0.37)]


def test_requests_get_a_socket_timeout_that_is_restored(ncbi: Callable[..., FakeNcbi]) -> None:
    before = socket.getdefaulttimeout()
    fake = ncbi(esearch_body(["1"]))
    make_source(timeout=7.5)[0].search("x")
    assert fake.sent[0].socket_timeout == 7.5
    assert socket.getdefaulttimeout() == before


# -- ESearch --------------------------------------------------------------------------------------


def test_search_request_and_result(ncbi: Callable[..., FakeNcbi]) -> None:
    source, _ = make_source()
    fake = ncbi(esearch_body(["30", "4", "200"]))
    result = source.search("Autry AE[au] AND Nature[ta]")
    sent = fake.sent[0]
    assert sent.method == "GET"
    assert {k: sent.one(k) for k in ("db", "term", "usehistory", "retmax")} == {
        "db": "pubmed", "term": "Autry AE[au] AND Nature[ta]", "usehistory": "y",
        "retmax": "10000"}
    assert not {"mindate", "maxdate", "datetype"} & set(sent.params)
    assert (result.count, result.pmids, result.requests) == (3, ("4", "30", "200"), 1)


@pytest.mark.parametrize(("name", "count", "listed", "first", "last"), [
    ("esearch1.xml", 63, 20, "41282813", "37810457"),
    ("esearch2.xml", 42249, 100, "41297076", "41296368"),
    ("esearch3.xml", 2651, 6, "11121077", "11121072"),
    ("esearch8.xml", 0, 0, None, None),
])
def test_parse_recorded_esearch(entrez_fixtures: Path, name: str, count: int, listed: int,
                                first: str | None, last: str | None) -> None:
    got_count, ids = _parse_esearch(read(entrez_fixtures, name), "q")
    assert (got_count, len(ids)) == (count, listed)
    assert (ids[0] if ids else None, ids[-1] if ids else None) == (first, last)


def test_search_refuses_a_list_shorter_than_count(
        ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path) -> None:
    source, _ = make_source(max_attempts=2)
    ncbi(read(entrez_fixtures, "esearch1.xml"))  # Count 63, 20 listed
    with pytest.raises(EntrezError, match="listed 20 of 63"):
        source.search("biopython")


def test_phrase_not_found_is_an_empty_result_with_a_warning(
        ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    ncbi(read(entrez_fixtures, "esearch8.xml"))
    with caplog.at_level(logging.WARNING, logger="evtrack.entrez"):
        result = make_source()[0].search("abcXYZ")
    assert (result.count, result.pmids) == (0, ())
    assert "abcXYZ" in caplog.text


def test_unknown_search_field_is_an_error_not_retried(ncbi: Callable[..., FakeNcbi]) -> None:
    fake = ncbi(esearch_body(["1"], extra="<ErrorList><FieldNotFound>xx</FieldNotFound>"
                                          "</ErrorList>"))
    source, sleeps = make_source()
    with pytest.raises(EntrezError, match=r"search field\(s\) xx") as info:
        source.search("cancer[xx]")
    assert info.value.utility == "esearch" and len(fake.sent) == 1 and sleeps == []


def _dated_esearch(dates: dict[str, date]) -> Callable[[Sent], bytes]:
    """ESearch over a synthetic PubMed where each PMID has one publication date."""
    def answer(sent: Sent) -> bytes:
        if "mindate" in sent.params:
            lo, hi = (date(*map(int, sent.one(k).split("/"))) for k in ("mindate", "maxdate"))
            hits = [p for p, d in dates.items() if lo <= d <= hi]
        else:
            hits = list(dates)
        hits.sort(key=int, reverse=True)  # NCBI lists newest first
        return esearch_body(hits[:int(sent.one("retmax"))], count=len(hits))
    return answer


def _span(sent: Sent) -> tuple[date, date]:
    lo, hi = (date(*map(int, sent.one(k).split("/"))) for k in ("mindate", "maxdate"))
    return lo, hi


def test_search_splits_date_range_in_halves(ncbi: Callable[..., FakeNcbi]) -> None:
    days = [date(2020, 1, d) for d in (1, 2, 3, 4)]
    dates = {str(100_000 + i): days[i % 4] for i in range(24_000)}  # 6,000 a day
    fake = ncbi(_dated_esearch(dates))
    result = make_source()[0].search("q", mindate=days[0], maxdate=days[3])
    d = dict(enumerate(days, 1))
    assert [_span(s) for s in fake.sent] == [
        (d[1], d[4]), (d[1], d[2]), (d[1], d[1]), (d[2], d[2]), (d[3], d[4]), (d[3], d[3]),
        (d[4], d[4])]
    assert all(s.one("datetype") == "pdat" for s in fake.sent)
    assert result.requests == 7 and result.count == 24_000
    assert result.pmids == tuple(sorted(dates, key=int))


def test_unranged_search_of_25000_hits_lists_each_once(ncbi: Callable[..., FakeNcbi]) -> None:
    start = date(1990, 1, 1)
    dates = {str(5_000_000 + i): start + timedelta(days=(i * 13) % (35 * 365))
             for i in range(25_000)}
    fake = ncbi(_dated_esearch(dates))
    result = make_source()[0].search("q")

    assert len(result.pmids) == len(set(result.pmids)) == 25_000
    assert set(result.pmids) == set(dates) and result.count == 25_000
    first, slices = fake.sent[0], fake.sent[1:]
    assert "mindate" not in first.params and all(s.one("datetype") == "pdat" for s in slices)
    counts = [int(re.search(rb"<Count>(\d+)", _dated_esearch(dates)(s)).group(1))  # type: ignore[union-attr]
              for s in slices]
    leaves = sorted(_span(s) for s, n in zip(slices, counts, strict=True) if n <= 9_999)
    # the accepted slices tile 1800-01-01 .. end of next year without gap or overlap
    assert leaves[0][0] == date(1800, 1, 1) and leaves[-1][1] == date(2026, 12, 31)
    assert all(a[1] + timedelta(days=1) == b[0] for a, b in zip(leaves, leaves[1:], strict=False))
    # binary splitting: a full binary tree whose root is the first, unranged call
    assert result.requests == len(fake.sent) == 2 * len(leaves) - 1


def test_a_single_day_over_the_limit_is_too_broad(ncbi: Callable[..., FakeNcbi]) -> None:
    dates = {str(7_000_000 + i): date(2021, 3, 4) for i in range(12_000)}
    ncbi(_dated_esearch(dates))
    with pytest.raises(EntrezError, match="too broad: 12000 hits on the single day 2021-03-04"):
        make_source()[0].search("q", mindate=date(2021, 3, 1), maxdate=date(2021, 3, 8))


def test_modified_since_searches_mdat_up_to_today(ncbi: Callable[..., FakeNcbi]) -> None:
    fake = ncbi(esearch_body(["9"]))
    make_source()[0].modified_since("q", date(2025, 1, 31))
    sent = fake.sent[0]
    assert (sent.one("datetype"), sent.one("mindate"), sent.one("maxdate")) == (
        "mdat", "2025/01/31", "2025/06/30")


# -- EFetch ---------------------------------------------------------------------------------------


def test_fetch_posts_every_batch(ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path) -> None:
    pmids = [str(1_000_000 + i) for i in range(450)]
    fake = ncbi(read(entrez_fixtures, "pubmed1.xml"))
    records = list(make_source()[0].fetch(pmids))
    assert len(records) == 6  # the same two-article answer to each of the three batches
    assert [s.method for s in fake.sent] == ["POST"] * 3
    assert [s.one("id").split(",") for s in fake.sent] == [pmids[:200], pmids[200:400],
                                                             pmids[400:]]
    assert all((s.one("db"), s.one("retmode")) == ("pubmed", "xml") for s in fake.sent)


def test_fetch_without_biopython_private_helpers_still_works(
        ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a Bio.Entrez without _build_request/_open, as a future release might be
    monkeypatch.setattr(entrez_module, "Entrez", SimpleNamespace(efetch=Entrez.efetch))
    fake = ncbi(read(entrez_fixtures, "pubmed1.xml"))
    assert [r.pmid for r in make_source()[0].fetch(["9997"])] == ["12091962", "9997"]
    assert fake.sent[0].method == "GET"  # Biopython's own choice for a short list


def test_fetch_dedupes_and_checks_ids(ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path) -> None:
    fake = ncbi(read(entrez_fixtures, "pubmed1.xml"))
    source = make_source()[0]
    list(source.fetch(["9997", "12091962", "9997"]))
    assert fake.sent[0].one("id") == "9997,12091962"
    with pytest.raises(ValueError, match="not PMIDs"):
        list(source.fetch(["9997", "PMC123"]))


@pytest.mark.parametrize(("name", "pmids", "title"), [
    ("pubmed1.xml", ["12091962", "9997"], "The treatment of AIDS behind the walls"),
    ("pubmed2.xml", ["11748933", "11700088"], None),
    ("pubmed4.xml", ["27797938"], None),
    ("pubmed7.xml", ["29963580"], "Development of a pulmonary imaging biomarker"),
])
def test_fetch_parses_recorded_pubmed(ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path,
                                      name: str, pmids: list[str], title: str | None) -> None:
    ncbi(read(entrez_fixtures, name))
    records = list(make_source()[0].fetch(pmids))
    assert [r.pmid for r in records] == pmids
    if title:
        assert records[0].title.startswith(title)


@pytest.mark.parametrize(("name", "says"), [
    ("pubmed3.html", "HTML page"),
    ("epost2.xml", "Invalid db name specified: nothing"),
    ("esummary8.xml", "Neither query_key nor id specified"),
    ("einfo4.xml", "unusable PubMed XML"),
])
def test_error_bodies_are_errors_never_records(
        ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path, name: str, says: str) -> None:
    fake = ncbi(read(entrez_fixtures, name))
    source, sleeps = make_source(max_attempts=3)
    got = []
    with pytest.raises(EntrezError, match=says) as info:
        for record in source.fetch(["19304878"]):
            got.append(record)
    assert got == [] and info.value.utility == "efetch"
    assert len(fake.sent) == 3 and len(sleeps) == 2  # NCBI sends these for hiccups too


@pytest.mark.parametrize(("name", "says"), [
    ("pubmed3.html", "HTML page"), ("epost2.xml", "Invalid db name"), ("einfo4.xml", "unparsable"),
])
def test_error_bodies_fail_other_utilities_too(
        ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path, name: str, says: str) -> None:
    ncbi(read(entrez_fixtures, name))
    source = make_source(max_attempts=1)[0]
    with pytest.raises(EntrezError, match=says):
        source.search("q")
    with pytest.raises(EntrezError, match=says):
        source.links(["1"], LINK_REFS)
    with pytest.raises(EntrezError, match="answered 0 of 1" if name == "einfo4.xml" else says):
        source.match_citations([MANN])  # a text answer: truncated XML just lacks the lines


def test_an_error_inside_well_formed_xml_is_not_an_empty_result(
        ncbi: Callable[..., FakeNcbi]) -> None:
    # parsed naively, both would read as "nothing found": "PubMed is down" must look different
    ncbi(esearch_body([], count=0, extra="<ERROR>Search Backend failed</ERROR>"),
         b"<eLinkResult><LinkSet><DbFrom>pubmed</DbFrom><IdList><Id>1</Id></IdList>"
         b"<ERROR>Backend failed</ERROR></LinkSet></eLinkResult>")
    source = make_source(max_attempts=1)[0]
    with pytest.raises(EntrezError, match="Search Backend failed"):
        source.search("q")
    with pytest.raises(EntrezError, match="Backend failed"):
        source.links(["1"], LINK_REFS)


def test_truncated_fetch_is_retried(ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path) -> None:
    ncbi(read(entrez_fixtures, "einfo4.xml"), read(entrez_fixtures, "pubmed2.xml"))
    source, sleeps = make_source()
    assert [r.pmid for r in source.fetch(["11748933", "11700088"])] == ["11748933", "11700088"]
    assert sleeps == [0.25] and source.request_counts() == {"efetch": 2}


# -- ELink ----------------------------------------------------------------------------------------


def test_links_sends_one_id_parameter_per_source(ncbi: Callable[..., FakeNcbi],
                                                 entrez_fixtures: Path) -> None:
    fake = ncbi(read(entrez_fixtures, "elink1.xml"))
    make_source()[0].links(["9298984", "123", "456"], LINK_CITEDIN)
    sent = fake.sent[0]
    assert sent.params["id"] == ["9298984", "123", "456"]
    assert "id=9298984&id=123&id=456" in sent.raw and "%2C" not in sent.raw
    assert {k: sent.one(k) for k in ("dbfrom", "db", "linkname")} == {
        "dbfrom": "pubmed", "db": "pubmed", "linkname": LINK_CITEDIN}


def test_links_batches_source_ids(ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path) -> None:
    fake = ncbi(read(entrez_fixtures, "elink1.xml"))
    pmids = ["9298984"] + [str(2_000_000 + i) for i in range(249)]
    result = make_source()[0].links(pmids, LINK_REFS)
    assert [len(s.params["id"]) for s in fake.sent] == [100, 100, 50]
    assert list(result) == pmids and result["2000000"] == ()  # no link set: no links


@pytest.mark.parametrize(("linkname", "n", "first", "last"), [
    (LINK_REFS, 56, "14732139", "1339459"),
    (LINK_CITEDIN, 39, "38830800", "9700164"),
])
def test_parse_recorded_elink(ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path,
                              linkname: str, n: int, first: str, last: str) -> None:
    ncbi(read(entrez_fixtures, "elink1.xml"))
    linked = make_source()[0].links(["9298984"], linkname)["9298984"]
    assert (len(linked), linked[0], linked[-1]) == (n, first, last)


def test_two_link_sets_are_attributed_to_their_sources(
        ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path) -> None:
    def linkset(name: str) -> bytes:
        text = read(entrez_fixtures, name)
        return text[text.index(b"<LinkSet>"):text.rindex(b"</LinkSet>") + len(b"</LinkSet>")]
    ncbi(b"<eLinkResult>" + linkset("elink1.xml") + linkset("elink4.xml") + b"</eLinkResult>")
    result = make_source()[0].links(["9298984", "12242737"], LINK_CITEDIN)
    assert len(result["9298984"]) == 39
    assert result["12242737"][:2] == ("40900773", "28779191") and len(result["12242737"]) == 6
    assert make_source()[0].links(["12242737"], LINK_REFS) == {"12242737": ()}


def test_a_merged_link_set_is_refused(ncbi: Callable[..., FakeNcbi],
                                      entrez_fixtures: Path) -> None:
    # elink3.xml was recorded with id=11812492,11774222 comma-joined: one LinkSet for both ids
    fake = ncbi(read(entrez_fixtures, "elink3.xml"))
    with pytest.raises(EntrezError, match="merged the links of 11812492, 11774222"):
        make_source()[0].links(["11812492", "11774222"], LINK_CITEDIN)
    assert len(fake.sent) == 1


# -- ECitMatch ------------------------------------------------------------------------------------

MANN = CitationQuery("Art1", "proc natl acad sci u s a", 1991, "88", "3248", "mann bj")
PALMENBERG = CitationQuery("Art2", "science", 1987, "235", "182", "palmenberg ac")


def test_citmatch_bdata_format(ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path) -> None:
    fake = ncbi(read(entrez_fixtures, "ecitmatch/citmatch_found.txt"))
    matches = make_source()[0].match_citations([MANN, PALMENBERG])
    sent = fake.sent[0]
    assert sent.method == "GET" and sent.one("db") == "pubmed" and sent.one("retmode") == "xml"
    assert sent.one("bdata") == ("proc natl acad sci u s a|1991|88|3248|mann bj|Art1|\r"
                                 "science|1987|235|182|palmenberg ac|Art2|")
    # spaces as '+', citations separated by %0D, '|' left unescaped
    assert "bdata=proc+natl+acad+sci+u+s+a|1991|88|3248|mann+bj|Art1|%0Dscience|" in sent.raw
    assert [(m.key, m.pmid, m.status) for m in matches] == [
        ("Art1", "2014248", "found"), ("Art2", "3026048", "found")]


def test_citmatch_statuses(ncbi: Callable[..., FakeNcbi], entrez_fixtures: Path) -> None:
    ncbi(read(entrez_fixtures, "ecitmatch/citmatch_mixed.txt"))
    fake_journal = CitationQuery("ref2", "fake journal", 2000, "1", "1", None)
    zhu = CitationQuery("Art4", "n engl j med", 2020, "382", "727", "zhu n")
    matches = make_source()[0].match_citations([zhu, fake_journal, MANN])
    assert [(m.key, m.pmid, m.status) for m in matches] == [
        ("Art4", "31978945", "found"), ("ref2", None, "NOT_FOUND;INVALID_JOURNAL"),
        ("Art1", "2014248", "found")]


def test_citmatch_fields_cannot_break_the_line_format(ncbi: Callable[..., FakeNcbi]) -> None:
    fake = ncbi(b"a b|||||k1|AMBIGUOUS\n")
    odd = CitationQuery("k1", "a|b\r\n", None, None, None, None)
    assert make_source()[0].match_citations([odd])[0].status == "AMBIGUOUS"
    assert fake.sent[0].one("bdata") == "a b|||||k1|"


@pytest.mark.parametrize("keys", [["a b"], ["x|y"], ["dup", "dup"], [""]])
def test_citmatch_keys_must_be_plain_and_unique(keys: list[str]) -> None:
    with pytest.raises(ValueError, match="citation keys"):
        make_source()[0].match_citations([CitationQuery(k, "nature") for k in keys])


def test_citmatch_keeps_requests_short(ncbi: Callable[..., FakeNcbi]) -> None:
    def echo(sent: Sent) -> bytes:
        return "".join(f"{line}{10 + i}\n" for i, line in
                       enumerate(sent.one("bdata").split("\r"))).encode()
    fake = ncbi(echo)
    cites = [CitationQuery(f"r{i}", "j neurosci", 2000 + i % 20, str(i), "1", "smith j")
             for i in range(40)]
    matches = make_source()[0].match_citations(cites)
    assert len(fake.sent) > 1 and all(s.method == "GET" for s in fake.sent)
    assert [m.key for m in matches] == [c.key for c in cites]
    assert all(m.status == "found" and m.pmid for m in matches)


def test_citmatch_missing_answer_is_an_error(ncbi: Callable[..., FakeNcbi],
                                             entrez_fixtures: Path) -> None:
    ncbi(read(entrez_fixtures, "ecitmatch/citmatch_found.txt"))
    extra = CitationQuery("Art3", "cell", 2001, "1", "1", "x")
    with pytest.raises(EntrezError, match="answered 2 of 3"):
        make_source(max_attempts=2)[0].match_citations([MANN, PALMENBERG, extra])


# -- retries and backoff --------------------------------------------------------------------------


def test_429_twice_then_success(ncbi: Callable[..., FakeNcbi]) -> None:
    fake = ncbi(http_error(429), http_error(429), esearch_body(["1"]))
    source, sleeps = make_source()
    assert source.search("q").pmids == ("1",)
    assert sleeps == [0.25, 0.5]  # rng 0.5 × min(cap, 0.5 × 2**(attempt-1)): growing
    assert len(fake.sent) == 3 and source.request_counts() == {"esearch": 3}


def test_jittered_delays_stay_under_the_growing_cap(ncbi: Callable[..., FakeNcbi]) -> None:
    ncbi(http_error(503))
    source, sleeps = make_source(rng=random.Random(4), max_attempts=8, backoff_cap=10.0)
    with pytest.raises(EntrezError):
        source.search("q")
    caps = [min(10.0, 0.5 * 2 ** k) for k in range(7)]
    assert len(sleeps) == 7 and all(0 <= s <= c for s, c in zip(sleeps, caps, strict=True))
    assert len(set(sleeps)) == 7  # jittered, not a fixed schedule


def test_always_503_gives_up_after_max_attempts(ncbi: Callable[..., FakeNcbi]) -> None:
    fake = ncbi(http_error(503))
    source, sleeps = make_source(rng=FixedRng(1.0), backoff_cap=1.0)
    with pytest.raises(EntrezError, match="esearch failed after 5 attempts.*HTTP 503") as info:
        source.search("q")
    assert (info.value.status, info.value.utility) == (503, "esearch")
    assert len(fake.sent) == 5 and sleeps == [0.5, 1.0, 1.0, 1.0]


def test_400_fails_at_once(ncbi: Callable[..., FakeNcbi]) -> None:
    fake = ncbi(http_error(400))
    source, sleeps = make_source()
    with pytest.raises(EntrezError, match="HTTP 400") as info:
        list(source.fetch(["1"]))
    assert info.value.status == 400 and len(fake.sent) == 1 and sleeps == []


@pytest.mark.parametrize(("header", "delay"), [("7", 7.0), ("100000", 300.0)])
def test_retry_after_is_honoured(ncbi: Callable[..., FakeNcbi], header: str, delay: float) -> None:
    ncbi(http_error(429, retry_after=header), esearch_body(["1"]))
    source, sleeps = make_source()
    source.search("q")
    assert sleeps == [delay]


@pytest.mark.parametrize("failure", [
    URLError("connection refused"), TimeoutError("timed out"), CutResponse, b"",
    b"<html><body>Service unavailable</body></html>", b"<eSearchResult><Count>1</Co",
])
def test_transient_failures_are_retried(ncbi: Callable[..., FakeNcbi], failure: Answer) -> None:
    ncbi(failure, esearch_body(["1"]))
    source, sleeps = make_source()
    assert source.search("q").pmids == ("1",) and sleeps == [0.25]


def test_biopython_does_not_retry_inside_our_attempts(
        ncbi: Callable[..., FakeNcbi], monkeypatch: pytest.MonkeyPatch) -> None:
    # Bio.Entrez would retry 429/5xx max_tries (3) times at once within each of our attempts,
    # a burst that only earns more 429s: one request per attempt, each retry after a wait.
    monkeypatch.setattr(Entrez, "max_tries", 3)
    fake = ncbi(http_error(503))
    source, sleeps = make_source(max_attempts=2)
    with pytest.raises(EntrezError, match="503"):
        source.search("q")
    assert len(fake.sent) == 2 and source.request_counts() == {"esearch": 2} and len(sleeps) == 1
    assert Entrez.max_tries == 3  # the module global is the caller's again


def _leaky_url_error(sent: Sent) -> URLError:
    return URLError(f"cannot reach {sent.url}")


@pytest.mark.parametrize("failure", [
    http_error(400), http_error(503), _leaky_url_error,
    f"<eSearchResult><ERROR>bad api_key {KEY}</ERROR></eSearchResult>".encode(),
])
def test_api_key_never_in_messages_or_logs(
        ncbi: Callable[..., FakeNcbi], failure: Answer, caplog: pytest.LogCaptureFixture) -> None:
    ncbi(failure)
    with caplog.at_level(logging.DEBUG), pytest.raises(EntrezError) as info:
        make_source(max_attempts=3)[0].search("q")
    assert KEY not in str(info.value) and KEY not in caplog.text
    assert info.value.__cause__ is None  # the HTTPError (its url holds the key) is not chained

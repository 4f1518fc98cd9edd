"""The E-utilities stand-in answers as NCBI does, and the real NcbiSource reaches it through
EVTRACK_EUTILS_URL with Biopython's request path unchanged."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest
from click.testing import CliRunner

from evtrack.cli import cli
from evtrack.config import NCBI_EUTILS_URL, resolve_settings
from evtrack.entrez import NcbiSource
from evtrack.errors import ConfigError, EntrezError
from evtrack.offline import OfflineSource
from evtrack.pubmed_xml import parse_records
from evtrack.records import CitationQuery, PaperRecord
from evtrack.resources import snapshot_files
from evtrack.sources import LINK_CITEDIN, LINK_REFS
from evtrack.testing.chaos import linked_corpus
from evtrack.testing.eutils_server import FAULT_KINDS, EutilsServer, Fault, records_of

KEY = "standin0test0key"


class FrozenClock:
    """The stand-in's clock, moved only by the test: rate-limit tests cannot race time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def corpus() -> list[PaperRecord]:
    return linked_corpus(records_of(snapshot_files()))


@pytest.fixture(scope="module")
def server(corpus: list[PaperRecord]) -> Iterator[EutilsServer]:
    # No rate limit here: it has its own test, on a frozen clock.
    with EutilsServer(corpus, stall=2.0, slow=0.2, rate_limit=False) as running:
        yield running


@pytest.fixture
def standin(server: EutilsServer) -> EutilsServer:
    server.clear_faults()
    return server


@pytest.fixture
def source(standin: EutilsServer, monkeypatch: pytest.MonkeyPatch) -> NcbiSource:
    # Biopython sleeps 15 s before retrying a network error (its own, inner loop).
    monkeypatch.setattr("Bio.Entrez.sleep_between_tries", 0)
    return NcbiSource("tests@example.org", api_key=KEY, base_url=standin.base_url, timeout=1.0,
                      backoff_base=0.001, sleep=lambda _s: None)


def get(url: str, **params: object) -> tuple[int, bytes]:
    try:
        with urlopen(f"{url}?{urlencode(params, doseq=True)}", timeout=10) as handle:
            return handle.status, handle.read()
    except HTTPError as exc:
        with exc:
            return exc.code, exc.read()


@pytest.mark.parametrize("term", ["ketamine[tiab]", "Nature[ta] AND 2011:2013[dp]",
                                  '"brain-derived neurotrophic factor"[tiab] OR Nature[ta]',
                                  "ketamine[tiab] NOT depress*[tiab]"])
def test_esearch_evaluates_pubmed_queries_over_its_records(
        source: NcbiSource, corpus: list[PaperRecord], term: str) -> None:
    expected = OfflineSource(corpus).search(term)
    found = source.search(term)
    assert found.count == expected.count > 0
    assert set(found.pmids) == set(expected.pmids)


def test_esearch_dates_retstart_and_retmax(standin: EutilsServer,
                                           corpus: list[PaperRecord]) -> None:
    everything = OfflineSource(corpus).search("ketamine[tiab]").pmids  # newest first
    status, body = get(standin.base_url + "esearch.fcgi", db="pubmed", term="ketamine[tiab]",
                       retstart=2, retmax=3)
    assert status == 200
    assert re.findall(rb"<Id>(\d+)</Id>", body) == [p.encode() for p in everything[2:5]]
    assert f"<Count>{len(everything)}</Count>".encode() in body
    ranged = OfflineSource(corpus).search("ketamine[tiab]", mindate=date(2010, 1, 1),
                                          maxdate=date(2015, 12, 31)).pmids
    _, body = get(standin.base_url + "esearch.fcgi", db="pubmed", term="ketamine[tiab]",
                  mindate="2010", maxdate="2015/12/31", datetype="pdat", retmax=100)
    assert 0 < len(ranged) < len(everything)
    assert re.findall(rb"<Id>(\d+)</Id>", body) == [p.encode() for p in ranged]
    _, body = get(standin.base_url + "esearch.fcgi", db="pubmed", term="ketamine[tiab]",
                  retstart=10_000)
    assert b"<ERROR>" in body and b"retstart" in body


def test_history_server_webenv_query_key_and_expiry(corpus: list[PaperRecord]) -> None:
    clock = FrozenClock()
    with EutilsServer(corpus, history_ttl=3600, clock=clock) as server:
        url = server.base_url
        _, body = get(url + "esearch.fcgi", db="pubmed", term="ketamine[tiab]", usehistory="y",
                      retmax=0)
        webenv = re.search(rb"<WebEnv>(.+?)</WebEnv>", body)
        assert webenv is not None and b"<QueryKey>1</QueryKey>" in body
        env = webenv.group(1).decode()
        _, again = get(url + "esearch.fcgi", db="pubmed", term="BDNF[tiab]", usehistory="y",
                       WebEnv=env)
        assert b"<QueryKey>2</QueryKey>" in again and env.encode() in again
        _, fetched = get(url + "efetch.fcgi", db="pubmed", retmode="xml", WebEnv=env,
                         query_key=1, retstart=1, retmax=4)
        listed = OfflineSource(corpus).search("ketamine[tiab]").pmids
        assert [r.pmid for r in parse_records(fetched)] == list(listed[1:5])
        clock.now += 3601  # NCBI keeps a history for hours, not forever
        _, expired = get(url + "efetch.fcgi", db="pubmed", retmode="xml", WebEnv=env,
                         query_key=1)
        assert b"<ERROR>Unable to obtain query #1</ERROR>" in expired


def test_efetch_by_post_and_get_gives_the_same_records(standin: EutilsServer) -> None:
    ids = ["21677641", "18202677", "1"]  # "1" is unknown: left out, as NCBI does
    _, by_get = get(standin.base_url + "efetch.fcgi", db="pubmed", retmode="xml",
                    id=",".join(ids))
    request = Request(standin.base_url + "efetch.fcgi", method="POST",
                      data=urlencode({"db": "pubmed", "retmode": "xml", "id": ",".join(ids)})
                      .encode())
    with urlopen(request, timeout=10) as handle:
        by_post = handle.read()
    assert by_get == by_post
    assert [r.pmid for r in parse_records(by_post)] == ids[:2]


def test_elink_answers_one_linkset_per_id_parameter(standin: EutilsServer,
                                                    source: NcbiSource,
                                                    corpus: list[PaperRecord]) -> None:
    offline = OfflineSource(corpus)
    pmids = ["21677641", "18202677"]
    for linkname in (LINK_REFS, LINK_CITEDIN):
        expected = offline.links(pmids, linkname)
        assert {k: set(v) for k, v in source.links(pmids, linkname).items()} == \
            {k: set(v) for k, v in expected.items()}
        assert all(expected.values())
    # Comma-joined ids merge into one LinkSet (biopython#361): NcbiSource refuses to guess.
    _, merged = get(standin.base_url + "elink.fcgi", dbfrom="pubmed", db="pubmed",
                    linkname=LINK_REFS, id=",".join(pmids))
    assert merged.count(b"<LinkSet>") == 1 and merged.count(b"<IdList><Id>") == 1
    _, separate = get(standin.base_url + "elink.fcgi", dbfrom="pubmed", db="pubmed",
                      linkname=LINK_REFS, id=pmids)
    assert separate.count(b"<LinkSet>") == 2
    sent = [s for s in standin.served if s.utility == "elink" and s.method == "GET"]
    assert any(len(s.params["id"]) == 2 for s in sent)  # Biopython's one id= per source id


def test_ecitmatch_and_einfo(source: NcbiSource, standin: EutilsServer) -> None:
    matches = source.match_citations([
        CitationQuery(key="autry", journal="Nature", year=2011, volume="475", first_page="91",
                      author="Autry AE"),
        CitationQuery(key="nothing", journal="Journal of Nothing", year=1901, volume="1",
                      first_page="1", author="Nobody N")])
    assert [(m.key, m.pmid, m.status) for m in matches] == [
        ("autry", "21677641", "found"), ("nothing", None, "NOT_FOUND")]
    _, dblist = get(standin.base_url + "einfo.fcgi")
    assert b"<DbName>pubmed</DbName>" in dblist
    _, info = get(standin.base_url + "einfo.fcgi", db="pubmed")
    assert re.search(rb"<Count>(\d+)</Count>", info).group(1) == b"%d" % len(  # type: ignore[union-attr]
        OfflineSource(records_of(snapshot_files())))


def test_requests_arrive_as_biopython_builds_them(source: NcbiSource,
                                                  standin: EutilsServer) -> None:
    before = len(standin.served)
    list(source.fetch(["21677641"]))
    source.search("ketamine[tiab]")
    fetch, search = standin.served[before:]
    assert (fetch.utility, fetch.method) == ("efetch", "POST")  # the API key stays out of URLs
    assert fetch.params["id"] == ["21677641"] and fetch.params["api_key"] == [KEY]
    assert (search.utility, search.method) == ("esearch", "GET")
    assert search.params["tool"] == ["evtrack"] and search.params["email"] == [
        "tests@example.org"]
    assert search.params["usehistory"] == ["y"] and search.params["retmax"] == ["10000"]


def test_rate_limit_is_ncbis_three_or_ten_per_second(corpus: list[PaperRecord]) -> None:
    clock = FrozenClock()
    with EutilsServer(corpus, clock=clock) as server:
        url = server.base_url + "einfo.fcgi"
        assert [get(url)[0] for _ in range(3)] == [200, 200, 200]
        status, body = get(url)
        assert (status, json.loads(body)["limit"]) == (429, "3")
        assert [get(url, api_key=KEY)[0] for _ in range(10)] == [200] * 10
        status, body = get(url, api_key=KEY)
        assert (status, json.loads(body)["limit"]) == (429, "10")
        clock.now += 1.0  # a second later the allowance is back
        assert get(url)[0] == 200 and get(url, api_key=KEY)[0] == 200
        assert server.count(outcome="rate-limited") == 2


@pytest.mark.parametrize("kind", [k for k in FAULT_KINDS if k not in ("400", "body", "hold")])
def test_every_fault_once_is_retried_into_the_right_records(
        kind: str, source: NcbiSource, standin: EutilsServer,
        corpus: list[PaperRecord]) -> None:
    ids = ["21677641", "18202677", "23982301"]
    standin.inject(Fault(kind, "efetch"))
    before = len(standin.served)
    records = list(source.fetch(ids))
    if kind == "empty_set":  # well-formed and empty: indistinguishable from unknown PMIDs
        assert records == []
        return
    assert sorted(records, key=lambda r: r.pmid) == [r for r in corpus if r.pmid in ids]
    outcomes = [s.outcome for s in standin.served[before:]]
    if kind == "slow":  # late, but whole: nothing to retry
        assert outcomes == ["slow"]
    else:
        assert outcomes[0] == kind and outcomes[-1] == "ok"


def test_an_outage_ends_in_a_clear_entrez_error(source: NcbiSource,
                                                standin: EutilsServer) -> None:
    standin.inject(Fault("503", "esearch", times=None))
    with pytest.raises(EntrezError, match=r"NCBI esearch failed after 5 attempts; last error: "
                                          r"HTTP (503|429)"):
        source.search("ketamine[tiab]")


def test_a_rejected_request_is_not_retried(source: NcbiSource, standin: EutilsServer) -> None:
    standin.inject(Fault("400", "esearch"))
    before = len(standin.served)
    with pytest.raises(EntrezError, match="NCBI esearch rejected the request: HTTP 400") as err:
        source.search("ketamine[tiab]")
    assert err.value.status == 400 and KEY not in str(err.value)
    assert len(standin.served) == before + 1


def test_a_held_request_waits_for_release(standin: EutilsServer, source: NcbiSource) -> None:
    import threading
    standin.inject(Fault("hold", "esearch"))
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(source.search("BDNF[tiab]").count))
    worker.start()
    assert standin.wait_until(lambda: standin.holding == 1, timeout=30)
    assert result == []
    standin.release()
    worker.join(timeout=30)
    assert result and result[0] > 0


@pytest.mark.parametrize(("value", "expected"), [
    ("http://127.0.0.1:8089/entrez/eutils", "http://127.0.0.1:8089/entrez/eutils/"),
    ("https://mirror.example.org/eutils/", "https://mirror.example.org/eutils/"),
    (NCBI_EUTILS_URL, None),  # NCBI's own address means no mirror
    ("", None),
])
def test_eutils_url_setting(value: str, expected: str | None) -> None:
    settings = resolve_settings(env={"EVTRACK_EUTILS_URL": value} if value else {},
                                config_file=None)
    assert settings.eutils_url == expected


@pytest.mark.parametrize("value", ["ftp://mirror/eutils/", "mirror.example.org",
                                   "http://host/eutils/?api_key=x", "http://:99/"])
def test_a_bad_eutils_url_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="EVTRACK_EUTILS_URL"):
        resolve_settings(env={"EVTRACK_EUTILS_URL": value})


def test_cli_refuses_a_bad_eutils_url(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(str(tmp_path))
    result = CliRunner().invoke(cli, ["--eutils-url", "ftp://x/", "status"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: EVTRACK_EUTILS_URL / --eutils-url must be")

"""The refresh makes its requests on one background thread while it stores, links and judges.

What must not change with that: the requests (exactly the minimum, one thread, one at a time),
an error (the same exception, raised in the caller's thread, nothing asked after it), and what
a failed run leaves (every batch fetched before the failure stored, its links judged).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from evtrack.entrez import LINK_BATCH, NcbiSource
from evtrack.errors import EntrezError
from evtrack.refresh import _Requests, refresh
from evtrack.resources import snapshot_files
from evtrack.store.db import open_store
from evtrack.store.models import Judgement, Link, Paper, RefreshRun
from evtrack.testing import chaos
from evtrack.testing.eutils_server import EutilsServer, Fault, records_of

BATCH = 10


@pytest.fixture(scope="module", autouse=True)
def no_biopython_waits() -> Iterator[None]:
    """As in tests/test_faults.py: Biopython's waits become no-ops, the stand-in's limit is off."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("Bio.Entrez.time", SimpleNamespace(time=time.time, sleep=lambda _s: None))
        yield


@pytest.fixture(scope="module")
def server() -> Iterator[EutilsServer]:
    with EutilsServer(chaos.linked_corpus(records_of(snapshot_files())),
                      rate_limit=False) as running:
        yield running


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return chaos.load_chaos_claims(tmp_path_factory.mktemp("overlap"))[1]


@pytest.fixture
def engine(databases: Any) -> Iterator[Engine]:
    url = databases.create()
    eng = open_store(url)
    yield eng
    eng.dispose()


class ThreadRecordingSource(NcbiSource):
    """Notes the thread every request runs on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.threads: set[int] = set()

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.add(threading.get_ident())
        return super()._call(*args, **kwargs)


def source_for(server: EutilsServer) -> ThreadRecordingSource:
    return ThreadRecordingSource("trials@example.org", base_url=server.base_url,
                                 batch_size=BATCH, backoff_base=0.01, backoff_cap=0.02,
                                 max_attempts=2, timeout=5.0, sleep=lambda _s: None)


def test_requests_are_the_minimum_and_all_on_one_other_thread(
        server: EutilsServer, claims: Any, engine: Engine) -> None:
    for run in (1, 2):
        server.clear_faults()
        before = len(server.served)
        source = source_for(server)
        summary = refresh(engine, claims, source, batch_size=BATCH)
        served = server.served[before:]
        fetched = [i for s in served if s.utility == "efetch"
                   for i in ",".join(s.params.get("id", [])).split(",")]
        cited = {pmid for *_x, pmid in summary.citations if pmid}
        queries = sum(len(c.queries) for c in claims.claims)
        assert len(fetched) == len(set(fetched))  # no paper asked for twice
        assert summary.requests == {
            "esearch": queries + (run == 2),  # + the "modified since" search of a rerun
            "ecitmatch": 1,
            "elink": 2 * math.ceil(len(cited) / LINK_BATCH),
            **({"efetch": math.ceil(len(fetched) / BATCH)} if fetched else {})}
        assert sum(summary.requests.values()) == len(served)  # the stand-in saw just those
        if run == 1:
            assert summary.counts.new == len(fetched) > BATCH  # several batches
        # One thread made every request, and it is not the caller's: requests stay serialized
        # behind Biopython's rate limiter, its module globals are patched by one thread only.
        assert len(source.threads) == 1
        assert source.threads != {threading.get_ident()}


def test_a_failed_background_fetch_is_raised_here_and_what_came_before_is_kept(
        server: EutilsServer, claims: Any, engine: Engine) -> None:
    server.clear_faults()
    server.inject(Fault("503", "efetch", 3, times=None))  # every try of the third batch
    before = len(server.served)
    with pytest.raises(EntrezError, match=r"^NCBI efetch failed after 2 attempts; last error: "
                                          r"HTTP 503") as failure:
        refresh(engine, claims, source_for(server), batch_size=BATCH)
    assert failure.value.utility == "efetch"
    served = server.served[before:]
    # Nothing was asked after the failing batch's last attempt.
    assert [s.outcome for s in served[-2:]] == ["503", "503"]
    assert sum(s.utility == "efetch" for s in served) == 4  # two batches, two attempts
    with engine.connect() as conn:
        run = conn.execute(select(RefreshRun.status, RefreshRun.error, RefreshRun.records_new)
                           .order_by(RefreshRun.id.desc())).first()
        papers = conn.scalar(select(func.count()).select_from(Paper))
        links = conn.scalars(select(Link.id)).all()
        judged = set(conn.scalars(select(Judgement.link_id)))
    assert run is not None
    assert (run.status, run.error) == ("failed", str(failure.value))
    assert run.records_new == papers == 2 * BATCH  # both batches fetched before it are stored
    assert links and set(links) <= judged  # their links are recorded, each one judged
    server.clear_faults()
    rerun = refresh(engine, claims, source_for(server), batch_size=BATCH)
    assert rerun.counts.new > 0  # the rerun fetches the rest


def test_requests_keep_order_urgent_first_and_stop_at_a_failure() -> None:
    made: list[str] = []
    started, gate = threading.Event(), threading.Event()
    boom = EntrezError("NCBI efetch failed", "efetch")

    def call(name: str, wait: bool = False) -> Any:
        def run() -> str:
            if wait:
                started.set()
                gate.wait(5)
            made.append(name)
            if name == "bad":
                raise boom
            return name.upper()
        return run

    with _Requests(background=True) as http:
        http.send(("a",), call("a", wait=True))  # holds the thread until the rest are queued
        assert started.wait(5)
        http.send(("b",), call("b"))
        http.send(("bad",), call("bad"), urgent=True)  # ahead of b, which has not started
        http.send(("c",), call("c"))
        gate.set()
        assert http.next() == (("a",), "A")
        with pytest.raises(EntrezError) as raised:
            http.next()
        assert raised.value is boom  # the very exception, in this thread
    assert made == ["a", "bad"]  # b and c were never made


def test_requests_in_the_callers_thread_stop_at_a_failure_too() -> None:
    made: list[str] = []

    def call(name: str) -> Any:
        def run() -> str:
            made.append(name)
            if name == "bad":
                raise ValueError(name)
            return name
        return run

    with _Requests(background=False) as http:
        for name in ("a", "bad", "c"):
            http.send((name,), call(name))
        assert http.next() == (("a",), "a")
        with pytest.raises(ValueError, match="bad"):
            http.next()
    assert made == ["a", "bad"]


def test_the_offline_refresh_makes_no_thread(tmp_path: Path, claims: Any, engine: Engine,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from evtrack.offline import OfflineSource

    started: list[str] = []
    original = threading.Thread.start

    def start(self: threading.Thread) -> None:
        started.append(self.name)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    summary = refresh(engine, claims, OfflineSource.for_store(engine, snapshot_files()),
                      batch_size=BATCH)
    assert summary.counts.new > BATCH
    assert "evtrack-requests" not in started

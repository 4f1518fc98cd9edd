"""A refresh against a faulty NCBI: every fault kind, at several positions, either completes
after backoff or fails with a clear error; a rerun then converges on the database an undisturbed
refresh makes. No error body is stored, no row lost or duplicated, no verdict touched.

The real NcbiSource talks to the E-utilities stand-in (evtrack.testing.eutils_server) through
EVTRACK_EUTILS_URL's setting; only the backoff waits are shortened. ``bench/chaos.py`` runs the
full campaign; this is a small seeded sample of it.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine, select

from evtrack.claims import ClaimSet
from evtrack.errors import EntrezError
from evtrack.refresh import refresh
from evtrack.report import build_report
from evtrack.resources import snapshot_files
from evtrack.store.models import RefreshRun
from evtrack.testing import chaos
from evtrack.testing.eutils_server import FAULT_KINDS, EutilsServer, Fault, records_of
from evtrack.testing.ledger_check import Dump, canonical_dump, verdict_rows

pytestmark = pytest.mark.slow

#: Where in the update refresh a fault can land (it makes 4 ESearch, 1 ECitMatch, 2 ELink and
#: 3 EFetch requests with batches of 10).
POSITIONS = [("esearch", 1), ("esearch", 4), ("ecitmatch", 1), ("elink", 2), ("efetch", 1),
             ("efetch", 3)]
KINDS = [k for k in FAULT_KINDS if k not in ("400", "body", "hold")]  # 400: not retried
SEED = 4


class Ledgers:
    """The update scenario: a ledger after one refresh and a round of verdicts (``new_db``),
    the revised corpus PubMed now serves, and the dump an undisturbed update refresh gives."""

    def __init__(self, server: EutilsServer, claims: ClaimSet, new_db: Callable[[], Engine],
                 first: list, revised: list) -> None:
        self.server, self.claims, self.new_db = server, claims, new_db
        self.first, self.revised = first, revised
        engine = new_db()
        server.set_records(revised)
        self.update = refresh(engine, claims, chaos.ncbi_source(server), batch_size=10)
        self.reference: Dump = canonical_dump(engine)
        engine.dispose()


@pytest.fixture(scope="module", autouse=True)
def no_biopython_waits() -> Iterator[None]:
    """Biopython's own waits (0.1 s between requests, 15 s before retrying a network error)
    become no-ops; its requests and retries are unchanged. NCBI's rate limit, which those
    waits respect, is then off in the stand-in too (tests/test_eutils_server.py tests it), and
    a 429 is one of the injected faults."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("Bio.Entrez.time", SimpleNamespace(time=time.time, sleep=lambda _s: None))
        yield


@pytest.fixture(scope="module")
def server() -> Iterator[EutilsServer]:
    with EutilsServer((), stall=3.0, slow=0.3, rate_limit=False) as running:
        yield running


@pytest.fixture(scope="module")
def ledgers(server: EutilsServer, databases, tmp_path_factory: pytest.TempPathFactory
            ) -> Ledgers:
    work = tmp_path_factory.mktemp("faults")
    _path, claims = chaos.load_chaos_claims(work)
    first = chaos.linked_corpus(records_of(snapshot_files()))
    revised = chaos.revised_corpus(first)
    new_db = chaos.prepared_copies(databases, claims, server, first, work)
    return Ledgers(server, claims, new_db, first, revised)


def trial(ledgers: Ledgers, fault: Fault) -> chaos.Trial:
    return chaos.fault_trial(ledgers.new_db, ledgers.claims, ledgers.server, ledgers.revised,
                             ledgers.reference, fault)


def assert_converged(result: chaos.Trial) -> None:
    assert not result.outcome.startswith("crashed"), result.message
    assert (result.rows_lost, result.rows_extra) == (0, 0), result
    assert result.verdicts_changed == 0
    assert result.error_bodies == 0
    assert result.integrity_failures == 0


def test_the_reference_is_a_real_update(ledgers: Ledgers) -> None:
    """The scenario has something to lose: revised papers, new links, verdicts."""
    base = canonical_dump(ledgers.new_db())
    assert ledgers.reference["papers"] != base["papers"]
    assert len(ledgers.reference["links"]) > len(base["links"])
    assert len(base["verdicts"]) >= 20
    assert ledgers.reference["verdicts"] == base["verdicts"]


_rng = random.Random(SEED)
TRANSIENT = [(kind, *_rng.choice(POSITIONS)) for kind in KINDS]


@pytest.mark.parametrize(("kind", "utility", "at"), TRANSIENT,
                         ids=[f"{k}-{u}#{a}" for k, u, a in TRANSIENT])
def test_a_passing_fault_is_retried_and_the_refresh_completes(
        ledgers: Ledgers, kind: str, utility: str, at: int) -> None:
    result = trial(ledgers, Fault(kind, utility, at))
    assert result.outcome == "completed", result.message
    assert_converged(result)
    if kind != "empty_set":  # a well-formed empty answer is data: the rerun fills the gap
        assert result.gap == 0


@pytest.mark.parametrize(("utility", "at"), POSITIONS[1::2],
                         ids=[f"{u}#{a}" for u, a in POSITIONS[1::2]])
def test_a_503_anywhere_in_the_refresh(ledgers: Ledgers, utility: str, at: int) -> None:
    result = trial(ledgers, Fault("503", utility, at, times=2))
    assert result.outcome == "completed" and result.gap == 0
    assert_converged(result)


OUTAGES = [("503", "efetch", 2), ("reset", "esearch", 2), ("truncated", "elink", 1),
           ("html", "ecitmatch", 1)]


@pytest.mark.parametrize(("kind", "utility", "at"), OUTAGES,
                         ids=[f"{k}-{u}#{a}" for k, u, a in OUTAGES])
def test_an_outage_fails_clearly_and_a_rerun_converges(
        ledgers: Ledgers, kind: str, utility: str, at: int) -> None:
    result = trial(ledgers, Fault(kind, utility, at, times=None))
    assert result.outcome == "failed: clear error"
    assert result.message.startswith(f"NCBI {utility} failed after 4 attempts; last error: ")
    assert result.gap > 0  # it really stopped half-way …
    assert_converged(result)  # … and the rerun finished the job


def test_a_failed_run_is_marked_and_the_next_one_resumes(ledgers: Ledgers) -> None:
    engine = ledgers.new_db()
    server = ledgers.server
    server.set_records(ledgers.revised)
    server.clear_faults()
    server.inject(Fault("502", "efetch", 2, times=None))
    with pytest.raises(EntrezError) as failure:
        refresh(engine, ledgers.claims, chaos.ncbi_source(server), batch_size=10)
    with engine.connect() as conn:
        runs = conn.execute(select(RefreshRun.status, RefreshRun.error, RefreshRun.records_new,
                                   RefreshRun.records_updated).order_by(RefreshRun.id)).all()
    assert [r.status for r in runs] == ["ok", "failed"]
    assert runs[-1].error == str(failure.value)
    server.clear_faults()
    resumed = refresh(engine, ledgers.claims, chaos.ncbi_source(server), batch_size=10)
    # The batch stored before the failure was kept, and not counted again by the rerun. (New
    # or revised papers: batches are sent as the searches find their PMIDs, not in PMID order.)
    assert runs[-1].records_new + runs[-1].records_updated > 0
    assert runs[-1].records_new + resumed.counts.new == ledgers.update.counts.new
    assert runs[-1].records_updated + resumed.counts.updated == ledgers.update.counts.updated
    assert canonical_dump(engine) == ledgers.reference


def test_verdicts_are_sacred(ledgers: Ledgers, tmp_path: Path) -> None:
    """Verdicts on many links, then changed records, new query results, faults and a failed
    run: every verdict byte-identical afterwards, and still the one the report shows."""
    engine = ledgers.new_db()
    server = ledgers.server
    before = verdict_rows(engine)
    assert len(before) >= 20
    assert any(len(row[6] or "") >= 5000 for row in before)  # a very long note …
    assert any("DROP TABLE" in (row[6] or "") for row in before)  # … and SQL in one
    rounds: list[tuple[list, list[Fault]]] = [
        (ledgers.revised, [Fault("429", "esearch", 1), Fault("truncated", "efetch", 2)]),
        (chaos.revised_corpus(ledgers.revised, seed=11, added=3),
         [Fault("503", "efetch", 1, times=None)]),  # fails …
        (chaos.revised_corpus(ledgers.revised, seed=11, added=3), []),  # … and resumes
        (ledgers.first, [Fault("reset", "elink", 1)]),  # PubMed "reverts": older revisions
    ]
    for records, faults in rounds:
        server.set_records(records)
        server.clear_faults()
        server.inject(*faults)
        with contextlib.suppress(EntrezError):  # the round with an outage fails, as it should
            refresh(engine, ledgers.claims, chaos.ncbi_source(server), batch_size=10)
        assert verdict_rows(engine) == before
    server.clear_faults()
    shown = {(r.claim_id, r.pmid): r for c in build_report(engine).claims for r in c.links}
    for _vid, _lid, claim_id, pmid, stance, reviewer, _note, _tag, _at in before:
        row = shown[(claim_id, pmid)]
        assert (row.stance, row.decider, row.decided_by) == (stance, "verdict", reviewer)


def test_a_run_killed_after_storing_papers_rejudges_them(ledgers: Ledgers) -> None:
    """Papers revised by a run that died before judging are judged by the next run (their
    ``updated_run_id`` is newer than the last finished refresh), not left with old judgements."""
    engine = ledgers.new_db()
    server = ledgers.server
    server.set_records(ledgers.revised)
    server.clear_faults()
    server.inject(Fault("503", "efetch", 3, times=None))  # dies after two batches were stored
    with pytest.raises(EntrezError):
        refresh(engine, ledgers.claims, chaos.ncbi_source(server), batch_size=10)
    with engine.begin() as conn:  # as SIGKILL would leave it: still "running"
        conn.execute(RefreshRun.__table__.update().where(RefreshRun.status == "failed")
                     .values(status="running", error=None))
    server.clear_faults()
    refresh(engine, ledgers.claims, chaos.ncbi_source(server), batch_size=10)
    assert canonical_dump(engine) == ledgers.reference
    with engine.connect() as conn:
        statuses = conn.scalars(select(RefreshRun.status).order_by(RefreshRun.id)).all()
    assert statuses == ["ok", "failed", "ok"]  # the dead run is no longer shown as running


_ARTICLE = (b"<PubmedArticle><MedlineCitation><PMID>21677641</PMID><Article><ArticleTitle>"
            b"TITLE</ArticleTitle></Article></MedlineCitation></PubmedArticle>")
HOSTILE_BODIES = {
    "billion-laughs": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                      b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                      b"<PubmedArticleSet>" + _ARTICLE.replace(b"TITLE", b"&lol2;")
                      + b"</PubmedArticleSet>",
    "external-entity": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM '
                       b'"file:///etc/passwd">]><PubmedArticleSet>'
                       + _ARTICLE.replace(b"TITLE", b"&xxe;") + b"</PubmedArticleSet>",
    "html-inside-xml": b'<?xml version="1.0"?><PubmedArticleSet>'
                       + _ARTICLE.replace(b"TITLE", b"<html><body>503 Service Unavailable"
                                                    b"</body></html>") + b"</PubmedArticleSet>",
    "error-after-records": b'<?xml version="1.0"?><PubmedArticleSet>' + _ARTICLE
                           + b"<ERROR>Backend cut off</ERROR></PubmedArticleSet>",
    "not-utf8": b'<?xml version="1.0" encoding="UTF-8"?><PubmedArticleSet>'
                + _ARTICLE.replace(b"TITLE", b"caf\xe9 \xff\xfe") + b"</PubmedArticleSet>",
}


@pytest.mark.parametrize("name", HOSTILE_BODIES)
def test_no_hostile_answer_is_ever_stored(ledgers: Ledgers, name: str) -> None:
    """Answers that parse to something, or almost do, are refused and fetched again."""
    result = trial(ledgers, Fault("body", "efetch", 1, body=HOSTILE_BODIES[name]))
    assert result.outcome == "completed" and result.gap == 0, result.message
    assert_converged(result)

"""The summary report (SQL aggregates, only the links it names) against the full report.

``build_report(full=False)`` must give every figure ``build_report()`` gives — scores to the
last bit, certainty, counts per stance and tier, groups, the chain's weakest link, retractions,
citations — and the same table, claims CSV and (streamed) links CSV, on the ketamine store and
on generated stores (:mod:`evtrack.testing.scale_store`), now and ``as_of`` a date.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, insert, select, update

from evtrack import changes
from evtrack.changes import ClaimState, claim_states, current_states, paper_notices
from evtrack.claims import load_claims
from evtrack.export import export_csv, read_csv
from evtrack.offline import OfflineSource
from evtrack.refresh import CURATED_METHOD, refresh
from evtrack.render import render
from evtrack.report import ClaimReport, Report, build_report
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.scoring import Evidence, Scorer
from evtrack.store import ledger, summary
from evtrack.store.db import open_store, read_snapshot
from evtrack.store.models import Judgement, Link, LinkProvenance, Paper, PaperCorrection
from evtrack.testing.scale_store import fill_store

if TYPE_CHECKING:
    from conftest import DatabaseFactory

COUNTED = ("supports", "contradicts", "mixed")


@pytest.fixture(scope="module")
def ketamine(databases: DatabaseFactory) -> Iterator[Engine]:
    """The bundled claims refreshed offline, with researcher verdicts that override the
    curator and the judge (and so move links between the aggregates' buckets)."""
    url = databases.create()
    engine = open_store(url)
    refresh(engine, load_claims([default_claims_dir()]), OfflineSource.from_files(
        snapshot_files()))
    with engine.begin() as conn:
        ledger.add_verdict(conn, "C6", "21677641", stance="contradicts", reviewer="A. Reviewer")
        ledger.add_verdict(conn, "C2", "18202677", stance="mixed", reviewer="B. Reviewer")
    yield engine
    engine.dispose()
    databases.drop(url)


def assert_same_report(full: Report, summary: Report) -> None:
    assert [c.id for c in summary.claims] == [c.id for c in full.claims]
    assert summary.chain == full.chain
    assert summary.judges == full.judges
    for f, s in zip(full.claims, summary.claims, strict=True):
        assert f.complete and not s.complete
        assert s.score == f.score, f.id  # dataclass equality: every float to the last bit
        assert s.stance_counts == f.stance_counts, f.id
        assert s.tier_counts == f.tier_counts, f.id
        assert s.n_papers == f.n_papers == len(f.links), f.id
        assert s.retracted == f.retracted, f.id
        assert (s.cited, s.curated, s.group_labels) == (f.cited, f.curated, f.group_labels)
        assert (s.queries, s.leads_to, s.questions) == (f.queries, f.leads_to, f.questions)
        # Its links are the full report's, in the same order, less those it need not name.
        named = [r for r in f.links if (r.stance in COUNTED and not r.retracted) or r.retracted
                 or r.decider == "verdict" or r.pmid in {x.pmid for x in f.cited}
                 or r.pmid in {x.pmid for x in f.curated}]
        assert s.links == [r for r in f.links if r in set(s.links)]
        assert set(named) <= set(s.links), f.id
    assert render(summary, "table") == render(full, "table")
    assert render(summary, "csv") == render(full, "csv")


@pytest.mark.parametrize("as_of", [None, date(2014, 10, 4), date(1990, 1, 1)])
def test_the_summary_report_is_the_full_report_on_the_ketamine_store(
        ketamine: Engine, as_of: date | None) -> None:
    full = build_report(ketamine, as_of=as_of)
    summary = build_report(ketamine, as_of=as_of, full=False)
    assert_same_report(full, summary)
    c6 = next(c for c in summary.claims if c.id == "C6")
    if as_of is None:
        assert any(r.decider == "verdict" for r in c6.links)


def full_states(engine: Engine) -> dict[str, ClaimState]:
    """What a refresh's snapshot held before :func:`evtrack.changes.current_states`: the
    states of the full report, with every linked paper's notices."""
    report = build_report(engine)
    with read_snapshot(engine) as conn:
        notices = paper_notices(conn, {r.pmid for c in report.claims for r in c.links})
    return claim_states(report, notices)


def add_notices(engine: Engine, seed: int) -> None:
    """Correction notices (and one that is not a notice) on a few in ten papers."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        ids = list(conn.scalars(select(Paper.id)))
        rows = [{"paper_id": pid, "position": 900 + i, "ref_type": kind, "ref_source": "x"}
                for pid in rng.sample(ids, max(1, len(ids) // 4))
                for i, kind in enumerate(rng.sample(
                    ["ErratumIn", "RetractionIn", "ExpressionOfConcernIn", "CommentIn"],
                    rng.randint(1, 3)))]
        conn.execute(insert(PaperCorrection), rows)


def test_claim_states_from_the_summary_are_the_full_reports(ketamine: Engine) -> None:
    report, states = current_states(ketamine)
    assert all(not c.complete for c in report.claims)  # the summary, not the full report
    assert states == full_states(ketamine)
    c6 = states["C6"].links["21677641"]
    assert (c6.stance, c6.decider) == ("contradicts", "verdict")
    assert {x.decider for s in states.values() for x in s.links.values()} >= {
        "verdict", "curator", "judge"}


def test_claim_states_fall_back_to_the_full_report_when_the_ledger_keeps_changing(
        ketamine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    summaries = []
    real = changes.report_cache.summary_report

    def moving(engine: Engine) -> Report:
        report = real(engine)
        summaries.append(report)
        return dataclasses.replace(report, generation=-1)  # never the ledger's

    monkeypatch.setattr(changes.report_cache, "summary_report", moving)
    report, states = current_states(ketamine)
    assert len(summaries) == changes.ATTEMPTS
    assert all(c.complete for c in report.claims)  # the full report
    assert states == full_states(ketamine)


def test_a_summary_for_some_claims_only(ketamine: Engine) -> None:
    assert_same_report(build_report(ketamine, ["C6", "C2"]),
                       build_report(ketamine, ["C6", "C2"], full=False))


def test_the_streamed_links_csv_is_the_same_file(ketamine: Engine, tmp_path: Path) -> None:
    full = export_csv(build_report(ketamine), tmp_path / "full")
    streamed = export_csv(build_report(ketamine, full=False), tmp_path / "streamed",
                          engine=ketamine, chunk=2)
    assert [n for _p, n in streamed] == [n for _p, n in full]
    for name in ("claims.csv", "links.csv"):
        assert (tmp_path / "streamed" / name).read_bytes() == \
            (tmp_path / "full" / name).read_bytes()
    with pytest.raises(ValueError, match="pass engine"):
        export_csv(build_report(ketamine, full=False), tmp_path / "nope")


def test_unnamed_links_with_awkward_cells_stream_as_the_full_report_writes_them(
        databases: DatabaseFactory, tmp_path: Path) -> None:
    """The links a summary does not name get their cells from SQL (defusing included), the
    named ones from Python: formula-like and quoted text, commas and line breaks, a missing
    year, an empty ISO abbreviation, a curator's stance over the judge's, the later of two
    judges, no judgement at all, several provenance entries — byte for byte as the full
    report writes them, and read back unchanged."""
    url = databases.create()
    engine = open_store(url)
    try:
        fill_store(engine, claims=2, papers=60, links=100, seed=5)
        summary = build_report(engine, full=False)
        named = {(c.id, r.pmid) for c in summary.claims for r in c.links}
        with engine.begin() as conn:
            rows = conn.execute(select(Link.id, Link.claim_id, Paper.id, Paper.pmid)
                                .join(Paper, Paper.id == Link.paper_id)
                                .order_by(Link.id)).all()
            unnamed = [r for r in rows if (r.claim_id, r.pmid) not in named]
            assert len(unnamed) >= 6
            (l1, _c1, p1, _), (l2, _c2, p2, _), (l3, _c3, p3, _), (l4, *_r4), \
                (l5, *_r5), (l6, *_r6) = unnamed[:6]
            conn.execute(update(Paper).where(Paper.id == p1).values(
                title='=HYPERLINK("http://x")', doi="+1", journal_iso="", journal="@Journal",
                pub_year=None, design_reason=""))
            conn.execute(update(Paper).where(Paper.id == p2).values(
                title="'already quoted", journal_iso=None, journal=None))
            conn.execute(update(Paper).where(Paper.id == p3).values(
                title='-5 mice, "quoted",\r\nand a new line'))
            conn.execute(update(Judgement).where(Judgement.link_id == l1).values(
                rationale="\tstarts with a tab", decided_by="-judge"))
            conn.execute(delete(Judgement).where(Judgement.link_id.in_([l2, l4, l5, l6])))
            now = datetime(2026, 1, 1)
            conn.execute(insert(Judgement), [
                # l4: the curator's stance speaks over the judge's written after it
                {"link_id": l4, "method": CURATED_METHOD, "version": "1", "stance": "mentions",
                 "rationale": "@curated", "confidence": 1.0, "decided_by": "curator (x.toml)",
                 "created_at": now},
                {"link_id": l4, "method": "cue-rules", "version": "9", "stance": "unclear",
                 "rationale": "not me", "confidence": 0.5, "decided_by": "judge",
                 "created_at": now},
                # l5: of two judges, the one written last
                {"link_id": l5, "method": "cue-rules", "version": "9", "stance": "unclear",
                 "rationale": "first", "confidence": 0.25, "decided_by": "judge a",
                 "created_at": now},
                {"link_id": l5, "method": "lexical-lr", "version": "9", "stance": "mentions",
                 "rationale": "=second", "confidence": 0.123456789012345678,
                 "decided_by": "judge b", "created_at": now}])
            conn.execute(insert(LinkProvenance), [
                {"link_id": l6, "kind": "query", "detail": "zz, last"},
                {"link_id": l6, "kind": "cited", "detail": "=first"}])
        summary = build_report(engine, full=False)
        assert not named ^ {(c.id, r.pmid) for c in summary.claims for r in c.links}
        full = export_csv(build_report(engine), tmp_path / "full")
        streamed = export_csv(summary, tmp_path / "streamed", engine=engine, chunk=1)
        assert streamed == [(tmp_path / "streamed" / p.name, n) for p, n in full]
        text = (tmp_path / "streamed" / "links.csv").read_bytes()
        assert text == (tmp_path / "full" / "links.csv").read_bytes()
        for defused in (b"\"'=HYPERLINK(\"\"http://x\"\")\"", b"''already quoted", b"'@Journal",
                        b"'-judge", b"'@curated", b"'=second", b",unjudged,none,,,,False,"):
            assert defused in text, defused
        back = read_csv(tmp_path / "streamed" / "links.csv")
        cell = back.set_index(["claim_id", "pmid"]).loc
        assert cell[(unnamed[0].claim_id, unnamed[0].pmid), "title"] == '=HYPERLINK("http://x")'
        assert cell[(unnamed[2].claim_id, unnamed[2].pmid), "title"] == \
            '-5 mice, "quoted",\r\nand a new line'
        assert cell[(unnamed[4].claim_id, unnamed[4].pmid), "rationale"] == "=second"
        assert cell[(unnamed[3].claim_id, unnamed[3].pmid), "decider"] == "curator"
    finally:
        engine.dispose()
        databases.drop(url)


def generated_store(databases: DatabaseFactory, **sizes: int) -> Iterator[Engine]:
    """A fresh database holding a :func:`fill_store` store of ``sizes``, dropped after."""
    url = databases.create()
    engine = open_store(url)
    fill_store(engine, **sizes)
    yield engine
    engine.dispose()
    databases.drop(url)


@pytest.fixture(scope="module")
def generated(databases: DatabaseFactory) -> Iterator[Engine]:
    yield from generated_store(databases, claims=30, papers=1_500, links=6_000, seed=3)


def test_the_generated_store_has_the_shape_the_benchmark_needs(generated: Engine) -> None:
    report = build_report(generated)
    links = [r for c in report.claims for r in c.links]
    assert len(links) == 6_000
    deciders = {r.decider for r in links}
    assert deciders == {"judge", "curator", "verdict", "none"}
    assert any(r.tier_source == "curator" for r in links)
    assert any(r.retracted for r in links)
    assert len({r.auto_method for r in links} - {None}) == 2
    # Labs: some claims have groups of several papers.
    assert any(len(g.pmids) > 1 for c in report.claims for g in c.score.groups)
    assert report.chain is not None and report.chain.paths
    with generated.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Link)).scalar_one() == 6_000


def test_the_same_seed_writes_the_same_store(databases: DatabaseFactory) -> None:
    dumps = []
    for _ in range(2):
        url = databases.create()
        engine = open_store(url)
        counts = fill_store(engine, claims=4, papers=100, links=250, seed=11)
        dumps.append((counts, render(build_report(engine), "csv")))
        engine.dispose()
        databases.drop(url)
    assert dumps[0] == dumps[1]
    assert dumps[0][0].links == 250


@pytest.mark.parametrize("as_of", [None, date(2008, 6, 15), date(2015, 1, 1)])
def test_the_summary_report_is_the_full_report_on_a_generated_store(
        generated: Engine, as_of: date | None) -> None:
    assert_same_report(build_report(generated, as_of=as_of),
                       build_report(generated, as_of=as_of, full=False))


def test_the_summary_loads_a_fraction_of_the_links(generated: Engine) -> None:
    summary = build_report(generated, full=False)
    loaded = sum(len(c.links) for c in summary.claims)
    assert sum(c.n_papers for c in summary.claims) == 6_000
    assert loaded < 6_000 * 0.3



# --- the counts on a second connection: the caller's ledger or none ---------------------------

@pytest.fixture
def small(databases: DatabaseFactory) -> Iterator[Engine]:
    """A generated store of its own, for tests that write to it."""
    yield from generated_store(databases, claims=5, papers=200, links=600, seed=5)


def test_counts_taken_alongside_are_those_of_the_callers_snapshot(small: Engine) -> None:
    with read_snapshot(small) as mine:
        at = ledger.generation(mine)
        before = summary.counts(mine, None, None)
        with summary.counts_alongside(small, None, None, at) as counted:
            assert counted(mine) == before  # nothing wrote: the second snapshot's counts
    # A link goes after the caller's snapshot began: the second connection would miss it.
    with small.connect() as conn:
        link, claim = conn.execute(select(Link.id, Link.claim_id).limit(1)).one()
    with read_snapshot(small) as mine:
        at = ledger.generation(mine)
        before = summary.counts(mine, None, None)
        with small.begin() as conn:
            conn.execute(delete(Link).where(Link.id == link))
        with summary.counts_alongside(small, None, None, at) as counted:
            assert counted(mine) == before
    with read_snapshot(small) as now:
        after = summary.counts(now, None, None)
    assert sum(after[0][claim].values()) == sum(before[0][claim].values()) - 1


def test_leaving_early_never_leaves_the_counting_thread_waiting(small: Engine) -> None:
    done = threading.Event()

    def leave() -> None:
        with read_snapshot(small) as mine, contextlib.suppress(RuntimeError), \
                summary.counts_alongside(small, None, None, ledger.generation(mine)):
            raise RuntimeError("the links could not be read")
        done.set()

    worker = threading.Thread(target=leave, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert done.is_set()


def test_a_store_in_memory_counts_in_the_callers_snapshot() -> None:
    engine = open_store("sqlite://")  # one connection per thread: each its own empty store
    try:
        fill_store(engine, claims=3, papers=60, links=150, seed=2)
        assert_same_report(build_report(engine), build_report(engine, full=False))
    finally:
        engine.dispose()

@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), claims=st.integers(1, 6), papers=st.integers(20, 200),
       share=st.floats(0.05, 0.9), as_of=st.one_of(st.none(), st.dates(date(1990, 1, 1),
                                                                        date(2026, 1, 1))))
def test_summary_equals_full_on_any_generated_store(
        databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory, seed: int,
        claims: int, papers: int, share: float, as_of: date | None) -> None:
    links = max(claims, int(claims * papers * share))
    url = databases.create()
    engine = open_store(url)
    try:
        fill_store(engine, claims=claims, papers=papers, links=links, seed=seed)
        full = build_report(engine, as_of=as_of)
        summary = build_report(engine, as_of=as_of, full=False)
        assert_same_report(full, summary)
        out = tmp_path_factory.mktemp("csv")
        export_csv(full, out / "full")
        export_csv(summary, out / "summary", engine=engine, chunk=2)
        assert (out / "summary" / "links.csv").read_bytes() == \
            (out / "full" / "links.csv").read_bytes()
        if as_of is None:
            add_notices(engine, seed)
            assert current_states(engine)[1] == full_states(engine)
    finally:
        engine.dispose()
        databases.drop(url)


# --- The leave-one-out deltas: the scorer reuses each side's sorted factors ----------------


def reference_score(scorer: Scorer, evidence: list[Evidence]) -> list[tuple[str, float]]:
    """Every counted paper's leave-one-out delta the way the scorer computed it before:
    re-rank its groups, re-sort every factor of both sides, multiply."""
    pieces = scorer._pieces(evidence)
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, piece in enumerate(pieces):
        members[(piece.side, piece.evidence.group_key)].append(i)
    factors = {key: scorer._rank(pieces, idx)[0] for key, idx in members.items()}
    s, c = scorer._sides(factors)
    by_pmid: dict[str, list[int]] = defaultdict(list)
    for i, piece in enumerate(pieces):
        by_pmid[piece.evidence.pmid].append(i)
    out = []
    for pmid, mine in by_pmid.items():
        without = dict(factors)
        for key in {(pieces[i].side, pieces[i].evidence.group_key) for i in mine}:
            without[key] = scorer._rank(pieces, [i for i in members[key] if i not in mine])[0]
        s2, c2 = scorer._sides(without)
        out.append((pmid, s * (1 - c) - s2 * (1 - c2)))
    return sorted(out, key=lambda x: (-abs(x[1]), x[0]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["supports", "contradicts", "mixed", "mentions"]),
                          st.sampled_from(["rct", "animal-in-vivo", "in-vitro", "review"]),
                          st.sampled_from(["verdict", "curator", "judge"]),
                          st.integers(0, 6), st.booleans()), max_size=60),
       st.integers(0, 2**32))
def test_leave_one_out_deltas_are_those_of_a_full_recount(
        rows: list[tuple[str, str, str, int, bool]], seed: int) -> None:
    evidence = [Evidence(str(100 + i), stance, tier, decider, retracted,
                         group=f"g{group}" if group else None)
                for i, (stance, tier, decider, group, retracted) in enumerate(rows)]
    random.Random(seed).shuffle(evidence)
    scorer = Scorer()
    got = [(x.pmid, x.delta) for x in scorer.score(evidence).contributions]
    assert got == reference_score(scorer, evidence)  # exact: not approx
    assert all(math.isfinite(d) for _p, d in got)


def test_a_claim_report_is_complete_and_counts_its_links() -> None:
    report = ClaimReport(id="X", text="", subject="", relation="", object="", leads_to=[],
                         questions=[], queries=[], links=[], cited=[], curated=[],
                         score=Scorer().score([]))
    assert report.complete and report.n_papers == 0
    assert dataclasses.fields(report)  # a plain dataclass: asdict (JSON) is unchanged

"""The kept summary report (evtrack.report_cache): served only while the ledger is unchanged.

The figures a kept report shows must be the ones a fresh ``build_report(full=False)`` shows,
whatever wrote to the ledger in between: evtrack's own write paths (a verdict, an ingest, a
refresh) and a statement typed by hand, on every table the report reads. Runs on SQLite and,
with ``--db-url``, on PostgreSQL (whose triggers are statement-level).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import weakref
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from conftest import load_migration
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text, update

from evtrack import report_cache
from evtrack.claims import load_claims
from evtrack.cli import cli
from evtrack.ingest import ingest_files
from evtrack.offline import OfflineSource
from evtrack.refresh import refresh
from evtrack.render import render
from evtrack.report import LinkRow, Report, build_report
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.scoring import default_priors
from evtrack.store import ledger
from evtrack.store.db import open_store
from evtrack.store.models import Base, ClaimMark, Paper, ReportCache, ReportPart

if TYPE_CHECKING:
    from conftest import DatabaseFactory

# The tables whose writes must bump the generation (migration 0004), as imported there.
WATCHED = ("refresh_runs", "papers", "paper_authors", "paper_corrections", "claims",
           "claim_queries", "claim_edges", "cited_references", "curated_refs", "links",
           "link_provenance", "judgements", "verdicts")


@pytest.fixture
def ketamine(databases: DatabaseFactory, entrez_fixtures: Path) -> Iterator[Engine]:
    """The bundled claims refreshed offline over the snapshot and a recorded EFetch answer
    with correction notices, and one verdict: no watched table is empty."""
    url = databases.create()
    engine = open_store(url)
    ingest_files(engine, [entrez_fixtures / "pubmed4.xml"])
    refresh(engine, load_claims([default_claims_dir()]),
            OfflineSource.from_files(snapshot_files()))
    with engine.begin() as conn:
        ledger.add_verdict(conn, "C2", "18202677", stance="mixed", reviewer="B. Reviewer")
    report_cache.forget(engine)  # the refresh's snapshot kept a report: the tests start bare
    yield engine
    engine.dispose()
    databases.drop(url)


def fresh(engine: Engine) -> Report:
    return build_report(engine, full=False)


def assert_same(kept: Report, built: Report) -> None:
    # Rendered first: a kept part's links are read only when used, and the table and the
    # CSV must not need them.
    for fmt in ("table", "csv"):
        assert render(kept, fmt) == render(built, fmt)
    assert kept.claims == built.claims  # dataclass equality: every score to the last bit
    assert (kept.chain, kept.judges, kept.last_run, kept.priors, kept.as_of) == \
        (built.chain, built.judges, built.last_run, built.priors, built.as_of)


def kept_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(ReportCache.key)).all())


def kept_parts(engine: Engine) -> dict[str, tuple[int, str]]:
    with engine.connect() as conn:
        return {cid: (g, payload) for cid, g, payload in conn.execute(
            select(ReportPart.claim_id, ReportPart.generation, ReportPart.payload))}


def test_a_kept_report_is_the_built_one_and_is_served_again(ketamine: Engine) -> None:
    first = report_cache.summary_report(ketamine)
    assert_same(first, fresh(ketamine))
    assert kept_rows(ketamine) == 1  # the report's head: everything but the claims
    parts = kept_parts(ketamine)
    assert sorted(parts) == sorted(c.id for c in first.claims)
    assert {g for g, _p in parts.values()} == {report_cache.generation(ketamine)}
    assert [report_cache.decode_part(parts[c.id][1]) for c in first.claims] == first.claims
    # Served from the store: a part changed behind its back shows (then it is put back).
    c1 = next(c for c in first.claims if c.id == "C1")
    marked = parts["C1"][1].replace(json.dumps(c1.text), '"kept text"', 1)
    with ketamine.begin() as conn:
        conn.execute(update(ReportPart).where(ReportPart.claim_id == "C1")
                     .values(payload=marked))
    assert next(c for c in report_cache.summary_report(ketamine).claims
                if c.id == "C1").text == "kept text"


def test_the_kept_table_and_csv_are_the_rendered_report(ketamine: Engine) -> None:
    built = fresh(ketamine)
    for fmt in ("table", "csv"):
        for details in (True, False):
            want = render(built, fmt, details=details)
            assert report_cache.rendered_summary(ketamine, fmt, details=details) == want
            assert report_cache.rendered_summary(ketamine, fmt, details=details) == want
    assert kept_rows(ketamine) == 5  # the report and four renderings
    with pytest.raises(ValueError, match="only the table"):
        report_cache.rendered_summary(ketamine, "json")


def test_a_verdict_makes_the_next_report_new(ketamine: Engine) -> None:
    before = report_cache.rendered_summary(ketamine, "table")
    with ketamine.begin() as conn:
        ledger.add_verdict(conn, "C6", "21677641", stance="contradicts", reviewer="A. Reviewer")
    after = report_cache.rendered_summary(ketamine, "table")
    assert after != before
    assert after == render(fresh(ketamine), "table")
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))


def test_an_ingest_and_a_refresh_make_the_next_report_new(ketamine: Engine,
                                                          entrez_fixtures: Path) -> None:
    report_cache.summary_report(ketamine)
    g = report_cache.generation(ketamine)
    ingest_files(ketamine, [entrez_fixtures / "pubmed2.xml"])
    assert report_cache.generation(ketamine) > g
    g = report_cache.generation(ketamine)
    refresh(ketamine, load_claims([default_claims_dir()]),
            OfflineSource.from_files(snapshot_files()))
    assert report_cache.generation(ketamine) > g
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))


def test_a_retraction_typed_by_hand_is_in_the_next_report(ketamine: Engine) -> None:
    assert not any(c.retracted for c in report_cache.summary_report(ketamine).claims)
    with ketamine.begin() as conn:
        conn.execute(update(Paper).where(Paper.pmid == "21677641").values(is_retracted=True))
    kept = report_cache.summary_report(ketamine)
    assert {r.pmid for c in kept.claims for r in c.retracted} == {"21677641"}
    assert_same(kept, fresh(ketamine))


#: Tables no report figure is read from (the design tier MeSH and publication types decide is
#: stored on ``papers``), and the cache's own.
UNWATCHED = {"paper_mesh", "paper_pub_types", "paper_references", "claim_snapshots",
             "ledger_state", "report_cache", "claim_marks", "report_parts", "export_parts"}


def test_every_table_is_watched_or_known_not_to_matter() -> None:
    """A table added to the schema must be put on one list or the other (and the migration's
    triggers must cover this test's list), or a kept report could miss a write to it."""
    migration = load_migration("0004_report_cache.py")
    assert set(migration.WATCHED) == set(WATCHED)
    assert set(Base.metadata.tables) == set(WATCHED) | UNWATCHED


@pytest.mark.parametrize("table", WATCHED)
def test_every_write_to_a_watched_table_bumps_the_generation(ketamine: Engine,
                                                             table: str) -> None:
    with ketamine.connect() as conn:
        columns = list(conn.execute(text(f"SELECT * FROM {table} LIMIT 1")).keys())
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() > 0, table
    column = columns[-1]
    g = report_cache.generation(ketamine)
    with ketamine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET {column} = {column}"))
    assert report_cache.generation(ketamine) > g, table


def test_postgresql_bumps_once_per_transaction(ketamine: Engine) -> None:
    """Migration 0005: one bump per writing transaction, not per statement (an executemany
    is a statement per row, and thousands of updates of one row in one transaction cost the
    square of their number); a rolled-back savepoint takes its bump with it."""
    if ketamine.dialect.name != "postgresql":
        pytest.skip("SQLite bumps per row, in place; only PostgreSQL's trigger remembers")
    g = report_cache.generation(ketamine)
    with ketamine.connect() as writer:
        with writer.begin():
            for _ in range(50):
                writer.execute(text("UPDATE verdicts SET note = note"))
            writer.execute(text("UPDATE links SET claim_id = claim_id"))
            assert report_cache.generation(ketamine) == g  # not committed: not seen
        assert report_cache.generation(ketamine) == g + 1
        with writer.begin():
            savepoint = writer.begin_nested()
            writer.execute(text("UPDATE verdicts SET note = note"))
            savepoint.rollback()
            writer.execute(text("UPDATE papers SET title = title"))
        assert report_cache.generation(ketamine) == g + 2
        with writer.begin():  # the next transaction bumps again
            writer.execute(text("UPDATE verdicts SET note = note"))
    assert report_cache.generation(ketamine) == g + 3


def test_deletes_and_inserts_bump_the_generation(ketamine: Engine) -> None:
    g = report_cache.generation(ketamine)
    with ketamine.begin() as conn:
        conn.execute(text("DELETE FROM verdicts"))
    assert report_cache.generation(ketamine) > g
    g = report_cache.generation(ketamine)
    with ketamine.begin() as conn:
        ledger.add_verdict(conn, "C2", "18202677", stance="supports", reviewer="B. Reviewer")
    assert report_cache.generation(ketamine) > g
    # Writing the cache itself changes nothing the report reads.
    g = report_cache.generation(ketamine)
    report_cache.summary_report(ketamine)
    assert report_cache.generation(ketamine) == g


# ------------------------------------------- claim marks: only what a write touched is built

def marks(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(ClaimMark.claim_id, ClaimMark.generation)).all())


def touched_by(conn: Any, kind: str, key: Any) -> set[str]:
    """The claims a row keyed ``key`` can change, by migration 0006's rule."""
    if kind == "claim":
        return {key}
    column = "id" if kind == "link" else "paper_id"
    return set(conn.execute(text(f"SELECT claim_id FROM links WHERE {column} = :k"),
                            {"k": key}).scalars())


MARKED = load_migration("0006_claim_marks.py").MARKS


def test_every_table_the_report_reads_marks_claims() -> None:
    """All watched tables but the runs (the report reads the newest run's line afresh)."""
    assert set(MARKED) == set(WATCHED) - {"refresh_runs"}


@pytest.mark.parametrize("table", sorted(MARKED))
def test_a_write_marks_exactly_the_claims_it_can_change(ketamine: Engine, table: str) -> None:
    kind, column = MARKED[table]
    with ketamine.connect() as conn:
        keys = list(conn.execute(text(f"SELECT DISTINCT {column} FROM {table}")).scalars())
        # The key touching the most claims (a paper linked to several), so "exactly" bites.
        key = max(keys, key=lambda k: (len(touched_by(conn, kind, k)), str(k)))
        want = touched_by(conn, kind, key)
        write = f"UPDATE {table} SET {column} = {column} WHERE {column} = :k"
        if not want and table == "paper_corrections":  # no linked paper has a notice: one
            key = conn.scalar(text("SELECT paper_id FROM links ORDER BY id LIMIT 1"))
            want = touched_by(conn, kind, key)
            write = ("INSERT INTO paper_corrections (paper_id, position, ref_type) "
                     "VALUES (:k, 99, 'ErratumIn')")
    assert want, table
    before, g = marks(ketamine), report_cache.generation(ketamine)
    with ketamine.begin() as conn:
        conn.execute(text(write), {"k": key})
    after = marks(ketamine)
    assert {c for c in after if after[c] != before.get(c)} == want, table
    # Newer than any snapshot that missed the write (so no part built there is reused); on
    # SQLite one past the generation the trigger read (migration 0006).
    assert all(g < after[c] <= report_cache.generation(ketamine) + 1 for c in want)


def test_deleting_a_link_or_a_paper_marks_its_claims(ketamine: Engine) -> None:
    with ketamine.connect() as conn:
        link, claim, paper = conn.execute(text(
            "SELECT l.id, l.claim_id, l.paper_id FROM links l JOIN papers p ON p.id = l.paper_id "
            "WHERE p.pmid = '21677641'")).first() or (None, None, None)
        by_paper = touched_by(conn, "paper", paper)
    g = report_cache.generation(ketamine)
    with ketamine.begin() as conn:
        conn.execute(text("DELETE FROM links WHERE id = :l"), {"l": link})
    assert marks(ketamine)[claim] > g
    g = report_cache.generation(ketamine)
    with ketamine.begin() as conn:
        conn.execute(text("DELETE FROM link_provenance WHERE link_id IN "
                          "(SELECT id FROM links WHERE paper_id = :p)"), {"p": paper})
        conn.execute(text("DELETE FROM judgements WHERE link_id IN "
                          "(SELECT id FROM links WHERE paper_id = :p)"), {"p": paper})
        conn.execute(text("DELETE FROM verdicts WHERE link_id IN "
                          "(SELECT id FROM links WHERE paper_id = :p)"), {"p": paper})
        conn.execute(text("DELETE FROM links WHERE paper_id = :p"), {"p": paper})
        conn.execute(text("DELETE FROM paper_authors WHERE paper_id = :p"), {"p": paper})
        conn.execute(text("DELETE FROM paper_corrections WHERE paper_id = :p"), {"p": paper})
        conn.execute(text("DELETE FROM papers WHERE id = :p"), {"p": paper})
    now = marks(ketamine)
    assert by_paper - {claim} and all(now[c] > g for c in by_paper - {claim})
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))


def test_a_paper_deleted_alone_marks_the_claims_its_links_went_with(ketamine: Engine) -> None:
    """The links go by ON DELETE CASCADE, which fires their triggers (row or statement)."""
    with ketamine.connect() as conn:
        paper = conn.scalar(select(Paper.id).where(Paper.pmid == "21677641"))
        linked = touched_by(conn, "paper", paper)
    assert len(linked) > 1
    report_cache.summary_report(ketamine)
    g = report_cache.generation(ketamine)
    with ketamine.begin() as conn:
        conn.execute(text("DELETE FROM papers WHERE id = :p"), {"p": paper})
    assert {c for c, m in marks(ketamine).items() if m > g} == linked
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))


def test_truncating_a_table_marks_every_claim(ketamine: Engine) -> None:
    if ketamine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE (a DELETE with triggers fires them per row)")
    report_cache.summary_report(ketamine)
    g = report_cache.generation(ketamine)
    with ketamine.begin() as conn:
        conn.execute(text("TRUNCATE verdicts"))
    assert set(marks(ketamine).values()) == {g + 1}
    assert set(marks(ketamine)) >= {c.id for c in fresh(ketamine).claims}
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The claims whose report is built (not reused), in order, by every report from now."""
    import evtrack.report as report_module

    built: list[str] = []
    real = report_module._claim_report

    def counting(c: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(c.id)
        return real(c, *args, **kwargs)

    monkeypatch.setattr(report_module, "_claim_report", counting)
    return built


def test_a_refresh_leaves_the_report_kept_for_the_next_one(ketamine: Engine,
                                                          builds: list[str]) -> None:
    # Its snapshot of every claim is read from the summary report, which it keeps: the
    # refresh's own bookkeeping after that (the run marked ok, the snapshot stored) touches
    # no claim, so the next report builds none.
    refresh(ketamine, load_claims([default_claims_dir()]),
            OfflineSource.from_files(snapshot_files()))
    assert builds and kept_rows(ketamine) == 1
    builds.clear()
    kept = report_cache.summary_report(ketamine)
    assert builds == []
    assert_same(kept, fresh(ketamine))


def test_a_write_to_one_claim_builds_only_that_claim_again(ketamine: Engine,
                                                           builds: list[str]) -> None:
    everything = report_cache.summary_report(ketamine)
    assert sorted(builds) == sorted(c.id for c in everything.claims)
    builds.clear()
    with ketamine.begin() as conn:  # a judge changes its mind on one of C6's links
        lid = ledger.link_id_for(conn, "C6", "21677641")
        conn.execute(text("UPDATE judgements SET stance = 'contradicts', rationale = 'r' "
                          "WHERE link_id = :l"), {"l": lid})
    kept = report_cache.summary_report(ketamine)
    assert builds == ["C6"]
    assert_same(kept, fresh(ketamine))
    builds.clear()
    assert_same(report_cache.summary_report(ketamine), kept)  # assembled now: served whole
    assert builds == []
    # A paper linked to several claims: those claims.
    with ketamine.connect() as conn:
        paper = conn.scalar(select(Paper.id).where(Paper.pmid == "21677641"))
        linked = touched_by(conn, "paper", paper)
    with ketamine.begin() as conn:
        conn.execute(update(Paper).where(Paper.id == paper).values(design_tier="rct"))
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))
    assert sorted(builds[:len(linked)]) == sorted(linked) and len(linked) > 1
    builds.clear()
    # A verdict whose link no automatic judge judged moves no judge's error: its claim only.
    with ketamine.begin() as conn:
        ledger.add_verdict(conn, "C2", "18202677", stance="supports", reviewer="R")
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))
    assert builds[:1] == ["C2"] and len(builds) == 1 + len(everything.claims)
    builds.clear()
    # A verdict re-learns the judges' error, which every claim's score may take: all of them.
    with ketamine.begin() as conn:
        ledger.add_verdict(conn, "C6", "21677641", stance="supports", reviewer="R")
    again = report_cache.summary_report(ketamine)
    assert again.judges != everything.judges
    assert sorted(builds) == sorted(c.id for c in everything.claims)
    assert_same(again, fresh(ketamine))


def test_a_damaged_part_is_built_again(ketamine: Engine, builds: list[str]) -> None:
    report_cache.summary_report(ketamine)
    with ketamine.begin() as conn:
        conn.execute(update(ReportPart).where(ReportPart.claim_id == "C2")
                     .values(payload='{"@Popen": []}'))
        c3 = conn.scalar(select(ReportPart.payload).where(ReportPart.claim_id == "C3"))
        head, links = c3.split("\n")
        conn.execute(update(ReportPart).where(ReportPart.claim_id == "C3")  # its links line
                     .values(payload=head + "\n" + links.replace('"', "'", 1)))
        conn.execute(text("UPDATE claims SET text = text WHERE id = 'C4'"))
    builds.clear()
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))
    assert sorted(builds[:3]) == ["C2", "C3", "C4"]
    with ketamine.connect() as conn:
        assert "@Popen" not in conn.execute(select(ReportPart.payload)
                                            .where(ReportPart.claim_id == "C2")).scalar_one()


def test_a_kept_parts_links_are_read_only_when_used(ketamine: Engine) -> None:
    with ketamine.begin() as conn:  # a retracted paper, whose link the table names
        conn.execute(text("UPDATE papers SET is_retracted = :t WHERE id = (SELECT paper_id "
                          "FROM links WHERE claim_id = 'C2' ORDER BY id LIMIT 1)"), {"t": True})
    report_cache.summary_report(ketamine)
    with ketamine.begin() as conn:
        conn.execute(text("UPDATE claims SET text = text WHERE id = 'C4'"))
    kept = report_cache.summary_report(ketamine)
    built = fresh(ketamine)
    unread = [c for c in kept.claims if "links" not in vars(c)]
    assert sorted({c.id for c in kept.claims} - {c.id for c in unread}) == ["C4"]
    assert any(c.retracted for c in unread) and any(c.cited for c in unread)
    for fmt in ("table", "csv"):
        for details in (True, False):
            assert render(kept, fmt, details=details) == render(built, fmt, details=details)
    assert all("links" not in vars(c) for c in unread)  # rendering read none
    for c in unread:
        assert c.shown() == [r for r in next(b for b in built.claims if b.id == c.id).links
                             if r.retracted or r.pmid in {x.pmid for x in c.cited}]
    assert kept.claims == built.claims  # read now, all of them
    assert all("links" in vars(c) for c in kept.claims)
    with pytest.raises(AttributeError):
        kept.claims[0].no_such_field  # noqa: B018


#: Writes a researcher, a refresh or a hand in ``sqlite3``/``psql`` could make, by name.
WRITES = {
    "verdict": "INSERT INTO verdicts (link_id, stance, reviewer, created_at) "
               "SELECT id, :stance, 'R', CURRENT_TIMESTAMP FROM links WHERE id = :link",
    "unverdict": "DELETE FROM verdicts WHERE link_id = :link",
    "judge": "UPDATE judgements SET stance = :stance WHERE link_id = :link",
    "unjudge": "DELETE FROM judgements WHERE link_id = :link",
    "retract": "UPDATE papers SET is_retracted = NOT is_retracted WHERE id = "
               "(SELECT paper_id FROM links WHERE id = :link)",
    "tier": "UPDATE papers SET design_tier = :tier WHERE id = "
            "(SELECT paper_id FROM links WHERE id = :link)",
    "author": "UPDATE paper_authors SET last_name = :name WHERE position = 0 AND paper_id = "
              "(SELECT paper_id FROM links WHERE id = :link)",
    "curated design": "UPDATE curated_refs SET design = :tier WHERE claim_id = "
                      "(SELECT claim_id FROM links WHERE id = :link)",
    "claim text": "UPDATE claims SET text = :name WHERE id = "
                  "(SELECT claim_id FROM links WHERE id = :link)",
    "unlink": "DELETE FROM links WHERE id = :link",
}
write_steps = st.lists(st.tuples(
    st.sampled_from(sorted(WRITES)), st.integers(0, 10_000),
    st.sampled_from(["supports", "contradicts", "mixed", "mentions", "irrelevant"]),
    st.sampled_from(["rct", "meta-analysis", "animal", "other"]),
    st.sampled_from(["Kavalali", "Monteggia", "Autry"]), st.booleans()),
    min_size=1, max_size=4)


def apply_write(engine: Engine, write: str, pick: int, stance: str, tier: str,
                name: str) -> None:
    """One of :data:`WRITES` on the ``pick``-th link (wrapping), in its own transaction."""
    with engine.begin() as conn:
        links = conn.execute(text("SELECT id FROM links ORDER BY id")).scalars().all()
        if links:
            conn.execute(text(WRITES[write]), {"link": links[pick % len(links)],
                                               "stance": stance, "tier": tier, "name": name})


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=write_steps)
def test_kept_parts_agree_with_a_fresh_report_whatever_is_written(
        ketamine: Engine, steps: list[tuple[str, int, str, str, str, bool]]) -> None:
    """Writes of every kind, each followed by a report or not: the report served is always
    the one built from nothing. (The store carries over from example to example, so the
    histories only grow.)"""
    for write, pick, stance, tier, name, report_now in steps:
        apply_write(ketamine, write, pick, stance, tier, name)
        if report_now:
            assert_same(report_cache.summary_report(ketamine), fresh(ketamine))
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))


def test_other_priors_are_kept_apart(ketamine: Engine) -> None:
    priors = default_priors()
    other = dataclasses.replace(priors, group_decay=priors.group_decay / 2)
    assert report_cache.cache_key(priors) != report_cache.cache_key(other)
    mine = report_cache.summary_report(ketamine, other)
    assert_same(mine, build_report(ketamine, priors=other, full=False))
    assert report_cache.summary_report(ketamine).claims == fresh(ketamine).claims
    assert kept_rows(ketamine) == 2


@pytest.mark.parametrize("payload", [
    "not json", "[]", '{"@Report": [1]}', '{"@Popen": [["rm", "-rf", "/"]]}',
    '{"@t": [1], "@d": []}', '{"@LinkRow": ' + json.dumps(list(range(40))) + "}",
    '{"@rows": 5}', '{"@rows": []}', '{"@rows": ["@Popen", []]}', '{"@rows": [[1], [2]]}',
    '{"@rows": ["@LinkRow", [1]]}',
])
def test_a_payload_that_does_not_decode_is_rebuilt(ketamine: Engine, payload: str) -> None:
    report_cache.summary_report(ketamine)
    with ketamine.begin() as conn:
        conn.execute(update(ReportCache).values(payload=payload))
    if payload != "[]":  # "[]" decodes, to a list: not a report, so not served either
        with pytest.raises(report_cache.PayloadError):
            report_cache.decode(payload)
    assert_same(report_cache.summary_report(ketamine), fresh(ketamine))
    with ketamine.connect() as conn:
        assert conn.execute(select(ReportCache.payload)).scalar_one() != payload


def test_collections_are_back_on_after_building_or_a_bad_payload(ketamine: Engine) -> None:
    assert gc.isenabled()
    report_cache.summary_report(ketamine)  # built and kept with collections off
    assert gc.isenabled()
    with pytest.raises(report_cache.PayloadError):
        report_cache.decode('{"@Popen": []}')
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # the report's objects: no collection walks them

    class Cycle:
        pass

    with report_cache.no_collections(freeze=True):  # a cycle made in a report is frozen…
        cycle = Cycle()
        cycle.me = cycle  # type: ignore[attr-defined]
        gone = weakref.ref(cycle)
        del cycle
    gc.collect()
    assert gone() is not None
    with report_cache.no_collections(freeze=True):  # …and freed when the next one begins
        assert gone() is None
    fresh = [[] for _ in range(1000)]  # tracked by the collector, made after the freeze
    frozen = gc.get_freeze_count()  # (frozen objects freed by reference counting leave it)
    report_cache.decode("[]")  # decoding alone freezes nothing
    assert gc.get_freeze_count() < frozen + len(fresh)
    gc.disable()  # whoever turned them off keeps them off
    try:
        report_cache.decode("[]")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_store_that_refuses_the_write_still_reports(ketamine: Engine,
                                                      databases: DatabaseFactory) -> None:
    if ketamine.dialect.name != "sqlite":
        pytest.skip("a read-only SQLite file stands for a store that refuses writes")
    path = ketamine.url.database
    readonly = open_store(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        assert_same(report_cache.summary_report(readonly), fresh(ketamine))
        assert kept_rows(ketamine) == 0
    finally:
        readonly.dispose()


def test_a_report_does_not_wait_for_a_writer(ketamine: Engine) -> None:
    """A writer holding SQLite's lock (a refresh's batch) costs the report its keeping, not a
    wait of the store's 30 s busy timeout; the next report keeps it."""
    if ketamine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL writers do not lock the cache table")
    import sqlite3

    holder = sqlite3.connect(str(ketamine.url.database), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as a refresh's open batch holds it
        assert_same(report_cache.summary_report(ketamine), fresh(ketamine))
        assert kept_rows(ketamine) == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    report_cache.summary_report(ketamine)
    assert kept_rows(ketamine) == 1
    with ketamine.connect() as conn:  # the pooled connection waits as long as before again
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == \
            report_cache.BUSY_TIMEOUT_MS


@pytest.fixture
def refreshed(cli_db: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner in ``tmp_path`` whose store the bundled claims were refreshed into offline."""
    monkeypatch.chdir(tmp_path)
    for var in ("NCBI_EMAIL", "NCBI_API_KEY", "EVTRACK_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["refresh"]).exit_code == 0
    return runner


def test_the_cli_report_is_kept_until_the_ledger_changes(
        refreshed: CliRunner, cli_db: str | None, tmp_path: Path) -> None:
    runner = refreshed
    first = runner.invoke(cli, ["report"])
    again = runner.invoke(cli, ["report"])
    assert first.exit_code == again.exit_code == 0
    assert first.output == again.output and "C6" in first.output
    verdict = runner.invoke(cli, ["verdict", "C6", "21677641", "--stance", "contradicts",
                                  "--reviewer", "A. Reviewer"])
    assert verdict.exit_code == 0, verdict.output
    after = runner.invoke(cli, ["report", "--format", "csv"])
    engine = open_store(cli_db or f"sqlite:///{tmp_path / 'db' / 'evtrack.sqlite'}")
    try:
        assert after.output == render(fresh(engine), "csv").replace("\r\n", "\n")
    finally:
        engine.dispose()



# ------------------------------------------- links.csv of a kept report: one state of the ledger

def test_a_report_carries_the_generation_of_the_ledger_it_read(ketamine: Engine) -> None:
    built = build_report(ketamine, full=False)
    assert built.generation == report_cache.generation(ketamine)
    with ketamine.begin() as conn:
        ledger.add_verdict(conn, "C6", "21677641", stance="contradicts", reviewer="R")
    assert built.generation is not None
    assert build_report(ketamine).generation == built.generation + 1
    # Kept and decoded, it is still the generation it was built at.
    kept = report_cache.summary_report(ketamine)
    assert kept.generation == report_cache.generation(ketamine)
    assert report_cache.summary_report(ketamine).generation == kept.generation


def test_links_csv_is_not_streamed_over_a_ledger_that_changed(ketamine: Engine,
                                                                tmp_path: Path) -> None:
    from evtrack.errors import StaleReportError
    from evtrack.export import export_csv

    summary = report_cache.summary_report(ketamine)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("claims.csv", "links.csv"):
        (out / name).write_text("the previous export\n", encoding="utf-8")
    with ketamine.begin() as conn:
        ledger.add_verdict(conn, "C6", "21677641", stance="contradicts", reviewer="R")
    with pytest.raises(StaleReportError, match="build the report again"):
        export_csv(summary, out, engine=ketamine)
    # Nothing of the stale report was written, and nothing half-written is left.
    assert sorted(p.name for p in out.iterdir()) == ["claims.csv", "links.csv"]
    for name in ("claims.csv", "links.csv"):
        assert (out / name).read_text(encoding="utf-8") == "the previous export\n"


def test_export_tables_builds_the_report_again_when_the_ledger_moves_under_it(
        ketamine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evtrack import export
    from evtrack.errors import StaleReportError

    real = report_cache.summary_report
    built: list[int | None] = []
    stances = iter(["contradicts", "supports", "mixed", "mentions"])

    def then_a_write(engine: Engine, priors: Any = None, *, writes: int) -> Report:
        report = real(engine, priors)
        built.append(report.generation)
        if len(built) <= writes:  # a verdict lands between the report and its links
            with engine.begin() as conn:
                ledger.add_verdict(conn, "C6", "21677641", stance=next(stances),
                                   reviewer="R")
        return report

    monkeypatch.setattr(report_cache, "summary_report",
                        lambda e, p=None: then_a_write(e, p, writes=1))
    written = export.export_tables(ketamine, tmp_path / "fast")
    assert len(built) == 2 and built[1] == report_cache.generation(ketamine)
    full = build_report(ketamine)  # the ledger with the verdict, every link loaded
    export.export_csv(full, tmp_path / "full")
    for name in ("claims.csv", "links.csv"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "full" / name).read_bytes()
    assert [n for _p, n in written] == [len(full.claims), sum(len(c.links) for c in full.claims)]

    built.clear()
    report_cache.forget(ketamine)  # else the export just kept is written as it is
    monkeypatch.setattr(report_cache, "summary_report",
                        lambda e, p=None: then_a_write(e, p, writes=export.ATTEMPTS))
    with pytest.raises(StaleReportError):
        export.export_tables(ketamine, tmp_path / "never")
    assert len(built) == export.ATTEMPTS
    assert not (tmp_path / "never" / "links.csv").exists()


def test_export_csv_only_writes_the_full_exports_two_tables(refreshed: CliRunner,
                                                           tmp_path: Path) -> None:
    runner = refreshed
    verdict = runner.invoke(cli, ["verdict", "C6", "21677641", "--stance", "contradicts",
                                  "--reviewer", "A. Reviewer"])
    assert verdict.exit_code == 0, verdict.output
    full = runner.invoke(cli, ["export", "--out", "full"])
    fast = runner.invoke(cli, ["export", "--csv-only", "--out", "fast"])
    assert full.exit_code == fast.exit_code == 0, fast.output
    assert sorted(p.name for p in (tmp_path / "fast").iterdir()) == ["claims.csv", "links.csv"]
    for name in ("claims.csv", "links.csv"):
        assert (tmp_path / "fast" / name).read_bytes() == (tmp_path / "full" / name).read_bytes()
        assert f"fast/{name}" in fast.output or f"fast\\{name}" in fast.output

# ------------------------------------------------------------------ links.csv, claim by claim


def export_files(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in ("claims.csv", "links.csv")}


def full_export(engine: Engine, out: Path) -> tuple[dict[str, bytes], list[int]]:
    """claims.csv and links.csv as the full report writes them (every link loaded), and
    their rows."""
    from evtrack.export import export_csv

    written = export_csv(build_report(engine), out)
    return export_files(out), [n for _p, n in written]


def exported(engine: Engine, out: Path) -> tuple[dict[str, bytes], list[int]]:
    """What ``evtrack export --csv-only`` writes, and the rows it says it wrote."""
    from evtrack.export import export_tables

    written = export_tables(engine, out)
    assert sorted(p.name for p in out.iterdir()) == ["claims.csv", "links.csv"]
    return export_files(out), [n for _p, n in written]


def export_parts(engine: Engine) -> dict[str, int]:
    """Each claim's kept links.csv part: the generation it was made at."""
    from evtrack.store.models import ExportPart

    with engine.connect() as conn:
        return dict(conn.execute(select(ExportPart.claim_id, ExportPart.generation)).all())


def test_an_unchanged_ledger_is_exported_as_kept_without_a_report(
        ketamine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from evtrack import export

    expected = full_export(ketamine, tmp_path / "full")
    assert exported(ketamine, tmp_path / "first") == expected
    assert sorted(export_parts(ketamine)) == sorted(c.id for c in fresh(ketamine).claims)

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a report was built or assembled")

    decode = report_cache.decode
    decoded: list[str] = []

    def counted(payload: str) -> Any:
        decoded.append(payload)
        return decode(payload)

    monkeypatch.setattr(report_cache, "summary_report", refuse)
    monkeypatch.setattr(export, "export_csv", refuse)
    monkeypatch.setattr(report_cache, "decode", counted)
    assert exported(ketamine, tmp_path / "again") == expected
    with ketamine.connect() as conn:  # only the report's head (no claim in it) was decoded
        assert decoded == [conn.scalar(select(ReportCache.payload).where(
            ReportCache.key == report_cache.cache_key(default_priors())))]


def test_an_export_after_a_write_makes_only_that_claims_rows_again(
        ketamine: Engine, tmp_path: Path) -> None:
    exported(ketamine, tmp_path / "first")
    before = export_parts(ketamine)
    with ketamine.begin() as conn:  # a judge changes its mind on one of C6's links
        lid = ledger.link_id_for(conn, "C6", "21677641")
        conn.execute(text("UPDATE judgements SET stance = 'contradicts', rationale = 'r' "
                          "WHERE link_id = :l"), {"l": lid})
    assert exported(ketamine, tmp_path / "second") == full_export(ketamine, tmp_path / "f2")
    after = export_parts(ketamine)
    assert [c for c in after if after[c] != before[c]] == ["C6"]
    # A verdict re-learns the judges' error, which every claim's weights may take: all made.
    with ketamine.begin() as conn:
        ledger.add_verdict(conn, "C6", "21677641", stance="supports", reviewer="R")
    assert exported(ketamine, tmp_path / "third") == full_export(ketamine, tmp_path / "f3")
    last = export_parts(ketamine)
    assert sorted(last) == sorted(after) and all(last[c] > after[c] for c in last)
    report_cache.forget(ketamine)
    assert export_parts(ketamine) == {}


def test_only_the_latest_exports_parts_are_kept(ketamine: Engine, tmp_path: Path) -> None:
    """An export under other priors has other weights: its own parts, which replace the
    others (so the store holds one export's parts, not one per priors or format)."""
    from evtrack.export import export_csv, export_tables
    from evtrack.store.models import ExportPart

    def keys() -> set[str]:
        with ketamine.connect() as conn:
            return set(conn.execute(select(ExportPart.key)).scalars())

    priors = default_priors()
    other = dataclasses.replace(priors, group_decay=priors.group_decay / 2)
    exported(ketamine, tmp_path / "mine")
    assert keys() == {report_cache.cache_key(priors, "links.csv")}
    export_tables(ketamine, tmp_path / "other", priors=other)
    export_csv(build_report(ketamine, priors=other), tmp_path / "other-full")
    assert export_files(tmp_path / "other") == export_files(tmp_path / "other-full")
    assert export_files(tmp_path / "other") != export_files(tmp_path / "mine")
    assert keys() == {report_cache.cache_key(other, "links.csv")}
    assert exported(ketamine, tmp_path / "again") == full_export(ketamine, tmp_path / "full")


def test_only_a_report_without_as_of_is_kept_claim_by_claim(ketamine: Engine,
                                                            tmp_path: Path) -> None:
    """Kept parts know nothing of a date cut (summary_report never makes one)."""
    from evtrack.export import export_csv

    then = build_report(ketamine, full=False, as_of=date(2012, 1, 1))
    with pytest.raises(ValueError, match="no as_of"):
        export_csv(then, tmp_path / "then", engine=ketamine, keep_parts=default_priors())
    assert export_parts(ketamine) == {} and not (tmp_path / "then" / "links.csv").exists()


def test_a_damaged_export_part_is_made_again(ketamine: Engine, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import zlib

    from evtrack.store.models import ExportPart

    expected = full_export(ketamine, tmp_path / "full")
    exported(ketamine, tmp_path / "first")
    with ketamine.begin() as conn:
        conn.execute(update(ExportPart).where(ExportPart.claim_id == "C2")
                     .values(data=b"not zlib at all"))
    with caplog.at_level(logging.WARNING, logger="evtrack.links_stream"):
        assert exported(ketamine, tmp_path / "second") == expected
    assert "claim C2 do not decompress" in caplog.text
    with ketamine.connect() as conn:
        data = conn.scalar(select(ExportPart.data).where(ExportPart.claim_id == "C2"))
    assert zlib.decompress(data) in expected[0]["links.csv"]


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=write_steps)
def test_the_export_is_the_full_reports_whatever_is_written(
        ketamine: Engine, tmp_path_factory: pytest.TempPathFactory,
        steps: list[tuple[str, int, str, str, str, bool]]) -> None:
    """Writes of every kind, each followed by an export or not: claims.csv and links.csv are
    always the full report's, byte for byte."""
    for write, pick, stance, tier, name, export_now in steps:
        apply_write(ketamine, write, pick, stance, tier, name)
        if export_now:
            out = tmp_path_factory.mktemp("export")
            assert exported(ketamine, out / "kept") == full_export(ketamine, out / "full")
    out = tmp_path_factory.mktemp("export")
    assert exported(ketamine, out / "kept") == full_export(ketamine, out / "full")


# ------------------------------------------------------------------ the codec, as a property

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | \
    st.floats(allow_nan=False)
values: st.SearchStrategy[Any] = st.recursive(
    scalars | st.dates() | st.datetimes(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=20)
links = st.builds(
    LinkRow, claim_id=st.text(max_size=4), pmid=st.text(max_size=8), title=st.text(max_size=20),
    year=st.none() | st.integers(1900, 2100), journal=st.none() | st.text(max_size=8),
    doi=st.none(), tier=st.text(max_size=6), tier_source=st.text(max_size=6),
    stance=st.sampled_from(["supports", "contradicts", "mentions"]), decider=st.just("judge"),
    decided_by=st.text(max_size=6), rationale=st.none() | st.text(max_size=20),
    confidence=st.none() | st.floats(0, 1), retracted=st.booleans(),
    found_by=st.lists(st.text(max_size=6), max_size=3).map(tuple),
    authors=st.lists(st.text(max_size=6), max_size=3).map(tuple),
    group=st.none() | st.text(max_size=4))


@given(values)
def test_any_value_comes_back_equal(value: Any) -> None:
    back = report_cache.decode(json.dumps(report_cache.encode(value)))
    assert back == value
    assert type(back) is type(value)


@given(st.lists(links, max_size=5))
def test_links_come_back_equal_with_their_tuples(rows: list[LinkRow]) -> None:
    back = report_cache.decode(json.dumps(report_cache.encode(rows)))
    assert back == rows
    assert all(type(r.authors) is tuple and type(r.found_by) is tuple for r in back)


def test_only_report_types_are_cached() -> None:
    @dataclasses.dataclass
    class Other:
        x: int

    with pytest.raises(TypeError, match="cannot cache"):
        report_cache.encode(Other(1))
    with pytest.raises(TypeError, match="cannot cache"):
        report_cache.encode({1, 2})
    assert report_cache.decode(json.dumps(report_cache.encode(
        {"when": (date(2014, 10, 4), datetime(2026, 1, 1, 12))}))) == \
        {"when": (date(2014, 10, 4), datetime(2026, 1, 1, 12))}

"""The refresh diff: snapshots taken by each refresh, and what changed since a run or a date."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from conftest import load_migration, migrate
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, func, insert, select, update

from evtrack import report_cache
from evtrack.changes import (
    Changes,
    LinkState,
    changes_text,
    diff_since,
    links_json,
    read_links,
    take_snapshot,
)
from evtrack.claims import ClaimSet, load_claims
from evtrack.errors import NotFoundError
from evtrack.offline import OfflineSource
from evtrack.refresh import refresh
from evtrack.report import build_report
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.store.db import open_store
from evtrack.store.ledger import add_verdict
from evtrack.store.models import (
    ClaimSnapshot,
    Judgement,
    Link,
    LinkProvenance,
    Paper,
    PaperCorrection,
    RefreshRun,
)
from evtrack.store.papers import load_records

if TYPE_CHECKING:
    from conftest import DatabaseFactory

AUTRY = "21677641"  # Autry 2011: linked to C1, C2, C5, C6, C7, C8


@pytest.fixture(scope="module")
def claim_set() -> ClaimSet:
    return load_claims([default_claims_dir()])


def run_refresh(engine: Engine, claim_set: ClaimSet) -> int:
    with engine.connect() as conn:
        stored = list(load_records(conn))
    return refresh(engine, claim_set, OfflineSource.from_files(snapshot_files(),
                                                               extra=stored)).run_id


@pytest.fixture
def engine(databases: DatabaseFactory, claim_set: ClaimSet) -> Iterator[Engine]:
    """A store after one offline refresh (run 1)."""
    url = databases.create()
    engine = open_store(url)
    run_refresh(engine, claim_set)
    yield engine
    engine.dispose()
    databases.drop(url)


def kinds(changes: Changes, claim: str | None = None) -> list[tuple[str, str, str | None]]:
    return [(x.kind, x.claim_id, x.pmid) for x in changes.items if claim in (None, x.claim_id)]


def test_every_refresh_snapshots_every_claim(engine: Engine, claim_set: ClaimSet) -> None:
    run_refresh(engine, claim_set)
    with engine.connect() as conn:
        per_run = dict(conn.execute(select(ClaimSnapshot.run_id, func.count())
                                    .group_by(ClaimSnapshot.run_id)).all())
    assert per_run == {1: 9, 2: 9}


def test_after_the_first_refresh_everything_is_new(engine: Engine) -> None:
    ch = diff_since(engine)
    assert ch.since.label == "before the first refresh" and ch.since.run_id is None
    with engine.connect() as conn:
        n_links = conn.scalar(select(func.count()).select_from(Link))
    assert sum(1 for x in ch.items if x.kind == "new-paper") == n_links
    assert [x.claim_id for x in ch.items if x.kind == "claim"] == [f"C{i}" for i in range(1, 10)]
    assert sum(ch.new_papers("C6")["supports"].values()) >= 1


def test_a_refresh_that_changes_nothing_shows_nothing(engine: Engine,
                                                      claim_set: ClaimSet) -> None:
    run_refresh(engine, claim_set)
    ch = diff_since(engine)
    assert ch.since.run_id == 1 and ch.items == ()
    assert "Nothing changed." in changes_text(ch)


def test_a_snapshot_an_earlier_evtrack_took_is_still_a_baseline(engine: Engine,
                                                                 claim_set: ClaimSet) -> None:
    # Run 1's rows as an evtrack before migration 0008 kept them: every link's state in full.
    rows = snapshot_texts(engine)
    first = {row_id: json.dumps({p: list(s) for p, s in read_links(text).items()})
             for row_id, text in rows.items()}
    with engine.begin() as conn:
        for row_id, text in first.items():
            conn.execute(update(ClaimSnapshot).where(ClaimSnapshot.id == row_id)
                         .values(links_json=text))
    migrate(engine, "0007", down=True)  # takes them as they are
    assert snapshot_texts(engine) == first
    migrate(engine, "head")  # what opening the store with this evtrack does
    assert snapshot_texts(engine) == rows
    migrate(engine, "0007", down=True)
    assert snapshot_texts(engine) == first
    migrate(engine, "head")
    run_refresh(engine, claim_set)
    with engine.begin() as conn:
        add_verdict(conn, "C6", AUTRY, stance="contradicts", reviewer="A. Reviewer")
    ch = diff_since(engine)
    assert ch.since.run_id == 1
    assert kinds(ch, "C6") == [("score", "C6", None), ("certainty", "C6", None),
                               ("stance", "C6", AUTRY), ("verdict", "C6", AUTRY)]
    assert ch.unchanged == ["C1", "C2", "C3", "C4", "C5", "C7", "C8", "C9"]


def snapshot_texts(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(ClaimSnapshot.id, ClaimSnapshot.links_json)).all())


def test_a_verdict_shows_as_verdict_stance_and_score_changes(engine: Engine,
                                                             claim_set: ClaimSet) -> None:
    run_refresh(engine, claim_set)
    with engine.begin() as conn:
        add_verdict(conn, "C6", AUTRY, stance="contradicts", reviewer="A. Reviewer",
                    note="knockout was partial")
    ch = diff_since(engine)
    assert kinds(ch, "C6") == [("score", "C6", None), ("certainty", "C6", None),
                               ("stance", "C6", AUTRY), ("verdict", "C6", AUTRY)]
    stance = next(x for x in ch.items if x.kind == "stance")
    assert (stance.before, stance.after) == ("supports", "contradicts")
    score = next(x for x in ch.items if x.kind == "score")
    assert float(score.after or 0) < float(score.before or 0)
    assert ch.unchanged == ["C1", "C2", "C3", "C4", "C5", "C7", "C8", "C9"]
    text = changes_text(ch)
    assert "verdict on PMID 21677641: contradicts by A. Reviewer" in text
    # Since the newest run itself, only the verdict and what it moved remain.
    assert ("verdict", "C6", AUTRY) in kinds(diff_since(engine, 2))


def test_a_new_link_is_a_new_paper_with_its_stance_and_tier(engine: Engine,
                                                            claim_set: ClaimSet) -> None:
    # Run 1's snapshot as if Autry 2011 had not been linked to C6 yet.
    with engine.begin() as conn:
        link_id = conn.scalar(select(Link.id).join(Paper).where(Link.claim_id == "C6",
                                                                Paper.pmid == AUTRY))
        for table in (LinkProvenance, Judgement):
            conn.execute(delete(table).where(table.link_id == link_id))
        conn.execute(delete(Link).where(Link.id == link_id))
    take_snapshot(engine, 1)
    run_refresh(engine, claim_set)  # links it again
    ch = diff_since(engine)
    new = [x for x in ch.items if x.kind == "new-paper"]
    assert [(x.claim_id, x.pmid, x.stance, x.tier) for x in new] == \
        [("C6", AUTRY, "supports", "animal-in-vivo")]
    assert ch.new_papers("C6") == {"supports": {"animal-in-vivo": 1}}
    assert "1 new paper: supports 1 (animal-in-vivo 1)" in changes_text(ch)


def test_retractions_and_notices_are_reported_per_claim(engine: Engine) -> None:
    with engine.begin() as conn:
        pid = conn.scalar(select(Paper.id).where(Paper.pmid == AUTRY))
        conn.execute(update(Paper).where(Paper.id == pid).values(is_retracted=True))
        conn.execute(insert(PaperCorrection), [
            {"paper_id": pid, "position": 90, "ref_type": "RetractionIn", "ref_source": "x"},
            {"paper_id": pid, "position": 91, "ref_type": "ErratumIn", "ref_source": "y"}])
    take_snapshot(engine, 1)  # run 1 saw it retracted: nothing new since run 1
    assert [x for x in diff_since(engine, 1).items if x.pmid == AUTRY] == []
    with engine.begin() as conn:
        conn.execute(update(Paper).where(Paper.id == pid).values(is_retracted=False))
        conn.execute(delete(PaperCorrection).where(PaperCorrection.paper_id == pid,
                                                   PaperCorrection.position >= 90))
    take_snapshot(engine, 1)  # now run 1 saw it clean, and the store has it retracted again
    with engine.begin() as conn:
        conn.execute(update(Paper).where(Paper.id == pid).values(is_retracted=True))
        conn.execute(insert(PaperCorrection), [
            {"paper_id": pid, "position": 90, "ref_type": "RetractionIn", "ref_source": "x"},
            {"paper_id": pid, "position": 91, "ref_type": "ErratumIn", "ref_source": "y"}])
    ch = diff_since(engine, 1)
    retracted = sorted(x.claim_id for x in ch.items if x.kind == "retraction")
    assert retracted == ["C1", "C2", "C5", "C6", "C7", "C8"]
    assert {x.after for x in ch.items if x.kind == "notice"} == {"ErratumIn"}
    assert ("score", "C6", None) in kinds(ch)


def test_since_a_date_or_an_unknown_run(engine: Engine) -> None:
    today = date.today()
    assert diff_since(engine, today + timedelta(days=2)).since.run_id == 1
    past = diff_since(engine, date(2000, 1, 1))
    assert past.since.run_id is None and "everything counts as new" in past.since.label
    with pytest.raises(NotFoundError, match="no run 99"):
        diff_since(engine, 99)


def test_no_run_is_ok_without_its_snapshot(engine: Engine, claim_set: ClaimSet,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Run 1 (the fixture) ended ok with a snapshot of every claim.
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ClaimSnapshot)
                           .where(ClaimSnapshot.run_id == 1)) == len(claim_set.claims)
    # The snapshot is the last step of a run: when it cannot be taken (here it raises, as a
    # kill at that moment would stop it), the run is not marked ok, so `evtrack diff` never
    # meets an ok run without figures to compare against.
    def broken(engine: Engine, run_id: int) -> list[dict[str, object]]:
        raise RuntimeError("stopped while taking the snapshot")

    monkeypatch.setattr("evtrack.changes.snapshot_rows", broken)
    with pytest.raises(RuntimeError, match="snapshot"):
        run_refresh(engine, claim_set)
    with engine.connect() as conn:
        runs = conn.execute(select(RefreshRun.id, RefreshRun.status)
                            .where(RefreshRun.kind == "refresh").order_by(RefreshRun.id)).all()
        assert [tuple(r) for r in runs] == [(1, "ok"), (2, "failed")]
        assert conn.scalar(select(func.count()).select_from(ClaimSnapshot)
                           .where(ClaimSnapshot.run_id == 2)) == 0


def test_the_diff_read_from_the_summary_is_the_full_reports(engine: Engine) -> None:
    # The diff reads the links no score depends on from the store, not from a full report;
    # their titles too. Since before the first refresh every link is new: every title counts.
    ch = diff_since(engine)
    full = diff_since(engine, report=build_report(engine))
    assert ch.items == full.items and ch.unchanged == full.unchanged
    named = {(c.id, r.pmid) for c in report_cache.summary_report(engine).claims for r in c.links}
    unnamed = [x for x in ch.items if x.pmid and (x.claim_id, x.pmid) not in named]
    assert unnamed and all(x.title for x in unnamed)
    some = diff_since(engine, claim_ids=["C6", "C2"])
    assert some.items == tuple(x for x in full.items if x.claim_id in {"C2", "C6"})
    with pytest.raises(NotFoundError, match="no claim C99 in the store"):
        diff_since(engine, claim_ids=["C6", "C99"])


_words = st.text(max_size=6)
_states = st.builds(LinkState, _words, _words, _words, st.booleans(),
                    st.lists(_words, max_size=3).map(tuple))


@given(st.dictionaries(st.one_of(st.from_regex(r"\A[0-9]{1,9}\Z"), st.text(max_size=8)),
                       _states, max_size=30))
@example({"\u00b2": LinkState("supports", "rct", "judge", False, ()),  # digits, not ASCII
          "\u0661\u0662": LinkState("mixed", "", "curator", True, ("ErratumIn",))})
def test_links_json_reads_back_as_the_links_it_was_given(links: dict[str, LinkState]) -> None:
    encoded: dict[LinkState, str] = {}
    text = links_json(links, encoded)
    assert read_links(text) == links
    assert links_json(links, encoded) == text  # the states' JSON reused: the same text
    listed, at = json.loads(text)
    assert list(at) == sorted(links)  # PMID order
    assert len(listed) == len(set(links.values()))  # each distinct state once
    assert [listed[i] for i in at.values()] == [
        [s.stance, s.tier, s.decider, s.retracted, list(s.notices)]
        for _p, s in sorted(links.items())]


MIGRATION = load_migration("0008_snapshot_states_once.py")


@given(st.dictionaries(st.text(max_size=8), _states, max_size=30))
def test_migration_0008_rewrites_a_first_format_row_as_links_json_writes_it(
        links: dict[str, LinkState]) -> None:
    # What an earlier evtrack wrote: every link's state in full, a JSON object.
    first = json.dumps(dict(sorted(links.items())))
    assert MIGRATION.once(first) == links_json(links, {})
    assert MIGRATION.once(MIGRATION.once(first)) == MIGRATION.once(first)
    assert MIGRATION.written_out(MIGRATION.once(first)) == first
    assert MIGRATION.written_out(first) == first


def test_links_json_writes_each_distinct_state_once() -> None:
    same = LinkState("mentions", "observational", "judge", False, ())
    links = {str(10_000_000 + i): same for i in range(1_000)}
    links["1"] = LinkState("supports", "rct", "verdict", True, ("RetractionIn",))
    text = links_json(links, {})
    first = json.dumps(dict(sorted(links.items())))
    assert read_links(text) == links
    assert len(text) * 4 < len(first)

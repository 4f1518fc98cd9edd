"""links.csv with a helper process writing its second part (evtrack.links_stream): the same
bytes as the full report's export, the helper really used, and nothing wrong or left behind
when the helper sees another ledger or fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, update
from sqlalchemy.pool import StaticPool

from evtrack import children, links_stream
from evtrack.export import export_csv
from evtrack.report import build_report
from evtrack.store.db import open_store
from evtrack.store.models import Paper
from evtrack.testing.scale_store import fill_store

if TYPE_CHECKING:
    from conftest import DatabaseFactory


@pytest.fixture(scope="module")
def store(databases: DatabaseFactory) -> Iterator[Engine]:
    url = databases.create()
    engine = open_store(url)
    fill_store(engine, claims=5, papers=80, links=240, seed=11)
    yield engine
    engine.dispose()
    databases.drop(url)


@pytest.fixture
def helped(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A helper for any report, on any machine; the modules started, in order."""
    monkeypatch.setattr(links_stream, "HELPER_MIN_LINKS", 0)
    monkeypatch.setattr(links_stream, "default_workers", lambda: 2)
    started: list[str] = []
    start = children.start

    def counted(module: str) -> Any:
        started.append(module)
        return start(module)

    monkeypatch.setattr(children, "start", counted)
    return started


def full_export(engine: Engine, out: Path) -> bytes:
    """links.csv as the full report writes it, in one process."""
    export_csv(build_report(engine), out)
    return (out / "links.csv").read_bytes()


def test_the_helpers_part_makes_the_same_file(store: Engine, helped: list[str],
                                              tmp_path: Path) -> None:
    full = export_csv(build_report(store), tmp_path / "full")
    summary = build_report(store, full=False)
    written = export_csv(summary, tmp_path / "helped", engine=store, chunk=2)
    assert helped == ["evtrack.links_stream"]
    assert (tmp_path / "helped" / "links.csv").read_bytes() == \
        (tmp_path / "full" / "links.csv").read_bytes()
    assert [n for _p, n in written] == [n for _p, n in full]
    assert sorted(p.name for p in (tmp_path / "helped").iterdir()) == ["claims.csv",
                                                                      "links.csv"]


def test_the_helpers_parts_are_kept_and_written_again_as_they_were(
        databases: DatabaseFactory, helped: list[str], tmp_path: Path) -> None:
    """``evtrack export --csv-only`` keeps each claim's rows, the helper's packed on its own
    core; the next export (the ledger unchanged) writes them again, with no helper."""
    import zlib

    from sqlalchemy import select

    from evtrack.export import export_tables
    from evtrack.store.models import ExportPart

    url = databases.create()
    engine = open_store(url)
    try:
        fill_store(engine, claims=5, papers=80, links=240, seed=11)
        expected = full_export(engine, tmp_path / "full")
        export_tables(engine, tmp_path / "first")
        assert helped == ["evtrack.links_stream"]
        assert (tmp_path / "first" / "links.csv").read_bytes() == expected
        with engine.connect() as conn:
            parts = conn.execute(select(ExportPart.claim_id, ExportPart.rows, ExportPart.data)
                                 .order_by(ExportPart.claim_id)).all()
        summary = build_report(engine, full=False)
        assert [cid for cid, _n, _d in parts] == sorted(c.id for c in summary.claims)
        by_claim = {cid: (n, zlib.decompress(data)) for cid, n, data in parts}
        rows = [by_claim[c.id] for c in summary.claims]  # in the report's order
        assert [n for n, _text in rows] == [c.n_papers for c in summary.claims]
        assert expected.split(b"\r\n", 1)[1] == b"".join(text for _n, text in rows)
        export_tables(engine, tmp_path / "again")
        assert helped == ["evtrack.links_stream"]  # nothing to make: no helper
        assert (tmp_path / "again" / "links.csv").read_bytes() == expected
    finally:
        engine.dispose()
        databases.drop(url)


def test_a_helper_that_sees_a_later_ledger_leaves_its_part_to_this_process(
        databases: DatabaseFactory, helped: list[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A write between this process's snapshot and the helper's: the helper's part would show
    it. This process writes that part from its own snapshot instead, so the file is the
    report's ledger throughout."""
    url = databases.create()
    engine = open_store(url)
    try:
        fill_store(engine, claims=4, papers=60, links=160, seed=3)
        expected = full_export(engine, tmp_path / "before")
        summary = build_report(engine, full=False)
        start = links_stream._Helper.start

        def write_first(*args: Any) -> Any:
            with engine.begin() as conn:  # after this process's snapshot, before the helper's
                conn.execute(update(Paper).values(title="retitled after the report"))
            return start(*args)

        monkeypatch.setattr(links_stream._Helper, "start", write_first)
        with caplog.at_level(logging.INFO, logger="evtrack.links_stream"):
            export_csv(summary, tmp_path / "out", engine=engine, chunk=1)
        assert helped == ["evtrack.links_stream"]
        assert "after the report's; writing its part here" in caplog.text
        text = (tmp_path / "out" / "links.csv").read_bytes()
        assert b"retitled" not in text
        assert text == expected
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["claims.csv",
                                                                        "links.csv"]
    finally:
        engine.dispose()
        databases.drop(url)


@pytest.mark.parametrize("module", ["evtrack.no_such_module", "evtrack.parse_pool"])
def test_a_helper_that_fails_costs_only_time(store: Engine, helped: list[str], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture,
                                             module: str) -> None:
    """A helper that dies at once, or answers what no links helper answers."""
    expected = full_export(store, tmp_path / "full")
    start = children.start
    monkeypatch.setattr(children, "start", lambda _module: start(module))
    with caplog.at_level(logging.WARNING, logger="evtrack.links_stream"):
        export_csv(build_report(store, full=False), tmp_path / "out", engine=store)
    assert "the helper process failed" in caplog.text
    assert (tmp_path / "out" / "links.csv").read_bytes() == expected
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["claims.csv", "links.csv"]


def test_no_helper_for_a_small_report_or_a_store_only_this_process_sees(
        store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = build_report(store, full=False)
    monkeypatch.setattr(links_stream, "default_workers", lambda: 2)
    assert links_stream._helper_cut(summary.claims, store) == len(summary.claims)  # 240 links
    monkeypatch.setattr(links_stream, "HELPER_MIN_LINKS", 0)
    assert links_stream._helper_cut(summary.claims, store) < len(summary.claims)
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"):
        memory = create_engine(url, poolclass=StaticPool)
        assert links_stream._helper_cut(summary.claims, memory) == len(summary.claims)
    monkeypatch.setattr(links_stream, "default_workers", lambda: 1)
    assert links_stream._helper_cut(summary.claims, store) == len(summary.claims)


@given(st.lists(st.integers(0, 5_000), min_size=2, max_size=60))
def test_the_cut_leaves_each_process_a_fair_part(sizes: list[int]) -> None:
    """This process keeps a prefix of the claims of at most its share of the links (or just
    the first claim), the helper the rest, at least one claim."""
    claims: Any = [SimpleNamespace(n_papers=n) for n in sizes]
    engine = create_engine("sqlite:///never-opened.sqlite")
    original = links_stream.HELPER_MIN_LINKS, links_stream.default_workers
    links_stream.HELPER_MIN_LINKS, links_stream.default_workers = 0, lambda: 2
    try:
        cut = links_stream._helper_cut(claims, engine)
    finally:
        links_stream.HELPER_MIN_LINKS, links_stream.default_workers = original
    assert 1 <= cut <= len(sizes) - 1
    total = sum(sizes)
    mine = sum(sizes[:cut])
    assert cut == 1 or mine <= total * (1 - links_stream.HELPER_SHARE)
    # The cut goes as far as the share allows: one more claim would be over it.
    assert mine + sizes[cut] > total * (1 - links_stream.HELPER_SHARE) or cut == len(sizes) - 1

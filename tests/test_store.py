"""The store: migrations, record round trips, updates in place, schema version checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select, text

from evtrack.errors import StoreError
from evtrack.lock import sqlite_file
from evtrack.pubmed_xml import iter_records
from evtrack.records import PaperRecord
from evtrack.search_index import DERIVED_TABLE_PREFIX, StoredIndex, available
from evtrack.store.db import (
    CACHE_MIB,
    WAL_CHECKPOINT_PAGES,
    create_db_engine,
    head_revision,
    open_store,
)
from evtrack.store.models import Base, Paper, PaperMesh
from evtrack.store.papers import load_records, store_records

PUBMED_FILES = ["pubmed1.xml", "pubmed2.xml", "pubmed4.xml", "pubmed5.xml", "pubmed6.xml",
                "pubmed7.xml"]


@pytest.fixture
def engine(db_url: str) -> Engine:
    return open_store(db_url)


@pytest.fixture(scope="module")
def fixture_records(entrez_fixtures: Path) -> list[PaperRecord]:
    return [r for name in PUBMED_FILES for r in iter_records(entrez_fixtures / name)]


def _not_derived(name: str | None, type_: str, _parents: object) -> bool:
    # The offline search index is a cache evtrack creates at run time, not part of the schema.
    return not (type_ == "table" and (name or "").startswith(DERIVED_TABLE_PREFIX))


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    if available(engine):
        StoredIndex(engine).sync()  # its tables must not count as drift
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _not_derived})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


@pytest.mark.sqlite_only
def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        # The ingest rate at 200 k papers rests on these two (bench/RESULTS.md).
        assert conn.execute(text("PRAGMA cache_size")).scalar() == -CACHE_MIB * 1024
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == WAL_CHECKPOINT_PAGES


def test_every_fixture_record_round_trips(engine: Engine,
                                          fixture_records: list[PaperRecord]) -> None:
    with engine.begin() as conn:
        counts = store_records(conn, fixture_records, source="file", run_id=None)
    assert counts.new == len({r.pmid for r in fixture_records}) == 8
    with engine.connect() as conn:
        back = {r.pmid: r for r in load_records(conn)}
    for r in fixture_records:
        assert back[r.pmid] == r


def test_restoring_unchanged_records_rewrites_nothing(
        engine: Engine, fixture_records: list[PaperRecord]) -> None:
    with engine.begin() as conn:
        store_records(conn, fixture_records, source="file", run_id=None)
    with engine.begin() as conn:
        again = store_records(conn, fixture_records, source="file", run_id=None)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 8)


def test_a_changed_record_is_updated_in_place(engine: Engine,
                                              fixture_records: list[PaperRecord]) -> None:
    import dataclasses

    first = fixture_records[0]
    with engine.begin() as conn:
        store_records(conn, [first], source="file", run_id=None)
        pid = conn.scalar(select(Paper.id).where(Paper.pmid == first.pmid))
    changed = dataclasses.replace(first, title="A corrected title", mesh=first.mesh[:1])
    with engine.begin() as conn:
        counts = store_records(conn, [changed], source="file", run_id=None)
    assert (counts.new, counts.updated) == (0, 1)
    with engine.connect() as conn:
        assert conn.scalar(select(Paper.id).where(Paper.pmid == first.pmid)) == pid
        assert conn.scalar(select(Paper.title).where(Paper.id == pid)) == "A corrected title"
        n_mesh = len(conn.execute(select(PaperMesh).where(PaperMesh.paper_id == pid)).all())
        assert n_mesh == len(first.mesh[:1])


def test_one_row_per_pmid_is_enforced_by_the_database(engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    from evtrack.store.papers import utcnow
    row = {"pmid": "1", "title": "t", "source": "file", "content_hash": "x", "updated_at": utcnow()}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(Paper.__table__.insert(), [row, row])


def test_a_database_from_a_newer_evtrack_is_refused(db_url: str) -> None:
    url = db_url
    open_store(url)
    with create_db_engine(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    with pytest.raises(StoreError, match="newer evtrack"):
        open_store(url)


def test_an_empty_database_is_migrated_to_head(db_url: str) -> None:
    url = db_url
    create_db_engine(url).connect().close()  # an empty database, as an old evtrack might leave
    engine = open_store(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == \
            head_revision()


def test_links_and_provenance_remember_the_runs_that_saw_them(engine: Engine,
                                                               entrez_fixtures: Path) -> None:
    from evtrack.store import ledger
    from evtrack.store.models import Claim, Link, LinkProvenance

    records = list(iter_records(entrez_fixtures / "pubmed1.xml"))
    with engine.begin() as conn:
        run1, run2 = (ledger.start_run(conn, "refresh", "offline") for _ in range(2))
        store_records(conn, records, source="offline", run_id=run1)
        conn.execute(Claim.__table__.insert(), [{"id": "X1", "claim_set": "t", "position": 0,
                                                  "text": "x", "subject": "a", "relation": "r",
                                                  "object": "b", "source_file": "t.toml"}])
        first = [ledger.LinkRequest("X1", r.pmid, "query", "q1") for r in records]
        assert ledger.record_links(conn, first, run_id=run1) == len(records)
        # run 2 sees every link again by the same query, and one by a second query too
        again = [*first, ledger.LinkRequest("X1", records[0].pmid, "query", "q2")]
        assert ledger.record_links(conn, again, run_id=run2) == 0
        prov = {(lid, d): (a, b) for lid, d, a, b in conn.execute(
            select(LinkProvenance.link_id, LinkProvenance.detail, LinkProvenance.first_run_id,
                   LinkProvenance.last_run_id))}
        links = {lid: (a, b) for lid, a, b in conn.execute(
            select(Link.id, Link.first_run_id, Link.last_run_id))}
    assert len(links) == len(records) and set(links.values()) == {(run1, run2)}
    assert sorted(set(prov.values())) == [(run1, run2), (run2, run2)]
    assert sum(1 for (_lid, d) in prov if d == "q2") == 1


def test_a_sqlite_file_gets_its_directory_but_a_uri_filename_none(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_store(f"sqlite:///{tmp_path}/new/dir/store.sqlite").dispose()
    assert (tmp_path / "new" / "dir" / "store.sqlite").is_file()
    open_store(f"sqlite:///file:{tmp_path}/new/uri.sqlite?uri=true").dispose()
    assert (tmp_path / "new" / "uri.sqlite").is_file()
    assert not (tmp_path / "file:").exists()
    # Opened by its path or by a URI, the store is one file with one refresh lock.
    by_uri = create_db_engine(f"sqlite:///file:{tmp_path}/new/uri%20x.sqlite?mode=ro&uri=true")
    by_path = create_db_engine(f"sqlite:///{tmp_path}/new/uri x.sqlite")
    assert sqlite_file(by_uri) == sqlite_file(by_path) == tmp_path / "new" / "uri x.sqlite"

"""`evtrack ingest`: every record of every good file stored; bad files reported, not fatal."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from evtrack.cli import cli
from evtrack.ingest import ingest_files
from evtrack.store.db import open_store
from evtrack.store.models import Paper, PaperMesh, PaperReference, RefreshRun


@pytest.fixture
def engine(db_url: str) -> Engine:
    return open_store(db_url)


def test_a_directory_with_bad_files_stores_every_good_record(engine: Engine,
                                                             entrez_fixtures: Path) -> None:
    result = ingest_files(engine, [entrez_fixtures])
    failed = {p.name for p, _msg in result.failures}
    # Not PubMed EFetch XML: another database, other utilities, a truncated file.
    assert {"efetch_pmc.xml", "einfo4.xml", "esearch1.xml", "elink1.xml"} <= failed
    assert not any(name.startswith("pubmed") for name in failed)
    with engine.connect() as conn:
        pmids = set(conn.scalars(select(Paper.pmid)))
        status = conn.scalar(select(RefreshRun.status).where(RefreshRun.id == result.run_id))
    assert pmids == {"12091962", "9997", "11748933", "11700088", "27797938", "28775130",
                     "30108519", "29963580"}
    assert status == "partial"


def test_ingested_fields_are_stored_with_their_values(engine: Engine,
                                                      entrez_fixtures: Path) -> None:
    ingest_files(engine, [entrez_fixtures / "pubmed7.xml", entrez_fixtures / "pubmed2.xml"])
    with engine.connect() as conn:
        paper = conn.execute(select(Paper).where(Paper.pmid == "11748933")).mappings().one()
        refs = conn.scalar(select(PaperReference.paper_id).join(Paper)
                           .where(Paper.pmid == "29963580").limit(1))
        n_refs = len(conn.execute(select(PaperReference).where(
            PaperReference.paper_id == refs)).all())
        mesh = conn.scalars(select(PaperMesh.descriptor).join(Paper)
                            .where(Paper.pmid == "11748933")).all()
    assert paper["journal"] == "Cryobiology"
    assert (paper["volume"], paper["issue"], paper["pub_year"]) == ("42", "4", 2001)
    assert paper["doi"] == "10.1006/cryo.2001.2328"
    assert "Cryopreservation" in mesh
    assert n_refs == 49


def test_an_older_revision_does_not_overwrite_a_newer_one(engine: Engine,
                                                          entrez_fixtures: Path) -> None:
    ingest_files(engine, [entrez_fixtures / "pubmed1.xml"])
    older = ingest_files(engine, [entrez_fixtures / "historical_2008-2024" / "pubmed1.xml"])
    # 9997 was revised in 2019 after the 2008 recording: that one is kept out. 12091962 carries
    # the same DateRevised in both recordings, so the later arrival is taken as an update.
    assert (older.counts.stale, older.counts.updated) == (1, 1)
    with engine.connect() as conn:
        doi = conn.scalar(select(Paper.doi).where(Paper.pmid == "9997"))
    assert doi  # the current record's DOI, which the 2008 recording lacks


def test_a_truncated_file_keeps_the_records_before_the_fault(engine: Engine, tmp_path: Path,
                                                             entrez_fixtures: Path) -> None:
    data = (entrez_fixtures / "pubmed2.xml").read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: data.index(b"<PubmedArticle>", 200) + 300])
    result = ingest_files(engine, [cut])
    assert result.counts.new == 1
    assert "1 records before the fault were stored" in result.failures[0][1]


def test_cli_reports_each_bad_file_and_exits_1(tmp_path: Path, entrez_fixtures: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               cli_db: str | None) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["ingest", str(entrez_fixtures / "pubmed2.xml"),
                                      str(entrez_fixtures / "efetch_pmc.xml")])
    assert result.exit_code == 1
    assert "2 new" in result.stdout
    assert "Error: " in result.stderr and "efetch_pmc.xml" in result.stderr


def test_json_columns_and_hash_are_those_of_json_dumps() -> None:
    # The rows are encoded by a C encoder built once (evtrack.store.rows); its text, and so
    # the content hash, must stay byte for byte that of json.dumps(..., ensure_ascii=False).
    import hashlib
    import json

    from evtrack.records import Author, MeshHeading, MeshQualifier, PaperRecord
    from evtrack.store.rows import prepare_record

    tricky = 'é "quoted" \\ back\nslash \u2028 \U0001f600 \x00'
    record = PaperRecord(pmid="1", title=tricky, keywords=(tricky, "b"),
                         other_ids=(("pii", tricky),),
                         authors=(Author(last_name=tricky, affiliations=(tricky,)),),
                         mesh=(MeshHeading(tricky,
                                           qualifiers=(MeshQualifier(tricky, None, True),)),))
    rows = prepare_record(record)
    dumps = lambda value: json.dumps(value, ensure_ascii=False)  # noqa: E731
    assert rows.paper[17] == dumps([tricky, "b"])  # keywords_json
    assert rows.paper[18] == dumps([["pii", tricky]])  # other_ids_json
    assert rows.children[0][0][4] == dumps([tricky])  # affiliations_json
    assert rows.children[1][0][3] == dumps([[tricky, None, True]])  # qualifiers_json
    expected = hashlib.sha256(dumps([rows.paper, rows.children]).encode()).hexdigest()
    assert rows.digest == expected


def test_fewer_collections_restores_the_collector() -> None:
    import gc

    from evtrack.parse_pool import fewer_collections

    before = gc.get_threshold()
    with fewer_collections():
        assert gc.get_threshold()[0] > before[0] and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0

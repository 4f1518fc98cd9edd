"""The ledger end to end, offline: claims → offline source → store → judgement → report → CSV."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from sqlalchemy import Engine, select

from evtrack.claims import ClaimSet, load_claims
from evtrack.export import export_csv
from evtrack.ingest import ingest_files
from evtrack.offline import OfflineSource
from evtrack.refresh import RefreshSummary, refresh
from evtrack.render import claims_frame, links_frame, render
from evtrack.report import build_report
from evtrack.resources import default_claims_dir, snapshot_files
from evtrack.store.db import open_store
from evtrack.store.ledger import add_verdict
from evtrack.store.models import Judgement, Link, LinkProvenance, Paper, Verdict
from evtrack.store.papers import load_records

if TYPE_CHECKING:
    from conftest import DatabaseFactory

CLAIM_IDS = [f"C{i}" for i in range(1, 10)]


def offline_source(engine: Engine, *extra: Path) -> OfflineSource:
    with engine.connect() as conn:
        stored = list(load_records(conn))
    return OfflineSource.from_files([*snapshot_files(), *extra], extra=stored)


def canonical_dump(engine: Engine) -> list[tuple[object, ...]]:
    """Papers, links, provenance, judgements and verdicts, without run ids or timestamps."""
    with engine.connect() as conn:
        papers = conn.execute(select(Paper.pmid, Paper.content_hash).order_by(Paper.pmid)).all()
        links = conn.execute(select(Link.claim_id, Paper.pmid).join(Paper)
                             .order_by(Link.claim_id, Paper.pmid)).all()
        prov = conn.execute(select(Link.claim_id, Paper.pmid, LinkProvenance.kind,
                                   LinkProvenance.detail)
                            .join(Link, Link.id == LinkProvenance.link_id).join(Paper)
                            .order_by(Link.claim_id, Paper.pmid, LinkProvenance.kind,
                                      LinkProvenance.detail)).all()
        judg = conn.execute(select(Link.claim_id, Paper.pmid, Judgement.method, Judgement.stance,
                                   Judgement.rationale)
                            .join(Link, Link.id == Judgement.link_id).join(Paper)
                            .order_by(Link.claim_id, Paper.pmid, Judgement.method)).all()
        verd = conn.execute(select(Verdict.link_id, Verdict.stance, Verdict.reviewer,
                                   Verdict.note, Verdict.created_at).order_by(Verdict.id)).all()
    return [tuple(r) for r in [*papers, *links, *prov, *judg, *verd]]


@pytest.fixture(scope="module")
def claim_set() -> ClaimSet:
    return load_claims([default_claims_dir()])


@pytest.fixture(scope="module")
def ledger(databases: DatabaseFactory,
           claim_set: ClaimSet) -> Iterator[tuple[Engine, RefreshSummary]]:
    url = databases.create()
    engine = open_store(url)
    summary = refresh(engine, claim_set, offline_source(engine))
    yield engine, summary
    databases.drop(url)


def test_the_snapshot_holds_bibliographic_facts_only() -> None:
    from evtrack.pubmed_xml import iter_records
    records = [r for f in snapshot_files() for r in iter_records(f)]
    assert len(records) >= 40
    assert all(not r.abstract_sections for r in records)
    autry = next(r for r in records if r.pmid == "21677641")
    assert autry.title.startswith("NMDA receptor blockade at rest")
    assert (autry.journal, autry.volume, autry.year) == ("Nature", "475", 2011)


def test_refresh_links_papers_to_every_claim(ledger: tuple[Engine, RefreshSummary]) -> None:
    _engine, summary = ledger
    assert summary.source == "offline"
    assert summary.counts.new >= 40
    for cid in CLAIM_IDS:
        assert summary.per_claim[cid].linked > 0, cid


def test_the_articles_citations_resolve_to_pubmed_ids(
        ledger: tuple[Engine, RefreshSummary]) -> None:
    _engine, summary = ledger
    resolved = {(cid, pmid) for cid, _key, _status, pmid in summary.citations}
    assert ("C6", "21677641") in resolved  # Autry et al., Nature 2011
    assert ("C2", "18202677") in resolved  # Seamans, Nat Chem Biol 2008
    # Offline, a match in the bundled corpus is not a check against PubMed, and says so.
    assert {status for _c, _k, status, _p in summary.citations} == {"found-local"}


def test_curated_stances_become_judgements_with_the_curator_named(
        ledger: tuple[Engine, RefreshSummary]) -> None:
    engine, _ = ledger
    report = build_report(engine, ["C9"])
    rows = {r.pmid: r for r in report.claims[0].links}
    murrough = rows["23982301"]  # Murrough 2013 ketamine RCT
    assert (murrough.stance, murrough.decider) == ("supports", "curator")
    assert "ketamine.toml" in murrough.decided_by
    assert murrough.tier == "rct"


def test_a_second_refresh_changes_nothing(ledger: tuple[Engine, RefreshSummary],
                                          claim_set: ClaimSet) -> None:
    engine, _ = ledger
    before = canonical_dump(engine)
    again = refresh(engine, claim_set, offline_source(engine))
    assert (again.counts.new, again.counts.updated, again.links_new) == (0, 0, 0)
    assert canonical_dump(engine) == before


def test_a_verdict_overrides_the_machine_and_survives_refresh(
        db_url: str, claim_set: ClaimSet) -> None:
    engine = open_store(db_url)
    refresh(engine, claim_set, offline_source(engine))
    with engine.begin() as conn:
        add_verdict(conn, "C9", "23982301", stance="contradicts", reviewer="R. Viewer",
                    note="testing the override", tag="polarity")
    with engine.connect() as conn:
        verdicts = conn.execute(select(Verdict)).all()
    refresh(engine, claim_set, offline_source(engine))
    with engine.connect() as conn:
        assert conn.execute(select(Verdict)).all() == verdicts
    row = next(r for r in build_report(engine, ["C9"]).claims[0].links if r.pmid == "23982301")
    assert (row.stance, row.decider, row.decided_by) == ("contradicts", "verdict", "R. Viewer")


def test_report_covers_all_nine_claims_in_every_format(
        ledger: tuple[Engine, RefreshSummary]) -> None:
    engine, _ = ledger
    report = build_report(engine)
    assert [c.id for c in report.claims] == CLAIM_IDS
    table = render(report, "table")
    for cid in CLAIM_IDS:
        assert f"== {cid}:" in table
    assert "cited by the article:" in table and "curated evidence:" in table
    data = json.loads(render(report, "json"))
    assert [c["id"] for c in data["claims"]] == CLAIM_IDS
    assert 0 <= data["claims"][0]["score"]["score"] <= 1
    html = render(report, "html")
    assert html.startswith("<!doctype html>") and "C9" in html


def test_the_ketamine_chain_is_as_strong_as_its_weakest_claim(
        ledger: tuple[Engine, RefreshSummary]) -> None:
    engine, _ = ledger
    report = build_report(engine)
    assert report.chain is not None
    scores = {c.id: c.score.score for c in report.claims}
    assert [p.claims for p in report.chain.paths] == [
        ("C1", "C2", "C3"), ("C1", "C7", "C5", "C6", "C9"), ("C1", "C7", "C8")]
    for path in report.chain.paths:
        assert path.support == min(scores[c] for c in path.claims) == scores[path.weakest]
    assert [(q.by, q.target) for q in report.chain.questions] == [("C4", "C3")]
    assert "The chain's weakest link:" in render(report, "table", details=False)
    assert all(c.score.certainty.label in ("high", "moderate", "low", "very low")
               for c in report.claims)
    # Autry 2011, Nosyreva 2013, Gideons 2014 … : one lab, one independent group on C7
    c7 = report.claims[6]
    assert c7.score.independent_support < sum(1 for r in c7.links if r.stance == "supports")
    assert any({"21677641", "24912158"} <= set(g.pmids) for g in c7.score.groups)


def test_export_writes_csvs_that_pandas_reads_back(ledger: tuple[Engine, RefreshSummary],
                                                   tmp_path: Path) -> None:
    engine, _ = ledger
    report = build_report(engine)
    written = dict(export_csv(report, tmp_path))
    claims = pd.read_csv(tmp_path / "claims.csv")
    links = pd.read_csv(tmp_path / "links.csv", dtype={"pmid": str})
    assert written[tmp_path / "claims.csv"] == len(claims) == 9
    assert list(claims["claim_id"]) == CLAIM_IDS
    assert len(links) == written[tmp_path / "links.csv"] == sum(len(c.links) for c in report.claims)
    expected = links_frame(report)
    assert list(links["pmid"]) == list(expected["pmid"])
    assert list(links["stance"]) == list(expected["stance"])
    assert list(claims["score"]) == list(claims_frame(report)["score"])


def test_ingested_files_feed_the_offline_search(tmp_path: Path, entrez_fixtures: Path,
                                                db_url: str) -> None:
    engine = open_store(db_url)
    result = ingest_files(engine, [str(entrez_fixtures / "pubmed2.xml")])
    assert (result.counts.new, result.failures) == (2, [])
    claims_file = tmp_path / "mine.toml"
    claims_file.write_text(
        '[set]\nid = "mine"\ntitle = "test set"\n\n'
        '[[claim]]\nid = "X1"\ntext = "Freezing damages fish sperm."\nsubject = "freezing"\n'
        'relation = "causes"\nobject = "sperm damage"\n'
        '[[claim.query]]\nname = "cryo"\nterm = "cryopreservation[tiab] AND spermatozoa[tiab]"\n',
        encoding="utf-8")
    summary = refresh(engine, load_claims([claims_file]), offline_source(engine))
    assert summary.per_claim["X1"].linked >= 1
    with engine.connect() as conn:
        linked = conn.scalars(select(Paper.pmid).join(Link).where(Link.claim_id == "X1")).all()
    assert "11748933" in linked

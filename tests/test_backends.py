"""What differs between SQLite and PostgreSQL, pinned down on whichever backend the run uses.

SQLite stores any text in any column; PostgreSQL enforces VARCHAR widths and refuses NUL
characters. Each test here is a case that once passed on SQLite and failed on PostgreSQL.
Run them on a server with ``pytest --db-url URL`` (see docs/postgresql.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import migrate
from sqlalchemy import insert, select, text

from evtrack.claims import load_claims
from evtrack.cli import cli
from evtrack.errors import ClaimsFileError
from evtrack.offline import OfflineSource
from evtrack.refresh import refresh
from evtrack.resources import snapshot_files
from evtrack.store.db import create_db_engine, display_url, head_revision, open_store
from evtrack.store.models import CitedReference, Claim, Link, LinkProvenance, Paper
from evtrack.store.papers import utcnow

LONG_LABEL = "Autry AE, Adachi M, Nosyreva E, et al. " * 8  # ~300 characters

CLAIMS = f"""
[set]
id = "widths"
title = "values wider than the old columns"

[[claim]]
id = "W1"
text = "NMDA receptor blockade at rest triggers rapid behavioural antidepressant responses."
subject = "NMDA receptor blockade"
relation = "causes"
object = "antidepressant response"

# Not in the offline corpus, but with a PMID: kept, and the resolution says so at length.
[[claim.cited]]
key = "nowhere2001"
author = "Nobody A"
journal = "J Nowhere"
year = 2001
volume = "1"
first_page = "1"
pmid = "21677641"
pmid_status = "unverified"

[[claim.curated]]
label = "{LONG_LABEL}"
pmid = "21677641"
stance = "supports"
note = "A label longer than the 255 characters link_provenance.detail once had."
"""


def test_long_status_texts_and_labels_are_stored(db_url: str, tmp_path: Path) -> None:
    claims_file = tmp_path / "widths.toml"
    claims_file.write_text(CLAIMS, encoding="utf-8")
    engine = open_store(db_url)
    summary = refresh(engine, load_claims([claims_file]),
                      OfflineSource.from_files(snapshot_files()))
    [(_claim, _key, status, pmid)] = summary.citations
    assert pmid == "21677641"
    assert len(status) > 32  # "unresolved; using file PMID (unverified)" or the like
    with engine.connect() as conn:
        stored = conn.scalar(select(CitedReference.resolution))
        details = set(conn.scalars(select(LinkProvenance.detail)))
    assert stored == status
    assert LONG_LABEL.strip() in details


def test_a_control_character_in_a_claims_file_is_refused(tmp_path: Path) -> None:
    # PostgreSQL cannot store NUL; SQLite could, so the file is refused before any store sees it.
    claims_file = tmp_path / "nul.toml"
    claims_file.write_text(CLAIMS.replace("at rest", "at\\u0000rest"), encoding="utf-8")
    with pytest.raises(ClaimsFileError, match=r"claim W1: text: .*U\+0000"):
        load_claims([claims_file])


def test_a_0002_database_is_migrated_with_its_rows(db_url: str) -> None:
    """Migration 0003 widens two columns; on SQLite that copies the tables, which must keep
    every row and every foreign key."""
    engine = create_db_engine(db_url)
    migrate(engine, "0002")
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(Claim).values(id="W1", claim_set="widths", position=0, text="t",
                                          subject="s", relation="causes", object="o",
                                          context_json="{}", source_file="widths.toml"))
        conn.execute(insert(CitedReference).values(claim_id="W1", key="k", citation="c",
                                                   given_pmid_status="verified",
                                                   resolution="found"))
        paper_id = conn.execute(insert(Paper).values(pmid="1", title="t", abstract="",
                                                     abstract_json="[]", keywords_json="[]",
                                                     other_ids_json="[]", is_retracted=False,
                                                     design_tier="other", design_reason="",
                                                     content_hash="h", source="file",
                                                     updated_at=now)).inserted_primary_key[0]
        link_id = conn.execute(insert(Link).values(claim_id="W1", paper_id=paper_id,
                                                   first_seen=now, last_seen=now)
                               ).inserted_primary_key[0]
        conn.execute(insert(LinkProvenance).values(link_id=link_id, kind="query",
                                                   detail="q1"))
    engine.dispose()

    engine = open_store(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == \
            head_revision()
        assert conn.execute(select(CitedReference.key, CitedReference.resolution)).all() == \
            [("k", "found")]
        assert conn.execute(select(LinkProvenance.link_id, LinkProvenance.detail)).all() == \
            [(link_id, "q1")]
        if engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    with engine.begin() as conn:  # the foreign keys still cascade
        conn.execute(Claim.__table__.delete())
    with engine.connect() as conn:
        assert conn.execute(select(LinkProvenance)).all() == []
        assert conn.execute(select(CitedReference)).all() == []


def test_a_password_in_the_database_url_is_never_shown() -> None:
    # A lab's URL may carry its role's password. Port 1 on the loopback refuses at once.
    url = "postgresql+psycopg://evtrack:s3cret-pw@127.0.0.1:1/evidence"
    assert display_url(url) == "postgresql+psycopg://evtrack:***@127.0.0.1:1/evidence"
    result = CliRunner().invoke(cli, ["--db", url, "status"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot open database postgresql+psycopg://evtrack:***@")
    assert len(result.output.strip().splitlines()) == 1
    assert "s3cret-pw" not in result.output

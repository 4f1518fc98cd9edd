"""initial ledger schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 13:37:36.244231
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("claim_set", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.Column("object", sa.Text(), nullable=False),
        sa.Column("context_json", sa.Text(), nullable=False),
        sa.Column("source_file", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "refresh_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requests_json", sa.Text(), nullable=False),
        sa.Column("records_new", sa.Integer(), nullable=False),
        sa.Column("records_updated", sa.Integer(), nullable=False),
        sa.Column("links_new", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "cited_references",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("given_pmid", sa.String(length=12), nullable=True),
        sa.Column("given_pmid_status", sa.String(length=16), nullable=False),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("resolved_pmid", sa.String(length=12), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "key"),
    )
    op.create_table(
        "claim_edges",
        sa.Column("from_claim", sa.String(length=64), nullable=False),
        sa.Column("to_claim", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["from_claim"], ["claims.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["to_claim"], ["claims.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("from_claim", "to_claim", "kind"),
    )
    op.create_table(
        "claim_queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("last_count", sa.Integer(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["refresh_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "name"),
    )
    op.create_table(
        "curated_refs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("pmid", sa.String(length=12), nullable=True),
        sa.Column("pmid_status", sa.String(length=16), nullable=False),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("stance", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("design", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "position"),
    )
    op.create_table(
        "papers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pmid", sa.String(length=12), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("abstract_json", sa.Text(), nullable=False),
        sa.Column("journal", sa.Text(), nullable=True),
        sa.Column("journal_iso", sa.Text(), nullable=True),
        sa.Column("volume", sa.String(length=64), nullable=True),
        sa.Column("issue", sa.String(length=64), nullable=True),
        sa.Column("pages", sa.String(length=64), nullable=True),
        sa.Column("pub_year", sa.Integer(), nullable=True),
        sa.Column("pub_month", sa.Integer(), nullable=True),
        sa.Column("pub_day", sa.Integer(), nullable=True),
        sa.Column("pub_season", sa.String(length=32), nullable=True),
        sa.Column("medline_date", sa.String(length=64), nullable=True),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("pmcid", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("keywords_json", sa.Text(), nullable=False),
        sa.Column("other_ids_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("date_revised", sa.String(length=10), nullable=True),
        sa.Column("is_retracted", sa.Boolean(), nullable=False),
        sa.Column("design_tier", sa.String(length=32), nullable=False),
        sa.Column("design_reason", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=True),
        sa.Column("updated_run_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["first_run_id"],
            ["refresh_runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["updated_run_id"],
            ["refresh_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pmid"),
    )
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_papers_doi"), ["doi"], unique=False)
        batch_op.create_index(batch_op.f("ix_papers_pub_year"), ["pub_year"], unique=False)

    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["first_run_id"],
            ["refresh_runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["refresh_runs.id"],
        ),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("claim_id", "paper_id"),
    )
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_links_claim_id"), ["claim_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_links_paper_id"), ["paper_id"], unique=False)

    op.create_table(
        "paper_authors",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("fore_name", sa.Text(), nullable=True),
        sa.Column("initials", sa.String(length=32), nullable=True),
        sa.Column("collective_name", sa.Text(), nullable=True),
        sa.Column("affiliations_json", sa.Text(), nullable=False),
        sa.Column("orcid", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "position"),
    )
    op.create_table(
        "paper_corrections",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("ref_type", sa.String(length=64), nullable=False),
        sa.Column("ref_source", sa.Text(), nullable=True),
        sa.Column("ref_pmid", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "position"),
    )
    with op.batch_alter_table("paper_corrections", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_corrections_ref_pmid"), ["ref_pmid"], unique=False
        )

    op.create_table(
        "paper_mesh",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("descriptor", sa.Text(), nullable=False),
        sa.Column("descriptor_ui", sa.String(length=16), nullable=True),
        sa.Column("major", sa.Boolean(), nullable=False),
        sa.Column("qualifiers_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "position"),
    )
    with op.batch_alter_table("paper_mesh", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_mesh_descriptor"), ["descriptor"], unique=False)

    op.create_table(
        "paper_pub_types",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("ui", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "position"),
    )
    op.create_table(
        "paper_references",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("ref_pmid", sa.String(length=12), nullable=True),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("pmcid", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "position"),
    )
    with op.batch_alter_table("paper_references", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paper_references_ref_pmid"), ["ref_pmid"], unique=False
        )

    op.create_table(
        "judgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("stance", sa.String(length=16), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["links.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_id", "method"),
    )
    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_judgements_link_id"), ["link_id"], unique=False)

    op.create_table(
        "link_provenance",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=255), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["first_run_id"],
            ["refresh_runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["last_run_id"],
            ["refresh_runs.id"],
        ),
        sa.ForeignKeyConstraint(["link_id"], ["links.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("link_id", "kind", "detail"),
    )
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("stance", sa.String(length=16), nullable=False),
        sa.Column("reviewer", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("tag", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["links.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_verdicts_link_id"), ["link_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verdicts_link_id"))

    op.drop_table("verdicts")
    op.drop_table("link_provenance")
    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_judgements_link_id"))

    op.drop_table("judgements")
    with op.batch_alter_table("paper_references", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_references_ref_pmid"))

    op.drop_table("paper_references")
    op.drop_table("paper_pub_types")
    with op.batch_alter_table("paper_mesh", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_mesh_descriptor"))

    op.drop_table("paper_mesh")
    with op.batch_alter_table("paper_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_corrections_ref_pmid"))

    op.drop_table("paper_corrections")
    op.drop_table("paper_authors")
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_links_paper_id"))
        batch_op.drop_index(batch_op.f("ix_links_claim_id"))

    op.drop_table("links")
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_papers_pub_year"))
        batch_op.drop_index(batch_op.f("ix_papers_doi"))

    op.drop_table("papers")
    op.drop_table("curated_refs")
    op.drop_table("claim_queries")
    op.drop_table("claim_edges")
    op.drop_table("cited_references")
    op.drop_table("refresh_runs")
    op.drop_table("claims")

"""report cache: a ledger generation bumped by triggers, and the summary report kept per generation

Every write to a table the support report reads (papers, authors, notices, claims and their
queries, edges, citations and curated evidence, links, provenance, judgements, verdicts, runs)
bumps ``ledger_state.generation`` in the writer's own transaction, through database triggers:
no write path of evtrack's, nor an ``UPDATE`` typed into ``sqlite3``/``psql``, can change the
ledger without it. ``report_cache`` keeps the summary report (``build_report(full=False)``) with
the generation it was computed at; a report whose generation is not the current one is never
served (:mod:`evtrack.report_cache`).

SQLite has only row-level triggers (one tiny ``UPDATE`` per written row); PostgreSQL gets one
statement-level trigger per table and statement.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 23:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: The tables whose rows feed the support report (evtrack.report): a write to any bumps the
#: generation. Not here: MeSH, publication types and reference lists (the design tier they
#: decide is stored on ``papers``), claim snapshots, and the cache's own tables.
WATCHED = ("refresh_runs", "papers", "paper_authors", "paper_corrections", "claims",
           "claim_queries", "claim_edges", "cited_references", "curated_refs", "links",
           "link_provenance", "judgements", "verdicts")
EVENTS = ("insert", "update", "delete")
BUMP = "UPDATE ledger_state SET generation = generation + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "ledger_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO ledger_state (id, generation) VALUES (1, 0)")
    op.create_table(
        "report_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION evtrack_bump_generation() RETURNS trigger AS $$ BEGIN "
                   f"{BUMP}; RETURN NULL; END $$ LANGUAGE plpgsql")
        for table in WATCHED:
            op.execute(f"CREATE TRIGGER {table}_generation AFTER INSERT OR UPDATE OR DELETE "
                       f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                       "EXECUTE FUNCTION evtrack_bump_generation()")
    else:
        for table in WATCHED:
            for event in EVENTS:
                op.execute(f"CREATE TRIGGER {table}_{event}_generation AFTER {event.upper()} "
                           f"ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_generation ON {table}")
        op.execute("DROP FUNCTION evtrack_bump_generation()")
    else:
        for table in WATCHED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER {table}_{event}_generation")
    op.drop_table("report_cache")
    op.drop_table("ledger_state")

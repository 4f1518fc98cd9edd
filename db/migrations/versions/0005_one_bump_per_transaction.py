"""one generation bump per transaction on PostgreSQL

Migration 0004's statement triggers bumped ``ledger_state.generation`` once per statement, and
an ``executemany`` is one statement per row: an ingest batch of 500 records updated that one row
some 18,000 times in one transaction. Every such update leaves a row version that no one can
prune before the transaction ends, and the next update walks past them all, so the cost grew
with the square of a transaction's writes (16,000 bumps in one transaction: 4 s; 2,000: 0.1 s),
and ingest of 10,000 generated records ran at half its speed (25.0 s against 13.5 s).

One bump per transaction is as good a signal: a transaction's writes and its bump commit
together, so a reader sees either all of them and the new generation or none of them and the
old one. The trigger remembers, in a transaction-local setting, the transaction it bumped in
(a rolled-back savepoint forgets it, with its bump). SQLite's row triggers stay: SQLite updates
the row in place, with no versions to walk.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BUMP = "UPDATE ledger_state SET generation = generation + 1 WHERE id = 1"
#: A transaction-local setting: the id of the transaction that has bumped already.
MARK = "evtrack.bumped_in"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE OR REPLACE FUNCTION evtrack_bump_generation() RETURNS trigger AS $$ BEGIN "
        f"IF current_setting('{MARK}', true) IS DISTINCT FROM pg_current_xact_id()::text THEN "
        f"{BUMP}; PERFORM set_config('{MARK}', pg_current_xact_id()::text, true); "
        "END IF; RETURN NULL; END $$ LANGUAGE plpgsql")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE OR REPLACE FUNCTION evtrack_bump_generation() RETURNS trigger AS $$ "
               f"BEGIN {BUMP}; RETURN NULL; END $$ LANGUAGE plpgsql")

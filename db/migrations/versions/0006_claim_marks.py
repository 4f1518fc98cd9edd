"""claim marks: which claims each write touched, so a kept report rebuilds only those

Migration 0004 keeps the summary report whole: any write to the ledger, however small, makes
the next report read and score every claim again (ten seconds at a thousand claims and a
million links). Here every write to a table the report reads also records, per claim it can
change, the ledger generation it wrote at, in ``claim_marks`` (one row per claim, the newest
generation). The report keeps each claim's part in ``report_parts`` with the generation of the
snapshot it was read in, and reuses a part while no mark on its claim is newer than that
generation (:mod:`evtrack.report_cache`).

Which claims a row can change:
- a row naming its claim (``claims``, ``claim_queries``, ``claim_edges`` by ``from_claim``,
  ``cited_references``, ``curated_refs``, ``links``): that claim;
- a row naming a link (``link_provenance``, ``judgements``, ``verdicts``): the link's claim
  (when the link itself is deleted, its own trigger marks the claim);
- a row naming a paper (``papers``, ``paper_authors``, ``paper_corrections``): every claim
  linked to the paper. A paper no claim links to (a new record being ingested) marks nothing:
  the trigger's lookup of its links finds none.
An update marks the claims of the old and the new row. ``refresh_runs`` marks nothing: the
report reads only the newest run's line, and reads it afresh every time.

Why a part is reused only while every mark on its claim is at or before the part's generation
(``mark <= part``): a mark is always newer than any snapshot that does not see its write.
- PostgreSQL: a statement trigger per table and event finds the claims in the statement's
  transition tables, bumps the generation first (once per transaction, as migration 0005's
  does) and marks with the bumped value, which no other transaction can reach before this one
  commits (it holds ``ledger_state``'s row lock). A snapshot at that generation or later sees it.
- SQLite: one writer at a time holds the database from its first write to its commit, and
  migration 0004's triggers may fire before or after this one (SQLite promises no order). So
  the mark is the generation it reads *plus one*: more than any generation a snapshot taken
  before the transaction could read, whichever trigger ran first. (At worst a claim whose part
  did see the write is built once more.)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: table → (what its key names, the key's column): "claim", "link" or "paper".
MARKS = {
    "claims": ("claim", "id"),
    "claim_queries": ("claim", "claim_id"),
    "claim_edges": ("claim", "from_claim"),
    "cited_references": ("claim", "claim_id"),
    "curated_refs": ("claim", "claim_id"),
    "links": ("claim", "claim_id"),
    "link_provenance": ("link", "link_id"),
    "judgements": ("link", "link_id"),
    "verdicts": ("link", "link_id"),
    "papers": ("paper", "id"),
    "paper_authors": ("paper", "paper_id"),
    "paper_corrections": ("paper", "paper_id"),
}
EVENTS = ("insert", "update", "delete")
#: Migration 0005's transaction-local setting: the transaction that has bumped already.
MARK = "evtrack.bumped_in"


#: The ``links`` column a row naming a link or a paper is found by.
LINK_COLUMN = {"link": "id", "paper": "paper_id"}


def _linked(kind: str, keys: str) -> str:
    """The links of the rows whose keys ``keys`` lists (SQL: values or a SELECT)."""
    return f"FROM links WHERE {LINK_COLUMN[kind]} IN ({keys})"


def _sqlite_claims(kind: str, keys: list[str]) -> str:
    """The claims the rows ``keys`` (``NEW.x`` / ``OLD.x``) can change, as a SELECT."""
    if kind == "claim":
        return " UNION ".join(f"SELECT {k} AS claim_id" for k in keys)
    return f"SELECT claim_id {_linked(kind, ', '.join(keys))}"


def _sqlite_keys(column: str, event: str) -> list[str]:
    return ([f"NEW.{column}"] if event != "delete" else []) + \
        ([f"OLD.{column}"] if event != "insert" else [])


def _sqlite_when(kind: str, column: str, event: str) -> str:
    """The trigger's condition: for a row naming a link or a paper, that some link is there
    to find. An ingest writes papers and their authors that no claim links to yet, some ten
    rows per record: one index probe each instead of the two statements (15 % of its time)."""
    if kind == "claim":
        return ""
    return f" WHEN EXISTS (SELECT 1 {_linked(kind, ', '.join(_sqlite_keys(column, event)))})"


def _sqlite_body(kind: str, column: str, event: str) -> str:
    claims = _sqlite_claims(kind, _sqlite_keys(column, event))
    now = "(SELECT generation + 1 FROM ledger_state WHERE id = 1)"  # see the docstring
    # No UPSERT: an outer INSERT OR IGNORE would turn the trigger's own conflict clause into
    # IGNORE and keep an old mark. An UPDATE, then an INSERT of what is not there yet, means
    # the same under any outer clause.
    return (f"UPDATE claim_marks SET generation = {now} WHERE claim_id IN ({claims}); "
            f"INSERT INTO claim_marks (claim_id, generation) SELECT t.claim_id, {now} "
            f"FROM ({claims}) AS t WHERE t.claim_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM claim_marks m WHERE m.claim_id = t.claim_id);")


def _pg_function(table: str, kind: str, column: str, event: str) -> str:
    """The function of ``table``'s statement trigger for ``event``: the claims of every row
    the statement wrote, from its transition tables, marked at once. (Row triggers cost an
    ingest of 10,000 records 11-13 %: a PL/pgSQL call per row, ten rows per record; evtrack
    writes a batch as multi-row statements, so here it is one call per thousand rows.)"""
    rows = {"insert": ["new_rows"], "update": ["new_rows", "old_rows"],
            "delete": ["old_rows"]}[event]
    keys = " UNION ".join(f"SELECT {column} FROM {r}" for r in rows)
    claims = (f"SELECT {column} AS claim_id FROM ({keys}) AS k" if kind == "claim"
              else f"SELECT claim_id {_linked(kind, keys)}")
    return f"""
CREATE FUNCTION evtrack_mark_{table}_{event}() RETURNS trigger AS $$
DECLARE
  touched text[];
  now bigint;
BEGIN
  SELECT array_agg(DISTINCT t.claim_id) INTO touched FROM ({claims}) AS t
    WHERE t.claim_id IS NOT NULL;
  IF touched IS NULL THEN
    RETURN NULL;
  END IF;
  IF current_setting('{MARK}', true) IS DISTINCT FROM pg_current_xact_id()::text THEN
    UPDATE ledger_state SET generation = generation + 1 WHERE id = 1;
    PERFORM set_config('{MARK}', pg_current_xact_id()::text, true);
  END IF;
  SELECT generation INTO now FROM ledger_state WHERE id = 1;
  INSERT INTO claim_marks (claim_id, generation)
    SELECT c, now FROM unnest(touched) AS c
    ON CONFLICT (claim_id) DO UPDATE SET generation = EXCLUDED.generation;
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""


#: Each event's transition tables, for ``CREATE TRIGGER … REFERENCING``.
PG_REFERENCING = {"insert": "NEW TABLE AS new_rows",
                  "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                  "delete": "OLD TABLE AS old_rows"}


#: TRUNCATE fires no row trigger: it marks every claim there is.
PG_TRUNCATE = f"""
CREATE FUNCTION evtrack_mark_every_claim() RETURNS trigger AS $$
BEGIN
  IF current_setting('{MARK}', true) IS DISTINCT FROM pg_current_xact_id()::text THEN
    UPDATE ledger_state SET generation = generation + 1 WHERE id = 1;
    PERFORM set_config('{MARK}', pg_current_xact_id()::text, true);
  END IF;
  INSERT INTO claim_marks (claim_id, generation)
    SELECT id, (SELECT generation FROM ledger_state WHERE id = 1) FROM claims
    ON CONFLICT (claim_id) DO UPDATE SET generation = EXCLUDED.generation;
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "claim_marks",
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("claim_id"),
    )
    op.create_table(
        "report_parts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("judges", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", "claim_id"),
    )
    # Reports kept whole (format 2) are never read again; the parts replace them.
    op.execute("DELETE FROM report_cache")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TRUNCATE)
        for table, (kind, column) in MARKS.items():
            for event in EVENTS:  # one event per trigger: PostgreSQL's rule for REFERENCING
                op.execute(_pg_function(table, kind, column, event))
                op.execute(f"CREATE TRIGGER {table}_{event}_marks AFTER {event.upper()} "
                           f"ON {table} REFERENCING {PG_REFERENCING[event]} "
                           f"FOR EACH STATEMENT EXECUTE FUNCTION evtrack_mark_{table}_{event}()")
            op.execute(f"CREATE TRIGGER {table}_truncate_marks AFTER TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION evtrack_mark_every_claim()")
    else:
        for table, (kind, column) in MARKS.items():
            for event in EVENTS:
                op.execute(f"CREATE TRIGGER {table}_{event}_marks AFTER {event.upper()} "
                           f"ON {table}{_sqlite_when(kind, column, event)} "
                           f"BEGIN {_sqlite_body(kind, column, event)} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in MARKS:
            op.execute(f"DROP TRIGGER {table}_truncate_marks ON {table}")
            for event in EVENTS:
                op.execute(f"DROP TRIGGER {table}_{event}_marks ON {table}")
                op.execute(f"DROP FUNCTION evtrack_mark_{table}_{event}()")
        op.execute("DROP FUNCTION evtrack_mark_every_claim()")
    else:
        for table in MARKS:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER {table}_{event}_marks")
    op.drop_table("report_parts")
    op.drop_table("claim_marks")

"""export parts: each claim's rows of links.csv, kept beside its report part

``evtrack export --csv-only`` writes one row per claim–paper link: at a million links, 210 MB
of CSV made from the store in 13 s, although the ledger mostly has not changed since the last
export, or only for a few claims. ``export_parts`` keeps each claim's rows as written (zlib
compressed: a fifth of the size) with the generation of the snapshot they were read in and
the judges' fingerprint, exactly as ``report_parts`` keeps its report part; migration 0006's
claim marks say which are still good (:mod:`evtrack.report_cache`).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 21:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_parts",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("judges", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", "claim_id"),
    )


def downgrade() -> None:
    op.drop_table("export_parts")

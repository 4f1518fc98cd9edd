"""unbounded status texts: cited_references.resolution and link_provenance.detail become TEXT

SQLite never enforced the VARCHAR widths, PostgreSQL does: a citation resolved as
"unresolved; using file PMID (unverified)" (40 characters) or a curated paper's label longer
than 255 characters stopped a refresh there with "value too long for type character varying".
Both columns hold free text (a status sentence; a query name, PMID or curator's label), so they
get no width.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL: ALTER COLUMN ... TYPE TEXT, no rewrite (varchar and text share a format).
    # SQLite: batch mode copies the table; safe here because no foreign key points at either
    # table, so dropping the old copy cascades nowhere.
    with op.batch_alter_table("cited_references") as batch_op:
        batch_op.alter_column("resolution", existing_type=sa.String(length=32),
                              type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("link_provenance") as batch_op:
        batch_op.alter_column("detail", existing_type=sa.String(length=255),
                              type_=sa.Text(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("link_provenance") as batch_op:
        batch_op.alter_column("detail", existing_type=sa.Text(),
                              type_=sa.String(length=255), existing_nullable=False)
    with op.batch_alter_table("cited_references") as batch_op:
        batch_op.alter_column("resolution", existing_type=sa.Text(),
                              type_=sa.String(length=32), existing_nullable=False)

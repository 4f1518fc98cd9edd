"""claim snapshots: each claim's figures at the end of a refresh, for `evtrack diff`

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claim_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("support", sa.Float(), nullable=False),
        sa.Column("contradiction", sa.Float(), nullable=False),
        sa.Column("certainty", sa.String(length=16), nullable=False),
        sa.Column("independent_groups", sa.Integer(), nullable=False),
        sa.Column("links_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["refresh_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "claim_id"),
    )


def downgrade() -> None:
    op.drop_table("claim_snapshots")

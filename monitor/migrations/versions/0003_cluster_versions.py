"""Cluster versions: a substantially updated wire copy starts a new version of its cluster.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite cannot alter columns in place; on PostgreSQL it is plain ALTER TABLE.
    with op.batch_alter_table("clusters") as batch:
        batch.add_column(
            sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1"))
        )
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("stories") as batch:
        batch.add_column(
            sa.Column("cluster_version", sa.Integer, nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("cluster_version")
    with op.batch_alter_table("clusters") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("version")

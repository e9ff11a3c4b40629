"""Outbox modes: instant or digest, one row per cluster version, and the digests table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("schedule", sa.String(100), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("channel", "schedule", "period_end", name="uq_digest_once"),
    )
    # batch mode: SQLite cannot change a unique constraint in place (it copies the table).
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column("cluster_version", sa.Integer, nullable=False, server_default=sa.text("1"))
        )
        batch.add_column(sa.Column("mode", sa.String(16), nullable=False, server_default="instant"))
        batch.add_column(sa.Column("digest_id", sa.Integer))
        batch.drop_constraint("uq_delivery_once", type_="unique")
        batch.create_unique_constraint(
            "uq_delivery_once", ["rule_id", "cluster_id", "cluster_version", "channel"]
        )
        batch.create_index("ix_deliveries_digest_id", ["digest_id"])


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_digest_id")
        batch.drop_constraint("uq_delivery_once", type_="unique")
        batch.create_unique_constraint("uq_delivery_once", ["rule_id", "cluster_id", "channel"])
        batch.drop_column("digest_id")
        batch.drop_column("mode")
        batch.drop_column("cluster_version")
    op.drop_table("digests")

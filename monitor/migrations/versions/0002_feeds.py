"""The feed registry: feeds from config/feeds.yaml, the CLI and OPML imports.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("outlet", sa.String(200), nullable=False),
        sa.Column("interval_seconds", sa.Integer),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feeds_source", "feeds", ["source"])


def downgrade() -> None:
    op.drop_index("ix_feeds_source", table_name="feeds")
    op.drop_table("feeds")

"""An index on stories.fetched_at: the cluster index's restore and `rules test --since` read
the stories of a recent window, which was a scan of the whole table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stories_fetched_at", "stories", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_stories_fetched_at", table_name="stories")

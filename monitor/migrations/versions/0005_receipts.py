"""Receipts: which of a channel's recipients accepted an alert or digest, kept between attempts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("receipts", sa.JSON))
    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("receipts", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("receipts")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("receipts")

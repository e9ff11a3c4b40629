"""Alembic environment: runs on the connection wirewatch hands it (see monitor.store)."""

from __future__ import annotations

from alembic import context

from monitor.store import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("wirewatch migrations run through monitor.store.upgrade_schema()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

"""The story store: stories, story clusters, the alert outbox and the feed registry.

SQLite or PostgreSQL: one schema (SQLAlchemy Core) for both; Alembic migrations bring
a database up to it. Uniqueness lives in the schema (one story per canonical URL, one
delivery per rule, cluster and channel), so that racing workers cannot write a thing
twice. The ``feeds`` table is defined here so that ``metadata`` holds every table; the
functions that read and write it live in ``monitor.feed_registry``.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from monitor.model import (
    Article,
    Outlet,
    Story,
    StoryCluster,
    TopicEvidence,
    TopicMatch,
)
from monitor.records import topic_record

metadata = sa.MetaData()

stories = sa.Table(
    "stories",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("canonical_url", sa.Text, nullable=False, unique=True),
    sa.Column("final_url", sa.Text, nullable=False),
    sa.Column("feed_id", sa.String(200), nullable=False),
    sa.Column("outlet", sa.String(200), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("published", sa.DateTime(timezone=True)),
    sa.Column("author", sa.Text),
    sa.Column("sitename", sa.Text),
    sa.Column("language", sa.String(16)),
    sa.Column("language_confidence", sa.Float, nullable=False),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("topics", sa.JSON, nullable=False),
    sa.Column("cluster_id", sa.String(32), nullable=False, index=True),
    # indexed: the cluster index's restore and `rules test --since` read a recent window
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("cluster_version", sa.Integer, nullable=False, server_default=sa.text("1")),
)

clusters = sa.Table(
    "clusters",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("lead_story_id", sa.String(32), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
    # When the cluster's latest version (2 or later) started; None while it has only one.
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule_id", sa.String(200), nullable=False),
    sa.Column("cluster_id", sa.String(32), nullable=False),
    sa.Column("story_id", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("spans", sa.JSON, nullable=False),
    sa.Column("cluster_version", sa.Integer, nullable=False, server_default=sa.text("1")),
    sa.Column("mode", sa.String(16), nullable=False, server_default="instant"),
    sa.Column("digest_id", sa.Integer, index=True),
    # The recipients that accepted it (monitor.receipts): the next attempt skips them.
    sa.Column("receipts", sa.JSON(none_as_null=True)),
    sa.UniqueConstraint(
        "rule_id", "cluster_id", "cluster_version", "channel", name="uq_delivery_once"
    ),
)

digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(200), nullable=False),
    sa.Column("schedule", sa.String(100), nullable=False),
    sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("receipts", sa.JSON(none_as_null=True)),
    sa.UniqueConstraint("channel", "schedule", "period_end", name="uq_digest_once"),
)

feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("outlet", sa.String(200), nullable=False),
    sa.Column("interval_seconds", sa.Integer),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("source", sa.String(16), nullable=False, index=True),
    sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
)


def database_url(configured: str, data_dir: Path) -> str:
    return configured or f"sqlite:///{data_dir / 'wirewatch.db'}"


def open_store(url: str, *, migrate: bool = True) -> Engine:
    """Create the engine (SQLite: WAL, busy timeout) and bring the schema up to date."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    if migrate:
        upgrade_schema(engine)
    return engine


# pg_advisory_xact_lock's key for schema upgrades (any constant all wirewatch processes share)
MIGRATION_LOCK_KEY = 0x77697265  # "wire"


def upgrade_schema(engine: Engine) -> None:
    """Migrate to the latest schema, one process at a time: a scheduler and workers started
    together must not all create the same tables (the others then find it done)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with _sqlite_migration_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # released when the transaction ends
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextlib.contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on a file next to an SQLite database (one machine: a file lock
    serves); nothing for other databases, which lock inside the transaction."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with Path(f"{database}.migrate-lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def as_utc(value: datetime | None) -> datetime | None:
    """A database datetime as an aware UTC one (SQLite returns naive ones)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _topics_from_json(rows: list[dict[str, Any]]) -> tuple[TopicMatch, ...]:
    return tuple(
        TopicMatch(
            id=r["id"],
            label=r["label"],
            score=float(r["score"]),
            evidence=tuple(TopicEvidence(**e) for e in r.get("evidence", [])),
            basis="lead" if r.get("basis") == "lead" else "threshold",
        )
        for r in rows
    )


def save_story(engine: Engine, story: Story) -> bool:
    """Store a story and open or extend its cluster. False if the story was already stored."""
    a = story.article
    row = {
        "id": story.id,
        "url": a.url,
        "canonical_url": a.canonical_url,
        "final_url": a.final_url,
        "feed_id": a.feed_id,
        "outlet": a.outlet,
        "title": a.title,
        "text": a.text,
        "published": as_utc(a.published),
        "author": a.author,
        "sitename": a.sitename,
        "language": a.language,
        "language_confidence": a.language_confidence,
        "sources": dict(a.sources),
        "topics": [topic_record(t) for t in story.topics],
        "cluster_id": story.cluster_id,
        "fetched_at": as_utc(story.fetched_at),
        "cluster_version": story.cluster_version,
    }
    try:
        with engine.begin() as conn:
            conn.execute(stories.insert().values(**row))
    except IntegrityError:
        return False
    extend_cluster(engine, story)
    return True


def extend_cluster(engine: Engine, story: Story) -> None:
    """Open the story's cluster, or move its last_seen (and its version) forward; idempotent
    (a re-run completes a save that a crash cut after the story's own row).

    Each update only moves forward (``last_seen < seen``, ``version < v``), so racing
    workers and out-of-order saves leave the latest values whatever the order.
    """
    seen = as_utc(story.fetched_at)
    version = story.cluster_version
    try:
        with engine.begin() as conn:
            conn.execute(
                clusters.insert().values(
                    id=story.cluster_id,
                    lead_story_id=story.id,
                    title=story.article.title,
                    first_seen=seen,
                    last_seen=seen,
                    version=version,
                    updated_at=seen if version > 1 else None,
                )
            )
    except IntegrityError:
        with engine.begin() as conn:
            conn.execute(
                clusters.update()
                .where(clusters.c.id == story.cluster_id, clusters.c.last_seen < seen)
                .values(last_seen=seen)
            )
            conn.execute(
                clusters.update()
                .where(clusters.c.id == story.cluster_id, clusters.c.version < version)
                .values(version=version, updated_at=seen)
            )


def _story_from_row(row: sa.Row[Any]) -> Story:
    m = row._mapping
    article = Article(
        url=m["url"],
        canonical_url=m["canonical_url"],
        final_url=m["final_url"],
        feed_id=m["feed_id"],
        outlet=m["outlet"],
        title=m["title"],
        text=m["text"],
        published=as_utc(m["published"]),
        author=m["author"],
        sitename=m["sitename"],
        language=m["language"],
        language_confidence=m["language_confidence"],
        sources=tuple(sorted((m["sources"] or {}).items())),
    )
    fetched = as_utc(m["fetched_at"])
    assert fetched is not None
    return Story(
        article,
        _topics_from_json(m["topics"]),
        m["cluster_id"],
        fetched,
        cluster_version=m["cluster_version"],
    )


def get_story(engine: Engine, story_id: str) -> Story | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(stories).where(stories.c.id == story_id)).first()
    return _story_from_row(row) if row is not None else None


def list_stories(
    engine: Engine,
    *,
    leads_only: bool = True,
    limit: int | None = None,
    since: datetime | None = None,
) -> list[Story]:
    """The latest stored (``fetched_at``) first, those stored at ``since`` or later; with
    ``leads_only`` one story per cluster (its lead)."""
    query = sa.select(stories)
    if leads_only:
        query = query.join(clusters, clusters.c.lead_story_id == stories.c.id)
    if since is not None:
        query = query.where(stories.c.fetched_at >= as_utc(since))
    query = query.order_by(stories.c.fetched_at.desc(), stories.c.id).limit(limit)
    with engine.connect() as conn:
        return [_story_from_row(row) for row in conn.execute(query)]


def get_cluster(engine: Engine, cluster_id: str) -> StoryCluster | None:
    with engine.connect() as conn:
        row = conn.execute(sa.select(clusters).where(clusters.c.id == cluster_id)).first()
        if row is None:
            return None
        members = conn.execute(
            sa.select(stories.c.id, stories.c.outlet, stories.c.url)
            .where(stories.c.cluster_id == cluster_id)
            .order_by(stories.c.fetched_at, stories.c.id)
        ).all()
    m = row._mapping
    first, last = as_utc(m["first_seen"]), as_utc(m["last_seen"])
    assert first is not None and last is not None
    outlets = tuple(Outlet(name=r.outlet, url=r.url, story_id=r.id) for r in members)
    return StoryCluster(
        m["id"],
        m["lead_story_id"],
        m["title"],
        first,
        last,
        outlets,
        version=m["version"],
        updated_at=as_utc(m["updated_at"]),
    )


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: int(
                conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            )
            for table in (stories, clusters, deliveries)
        }

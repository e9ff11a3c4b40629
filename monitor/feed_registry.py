"""The feed registry: every feed wirewatch polls, kept in the story store.

Feeds come from three places, recorded as each row's ``source``: ``config``
(``config/feeds.yaml``, synced in at start by ``sync_config_feeds``), ``cli``
(``wirewatch feeds add``) and ``opml`` (``wirewatch feeds import``). For 100,000 feeds
the database is the registry, not a YAML file: writes are batched, in one transaction,
and work the same on SQLite and PostgreSQL (``INSERT … ON CONFLICT DO UPDATE``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from monitor.model import Feed
from monitor.store import feeds as feed_table

BATCH_SIZE = 1000
"""Rows per executemany batch when upserting."""
IN_CHUNK = 500
"""Ids per ``IN (…)`` list (below SQLite's historical 999-parameter limit)."""

_T = TypeVar("_T")
_UPDATED_COLUMNS = ("url", "outlet", "interval_seconds", "tags", "source")


class FeedSource(enum.StrEnum):
    """Where a registered feed came from."""

    CONFIG = "config"
    CLI = "cli"
    OPML = "opml"


@dataclass(frozen=True)
class RegisteredFeed:
    """A feed as the registry holds it: the feed, where it came from and when it was added."""

    feed: Feed
    source: FeedSource
    added_at: datetime


def upsert_feeds(
    engine: Engine,
    feeds: Iterable[Feed],
    source: str,
    now: datetime,
    *,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Insert or update feeds by id (url, outlet, interval, tags, source) in one transaction.

    A later feed with the same id as an earlier one wins. ``on_batch`` is called with the
    number of feeds written after each batch (for progress bars). Returns how many rows
    were new; ``ValueError`` for an unknown source.
    """
    with engine.begin() as conn:
        return _upsert(conn, feeds, FeedSource(source), now, on_batch)


def remove_feed(engine: Engine, feed_id: str) -> bool:
    """Delete one feed; False if there was none with this id."""
    with engine.begin() as conn:
        result = conn.execute(sa.delete(feed_table).where(feed_table.c.id == feed_id))
    return result.rowcount > 0


def list_feeds(engine: Engine) -> list[Feed]:
    """Every registered feed, ordered by id."""
    return [registered.feed for registered in list_registered(engine)]


def list_registered(engine: Engine) -> list[RegisteredFeed]:
    """Every registered feed with its source and when it was added, ordered by id."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(feed_table).order_by(feed_table.c.id))
        return [_registered_from_row(row) for row in rows]


def get_registered(engine: Engine, feed_id: str) -> RegisteredFeed | None:
    """One registered feed, or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(feed_table).where(feed_table.c.id == feed_id)).first()
    return _registered_from_row(row) if row is not None else None


def find_by_url(engine: Engine, url: str) -> RegisteredFeed | None:
    """The registered feed polling this exact URL (the first by id), or None."""
    query = sa.select(feed_table).where(feed_table.c.url == url).order_by(feed_table.c.id)
    with engine.connect() as conn:
        row = conn.execute(query.limit(1)).first()
    return _registered_from_row(row) if row is not None else None


def get_feeds(engine: Engine, ids: Sequence[str]) -> list[Feed]:
    """The feeds with these ids, in the order asked for; unknown ids are left out."""
    found: dict[str, Feed] = {}
    with engine.connect() as conn:
        for chunk in _chunks(list(dict.fromkeys(ids)), IN_CHUNK):
            for row in conn.execute(sa.select(feed_table).where(feed_table.c.id.in_(chunk))):
                found[row.id] = _registered_from_row(row).feed
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def sync_config_feeds(engine: Engine, feeds: Sequence[Feed], now: datetime) -> None:
    """Make the registry's ``config`` rows exactly the config's feeds, in one transaction.

    Config feeds are upserted with source ``config`` (a CLI or OPML feed with the same id
    becomes a config feed); ``config`` rows no longer in the config are deleted. Rows from
    the CLI or OPML imports are never touched otherwise.
    """
    wanted = {feed.id for feed in feeds}
    with engine.begin() as conn:
        _upsert(conn, feeds, FeedSource.CONFIG, now, None)
        stored = conn.execute(
            sa.select(feed_table.c.id).where(feed_table.c.source == FeedSource.CONFIG.value)
        ).scalars()
        gone = [feed_id for feed_id in stored if feed_id not in wanted]
        for chunk in _chunks(gone, IN_CHUNK):
            conn.execute(sa.delete(feed_table).where(feed_table.c.id.in_(chunk)))


def _upsert(
    conn: Connection,
    feeds: Iterable[Feed],
    source: FeedSource,
    now: datetime,
    on_batch: Callable[[int], None] | None,
) -> int:
    unique = list({feed.id: feed for feed in feeds}.values())
    added_at = _as_utc(now)
    statement = _upsert_statement(conn.dialect.name)
    new = 0
    for batch in _chunks(unique, BATCH_SIZE):
        ids = [feed.id for feed in batch]
        existing: set[str] = set()
        for chunk in _chunks(ids, IN_CHUNK):
            existing.update(
                conn.execute(sa.select(feed_table.c.id).where(feed_table.c.id.in_(chunk))).scalars()
            )
        new += len(batch) - len(existing)
        conn.execute(statement, [_row(feed, source, added_at) for feed in batch])
        if on_batch is not None:
            on_batch(len(batch))
    return new


def _upsert_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (id) DO UPDATE`` in the dialect's own construct."""
    if dialect == "postgresql":
        pg_insert = postgresql.insert(feed_table)
        return pg_insert.on_conflict_do_update(
            index_elements=[feed_table.c.id],
            set_={name: pg_insert.excluded[name] for name in _UPDATED_COLUMNS},
        )
    if dialect == "sqlite":
        lite_insert = sqlite.insert(feed_table)
        return lite_insert.on_conflict_do_update(
            index_elements=[feed_table.c.id],
            set_={name: lite_insert.excluded[name] for name in _UPDATED_COLUMNS},
        )
    raise NotImplementedError(f"the feed registry supports sqlite and postgresql, not {dialect}")


def _row(feed: Feed, source: FeedSource, added_at: datetime) -> dict[str, Any]:
    return {
        "id": feed.id,
        "url": feed.url,
        "outlet": feed.outlet,
        "interval_seconds": feed.interval_seconds,
        "tags": list(feed.tags),
        "source": source.value,
        "added_at": added_at,
    }


def _registered_from_row(row: sa.Row[Any]) -> RegisteredFeed:
    m = row._mapping
    feed = Feed(
        id=m["id"],
        url=m["url"],
        outlet=m["outlet"],
        interval_seconds=m["interval_seconds"],
        tags=tuple(m["tags"] or ()),
    )
    return RegisteredFeed(feed, FeedSource(m["source"]), _as_utc(m["added_at"]))


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""The feed registry in the story store: upserts that count, config sync, large batches.

Runs on SQLite and on PostgreSQL (a throwaway server, or $WIREWATCH_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from monitor import store
from monitor.feed_registry import (
    BATCH_SIZE,
    FeedSource,
    find_by_url,
    get_feeds,
    get_registered,
    list_feeds,
    list_registered,
    remove_feed,
    sync_config_feeds,
    upsert_feeds,
)
from monitor.model import Feed

NOW = datetime(2025, 8, 15, 20, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


@pytest.fixture
def engine(any_store: Engine) -> Engine:
    return any_store


def feed(n: int, **changes: object) -> Feed:
    values: dict[str, object] = {
        "id": f"feed-{n:06d}",
        "url": f"https://outlet{n}.test/rss.xml",
        "outlet": f"Outlet {n}",
        "interval_seconds": None,
        "tags": ("de", "news"),
    }
    values.update(changes)
    return Feed(**values)  # type: ignore[arg-type]


def test_upsert_returns_how_many_rows_were_new(engine: Engine) -> None:
    assert upsert_feeds(engine, [feed(1), feed(2), feed(3)], "cli", NOW) == 3
    assert upsert_feeds(engine, [feed(2), feed(3), feed(4)], "cli", NOW) == 1
    assert len(list_feeds(engine)) == 4


def test_upsert_updates_url_outlet_interval_tags_and_source_but_not_added_at(
    engine: Engine,
) -> None:
    upsert_feeds(engine, [feed(1)], "cli", NOW)
    changed = feed(1, url="https://moved.test/feed", outlet="Moved", interval_seconds=600, tags=())
    assert upsert_feeds(engine, [changed], "opml", LATER) == 0
    registered = get_registered(engine, "feed-000001")
    assert registered is not None
    assert (registered.feed, registered.source, registered.added_at) == (
        changed,
        FeedSource.OPML,
        NOW,
    )


def test_upsert_with_one_id_twice_keeps_the_last(engine: Engine) -> None:
    assert upsert_feeds(engine, [feed(1), feed(1, outlet="Second")], "cli", NOW) == 1
    assert [f.outlet for f in list_feeds(engine)] == ["Second"]


def test_upsert_refuses_an_unknown_source(engine: Engine) -> None:
    with pytest.raises(ValueError, match="yaml"):
        upsert_feeds(engine, [feed(1)], "yaml", NOW)
    assert list_feeds(engine) == []


def test_twenty_thousand_feeds_are_upserted_in_one_call_within_seconds(engine: Engine) -> None:
    many = [feed(n) for n in range(20_000)]
    started = time.perf_counter()
    assert upsert_feeds(engine, many, "opml", NOW) == 20_000
    assert upsert_feeds(engine, many, "opml", NOW) == 0
    assert time.perf_counter() - started < 30  # about 0.5 s on SQLite on a laptop
    assert len(list_feeds(engine)) == 20_000


def test_upsert_reports_each_batch_for_progress_bars(engine: Engine) -> None:
    done: list[int] = []
    upsert_feeds(
        engine, [feed(n) for n in range(2 * BATCH_SIZE + 1)], "opml", NOW, on_batch=done.append
    )
    assert done == [BATCH_SIZE, BATCH_SIZE, 1]


def test_remove_feed_says_whether_there_was_one(engine: Engine) -> None:
    upsert_feeds(engine, [feed(1)], "cli", NOW)
    assert remove_feed(engine, "feed-000001")
    assert not remove_feed(engine, "feed-000001")
    assert list_feeds(engine) == []


def test_find_by_url_returns_the_feed_polling_that_url(engine: Engine) -> None:
    upsert_feeds(engine, [feed(1), feed(2)], "cli", NOW)
    found = find_by_url(engine, "https://outlet2.test/rss.xml")
    assert found is not None and found.feed == feed(2)
    assert find_by_url(engine, "https://outlet3.test/rss.xml") is None


def test_list_feeds_is_ordered_by_id(engine: Engine) -> None:
    upsert_feeds(engine, [feed(3), feed(1), feed(2)], "cli", NOW)
    assert [f.id for f in list_feeds(engine)] == ["feed-000001", "feed-000002", "feed-000003"]


def test_get_feeds_with_thousands_of_ids_returns_them_in_the_order_asked(engine: Engine) -> None:
    upsert_feeds(engine, [feed(n) for n in range(3000)], "opml", NOW)
    wanted = [f"feed-{n:06d}" for n in range(2999, -1, -2)] + ["unknown"]
    found = get_feeds(engine, wanted)
    assert [f.id for f in found] == wanted[:-1]
    assert found[0] == feed(2999)


def test_sync_keeps_cli_and_opml_rows_and_drops_config_rows_no_longer_configured(
    engine: Engine,
) -> None:
    sync_config_feeds(engine, [feed(1), feed(2)], NOW)
    upsert_feeds(engine, [feed(3)], "cli", NOW)
    upsert_feeds(engine, [feed(4)], "opml", NOW)
    sync_config_feeds(engine, [feed(2)], LATER)
    assert [(r.feed.id, r.source) for r in list_registered(engine)] == [
        ("feed-000002", FeedSource.CONFIG),
        ("feed-000003", FeedSource.CLI),
        ("feed-000004", FeedSource.OPML),
    ]


def test_sync_applies_changes_to_configured_feeds(engine: Engine) -> None:
    sync_config_feeds(engine, [feed(1)], NOW)
    sync_config_feeds(engine, [feed(1, interval_seconds=120, tags=("en",))], LATER)
    assert list_feeds(engine) == [feed(1, interval_seconds=120, tags=("en",))]


def test_sync_turns_a_cli_feed_with_a_configured_id_into_a_config_feed(engine: Engine) -> None:
    upsert_feeds(engine, [feed(1, url="https://cli.test/rss")], "cli", NOW)
    sync_config_feeds(engine, [feed(1)], LATER)
    registered = get_registered(engine, "feed-000001")
    assert registered is not None
    assert (registered.feed, registered.source) == (feed(1), FeedSource.CONFIG)


def test_migrations_create_the_feeds_table_the_code_describes(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), store.metadata)
    assert [d for d in differences if "feeds" in repr(d)] == []


def test_migration_0002_downgrades_to_0001_and_back(tmp_path: Path) -> None:
    engine = store.open_store(store.database_url("", tmp_path))
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(store.__file__).parent / "migrations"))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    assert "feeds" not in sa.inspect(engine).get_table_names()
    store.upgrade_schema(engine)
    assert "feeds" in sa.inspect(engine).get_table_names()

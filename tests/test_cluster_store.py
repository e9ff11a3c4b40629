"""Cluster versions in the story store (SQLite and PostgreSQL): the 0003 migration, and
stories and clusters that keep their version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Engine

from monitor import store
from monitor.model import Article, Story

NOW = datetime(2025, 8, 15, 20, 30, tzinfo=UTC)


@pytest.fixture
def engine(any_store: Engine) -> Engine:
    return any_store


def story(url: str, cluster: str | None = None, version: int = 1, at: datetime = NOW) -> Story:
    article = Article(
        url=url,
        canonical_url=url,
        final_url=url,
        feed_id="rundblick",
        outlet="Rundblick",
        title="US-Russland-Gipfel gestartet",
        text="Anchorage (dpa) - Der Gipfel …",
        published=NOW,
        author="dpa",
        sitename="Rundblick",
        language="de",
        language_confidence=0.99,
    )
    return Story(article, (), cluster or article.id, at, cluster_version=version)


def migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(Path(store.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_migration_0003_gives_existing_rows_version_1(engine: Engine) -> None:
    migrate(engine, "0002", down=True)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO stories (id, url, canonical_url, final_url, feed_id, outlet, title,"
                " text, language_confidence, sources, topics, cluster_id, fetched_at) VALUES"
                " ('s1', 'u', 'u', 'u', 'f', 'o', 't', 'x', 1.0, '{}', '[]', 's1', :at)"
            ),
            {"at": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO clusters (id, lead_story_id, title, first_seen, last_seen)"
                " VALUES ('s1', 's1', 't', :at, :at)"
            ),
            {"at": NOW},
        )
    store.upgrade_schema(engine)
    loaded = store.get_story(engine, "s1")
    cluster = store.get_cluster(engine, "s1")
    assert loaded is not None and loaded.cluster_version == 1
    assert cluster is not None and (cluster.version, cluster.updated_at) == (1, None)


def test_migration_0003_downgrades_and_upgrades_again(engine: Engine) -> None:
    migrate(engine, "0002", down=True)
    assert "version" not in {c["name"] for c in sa.inspect(engine).get_columns("clusters")}
    migrate(engine, "0003")
    assert {"version", "updated_at"} <= {
        c["name"] for c in sa.inspect(engine).get_columns("clusters")
    }
    assert "cluster_version" in {c["name"] for c in sa.inspect(engine).get_columns("stories")}


def test_a_story_keeps_its_cluster_version(engine: Engine) -> None:
    lead = story("http://a.test/1")
    update = story("http://b.test/2", cluster=lead.id, version=2)
    store.save_story(engine, lead)
    store.save_story(engine, update)
    assert store.get_story(engine, update.id) == update


def test_a_new_version_moves_the_cluster_to_it(engine: Engine) -> None:
    lead = story("http://a.test/1")
    later = NOW + timedelta(hours=1)
    store.save_story(engine, lead)
    store.save_story(engine, story("http://b.test/2", cluster=lead.id, version=2, at=later))
    cluster = store.get_cluster(engine, lead.id)
    assert cluster is not None
    assert (cluster.version, cluster.updated_at, cluster.lead_story_id) == (2, later, lead.id)


def test_a_late_copy_of_an_old_version_does_not_move_the_cluster_back(engine: Engine) -> None:
    lead = story("http://a.test/1")
    updated_at, late = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    store.save_story(engine, lead)
    store.save_story(engine, story("http://b.test/2", lead.id, version=2, at=updated_at))
    store.save_story(engine, story("http://c.test/3", lead.id, version=1, at=late))
    cluster = store.get_cluster(engine, lead.id)
    assert cluster is not None
    assert (cluster.version, cluster.updated_at, cluster.last_seen) == (2, updated_at, late)


def test_a_cluster_first_seen_through_an_update_starts_at_its_version(engine: Engine) -> None:
    update = story("http://b.test/2", cluster="lost-lead", version=2)
    store.save_story(engine, update)
    cluster = store.get_cluster(engine, "lost-lead")
    assert cluster is not None and (cluster.version, cluster.updated_at) == (2, NOW)

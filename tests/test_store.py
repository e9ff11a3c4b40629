"""The story store on SQLite: uniqueness that holds, clusters with their outlets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

from monitor import outbox, store
from monitor.model import (
    AlertHit,
    Article,
    DeliveryState,
    MatchSpan,
    Story,
    TopicEvidence,
    TopicMatch,
)

NOW = datetime(2025, 8, 15, 20, 30, tzinfo=UTC)


@pytest.fixture
def engine(any_store: Engine) -> Engine:
    return any_store


def story(url: str, outlet: str, cluster: str | None = None, fetched: datetime = NOW) -> Story:
    article = Article(
        url=url + "?utm_source=rss",
        canonical_url=url,
        final_url=url,
        feed_id=outlet.lower(),
        outlet=outlet,
        title="US-Russland-Gipfel gestartet",
        text="Anchorage (dpa) - Der Gipfel …",
        published=datetime(2025, 8, 15, 20, 7, tzinfo=UTC),
        author="dpa",
        sitename=outlet,
        language="de",
        language_confidence=0.99,
        sources=(("text", "page"),),
    )
    topics = (
        TopicMatch(
            "world/ukraine-war", "Ukraine war", 0.9, (TopicEvidence("Selenskyj", "text", 2, 1.0),)
        ),
    )
    return Story(article, topics, cluster or article.id, fetched)


def test_story_round_trips_with_topics_and_evidence(engine: Engine) -> None:
    original = story("http://a.test/1", "Rundblick")
    assert store.save_story(engine, original)
    loaded = store.get_story(engine, original.id)
    assert loaded == original


def test_a_topic_assigned_as_a_lead_keeps_its_basis(engine: Engine) -> None:
    original = story("http://a.test/1", "Rundblick")
    lead = TopicMatch("economy", "Economy", 0.38, original.topics[0].evidence, "lead")
    original = replace(original, topics=(lead,))
    store.save_story(engine, original)
    loaded = store.get_story(engine, original.id)
    assert loaded is not None and loaded.topics[0].basis == "lead"


def test_same_canonical_url_is_stored_once(engine: Engine) -> None:
    assert store.save_story(engine, story("http://a.test/1", "Rundblick"))
    assert not store.save_story(engine, story("http://a.test/1", "Rundblick"))
    assert store.count_rows(engine)["stories"] == 1


def test_copies_join_the_cluster_of_the_lead_and_list_their_outlets(engine: Engine) -> None:
    lead = story("http://a.test/1", "Rundblick")
    store.save_story(engine, lead)
    later = NOW.replace(minute=45)
    store.save_story(
        engine, story("http://b.test/9", "Hanse-Kurier", cluster=lead.id, fetched=later)
    )
    cluster = store.get_cluster(engine, lead.id)
    assert cluster is not None
    assert cluster.lead_story_id == lead.id
    assert [o.name for o in cluster.outlets] == ["Rundblick", "Hanse-Kurier"]
    assert [s.id for s in store.list_stories(engine)] == [lead.id]
    assert len(store.list_stories(engine, leads_only=False)) == 2


def test_stories_since_a_time_are_those_stored_at_it_or_later(engine: Engine) -> None:
    older = story("http://a.test/1", "Rundblick", fetched=NOW.replace(hour=8))
    newer = story("http://b.test/2", "Hanse-Kurier", fetched=NOW.replace(hour=20))
    store.save_story(engine, older)
    store.save_story(engine, newer)
    since = NOW.replace(hour=12)
    assert [s.id for s in store.list_stories(engine, leads_only=False, since=since)] == [newer.id]


def test_the_migrations_build_the_schema_the_code_describes(engine: Engine) -> None:
    """Tables, columns and indexes alike: a column or index added to one and not the other
    would differ between a new store and an upgraded one."""
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), store.metadata) == []


def test_delivery_is_recorded_once_per_rule_cluster_and_channel(engine: Engine) -> None:
    hit = AlertHit("putin-selenskyj", "s1", "c1", (MatchSpan("text", 0, 5, "Putin"),))
    first = outbox.record_delivery(engine, hit, "mail", NOW)
    assert first is not None and first.state is DeliveryState.PENDING
    assert first.spans == hit.spans
    assert outbox.record_delivery(engine, hit, "mail", NOW) is None
    assert outbox.record_delivery(engine, hit, "webhook", NOW) is not None


def test_delivery_state_updates_are_persisted(engine: Engine) -> None:
    delivery = outbox.record_delivery(engine, AlertHit("r", "s", "c"), "mail", NOW)
    assert delivery is not None
    outbox.update_delivery(engine, delivery.id, state=DeliveryState.SENT, attempts=1, sent_at=NOW)
    loaded = outbox.get_delivery(engine, delivery.id)
    assert loaded is not None and (loaded.state, loaded.attempts, loaded.sent_at) == (
        DeliveryState.SENT,
        1,
        NOW,
    )


def test_schema_migration_is_idempotent(tmp_path: Path) -> None:
    url = store.database_url("", tmp_path)
    store.open_store(url)
    engine = store.open_store(url)
    assert store.count_rows(engine) == {"stories": 0, "clusters": 0, "deliveries": 0}

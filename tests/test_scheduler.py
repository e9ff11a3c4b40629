"""The scheduler with a real Redis: one leader, fast takeover, leased claims, and exactly one
article job per URL with two schedulers and two poller processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy.engine import Engine

from monitor import store
from monitor.config import Config, load_config
from monitor.feed_state import claim_due, schedule_new_feeds
from monitor.queues import POLL_JOB, QueueName, enqueue_claimed, queue
from monitor.redis_server import RedisHandle
from monitor.scheduler import FeedScheduler, hold_leadership, poll_job_timeout
from tests.support import ROOT, LoopbackServer, Reply
from tests.test_poll import rss

NOW = datetime(2025, 8, 15, 20, 0, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path, http_server: LoopbackServer) -> Config:
    directory = tmp_path / "config"
    directory.mkdir()
    for name in ("topics.yaml", "alerts.yaml", "channels.yaml"):
        (directory / name).write_text((ROOT / "config" / name).read_text())
    (directory / "wirewatch.yaml").write_text(
        "demo: {enabled: false}\nfetch: {per_host_delay: 0, allow: ['127.0.0.0/8']}\n"
        "polling: {batch_size: 1}\n"
    )
    (directory / "feeds.yaml").write_text(
        "feeds:\n"
        f"  - {{id: one, url: '{http_server.base_url}/one.xml', outlet: One}}\n"
        f"  - {{id: two, url: '{http_server.base_url}/two.xml', outlet: Two}}\n"
    )
    # Two feeds that list overlapping articles: 1-5 and 3-7, seven distinct URLs.
    http_server.serve("/one.xml", Reply(200, rss(http_server.base_url, range(1, 6), "one")))
    http_server.serve("/two.xml", Reply(200, rss(http_server.base_url, range(3, 8), "two")))
    return load_config(directory)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return store.open_store(store.database_url("", tmp_path / "data"))


def test_only_one_of_two_schedulers_leads(
    config: Config, engine: Engine, redis_conn: redis.Redis
) -> None:
    first, second = (
        FeedScheduler(redis_conn, engine, config),
        FeedScheduler(redis_conn, engine, config),
    )
    assert first.tick(NOW) == 2
    assert second.tick(NOW) == 0
    assert (first.leading, second.leading) == (True, False)


def test_a_standby_takes_over_when_the_leader_stops_renewing(redis_conn: redis.Redis) -> None:
    assert hold_leadership(redis_conn, "leader", ttl_seconds=0.3)
    assert not hold_leadership(redis_conn, "standby")
    time.sleep(0.4)
    assert hold_leadership(redis_conn, "standby")


def test_a_stopped_leader_resigns_at_once(
    config: Config, engine: Engine, redis_conn: redis.Redis
) -> None:
    first, second = (
        FeedScheduler(redis_conn, engine, config),
        FeedScheduler(redis_conn, engine, config),
    )
    first.tick(NOW)
    first.stop()
    second.tick(NOW)
    assert second.leading


def test_due_feeds_are_claimed_once_until_their_lease_ends(redis_conn: redis.Redis) -> None:
    schedule_new_feeds(redis_conn, ["a", "b"], NOW)
    lease = NOW + timedelta(minutes=15)
    assert sorted(claim_due(redis_conn, NOW, 100, lease)) == ["a", "b"]
    assert claim_due(redis_conn, NOW + timedelta(minutes=1), 100, lease) == []
    assert sorted(claim_due(redis_conn, lease, 100, lease + timedelta(minutes=15))) == ["a", "b"]


def test_two_schedulers_and_two_pollers_make_one_article_job_per_url(
    config: Config,
    engine: Engine,
    redis_server: RedisHandle,
    redis_conn: redis.Redis,
    tmp_path: Path,
) -> None:
    schedulers = [FeedScheduler(redis_conn, engine, config) for _ in range(2)]
    threads = [threading.Thread(target=s.tick, args=(NOW,)) for s in schedulers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # A leadership handover at the wrong moment could dispatch the same feeds again:
    # enqueue every feed's poll a second time, so that both pollers race on the same URLs.
    for feed in config.feeds:
        enqueue_claimed(
            redis_conn,
            QueueName.POLL,
            POLL_JOB,
            ([feed],),
            job_id=f"again-{feed.id}",
            claim=f"wirewatch:test:again-{feed.id}",
            claim_ttl=timedelta(minutes=5),
            job_timeout=poll_job_timeout(config),
        )
    assert queue(QueueName.POLL, redis_conn).count == 4

    env = {**os.environ, "WIREWATCH_HOME": str(tmp_path / "data")}
    command = [
        sys.executable,
        "-m",
        "monitor.cli",
        "--config",
        str(config.directory),
        "worker",
        "--burst",
        "--redis-url",
        redis_server.url,
        "--queues",
        str(QueueName.POLL),
    ]
    pollers = [
        subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    for poller in pollers:
        _, stderr = poller.communicate(timeout=120)
        assert poller.returncode == 0, stderr
    jobs = queue(QueueName.ARTICLES, redis_conn).job_ids
    assert len(jobs) == len(set(jobs)) == 7

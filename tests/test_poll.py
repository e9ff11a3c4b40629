"""The poll job against loopback servers that misbehave on demand, with a real Redis."""

from __future__ import annotations

import asyncio
import shutil
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import redis
from rq import SimpleWorker

from monitor.config import Config, FetchSettings, load_config
from monitor.feed_state import claim_polls, load_feed_state
from monitor.model import Feed, FeedState, FeedStatus
from monitor.queues import POLL_JOB, QueueName, queue
from monitor.redis_server import RedisHandle
from tests.support import ROOT, LoopbackServer, Reply
from workers import jobs
from workers.poll import poll_batch
from workers.runtime import configure

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test</title><link>http://127.0.0.1/</link>{items}</channel></rss>"""
ITEM = """<item><title>{n}</title><link>{link}</link><guid>{guid}</guid>
<pubDate>Fri, 15 Aug 2025 20:0{n}:00 GMT</pubDate></item>"""


def rss(base: str, numbers: range, guid_prefix: str = "g") -> bytes:
    items = "".join(
        ITEM.format(n=n, link=f"{base}/a/{n}.html?utm_source=rss", guid=f"{guid_prefix}{n}")
        for n in numbers
    )
    return RSS.format(items=items).encode()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    directory = tmp_path / "config"
    shutil.copytree(ROOT / "config", directory)
    (directory / "wirewatch.yaml").write_text(
        "demo: {enabled: false}\n"
        "fetch: {per_host_delay: 0, total_timeout: 2, read_timeout: 1, allow: ['127.0.0.0/8']}\n"
    )
    return load_config(directory)


@pytest.fixture
def runtime_ready(
    config: Config, tmp_path: Path, redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    configure(config, tmp_path / "data", redis_server.url)


def feed(server: LoopbackServer, path: str = "/feed.xml") -> Feed:
    return Feed(id="test-feed", url=server.base_url + path, outlet="Test")


def article_jobs(connection: redis.Redis) -> list[str]:
    return list(queue(QueueName.ARTICLES, connection).job_ids)


@pytest.mark.usefixtures("runtime_ready")
def test_new_items_become_article_jobs_once(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    body = rss(http_server.base_url, range(1, 4))
    http_server.serve("/feed.xml", Reply(200, body, {"ETag": '"v1"'}))
    assert jobs.poll_feeds([feed(http_server)])["new"] == 3
    assert jobs.poll_feeds([feed(http_server)])["new"] == 0
    assert len(article_jobs(redis_conn)) == 3


@pytest.mark.usefixtures("runtime_ready")
def test_a_feed_another_job_is_polling_is_skipped_not_polled_twice(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    """Two jobs for one feed (one left queued by a stopped run, one dispatched since)."""
    http_server.serve("/feed.xml", Reply(200, rss(http_server.base_url, range(1, 3))))
    assert claim_polls(redis_conn, ["test-feed"], "the-other-job", 60) == {"test-feed"}
    counts = jobs.poll_feeds([feed(http_server)])
    assert (counts["feeds"], counts["skipped"]) == (0, 1)
    assert http_server.requests == []


@pytest.mark.usefixtures("runtime_ready")
def test_a_poll_releases_its_claims_when_it_is_done(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    http_server.serve("/feed.xml", Reply(200, rss(http_server.base_url, range(1, 3))))
    jobs.poll_feeds([feed(http_server)])
    assert claim_polls(redis_conn, ["test-feed"], "next-job", 60) == {"test-feed"}


@pytest.mark.usefixtures("runtime_ready")
def test_304_is_not_parsed_and_keeps_the_etag(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    def route(handler: BaseHTTPRequestHandler) -> Reply:
        if handler.headers.get("If-None-Match") == '"v1"':
            return Reply(304)
        return Reply(200, rss(http_server.base_url, range(1, 3)), {"ETag": '"v1"'})

    http_server.serve("/feed.xml", route)
    jobs.poll_feeds([feed(http_server)])
    counts = jobs.poll_feeds([feed(http_server)])
    state = load_feed_state(redis_conn, "test-feed")
    assert counts["not_modified"] == 1
    assert (state.last_status, state.etag, state.status) == (304, '"v1"', FeedStatus.OK)


@pytest.mark.usefixtures("runtime_ready")
def test_a_changed_etag_brings_only_the_new_item(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    http_server.serve(
        "/feed.xml", Reply(200, rss(http_server.base_url, range(1, 3)), {"ETag": '"v1"'})
    )
    jobs.poll_feeds([feed(http_server)])
    http_server.serve(
        "/feed.xml", Reply(200, rss(http_server.base_url, range(1, 4)), {"ETag": '"v2"'})
    )
    assert jobs.poll_feeds([feed(http_server)])["new"] == 1
    assert load_feed_state(redis_conn, "test-feed").etag == '"v2"'


@pytest.mark.usefixtures("runtime_ready")
def test_the_same_entry_under_a_new_url_is_not_a_new_article(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    http_server.serve("/feed.xml", Reply(200, rss(http_server.base_url, range(1, 2))))
    jobs.poll_feeds([feed(http_server)])
    moved = rss(http_server.base_url + "/v2", range(1, 2))  # same guid, another link
    http_server.serve("/feed.xml", Reply(200, moved))
    assert jobs.poll_feeds([feed(http_server)])["new"] == 0


@pytest.mark.usefixtures("runtime_ready")
def test_a_guid_reused_for_each_new_article_does_not_hide_the_later_ones(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    """A feed with one item per document, always under the same <guid>."""

    def document(n: int) -> bytes:
        item = ITEM.format(n=n, link=f"{http_server.base_url}/a/{n}.html", guid="latest")
        return RSS.format(items=item).encode()

    for n in range(1, 4):
        http_server.serve("/feed.xml", Reply(200, document(n)))
        assert jobs.poll_feeds([feed(http_server)])["new"] == 1
    assert len(article_jobs(redis_conn)) == 3


@pytest.mark.usefixtures("runtime_ready")
def test_a_guid_shared_by_every_item_does_not_hide_the_articles_after_the_first(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    def document(numbers: range) -> bytes:
        home = http_server.base_url  # the site's home page in every <guid>
        items = "".join(ITEM.format(n=n, link=f"{home}/a/{n}.html", guid=home) for n in numbers)
        return RSS.format(items=items).encode()

    http_server.serve("/feed.xml", Reply(200, document(range(1, 2))))
    assert jobs.poll_feeds([feed(http_server)])["new"] == 1
    http_server.serve("/feed.xml", Reply(200, document(range(1, 4))))
    assert jobs.poll_feeds([feed(http_server)])["new"] == 2


@pytest.mark.usefixtures("runtime_ready")
def test_429_with_retry_after_schedules_the_next_poll_after_it(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    http_server.serve("/feed.xml", Reply(429, b"", {"Retry-After": "600"}))
    jobs.poll_feeds([feed(http_server)])
    state = load_feed_state(redis_conn, "test-feed")
    assert state.status is FeedStatus.FAILING and state.last_status == 429
    assert state.next_poll is not None
    assert state.next_poll - datetime.now(UTC) > timedelta(seconds=590)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(500, b"boom"), "http_status"),
        (
            Reply(
                200,
                b"<!DOCTYPE html><html><body>Login</body></html>",
                {"Content-Type": "text/html"},
            ),
            "not_a_feed",
        ),
        (
            Reply(
                200, b"<rss><channel><item><title>x</ti", {"Content-Type": "application/rss+xml"}
            ),
            None,
        ),
        (Reply(302, b"", {"Location": "/feed.xml"}), "redirects"),
    ],
    ids=["500", "html-page", "truncated-xml", "redirect-loop"],
)
@pytest.mark.usefixtures("runtime_ready")
def test_each_failure_is_recorded_with_its_precise_reason(
    http_server: LoopbackServer, redis_conn: redis.Redis, reply: Reply, reason: str | None
) -> None:
    http_server.serve("/feed.xml", reply)
    jobs.poll_feeds([feed(http_server)])
    state = load_feed_state(redis_conn, "test-feed")
    if reason is None:  # feedparser recovered something: not a failure, but the problem is named
        assert state.last_error and state.last_error_reason in {"malformed", None}
    else:
        assert state.last_error_reason == reason and state.last_error
        assert state.consecutive_failures == 1


@pytest.mark.usefixtures("runtime_ready")
def test_a_silent_server_times_out_and_the_batch_carries_on(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    http_server.serve("/slow.xml", lambda _h: time.sleep(3))
    http_server.serve("/feed.xml", Reply(200, rss(http_server.base_url, range(1, 3))))
    slow = Feed(id="slow", url=http_server.base_url + "/slow.xml", outlet="Slow")
    counts = jobs.poll_feeds([slow, feed(http_server)])
    assert (counts["failed"], counts["new"]) == (1, 2)
    assert load_feed_state(redis_conn, "slow").last_error_reason == "timeout"


@pytest.mark.usefixtures("runtime_ready")
def test_a_feed_url_no_request_can_be_made_to_fails_alone_and_the_batch_carries_on(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    http_server.serve("/feed.xml", Reply(200, rss(http_server.base_url, range(1, 3))))
    broken = Feed(id="broken", url="http://ex\u00e4mple..com/feed.xml", outlet="Broken")
    counts = jobs.poll_feeds([broken, feed(http_server)])
    assert (counts["failed"], counts["new"]) == (1, 2)
    state = load_feed_state(redis_conn, "broken")
    assert state.last_error_reason == "invalid_url" and "exämple..com" in (state.last_error or "")
    assert load_feed_state(redis_conn, "test-feed").status is FeedStatus.OK


@pytest.mark.usefixtures("runtime_ready")
def test_a_redirect_to_a_port_out_of_range_fails_that_feed_alone(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    http_server.serve("/feed.xml", Reply(200, rss(http_server.base_url, range(1, 3))))
    http_server.serve("/gone.xml", Reply(301, b"", {"Location": "http://127.0.0.1:99999/f.xml"}))
    gone = Feed(id="gone", url=http_server.base_url + "/gone.xml", outlet="Gone")
    counts = jobs.poll_feeds([gone, feed(http_server)])
    assert (counts["failed"], counts["new"]) == (1, 2)
    assert load_feed_state(redis_conn, "gone").last_error_reason == "invalid_url"


@pytest.mark.usefixtures("runtime_ready")
def test_repeated_301s_move_the_feed_to_its_new_url(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    http_server.serve("/old.xml", Reply(301, b"", {"Location": "/new.xml"}))
    http_server.serve("/new.xml", Reply(200, rss(http_server.base_url, range(1, 2))))
    for _ in range(3):
        jobs.poll_feeds([feed(http_server, "/old.xml")])
    http_server.requests.clear()
    jobs.poll_feeds([feed(http_server, "/old.xml")])
    assert [path for path, _ in http_server.requests] == ["/new.xml"]
    assert load_feed_state(redis_conn, "test-feed").moved_to == http_server.base_url + "/new.xml"


def test_feeds_not_polled_by_the_deadline_fail_and_the_others_keep_their_items(
    http_server: LoopbackServer, redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    settings = FetchSettings(
        per_host_delay=0,
        per_host_concurrency=1,
        total_timeout=2,
        allow=("127.0.0.0/8", "::1"),
    )
    http_server.serve("/feed.xml", Reply(200, rss(http_server.base_url, range(1, 3))))
    http_server.serve("/slow.xml", lambda _h: time.sleep(3))
    # the good feed on a host of its own ("localhost"), the slow ones sharing one connection
    good = Feed(id="good", url=f"http://localhost:{http_server.port}/feed.xml", outlet="G")
    slow = [
        Feed(id=f"slow-{n}", url=http_server.base_url + "/slow.xml", outlet="S") for n in (1, 2)
    ]
    batch = [(f, FeedState(f.id), f.url) for f in (good, *slow)]
    polls = asyncio.run(
        poll_batch(batch, settings, concurrency=3, redis_url=redis_server.url, deadline=3)
    )
    assert len(polls[0].items) == 2 and not polls[0].outcome.failed
    assert {p.outcome.error_reason for p in polls[1:]} == {"timeout"}
    errors = sorted(p.outcome.error or "" for p in polls[1:])
    assert errors[0] == "no complete response within 2 s"  # the one that had the connection
    assert errors[1].startswith(  # the one still waiting for it
        "not polled within the poll job's 3 s: its host 127.0.0.1 was busy or slow"
    )


@pytest.mark.usefixtures("runtime_ready")
def test_a_poll_job_that_waited_while_its_feed_was_polled_again_does_not_poll_it_twice(
    http_server: LoopbackServer, redis_conn: redis.Redis
) -> None:
    http_server.serve("/feed.xml", Reply(200, rss(http_server.base_url, range(1, 3))))
    polls = queue(QueueName.POLL, redis_conn)
    waiting = polls.enqueue(POLL_JOB, [feed(http_server)])  # queued behind a backlog ...
    jobs.poll_feeds([feed(http_server)])  # ... while the lease ran out and another job polled
    SimpleWorker([polls], connection=redis_conn).work(burst=True)
    assert waiting.return_value() == {
        "feeds": 0, "not_modified": 0, "failed": 0, "new": 0, "skipped": 1
    }  # fmt: skip
    assert len(http_server.requests) == 1

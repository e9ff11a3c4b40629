"""The alert-latency benchmark's own logic: the newsroom's publishing and the report's arithmetic.

The benchmark itself (bench/alert.py) is run, not tested; these pin the parts whose mistakes
would make it report wrong numbers without failing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from bench.alert_report import (
    JobTimes,
    Timeline,
    delivery_counts,
    join_timelines,
    percentile,
    stage_report,
)
from bench.newsroom_server import ITEMS_IN_FEED, Newsroom, article_text
from monitor.config import ClusterSettings
from monitor.redis_server import RedisHandle
from monitor.rules import MatchTarget, match_query, parse_query, prepare_target
from workers.cluster import ClusterIndex


def test_no_two_newsroom_articles_join_one_cluster(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    clusters = ClusterIndex(redis_conn, ClusterSettings())
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assigned = {clusters.assign(f"s{n}", *_title_and_text(n), now).cluster_id for n in range(30)}
    assert len(assigned) == 30


def test_every_newsroom_article_matches_the_bench_rule() -> None:
    query = parse_query("Putin AND Selenskyj")
    for n in range(20):
        title, text = _title_and_text(n)
        assert match_query(query, prepare_target(MatchTarget(title=title, text=text))) is not None


def test_feed_holds_only_published_articles_of_its_outlet_newest_first() -> None:
    room = Newsroom(feeds=4, rate=2.0, count=100, opened=0.0, t0=100.0)
    # By t0 + 2.2 s: warm-up 0-3, then 4, 5, 6, 7, 8 (one every 0.5 s from t0).
    assert room.feed_items(1, now=102.2) == [5, 1]
    assert room.feed_items(0, now=102.2) == [8, 4, 0]
    assert room.feed_items(3, now=99.0) == [3]


def test_feed_keeps_the_newest_twenty_articles() -> None:
    room = Newsroom(feeds=1, rate=10.0, count=100, opened=0.0, t0=0.0)
    items = room.feed_items(0, now=100.0)
    assert len(items) == ITEMS_IN_FEED
    assert items[0] == 100  # warm-up article 0, then 1..100


def test_unchanged_feed_answers_304_and_first_seen_stays_at_the_first_200() -> None:
    room = Newsroom(feeds=2, rate=1.0, count=10, opened=0.0, t0=10.0)
    status, headers, _ = room.feed(0, None, now=10.5)
    again, _, body = room.feed(0, headers["ETag"], now=11.0)
    later, _, _ = room.feed(0, None, now=12.5)
    assert (status, again, body, later) == (200, 304, b"", 200)
    assert room.first_seen[2] == 10.5  # article 2 (t0 + 0 s) was first served at 10.5
    assert room.first_seen[0] == 10.5


def test_alert_is_attributed_to_the_article_its_message_links() -> None:
    room = Newsroom(feeds=2, rate=1.0, count=10)
    body = (
        b'{"title": "[wirewatch] r: x", "message": "x\\n\\nRead: http://127.0.0.12:80/a/1/7.html"}'
    )
    room.receive_alert(body, now=5.0)
    room.receive_alert(b"not json", now=6.0)
    assert [(a["article"], a["arrived"]) for a in room.alerts] == [(7, 5.0), (None, 6.0)]


def test_percentile_interpolates_between_ranks() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert (percentile(values, 0), percentile(values, 50), percentile(values, 100)) == (
        1.0,
        2.5,
        4.0,
    )


def test_delivery_counts_missing_and_extra_alerts() -> None:
    timelines = [
        Timeline(0, arrivals=(1.0,)),
        Timeline(1, arrivals=()),
        Timeline(2, arrivals=(1.0, 1.5, 2.0)),
    ]
    assert delivery_counts(timelines) == (1, 2)


def test_stages_of_an_alert_add_up_to_its_latency() -> None:
    timeline = Timeline(
        5, first_seen=10.0, arrivals=(11.5, 13.0), article_queued=10.1, article_started=10.4,
        stored=10.9, recorded=11.0, notify_started=11.2,
    )  # fmt: skip
    stages = stage_report([timeline])
    assert timeline.latency == 1.5
    assert round(sum(s["mean_ms"] for s in stages.values()), 1) == 1500.0


def test_join_links_jobs_stories_and_deliveries_to_their_article() -> None:
    url = "http://127.0.0.12:80/a/1/3.html"
    newsroom = {
        "feeds": 2, "count": 2, "published": {"3": 1.0}, "first_seen": {"3": 2.0},
        "alerts": [{"article": 3, "arrived": 9.0}, {"article": None, "arrived": 9.5}],
    }  # fmt: skip
    found = join_timelines(
        newsroom,
        [JobTimes(url, 2.1, 2.2, 3.0)],
        [JobTimes("17", 2.8, 2.9, 3.5)],
        [{"id": "s3", "url": url, "fetched_at": "1970-01-01T00:00:02.5Z"}],
        [{"id": 17, "story_id": "s3", "created_at": "1970-01-01T00:00:02.7+00:00",
          "sent_at": None}],
    )  # fmt: skip
    three = found[3]
    assert (three.article_queued, three.stored, three.recorded, three.notify_started) == (
        2.1,
        2.5,
        2.7,
        2.9,
    )
    assert three.arrivals == (9.0,)
    assert found[2].arrivals == ()


def _title_and_text(n: int) -> tuple[str, str]:
    title, paragraphs = article_text(n)
    return title, "\n\n".join(paragraphs)

"""Story clusters: copies of one wire become one cluster; distinct stories stay apart; a wire
update opens a new version; the index forgets what is older than its window."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import cast

import redis

from bench.cluster_copies import distinct_texts
from monitor.config import ClusterSettings
from monitor.model import FeedItem
from monitor.redis_server import RedisHandle
from tests.support import CORPUS, DEMO_SITE, requires_corpus, seed_story
from tests.test_cluster_match import BACKGROUND, CHARKIW_REPORT, KIEW_REPORT, wire_update
from workers.cluster import PRUNE_BATCH, ClusterAssignment, ClusterIndex
from workers.extract import extract_article

SETTINGS = ClusterSettings()
NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)
WINDOW = timedelta(hours=SETTINGS.window_hours)
DEMO_WIRE_PAGES = (
    "rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html",
    "hanse-kurier/politik/gipfel-in-alaska-trump-und-putin-in-einem-auto-id48213577.html",
    "alpenland/nachrichten/welt/us-russland-gipfel-gestartet-trump-und-putin-in-einem-auto.html",
)


def index(handle: RedisHandle) -> ClusterIndex:
    return ClusterIndex(handle.client, SETTINGS)


def index_keys(connection: redis.Redis) -> set[bytes]:
    """Every key the index keeps in Redis (locks come and go)."""
    keys = cast(list[bytes], connection.keys("wirewatch:*"))
    return {key for key in keys if not key.startswith(b"wirewatch:lock:")}


def test_the_index_uses_its_own_connection_not_one_per_lsh_band(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    own = redis.Redis.from_url(redis_server.url, db=7)  # a database no other client uses

    def clients_on_its_database() -> int:
        return sum(1 for client in redis_conn.client_list() if client["db"] == "7")

    ClusterIndex(own, SETTINGS).assign("rundblick", title, body, NOW)
    assert clients_on_its_database() == 1
    own.close()


def test_copies_of_the_wire_join_the_first_cluster(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    first = clusters.assign("rundblick", title, body, NOW)
    shortened = body.rsplit("\n\n", 2)[0]  # an outlet that cut the last paragraphs
    copy = clusters.assign("hanse", title, f"{body}\nMehr zum Thema: Alaska", NOW)
    cut = clusters.assign("alpenland", "Trump und Putin fahren gemeinsam", shortened, NOW)
    assert first == ClusterAssignment("rundblick", 1, True)
    assert copy == cut == ClusterAssignment("rundblick", 1, False)


def test_a_second_report_under_the_desk_s_stock_headline_opens_its_own_cluster(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    clusters = index(redis_server)
    kiew = clusters.assign(
        "kiew", "Ukraine-Krieg: Russland greift Kiew an", f"{KIEW_REPORT}\n\n{BACKGROUND}", NOW
    )
    charkiw = clusters.assign(
        "charkiw",
        "Ukraine-Krieg: Russland greift Charkiw an",
        f"{CHARKIW_REPORT}\n\n{BACKGROUND}",
        NOW,
    )
    assert kiew == ClusterAssignment("kiew", 1, True)
    assert charkiw == ClusterAssignment("charkiw", 1, True)


def test_the_three_demo_outlets_copies_of_the_wire_make_one_cluster(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    clusters = index(redis_server)
    found = set()
    for path in DEMO_WIRE_PAGES:
        url = f"http://127.0.0.1:8765/{path}"
        html = (DEMO_SITE / path).read_text(encoding="utf-8")
        html = html.replace("{{BASE_URL}}", "http://127.0.0.1:8765")
        article = extract_article(html, FeedItem("demo", "demo", url, url), final_url=url)
        found.add(clusters.assign(article.id, article.title, article.text, NOW).cluster_id)
    assert len(found) == 1


def test_assigning_the_same_story_again_is_idempotent(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    first = clusters.assign("s1", title, body, NOW)
    assert clusters.assign("s1", title, body, NOW + timedelta(minutes=5)) == first


def test_racing_workers_agree_on_one_cluster(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    found: list[str] = []
    barrier = threading.Barrier(4)

    def worker(story_id: str) -> None:
        own = redis.Redis.from_url(redis_server.url)
        clusters = ClusterIndex(own, SETTINGS)
        barrier.wait()
        found.append(clusters.assign(story_id, title, body, NOW).cluster_id)

    threads = [threading.Thread(target=worker, args=(f"copy-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 4 and len(set(found)) == 1


def test_short_texts_are_never_merged(redis_server: RedisHandle, redis_conn: redis.Redis) -> None:
    clusters = index(redis_server)
    assert clusters.assign("a", "Eilmeldung", "Eilmeldung", NOW).cluster_id == "a"
    assert clusters.assign("b", "Eilmeldung", "Eilmeldung", NOW).cluster_id == "b"


def test_a_wire_update_opens_version_2_of_the_cluster(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    clusters.assign("wire", title, body, NOW)
    update = clusters.assign("update", *wire_update(), NOW + timedelta(hours=1))
    assert update == ClusterAssignment("wire", 2, True)


def test_a_plain_copy_of_version_2_stays_version_2(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    clusters.assign("wire", title, body, NOW)
    update_title, update_body = wire_update()
    clusters.assign("update", update_title, update_body, NOW + timedelta(hours=1))
    copy = clusters.assign("copy", update_title, f"{update_body}\n(dpa)", NOW + timedelta(hours=2))
    assert copy == ClusterAssignment("wire", 2, False)


def test_a_copy_after_the_window_starts_a_new_cluster(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    clusters.assign("early", title, body, NOW)
    late = clusters.assign("late", title, body, NOW + WINDOW + timedelta(seconds=1))
    assert late == ClusterAssignment("late", 1, True)


def test_a_copy_after_the_window_starts_a_new_cluster_while_another_worker_prunes(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    clusters.assign("early", title, body, NOW)
    pruning = redis_conn.lock("wirewatch:lock:cluster-prune", timeout=60)
    assert pruning.acquire(blocking=False)  # another worker is pruning: this one skips it
    try:
        late = clusters.assign("late", title, body, NOW + WINDOW + timedelta(seconds=1))
    finally:
        pruning.release()
    assert late == ClusterAssignment("late", 1, True)


def test_a_copy_after_the_window_starts_a_new_cluster_behind_a_pruning_backlog(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    expired = NOW - timedelta(hours=1)
    for n in range(PRUNE_BATCH + 5):  # more expired stories than one assignment prunes
        words = " ".join(f"wort{n}x{k}" for k in range(40))
        clusters.assign(f"filler-{n}", f"Meldung {n}", words, expired)
    clusters.assign("early", title, body, NOW)
    late = clusters.assign("late", title, body, NOW + WINDOW + timedelta(seconds=1))
    assert late == ClusterAssignment("late", 1, True)


def test_a_copy_within_the_window_still_joins(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    clusters.assign("early", title, body, NOW)
    late = clusters.assign("late", title, body, NOW + WINDOW - timedelta(seconds=1))
    assert late.cluster_id == "early"


def test_expired_stories_leave_nothing_behind_in_redis(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    """What the index holds after the window is what one fresh story alone needs."""
    title, body = seed_story()
    clusters = index(redis_server)
    clusters.assign("only", title, body, NOW)
    alone = index_keys(redis_conn)
    redis_conn.flushall()
    paragraphs, expired = body.split("\n\n"), NOW - WINDOW - timedelta(seconds=1)
    for n, paragraph in enumerate(paragraphs[: PRUNE_BATCH - 1]):
        clusters.assign(f"old-{n}", f"Meldung {n}", paragraph, expired)
    clusters.assign("update-0", *wire_update(), expired)
    clusters.assign("only", title, body, NOW)
    assert index_keys(redis_conn) == alone


@requires_corpus
def test_distinct_news_texts_make_distinct_clusters(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    texts = distinct_texts(CORPUS)
    clusters = index(redis_server)
    assigned = [
        clusters.assign(f"t{i}", text.title, text.body, NOW).cluster_id
        for i, text in enumerate(texts)
    ]
    assert len(assigned) > 500
    assert len(set(assigned)) == len(assigned)


def test_an_older_releases_story_to_cluster_hash_is_dropped(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    redis_conn.hset("wirewatch:cluster-of", mapping={"s1": "c1", "s2": "c1"})
    index(redis_server)
    assert not redis_conn.exists("wirewatch:cluster-of")

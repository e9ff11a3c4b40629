"""Story clusters: copies of one wire become one cluster; distinct stories stay apart."""

from __future__ import annotations

import csv
import threading

import redis

from monitor.config import ClusterSettings
from monitor.queues import RedisHandle
from tests.support import CORPUS, requires_corpus, seed_story
from workers.cluster import ClusterIndex, redis_params, shingles

SETTINGS = ClusterSettings()


def index(handle: RedisHandle) -> ClusterIndex:
    return ClusterIndex(handle.client, handle.url, SETTINGS)


def test_shingles_are_word_runs_of_the_configured_size() -> None:
    assert shingles("Trump und Putin in Alaska", 4) == {
        b"trump und putin in",
        b"und putin in alaska",
    }


def test_redis_params_understand_unix_sockets_and_tcp() -> None:
    assert redis_params("unix:///tmp/r.sock?db=2") == {"unix_socket_path": "/tmp/r.sock", "db": 2}
    assert redis_params("redis://:s3cret@queue:6380/1")["password"] == "s3cret"


def test_copies_of_the_wire_join_the_first_cluster(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    first = clusters.assign("rundblick", f"{title}\n{body}")
    shortened = body.rsplit("\n\n", 2)[0]  # an outlet that cut the last paragraphs
    assert clusters.assign("hanse", f"{title}\n{body}\nMehr zum Thema: Alaska") == first
    assert clusters.assign("alpenland", f"{title}\n{shortened}") == first


def test_assigning_the_same_story_again_is_idempotent(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    _, body = seed_story()
    clusters = index(redis_server)
    assert clusters.assign("s1", body) == clusters.assign("s1", body) == "s1"


def test_racing_workers_agree_on_one_cluster(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    _, body = seed_story()
    found: list[str] = []
    barrier = threading.Barrier(4)

    def worker(story_id: str) -> None:
        own = redis.Redis.from_url(redis_server.url)
        clusters = ClusterIndex(own, redis_server.url, SETTINGS)
        barrier.wait()
        found.append(clusters.assign(story_id, body))

    threads = [threading.Thread(target=worker, args=(f"copy-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 1


def test_short_texts_are_never_merged(redis_server: RedisHandle, redis_conn: redis.Redis) -> None:
    clusters = index(redis_server)
    assert clusters.assign("a", "Eilmeldung") == "a"
    assert clusters.assign("b", "Eilmeldung") == "b"


@requires_corpus
def test_distinct_labelled_news_texts_make_distinct_clusters(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    texts: list[str] = []
    with (CORPUS / "labels" / "10kgnad-de-sample.csv").open(encoding="utf-8") as f:
        texts += [row["text"] for row in csv.DictReader(f)]
    with (CORPUS / "labels" / "agnews-en-sample.csv").open(encoding="utf-8") as f:
        texts += [f"{row['title']}\n{row['description']}" for row in csv.DictReader(f)]
    clusters = index(redis_server)
    assigned = [clusters.assign(f"t{i}", text) for i, text in enumerate(dict.fromkeys(texts))]
    assert len(assigned) > 500
    assert len(set(assigned)) == len(assigned)

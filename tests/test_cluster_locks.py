"""The cluster index locks only what an assignment could collide on: copies that could find
each other take turns, unrelated stories do not wait, and pruning never holds anyone up."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import redis

from monitor.config import ClusterSettings
from monitor.redis_server import RedisHandle
from tests.support import seed_story
from workers.cluster import ClusterIndex, minhash
from workers.cluster_locks import band_lock_keys
from workers.cluster_match import fingerprint

SETTINGS = ClusterSettings()
NOW = datetime(2025, 8, 15, 20, 10, tzinfo=UTC)
UNRELATED = (
    "Bayern gewinnt das Derby",
    "\n\n".join(
        f"Der FC Bayern hat das Derby gegen 1860 im {n}. Anlauf mit drei zu eins gewonnen, "
        f"vor {n}0.000 Zuschauern im ausverkauften Stadion an der Grünwalder Straße."
        for n in range(1, 6)
    ),
)


def index(handle: RedisHandle) -> ClusterIndex:
    return ClusterIndex(redis.Redis.from_url(handle.url), SETTINGS)


def body_keys(clusters: ClusterIndex, title: str, text: str) -> set[str]:
    shingles = fingerprint(title, text, SETTINGS.shingle_words).shingle_set
    return set(band_lock_keys(clusters._bodies, minhash(shingles, SETTINGS.num_perm), "body"))


def hold(connection: redis.Redis, keys: set[str]) -> str:
    """Take the keys as another worker's assignment would, for as long as the test needs."""
    token = uuid.uuid4().hex
    for key in keys:
        assert connection.set(key, token, nx=True, px=60_000)
    return token


def test_a_copy_shares_lock_keys_with_its_original_and_an_unrelated_story_none(
    redis_server: RedisHandle,
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    original = body_keys(clusters, title, body)
    copy = body_keys(clusters, title, f"{body}\n\nMehr zum Thema: Alaska")
    assert original & copy
    assert not original & body_keys(clusters, *UNRELATED)


def test_an_unrelated_story_is_assigned_while_another_assignment_holds_its_locks(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    hold(redis_conn, body_keys(clusters, title, body))
    assert clusters.assign("derby", *UNRELATED, NOW).cluster_id == "derby"


def test_a_copy_waits_for_the_assignment_that_holds_its_buckets(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    clusters.assign("wire", title, body, NOW)
    held = body_keys(clusters, title, body)
    token = hold(redis_conn, held)
    found: list[str] = []
    waiting = threading.Thread(
        target=lambda: found.append(index(redis_server).assign("copy", title, body, NOW).cluster_id)
    )
    waiting.start()
    waiting.join(timeout=0.5)
    assert waiting.is_alive() and not found  # still waiting for the held buckets
    for key in held:
        assert redis_conn.get(key) == token.encode()
        redis_conn.delete(key)
    waiting.join(timeout=30)
    assert found == ["wire"]


def test_different_copies_racing_from_many_workers_make_one_cluster(
    redis_server: RedisHandle,
) -> None:
    title, body = seed_story()
    paragraphs = body.split("\n\n")
    copies = [
        body,
        f"{body}\n\n(dpa)",
        "\n\n".join(paragraphs[:-2]),
        "\n\n".join(paragraphs[1:]),
        "\n\n".join(paragraphs[: len(paragraphs) // 2 + 2]),
        f"{body}\n\nMehr zum Thema: Alaska",
    ]
    barrier = threading.Barrier(len(copies))
    found: list[str] = []

    def worker(n: int, text: str) -> None:
        clusters = index(redis_server)
        barrier.wait()
        found.append(clusters.assign(f"outlet-{n}", title, text, NOW).cluster_id)

    threads = [threading.Thread(target=worker, args=pair) for pair in enumerate(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == len(copies) and len(set(found)) == 1


def test_assignment_does_not_wait_for_another_workers_pruning(
    redis_server: RedisHandle, redis_conn: redis.Redis
) -> None:
    title, body = seed_story()
    clusters = index(redis_server)
    old = NOW - timedelta(hours=SETTINGS.window_hours + 1)
    clusters.assign("old", title, body, old)
    pruning = redis_conn.lock("wirewatch:lock:cluster-prune", timeout=60)
    assert pruning.acquire(blocking=False)
    assert clusters.assign("derby", *UNRELATED, NOW).cluster_id == "derby"
    assert redis_conn.exists("wirewatch:cluster:story:old")  # left for the next assignment
    pruning.release()
    clusters.assign("derby-2", *UNRELATED, NOW)
    assert not redis_conn.exists("wirewatch:cluster:story:old")

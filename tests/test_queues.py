"""Claimed enqueueing against a real Redis: one job per claim, however many racers."""

from __future__ import annotations

import threading
from datetime import timedelta

import redis

from monitor.queues import (
    POLL_JOB,
    QueueName,
    claim_key,
    connect_redis,
    enqueue_claimed,
    queue,
)


def test_second_enqueue_with_the_same_claim_is_refused(redis_conn: redis.Redis) -> None:
    args = dict(job_id="job-1", claim=claim_key("job-1"), claim_ttl=timedelta(minutes=1))
    assert enqueue_claimed(redis_conn, QueueName.POLL, POLL_JOB, ("feed",), **args)  # type: ignore[arg-type]
    assert not enqueue_claimed(redis_conn, QueueName.POLL, POLL_JOB, ("feed",), **args)  # type: ignore[arg-type]
    assert queue(QueueName.POLL, redis_conn).job_ids == ["job-1"]


def test_claim_expires_so_memory_stays_bounded(redis_conn: redis.Redis) -> None:
    enqueue_claimed(
        redis_conn,
        QueueName.POLL,
        POLL_JOB,
        ("feed",),
        job_id="job-2",
        claim="wirewatch:seen:x",
        claim_ttl=timedelta(days=3),
    )
    assert 0 < redis_conn.ttl("wirewatch:seen:x") <= 3 * 86400


def test_racing_enqueuers_create_exactly_one_job(
    redis_server: object, redis_conn: redis.Redis
) -> None:
    url = redis_server.url  # type: ignore[attr-defined]
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def race() -> None:
        own = redis.Redis.from_url(url)  # a connection per racer, as separate processes would have
        barrier.wait()
        results.append(
            enqueue_claimed(
                own,
                QueueName.ARTICLES,
                "workers.jobs.process_article",
                ("u",),
                job_id="article-abc",
                claim="wirewatch:seen:abc",
                claim_ttl=timedelta(days=1),
            )
        )

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    assert queue(QueueName.ARTICLES, redis_conn).count == 1


def test_embedded_redis_is_joined_by_a_second_client_on_the_same_data_dir(tmp_path: object) -> None:
    from pathlib import Path

    first = connect_redis("", Path(str(tmp_path)))
    try:
        second = redis.Redis.from_url(first.url)
        first.client.set("k", "v")
        assert second.get("k") == b"v"
        second.close()
    finally:
        first.close(force=True)

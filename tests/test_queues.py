"""Claimed enqueueing against a real Redis: one job per claim, however many racers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import redis
from rq import Queue, Retry, SimpleWorker
from rq.registry import StartedJobRegistry

from monitor.queues import (
    ARTICLE_JOB,
    POLL_JOB,
    WORKER_QUEUES,
    ClaimedJob,
    QueueName,
    claim_key,
    enqueue_claimed,
    enqueue_claimed_many,
    enqueue_due_retries,
    failed_since,
    queue,
    recover_jobs,
    requeue_popped_jobs,
    waiting_retries,
)
from monitor.redis_server import connect_redis


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


def _article_jobs(names: list[str]) -> list[ClaimedJob]:
    return [
        ClaimedJob(
            job_id=f"article-{name}",
            claim=f"wirewatch:seen:{name}",
            args=(name,),
            marks=((f"wirewatch:seen-entry:{name}", name),),
        )
        for name in names
    ]


def test_batch_enqueues_only_the_jobs_whose_claims_are_free(redis_conn: redis.Redis) -> None:
    redis_conn.set("wirewatch:seen:b", "earlier")
    enqueued = enqueue_claimed_many(
        redis_conn,
        QueueName.ARTICLES,
        ARTICLE_JOB,
        _article_jobs(["a", "b", "c"]),
        claim_ttl=timedelta(days=1),
    )
    assert [job.job_id for job in enqueued] == ["article-a", "article-c"]
    assert queue(QueueName.ARTICLES, redis_conn).job_ids == ["article-a", "article-c"]


def test_batch_sets_the_marks_with_the_claims_and_their_expiry(redis_conn: redis.Redis) -> None:
    enqueue_claimed_many(
        redis_conn,
        QueueName.ARTICLES,
        ARTICLE_JOB,
        _article_jobs(["a"]),
        claim_ttl=timedelta(hours=2),
    )
    assert redis_conn.get("wirewatch:seen-entry:a") == b"a"
    assert 0 < redis_conn.ttl("wirewatch:seen-entry:a") <= 7200
    assert 0 < redis_conn.ttl("wirewatch:seen:a") <= 7200


def test_batch_with_the_same_claim_twice_enqueues_the_first(redis_conn: redis.Redis) -> None:
    jobs = [*_article_jobs(["a"]), ClaimedJob("article-other", "wirewatch:seen:a", ("x",))]
    enqueued = enqueue_claimed_many(
        redis_conn, QueueName.ARTICLES, ARTICLE_JOB, jobs, claim_ttl=timedelta(days=1)
    )
    assert [job.job_id for job in enqueued] == ["article-a"]
    assert queue(QueueName.ARTICLES, redis_conn).count == 1


def test_racing_batches_over_overlapping_items_enqueue_each_item_once(
    redis_server: object, redis_conn: redis.Redis
) -> None:
    url = redis_server.url  # type: ignore[attr-defined]
    names = [f"item{n}" for n in range(200)]
    enqueued: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def race(offset: int) -> None:
        own = redis.Redis.from_url(url)
        # Each racer sees the items in another order and overlaps with every other racer.
        mine = names[offset * 20 :] + names[: offset * 20]
        barrier.wait()
        for start in range(0, len(mine), 50):
            done = enqueue_claimed_many(
                own,
                QueueName.ARTICLES,
                ARTICLE_JOB,
                _article_jobs(mine[start : start + 50]),
                claim_ttl=timedelta(days=1),
            )
            with lock:
                enqueued.extend(job.job_id for job in done)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(enqueued) == sorted(f"article-{name}" for name in names)
    assert sorted(queue(QueueName.ARTICLES, redis_conn).job_ids) == sorted(enqueued)


def test_a_worker_on_the_default_queues_polls_before_it_takes_the_article_backlog(
    redis_conn: redis.Redis,
) -> None:
    """A feed that moves faster than an article backlog drains would otherwise drop items
    before a delayed poll sees them. Alerts ready to go still go first."""
    for n in range(3):
        queue(QueueName.ARTICLES, redis_conn).enqueue("time.sleep", 0, job_id=f"article-{n}")
    queue(QueueName.POLL, redis_conn).enqueue("time.sleep", 0, job_id="poll")
    queue(QueueName.NOTIFY, redis_conn).enqueue("time.sleep", 0, job_id="notify")
    worker = SimpleWorker(
        [queue(name, redis_conn) for name in WORKER_QUEUES], connection=redis_conn
    )
    worker.work(burst=True, max_jobs=2)
    assert queue(QueueName.NOTIFY, redis_conn).count == 0
    assert queue(QueueName.POLL, redis_conn).count == 0
    assert queue(QueueName.ARTICLES, redis_conn).count == 3


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


def test_due_retries_are_moved_onto_their_queue_and_later_ones_keep_waiting(
    redis_conn: redis.Redis,
) -> None:
    articles = queue(QueueName.ARTICLES, redis_conn)
    articles.enqueue_at(datetime.now(UTC) - timedelta(seconds=1), "workers.jobs.noop", job_id="due")
    articles.enqueue_in(timedelta(hours=1), "workers.jobs.noop", job_id="later")
    assert waiting_retries(redis_conn) == 2
    enqueue_due_retries(redis_conn)
    assert articles.job_ids == ["due"]
    assert waiting_retries(redis_conn) == 1


def test_the_job_of_a_worker_that_died_mid_job_is_retried_without_waiting_for_rq(
    redis_conn: redis.Redis,
) -> None:
    """RQ notices a dead worker's job only in a worker's ten-minute maintenance."""
    notify = queue(QueueName.NOTIFY, redis_conn)
    job = notify.enqueue("workers.jobs.noop", job_id="killed", retry=Retry(max=2, interval=0))
    notify.remove(job)
    registry = notify.started_job_registry
    expired = time.time() - 10  # its worker stopped sending heartbeats
    redis_conn.zadd(registry.key, {f"{job.id}:execution-1": expired})
    recover_jobs(redis_conn)
    assert notify.job_ids == ["killed"]
    assert registry.get_job_ids(cleanup=False) == []


def started_job(
    redis_conn: redis.Redis, expires_at: float, retry: Retry | None = None
) -> tuple[Queue, StartedJobRegistry]:
    """A job a worker took, as RQ records it in the started registry."""
    notify = queue(QueueName.NOTIFY, redis_conn)
    retry = retry or Retry(max=2, interval=0)
    job = notify.enqueue("workers.jobs.noop", job_id="in-hand", retry=retry)
    notify.remove(job)
    registry = notify.started_job_registry
    redis_conn.zadd(registry.key, {f"{job.id}:execution-1": expires_at})
    return notify, registry


def test_a_job_whose_worker_may_still_be_alive_is_left_to_it(redis_conn: redis.Redis) -> None:
    notify, registry = started_job(redis_conn, time.time() + 60)
    recover_jobs(redis_conn)
    assert notify.job_ids == []
    assert registry.get_job_ids(cleanup=False) == ["in-hand"]


def test_with_no_worker_alive_every_started_job_is_queued_again_at_once(
    redis_conn: redis.Redis,
) -> None:
    """After run restarted its embedded Redis: the workers that took these jobs are gone."""
    notify, registry = started_job(redis_conn, time.time() + 60, retry=Retry(max=2, interval=600))
    recover_jobs(redis_conn, no_worker_alive=True)
    assert notify.job_ids == ["in-hand"]  # not after the retry's 10 minutes
    assert registry.get_job_ids(cleanup=False) == []
    assert notify.scheduled_job_registry.get_job_ids() == []


def popped_job(redis_conn: redis.Redis) -> Queue:
    """A job a worker took off its queue (BLPOP) and died before recording it as started."""
    articles = queue(QueueName.ARTICLES, redis_conn)
    articles.enqueue("workers.jobs.noop", job_id="popped")
    articles.enqueue("workers.jobs.noop", job_id="waiting")
    assert redis_conn.lpop(articles.key) == b"popped"
    return articles


def test_with_no_worker_alive_a_job_taken_but_never_started_is_queued_again(
    redis_conn: redis.Redis,
) -> None:
    articles = popped_job(redis_conn)
    recover_jobs(redis_conn, no_worker_alive=True)
    assert sorted(articles.job_ids) == ["popped", "waiting"]


def test_a_job_just_taken_by_a_live_worker_is_left_to_it(redis_conn: redis.Redis) -> None:
    articles = popped_job(redis_conn)
    recover_jobs(redis_conn)
    assert requeue_popped_jobs(redis_conn) == 0  # first seen so: perhaps being started
    assert articles.job_ids == ["waiting"]


def test_a_job_taken_but_not_started_on_two_checks_is_queued_again(
    redis_conn: redis.Redis,
) -> None:
    """The scheduler checks every ten minutes; a live worker starts a job in milliseconds."""
    articles = popped_job(redis_conn)
    requeue_popped_jobs(redis_conn)
    assert requeue_popped_jobs(redis_conn) == 1
    assert sorted(articles.job_ids) == ["popped", "waiting"]
    assert requeue_popped_jobs(redis_conn) == 0  # waiting on its queue: nothing more to do


def test_moving_due_retries_leaves_an_embedded_redis_free_to_stop(tmp_path: Path) -> None:
    handle = connect_redis("", tmp_path)
    server = psutil.Process(handle.embedded.pid)
    enqueue_due_retries(handle.client)
    handle.close()  # stops the server only if no other client is still connected
    for _ in range(50):
        if not server.is_running() or server.status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.1)
    assert not server.is_running() or server.status() == psutil.STATUS_ZOMBIE


def test_jobs_that_failed_for_good_are_counted_from_a_moment_on(redis_conn: redis.Redis) -> None:
    before = datetime.now(UTC)
    articles = queue(QueueName.ARTICLES, redis_conn)
    articles.enqueue("workers.jobs.no_such_job", job_id="broken")  # fails, no retry
    SimpleWorker([articles], connection=redis_conn).work(burst=True)
    assert failed_since(redis_conn, before) == 1
    assert failed_since(redis_conn, datetime.now(UTC)) == 0

"""Which feeds are due: APScheduler ticks per feed and enqueues RQ poll jobs.

A poll job's id is the feed and its interval slot (``poll-<feed>-<slot>``), claimed in
Redis, so that however many schedulers tick, a feed is polled once per slot.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import redis
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor import store
from monitor.logs import get_logger
from monitor.model import DeliveryState, Feed
from monitor.queues import (
    NOTIFY_JOB,
    NOTIFY_RETRY,
    POLL_JOB,
    UNDELIVERED_SWEEP_SECONDS,
    QueueName,
    claim_key,
    enqueue_claimed,
    poll_job_id,
)

log = get_logger("wirewatch.scheduler")


def poll_slot(now: datetime, interval_seconds: int) -> int:
    return int(now.timestamp()) // interval_seconds


def enqueue_poll(
    connection: redis.Redis, feed: Feed, now: datetime, *, run: str | None = None
) -> bool:
    """Enqueue this slot's poll of ``feed``; False if this slot's poll was already enqueued.

    ``run`` names an explicit run (``wirewatch run --once``) that polls whatever the slot.
    """
    job_id = poll_job_id(feed.id, run or str(poll_slot(now, feed.interval_seconds)))
    queued = enqueue_claimed(
        connection,
        QueueName.POLL,
        POLL_JOB,
        (feed.id,),
        job_id=job_id,
        claim=claim_key(job_id),
        claim_ttl=timedelta(seconds=feed.interval_seconds * 2),
        job_timeout=max(60, feed.interval_seconds),
    )
    if queued:
        log.debug("feed.due", feed=feed.id, job=job_id)
    return queued


def enqueue_all_polls(connection: redis.Redis, feeds: Iterable[Feed], now: datetime) -> int:
    """Poll every feed now, once: an explicit run, outside the scheduler's slots."""
    run = f"run{int(now.timestamp() * 1000)}"
    return sum(enqueue_poll(connection, feed, now, run=run) for feed in feeds)


def requeue_undelivered(
    connection: redis.Redis, engine: Engine, *, min_age: timedelta = timedelta(0)
) -> int:
    """Enqueue a notify job for every delivery recorded but not yet sent (after a crash or stop).

    ``min_age`` leaves alone deliveries so fresh that their own notify job is still queued.
    """
    count = 0
    cutoff = datetime.now(UTC) - min_age
    for delivery in store.list_deliveries(engine, (DeliveryState.PENDING, DeliveryState.FAILED)):
        if delivery.created_at > cutoff:
            continue
        job_id = f"notify-{delivery.id}-resume-{delivery.attempts}"
        if enqueue_claimed(
            connection,
            QueueName.NOTIFY,
            NOTIFY_JOB,
            (delivery.id,),
            job_id=job_id,
            claim=claim_key(job_id),
            claim_ttl=timedelta(seconds=UNDELIVERED_SWEEP_SECONDS),
            retry=NOTIFY_RETRY,
        ):
            count += 1
    if count:
        log.info("alert.resumed", deliveries=count)
    return count


def start_scheduler(
    connection: redis.Redis, feeds: Iterable[Feed], engine: Engine
) -> BackgroundScheduler:
    """A running scheduler: one interval job per feed, each due at once, and a periodic sweep
    that re-enqueues alerts whose notify job was lost."""
    scheduler = BackgroundScheduler(timezone=UTC)
    now = datetime.now(UTC)
    scheduler.add_job(
        _sweep,
        IntervalTrigger(seconds=UNDELIVERED_SWEEP_SECONDS, timezone=UTC),
        args=(connection, engine),
        id="undelivered-sweep",
        max_instances=1,
        coalesce=True,
    )
    for feed in feeds:
        scheduler.add_job(
            _tick,
            IntervalTrigger(seconds=feed.interval_seconds, timezone=UTC),
            args=(connection, feed),
            id=f"poll-{feed.id}",
            next_run_time=now,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=feed.interval_seconds,
        )
    scheduler.start()
    return scheduler


def _sweep(connection: redis.Redis, engine: Engine) -> None:
    try:
        requeue_undelivered(
            connection, engine, min_age=timedelta(seconds=UNDELIVERED_SWEEP_SECONDS)
        )
    except (redis.RedisError, SQLAlchemyError) as exc:
        log.error("scheduler.sweep_failed", error=str(exc))


def _tick(connection: redis.Redis, feed: Feed) -> None:
    try:
        enqueue_poll(connection, feed, datetime.now(UTC))
    except redis.RedisError as exc:
        log.error("scheduler.redis_error", feed=feed.id, error=str(exc))

"""Which feeds are due: a tick claims them from Redis and enqueues poll jobs in batches.

Every feed sits in the due set (``monitor.feed_state``) at its next poll time, which the
poll job sets from ``monitor.polling``. APScheduler ticks every few seconds; on each tick
the scheduler holding the leader lock claims the due feeds (leasing them, so a lost poll
job only delays them) and enqueues them as batches. Several schedulers may run: one leads,
another takes over within ``LEADER_TTL`` seconds if the leader dies.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import redis
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor import feed_registry
from monitor.config import Config
from monitor.delivery_schedule import dispatch_digests, requeue_undelivered
from monitor.feed_state import DUE_KEY, claim_due, schedule_new_feeds, unschedule_feeds
from monitor.logs import get_logger
from monitor.model import Feed, stable_id
from monitor.queues import (
    KEY_PREFIX,
    POLL_JOB,
    UNDELIVERED_SWEEP_SECONDS,
    QueueName,
    claim_key,
    enqueue_claimed,
    poll_job_id,
    recover_jobs,
    requeue_popped_jobs,
)
from monitor.redis_server import durability_problems

log = get_logger("wirewatch.scheduler")

LEADER_KEY = f"{KEY_PREFIX}scheduler:leader"
LEADER_TTL = 10
TICK_SECONDS = 2
# How often the leader recovers jobs of dead workers and moves due retries (``recover_jobs``).
RECOVER_SECONDS = 15
SYNC_SECONDS = 60
LEASE = timedelta(minutes=15)
"""A claimed feed whose poll job was lost becomes due again after this long."""
MAX_CLAIM = 100_000

# Take the lock if free, or extend it if ours: 1 when we lead, 0 otherwise.
_LEAD = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""
_RESIGN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def hold_leadership(connection: redis.Redis, token: str, ttl_seconds: float = LEADER_TTL) -> bool:
    script = connection.register_script(_LEAD)
    return bool(script(keys=[LEADER_KEY], args=[token, int(ttl_seconds * 1000)]))


def sync_feeds(
    connection: redis.Redis, engine: Engine, config: Config, now: datetime
) -> dict[str, Feed]:
    """Bring the registry in line with the config, and the due set in line with the registry."""
    feed_registry.sync_config_feeds(engine, config.feeds, now)
    feeds = {feed.id: feed for feed in feed_registry.list_feeds(engine)}
    added = schedule_new_feeds(connection, feeds, now)
    removed = unschedule_feeds(connection, feeds)
    if added or removed:
        log.info("feeds.synced", feeds=len(feeds), added=added, removed=removed)
    return feeds


def dispatch_due(
    connection: redis.Redis,
    feeds: dict[str, Feed],
    now: datetime,
    batch_size: int,
    job_timeout: int,
) -> int:
    """Claim the feeds due by ``now`` and enqueue them as poll jobs of ``batch_size`` feeds."""
    claimed = claim_due(connection, now, MAX_CLAIM, now + LEASE)
    unknown = [feed_id for feed_id in claimed if feed_id not in feeds]
    if unknown:
        connection.zrem(DUE_KEY, *unknown)
    due = [feeds[feed_id] for feed_id in claimed if feed_id in feeds]
    for start in range(0, len(due), batch_size):
        batch = due[start : start + batch_size]
        job_id = poll_job_id(stable_id(",".join(f.id for f in batch)), str(int(now.timestamp())))
        enqueue_claimed(
            connection,
            QueueName.POLL,
            POLL_JOB,
            (batch,),
            job_id=job_id,
            claim=claim_key(job_id),
            claim_ttl=LEASE,
            job_timeout=job_timeout,
        )
    if due:
        log.debug("feeds.dispatched", feeds=len(due), jobs=-(-len(due) // batch_size))
    return len(due)


def poll_job_timeout(config: Config) -> int:
    """Long enough for a batch at the configured concurrency, each fetch at its timeout."""
    polling = config.settings.polling
    rounds = -(-polling.batch_size // polling.concurrency)
    return int(rounds * config.settings.fetch.total_timeout * 2 + 60)


def poll_all_now(connection: redis.Redis, engine: Engine, config: Config, now: datetime) -> int:
    """Make every feed due now and dispatch them all (``wirewatch run --once``)."""
    feeds = sync_feeds(connection, engine, config, now)
    ids = list(feeds)
    for start in range(0, len(ids), 5000):
        connection.zadd(
            DUE_KEY, {feed_id: now.timestamp() for feed_id in ids[start : start + 5000]}
        )
    return dispatch_due(
        connection, feeds, now, config.settings.polling.batch_size, poll_job_timeout(config)
    )


class FeedScheduler:
    """The scheduler role: ticks while it holds the leader lock, idles while another does."""

    def __init__(self, connection: redis.Redis, engine: Engine, config: Config) -> None:
        self.connection, self.engine, self.config = connection, engine, config
        self.token = uuid.uuid4().hex
        self.leading = False
        self._feeds: dict[str, Feed] = {}
        self._synced: datetime | None = None
        self._aps = BackgroundScheduler(timezone=UTC)

    def tick(self, now: datetime | None = None) -> int:
        """One scheduling step; returns how many feeds it dispatched."""
        now = now or datetime.now(UTC)
        try:
            leading = hold_leadership(self.connection, self.token)
            if leading != self.leading:
                log.info(
                    "scheduler.leader" if leading else "scheduler.standby", token=self.token[:8]
                )
                self.leading, self._synced = leading, None
            if not leading:
                return 0
            if self._synced is None or now - self._synced >= timedelta(seconds=SYNC_SECONDS):
                self._feeds = sync_feeds(self.connection, self.engine, self.config, now)
                self._synced = now
            dispatch_digests(self.connection, self.config, now)
            return dispatch_due(
                self.connection,
                self._feeds,
                now,
                self.config.settings.polling.batch_size,
                poll_job_timeout(self.config),
            )
        except (redis.RedisError, SQLAlchemyError) as exc:
            log.error("scheduler.tick_failed", error=str(exc))
            return 0

    def recover(self) -> None:
        if not self.leading:
            return
        try:
            recover_jobs(self.connection)
        except redis.RedisError as exc:
            log.error("scheduler.recover_failed", error=str(exc))

    def sweep(self) -> None:
        if not self.leading:
            return
        try:
            requeue_undelivered(
                self.connection,
                self.engine,
                self.config,
                min_age=timedelta(seconds=UNDELIVERED_SWEEP_SECONDS),
            )
            requeued = requeue_popped_jobs(self.connection)
            if requeued:
                log.warning("jobs.requeued", jobs=requeued, reason="taken by a worker that died")
        except (redis.RedisError, SQLAlchemyError) as exc:
            log.error("scheduler.sweep_failed", error=str(exc))

    def start(self) -> None:
        try:
            for problem in durability_problems(self.connection):
                log.warning("redis.not_durable", problem=problem)
        except redis.RedisError as exc:  # not up yet: the ticks say so until it is
            log.error("scheduler.redis_unavailable", error=str(exc))
        self._aps.add_job(
            self.tick,
            IntervalTrigger(seconds=TICK_SECONDS, timezone=UTC),
            id="tick",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        for job, seconds, job_id in (
            (self.recover, RECOVER_SECONDS, "job-recovery"),
            (self.sweep, UNDELIVERED_SWEEP_SECONDS, "undelivered-sweep"),
        ):
            self._aps.add_job(
                job,
                IntervalTrigger(seconds=seconds, timezone=UTC),
                id=job_id,
                max_instances=1,
                coalesce=True,
            )
        self._aps.start()

    def stop(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)
        # Resign, so that a standby takes over at once rather than after the lock expires.
        self.connection.register_script(_RESIGN)(keys=[LEADER_KEY], args=[self.token])

"""The scheduler's share of delivery: digests when their period ends, and the resend sweep.

Every tick enqueues, for each (channel, digest schedule) that rules use, the digest job of
the latest period end, claimed by its id: once per period, whichever scheduler leads. The
job itself finds out whether the period had hits. The sweep re-enqueues what was recorded
but never sent (a worker killed mid-job, a stop before the queue drained).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import redis
from sqlalchemy.engine import Engine

from monitor import outbox
from monitor.config import Config
from monitor.digest import latest_period_end
from monitor.logs import get_logger
from monitor.model import AlertMode, DigestSchedule
from monitor.queues import (
    DIGEST_JOB,
    NOTIFY_JOB,
    UNDELIVERED_SWEEP_SECONDS,
    digest_job_id,
    enqueue_delivery_job,
)

log = get_logger("wirewatch.delivery")

DIGEST_CLAIM_TTL = timedelta(days=2)
SWEEP_CLAIM_TTL = timedelta(seconds=UNDELIVERED_SWEEP_SECONDS)


def digest_targets(config: Config) -> dict[tuple[str, str], DigestSchedule]:
    """The (channel, schedule key) pairs that can have digest hits: digest rules, and
    instant rules with a rate limit (their overflow)."""
    targets: dict[tuple[str, str], DigestSchedule] = {}
    for rule in config.rules:
        if rule.mode is AlertMode.DIGEST or rule.max_per_hour is not None:
            for channel in rule.channels:
                targets[(channel, rule.digest.key)] = rule.digest
    return targets


def dispatch_digests(connection: redis.Redis, config: Config, now: datetime) -> int:
    """Enqueue the digest job of each target's latest period, once; returns how many."""
    count = 0
    for (channel, key), schedule in digest_targets(config).items():
        end = latest_period_end(schedule, now)
        job_id = digest_job_id(channel, key, end)
        if enqueue_delivery_job(
            connection,
            DIGEST_JOB,
            (channel, key, end.isoformat()),
            job_id=job_id,
            send_timeout=config.settings.notify.send_timeout,
            claim_ttl=DIGEST_CLAIM_TTL,
        ):
            count += 1
            log.debug("digest.dispatched", channel=channel, schedule=key, period_end=end)
    return count


def requeue_undelivered(
    connection: redis.Redis,
    engine: Engine,
    *,
    send_timeout: int,
    min_age: timedelta = timedelta(0),
) -> int:
    """Enqueue a job for every alert and digest recorded but not sent (after a crash or stop).

    ``min_age`` leaves alone those so fresh that their own job is still queued.
    """
    count = 0
    cutoff = datetime.now(UTC) - min_age
    for delivery in outbox.list_deliveries(engine, outbox.UNFINISHED, mode=AlertMode.INSTANT):
        if delivery.created_at > cutoff:
            continue
        job_id = f"notify-{delivery.id}-resume-{delivery.attempts}"
        if enqueue_delivery_job(
            connection,
            NOTIFY_JOB,
            (delivery.id,),
            job_id=job_id,
            send_timeout=send_timeout,
            claim_ttl=SWEEP_CLAIM_TTL,
        ):
            count += 1
    for digest in outbox.list_digests(engine, outbox.UNFINISHED):
        if digest.created_at > cutoff:
            continue
        job_id = f"digest-{digest.id}-resume-{digest.attempts}"
        args = (digest.channel, digest.schedule, digest.period_end.isoformat())
        if enqueue_delivery_job(
            connection,
            DIGEST_JOB,
            args,
            job_id=job_id,
            send_timeout=send_timeout,
            claim_ttl=SWEEP_CLAIM_TTL,
        ):
            count += 1
    if count:
        log.info("alert.resumed", jobs=count)
    return count

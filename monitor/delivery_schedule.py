"""The scheduler's share of delivery: digests when their period ends, and the resend sweep.

Every tick enqueues, for each (channel, digest schedule) that rules use, the digest job of
the latest period end, claimed by its id: once per period, whichever scheduler leads. The
job itself finds out whether the period had hits. The sweep re-enqueues what was recorded
but never sent (a worker killed mid-job, a stop before the queue drained).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import redis
from sqlalchemy.engine import Engine

from monitor import outbox
from monitor.config import Config
from monitor.digest import latest_period_end
from monitor.logs import get_logger
from monitor.model import AlertMode, DeliveryState, Digest, DigestSchedule
from monitor.queues import (
    DIGEST_JOB,
    NOTIFY_JOB,
    UNDELIVERED_SWEEP_SECONDS,
    QueueName,
    digest_job_id,
    enqueue_delivery_job,
    live_job_ids,
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
    config: Config,
    *,
    min_age: timedelta = timedelta(0),
) -> int:
    """Enqueue a job for every alert and digest recorded but not sent (after a crash or stop),
    and for digest hits no configured digest will collect any more.

    ``min_age`` leaves alone those so fresh that their own job is still queued. A row that
    has a job still to run (its retry waiting out the backoff, or one ``alerts retry``
    queued) is left to it: a second job would spend an attempt without the wait.
    """
    send_timeout = config.settings.notify.send_timeout
    count = _flush_orphaned_digest_hits(connection, engine, config, min_age)
    cutoff = datetime.now(UTC) - min_age
    unsent = outbox.list_deliveries(engine, outbox.UNFINISHED, mode=AlertMode.INSTANT)
    unsent_digests = outbox.list_digests(engine, outbox.UNFINISHED)
    # Read after the rows: a job that fails meanwhile has scheduled its retry by then.
    live = live_job_ids(connection, QueueName.NOTIFY)
    owned = {int(m.group(1)) for job_id in live if (m := _NOTIFY_JOB_ROW.match(job_id))}
    for delivery in unsent:
        if delivery.created_at > cutoff or delivery.id in owned:
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
    for digest in unsent_digests:
        if digest.created_at > cutoff or _digest_has_job(digest, live):
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


# Every instant delivery's job id starts so (its first send, a retry, a resume, the CLI's).
_NOTIFY_JOB_ROW = re.compile(r"^notify-(\d+)-")


def delivery_job_prefixes(delivery_id: int) -> tuple[str]:
    """What the id of every job that sends this delivery starts with."""
    return (f"notify-{delivery_id}-",)


def digest_job_prefixes(digest: Digest) -> tuple[str, str]:
    """What the id of every job that sends this digest starts with: its sends
    (``digest_job_id``, any attempt) and its resumes."""
    sends = digest_job_id(digest.channel, digest.schedule, digest.period_end, 0).rsplit("-", 1)[0]
    return f"{sends}-", f"digest-{digest.id}-resume-"


def _digest_has_job(digest: Digest, live: set[str]) -> bool:
    prefixes = digest_job_prefixes(digest)
    return any(job_id.startswith(prefixes) for job_id in live)


def _flush_orphaned_digest_hits(
    connection: redis.Redis, engine: Engine, config: Config, min_age: timedelta
) -> int:
    """Digest hits waiting for a digest that the config no longer sends (the rule became
    instant, lost its ``max_per_hour``, or lost the channel): one last digest up to now takes
    them, else they would wait forever. A hit whose rule or channel is gone is dead, and says
    why. Returns the digest jobs enqueued."""
    now = datetime.now(UTC)
    targets = digest_targets(config)
    rules = {rule.id: rule for rule in config.rules}
    flushes: dict[tuple[str, str], DigestSchedule] = {}
    for hit in outbox.list_deliveries(engine, outbox.UNFINISHED, mode=AlertMode.DIGEST):
        if hit.digest_id is not None or hit.created_at > now - min_age:
            continue
        rule = rules.get(hit.rule_id)
        if rule is None or hit.channel not in rule.channels or hit.channel not in config.channels:
            error = f"rule {hit.rule_id!r} or channel {hit.channel!r} is no longer configured"
            outbox.update_delivery(
                engine, hit.id, state=DeliveryState.DEAD, attempts=hit.attempts, error=error
            )
            log.error("alert.dead", delivery=hit.id, rule=hit.rule_id, error=error)
            continue
        if (hit.channel, rule.digest.key) not in targets:
            flushes[(hit.channel, rule.digest.key)] = rule.digest
    count = 0
    for channel, key in flushes:
        job_id = f"{digest_job_id(channel, key, now)}-flush"
        if enqueue_delivery_job(
            connection,
            DIGEST_JOB,
            (channel, key, now.isoformat()),
            job_id=job_id,
            send_timeout=config.settings.notify.send_timeout,
            claim_ttl=SWEEP_CLAIM_TTL,
        ):
            count += 1
            log.info("digest.flushed", channel=channel, schedule=key)
    return count
